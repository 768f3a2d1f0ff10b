"""Account statements: the venue's commitments to every balance and position of an account at
one epoch, their openings, the KDF that derives every blinding and salt, and the signature.

KDF (per venue master secret s, epoch E, account id A):

    salt        = SHA-512("zkmargin-V01-kdf/salt"     ‖ s ‖ LE(E, 8) ‖ len(A) ‖ A)[:32]
    account tag = SHA-256("zkmargin-V01-account-tag"  ‖ len(A) ‖ A ‖ salt)
    K           = content digest of the statement: SHA-256 over A, the mode and every slot
                  (name, asset or instrument, bound, decoy or not, value), in order
    γ_j         = SHA-512("zkmargin-V01-kdf/blinding" ‖ s ‖ LE(E, 8) ‖ len(A) ‖ A ‖ label
                          ‖ K ‖ LE(j, 4)) mod r        label "slot" or "decoy"

so a blinding is bound to the whole content it hides: two statements of one account and epoch
that differ anywhere (a balance, a decoy, the layout) share no blinding, and their commitments'
differences are uniformly random points, never (v − v′)·G. The same content gives the same bytes,
so the venue can re-issue a statement and its exchange publication reuses the same commitments.
The account tag stays one per account and epoch. Auxiliary values of a proof use the label
"aux" and a digest K′ of the statement's content, the circuit and the market snapshot
(:func:`aux_blindings`).

The signature is BLS over :func:`statement_message`, the statement's canonical bytes (every
field, every slot with its bound and commitment, the venue key).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from .. import group
from ..errors import DecodeError
from ..formats.statement import AccountOpenings, AccountStatement, Slot, SlotOpening
from ..group import Point, R
from ..pedersen import commit
from ..transcript import Transcript, le, protocol_tag, serialize_varlen
from . import bls

STATEMENT_DOMAIN = b"zkmargin-V01-account-statement"
PROOF_TAG = protocol_tag("margin_proof")


def _account_bytes(account_id: str) -> bytes:
    return serialize_varlen(account_id.encode())


def derive_salt(master: bytes, epoch: int, account_id: str) -> bytes:
    """The account's per-epoch salt (32 bytes)."""
    h = hashlib.sha512(
        b"zkmargin-V01-kdf/salt" + master + le(epoch, 8) + _account_bytes(account_id)
    )
    return h.digest()[:32]


#: The KDF labels of blindings, one per kind of value they hide.
BLINDING_LABELS = ("slot", "decoy", "aux")


def derive_blinding(
    master: bytes, epoch: int, account_id: str, label: str, content: bytes, index: int
) -> int:
    """γ of value ``index`` of kind ``label`` in the content whose digest is ``content``: 64 bytes
    reduced mod r (bias below 2^−256), never 0."""
    if label not in BLINDING_LABELS:
        raise ValueError(f"unknown blinding label {label!r}")
    counter = 0
    while True:
        h = hashlib.sha512(
            b"zkmargin-V01-kdf/blinding"
            + master
            + le(epoch, 8)
            + _account_bytes(account_id)
            + serialize_varlen(label.encode())
            + content
            + le(index, 4)
            + (le(counter, 4) if counter else b"")
        )
        gamma = int.from_bytes(h.digest(), "big") % R
        if gamma:
            return gamma
        counter += 1


def content_digest(account_id: str, mode: str, slots: Sequence[SlotInput]) -> bytes:
    """K: SHA-256 over the account, its mode and every slot (name, asset or instrument, bound,
    decoy or not, value), in order: everything a statement's commitments hide."""
    h = hashlib.sha256(b"zkmargin-V01-kdf/content")
    h.update(_account_bytes(account_id) + serialize_varlen(mode.encode()) + le(len(slots), 4))
    for s in slots:
        h.update(serialize_varlen(s.name.encode()) + serialize_varlen(s.of.encode()))
        h.update(bytes([s.bits, int(s.signed), int(getattr(s, "decoy", False))]))
        h.update(serialize_varlen(str(s.value).encode()))
    return h.digest()


def slot_blindings(
    master: bytes, epoch: int, account_id: str, mode: str, slots: Sequence[SlotInput]
) -> list[int]:
    """γ_j of every slot: label "decoy" for a decoy slot, else "slot", all bound to K."""
    content = content_digest(account_id, mode, slots)
    return [
        derive_blinding(
            master,
            epoch,
            account_id,
            "decoy" if getattr(s, "decoy", False) else "slot",
            content,
            j,
        )
        for j, s in enumerate(slots)
    ]


def aux_blindings(
    master: bytes,
    epoch: int,
    account_id: str,
    content: bytes,
    circuit_digest: bytes,
    market_digest: bytes,
    count: int,
) -> list[int]:
    """The blindings of a proof's ``count`` auxiliary values (label "aux"), bound to the
    statement's content K, the circuit and the market snapshot (the auxiliary values depend on
    all three): K′ = SHA-256(K ‖ circuit digest ‖ market digest)."""
    bound = hashlib.sha256(
        b"zkmargin-V01-kdf/aux-content" + content + circuit_digest + market_digest
    ).digest()
    return [derive_blinding(master, epoch, account_id, "aux", bound, k) for k in range(count)]


def derive_decoy_seed(master: bytes, epoch: int, account_id: str) -> bytes:
    """Seed of the venue's choice of decoy slots for the account."""
    h = hashlib.sha512(
        b"zkmargin-V01-kdf/decoys" + master + le(epoch, 8) + _account_bytes(account_id)
    )
    return h.digest()[:32]


def derive_nonce_key(master: bytes, epoch: int) -> bytes:
    """The key of an exchange publication's deterministic proof nonces for one epoch: it lets
    proving workers derive nonces without holding the master secret."""
    return hashlib.sha512(b"zkmargin-V01-kdf/nonces" + master + le(epoch, 8)).digest()[:32]


def account_tag(account_id: str, salt: bytes) -> bytes:
    """H(account id, salt): names the account without revealing its id."""
    return hashlib.sha256(b"zkmargin-V01-account-tag" + _account_bytes(account_id) + salt).digest()


def statement_message(st: AccountStatement) -> bytes:
    """The canonical bytes the venue signs (everything but the signature)."""
    out = [
        serialize_varlen(STATEMENT_DOMAIN),
        serialize_varlen(st.format.encode()),
        serialize_varlen(st.venue.encode()),
        le(st.epoch, 8),
        bytes.fromhex(st.market_digest),
        bytes.fromhex(st.account_tag),
        serialize_varlen(st.mode.encode()),
        le(len(st.slots), 4),
    ]
    for s in st.slots:
        out += [
            serialize_varlen(s.name.encode()),
            serialize_varlen(s.of.encode()),
            bytes([s.bits, int(s.signed)]),
            bytes.fromhex(s.commitment),
        ]
    out.append(serialize_varlen(bytes.fromhex(st.venue_key) if st.venue_key else b""))
    return b"".join(out)


def statement_digest(st: AccountStatement) -> bytes:
    """SHA-256 of the statement's canonical bytes."""
    return hashlib.sha256(statement_message(st)).digest()


class SlotInput(Protocol):
    """A slot to commit: its name, asset or instrument, bound and value."""

    @property
    def name(self) -> str: ...
    @property
    def of(self) -> str: ...
    @property
    def bits(self) -> int: ...
    @property
    def signed(self) -> bool: ...
    @property
    def value(self) -> int: ...


def build_statement(
    *,
    venue: str,
    epoch: int,
    market_digest: bytes,
    tag: bytes,
    mode: str,
    slots: Sequence[SlotInput],
    blindings: Sequence[int],
    venue_key: bytes | None,
) -> AccountStatement:
    """The (unsigned) statement committing each slot's value with its blinding:
    C_j = v_j·G + γ_j·H."""
    commitments = [commit(s.value, g) for s, g in zip(slots, blindings, strict=True)]
    return AccountStatement(
        venue=venue,
        epoch=epoch,
        market_digest=market_digest.hex(),
        account_tag=tag.hex(),
        mode=mode,  # type: ignore[arg-type]
        slots=[
            Slot(
                name=s.name,  # type: ignore[arg-type]
                of=s.of,
                bits=s.bits,
                signed=s.signed,
                commitment=group.encode_point(c).hex(),
            )
            for s, c in zip(slots, commitments, strict=True)
        ],
        venue_key=venue_key.hex() if venue_key is not None else None,
    )


def issue_statement(
    *,
    venue: str,
    epoch: int,
    market_digest: bytes,
    account_id: str,
    mode: str,
    slots: Sequence[SlotInput],
    master: bytes,
    secret_key: int | None,
) -> tuple[AccountStatement, AccountOpenings]:
    """Commit every slot with KDF blindings bound to the statement's content and sign
    (``secret_key`` None: self-committed)."""
    salt = derive_salt(master, epoch, account_id)
    blindings = slot_blindings(master, epoch, account_id, mode, slots)
    st = build_statement(
        venue=venue,
        epoch=epoch,
        market_digest=market_digest,
        tag=account_tag(account_id, salt),
        mode=mode,
        slots=slots,
        blindings=blindings,
        venue_key=bls.sk_to_pk(secret_key) if secret_key is not None else None,
    )
    if secret_key is not None:
        st = st.model_copy(update={"signature": bls.sign(secret_key, statement_message(st)).hex()})
    openings = AccountOpenings(
        account=account_id,
        epoch=epoch,
        salt=salt.hex(),
        statement_digest=statement_digest(st).hex(),
        openings=[
            SlotOpening(value=str(s.value), blinding=f"{g:064x}")
            for s, g in zip(slots, blindings, strict=True)
        ],
    )
    return st, openings


def statement_points(st: AccountStatement) -> list[Point]:
    """Decode every slot commitment (identity refused), or raise :class:`DecodeError`."""
    points = []
    for s in st.slots:
        try:
            points.append(group.decode_point(bytes.fromhex(s.commitment)))
        except DecodeError as exc:
            raise DecodeError(f"slot {s.name}[{s.of}]: {exc}") from None
    return points


def check_openings(st: AccountStatement, op: AccountOpenings) -> tuple[list[int], list[int]]:
    """The openings' values and blindings, checked against every commitment of the statement."""
    if op.statement_digest != statement_digest(st).hex():
        raise DecodeError("the openings belong to another statement")
    if len(op.openings) != len(st.slots):
        raise DecodeError(f"{len(st.slots)} slots but {len(op.openings)} openings")
    values, blindings = [], []
    for s, o, c in zip(st.slots, op.openings, statement_points(st), strict=True):
        v, g = int(o.value), int(o.blinding, 16)
        if g >= R or commit(v, g) != c:
            raise DecodeError(f"the opening of slot {s.name}[{s.of}] does not open its commitment")
        values.append(v)
        blindings.append(g)
    return values, blindings


def signature_item(st: AccountStatement) -> tuple[bytes, bytes, bytes]:
    """(public key, message, signature) of an attested statement, for (batch) verification."""
    if st.venue_key is None or st.signature is None:
        raise DecodeError("the statement is not signed")
    return bytes.fromhex(st.venue_key), statement_message(st), bytes.fromhex(st.signature)


def verify_signature(st: AccountStatement) -> bool:
    """Whether the statement carries a valid BLS signature of its own venue key."""
    try:
        return bls.verify(*signature_item(st))
    except DecodeError:
        return False


def proof_context(
    *,
    circuit_digest: bytes,
    market_digest: bytes,
    theta_ppm: int,
    epoch: int,
    context: str,
    statement: AccountStatement,
) -> bytes:
    """The 32-byte digest of everything public, absorbed first by every transcript of the proof:
    circuit, market, θ, epoch, the verifier's context string, and the whole statement (venue key,
    account tag, each slot's name, bound and commitment)."""
    t = Transcript(PROOF_TAG)
    t.absorb_bytes(circuit_digest)
    t.absorb_bytes(market_digest)
    t.absorb_u64(theta_ppm)
    t.absorb_u64(epoch)
    t.absorb_varlen(context.encode())
    t.absorb_varlen(statement_message(statement))
    return t.state_digest()
