"""Slot layouts shared by many accounts, so that a leaf's public layout does not single out its
account from epoch to epoch.

A layout is (margin mode, the assets and the instruments a statement holds slots for); it is
public in every statement. An account's *own* layout is what it holds. With *shared* layouts
(the default) the accounts of one mode are grouped, and every account of a group takes the union
of the group's own layouts, the names it does not hold filled with decoy zero slots; groups are
merged, smallest first, each into the group whose union costs the fewest added slots, until every
group holds at least ``min_share`` accounts (or a mode has only one group left). The number of
accounts sharing a layout is the publication's k-anonymity against an observer who follows
layouts; :func:`smallest_share` measures it.

The grouping is a function of the accounts' own layouts only (sorted, with ties broken by the
layouts' names), so ``venue attest`` and ``exchange publish`` over the same book give the same
layouts, and so the same statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..circuit.slots import decoy_candidates
from ..margin.market import Market
from ..margin.scalar import CompiledAccount

#: The default least number of accounts sharing a layout.
MIN_SHARE = 10
LAYOUT_POLICIES = ("shared", "own")


@dataclass(frozen=True, order=True)
class Layout:
    """What a statement holds slots for: its mode, assets and instruments (by symbol)."""

    mode: str
    assets: frozenset[str]
    instruments: frozenset[str]

    def slots(self) -> int:
        """How many slots a statement of this layout has (its cost)."""
        per_position = 4 if self.mode == "isolated" else 3
        return 2 * len(self.assets) + per_position * len(self.instruments) + 1

    def key(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        return (self.mode, tuple(sorted(self.assets)), tuple(sorted(self.instruments)))

    def union(self, other: Layout) -> Layout:
        return Layout(self.mode, self.assets | other.assets, self.instruments | other.instruments)


def own_layout(account: CompiledAccount, market: Market) -> Layout:
    """The assets with a nonzero balance and the instruments with a position."""
    assets = frozenset(market.assets[k].symbol for k, b in enumerate(account.balances) if b)
    instruments = frozenset(market.instruments[p.instrument].symbol for p in account.positions)
    return Layout(account.mode, assets, instruments)


def _may_merge(a: Layout, b: Layout, market: Market) -> bool:
    """Whether each name one layout holds and the other does not may be a decoy in their mode
    (the mode's circuits can price it at zero)."""
    assets, instruments = decoy_candidates(market, a.mode)
    return (a.assets ^ b.assets) <= set(assets) and (a.instruments ^ b.instruments) <= set(
        instruments
    )


def shared_layouts(
    accounts: Sequence[CompiledAccount], market: Market, min_share: int = MIN_SHARE
) -> dict[str, Layout]:
    """Every account's layout under the shared policy (see the module docstring)."""
    if min_share < 1:
        raise ValueError("min_share must be at least 1")
    own = {a.id: own_layout(a, market) for a in accounts}
    out: dict[str, Layout] = {}
    for mode in sorted({layout.mode for layout in own.values()}):
        groups: dict[Layout, list[str]] = {}
        for acc_id, layout in own.items():
            if layout.mode == mode:
                groups.setdefault(layout, []).append(acc_id)
        while len(groups) > 1:
            small = min(groups, key=lambda g: (len(groups[g]), g.key()))
            if len(groups[small]) >= min_share:
                break
            best: tuple[int, tuple[object, ...], Layout, Layout] | None = None
            for other in groups:
                if other is small:
                    continue
                if not _may_merge(small, other, market):
                    continue
                merged = small.union(other)
                added = merged.slots() * (len(groups[small]) + len(groups[other])) - (
                    small.slots() * len(groups[small]) + other.slots() * len(groups[other])
                )
                cand = (added, other.key(), other, merged)
                if best is None or cand[:2] < best[:2]:
                    best = cand
            if best is None:
                break
            _, _, other, merged = best
            members = groups.pop(small) + groups.pop(other)
            groups.setdefault(merged, []).extend(members)
        for layout, members in groups.items():
            for acc_id in members:
                out[acc_id] = layout
    return out


def smallest_share(layouts: Iterable[Layout]) -> int:
    """The least number of accounts sharing one layout (k-anonymity by layout); 0 if none."""
    counts: dict[Layout, int] = {}
    for layout in layouts:
        counts[layout] = counts.get(layout, 0) + 1
    return min(counts.values(), default=0)
