"""What auditors and users see: ``--json`` on every verifier (validated against its JSON Schema),
the audit report (one self-contained HTML page, rendered in a real headless Chromium: no console
error, no request leaving the page, a screenshot taken), and the user's labelled holdings."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zkmargin.cli import main
from zkmargin.formats.verdicts import AuditResult, InclusionResult, VerifyResult
from zkmargin.margin.synthetic import exchange_accounts, exchange_market, exchange_market_document
from zkmargin.margin.table_io import save_table

EPOCH = 4
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: In CI (CI=true, where `make test` installs Chromium) the page must really be rendered: a
#: missing browser fails the test instead of skipping it.
REQUIRE_BROWSER = (
    os.environ.get("CI") == "true" or os.environ.get("ZKMARGIN_REQUIRE_BROWSER") == "1"
)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def pub(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("report")
    (d / "market.json").write_text(json.dumps(exchange_market_document(EPOCH)))
    market = exchange_market(EPOCH)
    save_table(exchange_accounts(market, 5, seed=9), market, d / "accounts.csv")
    reserves = {"USDT": "1000000", "USDC": "1000000", "BTC": "1000", "ETH": "10000", "USD": "1e5"}
    reserves["USD"] = "100000"
    (d / "reserves.json").write_text(
        json.dumps({"format": "zkmargin/reserves/1", "reserves": reserves})
    )
    assert run("venue", "keygen", "--out", d / "venue.key", "--venue", "Report").exit_code == 0
    r = run(
        "exchange", "publish", "--market", d / "market.json", "--accounts", d / "accounts.csv",
        "--reserves", d / "reserves.json", "--key", d / "venue.key", "--out", d / "pub.sqlite",
        "--workers", "1", "--reveal-totals",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    account = (d / "accounts.csv").read_text().splitlines()[1].split(",")[0].strip('"')
    r = run(
        "exchange", "inclusion", "--publication", d / "pub.sqlite", "--secrets",
        d / "pub.sqlite.secrets", "--account", account, "--out", d / "mine.json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return {"dir": d, "pub": d / "pub.sqlite", "key": d / "venue.pub", "mine": d / "mine.json",
            "account": Path(account)}  # fmt: skip


def test_audit_json_is_one_object_valid_against_its_schema(pub: dict[str, Path]) -> None:
    r = run("exchange", "verify", pub["pub"], "--workers", "1", "--json",
            "--venue-key", pub["key"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = AuditResult.model_validate_json(r.stdout)
    assert doc.valid and doc.venue == "Report" and doc.epoch == EPOCH
    assert len(doc.root_hash) == 64 and len(doc.venue_key_fingerprint) == 64
    assert {c.name for c in doc.checks} >= {"leaves", "nodes", "root signature", "reserves"}
    assert all(c.ok for c in doc.checks)
    assert doc.totals_revealed and all(c.liabilities is not None for c in doc.columns)
    assert any("assets not proven" in line for line in doc.not_checked)
    _validate(json.loads(r.stdout), "audit-result.schema.json")
    strict = run("exchange", "verify", pub["pub"], "--workers", "1", "--json", "--strict")
    assert strict.exit_code == 1 and not json.loads(strict.stdout)["valid"]


def test_audit_json_names_the_failure(pub: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    shutil.copy(pub["pub"], bad)
    with sqlite3.connect(bad) as conn:
        (proof,) = conn.execute("SELECT proof FROM leaves WHERE position = 2").fetchone()
        flipped = bytes([proof[0], proof[1] ^ 1]) + proof[2:]
        conn.execute("UPDATE leaves SET proof = ? WHERE position = 2", (flipped,))
    r = run("exchange", "verify", bad, "--workers", "1", "--json", "--report", tmp_path / "a.html")
    assert r.exit_code == 1
    doc = AuditResult.model_validate_json(r.stdout)
    assert not doc.valid and "leaf 2" in doc.reason
    assert any(not c.ok and c.name == "leaves" for c in doc.checks)
    assert any("leaf 2" in f for f in doc.failures)
    page = (tmp_path / "a.html").read_text()
    assert "INVALID" in page and "leaf 2" in page


def test_inclusion_json_lists_holdings_and_what_is_owed(pub: dict[str, Path]) -> None:
    r = run("inclusion", "verify", pub["mine"], "--publication", pub["pub"], "--json",
            "--account", str(pub["account"]), "--epoch", str(EPOCH), "--venue-key", pub["key"],
            "--strict")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = InclusionResult.model_validate_json(r.stdout)
    assert doc.valid and not doc.not_checked and doc.mode == "cross"
    assert any(h.slot == "cash" for h in doc.holdings)
    assert {o.column for o in doc.owed} == {"USDT", "USDC", "BTC", "ETH", "USD"}
    assert all(o.what for o in doc.owed)
    _validate(json.loads(r.stdout), "inclusion-result.schema.json")
    text = run("inclusion", "verify", pub["mine"], "--publication", pub["pub"])
    assert "slot by slot" in text.output and "what the exchange owes you" in text.output


def test_verify_json(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent / "examples" / "trader"
    d = tmp_path
    assert run("venue", "keygen", "--out", d / "v.key", "--venue", "V").exit_code == 0
    r = run("venue", "attest", "--key", d / "v.key", "--market", root / "market.json",
            "--accounts", root / "account.json", "--out-dir", d / "st")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run("prove", "--market", root / "market.json", "--statement",
            d / "st" / "alice.statement.json", "--openings", d / "st" / "alice.openings.json",
            "--out", d / "p.json")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run("verify", d / "p.json", "--market", root / "market.json", "--venue-key",
            d / "v.pub", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = VerifyResult.model_validate_json(r.stdout)
    assert doc.valid and doc.proofs[0].attested and doc.proofs[0].not_checked
    _validate(json.loads(r.stdout), "verify-result.schema.json")


def _validate(doc: object, schema_name: str) -> None:
    """Validate against the committed JSON Schema (docs/formats), with the schema's own rules."""
    from zkmargin.formats.schema import MODELS, schema_text

    model = MODELS[schema_name]
    docs = Path(__file__).resolve().parent.parent / "docs" / "formats"
    assert (docs / schema_name).read_text() == schema_text(model)
    model.model_validate(doc)
    schema = json.loads(schema_text(model))
    _check_schema(doc, schema, schema.get("$defs", {}))


def _check_schema(doc: object, schema: dict[str, object], defs: dict[str, object]) -> None:
    """A small structural check of a document against a pydantic JSON Schema: types, required
    properties and no unknown ones (pydantic produced the schema; this checks the output)."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        _check_schema(doc, defs[name], defs)  # type: ignore[arg-type]
        return
    if "anyOf" in schema:
        errors = 0
        for option in schema["anyOf"]:  # type: ignore[attr-defined]
            try:
                _check_schema(doc, option, defs)
            except AssertionError:
                errors += 1
        assert errors < len(schema["anyOf"]), (doc, schema)  # type: ignore[arg-type]
        return
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if kind == "integer":
        assert isinstance(doc, int) and not isinstance(doc, bool)
    elif kind == "number":
        assert isinstance(doc, (int, float)) and not isinstance(doc, bool)
    elif kind in types:
        assert isinstance(doc, types[kind]), (doc, kind)  # type: ignore[arg-type]
    if kind == "object":
        assert isinstance(doc, dict)
        props = schema.get("properties", {})
        for key in schema.get("required", []):  # type: ignore[attr-defined]
            assert key in doc, key
        for key, value in doc.items():
            assert key in props, key  # type: ignore[operator]
            _check_schema(value, props[key], defs)  # type: ignore[index]
    if kind == "array":
        assert isinstance(doc, list)
        for item in doc:
            _check_schema(item, schema.get("items", {}), defs)  # type: ignore[arg-type]
    if "const" in schema:
        assert doc == schema["const"]


@pytest.mark.skipif(
    CHROMIUM is None and not REQUIRE_BROWSER,
    reason="Chromium is not installed (apt-get install chromium): the report's browser test "
    "did not run",
)
def test_the_report_renders_in_a_real_browser(pub: dict[str, Path], tmp_path: Path) -> None:
    """Debian's Chromium, headless, loads the page from a file: no console error, no request to
    anything but the page itself, the verdict and the plots on screen, and a screenshot."""
    assert CHROMIUM is not None, "CI requires the browser test, but chromium is not on PATH"
    from playwright.sync_api import ConsoleMessage, sync_playwright

    page_path = tmp_path / "audit.html"
    r = run("exchange", "verify", pub["pub"], "--workers", "1", "--report", page_path,
            "--venue-key", pub["key"])  # fmt: skip
    assert r.exit_code == 0, r.output
    console: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})

            def on_console(m: ConsoleMessage) -> None:
                if m.type in ("error", "warning"):
                    console.append(f"{m.type}: {m.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_path.as_uri(), wait_until="load")
            assert page.locator(".verdict").inner_text() == "VALID"
            assert page.locator("figure svg").count() >= 2
            body = page.locator("body").inner_text()
            assert "root hash" in body and "Report" in body
            shot = tmp_path / "audit.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert console == []
    assert requests == [page_path.as_uri()]
