"""The secrets of a publication: one owner-only SQLite file beside it (by default
``OUT.secrets``), written in full before any leaf is proven.

====================== ========================================================================
table                  rows
====================== ========================================================================
``header``             one: the :class:`SecretsHeader` (venue key, epoch, market, plan digest)
``accounts``           ``account`` (its id), ``doc``: the :class:`AccountSecret` (leaf
                       position, the statement's openings, the auxiliary blindings)
====================== ========================================================================

The venue's master secret is not copied here: it stays in the key file, and every opening a
user needs is already in this file. A secrets file made for another key, epoch or plan is
refused, never overwritten.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..fileio import OutputError, sealed_replace
from ..formats.common import FormatError
from ..formats.jsonfile import model_from_json, parse_json
from ..formats.publication import AccountSecret, SecretsHeader

SCHEMA = (
    "CREATE TABLE header (id INTEGER PRIMARY KEY CHECK (id = 0), doc TEXT NOT NULL)",
    "CREATE TABLE accounts (account TEXT PRIMARY KEY, doc TEXT NOT NULL)",
)


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def read_header(path: Path) -> SecretsHeader:
    """The header of a secrets file, or :class:`FormatError`."""
    if not path.is_file():
        raise FormatError("no such secrets file", file=str(path))
    try:
        conn = _connect_ro(path)
        try:
            rows = conn.execute("SELECT doc FROM header").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise FormatError(
            f"not a publication secrets file (SQLite: {exc})", file=str(path)
        ) from None
    if len(rows) != 1 or not isinstance(rows[0][0], str):
        raise FormatError("not a publication secrets file", file=str(path))
    return model_from_json(parse_json(rows[0][0].encode(), str(path)), SecretsHeader, str(path))


def write_secrets(
    path: Path, header: SecretsHeader, accounts: Iterable[tuple[str, AccountSecret]]
) -> None:
    """Write the secrets file atomically, owner-only from its creation."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the secrets: {exc}") from None
    with sealed_replace(path, ".tmp", secret=True, what="the secrets") as tmp:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("BEGIN")
            for sql in SCHEMA:
                conn.execute(sql)
            conn.execute("INSERT INTO header VALUES (0, ?)", (header.model_dump_json(),))
            conn.executemany(
                "INSERT INTO accounts VALUES (?, ?)",
                ((a, s.model_dump_json()) for a, s in accounts),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()


def account_secret(path: Path, account: str) -> AccountSecret:
    """One account's secrets, or :class:`FormatError` if the file does not hold it."""
    read_header(path)
    try:
        conn = _connect_ro(path)
        try:
            row = conn.execute("SELECT doc FROM accounts WHERE account = ?", (account,)).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise FormatError(f"unreadable secrets (SQLite: {exc})", file=str(path)) from None
    if row is None:
        raise FormatError(f"holds no account {account!r}", file=str(path))
    return model_from_json(parse_json(str(row[0]).encode(), str(path)), AccountSecret, str(path))


def accounts(path: Path) -> list[str]:
    """Every account the secrets file holds, in order of their ids."""
    read_header(path)
    try:
        conn = _connect_ro(path)
        try:
            rows = conn.execute("SELECT account FROM accounts ORDER BY account").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise FormatError(f"unreadable secrets (SQLite: {exc})", file=str(path)) from None
    return [str(r[0]) for r in rows]
