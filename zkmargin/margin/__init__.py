"""The off-chain margin engine: exact integers, conservative rounding, numpy across accounts.

It imports no cryptography. :func:`evaluate_accounts` / :func:`evaluate_table` compute every
account's equity, requirements, health and margin ratio at once; :func:`scalar.evaluate` does one
account and also returns the exact integer witness a circuit commits to.
"""

from .market import Market, compile_market, load_market
from .scalar import AccountResult, compile_account, evaluate
from .vector import AccountTable, MarginReport, evaluate_accounts, evaluate_table

__all__ = [
    "AccountResult",
    "AccountTable",
    "MarginReport",
    "Market",
    "compile_account",
    "compile_market",
    "evaluate",
    "evaluate_accounts",
    "evaluate_table",
    "load_market",
]
