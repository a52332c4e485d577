"""Contracts: Python code the committee approved, live under a name, with an account of its own.

How a contract goes live (the ``contracts`` module with governance):

1. An account with the ``admin`` or ``deployer`` role submits the source (``contracts.submit``). The
   chain validates and compiles it (``alliance.contracts``): an escape, a forbidden construct or a
   missing type hint is refused with ``invalid_contract`` naming the line, before any vote. The
   source is kept under its code hash.
2. The committee passes a ``deploy-contract`` proposal naming the contract and that hash
   (``upgrade-contract`` for a new version of a live contract: its storage is kept).
3. When it passes, the contract is live at its name: transactions call it as any target
   (``target=NAME``), its ``init`` (if it has one) runs once with the proposer as sender, and it
   has an account (``contract_address(name)``) that can hold coin and passes.

State layout (module ``contracts``): ``contract/code/<hash>`` the submitted ``Code``;
``contract/meta/<name>`` the live ``Contract``; ``contract/list`` an IndexedMap of names; the
contract's own storage under ``c/<address>/`` (``alliance.contracts.api``). Views are read-only
queries: ``contracts.view(name, method, args)``.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from alliance.codec import Struct
from alliance.crypto.hashing import Domain, hash_domain
from alliance.errors import ExecutionError
from alliance.ledger.transaction import Bytes20, Bytes32, Height

MODULE_NAME = "contracts"
DEPLOYER = "deployer"
SOURCE_SIZE_BYTES_MAX = 60 * 1024  # a submission travels in one transaction (64 KiB)
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
_NAME = re.compile(NAME_PATTERN)
RESERVED_NAMES = frozenset({"accounts", "gov", "passes", "contracts", "simvalset", "sys"})
PAGE_LIMIT_MAX = 200
VIEW_GAS = 10_000_000
"""The gas a view may spend: a node answers views without a transaction, on the loop that also runs
its consensus, so they are bounded too (about 0.1 s of CPU at the schedule's ~10 ns a unit; as much
as the default bound of one transaction)."""

ContractName = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None and name not in RESERVED_NAMES


def contract_address(name: str) -> bytes:
    """A contract's account: derived from its name, the same on every node, no key behind it."""
    return hash_domain(Domain.CONTRACT_ACCOUNT, name.encode())[:20]


# --- the ABI a contract's type hints declare ----------------------------------------------------------


class AbiParam(Struct):
    name: str
    type: str


class AbiMethod(Struct):
    name: str
    kind: str  # "init", "public" or "view"
    params: list[AbiParam]
    returns: str


class Abi(Struct):
    methods: list[AbiMethod]

    def method(self, name: str) -> AbiMethod | None:
        return next((m for m in self.methods if m.name == name), None)


# --- state -----------------------------------------------------------------------------------------


class Code(Struct):
    source: str
    submitter: Bytes20
    height: Height
    abi: Abi


class Contract(Struct):
    name: str
    address: Bytes20
    code_hash: Bytes32
    version: int
    proposal: int  # the proposal that approved this version
    deployed_height: Height
    upgraded_height: Height


# --- calls -----------------------------------------------------------------------------------------


class SubmitArgs(Struct):
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=SOURCE_SIZE_BYTES_MAX)]


class ActivateArgs(Struct):
    """What governance hands the module when a deploy or upgrade proposal passes."""

    name: ContractName
    code_hash: Bytes32
    upgrade: bool
    proposal: int
    proposer: Bytes20
    init_args: bytes = b"\x90"


# --- events ------------------------------------------------------------------------------------------


class SubmittedEvent(Struct):
    code_hash: Bytes32
    submitter: Bytes20
    size: int


class DeployedEvent(Struct):
    name: str
    address: Bytes20
    code_hash: Bytes32
    version: int
    proposal: int


EVENTS: dict[str, type[Struct]] = {
    "submitted": SubmittedEvent,
    "deployed": DeployedEvent,
    "upgraded": DeployedEvent,
}


# --- errors ------------------------------------------------------------------------------------------


class InvalidContractCode(ExecutionError):
    """Submitted source the sandbox refuses (the line and the construct are in the message)."""

    code = "invalid_contract"


class UnknownCode(ExecutionError):
    code = "unknown_code"


class ContractExists(ExecutionError):
    code = "contract_exists"


class UnknownContract(ExecutionError):
    code = "unknown_contract"


class NotGovernance(ExecutionError):
    code = "not_governance"


ERRORS: tuple[type[ExecutionError], ...] = (
    InvalidContractCode,
    UnknownCode,
    ContractExists,
    UnknownContract,
    NotGovernance,
)


# --- queries -------------------------------------------------------------------------------------------


class ContractQuery(Struct):
    name: ContractName


class CodeQuery(Struct):
    code_hash: Bytes32


class PageQuery(Struct):
    start: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=PAGE_LIMIT_MAX)] = 50


class ViewQuery(Struct):
    name: ContractName
    method: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    args: bytes  # the canonical encoding of the argument list


class ContractView(Struct):
    contract: Contract
    abi: Abi
    source: str


class ViewAnswer(Struct):
    result: bytes  # canonical bytes of the method's answer
    gas_used: int
