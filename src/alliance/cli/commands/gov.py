"""The committee from the command line: ``gov propose KIND``, ``gov vote``, and the reads ``gov show``,
``gov list`` and ``gov members``.

Theory of operation: the ledger commands build a governance action from the command line and the
local directory (an organisation's CA certificate, its nodes' ids: ``cli.gov_actions``, which the
console's forms use too), and the SDK does the rest: it
checks the arguments as the node will decode them (before anything is dialled, so a malformed one
is a usage error, exit 2), signs with the key from DIR/keys, submits, waits for the commit and
reads the outcome from the receipt's events (``Client.propose``/``vote``). A proposal's
organisation's yes vote is counted with it. A transaction the chain refuses raises the typed error
its receipt's code names (``permission_denied``, ``not_a_member``, ``already_voted``,
``voting_closed``...), printed on one line by ``main`` (exit 1).

The reads print the API's answers: ``--json`` is the node's JSON as the API sent it (the wire
views encoded back), and the text output is drawn from the same views. A proposal still open
after its deadline reads as ``expired`` (judged, as the API does, at the next height).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from alliance.abi import gov
from alliance.cli import gov_actions, keyring, localnet
from alliance.cli.options import (
    DEFAULT_DIR,
    ApiOption,
    DirOption,
    FromOption,
    JsonOption,
    emit,
    print_view,
)
from alliance.crypto.keys import to_checksum_address
from alliance.errors import UsageError
from alliance.sdk import Client, wire
from alliance.sdk.client import propose_args, vote_args
from alliance.sdk.wire import GovernanceView, ProposalView

PROPOSALS_LISTED_MAX = 200  # ``gov list`` shows the newest ones (one API page); ``gov show ID`` reaches any

app = typer.Typer(help="The committee: proposals, votes and what the ledger records.", no_args_is_help=True)
propose_app = typer.Typer(
    help="Propose a change; your organisation's yes vote is counted with it.", no_args_is_help=True
)
app.add_typer(propose_app, name="propose")

VotingOption = Annotated[
    int, typer.Option("--voting-blocks", min=0, help="Voting period in blocks (0: the chain's default).")
]
AccountOption = Annotated[str, typer.Option("--account", help="An address or a key name.")]
NodeOption = Annotated[str, typer.Option("--node", help="A node of DIR (or its id, 64 hex digits).")]


# --- reads ---------------------------------------------------------------------------------------------


def list_proposals(client: Client) -> list[ProposalView]:
    """The newest proposals, oldest first, as ``GET /v1/gov/proposals`` answers them: one page, so
    they were all read at one height (one made meanwhile may be missing: the next list shows it)."""
    count = client.governance().proposals
    if count == 0:
        return []
    first = max(1, count - PROPOSALS_LISTED_MAX + 1)
    return client.proposals(first, PROPOSALS_LISTED_MAX)


# --- ledger commands -----------------------------------------------------------------------------------


def _propose(
    action: gov.Action, sender: str, voting_blocks: int, directory: Path, api: str | None, as_json: bool
) -> None:
    propose_args(action, voting_blocks)  # a malformed action is a usage error before dialling
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        outcome = client.propose(key, action, voting_blocks=voting_blocks)
    result = {
        "proposal": outcome.proposal,
        "kind": gov.kind_of(action),
        "status": outcome.proposal_status,
        "hash": outcome.tx_hash.hex(),
        "height": outcome.height,
    }
    if not emit(result, as_json):
        print(
            f"proposal {result['proposal']} ({result['kind']}) is {result['status']} "
            f"(transaction {result['hash']} at height {result['height']})"
        )


@propose_app.command("add-member")
def propose_add_member(
    org: Annotated[str, typer.Option("--org", help="The organisation (its CA is read from DIR/orgs/ORG).")],
    sender: FromOption,
    weight: Annotated[int, typer.Option("--weight", min=1, help="Its voting weight.")] = 1,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin",
            help="Its administrator (address or key name); default: the key ORG-admin in DIR/keys.",
        ),
    ] = None,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make ORG a member: its nodes in DIR are recorded (they may connect and sync), and its admin
    may propose and vote."""
    action = gov_actions.add_member(directory, org, weight, admin)
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("remove-member")
def propose_remove_member(
    org: Annotated[str, typer.Option("--org", help="The member organisation.")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
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
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make NODE (of a member organisation) a validator; it votes two blocks after the change."""
    action = gov_actions.add_validator(directory, node, power)
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("add-node")
def propose_add_node(
    node: NodeOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record NODE (of a member organisation) on the ledger, so the others admit it; it follows the
    chain without voting (add-validator gives it voting power)."""
    _propose(gov_actions.add_node(directory, node), sender, voting_blocks, directory, api, as_json)


@propose_app.command("remove-node")
def propose_remove_node(
    node: NodeOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove NODE's record: it is disconnected and refused (a validator must be removed as one first)."""
    action = gov.RemoveNode(node_id=gov_actions.node_id(directory, node))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("remove-validator")
def propose_remove_validator(
    node: NodeOption,
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take NODE out of the validator set."""
    action = gov.RemoveValidator(node_id=gov_actions.node_id(directory, node))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("set-param")
def propose_set_param(
    name: Annotated[str, typer.Option("--name", help="The chain parameter, e.g. block_txs_max.")],
    value: Annotated[str, typer.Option("--value", help="Its new value (thresholds as a fraction, 2/3).")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
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
    directory: DirOption = DEFAULT_DIR,
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
    directory: DirOption = DEFAULT_DIR,
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
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set which roles may call MODULE.METHOD."""
    action = gov.SetAccess(module=module, method=method, roles=gov_actions.roles_of(roles))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@propose_app.command("freeze")
def propose_freeze(
    account: AccountOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on the ledger).")],
    sender: FromOption,
    voting_blocks: VotingOption = 0,
    directory: DirOption = DEFAULT_DIR,
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
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Unfreeze an account (only the committee can)."""
    action = gov.Unfreeze(account=keyring.resolve_address(directory, account))
    _propose(action, sender, voting_blocks, directory, api, as_json)


@app.command("vote")
def vote_command(
    proposal: Annotated[int, typer.Option("--proposal", min=1, help="The proposal's id.")],
    sender: FromOption,
    yes: Annotated[bool | None, typer.Option("--yes/--no", help="For or against.")] = None,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Vote on a proposal for your organisation (once per organisation)."""
    if yes is None:
        raise UsageError("say how to vote: --yes or --no")
    vote_args(proposal, yes)
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        outcome = client.vote(key, proposal, yes)
    result = {
        "proposal": proposal,
        "status": outcome.proposal_status,
        "hash": outcome.tx_hash.hex(),
        "height": outcome.height,
    }
    if not emit(result, as_json):
        print(
            f"voted {'yes' if yes else 'no'} on proposal {proposal}: it is {result['status']} "
            f"(transaction {result['hash']} at height {result['height']})"
        )


# --- read commands -------------------------------------------------------------------------------------


@app.command("show")
def show_command(
    proposal: Annotated[int, typer.Argument(metavar="ID", min=1, help="The proposal's id.")],
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A proposal: its action, votes and status."""
    with localnet.open_client(directory, api) as client:
        view = client.proposal(proposal)
    if not print_view(view, as_json):
        _print_proposal(view)


@app.command("list")
def list_command(
    directory: DirOption = DEFAULT_DIR, api: ApiOption = None, as_json: JsonOption = False
) -> None:
    """Every proposal (the newest ones), with its status."""
    with localnet.open_client(directory, api) as client:
        listed = list_proposals(client)
    if print_view(listed, as_json):
        return
    for item in listed:
        yes = sum(1 for v in item.votes if v.yes)
        print(
            f"{item.id:>4}  {item.kind:<16} {item.status:<8} by {item.proposer_org}, "
            f"{yes}/{len(item.votes)} yes, deadline {item.deadline_height}"
        )
    if not listed:
        print("no proposals yet")


@app.command("members")
def members_command(
    directory: DirOption = DEFAULT_DIR, api: ApiOption = None, as_json: JsonOption = False
) -> None:
    """Members and weights, nodes and validators, access rules and frozen accounts."""
    with localnet.open_client(directory, api) as client:
        view = client.governance()
    if not print_view(view, as_json):
        _print_members(view)


@app.command("frozen")
def frozen_command(
    start: Annotated[int, typer.Option("--start", min=0, help="The position to start from.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=wire.PAGE_LIMIT_MAX, help="How many.")] = 100,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Frozen accounts, a page at a time: who froze each, when and why."""
    with localnet.open_client(directory, api) as client:
        page = client.frozen(start, limit)
    if print_view(page, as_json):
        return
    print(f"{page.total} frozen at height {page.height}; from position {page.start}:")
    for entry in page.frozen:
        print(
            f"{to_checksum_address(entry.address)} by {to_checksum_address(entry.by)} "
            f"at height {entry.height}: {entry.reason}"
        )


def _print_members(view: GovernanceView) -> None:
    """``GET /v1/gov``'s answer for people: a node's power is its entry in ``validators`` (0: none)."""
    total = sum(m.weight for m in view.members)
    print(f"at height {view.height}, total weight {total}, {view.proposals} proposals made")
    for m in view.members:
        ca_sha256 = hashlib.sha256(m.ca_certificate).hexdigest()
        print(f"member {m.org}  weight {m.weight}  CA sha256 {ca_sha256[:16]}")
    powers = {v.node_id: v.power for v in view.validators}
    for n in view.nodes:
        print(f"node {n.name} of {n.org}  power {powers.get(n.node_id, 0)}  id {n.node_id.hex()[:16]}")
    named = {n.node_id for n in view.nodes}
    for v in view.validators:
        if v.node_id not in named:  # a validator with no node record
            print(f"validator {v.name or '?'}  power {v.power}  id {v.node_id.hex()[:16]}")
    for rule in view.access:
        print(f"access {rule.module}.{rule.method}: {', '.join(rule.roles) or 'everyone'}")
    for entry in view.frozen:
        print(f"frozen {to_checksum_address(entry.address)} at height {entry.height}: {entry.reason}")
    if view.frozen_count > len(view.frozen):
        print(f"... {view.frozen_count - len(view.frozen)} more frozen accounts")


def _print_proposal(view: ProposalView) -> None:
    print(f"proposal {view.id}: {view.kind} {json.dumps(_short(view))}")
    print(f"  status {view.status}, threshold more than {view.threshold} of the committee's weight")
    proposer = to_checksum_address(view.proposer)
    print(
        f"  proposed by {view.proposer_org} ({proposer}) at height {view.created_height}, "
        f"deadline {view.deadline_height}"
    )
    for ballot in view.votes:
        print(f"  {ballot.org}: {'yes' if ballot.yes else 'no'} at height {ballot.height}")
    if view.error:
        print(f"  passed but not applied: {view.error}")


def _short(view: ProposalView) -> dict[str, Any]:
    """An action for people: a certificate's hex is noise, its length is enough."""
    fields: dict[str, Any] = wire.to_builtins(view.action)
    shown = {k: v for k, v in fields.items() if k != "kind"}
    return {k: (f"<{len(v) // 2} bytes>" if k == "ca_certificate" else v) for k, v in shown.items()}
