"""Governance: members, nodes, roles, access rules, freezing, and the committee's proposals and votes.

Theory of operation
-------------------
Everything a consortium decides together is state, changed only by transactions, so every node
enforces the same rules and every decision is on the ledger for audit. The state layout and the
public types are in ``alliance.abi.gov``.

The committee: each member organisation votes once per proposal, through an account with the
``admin`` role of that organisation; its weight counts. A proposal passes when the yes weight is
*more than* its threshold of the committee's total weight (membership, node, validator and
supervisor changes and threshold changes use ``membership_threshold``; everything else
``other_threshold``, both chain parameters) and executes in the block whose transaction passed it.
A passed action applies whole or not at all (a nested savepoint of the block's state): when it can
no longer apply, the proposal records why and nothing else changes. It is rejected as soon as it can
no longer pass, and expires after its deadline. The proposer's organisation's vote is counted with
the proposal.

The supervisor (role ``supervisor``) freezes an account at once, with a reason; unfreezing needs
the committee. Granting or revoking the supervisor role is a membership-level decision.

Contracts read governance through ``gov.roles(account)``: the account's organisation, roles, freeze
and whether its organisation is a member, answered from state and writing nothing (a contract calls
``call("gov", "roles", [address])``; a transaction may call it too, uselessly but harmlessly).

Policy before every call (``block_policy``): a frozen sender is refused (one read of the frozen
count per block; a per-account read only while some account is frozen), and the access table's
rule for the (target, method) pair, if any, must name one of the sender's roles. Both read through
the block's buffer, so a freeze earlier in a block stops a later transaction of the same block.

Texts that reach state or receipts are built from project strings and ``ascii()`` of caller
input, never ``repr()`` or a library's wording, so they are the same on every Python and library
version (spec/app-interface.md, determinism requirements).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

import msgspec

from alliance import codec
from alliance.abi import contracts as contracts_abi
from alliance.abi import gov
from alliance.abi.chain import PARAMS_KEY, VALIDATORS_KEY, module_address
from alliance.abi.contracts import ActivateArgs
from alliance.abi.gov import (
    ACCOUNT_PREFIX,
    ACL_KEY,
    ADMIN,
    MEMBERS_KEY,
    MODULE_NAME,
    NEXT_PROPOSAL_KEY,
    NODES_KEY,
    SUPERVISOR,
    THRESHOLD_PARAMS,
    AccessRule,
    AccessTable,
    AccountRecord,
    Action,
    AddMember,
    AddNode,
    AddValidator,
    AlreadyVoted,
    Ballot,
    DeployContract,
    Freeze,
    FreezeArgs,
    FreezeEvent,
    FrozenAccount,
    GrantRole,
    Member,
    Members,
    NodeRecord,
    Nodes,
    NotAMember,
    Proposal,
    ProposalEvent,
    ProposeArgs,
    RemoveMember,
    RemoveNode,
    RemoveValidator,
    RevokeRole,
    RolesArgs,
    RolesView,
    SetAccess,
    SetParam,
    Unfreeze,
    UpgradeContract,
    VoteArgs,
    VoteEvent,
    VotingClosed,
    account_record_key,
    is_membership_level,
    kind_of,
    proposal_key,
    read_account,
    read_acl,
    read_members,
    read_nodes,
)
from alliance.crypto.keys import to_checksum_address
from alliance.errors import (
    AccountFrozen,
    DecodeError,
    ExecutionError,
    InvalidArguments,
    NotFound,
    OutOfGas,
    PermissionDenied,
)
from alliance.execution.collections import IndexedMap
from alliance.execution.context import BlockState, CallContext
from alliance.execution.modules import BlockPolicy, Method, ModuleBase, Query, ReadState
from alliance.execution.modules.contracts import check_activation
from alliance.ledger.genesis import ROLES_PER_ACCOUNT_MAX, ChainParams, Genesis
from alliance.ledger.validators import VALIDATORS_MAX, Power, Validator, ValidatorSet

if TYPE_CHECKING:
    from alliance.execution.collections import StateReader

T = TypeVar("T")

FROZEN = IndexedMap(gov.FROZEN_PREFIX, FrozenAccount)
GOVERNANCE_ADDRESS = module_address(MODULE_NAME)
"""The account governance acts as when a passed proposal calls another module (a contract going live)."""
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_ASCII_FRACTION = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")

DEFAULT_ACCESS = AccessTable(
    [
        AccessRule(MODULE_NAME, "freeze", [SUPERVISOR]),
        AccessRule(MODULE_NAME, "propose", [ADMIN]),
        AccessRule(MODULE_NAME, "vote", [ADMIN]),
    ]
)


# --- genesis -------------------------------------------------------------------------------------


def genesis_state(genesis: Genesis) -> dict[bytes, bytes | None]:
    """The governance state a genesis document describes (empty when it names no members)."""
    state: dict[bytes, bytes | None] = {}
    if genesis.members:
        state[MEMBERS_KEY] = codec.encode(
            Members([Member(m.org, m.ca_certificate, m.weight) for m in genesis.members])
        )
    if genesis.nodes:
        state[NODES_KEY] = codec.encode(Nodes([NodeRecord(n.node_id, n.org, n.name) for n in genesis.nodes]))
    for entry in genesis.roles:
        state[account_record_key(entry.address)] = codec.encode(
            AccountRecord(entry.org, sorted(set(entry.roles)))
        )
    if genesis.members:
        state[ACL_KEY] = codec.encode(DEFAULT_ACCESS)
    return state


# --- the module ------------------------------------------------------------------------------------


class GovernanceModule(ModuleBase):
    """The ``gov`` module: ``propose``, ``vote``, the supervisor's ``freeze``, and ``roles`` (a read)."""

    name = MODULE_NAME
    methods = (
        Method("propose", ProposeArgs, "open a proposal (an admin of a member organisation)"),
        Method("vote", VoteArgs, "vote on an open proposal (an admin of a member organisation)"),
        Method("freeze", FreezeArgs, "freeze an account at once, with a reason (the supervisor)"),
        Method("roles", RolesArgs, "read an account's organisation, roles and freeze (writes nothing)"),
    )
    events = gov.EVENTS
    errors = (NotAMember, AlreadyVoted, VotingClosed)

    def __init__(self) -> None:
        self.queries = {q.name: q for q in _QUERIES}

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        if method == "propose":
            self.propose(ctx, _decode(ProposeArgs, args, "gov.propose takes (action, voting_blocks)"))
        elif method == "vote":
            self.vote(ctx, _decode(VoteArgs, args, "gov.vote takes (proposal id, yes)"))
        elif method == "freeze":
            self.freeze(ctx, _decode(FreezeArgs, args, "gov.freeze takes (account, reason)"))
        elif method == "roles":
            return codec.encode(roles_of(ctx, _decode(RolesArgs, args, "gov.roles takes (account)").account))
        else:
            raise self.unknown_method(method)
        return None

    def genesis_state(self, genesis: Genesis) -> dict[bytes, bytes | None]:
        return genesis_state(genesis)

    def block_policy(self, read: ReadState) -> BlockPolicy:
        return _Policy(read)

    # -- methods ------------------------------------------------------------------------------------

    def propose(self, ctx: CallContext, args: ProposeArgs) -> None:
        org = self._voting_org(ctx)
        params = _params(ctx)
        _check_action(ctx, args.action)
        raw_next = ctx.read(NEXT_PROPOSAL_KEY)
        proposal_id = 1 if raw_next is None else codec.decode_trusted(int, raw_next)
        ctx.write(NEXT_PROPOSAL_KEY, codec.encode(proposal_id + 1))
        period = args.voting_blocks or params.voting_period_blocks
        if period > params.voting_period_blocks:
            raise InvalidArguments(f"a voting period is at most {params.voting_period_blocks} blocks")
        if is_membership_level(args.action):
            num, den = params.membership_threshold_num, params.membership_threshold_den
        else:
            num, den = params.other_threshold_num, params.other_threshold_den
        proposal = Proposal(
            id=proposal_id,
            action=args.action,
            proposer=ctx.sender,
            proposer_org=org,
            created_height=ctx.height,
            deadline_height=ctx.height + period,
            threshold_num=num,
            threshold_den=den,
            votes=[Ballot(org, ctx.sender, True, ctx.height)],
            status="open",
        )
        event = ProposalEvent(proposal_id, kind_of(args.action), "open")
        ctx.emit(self.name, "proposed", codec.encode(event))
        self._tally(ctx, proposal)

    def vote(self, ctx: CallContext, args: VoteArgs) -> None:
        org = self._voting_org(ctx)
        raw = ctx.read(proposal_key(args.proposal))
        if raw is None:
            raise InvalidArguments(f"there is no proposal {args.proposal}")
        proposal = codec.decode_trusted(Proposal, raw)
        status = proposal.status_at(ctx.height)
        if status != "open":
            raise VotingClosed(f"proposal {proposal.id} is {status}; votes are no longer taken")
        if any(b.org == org for b in proposal.votes):
            raise AlreadyVoted(f"{org} has already voted on proposal {proposal.id}")
        ballots = [*proposal.votes, Ballot(org, ctx.sender, args.yes, ctx.height)]
        ctx.emit(self.name, "voted", codec.encode(VoteEvent(proposal.id, org, args.yes)))
        self._tally(ctx, msgspec.structs.replace(proposal, votes=ballots))

    def freeze(self, ctx: CallContext, args: FreezeArgs) -> None:
        if not args.reason.strip():
            raise InvalidArguments("freezing an account needs a reason")
        _apply_freeze(ctx, args.account, args.reason)

    # -- the committee ------------------------------------------------------------------------------

    def _voting_org(self, ctx: CallContext) -> str:
        record = read_account(ctx.read(account_record_key(ctx.sender)))
        who = to_checksum_address(ctx.sender)
        if ADMIN not in record.roles:
            raise PermissionDenied(f"{who} does not have the admin role of a member organisation")
        if read_members(ctx.read(MEMBERS_KEY)).get(record.org) is None:
            raise NotAMember(f"{who} belongs to {record.org or 'no organisation'}, which is not a member")
        return record.org

    def _tally(self, ctx: CallContext, proposal: Proposal) -> None:
        members = read_members(ctx.read(MEMBERS_KEY))
        weights = {m.org: m.weight for m in members.members}
        total = members.total_weight
        yes = sum(weights.get(b.org, 0) for b in proposal.votes if b.yes)
        no = sum(weights.get(b.org, 0) for b in proposal.votes if not b.yes)
        num, den = proposal.threshold_num, proposal.threshold_den
        if yes * den > total * num:
            proposal = msgspec.structs.replace(
                proposal, status="passed", decided_height=ctx.height, error=_execute(ctx, proposal)
            )
        elif (total - no) * den <= total * num:
            proposal = msgspec.structs.replace(proposal, status="rejected", decided_height=ctx.height)
        ctx.write(proposal_key(proposal.id), codec.encode(proposal))
        if proposal.status != "open":
            event = ProposalEvent(proposal.id, kind_of(proposal.action), proposal.status)
            ctx.emit(self.name, proposal.status, codec.encode(event))


def _decode(kind: type[T], raw: bytes, usage: str) -> T:
    try:
        return codec.decode(kind, raw)
    except DecodeError:
        # The library's own wording stays out of the receipt (it differs between versions).
        raise InvalidArguments(usage) from None


def _params(state: StateReader) -> ChainParams:
    raw = state.read(PARAMS_KEY)
    return ChainParams() if raw is None else codec.decode_trusted(ChainParams, raw)


# --- the policy before every call ---------------------------------------------------------------------


class _Policy:
    """Frozen senders and the access table, for one block (module docstring).

    Committed state does not change while a block executes and the block's own writes are in
    ``BlockState.writes``, which is consulted first, so each call sees exactly what ``state.get``
    would give. Decoded access tables are kept while their bytes stay the same."""

    __slots__ = ("_acl", "_acl_raw", "_frozen_count_raw")

    def __init__(self, read: ReadState) -> None:
        self._frozen_count_raw = read(FROZEN.count_key())
        self._acl_raw = read(ACL_KEY)
        self._acl = _decode_acl(self._acl_raw)

    def __call__(self, state: BlockState, sender: bytes, target: str, method: str) -> None:
        writes = state.writes
        if writes.get(FROZEN.count_key(), self._frozen_count_raw) is not None:
            raw = state.get(FROZEN.entry_key(sender))
            if raw is not None:
                _, entry = FROZEN.decode_entry(raw)
                if entry is not None:
                    who = to_checksum_address(sender)
                    raise AccountFrozen(
                        f"account {who} was frozen at height {entry.height}: {entry.reason!a}"
                    )
        acl_raw = writes.get(ACL_KEY, self._acl_raw)
        if acl_raw is not self._acl_raw and acl_raw != self._acl_raw:
            self._acl_raw = acl_raw
            self._acl = _decode_acl(acl_raw)
        allowed = self._acl.get((target, method))
        if allowed is None:
            return
        record = read_account(state.get(account_record_key(sender)))
        if not allowed.intersection(record.roles):
            held = ", ".join(record.roles) or "none"
            raise PermissionDenied(
                f"{target}.{method} needs one of the roles {', '.join(sorted(allowed))}; "
                f"{to_checksum_address(sender)} has {held}"
            )


def _decode_acl(raw: bytes | None) -> dict[tuple[str, str], frozenset[str]]:
    return {(r.module, r.method): frozenset(r.roles) for r in read_acl(raw).rules}


# --- checking and applying actions -------------------------------------------------------------------


def _check_action(ctx: CallContext, action: Action) -> None:
    """Refuse at proposal time what could never apply (it is checked again when it passes)."""
    members = read_members(ctx.read(MEMBERS_KEY))
    if isinstance(action, AddMember):
        if members.get(action.org) is not None:
            raise InvalidArguments(f"{action.org} is a member already")
        _check_new_admin(ctx, action)
        _check_member_nodes(ctx, action)
    if isinstance(action, RemoveMember) and members.get(action.org) is None:
        raise InvalidArguments(f"{action.org} is not a member")
    if isinstance(action, AddValidator | AddNode) and members.get(action.org) is None:
        raise InvalidArguments(f"node {action.name} belongs to {action.org}, which is not a member")
    if isinstance(action, SetParam):
        _apply_param_to(_params(ctx), action)
    if isinstance(action, SetAccess) and any(not r for r in action.roles):
        raise InvalidArguments("role names must not be empty")
    if isinstance(action, DeployContract | UpgradeContract):
        check_activation(ctx, action.name, action.code_hash, upgrade=isinstance(action, UpgradeContract))


def _check_new_admin(ctx: CallContext, action: AddMember) -> None:
    if action.admin is None:
        return
    record = read_account(ctx.read(account_record_key(action.admin)))
    if record.org and record.org != action.org:
        who = to_checksum_address(action.admin)
        raise InvalidArguments(f"{who} belongs to {record.org}; it cannot administer {action.org}")
    if ADMIN not in record.roles and len(record.roles) >= ROLES_PER_ACCOUNT_MAX:
        who = to_checksum_address(action.admin)
        raise InvalidArguments(f"{who} holds {ROLES_PER_ACCOUNT_MAX} roles already")


def _check_member_nodes(ctx: CallContext, action: AddMember) -> None:
    recorded = {n.node_id: n for n in read_nodes(ctx.read(NODES_KEY)).nodes}
    for node in action.nodes:
        if node.org != action.org:
            raise InvalidArguments(f"node {node.name} is listed for {node.org}, not {action.org}")
        other = recorded.get(node.node_id)
        if other is not None and other.org != action.org:
            raise InvalidArguments(f"node {node.node_id.hex()[:16]} is recorded for {other.org} already")


def _execute(ctx: CallContext, proposal: Proposal) -> str:
    """Apply a passed proposal's action whole, or not at all: the reason when it can no longer
    apply (its writes and events are undone then, the proposal still records its outcome). Running
    out of gas is the transaction's failure, not the action's: it propagates."""
    mark = ctx.savepoint()
    try:
        _apply(ctx, proposal)
    except (InvalidArguments, NotFound) as exc:
        ctx.rollback(mark)
        return exc.message
    except OutOfGas:
        raise
    except ExecutionError as exc:  # a contract's init that refused, a module's own refusal
        ctx.rollback(mark)
        return f"{exc.code}: {exc.message}"
    ctx.release(mark)
    return ""


def _apply(ctx: CallContext, proposal: Proposal) -> None:
    action = proposal.action
    if isinstance(action, DeployContract | UpgradeContract):
        upgrade = isinstance(action, UpgradeContract)
        init_args = b"\x90" if isinstance(action, UpgradeContract) else action.init_args
        activation = ActivateArgs(
            action.name, action.code_hash, upgrade, proposal.id, proposal.proposer, init_args
        )
        ctx.call_as(GOVERNANCE_ADDRESS, contracts_abi.MODULE_NAME, "activate", codec.encode(activation))
    elif isinstance(action, AddMember | RemoveMember):
        _apply_membership(ctx, action)
    elif isinstance(action, AddNode | RemoveNode):
        _apply_node(ctx, action)
    elif isinstance(action, AddValidator | RemoveValidator):
        _apply_validator(ctx, action)
    elif isinstance(action, SetParam):
        ctx.write(PARAMS_KEY, codec.encode(_apply_param_to(_params(ctx), action)))
    elif isinstance(action, GrantRole | RevokeRole):
        _apply_role(ctx, action)
    elif isinstance(action, SetAccess):
        _apply_access(ctx, action)
    elif isinstance(action, Freeze):
        _apply_freeze(ctx, action.account, action.reason)
    else:
        _apply_unfreeze(ctx, action)


def _apply_membership(ctx: CallContext, action: AddMember | RemoveMember) -> None:
    members = read_members(ctx.read(MEMBERS_KEY))
    if isinstance(action, AddMember):
        if members.get(action.org) is not None:
            raise InvalidArguments(f"{action.org} is a member already")
        _check_new_admin(ctx, action)
        _check_member_nodes(ctx, action)
        updated = [*members.members, Member(action.org, action.ca_certificate, action.weight)]
        ctx.write(MEMBERS_KEY, codec.encode(Members(sorted(updated, key=lambda m: m.org))))
        for node in action.nodes:
            _record_node(ctx, node)
        if action.admin is not None:
            _apply_role(ctx, GrantRole(action.admin, ADMIN, action.org))
        return
    if members.get(action.org) is None:
        raise InvalidArguments(f"{action.org} is not a member")
    remaining = [m for m in members.members if m.org != action.org]
    if not remaining:
        raise InvalidArguments("the last member cannot be removed")
    # The member's nodes leave the validator set with it.
    nodes = read_nodes(ctx.read(NODES_KEY))
    its_nodes = {n.node_id for n in nodes.nodes if n.org == action.org}
    validators = _validators(ctx)
    kept = [v for v in validators.validators if v.node_id not in its_nodes]
    if not kept:
        raise InvalidArguments(f"removing {action.org} would leave no validators")
    if len(kept) != len(validators.validators):
        ctx.write(VALIDATORS_KEY, codec.encode(ValidatorSet.of(kept)))
    ctx.write(MEMBERS_KEY, codec.encode(Members(remaining)))


def _record_node(ctx: CallContext, record: NodeRecord) -> None:
    nodes = read_nodes(ctx.read(NODES_KEY))
    others = [n for n in nodes.nodes if n.node_id != record.node_id]
    if len(others) >= gov.NODES_MAX:
        raise InvalidArguments(f"the alliance records at most {gov.NODES_MAX} nodes")
    ctx.write(NODES_KEY, codec.encode(Nodes(sorted([*others, record], key=lambda n: n.node_id))))


def _apply_node(ctx: CallContext, action: AddNode | RemoveNode) -> None:
    if isinstance(action, AddNode):
        if read_members(ctx.read(MEMBERS_KEY)).get(action.org) is None:
            raise InvalidArguments(f"{action.org} is not a member")
        recorded = {n.node_id: n for n in read_nodes(ctx.read(NODES_KEY)).nodes}.get(action.node_id)
        if recorded is not None and recorded.org != action.org:
            raise InvalidArguments(f"node {action.node_id.hex()[:16]} is recorded for {recorded.org}")
        _record_node(ctx, NodeRecord(action.node_id, action.org, action.name))
        return
    if _validators(ctx).power_of(action.node_id):
        raise InvalidArguments(f"node {action.node_id.hex()[:16]} is a validator: remove it as one first")
    nodes = read_nodes(ctx.read(NODES_KEY))
    kept = [n for n in nodes.nodes if n.node_id != action.node_id]
    if len(kept) == len(nodes.nodes):
        raise InvalidArguments(f"node {action.node_id.hex()[:16]} is not recorded")
    ctx.write(NODES_KEY, codec.encode(Nodes(kept)))


def _validators(ctx: CallContext) -> ValidatorSet:
    raw = ctx.read(VALIDATORS_KEY)
    if raw is None:
        raise NotFound("the chain has no validator set")
    return codec.decode_trusted(ValidatorSet, raw)


def _apply_validator(ctx: CallContext, action: AddValidator | RemoveValidator) -> None:
    validators = _validators(ctx)
    if isinstance(action, RemoveValidator):
        if validators.power_of(action.node_id) == 0:
            raise InvalidArguments(f"node {action.node_id.hex()[:16]} is not a validator")
        updated = validators.apply_updates([Validator(action.node_id, 0)])
        if not updated.validators:
            raise InvalidArguments("the last validator cannot be removed")
        ctx.write(VALIDATORS_KEY, codec.encode(updated))
        return
    if read_members(ctx.read(MEMBERS_KEY)).get(action.org) is None:
        raise InvalidArguments(f"{action.org} is not a member")
    if validators.power_of(action.node_id):
        raise InvalidArguments(f"node {action.name} is a validator already")
    if len(validators.validators) >= VALIDATORS_MAX:
        raise InvalidArguments(f"the validator set is full ({VALIDATORS_MAX})")
    recorded = {n.node_id: n for n in read_nodes(ctx.read(NODES_KEY)).nodes}.get(action.node_id)
    if recorded is not None and recorded.org != action.org:
        raise InvalidArguments(f"node {action.node_id.hex()[:16]} is recorded for {recorded.org}")
    power: Power = action.power
    ctx.write(VALIDATORS_KEY, codec.encode(validators.apply_updates([Validator(action.node_id, power)])))
    _record_node(ctx, NodeRecord(action.node_id, action.org, action.name))


def _apply_param_to(params: ChainParams, action: SetParam) -> ChainParams:
    """``params`` with ``action`` applied; ``InvalidArguments`` if the value is malformed, beyond
    its ceiling, or leaves the parameters inconsistent. Numbers are ASCII digits only: ``int()``
    would take any Unicode decimal digit, and which characters are digits depends on the
    interpreter's Unicode tables, so two members on different Python versions could disagree."""
    name, value = action.name, action.value
    if name in THRESHOLD_PARAMS:
        match = _ASCII_FRACTION.fullmatch(value)
        if match is None:
            raise InvalidArguments(f"{name} is a fraction like 2/3, not {value!a}")
        prefix = name.removesuffix("_threshold")
        changes = {f"{prefix}_threshold_num": int(match[1]), f"{prefix}_threshold_den": int(match[2])}
    elif name in gov.NUMERIC_PARAMS:
        if _ASCII_DIGITS.fullmatch(value) is None:
            raise InvalidArguments(f"{name} is a positive integer of ASCII digits, not {value!a}")
        changes = {name: int(value)}
    else:
        known = ", ".join((*gov.NUMERIC_PARAMS, *THRESHOLD_PARAMS))
        raise InvalidArguments(f"unknown chain parameter {name!a}; known: {known}")
    try:
        # Through the codec: the Struct's declared ranges are its ceilings (ChainParams).
        updated = codec.decode(ChainParams, codec.encode(msgspec.structs.replace(params, **changes)))
    except DecodeError:
        raise InvalidArguments(f"{name} = {value!a} is outside its allowed range") from None
    problem = updated.problem()
    if problem is not None:
        raise InvalidArguments(problem)
    return updated


def _apply_role(ctx: CallContext, action: GrantRole | RevokeRole) -> None:
    key = account_record_key(action.account)
    record = read_account(ctx.read(key))
    roles = set(record.roles)
    if isinstance(action, GrantRole):
        org = record.org or action.org
        if action.role == ADMIN and read_members(ctx.read(MEMBERS_KEY)).get(org) is None:
            raise InvalidArguments("the admin role needs the account's organisation to be a member")
        roles.add(action.role)
        if len(roles) > ROLES_PER_ACCOUNT_MAX:
            raise InvalidArguments(f"an account holds at most {ROLES_PER_ACCOUNT_MAX} roles")
        ctx.write(key, codec.encode(AccountRecord(org, sorted(roles))))
        return
    if action.role not in roles:
        who = to_checksum_address(action.account)
        raise InvalidArguments(f"{who} does not have the role {action.role!a}")
    roles.discard(action.role)
    ctx.write(key, codec.encode(AccountRecord(record.org, sorted(roles))))


def _apply_access(ctx: CallContext, action: SetAccess) -> None:
    table = read_acl(ctx.read(ACL_KEY))
    rules = [r for r in table.rules if (r.module, r.method) != (action.module, action.method)]
    if action.roles:
        rules.append(AccessRule(action.module, action.method, sorted(set(action.roles))))
    if len(rules) > gov.ACL_RULES_MAX:
        raise InvalidArguments(f"the access table holds at most {gov.ACL_RULES_MAX} rules")
    rules.sort(key=lambda r: (r.module, r.method))
    ctx.write(ACL_KEY, codec.encode(AccessTable(rules)))


def _apply_freeze(ctx: CallContext, account: bytes, reason: str) -> None:
    if FROZEN.get(ctx, account) is not None:
        raise InvalidArguments(f"{to_checksum_address(account)} is frozen already")
    FROZEN.put(ctx, account, FrozenAccount(account, reason, ctx.sender, ctx.height))
    ctx.emit(MODULE_NAME, "frozen", codec.encode(FreezeEvent(account, reason, ctx.sender)))


def _apply_unfreeze(ctx: CallContext, action: Unfreeze) -> None:
    if not FROZEN.remove(ctx, action.account):
        raise InvalidArguments(f"{to_checksum_address(action.account)} is not frozen")
    ctx.emit(MODULE_NAME, "unfrozen", codec.encode(FreezeEvent(action.account, "", ctx.sender)))


def roles_of(ctx: CallContext, account: bytes) -> RolesView:
    """``gov.roles``: what governance records of ``account``, for contracts (their only way to read
    governance state). It writes nothing; its reads are charged as any call's reads are."""
    record = read_account(ctx.read(account_record_key(account)))
    frozen = FROZEN.get(ctx, account) is not None
    member = bool(record.org) and read_members(ctx.read(MEMBERS_KEY)).get(record.org) is not None
    return RolesView(record.org, list(record.roles), frozen, member)


# --- queries (read-only, over committed state) ---------------------------------------------------------


def query_account(state: StateReader, args: gov.AccountQuery) -> gov.AccountView:
    record = read_account(state.read(account_record_key(args.address)))
    return gov.AccountView(args.address, record.org, list(record.roles), FROZEN.get(state, args.address))


def query_params(state: StateReader, _args: None) -> ChainParams:
    """The chain parameters in effect (genesis's, as governance's set-param changed them)."""
    return _params(state)


def query_overview(state: StateReader, _args: None) -> gov.Overview:
    next_raw = state.read(NEXT_PROPOSAL_KEY)
    validators_raw = state.read(VALIDATORS_KEY)
    return gov.Overview(
        members=read_members(state.read(MEMBERS_KEY)).members,
        nodes=read_nodes(state.read(NODES_KEY)).nodes,
        access=read_acl(state.read(ACL_KEY)).rules,
        frozen_count=FROZEN.count(state),
        proposals=0 if next_raw is None else codec.decode_trusted(int, next_raw) - 1,
        validators=[]
        if validators_raw is None
        else codec.decode_trusted(ValidatorSet, validators_raw).validators,
    )


def query_frozen(state: StateReader, args: gov.PageQuery) -> list[FrozenAccount]:
    out = []
    for member in FROZEN.members(state, args.start, args.limit):
        entry = FROZEN.get(state, member)
        if entry is not None:
            out.append(entry)
    return out


def query_proposal(state: StateReader, args: gov.ProposalQuery) -> Proposal:
    raw = state.read(proposal_key(args.id)) if args.id >= 1 else None
    if raw is None:
        raise NotFound(f"there is no proposal {args.id}")
    return codec.decode_trusted(Proposal, raw)


def query_proposals(state: StateReader, args: gov.PageQuery) -> list[Proposal]:
    next_raw = state.read(NEXT_PROPOSAL_KEY)
    last = 0 if next_raw is None else codec.decode_trusted(int, next_raw) - 1
    first = max(1, args.start)
    ids = range(first, min(last, first + args.limit - 1) + 1)
    return [query_proposal(state, gov.ProposalQuery(i)) for i in ids]


_QUERIES = (
    Query("account", query_account, gov.AccountQuery, "an account's organisation, roles and freeze"),
    Query("overview", query_overview, None, "members, nodes, validators, access rules, counts"),
    Query("params", query_params, None, "the chain parameters in effect (block bounds, window, thresholds)"),
    Query("frozen", query_frozen, gov.PageQuery, "frozen accounts from a position, a page at a time"),
    Query("proposal", query_proposal, gov.ProposalQuery, "one proposal with its votes (stored status)"),
    Query("proposals", query_proposals, gov.PageQuery, "proposals by id from a first id"),
)

__all__ = ["ACCOUNT_PREFIX", "DEFAULT_ACCESS", "FROZEN", "GovernanceModule", "genesis_state"]
