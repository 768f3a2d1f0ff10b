"""The exchange's (venue's) story: keep a key, attest each account's statement every epoch.

``venue_keygen`` writes the secret key file (owner-only) and the public key verifiers trust;
``venue_attest`` commits every balance and position of every account with blindings from the
KDF, signs each statement and writes it beside its openings (owner-only), for any number of
accounts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .attest import statement as stm
from .attest.keys import VenueKey, generate
from .circuit.slots import account_slots
from .formats.common import FormatError
from .formats.jsonfile import read_model, write_model
from .formats.market import market_digest
from .formats.statement import AccountStatement, VenueKeyFile, VenuePublicKey
from .margin.market import compile_market, load_snapshot
from .margin.table_io import load_table

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


def venue_keygen(out: str | Path, venue: str) -> tuple[Path, Path]:
    """Write a fresh venue key to ``out`` (owner-only) and its public key to ``out`` with the
    suffix ``.pub``; return both paths."""
    out = Path(out)
    pub = out.with_suffix(".pub")
    if pub == out:
        raise ValueError(f"{out}: the secret key file must not end in .pub")
    key = generate(venue)
    write_model(out, key.to_file(), secret=True)
    write_model(pub, key.public_file())
    return out, pub


def load_venue_key(path: str | Path) -> VenueKey:
    """The venue's secret key file."""
    try:
        return VenueKey.from_file(read_model(path, VenueKeyFile))
    except ValueError as exc:
        raise FormatError(str(exc), file=str(path)) from None


def load_venue_public_key(path: str | Path) -> bytes:
    """A venue public key file (``zkmargin/venue-public-key/1``), checked to be a valid key."""
    from .attest import bls

    doc = read_model(path, VenuePublicKey)
    pk = bytes.fromhex(doc.public_key)
    if not bls.key_validate(pk):
        raise FormatError("not a valid BLS public key", file=str(path), field="public_key")
    return pk


def statement_files(out_dir: Path, account_id: str) -> tuple[Path, Path]:
    """Where an account's statement and openings go in an attest output directory."""
    if _SAFE.match(account_id):
        stem = account_id
    else:
        stem = "account-" + hashlib.sha256(account_id.encode()).hexdigest()[:20]
    return out_dir / f"{stem}.statement.json", out_dir / f"{stem}.openings.json"


@dataclass(frozen=True)
class AttestResult:
    accounts: int
    out_dir: Path


def venue_attest(
    *,
    key: str | Path,
    market: str | Path,
    accounts: str | Path,
    out_dir: str | Path,
    epoch: int | None = None,
    decoys: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AttestResult:
    """Issue and sign every account's statement; write statements and openings to ``out_dir``.
    ``progress(done, total)`` is called after each account."""
    vk = load_venue_key(key)
    snap = load_snapshot(market)
    mk = compile_market(snap, str(market))
    if epoch is not None and epoch != snap.epoch:
        raise FormatError(
            f"the market snapshot is for epoch {snap.epoch}, not {epoch}", file=str(market)
        )
    digest = market_digest(snap)
    table = load_table(accounts, mk)
    out = Path(out_dir)
    seen: set[Path] = set()
    count = 0
    # Every account's slots and file names first (no cryptography): an account that cannot be
    # attested stops the run before any statement is written.
    plans = []
    for acc in table.accounts():
        seed = stm.derive_decoy_seed(vk.master_secret, snap.epoch, acc.id)
        slots = account_slots(acc, mk, decoys=decoys, decoy_seed=seed, file=str(accounts))
        st_path, op_path = statement_files(out, acc.id)
        if st_path in seen:
            raise FormatError(f"two accounts map to the file {st_path.name}", file=str(accounts))
        seen.add(st_path)
        plans.append((acc, slots, st_path, op_path))
    for acc, slots, st_path, op_path in plans:
        st, op = stm.issue_statement(
            venue=vk.venue,
            epoch=snap.epoch,
            market_digest=digest,
            account_id=acc.id,
            mode=acc.mode,
            slots=slots,
            master=vk.master_secret,
            secret_key=vk.secret_key,
        )
        write_model(op_path, op, secret=True)
        write_model(st_path, st)
        count += 1
        if progress is not None:
            progress(count, len(table))
    return AttestResult(count, out)


def load_statement(path: str | Path) -> AccountStatement:
    """An account statement file."""
    return read_model(path, AccountStatement)
