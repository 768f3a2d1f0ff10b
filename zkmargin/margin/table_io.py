"""Accounts files to and from :class:`~.vector.AccountTable`.

JSON goes through the pydantic models account by account. CSV and Parquet (the tidy form) are
converted column-wise with exact decimal parsing; when a row is malformed, the account it belongs
to is re-read through the exact per-account path, so the error names the file, the row's account
and the field just as for JSON.
"""

from __future__ import annotations

from decimal import localcontext
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..formats.accounts import Account, load_accounts, write_accounts_json
from ..formats.common import (
    DECIMAL_PATTERN,
    EXACT,
    FormatError,
    check_account_id,
    to_units,
    validation_error,
)
from ..formats.tidy import (
    KINDS,
    StrArray,
    cell,
    format_units,
    group_accounts,
    read_tidy,
    write_tidy,
)
from . import intvec as iv
from .market import Market
from .scalar import MANGO_CROSS_ONLY, compile_account
from .vector import MODES, AccountTable


def _explain(
    cols: dict[str, Any],
    market: Market,
    file: str,
    rows: npt.NDArray[np.int64],
    row: int,
    field: str,
    problem: str,
) -> FormatError:
    """The exact path's error for the account holding ``row``, or a generic one."""
    from pydantic import ValidationError

    doc = group_accounts(cols, rows, file=file)[0]
    try:
        compile_account(Account.model_validate(doc), market, file)
    except FormatError as exc:
        return exc
    except ValidationError as exc:
        return validation_error(exc, file=file, record=f"account {doc['id']}")
    return FormatError(
        problem, file=file, record=f"row {row + 2} (account {doc['id']})", field=field
    )


def _codes(col: Any) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Dictionary codes of a string column (in order of first appearance) and its values."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(col)
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, [str(v) for v in enc.dictionary.to_pylist()]


def _parse(col: Any, decimals: npt.NDArray[np.int64]) -> tuple[Any, npt.NDArray[np.bool_]]:
    """(units, ok): col[i]·10^decimals[i] as integers, exactly, by Arrow decimal casts.

    Arrow refuses a value with more decimals than the scale (data loss) and anything that is not
    a number; such groups are re-read row by row to find which rows failed. The unscaled int128
    of decimal128 is the integer count of units; values beyond int64 become Python ints.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(col)
    units: Any = np.zeros(n, dtype=np.int64)
    # the spelling JSON accepts, and only it ("1e3", "+5", "1_000" are Python's or Arrow's)
    spelt = pc.match_substring_regex(col, pattern=DECIMAL_PATTERN)
    ok = np.asarray(spelt.to_numpy(zero_copy_only=False), dtype=bool)
    col = pc.if_else(spelt, col, "0")
    wide: dict[int, int] = {}
    for d in np.flatnonzero(np.bincount(decimals)) if n else []:
        idx = np.flatnonzero(decimals == d)
        sub = pc.take(col, pa.array(idx))
        try:
            dec = pc.cast(sub, pa.decimal128(38, int(d)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            for j, r in enumerate(idx.tolist()):
                try:
                    value = to_units(str(sub[j].as_py()), int(d))
                except (ValueError, ArithmeticError):
                    ok[r] = False
                    continue
                wide[r] = value
            continue
        raw = np.frombuffer(dec.buffers()[1], dtype=np.int64)
        raw = raw[2 * dec.offset : 2 * (dec.offset + len(dec))].reshape(-1, 2)
        lo, hi = raw[:, 0], raw[:, 1]
        fits = hi == (lo >> 63)
        units[idx[fits]] = lo[fits]
        for j in np.flatnonzero(~fits).tolist():
            with localcontext(EXACT):  # 28-digit default context would round
                wide[int(idx[j])] = int(dec[j].as_py().scaleb(int(d)))
    if wide:
        big = any(abs(v) >= 2**62 for v in wide.values())
        if big:
            units = units.astype(object)
        for r, v in wide.items():
            units[r] = v
    return units, ok


def table_from_tidy(cols: dict[str, Any], market: Market, file: str) -> AccountTable:
    """Build a table from tidy Arrow string columns, or raise :class:`FormatError`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_rows = len(cols["account_id"])
    empty_id = np.asarray(pc.equal(cols["account_id"], "").to_numpy(zero_copy_only=False))
    if empty_id.any():
        r = int(np.flatnonzero(empty_id)[0])
        raise FormatError(
            "missing account_id", file=file, record=f"row {r + 2}", field="account_id"
        )
    acct, ids = _codes(cols["account_id"])
    for k, account_id in enumerate(ids):
        try:
            check_account_id(account_id)
        except ValueError as exc:
            r = int(np.flatnonzero(acct == k)[0])
            raise FormatError(
                str(exc), file=file, record=f"row {r + 2}", field="account_id"
            ) from None
    rows_of = np.argsort(acct, kind="stable")
    bounds = np.searchsorted(acct[rows_of], np.arange(len(ids) + 1))

    def fail(row: int, field: str, problem: str) -> FormatError:
        a = int(acct[row])
        return _explain(cols, market, file, rows_of[bounds[a] : bounds[a + 1]], row, field, problem)

    mode_codes, mode_values = _codes(cols["mode"])
    mode_map = np.array(
        [MODES.index(v or "cross") if (v or "cross") in MODES else -1 for v in mode_values] or [0],
        dtype=np.int64,
    )
    mode_code = mode_map[mode_codes] if n_rows else np.zeros(0, dtype=np.int64)
    if (mode_code < 0).any():
        r = int(np.flatnonzero(mode_code < 0)[0])
        raise fail(r, "mode", f"mode must be one of {', '.join(MODES)}")
    acc_mode = np.full(len(ids), -1, dtype=np.int64)
    acc_mode[acct[::-1]] = mode_code[::-1]  # the first row's mode
    if (acc_mode[acct] != mode_code).any():
        r = int(np.flatnonzero(acc_mode[acct] != mode_code)[0])
        raise fail(r, "mode", "mode contradicts an earlier row of the same account")
    if market.accounting == "mango_health" and (mode_code != 0).any():
        raise fail(int(np.flatnonzero(mode_code != 0)[0]), "mode", MANGO_CROSS_ONLY)
    kind_codes, kind_values = _codes(cols["kind"])
    kind_map = np.array(
        [KINDS.index(v) if v in KINDS else -1 for v in kind_values] or [0], dtype=np.int64
    )
    kind = kind_map[kind_codes] if n_rows else np.zeros(0, dtype=np.int64)
    if (kind < 0).any():
        r = int(np.flatnonzero(kind < 0)[0])
        raise FormatError(
            f"kind must be cash, collateral or position, got {kind_values[kind_codes[r]]!r}",
            file=file,
            record=f"row {r + 2}",
            field="kind",
        )
    is_cash, is_coll, is_pos = kind == 0, kind == 1, kind == 2
    sym_codes, sym_values = _codes(cols["symbol"])
    asset_of = np.array(
        [market.asset_index(v) if market.asset_index(v) is not None else -1 for v in sym_values]
        or [0],
        dtype=np.int64,
    )
    inst_of = np.array(
        [
            market.instrument_index(v) if market.instrument_index(v) is not None else -1
            for v in sym_values
        ]
        or [0],
        dtype=np.int64,
    )
    asset_idx = np.where(is_coll, asset_of[sym_codes], -1) if n_rows else np.zeros(0, np.int64)
    inst_idx = np.where(is_pos, inst_of[sym_codes], -1) if n_rows else np.zeros(0, np.int64)
    unknown = (is_coll & (asset_idx < 0)) | (is_pos & (inst_idx < 0))
    if unknown.any():
        r = int(np.flatnonzero(unknown)[0])
        raise fail(r, "symbol", f"unknown symbol {sym_values[sym_codes[r]]}")
    asset_dec = np.array([a.decimals for a in market.assets] or [0], dtype=np.int64)
    size_dec_of = np.array([i.size_decimals for i in market.instruments] or [0], dtype=np.int64)
    dec = np.where(
        is_cash,
        market.valuation_decimals,
        np.where(
            is_coll, asset_dec[np.maximum(asset_idx, 0)], size_dec_of[np.maximum(inst_idx, 0)]
        ),
    )
    amount_empty = np.asarray(pc.equal(cols["amount"], "").to_numpy(zero_copy_only=False))
    if amount_empty.any():
        r = int(np.flatnonzero(amount_empty)[0])
        raise fail(r, "amount", "missing amount")
    units, ok = _parse(cols["amount"], dec)
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise fail(
            r, "amount", f"cannot read amount {cell(cols['amount'], r)!r} with {dec[r]} decimals"
        )
    if units.dtype == object:  # beyond int64: the exact per-account path, same limit as JSON
        return AccountTable.from_accounts(_accounts_from_tidy(cols, file), market, file)
    # cash and collateral
    cash = np.zeros(len(ids), dtype=np.int64)
    if np.bincount(acct[is_cash], minlength=len(ids)).max(initial=0) > 1:
        r = int(np.flatnonzero(is_cash)[0])
        raise fail(r, "kind", "more than one cash row for an account")
    cash[acct[is_cash]] = units[is_cash]
    balances = np.zeros((len(ids), len(market.assets)), dtype=np.int64)
    coll_rows = np.flatnonzero(is_coll)
    keys = acct[coll_rows] * len(market.assets) + asset_idx[coll_rows]
    if len(keys) and np.bincount(keys).max() > 1:
        _, first_seen = np.unique(keys, return_index=True)
        dup = int(np.setdiff1d(np.arange(len(keys)), first_seen)[0])
        raise FormatError(
            "asset listed twice",
            file=file,
            record=f"row {coll_rows[dup] + 2} (account {ids[acct[coll_rows[dup]]]})",
            field="symbol",
        )
    balances[acct[coll_rows], asset_idx[coll_rows]] = units[coll_rows]
    # positions, sorted by account
    pos_rows = np.flatnonzero(is_pos)
    pos_rows = pos_rows[np.argsort(acct[pos_rows], kind="stable")]
    take = pa.array(pos_rows)
    p_inst = inst_idx[pos_rows]
    p_acct = acct[pos_rows]
    p_mode = acc_mode[p_acct]
    text = {name: pc.take(cols[name], take) for name in ("entry_price", "quote", "isolated_margin")}
    present = {
        name: np.asarray(pc.not_equal(col, "").to_numpy(zero_copy_only=False), bool)
        for name, col in text.items()
    }
    instruments = market.instruments
    price_dec = np.array([i.price_decimals for i in instruments] or [0], np.int64)[p_inst]
    size_dec = size_dec_of[p_inst]
    settle_dec = np.array(
        [market.assets[i.settle_index].decimals for i in instruments] or [0], np.int64
    )[p_inst]
    kind_of = np.array([str(i.kind) for i in instruments] or [""])
    kinds = kind_of[p_inst] if len(p_inst) else np.zeros(0, dtype=str)
    has_entry, has_quote, has_iso = (
        present["entry_price"],
        present["quote"],
        present["isolated_margin"],
    )
    problem = (
        (has_entry & has_quote)
        | (~has_entry & ~has_quote)
        | ((kinds == "inverse") & ~has_entry)
        | ((kinds == "option") & (p_mode != 2))
        | ((p_mode == 1) & ~has_iso)
        | ((p_mode != 1) & has_iso)
    )
    for inst in instruments:
        if inst.schedule is None:
            problem |= (p_inst == inst.index) & (p_mode != 2)
        if inst.index not in market.risk_arrays:
            problem |= (p_inst == inst.index) & (p_mode == 2)

    def parse_opt(name: str, decimals: npt.NDArray[np.int64]) -> tuple[Any, Any]:
        col = pc.if_else(pa.array(present[name]), text[name], "0")
        return _parse(col, decimals)

    entry, ok_e = parse_opt("entry_price", price_dec)
    quote, ok_q = parse_opt("quote", size_dec + price_dec)
    iso, ok_i = parse_opt("isolated_margin", settle_dec)
    if entry.dtype == object or quote.dtype == object or iso.dtype == object:
        problem |= True  # beyond int64: let the exact path explain
    else:
        problem |= ~(ok_e & ok_q & ok_i) | (has_entry & (entry < 0)) | (has_iso & (iso < 0))
        problem |= (kinds == "inverse") & (entry == 0)
    iso_acct = acc_mode == 1
    bad_iso = iso_acct & ((cash < 0) | (balances < 0).any(axis=1))
    if bad_iso.any():
        bad_acct = int(np.flatnonzero(bad_iso)[0])
        raise _explain(
            cols,
            market,
            file,
            rows_of[bounds[bad_acct] : bounds[bad_acct + 1]],
            int(rows_of[bounds[bad_acct]]),
            "collateral",
            "isolated mode takes no borrows",
        )
    if problem.any():
        bad_pos = int(np.flatnonzero(problem)[0])
        raise fail(int(pos_rows[bad_pos]), "positions", "invalid position")
    size = units[pos_rows]
    overflow = has_entry & (
        np.abs(size.astype(np.float64)) * np.abs(entry.astype(np.float64)) >= 2.0**62
    )
    with np.errstate(over="ignore"):
        q_lin = -size * entry
    quote_col: Any = np.where(kinds == "inverse", entry, np.where(has_entry, q_lin, quote))
    if overflow.any():
        quote_col = quote_col.astype(object)
        for row in np.flatnonzero(overflow & (kinds != "inverse")):
            quote_col[row] = -int(size[row]) * int(entry[row])
    return AccountTable(
        ids=ids,
        mode=acc_mode.astype(np.int8),
        cash=cash,
        balances=balances,
        pos_account=p_acct.astype(np.int64),
        pos_instrument=p_inst.astype(np.int64),
        pos_size=size,
        pos_quote=iv.narrow(np.asarray(quote_col)) if quote_col.dtype == object else quote_col,
        pos_isolated=np.where(p_mode == 1, iso, 0),
    )


def load_table(path: str | Path, market: Market) -> AccountTable:
    """Read an accounts file (.json, .csv or .parquet) into a table, or raise FormatError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return AccountTable.from_accounts(load_accounts(path), market, str(path))
    if suffix in (".csv", ".parquet"):
        return table_from_tidy(read_tidy(path), market, str(path))
    raise FormatError("accounts must be .json, .csv or .parquet", file=str(path))


def table_to_tidy(table: AccountTable, market: Market) -> dict[str, StrArray]:
    """The tidy columns of a table (integer-valued columns only)."""
    n = len(table)
    ids = np.array(table.ids, dtype=object)
    cash_acc = np.flatnonzero(np.asarray(table.cash) != 0)
    coll_acc, coll_asset = np.nonzero(np.asarray(table.balances))
    p = len(table.pos_account)
    acct = np.concatenate([cash_acc, coll_acc, table.pos_account]).astype(np.int64)
    kind_code = np.concatenate(
        [np.zeros(len(cash_acc)), np.ones(len(coll_acc)), np.full(p, 2)]
    ).astype(np.int64)
    order = np.lexsort((kind_code, acct))
    sym_assets = np.array([a.symbol for a in market.assets] or [""], dtype=object)
    sym_inst = np.array([i.symbol for i in market.instruments] or [""], dtype=object)
    symbol = (
        np.concatenate(
            [
                np.full(len(cash_acc), "", dtype=object),
                sym_assets[coll_asset],
                sym_inst[table.pos_instrument],
            ]
        )
        if n
        else np.array([], dtype=str)
    )
    asset_dec = np.array([a.decimals for a in market.assets], dtype=np.int64)
    inst = market.instruments
    size_dec = np.array([inst[i].size_decimals for i in table.pos_instrument], dtype=np.int64)
    price_dec = np.array([inst[i].price_decimals for i in table.pos_instrument], dtype=np.int64)
    settle_dec = np.array(
        [market.assets[inst[i].settle_index].decimals for i in table.pos_instrument], dtype=np.int64
    )
    amount = np.concatenate(
        [
            format_units(
                np.asarray(table.cash)[cash_acc], np.full(len(cash_acc), market.valuation_decimals)
            ),
            format_units(np.asarray(table.balances)[coll_acc, coll_asset], asset_dec[coll_asset]),
            format_units(np.asarray(table.pos_size), size_dec),
        ]
    )
    is_inverse = np.array([inst[i].kind == "inverse" for i in table.pos_instrument], dtype=bool)
    entry = np.where(is_inverse, format_units(np.asarray(table.pos_quote), price_dec), "")
    quote = np.where(
        is_inverse, "", format_units(np.asarray(table.pos_quote), size_dec + price_dec)
    )
    iso_mode = np.asarray(table.mode)[table.pos_account] == 1
    iso = np.where(iso_mode, format_units(np.asarray(table.pos_isolated), settle_dec), "")
    blank = np.full(len(cash_acc) + len(coll_acc), "", dtype=object)
    modes = np.array(MODES, dtype=object)[np.asarray(table.mode)]
    cols = {
        "account_id": ids[acct],
        "mode": modes[acct],
        "kind": np.array(["cash", "collateral", "position"])[kind_code],
        "symbol": symbol,
        "amount": amount,
        "entry_price": np.concatenate([blank, entry]),
        "quote": np.concatenate([blank, quote]),
        "isolated_margin": np.concatenate([blank, iso]),
    }
    return {k: np.asarray(v)[order] for k, v in cols.items()}


def save_table(table: AccountTable, market: Market, path: str | Path) -> None:
    """Write a table as .json, .csv or .parquet, atomically."""
    path = Path(path)
    cols = table_to_tidy(table, market)
    if path.suffix.lower() == ".json":
        write_accounts_json(_accounts_from_tidy(cols), path)
    elif path.suffix.lower() in (".csv", ".parquet"):
        write_tidy(path, cols)
    else:
        raise FormatError("accounts must be .json, .csv or .parquet", file=str(path))


def _accounts_from_tidy(cols: dict[str, StrArray], file: str = "accounts") -> list[Account]:
    from pydantic import ValidationError

    out = []
    for doc in group_accounts(cols, file=file):
        try:
            out.append(Account.model_validate(doc))
        except ValidationError as exc:
            raise validation_error(exc, file=file, record=f"account {doc.get('id')}") from None
    return out
