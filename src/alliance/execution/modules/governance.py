"""Governance: members, nodes, roles, access rules, freezing, and the committee's proposals and votes.

Theory of operation
-------------------
Everything a consortium decides together is state, changed only by transactions, so every node
enforces the same rules and every decision is on the ledger for audit.

State (all canonical Structs):

- ``gov/members``: the member organisations (name, CA certificate in DER, voting weight). Peers
  use it to admit connections: a node whose certificate chains to a member's CA may connect.
- ``gov/nodes``: nodes known to the alliance (node id, organisation, name).
- ``gov/account/<address>``: an account's organisation and roles (``admin`` of its organisation,
  ``supervisor``, or roles applications define).
- ``gov/acl``: the access table, from (module, method) to the roles allowed. A pair without a rule
  is open to every account. The executor checks it before every call, so a denial is a typed error
  in the receipt, identical on every node.
- ``gov/frozen``: frozen accounts with the reason, who froze them and when. The executor refuses
  every transaction from a frozen account.
- ``gov/proposal/<id>`` and ``gov/next_id``: proposals with their votes and outcome.
- ``sys/validators`` (the executor's key): the validator set. A change written while executing
  height h votes from height h + 2.

The committee: each member organisation votes once per proposal, through an account with the
``admin`` role of that organisation; its weight counts. A proposal passes when the yes weight is
*more than* its threshold of the committee's total weight (membership, validator and supervisor
changes and threshold changes use ``membership_threshold``; everything else ``other_threshold``,
both chain parameters) and executes in the block whose transaction passed it. It is rejected as
soon as it can no longer pass, and expires after its deadline. The proposer's organisation's vote
is counted with the proposal.

The supervisor (role ``supervisor``) freezes an account at once, with a reason; unfreezing needs
the committee. Granting or revoking the supervisor role is a membership-level decision.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.crypto.keys import to_checksum_address
from alliance.errors import (
    AlreadyVoted,
    DecodeError,
    InvalidArguments,
    NotAMember,
    NotFound,
    PermissionDenied,
    UnknownMethod,
    VotingClosed,
)
from alliance.execution.context import CallContext
from alliance.ledger.genesis import MEMBERS_MAX, ROLES_PER_ACCOUNT_MAX, ChainParams, Genesis
from alliance.ledger.transaction import Bytes20, Height, Name
from alliance.ledger.validators import VALIDATORS_MAX, NodeIdBytes, Power, Validator, ValidatorSet

T = TypeVar("T")

MODULE_NAME = "gov"
MEMBERS_KEY = b"gov/members"
NODES_KEY = b"gov/nodes"
ACL_KEY = b"gov/acl"
FROZEN_KEY = b"gov/frozen"
NEXT_PROPOSAL_KEY = b"gov/next_id"
ACCOUNT_PREFIX = b"gov/account/"
PROPOSAL_PREFIX = b"gov/proposal/"
PARAMS_KEY = b"sys/params"
VALIDATORS_KEY = b"sys/validators"

ADMIN = "admin"
SUPERVISOR = "supervisor"
REASON_LENGTH_MAX = 500
ACL_RULES_MAX = 1000
FROZEN_MAX = 100_000
CERTIFICATE_SIZE_BYTES_MAX = 8192

Certificate = Annotated[bytes, msgspec.Meta(min_length=1, max_length=CERTIFICATE_SIZE_BYTES_MAX)]
Reason = Annotated[str, msgspec.Meta(max_length=REASON_LENGTH_MAX)]
Roles = Annotated[list[Name], msgspec.Meta(max_length=ROLES_PER_ACCOUNT_MAX)]
Weight = Annotated[int, msgspec.Meta(ge=1, le=2**32)]


# --- state ---------------------------------------------------------------------------------------


class Member(Struct):
    org: Name
    ca_certificate: Certificate
    weight: Weight = 1


class Members(Struct):
    members: Annotated[list[Member], msgspec.Meta(max_length=MEMBERS_MAX)]

    def get(self, org: str) -> Member | None:
        return next((m for m in self.members if m.org == org), None)

    @property
    def total_weight(self) -> int:
        return sum(m.weight for m in self.members)


class NodeRecord(Struct):
    node_id: NodeIdBytes
    org: Name
    name: Name


class Nodes(Struct):
    nodes: Annotated[list[NodeRecord], msgspec.Meta(max_length=VALIDATORS_MAX * 4)]


class AccountRecord(Struct):
    org: str
    roles: Roles


class AccessRule(Struct):
    module: Name
    method: Name
    roles: Roles


class AccessTable(Struct):
    rules: Annotated[list[AccessRule], msgspec.Meta(max_length=ACL_RULES_MAX)]


class FrozenAccount(Struct):
    address: Bytes20
    reason: Reason
    by: Bytes20
    height: Height


class FrozenAccounts(Struct):
    accounts: Annotated[list[FrozenAccount], msgspec.Meta(max_length=FROZEN_MAX)]


# --- proposals -----------------------------------------------------------------------------------


class AddMember(Struct, tag="add-member"):
    org: Name
    ca_certificate: Certificate
    weight: Weight = 1
    # The new member's administrator: granted ``admin`` of ``org`` when the proposal passes, so the
    # organisation can propose and vote from the next block without a second vote.
    admin: Bytes20 | None = None


class RemoveMember(Struct, tag="remove-member"):
    org: Name


class AddValidator(Struct, tag="add-validator"):
    node_id: NodeIdBytes
    org: Name
    name: Name
    power: Annotated[int, msgspec.Meta(ge=1, le=2**40)] = 10


class RemoveValidator(Struct, tag="remove-validator"):
    node_id: NodeIdBytes


class SetParam(Struct, tag="set-param"):
    name: Name
    value: Name


class GrantRole(Struct, tag="grant-role"):
    account: Bytes20
    role: Name
    org: str = ""  # the account's organisation, if it has none yet


class RevokeRole(Struct, tag="revoke-role"):
    account: Bytes20
    role: Name


class SetAccess(Struct, tag="set-access"):
    module: Name
    method: Name
    roles: Roles  # empty: the pair is open to every account


class Freeze(Struct, tag="freeze"):
    account: Bytes20
    reason: Reason


class Unfreeze(Struct, tag="unfreeze"):
    account: Bytes20


Action = (
    AddMember | RemoveMember | AddValidator | RemoveValidator | SetParam | GrantRole | RevokeRole
    | SetAccess | Freeze | Unfreeze
)


class Ballot(Struct):
    org: Name
    voter: Bytes20
    yes: bool
    height: Height


class Proposal(Struct):
    id: Annotated[int, msgspec.Meta(ge=1)]
    action: Action
    proposer: Bytes20
    proposer_org: Name
    created_height: Height
    deadline_height: Height
    threshold_num: int
    threshold_den: int
    votes: Annotated[list[Ballot], msgspec.Meta(max_length=MEMBERS_MAX)]
    status: str  # "open", "passed" or "rejected"; "expired" is derived on reading
    decided_height: Height = 0
    error: str = ""  # why a passed proposal's action could not be applied

    def status_at(self, height: int) -> str:
        if self.status == "open" and height > self.deadline_height:
            return "expired"
        return self.status


class ProposeArgs(Struct):
    action: Action
    voting_blocks: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0: the chain's voting period


class VoteArgs(Struct):
    proposal: Annotated[int, msgspec.Meta(ge=1)]
    yes: bool


class FreezeArgs(Struct):
    account: Bytes20
    reason: Reason


class ProposalEvent(Struct):
    id: int
    kind: str
    status: str


class VoteEvent(Struct):
    id: int
    org: str
    yes: bool


class FreezeEvent(Struct):
    account: Bytes20
    reason: str
    by: Bytes20


def kind_of(action: Action) -> str:
    return type(action).__struct_config__.tag  # type: ignore[return-value]


MEMBERSHIP_LEVEL = (AddMember, RemoveMember, AddValidator, RemoveValidator)
THRESHOLD_PARAMS = ("membership_threshold", "other_threshold")
NUMERIC_PARAMS = (
    "block_txs_max", "block_bytes_max", "block_gas_max", "tx_gas_max", "tx_window_blocks",
    "voting_period_blocks",
)


def is_membership_level(action: Action) -> bool:
    if isinstance(action, MEMBERSHIP_LEVEL):
        return True
    if isinstance(action, GrantRole | RevokeRole) and action.role == SUPERVISOR:
        return True
    return isinstance(action, SetParam) and action.name in THRESHOLD_PARAMS


def proposal_key(proposal_id: int) -> bytes:
    return PROPOSAL_PREFIX + proposal_id.to_bytes(8, "big")


def account_record_key(address: bytes) -> bytes:
    return ACCOUNT_PREFIX + address


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


DEFAULT_ACCESS = AccessTable(
    [
        AccessRule(MODULE_NAME, "freeze", [SUPERVISOR]),
        AccessRule(MODULE_NAME, "propose", [ADMIN]),
        AccessRule(MODULE_NAME, "vote", [ADMIN]),
    ]
)


# --- reading state ---------------------------------------------------------------------------------


def read_members(raw: bytes | None) -> Members:
    return Members([]) if raw is None else codec.decode_trusted(Members, raw)


def read_account(raw: bytes | None) -> AccountRecord:
    return AccountRecord("", []) if raw is None else codec.decode_trusted(AccountRecord, raw)


def read_acl(raw: bytes | None) -> AccessTable:
    return AccessTable([]) if raw is None else codec.decode_trusted(AccessTable, raw)


def read_frozen(raw: bytes | None) -> FrozenAccounts:
    return FrozenAccounts([]) if raw is None else codec.decode_trusted(FrozenAccounts, raw)


def read_nodes(raw: bytes | None) -> Nodes:
    return Nodes([]) if raw is None else codec.decode_trusted(Nodes, raw)


class GovernanceModule:
    """The ``gov`` module: ``propose``, ``vote`` and the supervisor's ``freeze``."""

    name = MODULE_NAME

    def call(self, ctx: CallContext, method: str, args: bytes) -> None:
        if method == "propose":
            self.propose(ctx, _decode(ProposeArgs, args, "gov.propose takes (action, voting_blocks)"))
        elif method == "vote":
            self.vote(ctx, _decode(VoteArgs, args, "gov.vote takes (proposal id, yes)"))
        elif method == "freeze":
            self.freeze(ctx, _decode(FreezeArgs, args, "gov.freeze takes (account, reason)"))
        else:
            known = "freeze, propose, vote"
            raise UnknownMethod(f"module {self.name!r} has no method {method!r}; it has: {known}")

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
                proposal, status="passed", decided_height=ctx.height, error=_execute(ctx, proposal.action)
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
    except DecodeError as exc:
        raise InvalidArguments(f"{usage}: {exc.message}") from None


def _params(ctx: CallContext) -> ChainParams:
    raw = ctx.read(PARAMS_KEY)
    return ChainParams() if raw is None else codec.decode_trusted(ChainParams, raw)


# --- checking and applying actions -------------------------------------------------------------------


def _check_action(ctx: CallContext, action: Action) -> None:
    """Refuse at proposal time what could never apply (it is checked again when it passes)."""
    members = read_members(ctx.read(MEMBERS_KEY))
    if isinstance(action, AddMember) and members.get(action.org) is not None:
        raise InvalidArguments(f"{action.org} is a member already")
    if isinstance(action, AddMember):
        _check_new_admin(ctx, action)
    if isinstance(action, RemoveMember) and members.get(action.org) is None:
        raise InvalidArguments(f"{action.org} is not a member")
    if isinstance(action, AddValidator) and members.get(action.org) is None:
        raise InvalidArguments(f"node {action.name} belongs to {action.org}, which is not a member")
    if isinstance(action, SetParam):
        _parse_param(action)
    if isinstance(action, SetAccess) and any(not r for r in action.roles):
        raise InvalidArguments("role names must not be empty")


def _check_new_admin(ctx: CallContext, action: AddMember) -> None:
    if action.admin is None:
        return
    record = read_account(ctx.read(account_record_key(action.admin)))
    if record.org and record.org != action.org:
        who = to_checksum_address(action.admin)
        raise InvalidArguments(f"{who} belongs to {record.org}; it cannot administer {action.org}")


def _execute(ctx: CallContext, action: Action) -> str:
    """Apply a passed proposal's action; the error text if it can no longer apply (nothing changes then)."""
    try:
        _apply(ctx, action)
    except (InvalidArguments, NotFound) as exc:
        return exc.message
    return ""


def _apply(ctx: CallContext, action: Action) -> None:
    if isinstance(action, AddMember | RemoveMember):
        _apply_membership(ctx, action)
    elif isinstance(action, AddValidator | RemoveValidator):
        _apply_validator(ctx, action)
    elif isinstance(action, SetParam):
        _apply_param(ctx, action)
    elif isinstance(action, GrantRole | RevokeRole):
        _apply_role(ctx, action)
    elif isinstance(action, SetAccess):
        table = read_acl(ctx.read(ACL_KEY))
        rules = [r for r in table.rules if (r.module, r.method) != (action.module, action.method)]
        if action.roles:
            rules.append(AccessRule(action.module, action.method, sorted(set(action.roles))))
        rules.sort(key=lambda r: (r.module, r.method))
        ctx.write(ACL_KEY, codec.encode(AccessTable(rules)))
    elif isinstance(action, Freeze):
        _apply_freeze(ctx, action.account, action.reason)
    else:
        frozen = read_frozen(ctx.read(FROZEN_KEY))
        kept = [f for f in frozen.accounts if f.address != action.account]
        if len(kept) == len(frozen.accounts):
            raise InvalidArguments(f"{to_checksum_address(action.account)} is not frozen")
        ctx.write(FROZEN_KEY, codec.encode(FrozenAccounts(kept)))
        ctx.emit(MODULE_NAME, "unfrozen", codec.encode(FreezeEvent(action.account, "", ctx.sender)))


def _apply_membership(ctx: CallContext, action: AddMember | RemoveMember) -> None:
    members = read_members(ctx.read(MEMBERS_KEY))
    if isinstance(action, AddMember):
        if members.get(action.org) is not None:
            raise InvalidArguments(f"{action.org} is a member already")
        _check_new_admin(ctx, action)  # before any write: a passed proposal applies whole or not at all
        updated = [*members.members, Member(action.org, action.ca_certificate, action.weight)]
        ctx.write(MEMBERS_KEY, codec.encode(Members(sorted(updated, key=lambda m: m.org))))
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
    power: Power = action.power
    ctx.write(VALIDATORS_KEY, codec.encode(validators.apply_updates([Validator(action.node_id, power)])))
    nodes = read_nodes(ctx.read(NODES_KEY))
    others = [n for n in nodes.nodes if n.node_id != action.node_id]
    record = NodeRecord(action.node_id, action.org, action.name)
    ctx.write(NODES_KEY, codec.encode(Nodes(sorted([*others, record], key=lambda n: n.node_id))))


def _parse_param(action: SetParam) -> tuple[str, int | tuple[int, int]]:
    if action.name in THRESHOLD_PARAMS:
        num_text, _, den_text = action.value.partition("/")
        try:
            num, den = int(num_text), int(den_text)
        except ValueError:
            raise InvalidArguments(f"{action.name} is a fraction like 2/3, not {action.value!r}") from None
        if not 1 <= num < den <= 1000:
            raise InvalidArguments(f"{action.name} must be a fraction in (0, 1), not {action.value!r}")
        return action.name, (num, den)
    if action.name not in NUMERIC_PARAMS:
        known = ", ".join((*NUMERIC_PARAMS, *THRESHOLD_PARAMS))
        raise InvalidArguments(f"unknown chain parameter {action.name!r}; known: {known}")
    try:
        value = int(action.value)
    except ValueError:
        raise InvalidArguments(f"{action.name} is an integer, not {action.value!r}") from None
    if not 1 <= value <= 2**63 - 1:
        raise InvalidArguments(f"{action.name} must be positive")
    return action.name, value


def _apply_param(ctx: CallContext, action: SetParam) -> None:
    name, value = _parse_param(action)
    params = _params(ctx)
    if isinstance(value, tuple):
        prefix = name.removesuffix("_threshold")
        updated = msgspec.structs.replace(
            params, **{f"{prefix}_threshold_num": value[0], f"{prefix}_threshold_den": value[1]}
        )
    else:
        updated = msgspec.structs.replace(params, **{name: value})
    ctx.write(PARAMS_KEY, codec.encode(updated))


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
        raise InvalidArguments(f"{who} does not have the role {action.role!r}")
    roles.discard(action.role)
    ctx.write(key, codec.encode(AccountRecord(record.org, sorted(roles))))


def _apply_freeze(ctx: CallContext, account: bytes, reason: str) -> None:
    frozen = read_frozen(ctx.read(FROZEN_KEY))
    if any(f.address == account for f in frozen.accounts):
        raise InvalidArguments(f"{to_checksum_address(account)} is frozen already")
    entry = FrozenAccount(account, reason, ctx.sender, ctx.height)
    accounts = sorted([*frozen.accounts, entry], key=lambda f: f.address)
    ctx.write(FROZEN_KEY, codec.encode(FrozenAccounts(accounts)))
    ctx.emit(MODULE_NAME, "frozen", codec.encode(FreezeEvent(account, reason, ctx.sender)))
