"""The tidy table of accounts (CSV / Parquet), column-wise, and exact decimal columns.

:func:`parse_decimals` turns a column of decimal strings into integer units with numpy string
operations (no per-row Python), flagging every row it cannot take exactly (too many decimals,
too many digits for int64, not a number); callers re-read those rows exactly to report or handle
them. :func:`format_units` does the reverse.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..fileio import atomic_write
from .accounts import TIDY_COLUMNS
from .common import FormatError

StrArray = npt.NDArray[np.str_]


def parse_decimals(
    text: StrArray, decimals: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(units, ok): units[i] = text[i]·10^decimals[i] where ok[i]; elsewhere undefined."""
    t = np.char.strip(text.astype(str))
    neg = np.char.startswith(t, "-")
    body = np.where(
        neg | np.char.startswith(t, "+"), np.char.lstrip(np.char.lstrip(t, "-"), "+"), t
    )
    parts = np.char.partition(body, ".")
    ip, dot, fp = parts[:, 0], parts[:, 1], parts[:, 2]
    ip = np.where(ip == "", "0", ip)
    ok = (np.char.isdigit(ip)) & ((dot == "") | (np.char.isdigit(fp) | (fp == "")))
    ok &= np.char.str_len(t) - np.char.str_len(body) <= 1  # at most one sign
    flen = np.char.str_len(fp)
    ok &= flen <= decimals
    ok &= np.char.str_len(ip) + decimals <= 18
    ip_safe = np.where(ok, ip, "0")
    fp_safe = np.where(ok & (flen > 0), fp, "0")
    whole = ip_safe.astype(np.int64)
    frac = fp_safe.astype(np.int64) * (10 ** np.maximum(decimals - np.where(flen > 0, flen, 1), 0))
    frac = np.where(flen > 0, frac, 0)
    units = whole * (10**decimals) + frac
    return np.where(neg, -units, units), ok


def format_units(units: npt.NDArray[np.int64], decimals: npt.NDArray[np.int64]) -> StrArray:
    """Decimal strings of units·10^−decimals (e.g. 150000000, 8 → "1.50000000")."""
    units = np.asarray(units, dtype=np.int64)
    decimals = np.broadcast_to(np.asarray(decimals, dtype=np.int64), units.shape)
    mag = np.abs(units)
    out = np.empty(units.shape, dtype=object)
    for d in np.unique(decimals):
        sel = decimals == d
        d = int(d)
        whole = (mag[sel] // 10**d).astype(str)
        if d:
            frac = np.char.zfill((mag[sel] % 10**d).astype(str), d)
            out[sel] = np.char.add(np.char.add(whole, "."), frac)
        else:
            out[sel] = whole
    text = out.astype(str)
    return np.where(units < 0, np.char.add("-", text), text)


def read_tidy(path: Path) -> dict[str, StrArray]:
    """The tidy columns of a CSV or Parquet file, as string arrays ('' for missing)."""
    file = str(path)
    if not path.exists():
        raise FormatError("file not found", file=file)
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except pa.ArrowInvalid as exc:
            raise FormatError(f"not a readable Parquet file: {exc}", file=file) from None
        cols: dict[str, StrArray] = {}
        for name in table.column_names:
            col = table.column(name)
            if pa.types.is_floating(col.type):
                raise FormatError(
                    "binary floats are not accepted; store amounts as strings",
                    file=file,
                    field=name,
                )
            cols[name] = np.asarray(
                col.cast(pa.string()).fill_null("").to_numpy(zero_copy_only=False)
            ).astype(str)
    else:
        with path.open(newline="") as f:
            reader = csv.reader(f)
            try:
                header = next(reader)
            except StopIteration:
                raise FormatError("empty file", file=file) from None
            rows = list(reader)
        if any(len(r) != len(header) for r in rows):
            bad = next(i for i, r in enumerate(rows, start=2) if len(r) != len(header))
            raise FormatError(
                f"has {len(rows[bad - 2])} fields, the header {len(header)}",
                file=file,
                record=f"row {bad}",
            )
        data = np.array(rows, dtype=str).reshape(len(rows), len(header))
        cols = {name: data[:, k] for k, name in enumerate(header)}
    missing = {"account_id", "kind", "symbol", "amount"} - set(cols)
    if missing:
        raise FormatError(f"missing columns {sorted(missing)}", file=file)
    n = len(cols["account_id"])
    for name in TIDY_COLUMNS:
        cols.setdefault(name, np.full(n, "", dtype=str))
    return cols


def write_tidy(path: Path, cols: dict[str, Any]) -> None:
    """Write tidy columns to CSV or Parquet, atomically."""
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {name: pa.array(np.asarray(cols[name]).astype(str)) for name in TIDY_COLUMNS}
        )

        def write(f: Any) -> None:
            pq.write_table(table, f)

        atomic_write(path, write)
    else:
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(TIDY_COLUMNS)
        w.writerows(
            zip(*(np.asarray(cols[name]).astype(str) for name in TIDY_COLUMNS), strict=True)
        )
        atomic_write(path, lambda f: f.write(buf.getvalue().encode()))
