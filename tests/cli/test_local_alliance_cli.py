"""End to end through the command line: ``up`` four real node processes, transfer, query, heal, ``down``.

Every command runs as a subprocess, as a user runs it; every wait is bounded and ``down`` runs in a
``finally`` so no node outlives the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)


def cli(*args: str, timeout_s: float = 120) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "alliance.cli", *args, "--json"],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    assert done.returncode == 0, f"alliance {' '.join(args)} failed: {done.stderr.strip()[-2000:]}"
    assert done.stderr == "", done.stderr
    return json.loads(done.stdout)


def pid_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return False


def test_up_transfer_query_heal_down(tmp_path: Path) -> None:
    directory = str(tmp_path / "chain")
    try:
        scenario(directory)
    finally:
        subprocess.run([sys.executable, "-m", "alliance.cli", "down", "--dir", directory],
                       capture_output=True, timeout=60, check=False)


def scenario(directory: str) -> None:
    started = cli("up", "--dir", directory, "--nodes", "4")
    assert [n["started"] for n in started["nodes"]] == [True] * 4
    status = cli("status", "--dir", directory)
    assert status["height"] >= 1
    assert all(n["running"] and n["pid"] for n in status["nodes"])
    assert sorted(v["node"] for v in status["validators"]) == ["node0", "node1", "node2", "node3"]

    bob = cli("keys", "new", "bob", "--dir", directory)["address"]
    done = cli("tx", "transfer", "--from", "dev", "--to", bob, "--amount", "7", "--wait", "--dir", directory)
    assert done["status"] == "ok" and done["height"] >= 1 and len(done["hash"]) == 64
    pending = cli("tx", "transfer", "--amount", "5", "--to", "bob", "--dir", directory, "--from", "dev")
    assert pending["status"] == "pending" and pending["height"] is None
    committed = cli("query", "tx", done["hash"], "--dir", directory)
    assert committed["height"] == done["height"] and committed["ok"] is True

    deadline = time.monotonic() + 30
    while True:  # the second transfer was not waited for: every node must show both, soon
        balances = [cli("query", "account", bob, "--api", n["api"])["balance"] for n in status["nodes"]]
        if balances == [12] * 4:
            break
        assert time.monotonic() < deadline, f"balances on the nodes: {balances}"
        time.sleep(0.5)
    block = cli("query", "block", str(done["height"]), "--dir", directory)
    assert done["hash"] in block["txs"]

    # A killed node is restarted by ``up``; the others are left alone.
    victim = status["nodes"][1]
    os.kill(victim["pid"], signal.SIGKILL)
    assert pid_gone(victim["pid"], 10)
    assert not cli("status", "--dir", directory)["nodes"][1]["running"]
    healed = cli("up", "--dir", directory)
    assert [n["started"] for n in healed["nodes"]] == [False, True, False, False]
    assert [n["pid"] for n in healed["nodes"]][::2] == [n["pid"] for n in status["nodes"]][::2]

    pids = [n["pid"] for n in healed["nodes"]]
    assert cli("down", "--dir", directory)["stopped"] == ["node0", "node1", "node2", "node3"]
    assert all(pid_gone(pid, 5) for pid in pids)
    after = cli("status", "--dir", directory)
    assert not any(n["running"] for n in after["nodes"])
