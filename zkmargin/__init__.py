"""zkmargin: zero-knowledge proofs that leveraged trading accounts are solvent.

Layers, bottom to top (each imports only the ones below it)::

    group -> generators, transcript -> pedersen -> sigma, rangeproof -> circuit -> api -> cli
    margin (numpy, no crypto) and formats (pydantic) sit beside the crypto stack.
"""

__version__ = "0.1.0"
