"""Linear relations: the statements Sigma proofs prove (draft-irtf-cfrg-sigma-protocols §3).

A :class:`LinearRelation` is the instance (M, image) of R = {((M, image), w) : image = M·w}, held
sparsely: ``elements`` (``elements[0]`` is the group generator) and ``equations``, each an image
(a list of ``(element_index, coeff)``) and terms (a list of ``(scalar_index, element_index,
coeff)``). :class:`RelationBuilder` writes them the way the literature does::

    b = RelationBuilder("PedersenOpening")
    m, r = b.witness("m", "r")
    G, H, C = b.generator(), b.element("H", H_point), b.element("C", C_point)
    b.equation([(1, C)], [(1, m, G), (1, r, H)])       # C = m·G + r·H
    relation = b.build()                               # PK{(m, r): C = m·G + r·H}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import group
from ..errors import DecodeError, ZkMarginError
from ..group import POINT_BYTES, SCALAR_BYTES, Point, R
from ..transcript import le, le2ip

_U32 = 1 << 32


class InvalidInstance(ZkMarginError):
    """A linear relation breaks one of the draft's instance-validation rules."""


@dataclass(frozen=True)
class Equation:
    """One row of M: Σ image coeff·element = Σ term coeff·witness[scalar]·element."""

    image: tuple[tuple[int, int], ...]
    terms: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class LinearRelation:
    """The instance of a linear-relation Sigma proof."""

    elements: tuple[Point, ...]
    equations: tuple[Equation, ...]
    element_names: tuple[str, ...] = field(default=(), compare=False)
    scalar_names: tuple[str, ...] = field(default=(), compare=False)
    name: str = field(default="", compare=False)

    @property
    def num_elements(self) -> int:
        return len(self.elements)

    @property
    def num_equations(self) -> int:
        return len(self.equations)

    @property
    def num_scalars(self) -> int:
        """1 + the largest scalar index used in any term."""
        return 1 + max((s for eq in self.equations for s, _, _ in eq.terms), default=-1)

    def image(self) -> list[Point]:
        """image(instance): each equation's left-hand side Σ coeff·elements[index]."""
        return [
            group.msm([self.elements[e] for e, _ in eq.image], [c for _, c in eq.image])
            for eq in self.equations
        ]

    def map(self, scalars: Sequence[int]) -> list[Point]:
        """map(instance, s): each equation's right-hand side evaluated at s."""
        return [
            group.msm(
                [self.elements[e] for _, e, _ in eq.terms],
                [c * scalars[s] % R for s, _, c in eq.terms],
            )
            for eq in self.equations
        ]

    def serialize(self) -> bytes:
        """SerializeLinearRelation: row-major sparse matrix, then elements[1:]."""
        out = [le(self.num_equations, 4)]
        for eq in self.equations:
            out.append(le(len(eq.image), 4))
            for e, c in eq.image:
                out.append(le(e, 4) + group.encode_scalar(c))
            out.append(le(len(eq.terms), 4))
            for s, e, c in eq.terms:
                out.append(le(s, 4) + le(e, 4) + group.encode_scalar(c))
        out.extend(group.encode_point(p) for p in self.elements[1:])
        return b"".join(out)

    def validate(self) -> None:
        """Raise :class:`InvalidInstance` unless the ten rules of §3.5 hold.

        Work and memory are linear in the relation's size: indices are checked against the
        counts (never used to size a container), and each column of M is evaluated once, with
        one multi-scalar multiplication per (equation, scalar) pair that has terms.
        """
        if not self.equations:
            raise InvalidInstance("a relation needs at least one equation")
        if not self.elements or self.elements[0] != group.generator():
            raise InvalidInstance("elements[0] must be the group generator")
        n_el = self.num_elements
        n_terms = sum(len(eq.terms) for eq in self.equations)
        if n_el >= _U32 or self.num_equations >= _U32:
            raise InvalidInstance("too many elements or equations")
        used_elements: set[int] = set()
        used_scalars: set[int] = set()
        for i, eq in enumerate(self.equations):
            if not eq.image or not eq.terms:
                raise InvalidInstance(f"equation {i} has an empty image or empty terms")
            for e, _ in eq.image:
                if not 0 <= e < n_el:
                    raise InvalidInstance(f"equation {i} refers to missing element {e}")
                used_elements.add(e)
            for s, e, _ in eq.terms:
                if not 0 <= e < n_el:
                    raise InvalidInstance(f"equation {i} refers to missing element {e}")
                if not 0 <= s < n_terms:
                    raise InvalidInstance(
                        f"equation {i} names scalar {s}, beyond the {n_terms} terms of the relation"
                    )
                used_elements.add(e)
                used_scalars.add(s)
        if len(used_elements - {0}) != n_el - 1:  # n_el is bounded by the elements given
            unused = sorted(set(range(1, n_el)) - used_elements)
            raise InvalidInstance(f"elements {unused} appear in no equation")
        if len(used_scalars) != max(used_scalars) + 1:
            raise InvalidInstance("some witness scalar appears in no term")
        for k, el in enumerate(self.elements):
            if group.is_identity(el):
                raise InvalidInstance(f"element {k} is the identity")
        for i, img in enumerate(self.image()):
            if group.is_identity(img):
                raise InvalidInstance(f"the image of equation {i} is the identity")
        cells: dict[tuple[int, int], tuple[list[Point], list[int]]] = {}
        for i, eq in enumerate(self.equations):
            for s, e, c in eq.terms:
                pts, cs = cells.setdefault((s, i), ([], []))
                pts.append(self.elements[e])
                cs.append(c)
        nonzero = {
            s for (s, _), (pts, cs) in cells.items() if not group.is_identity(group.msm(pts, cs))
        }
        if len(nonzero) != len(used_scalars):
            missing = min(used_scalars - nonzero)
            raise InvalidInstance(f"column {missing} of M is the identity")

    def notation(self) -> str:
        """The statement in the literature's notation, e.g. ``PK{(x): X = x·G}``."""
        sn = self.scalar_names or tuple(f"s{i}" for i in range(self.num_scalars))
        en = self.element_names or ("G", *(f"E{i}" for i in range(1, self.num_elements)))

        def join(terms: list[tuple[int, str]]) -> str:
            out = ""
            for i, (c, name) in enumerate(terms):
                neg = c > R // 2
                mag = R - c if neg else c
                sign = ("-" if neg else "") if i == 0 else (" − " if neg else " + ")
                out += f"{sign}{'' if mag == 1 else f'{mag}·'}{name}"
            return out

        rows = []
        for eq in self.equations:
            lhs = join([(c, en[e]) for e, c in eq.image])
            rhs = join([(c, f"{sn[s]}·{en[e]}") for s, e, c in eq.terms])
            rows.append(f"{lhs} = {rhs}")
        return f"PK{{({', '.join(sn)}): {' ∧ '.join(rows)}}}"


class RelationBuilder:
    """Declare witness scalars, elements and equations; :meth:`build` compiles in order."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._elements: list[Point] = [group.generator()]
        self._element_names: list[str] = ["G"]
        self._scalars: list[str] = []
        self._equations: list[Equation] = []

    def witness(self, *names: str) -> tuple[int, ...]:
        """Declare secret scalars; returns their indices."""
        start = len(self._scalars)
        self._scalars.extend(names)
        return tuple(range(start, start + len(names)))

    def generator(self) -> int:
        """The index of the group generator G (always 0)."""
        return 0

    def element(self, name: str, point: Point) -> int:
        """Declare a public group element; returns its index."""
        self._elements.append(point)
        self._element_names.append(name)
        return len(self._elements) - 1

    def equation(
        self, image: Sequence[tuple[int, int]], terms: Sequence[tuple[int, int, int]]
    ) -> None:
        """Σ (coeff, element) = Σ (coeff, scalar, element): coefficients come first here."""
        self._equations.append(
            Equation(
                tuple((e, c % R) for c, e in image),
                tuple((s, e, c % R) for c, s, e in terms),
            )
        )

    def build(self) -> LinearRelation:
        return LinearRelation(
            tuple(self._elements),
            tuple(self._equations),
            tuple(self._element_names),
            tuple(self._scalars),
            self.name,
        )


def deserialize_relation(data: bytes) -> LinearRelation:
    """Parse SerializeLinearRelation output; every point and scalar is validated.

    Counts are checked against the bytes that remain before anything is allocated, so a hostile
    length prefix cannot exhaust memory.
    """
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if len(data) - pos < n:
            raise DecodeError("linear relation is truncated")
        chunk = data[pos : pos + n]
        pos += n
        return chunk

    def scalar() -> int:
        return group.decode_scalar(take(SCALAR_BYTES))

    n_eq = le2ip(take(4))
    if n_eq * 8 > len(data) - pos:
        raise DecodeError("equation count exceeds the data")
    equations = []
    for _ in range(n_eq):
        n_img = le2ip(take(4))
        if n_img * (4 + SCALAR_BYTES) > len(data) - pos:
            raise DecodeError("image-term count exceeds the data")
        image = tuple((le2ip(take(4)), scalar()) for _ in range(n_img))
        n_terms = le2ip(take(4))
        if n_terms * (8 + SCALAR_BYTES) > len(data) - pos:
            raise DecodeError("term count exceeds the data")
        terms = tuple((le2ip(take(4)), le2ip(take(4)), scalar()) for _ in range(n_terms))
        equations.append(Equation(image, terms))
    rest = data[pos:]
    if len(rest) % POINT_BYTES:
        raise DecodeError("trailing bytes after the relation's elements")
    elements = [group.generator()]
    elements += group.decode_points(rest, len(rest) // POINT_BYTES)
    return LinearRelation(tuple(elements), tuple(equations))
