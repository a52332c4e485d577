"""A view prints back as the API's JSON it was parsed from (``views.view_json`` and its typed
``*_json`` forms).

The CLI's ``block``, ``tx`` and ``gov`` views print these, so a view must round-trip to the node's
answer field for field. The API builds the governance answers from the ledger's structs
(``api.schemas``): that round trip is also checked from a struct, through the API's builder, to
the view and back. Addresses are told from other bytes by a field's declared type: a 20-byte CA
certificate, event data or transaction hash stays hex.
"""

from __future__ import annotations

from typing import Any

import pytest

from alliance.abi import gov
from alliance.api import schemas
from alliance.crypto.keys import to_checksum_address
from alliance.sdk import views

ADDRESS = bytes(range(20))
TWENTY_BYTES = bytes(range(100, 120))  # a certificate of an address's length: not an address
NODE_ID = bytes(range(32))

ACTIONS: list[gov.Action] = [
    gov.AddMember(org="org9", ca_certificate=TWENTY_BYTES, weight=2, admin=ADDRESS),
    gov.AddMember(org="org9", ca_certificate=b"\x01\x02"),
    gov.RemoveMember(org="org1"),
    gov.AddValidator(node_id=NODE_ID, org="org0", name="node7", power=3),
    gov.RemoveValidator(node_id=NODE_ID),
    gov.SetParam(name="block_txs_max", value="99"),
    gov.GrantRole(account=ADDRESS, role="auditor", org="org0"),
    gov.RevokeRole(account=ADDRESS, role="auditor"),
    gov.SetAccess(module="gov", method="vote", roles=["admin", "auditor"]),
    gov.Freeze(account=ADDRESS, reason="why"),
    gov.Unfreeze(account=ADDRESS),
]


def api_answer(action: gov.Action) -> dict[str, Any]:
    """What ``GET /v1/gov/proposals/7`` answers for a proposal of ``action``."""
    proposal = gov.Proposal(
        id=7, action=action, proposer=ADDRESS, proposer_org="org0", created_height=5, deadline_height=10,
        threshold_num=2, threshold_den=3, votes=[gov.Ballot("org0", ADDRESS, True, 5)], status="open",
    )
    return schemas.proposal_model(proposal, "expired").model_dump(mode="json")


@pytest.mark.parametrize("action", ACTIONS, ids=[gov.kind_of(a) for a in ACTIONS])
def test_a_proposal_view_prints_back_as_the_api_answer(action: gov.Action) -> None:
    answer = api_answer(action)
    assert views.proposal_json(views.proposal(answer)) == answer


def test_twenty_bytes_that_are_no_address_stay_hex() -> None:
    shown = views.proposal_json(views.proposal(api_answer(ACTIONS[0])))
    assert shown["action"]["ca_certificate"] == TWENTY_BYTES.hex()
    assert shown["action"]["admin"] == to_checksum_address(ADDRESS)
    assert shown["proposer"] == to_checksum_address(ADDRESS) and shown["status"] == "expired"


def test_a_governance_view_prints_back_as_the_api_answer() -> None:
    answer = {
        "members": [{"org": "org0", "weight": 2, "ca_certificate": TWENTY_BYTES.hex()}],
        "nodes": [{"node_id": NODE_ID.hex(), "org": "org0", "name": "node0"}],
        "access": [{"module": "gov", "method": "vote", "roles": ["admin"]}],
        "frozen": [
            {
                "address": to_checksum_address(ADDRESS),
                "reason": "why",
                "by": to_checksum_address(bytes(20)),
                "height": 4,
            }
        ],
        "proposals": 3,
        "height": 12,
        "validators": [
            {"node_id": NODE_ID.hex(), "name": "node0", "power": 10},
            {"node_id": "ff" * 32, "name": None, "power": 1},
        ],
    }
    view = views.governance(answer)
    assert view.height == 12 and view.validators[1].name is None
    assert views.governance_json(view) == answer



def event_answer(data: bytes) -> dict[str, Any]:
    return {"emitter": "accounts", "name": "transfer", "data": data.hex(),
            "fields": {"sender": to_checksum_address(ADDRESS), "to": to_checksum_address(ADDRESS),
                       "amount": 7}}


def tx_answer() -> dict[str, Any]:
    """``GET /v1/txs/{hash}`` for a committed transaction whose event data is 20 bytes."""
    return {
        "hash": NODE_ID.hex(), "status": "ok", "ok": True, "height": 4, "index": 0, "gas_used": 21,
        "error": "", "events": [event_answer(TWENTY_BYTES)], "sender": to_checksum_address(ADDRESS),
        "target": "accounts", "method": "transfer", "valid_until": 90,
    }


def block_answer() -> dict[str, Any]:
    """``GET /v1/blocks/4`` whose one listed transaction is 20 bytes (the view takes any length)."""
    return {
        "height": 4, "hash": NODE_ID.hex(), "time_ms": 1_700_000_000_000, "chain_id": "c1",
        "proposer": NODE_ID.hex(), "prev_block_hash": NODE_ID.hex(), "app_hash": NODE_ID.hex(),
        "tx_root": NODE_ID.hex(), "last_results_hash": NODE_ID.hex(), "validators_hash": NODE_ID.hex(),
        "last_commit_hash": TWENTY_BYTES.hex(), "txs": [TWENTY_BYTES.hex(), NODE_ID.hex()],
        "certificate": {"height": 4, "round": 0, "block_hash": NODE_ID.hex(),
                        "signatures": [{"node_id": NODE_ID.hex(), "signature": TWENTY_BYTES.hex()}]},
    }


def test_twenty_bytes_of_a_tx_view_are_hex_but_its_sender_an_address() -> None:
    shown = views.view_json(views.tx(tx_answer()))
    assert shown["events"][0]["data"] == TWENTY_BYTES.hex()
    assert shown["sender"] == to_checksum_address(ADDRESS)
    # The node's answer, as it was; a receipt's event has no ``tx_hash`` (a stream event does).
    expected = tx_answer()
    expected["events"][0]["tx_hash"] = None
    assert shown == expected


def test_a_block_view_prints_back_as_the_api_answer_twenty_bytes_hex() -> None:
    shown = views.view_json(views.block(block_answer()))
    assert shown["txs"][0] == TWENTY_BYTES.hex() and shown["last_commit_hash"] == TWENTY_BYTES.hex()
    assert shown == block_answer()


def test_view_json_walks_optional_collections_and_plain_values() -> None:
    assert views.view_json(views.TxView(hash=NODE_ID, status="pending", height=None))["sender"] is None
    batch = views.BatchResult(accepted=1, rejected=(), hashes=(TWENTY_BYTES, None))
    assert views.view_json(batch) == {"accepted": 1, "rejected": [], "hashes": [TWENTY_BYTES.hex(), None]}
    frozen = views.Account(address=ADDRESS, balance=3, height=2,
                           frozen=views.FrozenView(reason="why", by=ADDRESS, height=1))
    assert views.view_json([frozen])[0]["frozen"]["by"] == to_checksum_address(ADDRESS)
    assert views.view_json([frozen])[0]["address"] == to_checksum_address(ADDRESS)
    assert views.view_json(views.event(event_answer(TWENTY_BYTES)))["data"] == TWENTY_BYTES.hex()
