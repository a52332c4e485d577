"""The one wire schema (``sdk.wire``): what the server encodes, the SDK decodes back to the same JSON.

The CLI prints a decoded view re-encoded (``--json``), so a view must round-trip to the node's
answer field for field. Governance answers are built by the API from the ledger's structs
(``api.answers``): that round trip is checked from a struct, through the API's builder and the
wire's encoder, to the SDK's view and back. Addresses are told from other bytes by a field's
declared type: a 20-byte CA certificate, event data or transaction hash stays hex, never an address.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from alliance.abi import gov
from alliance.api import answers
from alliance.crypto.keys import to_checksum_address
from alliance.sdk import wire

ADDRESS = bytes(range(20))
TWENTY_BYTES = bytes(range(100, 120))  # a certificate of an address's length: not an address
NODE_ID = bytes(range(32))

ACTIONS: list[gov.Action] = [
    gov.AddMember(org="org9", ca_certificate=TWENTY_BYTES, weight=2, admin=ADDRESS),
    gov.AddMember(org="org9", ca_certificate=b"\x01\x02", nodes=[gov.NodeRecord(NODE_ID, "org9", "n9")]),
    gov.RemoveMember(org="org1"),
    gov.AddNode(node_id=NODE_ID, org="org0", name="node8"),
    gov.RemoveNode(node_id=NODE_ID),
    gov.AddValidator(node_id=NODE_ID, org="org0", name="node7", power=3),
    gov.RemoveValidator(node_id=NODE_ID),
    gov.SetParam(name="block_txs_max", value="99"),
    gov.GrantRole(account=ADDRESS, role="auditor", org="org0"),
    gov.RevokeRole(account=ADDRESS, role="auditor"),
    gov.SetAccess(module="gov", method="vote", roles=["admin", "auditor"]),
    gov.Freeze(account=ADDRESS, reason="why"),
    gov.Unfreeze(account=ADDRESS),
]


def api_answer(action: gov.Action) -> bytes:
    """What ``GET /v1/gov/proposals/7`` answers for a proposal of ``action``."""
    proposal = gov.Proposal(
        id=7, action=action, proposer=ADDRESS, proposer_org="org0", created_height=5, deadline_height=10,
        threshold_num=2, threshold_den=3, votes=[gov.Ballot("org0", ADDRESS, True, 5)], status="open",
    )
    return wire.encode(answers.proposal_view(proposal, "expired"))


@pytest.mark.parametrize("action", ACTIONS, ids=[gov.kind_of(a) for a in ACTIONS])
def test_a_proposal_view_prints_back_as_the_api_answer(action: gov.Action) -> None:
    answer = api_answer(action)
    view = wire.decode(wire.ProposalView, answer)
    assert wire.encode(view) == answer
    assert view.gov_action() == action  # the very Struct the chain decodes
    assert msgspec.json.decode(answer)["action"]["kind"] == gov.kind_of(action)


def test_twenty_bytes_that_are_no_address_stay_hex() -> None:
    shown = wire.to_builtins(wire.decode(wire.ProposalView, api_answer(ACTIONS[0])))
    assert shown["action"]["ca_certificate"] == TWENTY_BYTES.hex()
    assert shown["action"]["admin"] == to_checksum_address(ADDRESS)
    assert shown["proposer"] == to_checksum_address(ADDRESS) and shown["status"] == "expired"


def test_a_governance_view_prints_back_as_the_api_answer() -> None:
    answer = {
        "members": [{"org": "org0", "weight": 2, "ca_certificate": TWENTY_BYTES.hex()}],
        "nodes": [{"node_id": NODE_ID.hex(), "org": "org0", "name": "node0"}],
        "access": [{"module": "gov", "method": "vote", "roles": ["admin"]}],
        "frozen": [
            {"address": to_checksum_address(ADDRESS), "reason": "why", "by": to_checksum_address(bytes(20)),
             "height": 4}
        ],
        "proposals": 3,
        "height": 12,
        "validators": [
            {"node_id": NODE_ID.hex(), "name": "node0", "power": 10},
            {"node_id": "ff" * 32, "name": None, "power": 1},
        ],
        "frozen_count": 1,
    }
    view = wire.decode(wire.GovernanceView, msgspec.json.encode(answer))
    assert view.height == 12 and view.validators[1].name is None and view.frozen[0].by == bytes(20)
    assert wire.to_builtins(view) == answer


def event_answer(data: bytes) -> dict[str, Any]:
    return {"emitter": "accounts", "name": "transfer", "data": data.hex(),
            "fields": {"sender": to_checksum_address(ADDRESS), "to": to_checksum_address(ADDRESS),
                       "amount": 7}}


def tx_answer() -> dict[str, Any]:
    """``GET /v1/txs/{hash}`` for a committed transaction whose event data is 20 bytes."""
    return {
        "hash": NODE_ID.hex(), "status": "ok", "height": 4, "ok": True, "index": 0, "gas_used": 21,
        "error": "", "events": [event_answer(TWENTY_BYTES)], "result": "",
        "sender": to_checksum_address(ADDRESS), "target": "accounts", "method": "transfer", "valid_until": 90,
    }


def test_twenty_bytes_of_a_tx_view_are_hex_but_its_sender_an_address() -> None:
    view = wire.decode(wire.TxView, msgspec.json.encode(tx_answer()))
    assert view.sender == ADDRESS and view.events[0].data == TWENTY_BYTES
    shown = wire.to_builtins(view)
    assert shown["events"][0]["data"] == TWENTY_BYTES.hex()
    assert shown["sender"] == to_checksum_address(ADDRESS)
    assert shown == tx_answer()


def test_a_block_view_prints_back_as_the_api_answer() -> None:
    answer = {
        "height": 4, "hash": NODE_ID.hex(), "time_ms": 1_700_000_000_000, "chain_id": "c1",
        "proposer": NODE_ID.hex(), "prev_block_hash": NODE_ID.hex(), "app_hash": NODE_ID.hex(),
        "tx_root": NODE_ID.hex(), "last_results_hash": NODE_ID.hex(), "validators_hash": NODE_ID.hex(),
        "last_commit_hash": TWENTY_BYTES.hex(), "txs": [NODE_ID.hex()],
        "certificate": {"height": 4, "round": 0, "block_hash": NODE_ID.hex(),
                        "signatures": [{"node_id": NODE_ID.hex(), "signature": "ab" * 64}]},
    }
    view = wire.decode(wire.BlockView, msgspec.json.encode(answer))
    assert view.last_commit_hash == TWENTY_BYTES
    assert wire.to_builtins(view) == answer


@pytest.mark.parametrize(
    ("kind", "text", "why"),
    [
        (wire.TxView, {**tx_answer(), "hash": "ab" * 31}, r"expected 32 bytes, got 31 - at `\$.hash`"),
        (wire.TxView, {**tx_answer(), "hash": "zz" * 32}, r"not hex: .* - at `\$.hash`"),
        (wire.TxView, {**tx_answer(), "sender": "0x" + "aB"*20}, r"checksum does not match: .* `\$.sender`"),
        (wire.TxView, {**tx_answer(), "sender": 5}, r"an address string, got int - at `\$.sender`"),
    ],
)
def test_a_malformed_field_is_a_validation_error_naming_it(
    kind: type, text: dict[str, Any], why: str
) -> None:
    with pytest.raises(msgspec.ValidationError, match=why):
        wire.decode(kind, msgspec.json.encode(text))


def test_bytes_types_declare_their_pattern_and_lengths() -> None:
    _schemas, components = wire.schema_components([wire.TxView, wire.MemberView], "#/{name}")
    tx = components["TxView"]["properties"]
    assert tx["hash"] == {"type": "string", "pattern": wire.sized_hex_pattern(32)}
    assert tx["sender"]["anyOf"][0]["pattern"] == wire.ADDRESS_PATTERN
    twin = wire.schema_components([wire.json_type(gov.AddMember)], "#/{name}")[1]["gov.AddMember"]
    certificate = twin["properties"]["ca_certificate"]
    assert (certificate["minLength"], certificate["maxLength"]) == (2, 2 + 2 * 8192)
    assert twin["properties"]["admin"]["anyOf"][0]["pattern"] == wire.ADDRESS_PATTERN
    assert twin["properties"]["kind"] == {"enum": ["add-member"]}


def test_module_query_args_come_from_text_by_declared_type() -> None:
    assert wire.query_args_from_params(gov.PageQuery, {"start": "3"}) == gov.PageQuery(3, 100)
    address = "0x" + ADDRESS.hex()
    assert wire.query_args_from_params(gov.AccountQuery, {"address": address}) == gov.AccountQuery(ADDRESS)
    with pytest.raises(msgspec.ValidationError, match="limit"):
        wire.query_args_from_params(gov.PageQuery, {"limit": "501"})
    with pytest.raises(msgspec.ValidationError, match="address"):
        wire.query_args_from_params(gov.AccountQuery, {"address": "0x12"})
