"""Export the JSON Schema of every file format to ``docs/formats/``.

    python -m zkmargin.formats.schema docs/formats

A test checks the committed schemas equal what the models produce, so they never go stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from ..fileio import atomic_write_text
from .accounts import AccountsFile
from .assets import EvmBalancesFile, ProofOfAssets, SignaturesFile, WalletsFile
from .liquidation import LiquidationLogHeader, LiquidationProofFile
from .market import MarketSnapshot
from .publication import (
    AccountSecret,
    InclusionFile,
    PublicationHeader,
    ReserveProof,
    ReserveRatioProof,
    ReservesFile,
    SecretsHeader,
)
from .statement import (
    AccountOpenings,
    AccountStatement,
    InclusionAttestation,
    MarginProofFile,
    SignedRoot,
    VenueKeyFile,
    VenuePublicKey,
)
from .verdicts import AuditResult, InclusionResult, VerifyResult

MODELS: dict[str, type[BaseModel]] = {
    "verify-result.schema.json": VerifyResult,
    "audit-result.schema.json": AuditResult,
    "inclusion-result.schema.json": InclusionResult,
    "market.schema.json": MarketSnapshot,
    "accounts.schema.json": AccountsFile,
    "account-statement.schema.json": AccountStatement,
    "account-openings.schema.json": AccountOpenings,
    "venue-key.schema.json": VenueKeyFile,
    "venue-public-key.schema.json": VenuePublicKey,
    "margin-proof.schema.json": MarginProofFile,
    "reserves.schema.json": ReservesFile,
    "publication-header.schema.json": PublicationHeader,
    "liabilities-root.schema.json": SignedRoot,
    "reserve-proof.schema.json": ReserveProof,
    "inclusion-attestation.schema.json": InclusionAttestation,
    "inclusion.schema.json": InclusionFile,
    "publication-secrets.schema.json": SecretsHeader,
    "account-secret.schema.json": AccountSecret,
    "reserve-ratio-proof.schema.json": ReserveRatioProof,
    "wallets.schema.json": WalletsFile,
    "signatures.schema.json": SignaturesFile,
    "proof-of-assets.schema.json": ProofOfAssets,
    "evm-balances.schema.json": EvmBalancesFile,
    "liquidation-proof.schema.json": LiquidationProofFile,
    "liquidation-log-header.schema.json": LiquidationLogHeader,
}


def schema_text(model: type[BaseModel]) -> str:
    """The model's JSON Schema, as stable text."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; return the paths."""
    out = []
    for name, model in MODELS.items():
        path = directory / name
        atomic_write_text(path, schema_text(model))
        out.append(path)
    return out


if __name__ == "__main__":
    for p in export(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/formats")):
        print(p)
