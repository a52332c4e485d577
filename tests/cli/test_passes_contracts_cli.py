"""``alliance pass``, ``alliance gateway`` and ``alliance contract`` against a real node, and the
routes they read (``/v1/passes/...``, ``/v1/contracts/...``) as raw JSON.

A one-node alliance has one member, so a proposal passes in the transaction that makes it: a role
grant or a contract deployment is live as soon as ``gov propose`` or ``contract deploy`` returns.
The command line runs in a worker thread (it is synchronous), the node on the test's event loop.
Committee votes among several members are the acceptance scripts' (08, 09) and the SDK tests'.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import pytest
from cli_helpers import Cli

from alliance.abi import contracts as c
from alliance.cli.main import main
from alliance.crypto.keys import to_checksum_address
from alliance.testing.nodes import api_node, run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
DOC_HASH = hashlib.sha256(b"a document").hexdigest()


def keys_new(directory: Path, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["keys", "new", name, "--dir", str(directory), "--json"]) == 0
    address: str = json.loads(capsys.readouterr().out)["address"]
    return address


def test_passes_and_the_gateway_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = keys_new(tmp_path, "alice", capsys)
    bob = keys_new(tmp_path, "bob", capsys)

    async def scenario() -> None:
        async with api_node(tmp_path) as node, httpx.AsyncClient(base_url=node.url, timeout=30) as http:
            cli = Cli(tmp_path, node.url, capsys)
            for role in ("issuer", "gateway", "exchange"):
                await cli(
                    "gov",
                    "propose",
                    "grant-role",
                    "--account",
                    "org0-admin",
                    "--role",
                    role,
                    "--from",
                    "org0-admin",
                )

            created = await cli(
                "pass",
                "create",
                "--symbol",
                "PTS",
                "--name",
                "Points",
                "--rights",
                "1 point: 1 kg CO2 avoided",
                "--cap",
                "100",
                "--circulation",
                "none",
                "--redeemer-role",
                "exchange",
                "--lot-days",
                "30",
                "--from",
                "org0-admin",
            )
            assert (
                created["symbol"] == "PTS" and len(created["rights_hash"]) == 64 and created["status"] == "ok"
            )
            refused = await cli(
                "pass",
                "create",
                "--symbol",
                "PTS",
                "--name",
                "Again",
                "--rights",
                "x",
                "--from",
                "org0-admin",
                code=1,
            )
            assert refused.startswith("alliance: symbol_taken:"), refused
            assert (
                await cli(
                    "pass",
                    "create",
                    "--symbol",
                    "bad!",
                    "--name",
                    "x",
                    "--rights",
                    "x",
                    "--from",
                    "org0-admin",
                    code=2,
                )
            ).startswith("alliance: invalid arguments")

            await cli(
                "pass", "mint", "--symbol", "PTS", "--to", "alice", "--amount", "60", "--from", "org0-admin"
            )
            over = await cli(
                "pass",
                "mint",
                "--symbol",
                "PTS",
                "--to",
                "bob",
                "--amount",
                "41",
                "--from",
                "org0-admin",
                code=1,
            )
            assert over.startswith("alliance: cap_exceeded:"), over
            moved = await cli(
                "pass",
                "transfer",
                "--symbol",
                "PTS",
                "--to",
                "bob",
                "--amount",
                "1",
                "--from",
                "alice",
                code=1,
            )
            assert moved.startswith("alliance: non_transferable:"), moved
            await cli(
                "pass", "redeem", "--symbol", "PTS", "--at", "org0-admin", "--amount", "10", "--from", "alice"
            )

            balance = await cli("pass", "balance", "--symbol", "PTS", "--account", "alice")
            assert balance["balance"] == 50 and balance["account"] == alice
            assert balance["lots"][0]["amount"] == 50 and balance["lots"][0]["expires_at_ms"] > 0
            shown = await cli("pass", "show", "PTS")
            assert shown["cap"] == 100 and shown["circulation"] == "none" and shown["supply"] == 50
            assert shown["issuer_org"] == "org0" and shown["redeemed"] == 10 and shown["holders"] == 1
            listed = await cli("pass", "list")
            assert [v["scheme"]["symbol"] for v in listed["value"]] == ["PTS"]

            history = await cli("pass", "history", "PTS")
            names = [event["name"] for event in history["events"]]
            assert names[:2] == ["redeemed", "minted"] and "created" in names, names
            assert history["events"][1]["fields"]["amount"] == 60

            # The gateway: deposits credited once, withdrawals locked until settled, reconciled.
            await cli(
                "pass",
                "create",
                "--symbol",
                "CNY",
                "--name",
                "Yuan",
                "--rights",
                "0.01 CNY",
                "--minter-role",
                "gateway",
                "--from",
                "org0-admin",
            )
            await cli(
                "gateway",
                "deposit",
                "--symbol",
                "CNY",
                "--to",
                "alice",
                "--amount",
                "500",
                "--ref",
                "BANK-1",
                "--from",
                "org0-admin",
            )
            twice = await cli(
                "gateway",
                "deposit",
                "--symbol",
                "CNY",
                "--to",
                "alice",
                "--amount",
                "500",
                "--ref",
                "BANK-1",
                "--from",
                "org0-admin",
                code=1,
            )
            assert twice.startswith("alliance: reference_used:"), twice
            asked = await cli(
                "gateway",
                "withdraw",
                "--symbol",
                "CNY",
                "--amount",
                "200",
                "--to-external",
                "IBAN-1",
                "--from",
                "alice",
            )
            assert asked["withdrawal"] == 1
            report = await cli("gateway", "report", "--symbol", "CNY")
            assert (report["supply"], report["locked"], report["balanced"]) == (500, 200, True)
            await cli(
                "gateway",
                "confirm",
                "--symbol",
                "CNY",
                "--withdrawal",
                "1",
                "--ref",
                "PAID-1",
                "--from",
                "org0-admin",
            )
            report = await cli("gateway", "report", "--symbol", "CNY")
            assert (report["supply"], report["withdrawals_confirmed"], report["locked"]) == (300, 200, 0)
            capsys.readouterr()
            assert (
                await asyncio.to_thread(
                    main,
                    [
                        "gateway",
                        "report",
                        "--symbol",
                        "CNY",
                        "--csv",
                        "--api",
                        node.url,
                        "--dir",
                        str(tmp_path),
                    ],
                )
                == 0
            )
            lines = capsys.readouterr().out.splitlines()
            assert lines[0].startswith("kind,number,account,amount,reference")
            assert lines[1].split(",")[:5] == ["deposit", "1", alice, "500", "BANK-1"]
            assert lines[2].split(",")[:6] == ["withdrawal", "1", alice, "200", "PAID-1", "confirmed"]
            assert lines[-1].split(",")[0] == "supply" and "balanced" in lines[-1]

            # The routes the commands read, as raw JSON.
            holdings = (await http.get(f"/v1/accounts/{alice}/passes")).json()
            assert sorted(h["symbol"] for h in holdings["value"]) == ["CNY", "PTS"]
            holders = (await http.get("/v1/passes/PTS/holders")).json()
            assert [h["account"] for h in holders["value"]] == [alice]
            missing = await http.get("/v1/passes/NOPE")
            assert (
                missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
            )
            bad = await http.get("/v1/passes/PTS/history", params={"before": 0})
            assert bad.status_code in (400, 422) and bad.headers["content-type"] == "application/problem+json"
            paged = (
                await http.get("/v1/passes/PTS/history", params={"before": history["events"][0]["height"]})
            ).json()
            # Below the redemption's block: the mint and the creation, nothing newer.
            assert [e["name"] for e in paged["events"]] == ["minted", "created"]
            assert all(e["height"] < history["events"][0]["height"] for e in paged["events"])
            bob_holds = (await http.get(f"/v1/passes/PTS/holders/{bob}")).json()["value"]
            assert bob_holds["balance"] == 0  # the refused transfer and mint left him nothing

    run(scenario())


def test_contracts_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    escape = tmp_path / "escape.py"
    escape.write_text(
        "from alliance.contract import public\n@public\ndef run() -> int:\n"
        "    return len(().__class__.__base__.__subclasses__())\n"
    )
    bomb = tmp_path / "bomb.py"
    bomb.write_text(
        "from alliance.contract import public\n@public\ndef power(n: int) -> int:\n    return 2 ** n\n"
    )

    async def scenario() -> None:
        async with api_node(tmp_path) as node, httpx.AsyncClient(base_url=node.url, timeout=30) as http:
            cli = Cli(tmp_path, node.url, capsys)
            deployed = await cli(
                "contract",
                "deploy",
                str(EXAMPLES / "proof_of_existence.py"),
                "--name",
                "poe",
                "--from",
                "org0-admin",
            )
            assert deployed["status"] == "passed" and deployed["address"] == to_checksum_address(
                c.contract_address("poe")
            )
            called = await cli(
                "contract", "call", "poe", "register", "--args", json.dumps([DOC_HASH]), "--from", "dev"
            )
            assert called["status"] == "ok" and called["gas_used"] > 0 and called["result"] is None
            again = await cli(
                "contract",
                "call",
                "poe",
                "register",
                "--args",
                json.dumps([DOC_HASH]),
                "--from",
                "org0-admin",
                code=1,
            )
            assert again.startswith("alliance: contract_error:") and "already registered" in again, again
            verified = await cli("contract", "view", "poe", "verify", "--args", json.dumps([DOC_HASH]))
            owner, time_ms = verified["result"]
            assert owner == to_checksum_address(node.dev.address) and time_ms > 0

            wrong = await cli("contract", "call", "poe", "register", "--args", "[1]", "--from", "dev", code=2)
            assert "doc_hash" in wrong, wrong
            assert "JSON" in await cli("contract", "view", "poe", "verify", "--args", "[", code=2)
            unknown = await cli("contract", "view", "poe", "nothing", code=2)
            assert "no method 'nothing'" in unknown and "verify" in unknown, unknown

            refused = await cli(
                "contract", "deploy", str(escape), "--name", "esc", "--from", "org0-admin", code=2
            )  # refused by this machine's engine before anything is signed: bad input
            assert refused.startswith("alliance: line 4:") and "'_'" in refused, refused
            assert (await http.get("/v1/gov/proposals")).json()[-1]["action"][
                "name"
            ] == "poe"  # no proposal for esc

            await cli("contract", "deploy", str(bomb), "--name", "bomb", "--from", "org0-admin")
            stopped = await cli(
                "contract", "call", "bomb", "power", "--args", "[1000000000]", "--from", "dev", code=1
            )
            assert stopped.startswith("alliance: out_of_gas:"), stopped

            shown = await cli("contract", "show", "poe")
            assert shown["contract"]["version"] == 1
            assert {m["name"]: m["kind"] for m in shown["abi"]["methods"]} == {
                "register": "public",
                "verify": "view",
            }
            listed = await cli("contract", "list")
            assert sorted(v["name"] for v in listed["value"]) == ["bomb", "poe"]

            view = await http.get("/v1/contracts/poe/views/verify", params={"args": "zz"})
            assert (
                view.status_code in (400, 422) and view.headers["content-type"] == "application/problem+json"
            )
            missing = await http.get("/v1/contracts/nobody")
            assert missing.status_code == 404 and missing.json()["code"] == "not_found"
            assert "nobody" in missing.json()["detail"]

    run(scenario())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["pass", "mint", "--symbol", "PTS", "--to", "0x" + "11" * 20, "--amount", str(10**20),
          "--from", "dev"], "a number is beyond"),
        (["pass", "show", "PTS?x=1"], "is not a pass symbol"),
        (["pass", "history", "a/b"], "is not a pass symbol"),
        (["contract", "call", "poe", "register", "--args", "{}", "--from", "dev"], "is a JSON array"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_anything_is_dialled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    keys_new(tmp_path, "dev", capsys)
    status = main([*args, "--dir", str(tmp_path), "--api", "http://127.0.0.1:9", "--json"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("alliance: ") and said in err and err.count("\n") == 1, err
