"""The instance every range-proof transcript absorbs first: the whole public statement."""

from __future__ import annotations

from collections.abc import Sequence

from ..generators import table
from ..group import Point
from ..transcript import RANGEPROOF_TAG, Transcript
from .proof import padded_count


def statement_transcript(
    commitments: Sequence[Point], n: int, context: bytes, tag: bytes = RANGEPROOF_TAG
) -> Transcript:
    """Init(DeriveSessionID(tag)) then absorb the instance.

    instance = digest(g, h, G, H for N = n·m') ‖ LE(n, 4) ‖ LE(m, 4) ‖ V_0 ‖ … ‖ V_{m−1}
               ‖ LE(len(context), 4) ‖ context

    Each commitment is absorbed on its own (never their sum) and the context carries the epoch,
    market and account binding of the caller.
    """
    m = len(commitments)
    transcript = Transcript(tag)
    transcript.absorb_bytes(table().digest(n * padded_count(m)))
    transcript.absorb_u32(n)
    transcript.absorb_u32(m)
    transcript.absorb_points(commitments)
    transcript.absorb_varlen(context)
    return transcript
