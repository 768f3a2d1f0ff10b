"""Fuzz targets: every decoder and reader of untrusted input, each a function of bytes.

The only acceptable outcomes are a correct result or the project's own error
(:class:`~zkmargin.errors.ZkMarginError`); anything else (an ``IndexError``, a
``RecursionError``, a codec error, a crash) is a bug. ``tests/test_fuzz.py`` runs these with
Hypothesis in ``make test``; ``fuzz/run.py`` runs them coverage-guided with atheris
(``make fuzz``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from zkmargin import group, rangeproof, sigma
from zkmargin.attest import bls
from zkmargin.attest import statement as stm
from zkmargin.auditor import verify_margin_proofs
from zkmargin.circuit.compiler import SlotSpec, compile_instance, parse_circuit
from zkmargin.errors import ZkMarginError
from zkmargin.formats.jsonfile import model_from_json, parse_json
from zkmargin.formats.statement import AccountOpenings, AccountStatement, MarginProofFile
from zkmargin.group import pairing
from zkmargin.margin.market import compile_market, load_market, snapshot_from_json
from zkmargin.margin.table_io import load_table
from zkmargin.rangeproof import RangeProof
from zkmargin.transcript import sigma_tag

ROOT = Path(__file__).resolve().parent.parent
TRADER = ROOT / "examples" / "trader"
MARKET_FILE = TRADER / "market.json"
MARKET = load_market(MARKET_FILE)
_TMP = Path(tempfile.mkdtemp(prefix="zkmargin-fuzz-"))

#: What a target may raise: the project's own errors.
ALLOWED: tuple[type[BaseException], ...] = (ZkMarginError,)


def point(data: bytes) -> None:
    group.decode_point(data, allow_identity=bool(data[:1] == b"\xc0"))


def scalar(data: bytes) -> None:
    group.decode_scalar(data)


def g2_point(data: bytes) -> None:
    pairing.decode_g2(data, allow_identity=True)


def bls_signature(data: bytes) -> None:
    pk, msg, sig = data[:48], data[48:80], data[80:176]
    assert bls.verify(pk, msg, sig) in (True, False)


def range_proof(data: bytes) -> None:
    if len(data) < 2:
        return
    n = rangeproof.BIT_WIDTHS[data[0] % 4]
    m = 1 + data[1] % 4
    proof = RangeProof.from_bytes(data[2:], n, m)
    assert rangeproof.verify(proof, [group.generator()] * m, n, b"fuzz") is False


def sigma_relation(data: bytes) -> None:
    cut = data[0] if data else 0
    relation = sigma.deserialize_relation(data[1 : 1 + cut * 4])
    narg = data[1 + cut * 4 :]
    assert sigma.verify_batchable(sigma_tag("fuzz", "DSFS"), relation, narg) in (True, False)
    assert sigma.verify_compact(sigma_tag("fuzz", "CMPT"), relation, narg) in (True, False)


def json_text(data: bytes) -> None:
    parse_json(data, "fuzz.json")


def market_json(data: bytes) -> None:
    compile_market(snapshot_from_json(parse_json(data, "fuzz.json"), "fuzz.json"), "fuzz.json")


def _file(data: bytes, suffix: str) -> Path:
    path = _TMP / f"input{suffix}"
    path.write_bytes(data)
    return path


def accounts_json(data: bytes) -> None:
    load_table(_file(data, ".json"), MARKET)


def accounts_csv(data: bytes) -> None:
    load_table(_file(data, ".csv"), MARKET)


def accounts_parquet(data: bytes) -> None:
    load_table(_file(data, ".parquet"), MARKET)


def statement_json(data: bytes) -> None:
    st = model_from_json(parse_json(data, "fuzz.json"), AccountStatement, "fuzz.json")
    stm.statement_points(st)
    stm.verify_signature(st)


def openings_json(data: bytes) -> None:
    model_from_json(parse_json(data, "fuzz.json"), AccountOpenings, "fuzz.json")


def margin_proof_json(data: bytes) -> None:
    model_from_json(parse_json(data, "fuzz.json"), MarginProofFile, "fuzz.json")
    verdicts = verify_margin_proofs([_file(data, ".json")], market=MARKET_FILE)
    assert all(isinstance(v.valid, bool) for v in verdicts)


def circuit_toml(data: bytes) -> None:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return  # the loader refuses non-UTF-8 files before parsing (tested apart)
    circuit = parse_circuit(text, "fuzz.toml")
    compile_instance(
        circuit, MARKET, (SlotSpec("cash", "", 64, True),), 1_000_000, trusted_slots=False
    )


EXCHANGE = ROOT / "examples" / "exchange"
EXCHANGE_MARKET = compile_market(
    snapshot_from_json(parse_json((EXCHANGE / "market.json").read_bytes(), "m"), "m")
)


def reserves_json(data: bytes) -> None:
    from zkmargin.exchange import load_reserves
    from zkmargin.liabilities.leaf import liability_columns

    columns = liability_columns(EXCHANGE_MARKET)
    load_reserves(_file(data, ".json"), columns, venue="fuzz", epoch=7)


def inclusion_json(data: bytes) -> None:
    from zkmargin.trader import verify_inclusion

    rep = verify_inclusion(_file(data, ".json"), root_hash="00" * 32)
    assert isinstance(rep.valid, bool)


def publication_sqlite(data: bytes) -> None:
    from zkmargin.liabilities.audit import audit
    from zkmargin.liabilities.parallel import InProcess

    rep = audit(_file(data, ".sqlite"), venue_key=None, runner=InProcess())
    assert isinstance(rep.valid, bool)


BTC_CHAIN = "bitcoin-regtest"


def utxo_snapshot(data: bytes) -> None:
    from zkmargin.chain.utxo import parse_snapshot

    snap = parse_snapshot(data)
    assert all(u.sats >= 0 for u in snap.outputs)


def bitcoin_address(data: bytes) -> None:
    from zkmargin.chain import bitcoin as btc

    text = data.decode("latin-1")
    for chain in btc.NETWORKS:
        with contextlib.suppress(*ALLOWED):
            addr = btc.decode_address(text, chain)
            assert addr.encode() == text


def bitcoin_signature(data: bytes) -> None:
    """A signature text (BIP-137, BIP-322 or a multisig's) against the example's addresses."""
    from zkmargin.chain import bitcoin as btc
    from zkmargin.formats.assets import CustodianKeysFile
    from zkmargin.formats.jsonfile import read_model

    keys = read_model(EXCHANGE / "custodians.json", CustodianKeysFile)
    text = data.decode("latin-1")
    for k in keys.keys:
        if k.chain is not None:  # the EVM account
            continue
        addr = btc.decode_address(k.address, keys.chain)
        with contextlib.suppress(*ALLOWED):
            assert btc.verify_bip137(addr, "m", text) in (True, False)
        with contextlib.suppress(*ALLOWED):
            if addr.kind == "p2wsh":  # a witness script (2-of-3: 105 bytes), then a signature
                signature = data[105:].decode("latin-1")
                assert isinstance(btc.verify_multisig(addr, data[:105], "m", [signature]), str)
            else:
                assert btc.verify_bip322_simple(addr, "m", text) in (True, False)


def proof_of_assets_json(data: bytes) -> None:
    from zkmargin.formats.assets import ProofOfAssets
    from zkmargin.liabilities.assets import verify_assets
    from zkmargin.liabilities.store import Publication

    doc = model_from_json(parse_json(data, "fuzz"), ProofOfAssets, "fuzz")
    if not (_TMP / "seeds" / "x.sqlite").exists():
        seeds()
    with Publication.open(_TMP / "seeds" / "x.sqlite") as pub:
        root, header = pub.root(), pub.header()
    verify_assets(doc, root, list(zip(header.columns, header.decimals, strict=True)))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "point": point,
    "scalar": scalar,
    "g2_point": g2_point,
    "bls_signature": bls_signature,
    "range_proof": range_proof,
    "sigma_relation": sigma_relation,
    "json_text": json_text,
    "market_json": market_json,
    "accounts_json": accounts_json,
    "accounts_csv": accounts_csv,
    "accounts_parquet": accounts_parquet,
    "statement_json": statement_json,
    "openings_json": openings_json,
    "margin_proof_json": margin_proof_json,
    "circuit_toml": circuit_toml,
    "reserves_json": reserves_json,
    "inclusion_json": inclusion_json,
    "publication_sqlite": publication_sqlite,
    "utxo_snapshot": utxo_snapshot,
    "bitcoin_address": bitcoin_address,
    "bitcoin_signature": bitcoin_signature,
    "proof_of_assets_json": proof_of_assets_json,
}


def run(name: str, data: bytes) -> None:
    """Run one target; the project's own errors are a correct outcome."""
    with contextlib.suppress(*ALLOWED):
        TARGETS[name](data)


def seeds() -> dict[str, list[bytes]]:
    """Valid inputs of every target, for mutation (built once: keys, a statement, a proof)."""
    from zkmargin.circuit.compiler import load_circuit  # noqa: F401  (warms the package data)
    from zkmargin.exchange import venue_attest, venue_keygen
    from zkmargin.group import encode_point, encode_scalar
    from zkmargin.margin.table_io import save_table
    from zkmargin.trader import prove_margin

    d = _TMP / "seeds"
    d.mkdir(exist_ok=True)
    key, _ = venue_keygen(d / "v.key", "fuzz")
    venue_attest(key=key, market=MARKET_FILE, accounts=TRADER / "account.json", out_dir=d)
    prove_margin(
        market=MARKET_FILE,
        statement=d / "alice.statement.json",
        openings=d / "alice.openings.json",
        out=d / "proof.json",
    )
    table = load_table(TRADER / "account.json", MARKET)
    save_table(table, MARKET, d / "a.csv")
    save_table(table, MARKET, d / "a.parquet")
    g = group.generator()
    sk = bls.key_gen(bytes(32))
    msg = bytes(range(32))
    proof, _ = rangeproof.prove([5], [7], 8, b"fuzz")
    b = sigma.RelationBuilder()
    (x,) = b.witness("x")
    e = b.element("X", group.mul(g, 3))
    b.equation([(1, e)], [(1, x, 0)])
    rel = b.build().serialize()
    rel = rel + bytes((-len(rel)) % 4)
    pub = _tiny_publication(d)
    return {
        "point": [encode_point(g), encode_point(group.identity())],
        "scalar": [encode_scalar(5)],
        "g2_point": [pairing.encode_g2(pairing.g2_generator())],
        "bls_signature": [bls.sk_to_pk(sk) + msg + bls.sign(sk, msg)],
        "range_proof": [bytes([0, 0]) + proof.to_bytes()],
        "sigma_relation": [bytes([len(rel) // 4]) + rel + bytes(80)],
        "json_text": [MARKET_FILE.read_bytes()],
        "market_json": [MARKET_FILE.read_bytes()],
        "accounts_json": [(TRADER / "account.json").read_bytes()],
        "accounts_csv": [(d / "a.csv").read_bytes()],
        "accounts_parquet": [(d / "a.parquet").read_bytes()],
        "statement_json": [(d / "alice.statement.json").read_bytes()],
        "openings_json": [(d / "alice.openings.json").read_bytes()],
        "margin_proof_json": [(d / "proof.json").read_bytes()],
        "circuit_toml": [(ROOT / "circuits" / "cross.toml").read_bytes()],
        "reserves_json": [(EXCHANGE / "reserves.json").read_bytes()],
        "inclusion_json": [(d / "mine.json").read_bytes()],
        "publication_sqlite": [pub.read_bytes()],
        **_asset_seeds(d),
    }


def _asset_seeds(d: Path) -> dict[str, list[bytes]]:
    """Seeds of the chain targets: the example's snapshot, addresses, signatures and a proof
    of assets for the tiny publication."""
    from coincurve import PrivateKey

    from zkmargin.chain import bitcoin as btc
    from zkmargin.chain import signing
    from zkmargin.chain.utxo import parse_snapshot
    from zkmargin.formats.assets import CustodianKeysFile, SignaturesFile, WalletsFile
    from zkmargin.formats.jsonfile import read_model
    from zkmargin.liabilities.assets import prove_assets, reserves_message
    from zkmargin.liabilities.store import Publication

    keys = read_model(EXCHANGE / "custodians.json", CustodianKeysFile)
    keys = keys.model_copy(update={"keys": [k for k in keys.keys if k.chain is None]})
    wallets = read_model(EXCHANGE / "wallets.json", WalletsFile)
    wallets = wallets.model_copy(
        update={"wallets": [w for w in wallets.wallets if w.chain == keys.chain]}
    )
    scan = EXCHANGE / "scantxoutset.json"
    snap = parse_snapshot(scan.read_bytes())
    heights = {keys.chain: snap.height}
    with Publication.open(d / "x.sqlite") as pub:
        root, header = pub.root(), pub.header()
    message = reserves_message(root, heights)
    secrets = [[PrivateKey(bytes.fromhex(s)) for s in k.secrets] for k in keys.keys]
    p2wpkh, p2tr, multi = (k.address for k in keys.keys)
    sigs = SignaturesFile.model_validate(
        {
            "signatures": [
                {
                    "chain": keys.chain,
                    "address": p2wpkh,
                    "scheme": "bip322-simple",
                    "signatures": [signing.sign_bip322_p2wpkh(secrets[0][0], message, keys.chain)],
                },
                {
                    "chain": keys.chain,
                    "address": p2tr,
                    "scheme": "bip322-simple",
                    "signatures": [signing.sign_bip322_p2tr(secrets[1][0], message, keys.chain)],
                },
                {
                    "chain": keys.chain,
                    "address": multi,
                    "scheme": "bip137",
                    "signatures": [
                        signing.sign_bip137(k, message, "p2pkh") for k in secrets[2][:2]
                    ],
                },
            ]
        }
    )
    columns = list(zip(header.columns, header.decimals, strict=True))
    doc = prove_assets(root, columns, wallets, sigs, heights, utxos={keys.chain: snap})
    script = wallets.wallets[2].witness_script
    assert script is not None
    multisig = sigs.signatures[2].signatures[0]
    return {
        "utxo_snapshot": [scan.read_bytes()],
        "bitcoin_address": [k.address.encode() for k in keys.keys]
        + [btc.p2pkh_address(secrets[0][0].public_key.format(), "bitcoin").encode()],
        "bitcoin_signature": [s.signatures[0].encode() for s in sigs.signatures]
        + [bytes.fromhex(script) + multisig.encode()],
        "proof_of_assets_json": [doc.model_dump_json().encode()],
    }


def _tiny_publication(d: Path) -> Path:
    """A publication of two example accounts (two leaves) and one user's inclusion file."""
    from zkmargin.exchange import exchange_inclusion, exchange_publish, venue_keygen

    lines = (EXCHANGE / "accounts.csv").read_text().splitlines()
    first_two = sorted({line.split(",")[0] for line in lines[1:]})[:2]
    rows = [lines[0]] + [line for line in lines[1:] if line.split(",")[0] in first_two]
    (d / "x.csv").write_text("\n".join(rows) + "\n")
    key, _ = venue_keygen(d / "x.key", "fuzz")
    exchange_publish(
        key=key,
        market=EXCHANGE / "market.json",
        accounts=d / "x.csv",
        reserves=EXCHANGE / "reserves.json",
        out=d / "x.sqlite",
        workers=1,
    )
    exchange_inclusion(
        publication=d / "x.sqlite",
        secrets=d / "x.sqlite.secrets",
        account=first_two[0].strip('"'),
        out=d / "mine.json",
    )
    return d / "x.sqlite"
