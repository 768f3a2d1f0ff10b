"""No module imports a layer above it (the diagram in DESIGN.md), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "zkmargin"

#: What a user-story module (trader, exchange, auditor, demo) may import.
STORY_LAYERS = {
    "group",
    "transcript",
    "generators",
    "pedersen",
    "sigma",
    "rangeproof",
    "margin",
    "formats",
    "errors",
    "fileio",
    "attest",
    "circuit",
    "liabilities",
    "chain",
}

#: What each layer may import from zkmargin (besides itself). errors and fileio are leaves.
ALLOWED = {
    "errors": set(),
    "fileio": set(),
    "group": {"errors"},
    "transcript": {"group", "errors"},
    "generators": {"group"},
    "pedersen": {"generators", "group"},
    "sigma": {"group", "transcript", "errors"},
    "rangeproof": {"group", "transcript", "generators", "pedersen", "errors"},
    "formats": {"errors", "fileio"},
    "chain": {"errors", "formats"},
    "margin": {"formats", "errors", "fileio"},
    "attest": {"group", "transcript", "pedersen", "generators", "formats", "errors", "fileio"},
    "circuit": {
        "group",
        "transcript",
        "generators",
        "pedersen",
        "sigma",
        "rangeproof",
        "margin",
        "formats",
        "errors",
    },
    "liabilities": STORY_LAYERS - {"liabilities"},
    "exchange": STORY_LAYERS,
    "trader": STORY_LAYERS,
    "auditor": STORY_LAYERS,
    "liquidation": STORY_LAYERS,
    "bundles": {"group", "pedersen", "rangeproof", "sigma", "generators", "errors"},
    "report": STORY_LAYERS | {"auditor"},
    "demo": STORY_LAYERS | {"exchange", "trader", "auditor", "bundles", "report", "liquidation"},
    "api": STORY_LAYERS
    | {"exchange", "trader", "auditor", "demo", "bundles", "report", "liquidation"}
    | {
        "group",
        "transcript",
        "generators",
        "pedersen",
        "sigma",
        "rangeproof",
        "margin",
        "formats",
        "errors",
        "fileio",
    },
    "cli": {"api"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    depth_of_file = len(path.relative_to(PACKAGE).parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("zkmargin."):
                    found.add(node.module.split(".")[1])
                continue
            up = node.level - 1  # levels above the file's own package
            if up < depth_of_file:  # inside its own layer
                continue
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("zkmargin."):
                    found.add(alias.name.split(".")[1])
    return found


def test_layers_import_only_downwards() -> None:
    checked = 0
    for path in PACKAGE.rglob("*.py"):
        layer = _layer(path)
        if layer in ("__init__", "__main__"):
            continue
        assert layer in ALLOWED, f"{path} is in no known layer"
        imported = _imported_layers(path) - {layer}
        extra = imported - ALLOWED[layer]
        assert not extra, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(extra)}"
        checked += 1
    assert checked > 30


def test_margin_imports_no_cryptography() -> None:
    for path in (PACKAGE / "margin").rglob("*.py"):
        text = path.read_text()
        for crypto in ("py_arkworks", "py_ecc", "zkmargin.group", "from ..group"):
            assert crypto not in text, f"{path} uses {crypto}"


def test_every_package_is_installed() -> None:
    """pyproject.toml lists its packages by hand (the circuits live outside zkmargin/): every
    folder of Python modules under zkmargin/ must be in the list, or pip install would drop it."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / "zkmargin").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set()
    assert "zkmargin.circuits" in listed
