"""The publication: one SQLite file holding everything public about an epoch.

====================== ========================================================================
table                  rows
====================== ========================================================================
``header``             one: the :class:`PublicationHeader` (JSON)
``market``             one: the market snapshot (canonical JSON; its digest is the header's)
``leaves``             ``position`` (0 … 2^h − 1), ``statement`` (JSON), ``proof``, ``sums``
                       (one 48-byte commitment per column), ``hash``
``nodes``              ``level`` (1 … h), ``idx``, ``sums``, ``hash``
``root``               one: the :class:`SignedRoot` (JSON)
``reserves``           one: the :class:`ReserveProof` (JSON)
``assets``             optional, one: the :class:`ProofOfAssets` (JSON), added after publishing
                       by :func:`add_assets` (``exchange prove-assets``)
====================== ========================================================================

The file starts with SQLite's header: ``application_id`` marks it as a zkmargin publication and
``user_version`` holds the format version, so a file from a newer zkmargin is refused by name.

A publication is built in a *work file* beside the output (``OUT.partial``), one transaction per
finished batch, so a killed run loses at most the batches in flight. It also holds the digest of
the plan it was made for (``work`` table). When everything is in, the public tables are copied,
in key order, into a fresh file that is renamed over the output: the same content always gives
the same bytes, however many times the work was interrupted.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..fileio import OutputError, sealed_replace
from ..formats.assets import ProofOfAssets
from ..formats.common import FormatError
from ..formats.jsonfile import model_from_json, parse_json
from ..formats.publication import (
    PUBLICATION_VERSION,
    PublicationHeader,
    ReserveProof,
    ReserveRatioProof,
)
from ..formats.statement import SignedRoot

#: "zkmp" in the SQLite header's application_id field.
APPLICATION_ID = 0x7A6B6D70

SCHEMA = (
    "CREATE TABLE header (id INTEGER PRIMARY KEY CHECK (id = 0), doc TEXT NOT NULL)",
    "CREATE TABLE market (id INTEGER PRIMARY KEY CHECK (id = 0), snapshot BLOB NOT NULL)",
    "CREATE TABLE leaves (position INTEGER PRIMARY KEY, statement BLOB NOT NULL, "
    "proof BLOB NOT NULL, sums BLOB NOT NULL, hash BLOB NOT NULL)",
    "CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, sums BLOB NOT NULL, "
    "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID",
    "CREATE TABLE root (id INTEGER PRIMARY KEY CHECK (id = 0), doc TEXT NOT NULL)",
    "CREATE TABLE reserves (id INTEGER PRIMARY KEY CHECK (id = 0), doc TEXT NOT NULL)",
)
PUBLIC_TABLES = ("header", "market", "leaves", "nodes", "root", "reserves")
ORDER = {"nodes": "level, idx", "leaves": "position"}

LeafRow = tuple[int, bytes, bytes, bytes, bytes]
NodeRow = tuple[int, int, bytes, bytes]


def work_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


class Publication:
    """A publication file open for reading, or a work file open for building."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # ----- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Publication:
        """Open a publication read-only; raise :class:`FormatError` if it is not one this
        zkmargin reads (not SQLite, another application, a newer format, a damaged file)."""
        path = Path(path)
        file = str(path)
        if not path.is_file():
            raise FormatError("no such publication file", file=file)
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            app = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise FormatError(f"not a publication (SQLite: {exc})", file=file) from None
        pub = cls(conn, path)
        if app != APPLICATION_ID:
            conn.close()
            raise FormatError("not a zkmargin publication", file=file)
        if version > PUBLICATION_VERSION:
            conn.close()
            raise FormatError(
                f"publication format version {version} is newer than this zkmargin reads "
                f"({PUBLICATION_VERSION}); upgrade zkmargin",
                file=file,
            )
        if version != PUBLICATION_VERSION:
            conn.close()
            raise FormatError(f"unknown publication format version {version}", file=file)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise FormatError(f"damaged publication (SQLite: {exc})", file=file) from None
        if check != "ok":
            conn.close()
            raise FormatError(f"damaged publication (SQLite: {check})", file=file)
        return pub

    @classmethod
    def open_work(cls, out: Path, plan: bytes) -> tuple[Publication, bool]:
        """The work file of ``out`` for ``plan``: resumed if one exists for the same plan,
        created otherwise; refused if one exists for another plan. Returns (file, resumed)."""
        path = work_path(out)
        resumed = path.exists()
        if resumed and not path.is_file():
            raise OutputError(f"{path}: exists and is not a regular file; refusing to use it")
        try:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA synchronous = FULL")
            pub = cls(conn, path)
            if resumed:
                row = conn.execute("SELECT plan FROM work").fetchone()
                if row is None or bytes(row[0]) != plan:
                    conn.close()
                    raise OutputError(
                        f"{path}: a partial publication of other inputs (accounts, market, "
                        "reserves, key, epoch or padding); remove it to start over"
                    )
                return pub, True
            with pub.transaction():
                for sql in SCHEMA:
                    conn.execute(sql)
                conn.execute("CREATE TABLE work (plan BLOB NOT NULL)")
                conn.execute("INSERT INTO work VALUES (?)", (plan,))
        except sqlite3.DatabaseError as exc:
            raise OutputError(
                f"{path}: unusable partial publication (SQLite: {exc}); remove it"
            ) from None
        return pub, False

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Publication:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ----- reading -------------------------------------------------------------------------

    def _one(self, sql: str, what: str) -> Any:
        try:
            rows = self.conn.execute(sql).fetchall()
        except sqlite3.DatabaseError as exc:
            raise FormatError(f"unreadable {what} (SQLite: {exc})", file=str(self.path)) from None
        if len(rows) != 1:
            raise FormatError(f"holds {len(rows)} {what} rows, not one", file=str(self.path))
        return rows[0][0]

    def _text(self, value: Any, what: str) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, bytes):
            return value
        raise FormatError(f"the {what} is not text", file=str(self.path))

    def header(self) -> PublicationHeader:
        raw = self._text(self._one("SELECT doc FROM header", "header"), "header")
        where = f"{self.path} (header)"
        return model_from_json(parse_json(raw, where), PublicationHeader, where)

    def market_text(self) -> bytes:
        return self._text(self._one("SELECT snapshot FROM market", "market"), "market snapshot")

    def root(self) -> SignedRoot:
        raw = self._text(self._one("SELECT doc FROM root", "root"), "root")
        where = f"{self.path} (root)"
        return model_from_json(parse_json(raw, where), SignedRoot, where)

    def reserves(self) -> ReserveProof | ReserveRatioProof:
        """The reserves proof: format 1 (ρ = 1) or 2 (a minimum ratio)."""
        raw = self._text(self._one("SELECT doc FROM reserves", "reserves"), "reserves")
        where = f"{self.path} (reserves)"
        doc = parse_json(raw, where)
        if isinstance(doc, dict) and doc.get("format") == "zkmargin/reserve-proof/2":
            return model_from_json(doc, ReserveRatioProof, where)
        return model_from_json(doc, ReserveProof, where)

    def has_assets(self) -> bool:
        """Whether a proof of assets has been added (the table is optional)."""
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'assets'"
        return self.conn.execute(sql).fetchone() is not None

    def assets(self) -> ProofOfAssets:
        raw = self._text(self._one("SELECT doc FROM assets", "assets"), "proof of assets")
        where = f"{self.path} (assets)"
        return model_from_json(parse_json(raw, where), ProofOfAssets, where)

    def has(self, table: str) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None

    def leaf_positions(self) -> set[int]:
        return {int(r[0]) for r in self.conn.execute("SELECT position FROM leaves")}

    def leaves(self, lo: int = 0, hi: int | None = None) -> list[LeafRow]:
        """Leaf rows with lo ≤ position < hi, in order; each blob checked to be bytes."""
        hi = (1 << 62) if hi is None else hi
        try:
            rows = self.conn.execute(
                "SELECT position, statement, proof, sums, hash FROM leaves "
                "WHERE position >= ? AND position < ? ORDER BY position",
                (lo, hi),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise FormatError(f"unreadable leaves (SQLite: {exc})", file=str(self.path)) from None
        return [self._leaf_row(r) for r in rows]

    def leaf_sums(self, lo: int, hi: int) -> list[tuple[bytes, bytes]]:
        """(sums, hash) of the leaves lo ≤ position < hi, in order: what the nodes are built of
        (the statements and proofs are not read)."""
        try:
            rows = self.conn.execute(
                "SELECT sums, hash FROM leaves WHERE position >= ? AND position < ? "
                "ORDER BY position",
                (lo, hi),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise FormatError(f"unreadable leaves (SQLite: {exc})", file=str(self.path)) from None
        if not all(isinstance(x, bytes) for r in rows for x in r):
            raise FormatError("a leaf's sums or hash is not a blob", file=str(self.path))
        return [(r[0], r[1]) for r in rows]

    def leaf(self, position: int) -> LeafRow:
        rows = self.leaves(position, position + 1)
        if not rows:
            raise FormatError(f"has no leaf at position {position}", file=str(self.path))
        return rows[0]

    def _leaf_row(self, r: Any) -> LeafRow:
        if not isinstance(r[0], int) or not all(isinstance(x, bytes) for x in r[2:]):
            raise FormatError(f"leaf {r[0]!r}: a field is not a blob", file=str(self.path))
        return (r[0], self._text(r[1], f"leaf {r[0]} statement"), r[2], r[3], r[4])

    def nodes(self, level: int, lo: int = 0, hi: int | None = None) -> list[NodeRow]:
        hi = (1 << 62) if hi is None else hi
        try:
            rows = self.conn.execute(
                "SELECT level, idx, sums, hash FROM nodes WHERE level = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx",
                (level, lo, hi),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise FormatError(f"unreadable nodes (SQLite: {exc})", file=str(self.path)) from None
        for r in rows:
            if not all(isinstance(x, bytes) for x in r[2:]):
                raise FormatError(f"node {r[0]}/{r[1]}: a field is not a blob", file=str(self.path))
        return [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]

    def node_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM nodes").fetchone()[0])

    def has_node(self, level: int, idx: int) -> bool:
        sql = "SELECT 1 FROM nodes WHERE level = ? AND idx = ?"
        return self.conn.execute(sql, (level, idx)).fetchone() is not None

    # ----- writing (work file) -------------------------------------------------------------

    def put_one(self, table: str, value: str | bytes) -> None:
        column = {"header": "doc", "market": "snapshot", "root": "doc", "reserves": "doc"}[table]
        with self.transaction():
            self.conn.execute(
                f"INSERT OR REPLACE INTO {table} (id, {column}) VALUES (0, ?)", (value,)
            )

    def put_leaves(self, rows: Iterable[LeafRow]) -> None:
        with self.transaction():
            self.conn.executemany("INSERT OR REPLACE INTO leaves VALUES (?, ?, ?, ?, ?)", rows)

    def put_nodes(self, rows: Iterable[NodeRow]) -> None:
        with self.transaction():
            self.conn.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?)", rows)

    def finalize(self, out: Path) -> None:
        """Copy the public tables into a fresh file, in key order, and rename it over ``out``;
        then remove the work file."""
        with sealed_replace(out, ".final") as tmp:
            dst = sqlite3.connect(tmp, isolation_level=None)
            try:
                dst.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                dst.execute(f"PRAGMA user_version = {PUBLICATION_VERSION}")
                dst.execute("PRAGMA journal_mode = OFF")
                dst.execute("BEGIN")
                for sql in SCHEMA:
                    dst.execute(sql)
                dst.execute("ATTACH DATABASE ? AS w", (str(self.path),))
                for table in PUBLIC_TABLES:
                    order = ORDER.get(table, "id")
                    dst.execute(f"INSERT INTO {table} SELECT * FROM w.{table} ORDER BY {order}")
                dst.execute("COMMIT")
                dst.execute("DETACH DATABASE w")
            finally:
                dst.close()
        self.close()
        self.path.unlink(missing_ok=True)
        Path(str(self.path) + "-journal").unlink(missing_ok=True)


ASSETS_SCHEMA = "CREATE TABLE assets (id INTEGER PRIMARY KEY CHECK (id = 0), doc TEXT NOT NULL)"


def add_assets(publication: Path, doc: ProofOfAssets, out: Path) -> None:
    """Write ``publication`` with ``doc`` as its proof of assets (replacing any) to ``out``:
    a copy beside ``out`` is changed, flushed and renamed over it, so a failure writes nothing."""
    with sealed_replace(out, ".assets-partial") as tmp:
        shutil.copyfile(publication, tmp)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("BEGIN")
            conn.execute("DROP TABLE IF EXISTS assets")
            conn.execute(ASSETS_SCHEMA)
            conn.execute("INSERT INTO assets VALUES (0, ?)", (doc.model_dump_json(),))
            conn.execute("COMMIT")
        finally:
            conn.close()
