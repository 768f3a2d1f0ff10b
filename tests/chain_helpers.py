"""Signers and an in-process EVM for the chain and proof-of-assets tests.

The signers use coincurve keys the tests generate (they are what a custodian's wallet does);
the EVM is eth-tester on py-evm behind web3's EthereumTesterProvider, with the ERC-20 in
``contracts/token.vy`` compiled by vyper: nothing is mocked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from coincurve import PrivateKey
from web3 import EthereumTesterProvider, Web3

from zkmargin.chain import signing
from zkmargin.chain.signing import sign_bip137, sign_bip322_p2wpkh

__all__ = ["sign_bip137", "sign_bip322_p2wpkh"]

TOKEN_SOURCE = Path(__file__).parent / "contracts" / "token.vy"


def key(seed: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(b"zkmargin test key %d" % seed).digest())


def even_key(seed: int) -> PrivateKey:
    """A key whose public point has an even y (a BIP-340 internal key as written)."""
    k = key(seed)
    while k.public_key.format()[0] != 2:
        seed += 1000
        k = key(seed)
    return k


def sign_bip322_p2tr(k: PrivateKey, message: str, chain: str = "bitcoin") -> str:
    return signing.sign_bip322_p2tr(k, message, chain, b"\x01" * 32)


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


def _quantities(value: Any) -> Any:
    """An eth-tester result as a node writes it: integers as hex quantities, bytes as hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _quantities(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_quantities(v) for v in value]
    return value


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 from a thread; yield the URL; shut it down after."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def rpc_server(w3: Web3) -> Iterator[str]:
    """eth-tester behind a JSON-RPC endpoint on 127.0.0.1, as an auditor's or exchange's node
    is reached (``--eth-rpc URL``): each request goes to the in-process EVM through the
    eth-tester provider's own request and result formatting. Yields its URL."""
    from web3.middleware import combine_middleware

    provider = w3.provider
    assert isinstance(provider, EthereumTesterProvider)
    call = combine_middleware(
        middleware=tuple(provider._middleware), w3=w3, provider_request_fn=provider.make_request
    )
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                response = dict(call(request["method"], request.get("params", [])))
            response["id"] = request.get("id")
            if "result" in response:
                response["result"] = _quantities(response["result"])
            body = json.dumps(response).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as url:
        yield url


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

    with _serving(Handler) as url:
        yield url
