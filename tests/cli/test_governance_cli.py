"""Governance through the command line: ``org new``, ``node new``, ``gov ...`` and ``freeze``.

The local commands and the refusals that need no node run in-process (``main``); the failure path
of a ledger command runs against ``httpx.MockTransport`` standing for a node. One end-to-end test
runs the flow of the governance acceptance check with real node processes, every command as a
subprocess: a new organisation and node join by vote and become a validator, a double vote and an
outsider are refused, the supervisor freezes an account and the committee unfreezes it. Every wait
is bounded and ``down`` runs in a ``finally``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_helpers import one_line

from alliance import codec
from alliance.abi import gov
from alliance.cli.gov_actions import roles_of
from alliance.cli.main import main
from alliance.crypto.keys import AccountKey
from alliance.ledger.transaction import Transaction
from alliance.node.bootstrap import load_alliance
from alliance.sdk import Client


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in args else out), err


# --- local commands --------------------------------------------------------------------------------


def test_org_new_then_node_new(chain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, org, _ = run(capsys, "org", "new", "--name", "org5", "--dir", str(chain), "--json")
    assert code == 0
    assert org["org"] == "org5" and org["member"] is False
    assert org["admin"]["name"] == "org5-admin" and org["admin"]["address"].startswith("0x")
    code, keys, _ = run(capsys, "keys", "list", "--dir", str(chain), "--json")
    assert {"name": "org5-admin", "address": org["admin"]["address"]} in keys

    args = ("node", "new", "--json", "--name", "node5", "--org", "org5", "--dir", str(chain))
    code, node, _ = run(capsys, *args)
    assert code == 0
    assert (node["name"], node["org"], node["validator"]) == ("node5", "org5", False)
    layout = load_alliance(chain)
    assert [n.name for n in layout.nodes] == ["node0", "node1", "node5"]
    assert node["api"] == layout.api_url(layout.node("node5")) and len(node["node_id"]) == 64
    assert Path(node["home"], "config.toml").exists()

    code, text, _ = run(capsys, "org", "new", "--name", "org6", "--dir", str(chain))
    assert code == 0 and "not a member yet" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["org", "new", "--name", "org0"], "already has an organisation named 'org0'"),
        (["org", "new", "--name", "no spaces"], "organisation name"),
        (["org", "new"], "--name"),
        (["node", "new", "--org", "org9", "--name", "node9"], "no organisation 'org9'"),
        (["node", "new", "--org", "org0", "--name", "node1"], "already has a node named 'node1'"),
        (["gov", "vote", "--proposal", "1", "--from", "org0-admin"], "--yes or --no"),
        (["gov", "vote", "--proposal", "0", "--yes", "--from", "org0-admin"], "--proposal"),
        (["gov", "propose", "add-member", "--org", "org9", "--from", "org0-admin"], "no CA certificate"),
        (["gov", "propose", "add-validator", "--node", "node9", "--from", "org0-admin"], "no node named"),
        (["gov", "propose", "freeze", "--account", "nobody", "--reason", "r", "--from", "supervisor"],
         "neither an address"),
        (["gov", "propose", "set-param", "--name", "x" * 100, "--value", "1", "--from", "org0-admin"],
         "invalid arguments"),
        (["freeze", "--account", "dev", "--reason", "r" * 501, "--from", "supervisor"], "invalid arguments"),
        (["gov", "propose", "kill-everyone", "--from", "org0-admin"], "kill-everyone"),
        (["freeze", "--account", "dev", "--reason", "r", "--from", "ghost"], "no key named 'ghost'"),
        (["gov", "show", "zero"], "ID"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(
    chain: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, _, err = run(capsys, *args, "--dir", str(chain))
    assert code == 2
    assert needle in one_line(err)


def test_ledger_commands_without_a_running_node_fail_operationally(
    chain: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ["gov", "propose", "unfreeze", "--account", "dev", "--from", "org0-admin"],
        ["gov", "show", "1"],
        ["gov", "list"],
        ["gov", "members"],
        ["freeze", "--account", "dev", "--reason", "r", "--from", "supervisor"],
    ):
        code, _, err = run(capsys, *args, "--dir", str(chain))
        assert code == 1, args
        assert "no node of the alliance" in one_line(err)


# --- pieces -------------------------------------------------------------------------------------------


def test_roles_of_splits_trims_and_dedupes() -> None:
    assert roles_of("auditor, admin,,auditor") == ["admin", "auditor"]
    assert roles_of("") == []


Handler = Callable[[httpx.Request], httpx.Response]


def fake_node(receipt_status: str, error: str, seen: list[Transaction]) -> Handler:
    """A node answering status, accepting any transaction, and committing it with this receipt."""
    tx_hash = "ab" * 32

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/status":
            return httpx.Response(200, json={
                "chain_id": "fake", "node": "n", "org": "o", "node_id": "00" * 32, "genesis_hash": "00" * 32,
                "height": 40, "block_hash": "00" * 32, "app_hash": "00" * 32, "time_ms": 0,
                "validator": True, "round": 0, "syncing": False, "validators": [], "peers": [],
                "mempool": {"txs": 0, "bytes": 0}, "tx_window_blocks": 100,
            })
        if path == "/v1/txs":
            seen.append(codec.decode(Transaction, bytes.fromhex(json.loads(request.content)["tx"])))
            return httpx.Response(202, json={"hash": tx_hash, "accepted": True})
        if path == f"/v1/txs/{tx_hash}/wait":
            return httpx.Response(200, json={
                "hash": tx_hash, "status": receipt_status, "ok": receipt_status == "ok", "height": 41,
                "index": 0, "gas_used": 1, "error": error, "events": [],
            })
        return httpx.Response(404, json={"code": "not_found", "detail": path})

    return handle


def test_a_refused_vote_names_the_receipts_code() -> None:
    seen: list[Transaction] = []
    handler = fake_node("already_voted", "org1 has already voted on proposal 7", seen)
    with Client("http://node.test", transport=httpx.MockTransport(handler)) as client, \
            pytest.raises(gov.AlreadyVoted) as caught:
        client.vote(AccountKey.generate(), 7, yes=True)
    assert caught.value.code == "already_voted"
    assert "org1 has already voted on proposal 7 (transaction " + "ab" * 32 in caught.value.message
    [tx] = seen  # signed for the chain's id, within half the window, as a gov.vote call
    assert (tx.body.chain_id, tx.body.valid_until) == ("fake", 90)
    assert (tx.body.call.target, tx.body.call.method) == ("gov", "vote")
    assert codec.decode(gov.VoteArgs, tx.body.call.args) == gov.VoteArgs(proposal=7, yes=True)


# --- end to end -----------------------------------------------------------------------------------------


def alliance(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alliance.cli", *args],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )


def cli(*args: str, timeout_s: float = 120) -> Any:
    done = alliance(*args, "--json", timeout_s=timeout_s)
    assert done.returncode == 0, f"alliance {' '.join(args)} failed: {done.stderr.strip()[-2000:]}"
    return json.loads(done.stdout)


def refused(*args: str) -> str:
    """Run a command that the chain must refuse; its one-line error."""
    done = alliance(*args, "--json")
    assert done.returncode == 1, f"alliance {' '.join(args)}: {done.returncode} {done.stdout} {done.stderr}"
    return one_line(done.stderr)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.5)


@pytest.mark.timeout(400)
def test_an_organisation_joins_validates_and_the_committee_governs(tmp_path: Path) -> None:
    directory = str(tmp_path / "chain")
    try:
        governance_flow(directory)
    finally:
        alliance("down", "--dir", directory, timeout_s=60)


def governance_flow(d: str) -> None:
    def a(*args: str) -> Any:
        return cli(*args, "--dir", d)

    def no(*args: str) -> str:
        return refused(*args, "--dir", d)

    def vote_yes(proposal: str, org: str) -> Any:
        return a("gov", "vote", "--proposal", proposal, "--yes", "--from", f"{org}-admin")

    a("up", "--nodes", "4")
    a("org", "new", "--name", "org4")
    node4 = a("node", "new", "--org", "org4", "--name", "node4")
    assert [n["started"] for n in a("up")["nodes"]] == [False] * 4 + [True]
    # org4 is not a member: node4's connections are refused, so it cannot sync.
    status = a("status")
    assert status["nodes"][4]["height"] == 0 and status["height"] >= 1

    proposed = a("gov", "propose", "add-member", "--org", "org4", "--from", "org0-admin")
    pid = str(proposed["proposal"])
    assert (proposed["kind"], proposed["status"]) == ("add-member", "open")
    assert vote_yes(pid, "org1")["status"] == "open"
    assert a("gov", "vote", "--proposal", pid, "--from", "org2-admin", "--yes")["status"] == "passed"
    shown = a("gov", "show", pid)
    assert shown["status"] == "passed" and [v["org"] for v in shown["votes"]] == ["org0", "org1", "org2"]
    assert "voting_closed" in no("gov", "vote", "--proposal", pid, "--yes", "--from", "org1-admin")
    # Now a member: node4 connects and syncs as an observer.
    wait_for("node4 syncs", lambda: (a("status")["nodes"][4]["height"] or 0) >= 3, 30)

    vid = str(a("gov", "propose", "add-validator", "--node", "node4", "--from", "org0-admin")["proposal"])
    vote_yes(vid, "org1")
    # A second vote by the same member while the proposal is open (five members: four votes needed).
    assert "already_voted" in no("gov", "vote", "--proposal", vid, "--no", "--from", "org1-admin")
    vote_yes(vid, "org2")
    assert vote_yes(vid, "org3")["status"] == "passed"
    wait_for("five validators", lambda: len(a("status")["validators"]) == 5, 30)

    def node4_signs() -> bool:
        block = a("query", "block", "latest")
        return node4["node_id"] in {s["node_id"] for s in block["certificate"]["signatures"]}

    wait_for("node4's signature in a commit certificate", node4_signs, 30)
    members = a("gov", "members")  # GET /v1/gov's answer
    assert [m["org"] for m in members["members"]] == ["org0", "org1", "org2", "org3", "org4"]
    assert {v["name"]: v["power"] for v in members["validators"]}["node4"] == 10
    assert node4["node_id"] in {n["node_id"] for n in members["nodes"]}

    # An outsider may neither propose nor vote; an admin may not freeze directly (the supervisor may).
    a("keys", "new", "mallory")
    outsider = ("gov", "propose", "set-param", "--name", "block_txs_max", "--value", "1", "--from", "mallory")
    assert "permission_denied" in no(*outsider)
    assert "permission_denied" in no("gov", "vote", "--proposal", vid, "--yes", "--from", "mallory")
    assert "permission_denied" in no("freeze", "--account", "dev", "--reason", "no", "--from", "org0-admin")

    transfer = ("tx", "transfer", "--from", "dev", "--to", "mallory", "--amount", "5", "--wait")
    assert a(*transfer)["status"] == "ok"
    assert a("freeze", "--account", "dev", "--reason", "test check", "--from", "supervisor")["status"] == "ok"
    assert "account_frozen" in no(*transfer)
    uid = str(a("gov", "propose", "unfreeze", "--account", "dev", "--from", "org0-admin")["proposal"])
    vote_yes(uid, "org1")
    assert vote_yes(uid, "org2")["status"] == "passed"  # more than half of five
    assert a(*transfer)["status"] == "ok"

    # The new member's admin (org4-admin, named by add-member) was made admin when org4 joined.
    own = a("gov", "propose", "set-param", "--name", "voting_period_blocks", "--value", "500",
            "--from", "org4-admin")
    assert (own["kind"], own["status"]) == ("set-param", "open")
    assert a("gov", "show", str(own["proposal"]))["proposer_org"] == "org4"

    listed = [(p["id"], p["kind"], p["status"]) for p in a("gov", "list")]
    assert listed == [
        (1, "add-member", "passed"), (2, "add-validator", "passed"), (3, "unfreeze", "passed"),
        (4, "set-param", "open"),
    ]
