"""Governance's public types: members, nodes, roles, access rules, freezes, proposals and votes.

State layout (canonical Structs; docs/architecture.md lists every module's keys):

- ``gov/members``: the member organisations (name, CA certificate in DER, voting weight). Peers
  use it to admit connections, together with ``gov/nodes``.
- ``gov/nodes``: the nodes the alliance admitted (node id, organisation, name). A peer's
  certificate is accepted only for a node id recorded here under the organisation whose CA
  issued it (``node.membership``).
- ``gov/account/<address>``: an account's organisation and roles.
- ``gov/acl``: the access table, from (module, method) to the roles allowed.
- ``gov/frozen``: frozen accounts, one key each (an ``IndexedMap`` of ``FrozenAccount`` by
  address, so a freeze costs the same however many accounts are frozen).
- ``gov/proposal/<id>`` and ``gov/next_id``: proposals with their votes and outcome.

Every list kept in one value is bounded so that its largest encoding fits a state value
(``tests/test_bounds.py`` checks the arithmetic).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.abi.contracts import ContractName
from alliance.codec import Struct
from alliance.errors import ExecutionError
from alliance.ledger.genesis import CERTIFICATE_SIZE_BYTES_MAX, MEMBERS_MAX, ROLES_PER_ACCOUNT_MAX
from alliance.ledger.transaction import Bytes20, Bytes32, Height, Name
from alliance.ledger.validators import VALIDATORS_MAX, NodeIdBytes, Validator

MODULE_NAME = "gov"
MEMBERS_KEY = b"gov/members"
NODES_KEY = b"gov/nodes"
ACL_KEY = b"gov/acl"
FROZEN_PREFIX = b"gov/frozen"
NEXT_PROPOSAL_KEY = b"gov/next_id"
ACCOUNT_PREFIX = b"gov/account/"
PROPOSAL_PREFIX = b"gov/proposal/"

ADMIN = "admin"
SUPERVISOR = "supervisor"
REASON_LENGTH_MAX = 500
ACL_RULES_MAX = 1000
ACCESS_ROLES_MAX = 8  # roles one access rule may name (keeps the whole table within a state value)
NODES_MAX = VALIDATORS_MAX * 4
NODES_PER_MEMBER_MAX = 64

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
    nodes: Annotated[list[NodeRecord], msgspec.Meta(max_length=NODES_MAX)]


class AccountRecord(Struct):
    org: str
    roles: Roles


AccessRoles = Annotated[list[Name], msgspec.Meta(max_length=ACCESS_ROLES_MAX)]


class AccessRule(Struct):
    module: Name
    method: Name
    roles: AccessRoles


class AccessTable(Struct):
    rules: Annotated[list[AccessRule], msgspec.Meta(max_length=ACL_RULES_MAX)]


class FrozenAccount(Struct):
    address: Bytes20
    reason: Reason
    by: Bytes20
    height: Height


# --- proposals -----------------------------------------------------------------------------------


class AddMember(Struct, tag="add-member"):
    org: Name
    ca_certificate: Certificate
    weight: Weight = 1
    # The new member's administrator: granted ``admin`` of ``org`` when the proposal passes, so the
    # organisation can propose and vote from the next block without a second vote.
    admin: Bytes20 | None = None
    # The member's nodes, recorded when the proposal passes, so they may connect from then on.
    nodes: Annotated[list[NodeRecord], msgspec.Meta(max_length=NODES_PER_MEMBER_MAX)] = []


class AddNode(Struct, tag="add-node"):
    """Admit a node of a member organisation to the network (it follows the chain; voting power
    is ``add-validator``'s)."""

    node_id: NodeIdBytes
    org: Name
    name: Name


class RemoveNode(Struct, tag="remove-node"):
    node_id: NodeIdBytes


class DeployContract(Struct, tag="deploy-contract"):
    """Make submitted code (``contracts.submit``) live under ``name``; its ``init`` runs once, with
    ``init_args`` (the canonical encoding of the argument list) and the proposer as sender."""

    name: ContractName
    code_hash: Bytes32
    init_args: Annotated[bytes, msgspec.Meta(max_length=8192)] = b"\x90"


class UpgradeContract(Struct, tag="upgrade-contract"):
    """Run ``name`` on other submitted code from now on; its storage is kept."""

    name: ContractName
    code_hash: Bytes32


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
    roles: AccessRoles  # empty: the pair is open to every account


class Freeze(Struct, tag="freeze"):
    account: Bytes20
    reason: Reason


class Unfreeze(Struct, tag="unfreeze"):
    account: Bytes20


Action = (
    AddMember | RemoveMember | AddNode | RemoveNode | AddValidator | RemoveValidator | SetParam
    | GrantRole | RevokeRole | SetAccess | Freeze | Unfreeze | DeployContract | UpgradeContract
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


class RolesArgs(Struct):
    account: Bytes20


class RolesView(Struct):
    """What ``gov.roles`` answers: a contract reads it as ``[org, roles, frozen, member]``
    (``member``: the account's organisation is a member of the alliance now)."""

    org: str
    roles: list[str]
    frozen: bool
    member: bool


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


MEMBERSHIP_LEVEL = (
    AddMember, RemoveMember, AddNode, RemoveNode, AddValidator, RemoveValidator,
    DeployContract, UpgradeContract,
)
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



EVENTS: dict[str, type[Struct]] = {
    "proposed": ProposalEvent,
    "passed": ProposalEvent,
    "rejected": ProposalEvent,
    "expired": ProposalEvent,
    "voted": VoteEvent,
    "frozen": FreezeEvent,
    "unfrozen": FreezeEvent,
}
"""Event name -> the Struct its data decodes to."""


# --- errors (a failed receipt's status) ----------------------------------------------------------


class NotAMember(ExecutionError):
    code = "not_a_member"


class AlreadyVoted(ExecutionError):
    code = "already_voted"


class VotingClosed(ExecutionError):
    code = "voting_closed"


# --- queries ---------------------------------------------------------------------------------------

PAGE_LIMIT_MAX = 500


class AccountQuery(Struct):
    address: Bytes20


class ProposalQuery(Struct):
    id: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class PageQuery(Struct):
    start: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=PAGE_LIMIT_MAX)] = 100


class AccountView(Struct):
    address: Bytes20
    org: str
    roles: list[str]
    frozen: FrozenAccount | None


class Overview(Struct):
    members: list[Member]
    nodes: list[NodeRecord]
    access: list[AccessRule]
    frozen_count: int
    proposals: int
    validators: list[Validator]


# --- reading state -------------------------------------------------------------------------------


def read_members(raw: bytes | None) -> Members:
    return Members([]) if raw is None else codec.decode_trusted(Members, raw)


def read_account(raw: bytes | None) -> AccountRecord:
    return AccountRecord("", []) if raw is None else codec.decode_trusted(AccountRecord, raw)


def read_acl(raw: bytes | None) -> AccessTable:
    return AccessTable([]) if raw is None else codec.decode_trusted(AccessTable, raw)


def read_frozen(raw: bytes | None) -> FrozenAccount | None:
    """A frozen account's record (the value under its ``gov/frozen`` entry), or None."""
    return None if raw is None else codec.decode_trusted(FrozenAccount, raw)


def read_nodes(raw: bytes | None) -> Nodes:
    return Nodes([]) if raw is None else codec.decode_trusted(Nodes, raw)

