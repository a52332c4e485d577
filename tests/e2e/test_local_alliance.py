"""End to end with real processes: ``alliance up`` four validators, then crash and restart them.

One scenario, in the order of the issue's acceptance: transfers commit; with one of four validators
killed (SIGKILL) under load the chain keeps committing; with two killed it stops without forking;
``alliance up`` restarts both and they catch up to the same head; every transaction acknowledged as
committed is on every node; an outsider's TLS connection is refused and logged while the node keeps
running; ``alliance down`` then ``alliance up`` resumes at the same height with the same state.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from alliance.crypto.certificates import create_org_ca, create_root_ca, issue_node_certificate
from alliance.crypto.keys import AccountKey, NodeKey, load_account_key
from alliance.errors import AllianceError
from alliance.p2p.tls import client_context, write_node_tls_files
from alliance.sdk import Client

pytestmark = pytest.mark.timeout(420)


def cli(*args: str, timeout_s: float = 120) -> dict | list:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-m", "alliance.cli", *args, "--json"],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    assert done.returncode == 0, f"alliance {' '.join(args)} failed: {done.stderr.strip()[-2000:]}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.25)


class Load:
    """Transfers from ``dev`` in a background thread; remembers every one acknowledged as committed."""

    def __init__(self, urls: Callable[[], list[str]], dev: AccountKey, to: bytes) -> None:
        self._urls = urls
        self._dev = dev
        self._to = to
        self.acknowledged: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            urls = self._urls()
            if not urls:
                time.sleep(0.2)
                continue
            turn += 1
            client = Client(urls[turn % len(urls)], timeout_s=5)
            try:
                view = client.transfer(self._dev, self._to, 1, wait=True)
                self.acknowledged.append(view.hash)
            except AllianceError:
                time.sleep(0.1)  # a node just died under us: the transfer was not acknowledged
            finally:
                client.close()


NODE_LOG_LINES_SHOWN = 80


def show_node_logs(directory: Path) -> None:
    """The end of each node's log, printed so that pytest shows it with a failure."""
    for log in sorted(directory.glob("nodes/*/node.log")):
        lines = log.read_text(errors="replace").splitlines()[-NODE_LOG_LINES_SHOWN:]
        print(f"--- {log.parent.name}/node.log (last {len(lines)} lines)", *lines, sep="\n")


def test_local_alliance_survives_crashes_and_restarts(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    try:
        scenario(directory, tmp_path)
    except BaseException:
        show_node_logs(directory)  # a rare failure here must leave its cause in the CI log
        raise
    finally:
        subprocess.run([sys.executable, "-m", "alliance.cli", "down", "--dir", str(directory)],
                       capture_output=True, timeout=60, check=False)


def scenario(directory: Path, tmp_path: Path) -> None:
    cli("up", "--dir", str(directory), "--nodes", "4")
    status = cli("status", "--dir", str(directory))
    assert isinstance(status, dict)
    nodes = {n["name"]: n for n in status["nodes"]}
    assert all(n["running"] for n in nodes.values()) and len(nodes) == 4
    bob = AccountKey.generate().address
    bob_hex = "0x" + bob.hex()
    done = cli("tx", "transfer", "--from", "dev", "--to", bob_hex, "--amount", "7", "--wait",
               "--dir", str(directory))
    assert isinstance(done, dict) and done["status"] == "ok"
    eventually(lambda: all(balance(n["api"], bob) == 7 for n in nodes.values()), "the balance on every node")

    dev = load_account_key(directory / "keys" / "dev.key")
    alive = dict(nodes)
    with Load(lambda: [n["api"] for n in alive.values()], dev, bob) as load:
        time.sleep(2)
        os.kill(nodes["node1"]["pid"], signal.SIGKILL)
        del alive["node1"]
        before = len(load.acknowledged)
        eventually(lambda: len(load.acknowledged) >= before + 5, "commits with one of four validators down")
    assert load.acknowledged

    os.kill(nodes["node2"]["pid"], signal.SIGKILL)
    del alive["node2"]
    time.sleep(2)
    halted = max(height(n["api"]) for n in alive.values())
    time.sleep(5)
    assert max(height(n["api"]) for n in alive.values()) <= halted + 1, "committed with two of four down"

    cli("up", "--dir", str(directory))
    status = cli("status", "--dir", str(directory))
    assert isinstance(status, dict)
    nodes = {n["name"]: n for n in status["nodes"]}
    last = cli("tx", "transfer", "--from", "dev", "--to", bob_hex, "--amount", "1", "--wait",
               "--dir", str(directory))
    assert isinstance(last, dict)
    top = last["height"]
    eventually(lambda: all(height(n["api"]) >= top for n in nodes.values()), "every node to catch up")
    for h in range(1, top + 1):
        hashes = {block_hash(n["api"], h) for n in nodes.values()}
        assert len(hashes) == 1, f"nodes disagree at height {h}: {hashes}"
    for name, node in nodes.items():
        client = Client(node["api"])
        try:
            for tx_hash in [*load.acknowledged, bytes.fromhex(last["hash"])]:
                assert client.tx(tx_hash).height is not None, f"{name} lacks acknowledged tx {tx_hash.hex()}"
        finally:
            client.close()

    outsider_is_refused(directory, nodes["node0"])

    expected = balance(nodes["node0"]["api"], bob)
    status = cli("status", "--dir", str(directory))
    assert isinstance(status, dict)
    before_down = status["height"]
    cli("down", "--dir", str(directory))
    cli("up", "--dir", str(directory))
    status = cli("status", "--dir", str(directory))
    assert isinstance(status, dict)
    assert status["height"] >= before_down
    assert all(balance(n["api"], bob) == expected for n in status["nodes"])


def outsider_is_refused(directory: Path, node: dict) -> None:  # type: ignore[type-arg]
    """A node certificate from another alliance's root: the TLS handshake fails, the node logs it."""
    root = create_root_ca("outsiders")
    org = create_org_ca(root, "org0")
    files = write_node_tls_files(
        directory.parent / "outsider", root.certificate, org.certificate,
        issue_node_certificate(org, NodeKey.generate().node_id),
    )
    context = client_context(files)
    host, port = node["p2p"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                tls.settimeout(5)
                data = tls.recv(1)  # TLS 1.3: the server's verdict on our certificate arrives as an alert
                assert data == b"", "an outsider got data over the link"
        except (ssl.SSLError, ConnectionResetError, OSError):
            pass
    log = directory / "nodes" / node["name"] / "node.log"
    eventually(lambda: "refus" in log.read_text(errors="replace").lower(), "the refusal in the log", 10)
    assert height(node["api"]) >= 1  # still serving


def balance(api: str, address: bytes) -> int:
    client = Client(api)
    try:
        return client.account(address).balance
    finally:
        client.close()


def height(api: str) -> int:
    client = Client(api, timeout_s=3)
    try:
        return client.status().height
    except AllianceError:
        return 0
    finally:
        client.close()


def block_hash(api: str, h: int) -> bytes:
    client = Client(api)
    try:
        return client.block(h).hash
    finally:
        client.close()
