"""The venue's key file: a BLS secret key and the KDF master secret, both 32 bytes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ..formats.statement import VenueKeyFile, VenuePublicKey
from ..group import R
from . import bls


@dataclass(frozen=True)
class VenueKey:
    venue: str
    secret_key: int
    master_secret: bytes

    @property
    def public_key(self) -> bytes:
        return bls.sk_to_pk(self.secret_key)

    def to_file(self) -> VenueKeyFile:
        return VenueKeyFile(
            venue=self.venue,
            secret_key=f"{self.secret_key:064x}",
            master_secret=self.master_secret.hex(),
        )

    def public_file(self) -> VenuePublicKey:
        return VenuePublicKey(venue=self.venue, public_key=self.public_key.hex())

    @classmethod
    def from_file(cls, f: VenueKeyFile) -> VenueKey:
        sk = int(f.secret_key, 16)
        if not 0 < sk < R:
            raise ValueError("the key file's secret key is not in [1, r)")
        return cls(f.venue, sk, bytes.fromhex(f.master_secret))


def generate(venue: str) -> VenueKey:
    """A fresh venue key from operating-system entropy."""
    return VenueKey(venue, bls.generate_secret_key(), secrets.token_bytes(32))
