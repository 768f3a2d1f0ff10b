"""Pydantic models of every file a user touches, versioned; JSON Schema in ``docs/formats/``."""

from .accounts import Account, AccountsFile, Position, load_accounts, write_accounts_json
from .common import PPM, FormatError, to_ppm, to_units
from .market import Asset, Instrument, MarketSnapshot

__all__ = [
    "PPM",
    "Account",
    "AccountsFile",
    "Asset",
    "FormatError",
    "Instrument",
    "MarketSnapshot",
    "Position",
    "load_accounts",
    "to_ppm",
    "to_units",
    "write_accounts_json",
]
