"""Files of the trader's proof: venue keys, account statements and their openings, margin proofs.

Byte strings are lowercase hexadecimal of a fixed length; amounts in openings are decimal
integer strings. Each file names its format and version in ``format``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from .common import STRICT, DecimalText


def _hex(n: int) -> type[str]:
    return Annotated[  # type: ignore[return-value]
        str, StringConstraints(pattern=f"^[0-9a-f]{{{2 * n}}}$", strict=True)
    ]


Hex32 = _hex(32)
Hex48 = _hex(48)
Hex96 = _hex(96)
HexBytes = Annotated[str, StringConstraints(pattern="^([0-9a-f]{2})*$", strict=True)]
IntText = Annotated[str, StringConstraints(pattern="^-?(0|[1-9][0-9]{0,39})$", strict=True)]
Mode = Literal["isolated", "cross", "portfolio"]
SlotName = Literal[
    "balance_pos", "balance_neg", "long", "short", "quote", "isolated_margin", "cash"
]
Symbol = Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
#: A venue's or an account's name: printable (no control character can forge a line of output).
VenueName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")
]
#: A liabilities tree of more than 2^40 leaves is refused (it also keeps every total far below
#: r/2).
MAX_HEIGHT = 40


class Slot(BaseModel):
    """One committed value: what it holds (``name`` of the asset or instrument ``of``; ``of`` is
    empty for the account-level cash), its bound, and the commitment C = v·G + γ·H."""

    model_config = STRICT
    name: SlotName
    of: Symbol = ""
    bits: int = Field(ge=1, le=64)
    signed: bool
    commitment: Hex48  # type: ignore[valid-type]


class AccountStatement(BaseModel):
    """Format ``zkmargin/account-statement/2``: what the venue vouches for, per account and epoch.

    ``venue_key`` and ``signature`` are absent from a self-committed statement. Version 2: the
    quote slot of a linear contract whose quote unit is finer than a settle unit holds ⌊k·q⌋
    settle units (version 1 held the engine's quote q); the format is part of the signed
    message, so a version-1 statement is refused rather than read with the new meaning.
    """

    model_config = STRICT
    format: Literal["zkmargin/account-statement/2"] = "zkmargin/account-statement/2"
    venue: VenueName
    epoch: int = Field(ge=0, lt=1 << 63)
    market_digest: Hex32  # type: ignore[valid-type]
    account_tag: Hex32  # type: ignore[valid-type]
    mode: Mode
    slots: list[Slot] = Field(min_length=1, max_length=4096)
    venue_key: Hex48 | None = None  # type: ignore[valid-type]
    signature: Hex96 | None = None  # type: ignore[valid-type]


class SlotOpening(BaseModel):
    model_config = STRICT
    value: IntText
    blinding: Hex32  # type: ignore[valid-type]


class AccountOpenings(BaseModel):
    """Format ``zkmargin/account-openings/1``: the secret side of a statement (owner-only)."""

    model_config = STRICT
    format: Literal["zkmargin/account-openings/1"] = "zkmargin/account-openings/1"
    account: VenueName
    epoch: int = Field(ge=0, lt=1 << 63)
    salt: Hex32  # type: ignore[valid-type]
    statement_digest: Hex32  # type: ignore[valid-type]
    openings: list[SlotOpening] = Field(min_length=1, max_length=4096)


class VenueKeyFile(BaseModel):
    """Format ``zkmargin/venue-key/1``: the venue's BLS secret key and KDF master secret."""

    model_config = STRICT
    format: Literal["zkmargin/venue-key/1"] = "zkmargin/venue-key/1"
    venue: VenueName
    secret_key: Hex32  # type: ignore[valid-type]
    master_secret: Hex32  # type: ignore[valid-type]


class VenuePublicKey(BaseModel):
    """Format ``zkmargin/venue-public-key/1``: what verifiers trust."""

    model_config = STRICT
    format: Literal["zkmargin/venue-public-key/1"] = "zkmargin/venue-public-key/1"
    venue: VenueName
    public_key: Hex48  # type: ignore[valid-type]


class VenueEpoch(BaseModel):
    """The fields naming one venue's epoch over one market snapshot, shared by the files of a
    publication (each subclass fixes its ``format``)."""

    model_config = STRICT
    format: str
    venue: VenueName
    venue_key: Hex48  # type: ignore[valid-type]
    epoch: int = Field(ge=0, lt=1 << 63)
    market_digest: Hex32  # type: ignore[valid-type]

    def same_epoch(self, other: VenueEpoch) -> bool:
        """Whether both name the same venue, venue key, epoch and market."""
        fields = ("venue", "venue_key", "epoch", "market_digest")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


class LiabilitiesTree(VenueEpoch):
    """A liabilities tree: its height and its columns, in order."""

    height: int = Field(ge=1, le=MAX_HEIGHT)
    columns: list[Symbol] = Field(min_length=1, max_length=4096)

    def same_tree(self, other: LiabilitiesTree) -> bool:
        """Whether both name the same epoch's tree (height and columns too)."""
        return (
            self.same_epoch(other) and self.height == other.height and self.columns == other.columns
        )


class SignedRoot(LiabilitiesTree):
    """Format ``zkmargin/liabilities-root/1``: the tree's root: per-column total commitments,
    the root hash, epoch, market digest and height, BLS-signed by the venue key."""

    format: Literal["zkmargin/liabilities-root/1"] = "zkmargin/liabilities-root/1"
    totals: list[Hex48] = Field(min_length=1, max_length=4096)  # type: ignore[valid-type]
    root_hash: Hex32  # type: ignore[valid-type]
    signature: Hex96  # type: ignore[valid-type]


class PathStep(BaseModel):
    """One level of an inclusion path: the sibling's per-column sums and hash."""

    model_config = STRICT
    sums: list[Hex48] = Field(min_length=1, max_length=4096)  # type: ignore[valid-type]
    hash: Hex32  # type: ignore[valid-type]


class InclusionAttestation(BaseModel):
    """Format ``zkmargin/inclusion-attestation/1``: a statement's leaf in a signed liabilities
    tree (its position, its leaf proof, which range-proves every slot, and the path of
    siblings up to the signed root). Public: it holds no opening."""

    model_config = STRICT
    format: Literal["zkmargin/inclusion-attestation/1"] = "zkmargin/inclusion-attestation/1"
    position: int = Field(ge=0, lt=1 << MAX_HEIGHT)
    leaf_proof: HexBytes = Field(max_length=1 << 20)
    path: list[PathStep] = Field(min_length=1, max_length=MAX_HEIGHT)
    root: SignedRoot


class MarginProofFile(BaseModel):
    """Format ``zkmargin/margin-proof/1``: equity − θ·requirement ≥ 0 for a statement's account.

    ``proof`` is the binary proof: the prover's own commitments (auxiliary values and limbs), one
    aggregated Bulletproof and, if the circuit has equalities, a Sigma proof. No amount, size or
    blinding appears anywhere in the file.
    """

    model_config = STRICT
    format: Literal["zkmargin/margin-proof/1"] = "zkmargin/margin-proof/1"
    circuit: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    circuit_digest: Hex32  # type: ignore[valid-type]
    market_digest: Hex32  # type: ignore[valid-type]
    threshold: DecimalText
    epoch: int = Field(ge=0, lt=1 << 63)
    context: Annotated[str, StringConstraints(max_length=1024)]
    statement: AccountStatement
    proof: HexBytes = Field(max_length=1 << 20)
    #: Present when the statement is attested by inclusion in a signed liabilities tree
    #: (a :class:`zkmargin.formats.publication.InclusionAttestation`) rather than signed.
    inclusion: InclusionAttestation | None = None
