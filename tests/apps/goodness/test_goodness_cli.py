"""``alliance demo goodness`` and ``alliance goodness ...`` against a real one-node alliance.

A one-node alliance has one member, so each proposal the demo makes passes as it is made. The
command line runs in a worker thread (it is synchronous), the node on the test's event loop. The
four-member alliance with real votes is the acceptance check's (../shared/acceptance/10-goodness).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from alliance.cli.main import main
from alliance.testing.nodes import api_node, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "cli"))

from cli_helpers import Cli

SCENARIO_BOUND_S = 240
COUNTS = (
    "trips_accepted",
    "trips_refused",
    "points_issued",
    "points_redeemed",
    "carbon_g",
    "redemptions",
    "redemptions_refused",
    "value_owed_cny",
    "settled_cny",
    "clearing_periods",
    "clearing_balanced",
    "anomalies",
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_key(directory: Path, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["keys", "new", name, "--dir", str(directory), "--json"]) == 0
    address: str = json.loads(capsys.readouterr().out)["address"]
    return address


async def demo(cli: Cli, *, users: int, days: int, seed: int) -> dict[str, Any]:
    summary: dict[str, Any] = await cli(
        "demo", "goodness", "--users", str(users), "--days", str(days), "--seed", str(seed)
    )
    return summary


def test_the_demo_tells_the_same_story_for_a_seed_and_runs_again_on_its_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summaries = []

    async def scenario(directory: Path) -> None:
        async with api_node(directory) as node:
            cli = Cli(directory, node.url, capsys)
            summaries.append(await demo(cli, users=5, days=2, seed=11))
            if len(summaries) == 1:
                again = await demo(cli, users=3, days=1, seed=12)  # a second run on the same directory
                assert again["periods"] == [3] and again["clearing_balanced"] is True
                assert again["trips_refused"] == {"consent_revoked": 1, "duplicate_raw_hash": 1}

    run(scenario(tmp_path / "first"), SCENARIO_BOUND_S)
    run(scenario(tmp_path / "second"), SCENARIO_BOUND_S)
    first, second = summaries
    assert {k: first[k] for k in COUNTS} == {k: second[k] for k in COUNTS}
    assert first["trips_accepted"] > 0 and first["points_issued"] > 0 and first["points_redeemed"] > 0
    assert first["trips_refused"] == {"consent_revoked": 1, "duplicate_raw_hash": 1}
    assert first["redemptions_refused"] == {"pool_exhausted": 1}
    assert first["clearing_periods"] == 2 and first["clearing_balanced"] is True
    assert first["settled_cny"] == first["value_owed_cny"] > 0
    assert {"over_limit", "duplicate_raw_hash", "pool_near_empty"} <= set(first["anomalies"])
    assert all(item["outcome"].startswith(("refused", "counted")) for item in first["injected"])
    assert len(first["injected"]) == 4


def test_goodness_by_hand_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new_key(tmp_path, "carol", capsys)
    identity, first, second = sha("carol's passport"), sha("carol trip 1"), sha("carol trip 2")

    async def scenario() -> None:
        async with api_node(tmp_path) as node:
            cli = Cli(tmp_path, node.url, capsys)
            await demo(cli, users=4, days=1, seed=2)
            metro = "distributor-metro"

            enrolled = await cli(
                "goodness", "enroll", "--user", "carol", "--identity-hash", identity, "--from", "issuer"
            )
            assert enrolled["identity_hash"] == identity and enrolled["status"] == "ok"
            trip = ["goodness", "report", "--user", "carol", "--mode", "metro", "--meters", "12000"]
            refused = await cli(*trip, "--raw-hash", first, "--from", metro, code=1)
            assert refused.startswith("alliance: contract_error: no_consent:"), refused
            wrong = await cli(
                "goodness", "consent", "--user", "carol", "--distributor", metro, "--from", "dev", code=2
            )
            assert "signed by the user" in wrong
            given = await cli(
                "goodness",
                "consent",
                "--user",
                "carol",
                "--distributor",
                metro,
                "--days",
                "30",
                "--from",
                "carol",
            )
            assert given["revoked"] is False and given["until_ms"] > 0
            refused = await cli(*trip, "--raw-hash", first, "--from", "carol", code=1)
            assert "not_distributor" in refused
            assert "--raw-hash" in await cli(*trip, "--raw-hash", "zz", "--from", metro, code=2)
            counted = await cli(*trip, "--raw-hash", first, "--from", metro)
            assert (counted["carbon_g"], counted["points"]) == (1164, 93)
            again = await cli(*trip, "--raw-hash", first, "--from", metro, code=1)
            assert again.startswith("alliance: contract_error: duplicate_raw_hash:"), again

            account = await cli("goodness", "account", "carol")
            assert (account["points"], account["trips"], account["carbon_g"]) == (93, 1, 1164)
            assert account["lots"][0]["amount"] == 93 and account["lots"][0]["expires_at_ms"] > 0
            assert account["recent_trips"][0]["raw_hash"] == first and account["identity_hash"] == identity
            moved = await cli(
                "pass",
                "transfer",
                "--symbol",
                "GOOD",
                "--to",
                "dev",
                "--amount",
                "1",
                "--from",
                "carol",
                code=1,
            )
            assert moved.startswith("alliance: non_transferable:"), moved
            await cli(
                "goodness",
                "consent",
                "--user",
                "carol",
                "--distributor",
                metro,
                "--revoke",
                "--from",
                "carol",
            )
            refused = await cli(
                "goodness",
                "report",
                "--user",
                "carol",
                "--mode",
                "bike",
                "--meters",
                "3000",
                "--raw-hash",
                second,
                "--from",
                metro,
                code=1,
            )
            assert "consent_revoked" in refused

            # the issuer's new rule version counts the next trips, never the earlier ones
            published = await cli(
                "goodness",
                "rules",
                "publish",
                "--mode",
                "metro=50:100000",
                "--mode",
                "bike=98:50000",
                "--over-limit",
                "refuse",
                "--from",
                "issuer",
            )
            assert published["version"] == 2
            rules = await cli("goodness", "rules", "show", "--version", "1")
            assert rules["modes"]["metro"] == {"grams_per_km": 97, "limit_m": 100000}
            await cli("goodness", "consent", "--user", "carol", "--distributor", metro, "--from", "carol")
            counted = await cli(*trip, "--raw-hash", second, "--from", metro)
            assert counted["carbon_g"] == 600

            # a redemption by hand, then its clearing
            await cli("goodness", "allow", "--points", "150", "--from", "carol")
            offer = (
                await cli(
                    "goodness",
                    "offer",
                    "--title",
                    "cinema",
                    "--points",
                    "120",
                    "--value",
                    "300",
                    "--count",
                    "1",
                    "--from",
                    "sponsor-1",
                )
            )["offer"]
            await cli("goodness", "redeem", "--user", "carol", "--offer", str(offer), "--from", "exchange-2")
            beyond = await cli(
                "goodness", "redeem", "--user", "carol", "--offer", str(offer), "--from", "exchange-2", code=1
            )
            assert "offer_exhausted" in beyond
            statement = await cli("goodness", "clear", "--from", "clearing")
            period = statement["period"]
            assert statement["lines"][0]["amount"] == 300
            refused = await cli(
                "goodness", "confirm", "--period", str(period), "--from", "exchange-1", code=1
            )
            assert "not_a_party" in refused
            assert "not_confirmed" in await cli(
                "goodness", "settle", "--period", str(period), "--from", "clearing", code=1
            )
            for party in ("sponsor-1", "exchange-2"):
                await cli("goodness", "confirm", "--period", str(period), "--from", party)
            settled = await cli("goodness", "settle", "--period", str(period), "--from", "clearing")
            assert settled["settled"] == 300

            # supervision: suspend, the report, the export
            await cli(
                "goodness",
                "suspend",
                "--distributor",
                "distributor-bus",
                "--reason",
                "audit",
                "--from",
                "supervisor",
            )
            refused = await cli(
                "goodness",
                "suspend",
                "--distributor",
                "distributor-bus",
                "--reason",
                "x",
                "--from",
                "issuer",
                code=1,
            )
            assert "not_supervisor" in refused
            report = await cli("goodness", "supervise")
            kinds = {a["kind"] for a in report["anomalies"]}
            assert {"over_limit", "duplicate_raw_hash", "pool_near_empty"} <= kinds
            duplicates = [a for a in report["anomalies"] if a["kind"] == "duplicate_raw_hash"]
            assert (
                all(a["source"] == "receipts" and a["account"] for a in duplicates) and len(duplicates) == 2
            )
            assert report["totals"]["supervisor"]["suspensions"] == 1
            assert report["totals"]["distributor"]["trips"] >= 3
            assert all(p["balanced"] is True for p in report["clearing"] if p["state"] == "final")
            assert [p["state"] for p in report["clearing"]][-1] == "open"
            one = await cli("goodness", "supervise", "--period", str(period))
            assert one["period"] == period and [p["period"] for p in one["clearing"]] == [period]
            assert one["totals"]["exchange"]["redemptions"] == 1
            csv_text = await cli("goodness", "export", "--period", str(period), "--csv", as_json=False)
            lines = csv_text.splitlines()
            assert lines[0] == "record,period,role,account,counterparty,name,value"
            assert f"period,{period},clearing,,,balanced,true" in lines
            assert any(
                line.startswith(f"line,{period},sponsor,") and line.endswith(",owed,300") for line in lines
            )
            assert "no period 99" in await cli("goodness", "supervise", "--period", "99", code=2)

    run(scenario(), SCENARIO_BOUND_S)
