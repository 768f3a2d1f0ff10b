"""Accounts files to and from :class:`~.vector.AccountTable`.

JSON goes through the pydantic models account by account. CSV and Parquet (the tidy form) are
converted column-wise with exact decimal parsing; when a row is malformed, the account it belongs
to is re-read through the exact per-account path, so the error names the file, the row's account
and the field just as for JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..formats.accounts import Account, load_accounts, write_accounts_json
from ..formats.common import FormatError
from ..formats.tidy import StrArray, format_units, parse_decimals, read_tidy, write_tidy
from . import intvec as iv
from .market import Market
from .scalar import compile_account
from .vector import MODES, AccountTable

KINDS = ("cash", "collateral", "position")


def _rows_to_account(cols: dict[str, StrArray], rows: npt.NDArray[np.int64]) -> dict[str, Any]:
    acc: dict[str, Any] = {
        "id": str(cols["account_id"][rows[0]]),
        "mode": str(cols["mode"][rows[0]]) or "cross",
        "collateral": {},
        "positions": [],
    }
    for r in rows:
        kind, sym, amount = str(cols["kind"][r]), str(cols["symbol"][r]), str(cols["amount"][r])
        if kind == "cash":
            acc["cash"] = amount
        elif kind == "collateral":
            acc["collateral"][sym] = amount
        else:
            pos = {"instrument": sym, "size": amount}
            for name in ("entry_price", "quote", "isolated_margin"):
                if str(cols[name][r]):
                    pos[name] = str(cols[name][r])
            acc["positions"].append(pos)
    return acc


def _explain(
    cols: dict[str, StrArray],
    market: Market,
    file: str,
    rows: npt.NDArray[np.int64],
    row: int,
    field: str,
    problem: str,
) -> FormatError:
    """The exact path's error for the account holding ``row``, or a generic one."""
    from pydantic import ValidationError

    doc = _rows_to_account(cols, rows)
    try:
        compile_account(Account.model_validate(doc), market, file)
    except FormatError as exc:
        return exc
    except ValidationError as exc:
        err = exc.errors()[0]
        return FormatError(
            err["msg"],
            file=file,
            record=f"account {doc['id']}",
            field=".".join(str(p) for p in err["loc"]),
        )
    return FormatError(
        problem, file=file, record=f"row {row + 2} (account {doc['id']})", field=field
    )


def table_from_tidy(cols: dict[str, StrArray], market: Market, file: str) -> AccountTable:
    """Build a table from tidy columns, or raise :class:`FormatError`."""
    ids_col = np.char.strip(cols["account_id"].astype(str))
    n_rows = len(ids_col)
    if n_rows and (ids_col == "").any():
        r = int(np.flatnonzero(ids_col == "")[0])
        raise FormatError(
            "missing account_id", file=file, record=f"row {r + 2}", field="account_id"
        )
    uniq, first, inverse = np.unique(ids_col, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    acct = rank[inverse]  # account index of each row, in order of first appearance
    ids = [str(x) for x in uniq[order]]
    rows_of = np.argsort(acct, kind="stable")
    bounds = np.searchsorted(acct[rows_of], np.arange(len(ids) + 1))

    def fail(row: int, field: str, problem: str) -> FormatError:
        a = int(acct[row])
        return _explain(cols, market, file, rows_of[bounds[a] : bounds[a + 1]], row, field, problem)

    mode_text = np.char.strip(cols["mode"].astype(str))
    mode_text = np.where(mode_text == "", "cross", mode_text)
    mode_code = np.full(n_rows, -1, dtype=np.int64)
    for k, name in enumerate(MODES):
        mode_code[mode_text == name] = k
    if (mode_code < 0).any():
        r = int(np.flatnonzero(mode_code < 0)[0])
        raise fail(r, "mode", f"mode must be one of {', '.join(MODES)}")
    acc_mode = np.full(len(ids), -1, dtype=np.int64)
    acc_mode[acct[::-1]] = mode_code[::-1]  # the first row's mode
    if (acc_mode[acct] != mode_code).any():
        r = int(np.flatnonzero(acc_mode[acct] != mode_code)[0])
        raise fail(r, "mode", "mode contradicts an earlier row of the same account")
    kind = np.char.strip(cols["kind"].astype(str))
    symbol = np.char.strip(cols["symbol"].astype(str))
    bad_kind = ~np.isin(kind, KINDS)
    if bad_kind.any():
        r = int(np.flatnonzero(bad_kind)[0])
        raise FormatError(
            f"kind must be cash, collateral or position, got {kind[r]!r}",
            file=file,
            record=f"row {r + 2}",
            field="kind",
        )
    amount = cols["amount"].astype(str)
    # decimals of each row's amount
    dec = np.zeros(n_rows, dtype=np.int64)
    asset_idx = np.full(n_rows, -1, dtype=np.int64)
    inst_idx = np.full(n_rows, -1, dtype=np.int64)
    is_cash, is_coll, is_pos = kind == "cash", kind == "collateral", kind == "position"
    dec[is_cash] = market.valuation_decimals
    for asset in market.assets:
        sel = is_coll & (symbol == asset.symbol)
        asset_idx[sel] = asset.index
        dec[sel] = asset.decimals
    for inst in market.instruments:
        sel = is_pos & (symbol == inst.symbol)
        inst_idx[sel] = inst.index
        dec[sel] = inst.size_decimals
    unknown = (is_coll & (asset_idx < 0)) | (is_pos & (inst_idx < 0))
    if unknown.any():
        r = int(np.flatnonzero(unknown)[0])
        raise fail(r, "symbol", f"unknown symbol {symbol[r]}")
    if (amount == "").any():
        r = int(np.flatnonzero(amount == "")[0])
        raise fail(r, "amount", "missing amount")
    units, ok = parse_decimals(amount, dec)
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise fail(r, "amount", f"cannot read amount {amount[r]!r} with {dec[r]} decimals")
    # cash and collateral
    cash = np.zeros(len(ids), dtype=np.int64)
    if np.bincount(acct[is_cash], minlength=len(ids)).max(initial=0) > 1:
        r = int(np.flatnonzero(is_cash)[0])
        raise fail(r, "kind", "more than one cash row for an account")
    cash[acct[is_cash]] = units[is_cash]
    balances = np.zeros((len(ids), len(market.assets)), dtype=np.int64)
    coll_rows = np.flatnonzero(is_coll)
    keys = acct[coll_rows] * len(market.assets) + asset_idx[coll_rows]
    if len(np.unique(keys)) != len(keys):
        _, first_dup = np.unique(keys, return_index=True)
        dup = np.setdiff1d(np.arange(len(keys)), first_dup)[0]
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
    p_inst = inst_idx[pos_rows]
    p_acct = acct[pos_rows]
    p_mode = acc_mode[p_acct]
    entry_t = cols["entry_price"].astype(str)[pos_rows]
    quote_t = cols["quote"].astype(str)[pos_rows]
    iso_t = cols["isolated_margin"].astype(str)[pos_rows]
    price_dec = np.array([market.instruments[i].price_decimals for i in p_inst], dtype=np.int64)
    size_dec = np.array([market.instruments[i].size_decimals for i in p_inst], dtype=np.int64)
    settle_dec = np.array(
        [market.assets[market.instruments[i].settle_index].decimals for i in p_inst], dtype=np.int64
    )
    kinds = np.array([market.instruments[i].kind for i in p_inst], dtype=str)
    has_entry, has_quote, has_iso = entry_t != "", quote_t != "", iso_t != ""
    problem = (
        (has_entry & has_quote)
        | (~has_entry & ~has_quote)
        | ((kinds == "inverse") & ~has_entry)
        | ((kinds == "option") & (p_mode != 2))
        | ((p_mode == 1) & ~has_iso)
        | ((p_mode != 1) & has_iso)
    )
    for inst in market.instruments:
        if inst.schedule is None:
            problem |= (p_inst == inst.index) & (p_mode != 2)
        if inst.index not in market.risk_arrays:
            problem |= (p_inst == inst.index) & (p_mode == 2)
    entry, ok_e = parse_decimals(np.where(has_entry, entry_t, "0"), price_dec)
    quote, ok_q = parse_decimals(np.where(has_quote, quote_t, "0"), size_dec + price_dec)
    iso, ok_i = parse_decimals(np.where(has_iso, iso_t, "0"), settle_dec)
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
    with np.errstate(over="ignore"):
        q_lin = -size * entry
    overflow = has_entry & (
        np.abs(size.astype(np.float64)) * np.abs(entry.astype(np.float64)) >= 2.0**62
    )
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
    ids = np.array(table.ids, dtype=str)
    cash_acc = np.flatnonzero(np.asarray(table.cash) != 0)
    coll_acc, coll_asset = np.nonzero(np.asarray(table.balances))
    p = len(table.pos_account)
    acct = np.concatenate([cash_acc, coll_acc, table.pos_account]).astype(np.int64)
    kind_code = np.concatenate(
        [np.zeros(len(cash_acc)), np.ones(len(coll_acc)), np.full(p, 2)]
    ).astype(np.int64)
    order = np.lexsort((kind_code, acct))
    sym_assets = np.array([a.symbol for a in market.assets] or [""], dtype=str)
    sym_inst = np.array([i.symbol for i in market.instruments] or [""], dtype=str)
    symbol = (
        np.concatenate(
            [
                np.full(len(cash_acc), "", dtype=str),
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
    blank = np.full(len(cash_acc) + len(coll_acc), "", dtype=str)
    modes = np.array(MODES, dtype=str)[np.asarray(table.mode)]
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


def _accounts_from_tidy(cols: dict[str, StrArray]) -> list[Account]:
    ids = cols["account_id"]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], int)
    ends = np.r_[starts[1:], len(ids)]
    return [
        Account.model_validate(_rows_to_account(cols, np.arange(s, e)))
        for s, e in zip(starts, ends, strict=True)
    ]
