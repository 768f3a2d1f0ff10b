"""The one strict JSON reader: every JSON file zkmargin reads goes through :func:`read_json`.

It names the file in every error, refuses duplicate keys (``{"USDT": "1", "USDT": "9"}`` would
otherwise silently mean the last), accepts a UTF-8 byte-order mark as the CSV reader does,
refuses bytes that are not UTF-8, NaN and infinities, and nesting deeper than any format needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..fileio import atomic_write_text
from .common import FormatError, validation_error

M = TypeVar("M", bound=BaseModel)

#: Deepest nesting any zkmargin format uses, with room to spare.
MAX_DEPTH = 64
#: Largest JSON file read whole (a publication's files are SQLite, not JSON).
MAX_BYTES = 256 << 20


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json(data: bytes, file: str) -> Any:
    """Parse JSON bytes strictly; raise :class:`FormatError` naming ``file``."""
    if len(data) > MAX_BYTES:
        raise FormatError(f"larger than {MAX_BYTES >> 20} MiB", file=file)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    if _depth(text) > MAX_DEPTH:
        raise FormatError(f"nested deeper than {MAX_DEPTH} levels", file=file)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise FormatError(f"malformed JSON: {exc}", file=file) from None
    except ValueError as exc:
        raise FormatError(f"malformed JSON: {exc}", file=file) from None


def read_json(path: str | Path) -> Any:
    """Read and parse a JSON file strictly (see the module docstring)."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FormatError("file not found", file=file) from None
    except IsADirectoryError:
        raise FormatError("is a directory, not a file", file=file) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=file) from None
    return parse_json(data, file)


def read_model(path: str | Path, model: type[M]) -> M:
    """Read a JSON file into a pydantic model; errors name the file and the field."""
    return model_from_json(read_json(path), model, str(path))


#: What to give instead, when a file of one format is given where another is read.
_INSTEAD = {
    ("zkmargin/venue-key/1", "zkmargin/venue-public-key/1"): (
        "it is the venue's secret key: give its public key file (venue.pub), and keep this one "
        "private"
    ),
}


def expected_format(model: type[BaseModel]) -> str | None:
    """The ``format`` tag a model's files carry, if it has one."""
    field = model.model_fields.get("format")
    if field is None or not isinstance(field.default, str):
        return None
    return field.default


def model_from_json(raw: Any, model: type[M], file: str) -> M:
    """Validate parsed JSON as ``model``; errors name the file and the field. A file whose model
    has a ``format`` tag must carry it (a file without it is not read as one)."""
    tag = expected_format(model)
    if tag is not None:
        if not isinstance(raw, dict) or "format" not in raw:
            raise FormatError(f"has no 'format' key: a {tag} file names its format", file=file)
        found = raw["format"]
        if isinstance(found, str) and found != tag and found.startswith("zkmargin"):
            hint = _INSTEAD.get((found, tag), f"give a {tag} file")
            raise FormatError(f"is a {found} file, not {tag}: {hint}", file=file)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, file=file) from None


def write_model(path: str | Path, doc: BaseModel, *, secret: bool = False) -> None:
    """Write a pydantic model as indented JSON, atomically (secrets owner-only)."""
    atomic_write_text(
        Path(path), doc.model_dump_json(indent=1, exclude_none=True) + "\n", secret=secret
    )
