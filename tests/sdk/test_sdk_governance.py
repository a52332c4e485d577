"""Governance through the SDK against a real four-organisation alliance (issue 5, "Audit").

Each test runs ``alliance init``'s alliance (org0..org3 members of weight 1, ``orgK-admin`` keys
with the admin role, a ``supervisor`` key) and drives the committee with ``propose``/``vote``/
``freeze``, then reads every decision back through the SDK's views and the API's raw JSON, which
is what an auditor without the SDK would read. With four members of weight 1, a proposal passes
with three yes votes under both default thresholds ("more than" 2/3 and 1/2 of 4) and an
"other"-level one is rejected by two no votes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from alliance import codec, errors
from alliance.abi import gov
from alliance.abi.chain import PARAMS_KEY
from alliance.crypto.certificates import load_certificate
from alliance.crypto.keys import AccountKey, to_checksum_address
from alliance.ledger.genesis import ChainParams
from alliance.node.bootstrap import add_org
from alliance.sdk import AsyncClient, Client, ProposalOutcome, TxView, wire
from alliance.testing.nodes import GovernedAlliance, governed_alliance, run

BLOCK_WAIT_S = 20.0


async def wait_height(client: AsyncClient, height: int, timeout_s: float = BLOCK_WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (await client.status()).height < height:
        if loop.time() > deadline:
            raise AssertionError(f"the chain did not reach height {height} within {timeout_s} s")
        await asyncio.sleep(0.05)


async def get_json(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def fields_of(view: TxView, name: str) -> list[dict[str, Any] | None]:
    return [e.fields for e in view.events if (e.emitter, e.name) == ("gov", name)]


def test_set_param_and_add_member_pass_and_read_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            governed_alliance(tmp_path) as alliance,
            AsyncClient(alliance.url, timeout_s=30) as client,
            httpx.AsyncClient(base_url=alliance.url, timeout=30) as http,
        ):
            admins = [alliance.keys[f"org{k}-admin"] for k in range(4)]
            before = await client.governance()
            assert [m.org for m in before.members] == ["org0", "org1", "org2", "org3"]
            assert len(before.nodes) == 4 and before.frozen == () and before.proposals == 0
            assert {(r.module, r.method) for r in before.access} == {
                ("gov", "freeze"),
                ("gov", "propose"),
                ("gov", "vote"),
            }
            assert (await client.account(admins[1].address)).roles == ("admin",)

            # set-param: an "other"-level decision; proposer + 2 votes pass it.
            action = gov.SetParam(name="block_txs_max", value="4321")
            proposed = await client.propose(admins[0], action)
            assert isinstance(proposed, ProposalOutcome)
            assert (proposed.proposal, proposed.proposal_status, proposed.status) == (1, "open", "ok")
            first = await client.vote(admins[1], 1, True)
            assert (first.proposal, first.proposal_status) == (1, "open")
            passing = await client.vote(admins[2], 1, True)
            assert (passing.proposal, passing.proposal_status) == (1, "passed")

            view = await client.proposal(1)
            assert (view.kind, view.status, view.gov_action(), view.threshold) == (
                "set-param",
                "passed",
                action,
                "1/2",
            )
            assert [(b.org, b.voter, b.yes) for b in view.votes] == [
                ("org0", admins[0].address, True),
                ("org1", admins[1].address, True),
                ("org2", admins[2].address, True),
            ]
            assert view.proposer == admins[0].address and view.proposer_org == "org0"
            assert view.created_height == proposed.height and view.decided_height == passing.height
            assert view.deadline_height > view.created_height and view.error == ""
            params = await client.query(PARAMS_KEY)
            assert params.value is not None and codec.decode(ChainParams, params.value).block_txs_max == 4321

            raw = await get_json(http, "/v1/gov/proposals/1")
            assert wire.to_builtins(view) == raw  # the view prints back as the node's answer
            assert raw == {
                "id": 1,
                "kind": "set-param",
                "status": "passed",
                "action": {"kind": "set-param", "name": "block_txs_max", "value": "4321"},
                "proposer": to_checksum_address(admins[0].address),
                "proposer_org": "org0",
                "created_height": proposed.height,
                "deadline_height": view.deadline_height,
                "threshold": "1/2",
                "votes": [
                    {
                        "org": f"org{k}",
                        "voter": to_checksum_address(admins[k].address),
                        "yes": True,
                        "height": h,
                    }
                    for k, h in ((0, proposed.height), (1, first.height), (2, passing.height))
                ],
                "decided_height": passing.height,
                "error": "",
            }

            # add-member: a membership-level decision (2/3); the proposer cannot vote twice.
            org4 = add_org(tmp_path, "org4")
            der = load_certificate(org4.ca_path).public_bytes(serialization.Encoding.DER)
            add = gov.AddMember(org="org4", ca_certificate=der, weight=1)
            proposed = await client.propose(admins[0], add)
            assert (proposed.proposal, proposed.proposal_status) == (2, "open")
            with pytest.raises(gov.AlreadyVoted, match="org0 has already voted on proposal 2"):
                await client.vote(admins[0], 2, False)
            assert (await client.vote(admins[1], 2, True)).proposal_status == "open"
            assert (await client.vote(admins[3], 2, True)).proposal_status == "passed"

            view = await client.proposal(2)
            assert (view.kind, view.status, view.gov_action(), view.threshold) == (
                "add-member",
                "passed",
                add,
                "2/3",
            )
            assert [b.org for b in view.votes] == ["org0", "org1", "org3"]  # the refused vote left no ballot
            raw_add = await get_json(http, "/v1/gov/proposals/2")
            expected = {
                "kind": "add-member", "org": "org4", "ca_certificate": der.hex(), "weight": 1, "admin": None,
                "nodes": [],
            }
            assert raw_add["action"] == expected and wire.to_builtins(view) == raw_add

            after = await client.governance()
            assert after.proposals == 2 and [m.org for m in after.members][-1] == "org4"
            assert after.members[-1].ca_certificate == der
            raw_gov = await get_json(http, "/v1/gov")
            assert raw_gov["proposals"] == 2
            # Read a little later, so perhaps at a later height; everything else is the same.
            assert after.height <= raw_gov["height"]
            assert wire.to_builtins(after) == {**raw_gov, "height": after.height}
            assert sorted((v.name, v.power) for v in after.validators) == [(f"node{k}", 10) for k in range(4)]
            assert {"org": "org4", "weight": 1, "ca_certificate": der.hex()} in raw_gov["members"]
            assert raw_gov["nodes"][0].keys() == {"node_id", "org", "name"}
            assert {"module": "gov", "method": "vote", "roles": ["admin"]} in raw_gov["access"]
            assert raw_gov["frozen"] == []

            listed = await client.proposals()
            assert [p.id for p in listed] == [1, 2] and listed[1] == view
            assert [p.id for p in await client.proposals(from_id=2, limit=5)] == [2]
            assert await client.proposals(from_id=3) == []
            assert [p["id"] for p in await get_json(http, "/v1/gov/proposals", from_id=1, limit=1)] == [1]

    run(scenario())


def test_refusals_are_typed_and_expired_proposals_say_so(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            governed_alliance(tmp_path) as alliance,
            AsyncClient(alliance.url, timeout_s=30) as client,
            httpx.AsyncClient(base_url=alliance.url, timeout=30) as http,
        ):
            admins = [alliance.keys[f"org{k}-admin"] for k in range(4)]
            action = gov.SetParam(name="tx_window_blocks", value="90")
            for outsider in (alliance.keys["dev"], alliance.keys["supervisor"], AccountKey.generate()):
                with pytest.raises(errors.PermissionDenied):
                    await client.propose(outsider, action)
            with pytest.raises(errors.InvalidArguments, match="unknown chain parameter"):
                await client.propose(admins[0], gov.SetParam(name="nonsense", value="1"))
            with pytest.raises(errors.InvalidArguments, match="there is no proposal 7"):
                await client.vote(admins[0], 7, True)
            assert (await client.governance()).proposals == 0  # refused proposals take no id

            with pytest.raises(errors.NotFound):
                await client.proposal(99)
            for missing in ("99", "0"):
                response = await http.get(f"/v1/gov/proposals/{missing}")
                assert response.status_code == 404, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["code"] == "not_found"

            short = await client.propose(admins[0], action, voting_blocks=1)
            assert short.proposal == 1 and short.height is not None
            view = await client.proposal(1)
            assert view.deadline_height == short.height + 1
            await wait_height(client, view.deadline_height + 1)
            assert (await client.proposal(1)).status == "expired"
            assert (await get_json(http, "/v1/gov/proposals/1"))["status"] == "expired"
            with pytest.raises(gov.VotingClosed, match="proposal 1 is expired"):
                await client.vote(admins[1], 1, True)

            # The synchronous client, in a thread (the nodes run on this loop): two no votes reject.
            def reject_with_the_sync_client() -> tuple[ProposalOutcome, ...]:
                with Client(alliance.url, timeout_s=30) as sync:
                    proposed = sync.propose(admins[1], action)
                    assert proposed.proposal is not None
                    return (
                        proposed,
                        sync.vote(admins[2], proposed.proposal, False),
                        sync.vote(admins[3], proposed.proposal, False),
                    )

            proposed, no, rejecting = await asyncio.to_thread(reject_with_the_sync_client)
            assert (proposed.proposal, no.proposal_status, rejecting.proposal_status) == (
                2,
                "open",
                "rejected",
            )
            view = await client.proposal(2)
            assert view.status == "rejected" and [b.yes for b in view.votes] == [True, False, False]
            with pytest.raises(gov.VotingClosed, match="rejected"):
                await client.vote(admins[0], 2, True)

            pending = await client.propose(admins[0], action, wait=False)
            assert pending.proposal is None and pending.height is None and pending.status == "pending"
            committed = await client.wait(pending.tx_hash)
            assert fields_of(committed, "proposed") == [{"id": 3, "kind": "set-param", "status": "open"}]

    run(scenario())


def test_supervisor_freezes_and_the_committee_unfreezes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            governed_alliance(tmp_path) as alliance,
            AsyncClient(alliance.url, timeout_s=30) as client,
            httpx.AsyncClient(base_url=alliance.url, timeout=30) as http,
        ):
            await freeze_then_unfreeze(alliance, client, http)

    run(scenario())


async def freeze_then_unfreeze(
    alliance: GovernedAlliance, client: AsyncClient, http: httpx.AsyncClient
) -> None:
    admins = [alliance.keys[f"org{k}-admin"] for k in range(4)]
    dev, supervisor = alliance.keys["dev"], alliance.keys["supervisor"]
    bob = AccountKey.generate().address
    assert (await client.transfer(dev, bob, 1)).ok

    with pytest.raises(errors.PermissionDenied):
        await client.freeze(admins[0], dev.address, "an admin is not the supervisor")
    frozen = await client.freeze(supervisor, dev.address, "suspicious transfers")
    assert frozen.ok and frozen.height is not None
    assert fields_of(frozen, "frozen") == [
        {
            "account": to_checksum_address(dev.address),
            "reason": "suspicious transfers",
            "by": to_checksum_address(supervisor.address),
        }
    ]
    with pytest.raises(errors.InvalidArguments, match="frozen already"):
        await client.freeze(supervisor, dev.address, "again")

    account = await client.account(dev.address)
    assert account.frozen is not None and account.frozen.reason == "suspicious transfers"
    assert (account.frozen.by, account.frozen.height) == (supervisor.address, frozen.height)
    assert account.org == "" and account.roles == ()
    raw = await get_json(http, f"/v1/accounts/{dev.address.hex()}")
    assert raw["frozen"] == {
        "reason": "suspicious transfers",
        "by": to_checksum_address(supervisor.address),
        "height": frozen.height,
    }
    assert (await client.account(supervisor.address)).roles == ("supervisor",)
    [entry] = (await client.governance()).frozen
    assert (entry.address, entry.by, entry.height) == (dev.address, supervisor.address, frozen.height)

    refused = await client.transfer(dev, bob, 1)
    assert refused.committed and not refused.ok and refused.status == "account_frozen" and refused.error
    assert (await client.account(bob)).balance == 1

    outcome = await client.propose(admins[0], gov.Unfreeze(account=dev.address))
    assert outcome.proposal is not None
    await client.vote(admins[1], outcome.proposal, True)
    passing = await client.vote(admins[2], outcome.proposal, True)
    assert passing.proposal_status == "passed"
    receipts = await get_json(http, f"/v1/blocks/{passing.height}/receipts")
    [mine] = [r for r in receipts if r["tx_hash"] == passing.tx_hash.hex()]
    assert [(e["name"], e["fields"]) for e in mine["events"]] == [
        ("voted", {"id": outcome.proposal, "org": "org2", "yes": True}),
        (
            "unfrozen",
            {
                "account": to_checksum_address(dev.address),
                "reason": "",
                "by": to_checksum_address(admins[2].address),
            },
        ),
        ("passed", {"id": outcome.proposal, "kind": "unfreeze", "status": "passed"}),
    ]
    assert (await client.account(dev.address)).frozen is None
    assert (await client.transfer(dev, bob, 1)).ok
