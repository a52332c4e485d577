"""Governance from the command line: ``org new``, ``node new``, ``gov ...`` and the supervisor's ``freeze``.

Theory of operation
-------------------
Two kinds of command live here.

*Local* ones change only the alliance directory ``D``: ``org new`` makes an organisation's CA and
admin key, ``node new`` a node home with a certificate from that CA (``alliance.node.bootstrap``'s
``add_org`` and ``add_node``). Neither makes anything a member or a validator: only the ledger
decides that, by a committee vote.

*Ledger* ones sign a call to the ``gov`` module with a key from ``D/keys``, submit it to a node
(``--api URL``, or the first node of ``D`` that answers), wait, bounded, for its commit, and read
the outcome back: ``gov propose KIND`` (its organisation's yes vote is counted with it), ``gov
vote``, and ``freeze`` (the supervisor's direct freeze). A transaction that commits with a failed
receipt is refused by the chain: ``TransactionFailed`` (exit status 1) with the receipt's code
(``permission_denied``, ``not_a_member``, ``already_voted``, ``voting_closed``...) and message, on
one line. Arguments are checked locally first by encoding and decoding them exactly as the node
will (``_checked``), so a malformed one is a usage error (exit 2) rather than a spent transaction.

Reading (``gov show``, ``gov list``, ``gov members``) goes through the SDK's governance reads,
that is the API's governance routes, and ``--json`` prints the node's answer as the API gives it
(``sdk.views.proposal_json``/``governance_json``: the same fields and encodings, bytes as hex and
addresses EIP-55 checksummed by declared type): the CLI has no renderer of ledger data of its own,
so it cannot disagree with the API. A proposal still open after its deadline reads as ``expired``
(judged, as the API does, at the next height: no vote can enter it any more). The text output is
drawn from that same JSON.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from cryptography.hazmat.primitives import serialization

from alliance import codec
from alliance.abi import gov
from alliance.cli import keyring, localnet
from alliance.crypto.certificates import load_certificate
from alliance.crypto.keys import AccountKey, load_node_key, to_checksum_address
from alliance.errors import DecodeError, OperationalError, UsageError
from alliance.ledger.transaction import sign_tx
from alliance.node.bootstrap import AllianceLayout, add_node, add_org, load_alliance
from alliance.sdk import Client
from alliance.sdk.views import TxView, governance_json, proposal_json

T = TypeVar("T")

# The same default as ``alliance.cli``'s (which imports this module, so it cannot be imported here).
DEFAULT_DIR = ".alliance"
WAIT_S = 30.0  # a governance transaction that has not committed by then is reported, not waited for
PROPOSALS_LISTED_MAX = 200  # ``gov list`` shows the newest ones (one API page); ``gov show ID`` reaches any
NODE_ID_HEX_LENGTH = 64


class TransactionFailed(OperationalError):
    """The transaction committed, and the chain refused it: the receipt's code says why."""

    code = "transaction_failed"

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


# --- local: organisations and nodes -------------------------------------------------------------------


def org_new(directory: Path, name: str) -> dict[str, Any]:
    made = add_org(directory, name)
    return {
        "org": made.org,
        "ca": str(made.ca_path),
        "admin": {"name": made.admin_key, "address": to_checksum_address(made.admin_address)},
        "member": False,  # the committee decides: gov propose add-member
    }


def node_new(directory: Path, org: str, name: str) -> dict[str, Any]:
    made = add_node(directory, org, name)
    entry = made.entry
    return {
        "name": entry.name,
        "org": entry.org,
        "home": str(made.layout.directory / entry.home),
        "node_id": made.node_id.hex(),
        "api": made.layout.api_url(entry),
        "p2p": made.layout.p2p_address(entry),
        "validator": entry.validator,
    }


# --- signing, sending, reading -------------------------------------------------------------------------


def sign_call(
    client: Client, key: AccountKey, target: str, method: str, args: object,
    *, valid_for_blocks: int | None = None,
) -> bytes:
    """A signed call of ``target.method(args)``, valid from the node's height for half the window
    (as the SDK's ``sign_transfer``: a node a few blocks behind still takes it by gossip)."""
    status = client.status()
    window = valid_for_blocks if valid_for_blocks is not None else max(1, status.tx_window_blocks // 2)
    tx = sign_tx(
        key, chain_id=status.chain_id, target=target, method=method, args=args,
        valid_until=status.height + window,
    )
    return codec.encode(tx)


def send_call(
    client: Client, key: AccountKey, method: str, args: object, *, what: str, wait_s: float = WAIT_S
) -> TxView:
    """Submit ``gov.method(args)``, wait for its commit; ``TransactionFailed`` when the chain refused it."""
    tx_hash = client.submit(sign_call(client, key, gov.MODULE_NAME, method, args))
    view = client.wait(tx_hash, timeout_s=wait_s)
    if not view.ok:
        reason = f"{view.status}: {view.error}" if view.error else view.status
        raise TransactionFailed(
            f"{what} refused: {reason} (transaction {view.hash.hex()} at height {view.height})", view.status
        )
    return view


def _checked(kind: type[T], value: T) -> T:
    """``value`` as the node will decode it: constructing a Struct does not check its constraints."""
    try:
        return codec.decode(kind, codec.encode(value))
    except DecodeError as exc:
        raise UsageError(f"invalid arguments: {exc.message}") from None


def _event(view: TxView, name: str, kind: type[T]) -> T:
    for event in view.events:
        if event.emitter == gov.MODULE_NAME and event.name == name:
            try:
                return codec.decode(kind, event.data)
            except DecodeError as exc:
                raise OperationalError(f"the node's {name!r} event is malformed: {exc.message}") from None
    raise OperationalError(f"transaction {view.hash.hex()} committed without a {name!r} event")


# --- ledger: proposals, votes, freezes ------------------------------------------------------------------


def propose(client: Client, key: AccountKey, action: gov.Action, voting_blocks: int = 0) -> dict[str, Any]:
    args = _checked(gov.ProposeArgs, gov.ProposeArgs(action=action, voting_blocks=voting_blocks))
    kind = gov.kind_of(action)
    view = send_call(client, key, "propose", args, what=f"proposal {kind}")
    event = _event(view, "proposed", gov.ProposalEvent)
    return {
        "proposal": event.id, "kind": kind, "status": client.proposal(event.id).status,
        "hash": view.hash.hex(), "height": view.height,
    }


def vote(client: Client, key: AccountKey, proposal_id: int, yes: bool) -> dict[str, Any]:
    args = _checked(gov.VoteArgs, gov.VoteArgs(proposal=proposal_id, yes=yes))
    view = send_call(client, key, "vote", args, what=f"vote on proposal {proposal_id}")
    return {
        "proposal": proposal_id, "status": client.proposal(proposal_id).status,
        "hash": view.hash.hex(), "height": view.height,
    }


def freeze(client: Client, key: AccountKey, account: bytes, reason: str) -> dict[str, Any]:
    args = _checked(gov.FreezeArgs, gov.FreezeArgs(account=account, reason=reason))
    who = to_checksum_address(account)
    view = send_call(client, key, "freeze", args, what=f"freezing {who}")
    return {"account": who, "hash": view.hash.hex(), "height": view.height, "status": view.status}


def show(client: Client, proposal_id: int) -> dict[str, Any]:
    """``GET /v1/gov/proposals/{id}``'s answer (``NotFound`` when there is no such proposal)."""
    return proposal_json(client.proposal(proposal_id))


def list_proposals(client: Client) -> list[dict[str, Any]]:
    """The newest proposals, oldest first, as ``GET /v1/gov/proposals`` answers them: one page, so
    they were all read at one height (one made meanwhile may be missing: the next list shows it)."""
    count = client.governance().proposals
    if count == 0:
        return []
    first = max(1, count - PROPOSALS_LISTED_MAX + 1)
    return [proposal_json(p) for p in client.proposals(first, PROPOSALS_LISTED_MAX)]


def members(client: Client) -> dict[str, Any]:
    """``GET /v1/gov``'s answer: members, nodes, validators, access rules and frozen accounts, at
    one height."""
    return governance_json(client.governance())


# --- building actions from the local directory ------------------------------------------------------------


def org_ca_der(directory: Path, org: str) -> bytes:
    layout = load_alliance(directory)
    path = layout.org_ca_paths(org)[0]
    if not path.exists():
        raise UsageError(f"no CA certificate for organisation {org!r} at {path} (see 'alliance org new')")
    return load_certificate(path).public_bytes(serialization.Encoding.DER)


def node_identity(directory: Path, node: str) -> tuple[bytes, str, str]:
    """(node id, organisation, name) of a node of the local alliance, from its home."""
    layout: AllianceLayout = load_alliance(directory)
    home = layout.home(layout.node(node))
    config = home.load_config()
    return load_node_key(home.node_key_path).node_id, config.org, config.name


def org_nodes(directory: Path, org: str) -> list[gov.NodeRecord]:
    """The records of ``org``'s nodes in the local alliance directory (``alliance node new``), so
    that ``add-member`` admits them to the network as the organisation joins."""
    layout: AllianceLayout = load_alliance(directory)
    records = []
    for entry in layout.nodes:
        if entry.org == org:
            node_id, node_org, name = node_identity(directory, entry.name)
            records.append(gov.NodeRecord(node_id, node_org, name))
    return records


def node_id_of(directory: Path, node: str) -> bytes:
    """A node's id: 64 hex digits as given, or read from the home of the local node so named."""
    text = node.removeprefix("0x")
    if len(text) == NODE_ID_HEX_LENGTH and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    return node_identity(directory, node)[0]


def roles_of(text: str) -> list[str]:
    """``R1,R2`` as a role list; an empty text opens the pair to every account."""
    return sorted({part.strip() for part in text.split(",") if part.strip()})


# --- commands ------------------------------------------------------------------------------------------

gov_app = typer.Typer(
    help="The committee: proposals, votes and what the ledger records.", no_args_is_help=True
)
propose_app = typer.Typer(
    help="Propose a change; your organisation's yes vote is counted with it.", no_args_is_help=True
)
org_app = typer.Typer(help="Organisations of the local alliance.", no_args_is_help=True)
gov_app.add_typer(propose_app, name="propose")

DirOption = Annotated[Path, typer.Option("--dir", help="The local alliance's directory (and its keys).")]
ApiOption = Annotated[str | None, typer.Option("--api", help="A node's API URL (instead of --dir's nodes).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
FromOption = Annotated[str, typer.Option("--from", help="The name of the signing key in DIR/keys.")]
VotingOption = Annotated[
    int, typer.Option("--voting-blocks", min=0, help="Voting period in blocks (0: the chain's default).")
]
AccountOption = Annotated[str, typer.Option("--account", help="An address or a key name.")]
NodeOption = Annotated[str, typer.Option("--node", help="A node of DIR (or its id, 64 hex digits).")]


def _emit(data: Any, as_json: bool) -> bool:
    if as_json:
        print(json.dumps(data))
    return as_json


@org_app.command("new")
def org_new_command(
    name: Annotated[str, typer.Option("--name", help="The organisation's name.")],
    directory: DirOption = Path(DEFAULT_DIR),
    as_json: JsonOption = False,
) -> None:
    """Create an organisation's CA and admin key (ORG-admin); it is not a member until voted in."""
    made = org_new(directory, name)
    if not _emit(made, as_json):
        print(f"created organisation {name}: CA {made['ca']}, admin key {made['admin']['name']} "
              f"({made['admin']['address']})")
        print("it is not a member yet: "
              f"alliance gov propose add-member --org {name} --from ADMIN --dir {directory}")


def node_new_command(
    org: Annotated[str, typer.Option("--org", help="The node's organisation.")],
    name: Annotated[str, typer.Option("--name", help="The node's name.")],
    directory: DirOption = Path(DEFAULT_DIR),
    as_json: JsonOption = False,
) -> None:
    """Create a node home DIR/nodes/NAME with a certificate from ORG's CA; 'alliance up' starts it."""
    made = node_new(directory, org, name)
    if not _emit(made, as_json):
        print(f"created node {name} of {org} in {made['home']} "
              f"(id {made['node_id'][:16]}, api {made['api']})")
        print(f"start it with 'alliance up --dir {directory}'; it syncs once {org} is a member "
              "and votes once it is a validator")


def _propose(
    action: gov.Action, sender: str, voting_blocks: int, directory: Path, api: str | None, as_json: bool
) -> None:
    _checked(gov.ProposeArgs, gov.ProposeArgs(action=action, voting_blocks=voting_blocks))  # before dialling
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        result = propose(client, key, action, voting_blocks)
    if not _emit(result, as_json):
        print(f"proposal {result['proposal']} ({result['kind']}) is {result['status']} "
              f"(transaction {result['hash']} at height {result['height']})")


def _new_member_admin(directory: Path, org: str, admin: str | None) -> bytes | None:
    """The account that becomes ``admin`` of ``org`` when it joins: named, or ``ORG-admin`` if present."""
    if admin is not None:
        return keyring.resolve_address(directory, admin)
    default = f"{org}-admin"
    if keyring.key_path(directory, default).exists():
        return keyring.resolve_address(directory, default)
    return None  # the committee can grant the role later: gov propose grant-role


@propose_app.command("add-member")
def propose_add_member(
    org: Annotated[str, typer.Option("--org", help="The organisation (its CA is read from DIR/orgs/ORG).")],
    sender: FromOption,
    weight: Annotated[int, typer.Option("--weight", min=1, help="Its voting weight.")] = 1,
    admin: Annotated[str | None, typer.Option(
        "--admin", help="Its administrator (address or key name); default: the key ORG-admin in DIR/keys.",
    )] = None,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make ORG a member: its nodes in DIR are recorded (they may connect and sync), and its admin
    may propose and vote."""
    admin_address = _new_member_admin(directory, org, admin)
    action = gov.AddMember(
        org=org,
        ca_certificate=org_ca_der(directory, org),
        weight=weight,
        admin=admin_address,
        nodes=org_nodes(directory, org),
    )
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("remove-member")
def propose_remove_member(
    org: Annotated[str, typer.Option("--org", help="The member organisation.")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove ORG: its validators leave the set and its nodes are disconnected."""
    _propose(gov.RemoveMember(org=org), sender, voting_blocks, directory, api, as_json)


@propose_app.command("add-validator")
def propose_add_validator(
    node: NodeOption,
    sender: FromOption,
    power: Annotated[int, typer.Option("--power", min=1, help="Its voting power.")] = 10,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make NODE (of a member organisation) a validator; it votes two blocks after the change."""
    node_id, org, name = node_identity(directory, node)
    action = gov.AddValidator(node_id=node_id, org=org, name=name, power=power)
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("add-node")
def propose_add_node(
    node: NodeOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record NODE (of a member organisation) on the ledger, so the others admit it; it follows the
    chain without voting (add-validator gives it voting power)."""
    node_id, org, name = node_identity(directory, node)
    _propose(gov.AddNode(node_id=node_id, org=org, name=name), sender, voting_blocks, directory, api, as_json)


@propose_app.command("remove-node")
def propose_remove_node(
    node: NodeOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove NODE's record: it is disconnected and refused (a validator must be removed as one first)."""
    action = gov.RemoveNode(node_id=node_id_of(directory, node))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("remove-validator")
def propose_remove_validator(
    node: NodeOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take NODE out of the validator set."""
    action = gov.RemoveValidator(node_id=node_id_of(directory, node))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("set-param")
def propose_set_param(
    name: Annotated[str, typer.Option("--name", help="The chain parameter, e.g. block_txs_max.")],
    value: Annotated[str, typer.Option("--value", help="Its new value (thresholds as a fraction, 2/3).")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a chain parameter."""
    _propose(gov.SetParam(name=name, value=value), sender, voting_blocks, directory, api, as_json)


@propose_app.command("grant-role")
def propose_grant_role(
    account: AccountOption,
    role: Annotated[str, typer.Option("--role", help="The role, e.g. admin.")],
    sender: FromOption,
    org: Annotated[str, typer.Option("--org", help="The account's organisation, if it has none yet.")] = "",
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Grant ROLE to an account."""
    action = gov.GrantRole(account=keyring.resolve_address(directory, account), role=role, org=org)
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("revoke-role")
def propose_revoke_role(
    account: AccountOption,
    role: Annotated[str, typer.Option("--role", help="The role.")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke ROLE from an account."""
    action = gov.RevokeRole(account=keyring.resolve_address(directory, account), role=role)
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("set-access")
def propose_set_access(
    module: Annotated[str, typer.Option("--module", help="The module (or contract).")],
    method: Annotated[str, typer.Option("--method", help="The method.")],
    roles: Annotated[str, typer.Option("--roles", help="R1,R2: the roles allowed; empty: everyone.")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set which roles may call MODULE.METHOD."""
    action = gov.SetAccess(module=module, method=method, roles=roles_of(roles))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("freeze")
def propose_freeze(
    account: AccountOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on the ledger).")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Freeze an account by committee vote (the supervisor can do it at once: 'alliance freeze')."""
    action = gov.Freeze(account=keyring.resolve_address(directory, account), reason=reason)
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("unfreeze")
def propose_unfreeze(
    account: AccountOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Unfreeze an account (only the committee can)."""
    action = gov.Unfreeze(account=keyring.resolve_address(directory, account))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@gov_app.command("vote")
def vote_command(
    proposal: Annotated[int, typer.Option("--proposal", min=1, help="The proposal's id.")],
    sender: FromOption,
    yes: Annotated[bool | None, typer.Option("--yes/--no", help="For or against.")] = None,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Vote on a proposal for your organisation (once per organisation)."""
    if yes is None:
        raise UsageError("say how to vote: --yes or --no")
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        result = vote(client, key, proposal, yes)
    if not _emit(result, as_json):
        print(f"voted {'yes' if yes else 'no'} on proposal {proposal}: it is {result['status']} "
              f"(transaction {result['hash']} at height {result['height']})")


@gov_app.command("show")
def show_command(
    proposal: Annotated[int, typer.Argument(metavar="ID", min=1, help="The proposal's id.")],
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A proposal: its action, votes and status."""
    with localnet.open_client(directory, api) as client:
        result = show(client, proposal)
    if not _emit(result, as_json):
        _print_proposal(result)


@gov_app.command("list")
def list_command(
    directory: DirOption = Path(DEFAULT_DIR), api: ApiOption = None, as_json: JsonOption = False
) -> None:
    """Every proposal (the newest ones), with its status."""
    with localnet.open_client(directory, api) as client:
        result = list_proposals(client)
    if not _emit(result, as_json):
        for item in result:
            yes = sum(1 for v in item["votes"] if v["yes"])
            print(f"{item['id']:>4}  {item['kind']:<16} {item['status']:<8} by {item['proposer_org']}, "
                  f"{yes}/{len(item['votes'])} yes, deadline {item['deadline_height']}")
        if not result:
            print("no proposals yet")


@gov_app.command("members")
def members_command(
    directory: DirOption = Path(DEFAULT_DIR), api: ApiOption = None, as_json: JsonOption = False
) -> None:
    """Members and weights, nodes and validators, access rules and frozen accounts."""
    with localnet.open_client(directory, api) as client:
        result = members(client)
    if _emit(result, as_json):
        return
    _print_members(result)


def _print_members(result: dict[str, Any]) -> None:
    """``GET /v1/gov``'s answer for people: a node's power is its entry in ``validators`` (0: none)."""
    total = sum(m["weight"] for m in result["members"])
    print(f"at height {result['height']}, total weight {total}, {result['proposals']} proposals made")
    for m in result["members"]:
        ca_sha256 = hashlib.sha256(bytes.fromhex(m["ca_certificate"])).hexdigest()
        print(f"member {m['org']}  weight {m['weight']}  CA sha256 {ca_sha256[:16]}")
    powers = {v["node_id"]: v["power"] for v in result["validators"]}
    for n in result["nodes"]:
        print(f"node {n['name']} of {n['org']}  power {powers.get(n['node_id'], 0)}  id {n['node_id'][:16]}")
    named = {n["node_id"] for n in result["nodes"]}
    for v in result["validators"]:
        if v["node_id"] not in named:  # a validator with no node record
            print(f"validator {v['name'] or '?'}  power {v['power']}  id {v['node_id'][:16]}")
    for rule in result["access"]:
        print(f"access {rule['module']}.{rule['method']}: {', '.join(rule['roles']) or 'everyone'}")
    for entry in result["frozen"]:
        print(f"frozen {entry['address']} at height {entry['height']}: {entry['reason']}")


def freeze_command(
    account: AccountOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on the ledger).")],
    sender: FromOption,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The supervisor freezes an account at once (unfreezing needs the committee)."""
    key = keyring.load_named_key(directory, sender)
    address = keyring.resolve_address(directory, account)
    _checked(gov.FreezeArgs, gov.FreezeArgs(account=address, reason=reason))  # before dialling
    with localnet.open_client(directory, api) as client:
        result = freeze(client, key, address, reason)
    if not _emit(result, as_json):
        print(f"froze {result['account']} (transaction {result['hash']} at height {result['height']})")


def _print_proposal(item: dict[str, Any]) -> None:
    print(f"proposal {item['id']}: {item['kind']} {json.dumps(_short(item['action']))}")
    print(f"  status {item['status']}, threshold more than {item['threshold']} of the committee's weight")
    print(f"  proposed by {item['proposer_org']} ({item['proposer']}) at height {item['created_height']}, "
          f"deadline {item['deadline_height']}")
    for ballot in item["votes"]:
        print(f"  {ballot['org']}: {'yes' if ballot['yes'] else 'no'} at height {ballot['height']}")
    if item["error"]:
        print(f"  passed but not applied: {item['error']}")


def _short(action: dict[str, Any]) -> dict[str, Any]:
    """An action for people: a certificate's hex is noise, its length is enough."""
    return {k: (f"<{len(v) // 2} bytes>" if k == "ca_certificate" else v) for k, v in action.items()}
