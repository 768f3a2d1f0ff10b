"""Exceptions shared by every layer. This module imports nothing from zkmargin."""


class ZkMarginError(Exception):
    """Base class of every error zkmargin raises on purpose."""


class DecodeError(ZkMarginError):
    """Untrusted bytes are not the canonical encoding of the expected object."""


class ProvingError(ZkMarginError):
    """The prover was asked to prove a statement its witness does not satisfy."""


class InvalidArgument(ZkMarginError, TypeError):
    """A function of the API was called with an argument of the wrong type or an impossible
    value (``n=8.0``, a ``str`` context, a float amount, a zero blinding)."""


def require_int(name: str, value: object) -> int:
    """``value`` as an int, refusing bool, float and everything else."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an int, got {type(value).__name__}")
    return value


def require_bytes(name: str, value: object) -> bytes:
    """``value`` as bytes, refusing str, None and everything else."""
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidArgument(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


class VerificationError(ZkMarginError):
    """A structurally valid input failed a check that must never fail for honest inputs."""
