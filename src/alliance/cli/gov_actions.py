"""Governance actions built from a local alliance directory: the one place that turns names into the
ledger's records, for the command line (``alliance gov propose KIND``) and the console's forms.

Theory of operation: a proposal names things people know (an organisation, a node of the
directory, a key name); the ledger records what identifies them (an organisation's CA certificate
as DER, a node's id, organisation and name, a 20-byte address). This module reads those from the
directory as ``alliance init`` / ``org new`` / ``node new`` / ``keys new`` left them: an
organisation's CA from ``DIR/orgs``, a node's identity from its home (its key and configuration),
an account from ``DIR/keys`` or an address as given. A name the directory does not know is a
``UsageError`` naming it, before anything is signed.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from alliance.abi import gov
from alliance.cli import keyring
from alliance.crypto.certificates import load_certificate
from alliance.crypto.keys import load_node_key
from alliance.errors import UsageError
from alliance.node.bootstrap import load_alliance

NODE_ID_HEX_DIGITS = 64


def org_ca_der(directory: Path, org: str) -> bytes:
    """``org``'s CA certificate (DER), as the ledger records a member's."""
    path = load_alliance(directory).org_ca_paths(org)[0]
    if not path.exists():
        raise UsageError(f"no CA certificate for organisation {org!r} at {path} (see 'alliance org new')")
    return load_certificate(path).public_bytes(serialization.Encoding.DER)


def node_record(directory: Path, node: str) -> gov.NodeRecord:
    """The record of the directory's node ``node`` (its id, organisation and name), from its home."""
    layout = load_alliance(directory)
    home = layout.home(layout.node(node))
    config = home.load_config()
    return gov.NodeRecord(load_node_key(home.node_key_path).node_id, config.org, config.name)


def node_id(directory: Path, node: str) -> bytes:
    """A node's id: 64 hex digits as given (a node of another directory), or the directory's node so
    named."""
    digits = node.removeprefix("0x")
    if len(digits) == NODE_ID_HEX_DIGITS and all(c in "0123456789abcdefABCDEF" for c in digits):
        return bytes.fromhex(digits)
    return node_record(directory, node).node_id


def org_nodes(directory: Path, org: str) -> list[gov.NodeRecord]:
    """The records of ``org``'s nodes in the directory, so ``add-member`` admits them as it joins."""
    return [node_record(directory, e.name) for e in load_alliance(directory).nodes if e.org == org]


def roles_of(text: str) -> list[str]:
    """``R1,R2`` as a role list, sorted and without repeats; an empty text is no role (every account)."""
    return sorted({part.strip() for part in text.split(",") if part.strip()})


def new_member_admin(directory: Path, org: str, admin: str | None) -> bytes | None:
    """The account that becomes ``org``'s admin when it joins: the one named, else the key
    ``ORG-admin`` if the directory has it, else none (the committee can grant the role later)."""
    if admin:
        return keyring.resolve_address(directory, admin)
    default = load_alliance(directory).admin_key_name(org)
    if keyring.key_path(directory, default).exists():
        return keyring.resolve_address(directory, default)
    return None


def add_member(directory: Path, org: str, weight: int, admin: str | None) -> gov.AddMember:
    return gov.AddMember(
        org=org,
        ca_certificate=org_ca_der(directory, org),
        weight=weight,
        admin=new_member_admin(directory, org, admin),
        nodes=org_nodes(directory, org),
    )


def add_validator(directory: Path, node: str, power: int) -> gov.AddValidator:
    record = node_record(directory, node)
    return gov.AddValidator(node_id=record.node_id, org=record.org, name=record.name, power=power)


def add_node(directory: Path, node: str) -> gov.AddNode:
    record = node_record(directory, node)
    return gov.AddNode(node_id=record.node_id, org=record.org, name=record.name)
