"""What the verifiers print with ``--json``: one object per run, with the verdict, every check,
what was not checked (the lines ``--strict`` fails on) and the figures.

* ``zkmargin/verify-result/1``: ``zkmargin verify`` (one entry per margin proof);
* ``zkmargin/audit-result/1``: ``zkmargin exchange verify`` (the full audit);
* ``zkmargin/inclusion-result/1``: ``zkmargin inclusion verify`` (one user's check).

Amounts are decimal strings in the asset's own decimals (``"0.50000000"`` BTC), never floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from .common import STRICT

#: Why a result that passed every check it made fails under ``--strict``.
STRICT_REASON = "strict: checks were not made because options were omitted (not_checked)"


def strict_verdict(
    valid: bool, reason: str, unchecked: Sequence[str], strict: bool
) -> tuple[bool, str]:
    """(valid, reason) of a result under ``--strict``, where a check not made because an option
    was omitted (``unchecked``) is a failure."""
    failed = strict and bool(unchecked)
    return valid and not failed, reason or (STRICT_REASON if failed else "")


class CheckResult(BaseModel):
    """One check: its name, whether it held, what it found or why it failed, its time."""

    model_config = STRICT
    name: str
    ok: bool
    detail: str = ""
    seconds: float | None = None


class ProofResult(BaseModel):
    """One margin proof's verdict."""

    model_config = STRICT
    path: str
    valid: bool
    reason: str = ""
    circuit: str
    threshold: str
    epoch: int
    venue: str
    attested: bool
    context: str
    notes: list[str]
    not_checked: list[str]


class VerifyResult(BaseModel):
    """Format ``zkmargin/verify-result/1``: ``zkmargin verify --json``."""

    model_config = STRICT
    format: Literal["zkmargin/verify-result/1"] = "zkmargin/verify-result/1"
    valid: bool
    strict: bool
    market: str
    proofs: list[ProofResult]


class ColumnResult(BaseModel):
    """What the audit proved about one column (an asset, or the valuation currency)."""

    model_config = STRICT
    symbol: str
    decimals: int
    reserve: str
    statement: str
    liabilities: str | None = None
    ratio_percent: str | None = None
    proven_on_chain: str | None = None
    declared_off_chain: str | None = None


class AddressResult(BaseModel):
    model_config = STRICT
    chain: str
    asset: str
    address: str
    amount: str


class AuditResult(BaseModel):
    """Format ``zkmargin/audit-result/1``: ``zkmargin exchange verify --json``."""

    model_config = STRICT
    format: Literal["zkmargin/audit-result/1"] = "zkmargin/audit-result/1"
    publication: str
    valid: bool
    strict: bool
    reason: str = ""
    venue: str
    venue_key: str
    venue_key_fingerprint: str
    venue_key_given: bool
    epoch: int
    root_hash: str
    tree_height: int
    leaves: int
    min_ratio: str
    #: the auditor's own minimum (``--min-ratio``), as num/den ("1/1" when none was asked)
    required_ratio: str = "1/1"
    totals_revealed: bool
    checks: list[CheckResult]
    not_checked: list[str]
    failures: list[str] = Field(default=[])
    columns: list[ColumnResult]
    addresses: list[AddressResult] = Field(default=[])


class HoldingResult(BaseModel):
    """One slot of the user's statement: what it holds, as committed."""

    model_config = STRICT
    slot: str
    of: str
    value: str
    what: str


class OwedResult(BaseModel):
    """What the exchange owes the user in one column, as their leaf commits it."""

    model_config = STRICT
    column: str
    value: str
    what: str


class InclusionResult(BaseModel):
    """Format ``zkmargin/inclusion-result/1``: ``zkmargin inclusion verify --json``."""

    model_config = STRICT
    format: Literal["zkmargin/inclusion-result/1"] = "zkmargin/inclusion-result/1"
    file: str
    valid: bool
    strict: bool
    reason: str = ""
    account: str
    venue: str
    epoch: int
    root_hash: str
    mode: str
    #: the exchange says it published the account written off (its debts left out)
    written_off: bool = False
    holdings: list[HoldingResult]
    owed: list[OwedResult]
    not_checked: list[str]
