"""Exceptions shared by every layer. This module imports nothing from zkmargin."""


class ZkMarginError(Exception):
    """Base class of every error zkmargin raises on purpose."""


class DecodeError(ZkMarginError):
    """Untrusted bytes are not the canonical encoding of the expected object."""


class ProvingError(ZkMarginError):
    """The prover was asked to prove a statement its witness does not satisfy."""


class VerificationError(ZkMarginError):
    """A structurally valid input failed a check that must never fail for honest inputs."""
