"""The expression language of circuit files: linear forms over committed values.

An expression is a Python-syntax expression, parsed with :mod:`ast` and interpreted here (never
``eval``): integer constants, public parameters (``price[a]``), committed variables
(``balance_pos[a]``, ``cash``), ``+ − ×`` and division by a public value, and
``sum(… for a in assets for t in tiers(a))``. Multiplying two committed values is refused, so
every expression is a linear form Σ c_x·x + c₀ with exact rational coefficients.

Hints, which tell the honest prover how to compute an auxiliary value, use the same language with
the committed values known, and may also call ``max``, ``min``, ``floor`` and ``ceil``, and
``first_max(k, (e for u in S))`` (``first_min``): 1 if ``k`` is the first ``u`` of ``S`` at which
``e`` is largest (smallest), else 0, which sets a one-hot selector.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, cast

from ..errors import ZkMarginError

#: A committed variable: (name, index key); the key is an asset or instrument symbol, a tuple of
#: them with tier or scenario numbers, or None for an account-level slot such as ``cash``.
VarKey = tuple[str, Any]


class CircuitError(ZkMarginError, ValueError):
    """A circuit file or expression is malformed, non-linear or unbounded."""


@dataclass
class Linear:
    """Σ c_x·x + c₀ over committed variables, with exact rational coefficients."""

    terms: dict[VarKey, Fraction] = field(default_factory=dict)
    const: Fraction = Fraction(0)

    @staticmethod
    def of(value: Any) -> Linear:
        if isinstance(value, Linear):
            return value
        if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
            return Linear({}, Fraction(value))
        raise CircuitError(f"expected a number or a linear form, got {type(value).__name__}")

    def __add__(self, other: Linear) -> Linear:
        terms = dict(self.terms)
        for k, c in other.terms.items():
            terms[k] = terms.get(k, Fraction(0)) + c
        return Linear({k: c for k, c in terms.items() if c}, self.const + other.const)

    def scale(self, k: Fraction) -> Linear:
        if not k:
            return Linear()
        return Linear({v: c * k for v, c in self.terms.items()}, self.const * k)


Number = int | Fraction
Value = Any  # Number | Linear | index value | list of index values


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, Fraction)) and not isinstance(v, bool)


_ALLOWED_CALLS = {"sum", "max", "min", "floor", "ceil", "first_max", "first_min"}


def parse(text: str, where: str) -> ast.expr:
    """Parse an expression (or a comparison ``lhs >= rhs`` / ``lhs == rhs``)."""
    if not isinstance(text, str) or not text.strip():
        raise CircuitError(f"{where}: empty expression")
    try:
        tree = ast.parse(" ".join(text.split()), mode="eval")
    except SyntaxError as exc:
        raise CircuitError(f"{where}: syntax error: {exc.msg}") from None
    allowed = (
        ast.Expression,
        ast.BinOp,
        ast.UnaryOp,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Store,
        ast.Subscript,
        ast.Call,
        ast.GeneratorExp,
        ast.comprehension,
        ast.Compare,
        ast.Tuple,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.USub,
        ast.UAdd,
        ast.GtE,
        ast.Eq,
    )
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise CircuitError(f"{where}: {type(node).__name__} is not allowed in a circuit")
        if isinstance(node, ast.Constant) and not (
            isinstance(node.value, int) and not isinstance(node.value, bool)
        ):
            raise CircuitError(f"{where}: only integer constants are allowed")
        if isinstance(node, ast.comprehension) and (node.ifs or node.is_async):
            raise CircuitError(f"{where}: comprehensions take no conditions")
    return tree.body


def parse_quantifier(text: str, where: str) -> list[ast.comprehension]:
    """Parse ``a in assets for t in tiers(a)`` into comprehension clauses ('' → none)."""
    if not text.strip():
        return []
    node = parse(f"sum(0 for {text})", where)
    assert isinstance(node, ast.Call) and isinstance(node.args[0], ast.GeneratorExp)
    return list(node.args[0].generators)


@dataclass
class Scope:
    """What names mean while interpreting: parameters, index sets and functions, variables."""

    params: Mapping[str, Any]
    sets: Mapping[str, Sequence[Any]]
    functions: Mapping[str, Callable[..., Sequence[Any]]]
    #: name → the key set of a committed variable (None: account-level, written without index).
    variables: Mapping[str, set[Any] | None]
    #: When given, committed variables evaluate to these numbers (hint mode).
    values: Mapping[VarKey, Number] | None = None
    lets: dict[str, Value] = field(default_factory=dict)
    bound: dict[str, Any] = field(default_factory=dict)


def iterate(clauses: list[ast.comprehension], scope: Scope, where: str) -> Iterator[None]:
    """Bind the clauses' targets in turn (nested loops), yielding once per binding."""
    if not clauses:
        yield None
        return
    first, rest = clauses[0], clauses[1:]
    if not isinstance(first.target, ast.Name):
        raise CircuitError(f"{where}: a loop variable must be a plain name")
    name = first.target.id
    items = evaluate(first.iter, scope, where)
    if not isinstance(items, (list, tuple, range)):
        raise CircuitError(f"{where}: '{ast.unparse(first.iter)}' is not an index set")
    saved = scope.bound.get(name, _UNSET)
    for item in items:
        scope.bound[name] = item
        yield from iterate(rest, scope, where)
    if saved is _UNSET:
        scope.bound.pop(name, None)
    else:
        scope.bound[name] = saved


_UNSET = object()


def _variable(name: str, key: Any, scope: Scope, where: str) -> Value:
    keys = scope.variables[name]
    if keys is None:
        if key is not None:
            raise CircuitError(f"{where}: {name} takes no index")
    elif key not in keys:
        raise CircuitError(f"{where}: {name}[{key!r}] is not a committed value of this instance")
    if scope.values is not None:
        return scope.values[(name, key)]
    return Linear({(name, key): Fraction(1)})


def _subscript_chain(node: ast.Subscript) -> tuple[ast.expr, list[ast.expr]]:
    indices: list[ast.expr] = []
    cur: ast.expr = node
    while isinstance(cur, ast.Subscript):
        indices.insert(0, cur.slice)
        cur = cur.value
    return cur, indices


def evaluate(node: ast.expr, scope: Scope, where: str) -> Value:
    """Interpret one expression node."""
    if isinstance(node, ast.Constant):
        return int(cast(int, node.value))
    if isinstance(node, ast.Name):
        n = node.id
        if n in scope.bound:
            return scope.bound[n]
        if n in scope.lets:
            return scope.lets[n]
        if n in scope.variables:
            return _variable(n, None, scope, where)
        if n in scope.sets:
            return list(scope.sets[n])
        if n in scope.params:
            return scope.params[n]
        raise CircuitError(f"{where}: unknown name '{n}'")
    if isinstance(node, ast.Subscript):
        base, index_nodes = _subscript_chain(node)
        keys = [
            tuple(evaluate(e, scope, where) for e in i.elts)
            if isinstance(i, ast.Tuple)
            else evaluate(i, scope, where)
            for i in index_nodes
        ]
        if isinstance(base, ast.Name) and base.id in scope.variables and base.id not in scope.bound:
            key: Any = keys[0] if len(keys) == 1 else tuple(keys)
            return _variable(base.id, key, scope, where)
        value = evaluate(base, scope, where)
        for k in keys:
            try:
                value = value[k]
            except (KeyError, IndexError, TypeError):
                raise CircuitError(
                    f"{where}: '{ast.unparse(node)}' has no value for index {k!r}"
                ) from None
        return value
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand, scope, where)
        if isinstance(node.op, ast.UAdd):
            return v
        return -v if _is_number(v) else Linear.of(v).scale(Fraction(-1))
    if isinstance(node, ast.BinOp):
        a, b = evaluate(node.left, scope, where), evaluate(node.right, scope, where)
        return _binop(node.op, a, b, node, where)
    if isinstance(node, ast.Call):
        return _call(node, scope, where)
    if isinstance(node, ast.Compare):
        raise CircuitError(f"{where}: a comparison may only stand at the top of a check")
    if isinstance(node, ast.Tuple):
        raise CircuitError(f"{where}: a tuple may only stand inside an index")
    raise CircuitError(f"{where}: cannot evaluate {type(node).__name__}")


def _binop(op: ast.operator, a: Value, b: Value, node: ast.BinOp, where: str) -> Value:
    if _is_number(a) and _is_number(b):
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if b == 0:
            raise CircuitError(f"{where}: division by zero in '{ast.unparse(node)}'")
        return Fraction(a) / Fraction(b)
    if isinstance(op, ast.Add):
        return Linear.of(a) + Linear.of(b)
    if isinstance(op, ast.Sub):
        return Linear.of(a) + Linear.of(b).scale(Fraction(-1))
    if isinstance(op, ast.Mult):
        if _is_number(a):
            return Linear.of(b).scale(Fraction(a))
        if _is_number(b):
            return Linear.of(a).scale(Fraction(b))
        raise CircuitError(
            f"{where}: '{ast.unparse(node)}' multiplies two committed values (not linear)"
        )
    if _is_number(b) and b != 0:
        return Linear.of(a).scale(1 / Fraction(b))
    raise CircuitError(f"{where}: '{ast.unparse(node)}' divides by a committed value or by zero")


def _call(node: ast.Call, scope: Scope, where: str) -> Value:
    if not isinstance(node.func, ast.Name):
        raise CircuitError(f"{where}: only named functions may be called")
    fn = node.func.id
    if fn in scope.functions:
        args = [evaluate(a, scope, where) for a in node.args]
        return list(scope.functions[fn](*args))
    if fn not in _ALLOWED_CALLS:
        raise CircuitError(f"{where}: unknown function '{fn}'")
    if fn in ("first_max", "first_min"):
        return _first(fn, node, scope, where)
    if len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp):
        gen = node.args[0]
        items = []
        for _ in iterate(list(gen.generators), scope, where):
            items.append(evaluate(gen.elt, scope, where))
    else:
        items = [evaluate(a, scope, where) for a in node.args]
    if fn == "sum":
        if all(_is_number(v) for v in items):
            return sum(items, 0)
        total = Linear()
        for v in items:
            total = total + Linear.of(v)
        return total
    if not all(_is_number(v) for v in items):
        raise CircuitError(f"{where}: {fn}() of a committed value is not linear (hints only)")
    if fn in ("max", "min"):
        if not items:
            raise CircuitError(f"{where}: {fn}() of nothing")
        return max(items) if fn == "max" else min(items)
    if len(items) != 1:
        raise CircuitError(f"{where}: {fn}() takes one argument")
    x = Fraction(items[0])
    return math.floor(x) if fn == "floor" else math.ceil(x)


def _first(fn: str, node: ast.Call, scope: Scope, where: str) -> int:
    """``first_max(k, (e for u in S))``: 1 if k is the first u maximising e (hints only)."""
    if (
        len(node.args) != 2
        or not isinstance(node.args[1], ast.GeneratorExp)
        or len(node.args[1].generators) != 1
        or not isinstance(node.args[1].generators[0].target, ast.Name)
    ):
        raise CircuitError(f"{where}: {fn}(k, (e for u in S)) takes a key and one generator")
    target = evaluate(node.args[0], scope, where)
    gen = node.args[1]
    name = cast(ast.Name, gen.generators[0].target).id
    best: tuple[Any, Any] | None = None
    for _ in iterate(list(gen.generators), scope, where):
        v = evaluate(gen.elt, scope, where)
        if not _is_number(v):
            raise CircuitError(f"{where}: {fn}() of a committed value is not linear (hints only)")
        key = v if fn == "first_max" else -v
        if best is None or key > best[0]:
            best = (key, scope.bound[name])
    if best is None:
        raise CircuitError(f"{where}: {fn}() of nothing")
    return 1 if best[1] == target else 0


def comparison(node: ast.expr, where: str) -> tuple[str, ast.expr, ast.expr]:
    """Split ``lhs >= rhs`` or ``lhs == rhs`` into (kind, lhs, rhs)."""
    if (
        not isinstance(node, ast.Compare)
        or len(node.ops) != 1
        or not isinstance(node.ops[0], (ast.GtE, ast.Eq))
    ):
        raise CircuitError(f"{where}: a check is 'expression >= expression' or '... == ...'")
    kind = ">=" if isinstance(node.ops[0], ast.GtE) else "=="
    return kind, node.left, node.comparators[0]
