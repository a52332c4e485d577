"""A governance view prints back as the API's JSON it was parsed from (``views.*_json``).

The CLI's ``gov`` views print these, so a view must round-trip to the node's answer field for
field. The API builds those answers from the ledger's structs (``api.schemas``): the round trip is
also checked from a struct, through the API's builder, to the view and back. Addresses are told
from other bytes by a field's declared type: a 20-byte CA certificate stays hex.
"""

from __future__ import annotations

from typing import Any

import pytest

from alliance.api import schemas
from alliance.crypto.keys import to_checksum_address
from alliance.execution.modules import governance as gov
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

