"""The tidy table of accounts (CSV / Parquet), column-wise, and exact decimal columns.

:func:`read_tidy` reads CSV and Parquet with Arrow's readers (the margin layer casts the amount
columns to exact decimals there); :func:`format_units` writes integer units as decimal strings,
column-wise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..fileio import atomic_write
from .common import FormatError, format_decimal

StrArray = npt.NDArray[np.str_]

#: Columns of the tidy form, one row per item of an account.
TIDY_COLUMNS = (
    "account_id",
    "mode",
    "kind",
    "symbol",
    "amount",
    "entry_price",
    "quote",
    "isolated_margin",
)
KINDS = ("cash", "collateral", "position")


def cell(col: Any, row: int) -> str:
    """One cell of a numpy or Arrow string column."""
    v = col[int(row)]
    return str(v.as_py() if hasattr(v, "as_py") else v)


def group_accounts(
    cols: dict[str, Any], rows: Any = None, *, file: str = ""
) -> list[dict[str, Any]]:
    """Account records (as for :class:`~.accounts.Account`) from tidy rows, in order of first
    appearance; ``rows`` restricts to some rows. Row by row: for small files and error paths."""
    records: dict[str, dict[str, Any]] = {}
    for r in range(len(cols["account_id"])) if rows is None else rows:
        rec = f"row {int(r) + 2}"
        acc_id = cell(cols["account_id"], r)
        if not acc_id:
            raise FormatError("missing account_id", file=file, record=rec, field="account_id")
        mode = cell(cols["mode"], r) or "cross"
        acc = records.setdefault(
            acc_id, {"id": acc_id, "mode": mode, "cash": "0", "collateral": {}, "positions": []}
        )
        if acc["mode"] != mode:
            raise FormatError(
                f"mode {mode!r} contradicts {acc['mode']!r} given earlier",
                file=file,
                record=f"{rec} (account {acc_id})",
                field="mode",
            )
        kind, sym, amount = (cell(cols[c], r) for c in ("kind", "symbol", "amount"))
        if kind == "cash":
            acc["cash"] = amount or "0"
        elif kind == "collateral":
            if sym in acc["collateral"]:
                raise FormatError(
                    f"asset {sym} listed twice", file=file, record=rec, field="symbol"
                )
            acc["collateral"][sym] = amount
        elif kind == "position":
            pos = {"instrument": sym, "size": amount}
            for name in ("entry_price", "quote", "isolated_margin"):
                if cell(cols[name], r):
                    pos[name] = cell(cols[name], r)
            acc["positions"].append(pos)
        else:
            raise FormatError(
                f"kind must be cash, collateral or position, got {kind!r}",
                file=file,
                record=rec,
                field="kind",
            )
    return list(records.values())


def format_units(units: Any, decimals: Any) -> npt.NDArray[np.object_]:
    """Decimal strings of units·10^−decimals (e.g. 150000000, 8 → "1.50000000"), as an object
    array of Python strings (no fixed-width copies of the whole column).

    Exact at any size: int64 columns are formatted column-wise, and a column of Python integers
    (the engine's wide values) or one holding int64's minimum is formatted value by value with
    :func:`format_decimal`, the inverse of the readers' parsing.
    """
    raw = np.asarray(units)
    decimals = np.broadcast_to(np.asarray(decimals, dtype=np.int64), raw.shape)
    if raw.dtype.kind not in "iu" or (raw.size and int(raw.min()) == np.iinfo(np.int64).min):
        out = np.empty(raw.shape, dtype=object)
        for i, (v, d) in enumerate(
            zip(raw.ravel().tolist(), decimals.ravel().tolist(), strict=True)
        ):
            out.flat[i] = format_decimal(int(v), int(d))
        return out
    units = raw.astype(np.int64)
    out = np.empty(units.shape, dtype=object)
    for d in np.unique(decimals):
        sel = np.flatnonzero(decimals == d)
        d = int(d)
        u = units[sel]
        mag = np.abs(u)
        text = (mag // 10**d).astype(str)
        if d:
            text = np.char.add(np.char.add(text, "."), np.char.zfill((mag % 10**d).astype(str), d))
        text = np.where(u < 0, np.char.add("-", text), text)
        out[sel] = text.astype(object)
    return out


def read_tidy(path: Path) -> dict[str, Any]:
    """The tidy columns of a CSV or Parquet file as Arrow string arrays, trimmed, '' for missing.

    Both formats are read by Arrow's C++ readers; no row passes through Python.
    """
    import pyarrow as pa

    file = str(path)
    try:
        return _read_tidy(path, file)
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"cannot read the table: {exc}", file=file) from None


def _read_tidy(path: Path, file: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not path.exists():
        raise FormatError("file not found", file=file)
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        else:
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in TIDY_COLUMNS},
                    strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"cannot read the table: {exc}", file=file) from None
    missing = {"account_id", "kind", "symbol", "amount"} - set(table.column_names)
    if missing:
        raise FormatError(f"missing columns {sorted(missing)}", file=file)
    twice = sorted({c for c in table.column_names if table.column_names.count(c) > 1})
    if twice:
        raise FormatError(f"columns named twice: {twice}", file=file)
    unknown = set(table.column_names) - set(TIDY_COLUMNS)
    if unknown:  # as JSON refuses unknown fields
        raise FormatError(
            f"unknown columns {sorted(unknown)}; the columns are {', '.join(TIDY_COLUMNS)}",
            file=file,
        )
    cols: dict[str, Any] = {}
    for name in TIDY_COLUMNS:
        if name not in table.column_names:
            cols[name] = pa.array([""] * table.num_rows, type=pa.string())
            continue
        col = table.column(name).combine_chunks()
        if pa.types.is_floating(col.type):
            raise FormatError(
                "binary floats are not accepted; store amounts as strings", file=file, field=name
            )
        col = pc.cast(col, pa.string()).fill_null("")
        col.validate(full=True)  # Parquet strings are not checked for UTF-8 when read
        cols[name] = pc.utf8_trim_whitespace(col)
    if (
        "mode" not in table.column_names
        and pc.any(pc.not_equal(cols["isolated_margin"], "")).as_py()
    ):
        raise FormatError(
            "rows give isolated_margin but the file has no mode column (every account would be "
            "cross): add a mode column saying which accounts are isolated",
            file=file,
            field="mode",
        )
    return cols


def write_tidy(path: Path, cols: dict[str, Any]) -> None:
    """Write tidy columns to CSV or Parquet with Arrow's writers, atomically."""
    write_columns(path, {name: cols[name] for name in TIDY_COLUMNS})


def _strings(col: Any) -> Any:
    """An Arrow string array from a numpy column of str or of Python strings."""
    import pyarrow as pa

    arr = np.asarray(col)
    return pa.array(arr if arr.dtype == object else arr.astype(str), type=pa.string())


def write_columns(path: Path, cols: dict[str, Any]) -> None:
    """Write string columns as CSV or Parquet (by the suffix), atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.table({name: _strings(col) for name, col in cols.items()})

    def write(f: Any) -> None:
        if path.suffix.lower() == ".parquet":
            pq.write_table(table, f)
        else:
            pacsv.write_csv(table, f, pacsv.WriteOptions(quoting_style="needed"))

    atomic_write(path, write)
