"""Signers and an in-process EVM for the chain and proof-of-assets tests.

The signers use coincurve keys the tests generate (they are what a custodian's wallet does);
the EVM is eth-tester on py-evm behind web3's EthereumTesterProvider, with the ERC-20 in
``contracts/token.vy`` compiled by vyper: nothing is mocked.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from coincurve import PrivateKey
from web3 import EthereumTesterProvider, Web3

from zkmargin.chain import bitcoin as btc

TOKEN_SOURCE = Path(__file__).parent / "contracts" / "token.vy"

HEADER_BASE = {"p2pkh-uncompressed": 27, "p2pkh": 31, "p2sh-p2wpkh": 35, "p2wpkh": 39}


def key(seed: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(b"zkmargin test key %d" % seed).digest())


def sign_bip137(k: PrivateKey, message: str, form: str = "p2wpkh") -> str:
    raw = k.sign_recoverable(btc.message_hash(message), hasher=None)
    header = HEADER_BASE[form] + raw[64]
    return base64.b64encode(bytes([header]) + raw[:64]).decode()


def sign_bip322_p2wpkh(k: PrivateKey, message: str, chain: str = "bitcoin") -> str:
    pub = k.public_key.format()
    addr = btc.decode_address(btc.p2wpkh_address(pub, chain), chain)
    tx = btc.to_sign(addr.script_pubkey(), message)
    code = b"\x76\xa9\x14" + addr.program + b"\x88\xac"
    der = k.sign(btc.bip143_sighash(tx, code, 0, 1), hasher=None)
    return btc.bip322_witness([der + b"\x01", pub])


def even_key(seed: int) -> PrivateKey:
    """A key whose public point has an even y (a BIP-340 internal key as written)."""
    k = key(seed)
    while k.public_key.format()[0] != 2:
        seed += 1000
        k = key(seed)
    return k


def taproot_secret(k: PrivateKey) -> PrivateKey:
    """The tweaked secret d + H_TapTweak(P) of a BIP-86 key (k's point has an even y)."""
    internal = k.public_key.format()[1:]
    return k.add(btc.tagged_hash("TapTweak", internal))


def sign_bip322_p2tr(k: PrivateKey, message: str, chain: str = "bitcoin") -> str:
    addr = btc.decode_address(btc.p2tr_address(k.public_key.format()[1:], chain), chain)
    spk = addr.script_pubkey()
    digest = btc.bip341_sighash(btc.to_sign(spk, message), spk, 0, 0)
    return btc.bip322_witness([taproot_secret(k).sign_schnorr(digest, b"\x01" * 32)])


@functools.cache
def token_artifacts() -> tuple[list[dict[str, Any]], str]:
    import vyper

    out = vyper.compile_code(TOKEN_SOURCE.read_text(), output_formats=["abi", "bytecode"])
    return out["abi"], out["bytecode"]


@dataclass
class Evm:
    w3: Web3

    @property
    def accounts(self) -> list[str]:
        return list(self.w3.eth.accounts)

    def deploy_token(self, decimals: int) -> Any:
        abi, bytecode = token_artifacts()
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        tx = factory.constructor(decimals).transact({"from": self.accounts[0]})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=abi)

    def mint(self, token: Any, to: str, amount: int) -> None:
        tx = token.functions.mint(to, amount).transact({"from": self.accounts[0]})
        self.w3.eth.wait_for_transaction_receipt(tx)

    def send(self, to: str, wei: int) -> None:
        tx = self.w3.eth.send_transaction({"from": self.accounts[0], "to": to, "value": wei})
        self.w3.eth.wait_for_transaction_receipt(tx)


def new_evm() -> Evm:
    return Evm(Web3(EthereumTesterProvider()))


@contextmanager
def garbage_node(answer: bytes) -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that answers every request with ``answer``: a node that
    answers garbage. Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
