"""The console's governance actions: what each kind takes, and building it from a form.

Theory of operation: ``KINDS`` describes, for every governance action the command line can propose
(``alliance gov propose KIND``), the fields its form asks for; the console hands that description to
the page, which builds its forms from it, and ``build_action`` turns the submitted fields back into
the ``abi.gov`` action through ``cli.gov_actions``, the builders the command line uses: an account
is an address or a key name of ``DIR/keys``; a node is a node name of the directory (its id,
organisation and name are read from its home) or, for removals, a node id; an organisation's CA
certificate and node records come from ``DIR/orgs``. Every built action is encoded
and decoded once (``checked``), so a value the chain would refuse by type (an over-long reason, a
power out of range) is a ``UsageError`` here rather than a spent transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from alliance import codec
from alliance.abi import gov
from alliance.cli import gov_actions, keyring
from alliance.errors import DecodeError, UsageError
from alliance.node.bootstrap import load_alliance
from alliance.sdk.wire import parse_hex

T = TypeVar("T")

FIELD_TEXT_LENGTH_MAX = 1000


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    type: str = "text"  # text | number | account | org | node
    required: bool = True
    default: str | int | None = None
    help: str | None = None
    min: int | None = None


_ACCOUNT = FieldSpec(
    "account", "Account", "account", help="An address (0x…) or the name of a key of this alliance."
)
_NODE = FieldSpec("node", "Node", "node", help="A node of this alliance directory.")

KINDS: dict[str, tuple[FieldSpec, ...]] = {
    "add-member": (
        FieldSpec("org", "Organisation", "org", help="Its CA and its nodes are read from this directory."),
        FieldSpec("weight", "Weight", "number", default=1, min=1),
        FieldSpec(
            "admin",
            "Administrator",
            "account",
            required=False,
            help="Address or key name; empty: the key ORG-admin, if this directory has it.",
        ),
    ),
    "remove-member": (FieldSpec("org", "Organisation", "org"),),
    "add-validator": (_NODE, FieldSpec("power", "Power", "number", default=10, min=1)),
    "remove-validator": (_NODE,),
    "add-node": (_NODE,),
    "remove-node": (_NODE,),
    "set-param": (
        FieldSpec("name", "Parameter", help="A chain parameter, e.g. block_txs_max."),
        FieldSpec("value", "Value", help="Thresholds as a fraction, e.g. 2/3."),
    ),
    "grant-role": (
        _ACCOUNT,
        FieldSpec("role", "Role", help="e.g. admin or supervisor."),
        FieldSpec(
            "org", "Organisation", required=False, help="The account's organisation, if it has none yet."
        ),
    ),
    "revoke-role": (_ACCOUNT, FieldSpec("role", "Role")),
    "set-access": (
        FieldSpec("module", "Module"),
        FieldSpec("method", "Method"),
        FieldSpec(
            "roles", "Roles", required=False, help="Comma-separated; empty opens the call to every account."
        ),
    ),
    "freeze": (_ACCOUNT, FieldSpec("reason", "Reason", help="Recorded on the ledger.")),
    "unfreeze": (_ACCOUNT,),
    "deploy-contract": (
        FieldSpec("name", "Contract name", help="Lower case, 1-32 characters."),
        FieldSpec(
            "code_hash", "Code hash", help="The hash of source already submitted (alliance contract deploy)."
        ),
        FieldSpec("init_args", "Init arguments", required=False, help="Hex of the canonical argument list."),
    ),
    "upgrade-contract": (
        FieldSpec("name", "Contract name"),
        FieldSpec("code_hash", "Code hash", help="The hash of the new, submitted source."),
    ),
}


def kinds_json() -> dict[str, list[dict[str, Any]]]:
    return {kind: [asdict(spec) for spec in specs] for kind, specs in KINDS.items()}


def checked(kind: type[T], value: T) -> T:
    """``value`` as the node will decode it (constructing a Struct does not check its constraints)."""
    try:
        return codec.decode(kind, codec.encode(value))
    except DecodeError as exc:
        raise UsageError(f"invalid arguments: {exc.message}") from None


# --- reading the form ----------------------------------------------------------------------------------


def text(fields: Mapping[str, object], name: str, *, required: bool = True) -> str:
    value = fields.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    value = value.strip()
    if len(value) > FIELD_TEXT_LENGTH_MAX:
        raise UsageError(f"{name} is longer than {FIELD_TEXT_LENGTH_MAX} characters")
    if required and not value:
        raise UsageError(f"{name} is required")
    return value


def number(fields: Mapping[str, object], name: str, *, default: int | None = None, minimum: int = 0) -> int:
    value = fields.get(name)
    if value is None or value == "":
        if default is None:
            raise UsageError(f"{name} is required")
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be a whole number")
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}")
    return value


def account(directory: Path, fields: Mapping[str, object], name: str = "account") -> bytes:
    return keyring.resolve_address(directory, text(fields, name))


def build_action(directory: Path, kind: str, fields: Mapping[str, object]) -> gov.Action:
    """The governance action ``kind`` from a form's fields; ``UsageError`` for anything amiss."""
    if kind not in KINDS:
        raise UsageError(f"unknown kind of proposal {kind!r}; one of: {', '.join(KINDS)}")
    load_alliance(directory)  # no alliance there: a usage error before any field is read
    action: gov.Action
    if kind == "add-member":
        action = gov_actions.add_member(
            directory,
            text(fields, "org"),
            number(fields, "weight", default=1, minimum=1),
            text(fields, "admin", required=False) or None,
        )
    elif kind == "remove-member":
        action = gov.RemoveMember(org=text(fields, "org"))
    elif kind == "add-validator":
        power = number(fields, "power", default=10, minimum=1)
        action = gov_actions.add_validator(directory, text(fields, "node"), power)
    elif kind == "add-node":
        action = gov_actions.add_node(directory, text(fields, "node"))
    elif kind == "remove-validator":
        action = gov.RemoveValidator(node_id=gov_actions.node_id(directory, text(fields, "node")))
    elif kind == "remove-node":
        action = gov.RemoveNode(node_id=gov_actions.node_id(directory, text(fields, "node")))
    elif kind == "set-param":
        action = gov.SetParam(name=text(fields, "name"), value=text(fields, "value"))
    elif kind == "grant-role":
        action = gov.GrantRole(
            account=account(directory, fields),
            role=text(fields, "role"),
            org=text(fields, "org", required=False),
        )
    elif kind == "revoke-role":
        action = gov.RevokeRole(account=account(directory, fields), role=text(fields, "role"))
    elif kind == "set-access":
        roles = gov_actions.roles_of(text(fields, "roles", required=False))
        action = gov.SetAccess(module=text(fields, "module"), method=text(fields, "method"), roles=roles)
    elif kind == "freeze":
        action = gov.Freeze(account=account(directory, fields), reason=text(fields, "reason"))
    elif kind == "deploy-contract":
        init = text(fields, "init_args", required=False) or "90"  # 0x90: the empty argument list
        action = gov.DeployContract(
            name=text(fields, "name"),
            code_hash=hex_field(text(fields, "code_hash"), "the code hash", 32),
            init_args=hex_field(init, "the init arguments", None),
        )
    elif kind == "upgrade-contract":
        action = gov.UpgradeContract(
            name=text(fields, "name"), code_hash=hex_field(text(fields, "code_hash"), "the code hash", 32)
        )
    else:
        action = gov.Unfreeze(account=account(directory, fields))
    return action


def hex_field(value: str, what: str, size_bytes: int | None) -> bytes:
    return parse_hex(value, what, size_bytes=size_bytes)


def directory_summary(directory: Path) -> dict[str, Any]:
    """What the console's forms offer: the directory's organisations and nodes."""
    layout = load_alliance(directory)
    return {
        "orgs": list(layout.orgs),
        "nodes": [{"name": e.name, "org": e.org} for e in layout.nodes],
    }
