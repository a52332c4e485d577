"""The console's governance forms: every kind the command line proposes, built from a directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from alliance.abi import gov
from alliance.cli.keyring import keys_list
from alliance.crypto.certificates import load_certificate
from alliance.crypto.keys import load_node_key, parse_address
from alliance.errors import UsageError
from alliance.explorer import actions
from alliance.node.bootstrap import add_node, add_org, create_alliance, load_alliance


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    directory = tmp_path / "chain"
    create_alliance(directory, 2)
    add_org(directory, "org9")
    add_node(directory, "org9", "node9")
    return directory


def test_every_governance_kind_of_the_command_line_has_a_form() -> None:
    tags = {kind.__struct_config__.tag for kind in gov.Action.__args__}  # type: ignore[attr-defined]
    assert set(actions.KINDS) == tags
    described = actions.kinds_json()
    assert described["add-validator"][1] == {
        "name": "power",
        "label": "Power",
        "type": "number",
        "required": True,
        "default": 10,
        "help": None,
        "min": 1,
    }


def test_actions_are_built_from_the_directory(directory: Path) -> None:
    layout = load_alliance(directory)
    keys = {k["name"]: parse_address(k["address"]) for k in keys_list(directory)}
    node9 = load_node_key(layout.home(layout.node("node9")).node_key_path).node_id
    ca9 = load_certificate(layout.org_ca_paths("org9")[0]).public_bytes(serialization.Encoding.DER)

    member = actions.build_action(directory, "add-member", {"org": "org9", "weight": "2", "admin": ""})
    assert member == gov.AddMember(
        org="org9",
        ca_certificate=ca9,
        weight=2,
        admin=keys["org9-admin"],
        nodes=[gov.NodeRecord(node9, "org9", "node9")],
    )
    assert actions.build_action(
        directory, "add-validator", {"node": "node9", "power": 5}
    ) == gov.AddValidator(node_id=node9, org="org9", name="node9", power=5)
    assert actions.build_action(directory, "add-node", {"node": "node9"}) == gov.AddNode(
        node9, "org9", "node9"
    )
    assert actions.build_action(directory, "remove-node", {"node": node9.hex()}) == gov.RemoveNode(node9)
    assert actions.build_action(directory, "remove-validator", {"node": "node9"}) == gov.RemoveValidator(
        node9
    )
    assert actions.build_action(directory, "remove-member", {"org": "org1"}) == gov.RemoveMember("org1")
    assert actions.build_action(
        directory, "set-param", {"name": "block_txs_max", "value": "9"}
    ) == gov.SetParam("block_txs_max", "9")
    assert actions.build_action(
        directory, "grant-role", {"account": "dev", "role": "auditor"}
    ) == gov.GrantRole(keys["dev"], "auditor", "")
    assert actions.build_action(
        directory, "revoke-role", {"account": "dev", "role": "auditor"}
    ) == gov.RevokeRole(keys["dev"], "auditor")
    assert actions.build_action(
        directory, "set-access", {"module": "gov", "method": "vote", "roles": "admin, auditor,admin"}
    ) == gov.SetAccess("gov", "vote", ["admin", "auditor"])
    address = "0x" + "ab" * 20
    assert actions.build_action(directory, "freeze", {"account": address, "reason": "why"}) == gov.Freeze(
        bytes.fromhex("ab" * 20), "why"
    )
    assert actions.build_action(directory, "unfreeze", {"account": "dev"}) == gov.Unfreeze(keys["dev"])


@pytest.mark.parametrize(
    ("kind", "fields", "says"),
    [
        ("make-king", {}, "unknown kind"),
        ("add-validator", {"node": "node42"}, "no node named"),
        ("add-validator", {"node": "node9", "power": "lots"}, "whole number"),
        ("add-validator", {"node": "node9", "power": 0}, "at least 1"),
        ("freeze", {"account": "nobody", "reason": "x"}, "neither an address"),
        ("freeze", {"account": "dev"}, "reason is required"),
        ("add-member", {"org": "org77"}, "no CA certificate"),
        ("set-param", {"name": ["not", "text"], "value": "1"}, "must be text"),
    ],
)
def test_a_bad_form_is_a_usage_error_that_says_why(
    directory: Path, kind: str, fields: dict[str, object], says: str
) -> None:
    with pytest.raises(UsageError, match=says):
        actions.build_action(directory, kind, fields)


def test_values_the_chain_would_refuse_are_refused_before_signing(directory: Path) -> None:
    action = actions.build_action(
        directory, "freeze", {"account": "dev", "reason": "x" * (gov.REASON_LENGTH_MAX + 1)}
    )
    with pytest.raises(UsageError, match="invalid arguments"):
        actions.checked(gov.ProposeArgs, gov.ProposeArgs(action=action))
