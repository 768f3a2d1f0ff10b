"""Accounts (format ``zkmargin.accounts``), from JSON, CSV or Parquet.

JSON holds one record per account. CSV and Parquet hold the tidy form exchanges export in bulk,
one row per item::

    account_id, mode, kind, symbol, amount, entry_price, quote, isolated_margin

``kind`` is ``cash`` (``amount`` in valuation units), ``collateral`` (``symbol`` an asset,
``amount`` signed: negative is a borrow) or ``position`` (``symbol`` an instrument, ``amount``
the signed size, and either ``entry_price`` or ``quote``; ``isolated_margin`` in isolated mode).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from .common import STRICT, DecimalText, FormatError, check_account_id, validation_error
from .jsonfile import read_json
from .tidy import group_accounts, read_tidy

Mode = Literal["isolated", "cross", "portfolio"]


class Position(BaseModel):
    """A signed position; its value is quote + size·mark, with quote = −size·entry_price."""

    model_config = STRICT
    instrument: str
    size: DecimalText
    entry_price: DecimalText | None = None
    quote: DecimalText | None = None
    isolated_margin: DecimalText | None = None


class Account(BaseModel):
    model_config = STRICT
    id: Annotated[str, AfterValidator(check_account_id)] = Field(min_length=1, max_length=128)
    mode: Mode = "cross"
    cash: DecimalText = "0"
    collateral: dict[str, DecimalText] = Field(default_factory=dict)
    positions: list[Position] = Field(default_factory=list)


class AccountsFile(BaseModel):
    model_config = STRICT
    format: Literal["zkmargin.accounts"] = "zkmargin.accounts"
    version: Literal[1] = 1
    accounts: list[Account]


def load_accounts(path: str | Path) -> list[Account]:
    """Read accounts from ``.json``, ``.csv`` or ``.parquet``; raise :class:`FormatError`."""
    path = Path(path)
    file = str(path)
    try:
        if path.suffix.lower() == ".json":
            raw = read_json(path)
            records = raw.get("accounts") if isinstance(raw, dict) else None
            if not isinstance(raw, dict) or not isinstance(records, list):
                raise FormatError("expected an object with an 'accounts' list", file=file)
            header = {k: v for k, v in raw.items() if k != "accounts"}
            AccountsFile.model_validate({**header, "accounts": []})
        elif path.suffix.lower() in (".csv", ".parquet"):
            records = group_accounts(read_tidy(path), file=file)
        else:
            raise FormatError("accounts must be .json, .csv or .parquet", file=file)
    except FileNotFoundError:
        raise FormatError("file not found", file=file) from None
    except ValidationError as exc:
        raise validation_error(exc, file=file) from None
    accounts = []
    seen: set[str] = set()
    for i, rec in enumerate(records):
        label = f"account {rec.get('id', f'#{i}')!s}" if isinstance(rec, dict) else f"record {i}"
        try:
            acc = Account.model_validate(rec)
        except ValidationError as exc:
            raise validation_error(exc, file=file, record=label) from None
        if acc.id in seen:
            raise FormatError("duplicate account id", file=file, record=label, field="id")
        seen.add(acc.id)
        accounts.append(acc)
    return accounts


def write_accounts_json(accounts: list[Account], path: str | Path) -> None:
    """Write accounts as JSON, atomically (temporary file, then rename)."""
    from ..fileio import atomic_write_text

    doc = AccountsFile(accounts=accounts)
    atomic_write_text(Path(path), doc.model_dump_json(indent=1, exclude_defaults=True))
