"""The ``contracts`` module: submitted Python code, activated by governance, run as call targets.

Theory of operation
-------------------
How a contract goes live and where its state lives is in ``alliance.abi.contracts``. This module is
the one place that joins the executor and the contract engine (``alliance.contracts``):

- ``submit``: validates and compiles the source with the engine (refusals are ``invalid_contract``
  with the line and the construct), charges for its size, and keeps it under its code hash with its
  ABI. Only accounts holding ``admin`` or ``deployer`` may submit.
- ``activate`` is governance's alone (the sender must be the governance module's account,
  ``abi.chain.module_address("gov")``): a passed ``deploy-contract`` or ``upgrade-contract``
  proposal makes a submitted code live under a name, and a new contract's ``init`` runs once, with
  the proposer as its sender.
- Calls to a contract: the executor routes any target that is no module's name here
  (``routes_targets``); the contract's ``Program`` (cached per code hash by the engine, never
  validated again on this path) runs against a host over the call's ``CallContext``: state through
  the context (gas-charged, inside the transaction's undo log), events under the contract's name,
  nested calls through ``CallContext.call_as`` with the contract's own account as sender (the
  block's policies apply to it: a frozen contract cannot act). The engine bounds depth and refuses
  re-entry.
- ``view`` is a query: the method runs read-only over committed state, with its own gas bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from alliance import codec
from alliance.abi import contracts as c
from alliance.abi import gov
from alliance.abi.chain import module_address
from alliance.contracts import engine
from alliance.contracts.errors import InvalidContract, ReadOnlyViolation
from alliance.crypto.keys import to_checksum_address
from alliance.errors import DecodeError, InvalidArguments, NotFound, PermissionDenied, UnknownTarget
from alliance.execution.collections import LISTED, IndexedMap, Listed
from alliance.execution.context import CallContext
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasMeter
from alliance.execution.modules import Method, ModuleBase, Query

if TYPE_CHECKING:
    from alliance.execution.modules import QueryState

T = TypeVar("T")

CONTRACTS = IndexedMap(b"contract/list", Listed)
GOVERNANCE = module_address(gov.MODULE_NAME)
SUBMIT_GAS_PER_BYTE = 50
"""Validating and compiling costs ~1-10 ms for a few KiB of source (docs/benchmarks.md): charged by
size, on top of the transaction's bytes."""


def code_key(code_hash: bytes) -> bytes:
    return b"contract/code/" + code_hash


def meta_key(name: str) -> bytes:
    return b"contract/meta/" + name.encode()


def read_contract(read: QueryState | CallContext, name: str) -> c.Contract | None:
    raw = read.read(meta_key(name))
    return None if raw is None else codec.decode_trusted(c.Contract, raw)


def read_code(read: QueryState | CallContext, code_hash: bytes) -> c.Code | None:
    raw = read.read(code_key(code_hash))
    return None if raw is None else codec.decode_trusted(c.Code, raw)


def program_of(read: QueryState | CallContext, code_hash: bytes) -> engine.Program:
    """The loaded program of ``code_hash``: the engine's cache, or compiled again from the stored
    source (validated when it was submitted; a node that restarted compiles it once)."""
    program = engine.cached(code_hash)
    if program is None:
        code = read_code(read, code_hash)
        if code is None:
            raise c.UnknownCode(f"no code with hash {code_hash.hex()} was submitted")
        program = engine.load(code.source)
    return program


class ContractsModule(ModuleBase):
    name = c.MODULE_NAME
    methods = (
        Method("submit", c.SubmitArgs, "submit a contract's source for a deploy or upgrade vote"),
        Method("activate", c.ActivateArgs, "make submitted code live (governance, when a vote passes)"),
    )
    events = c.EVENTS
    errors = c.ERRORS
    routes_targets = True

    def __init__(self) -> None:
        self.queries = {q.name: q for q in _QUERIES}

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        if method == "submit":
            return self.submit(ctx, _decode(c.SubmitArgs, args, "contracts.submit takes (source)"))
        if method == "activate":
            self.activate(ctx, _decode(c.ActivateArgs, args, "contracts.activate takes ActivateArgs"))
            return None
        raise self.unknown_method(method)

    # -- submitting and activating ------------------------------------------------------------------

    def submit(self, ctx: CallContext, args: c.SubmitArgs) -> bytes:
        roles = gov.read_account(ctx.read(gov.account_record_key(ctx.sender))).roles
        if gov.ADMIN not in roles and c.DEPLOYER not in roles:
            who = to_checksum_address(ctx.sender)
            raise PermissionDenied(
                f"submitting contract code takes the admin or deployer role; {who} has neither"
            )
        ctx.gas.charge(SUBMIT_GAS_PER_BYTE * len(args.source.encode()), "contract validation")
        try:
            program = engine.load(args.source)
        except InvalidContract as exc:
            raise c.InvalidContractCode(exc.message) from None
        code_hash = program.code_hash
        if ctx.read(code_key(code_hash)) is None:
            ctx.write(
                code_key(code_hash), codec.encode(c.Code(args.source, ctx.sender, ctx.height, program.abi))
            )
        event = c.SubmittedEvent(code_hash, ctx.sender, len(args.source.encode()))
        ctx.emit(self.name, "submitted", codec.encode(event))
        return codec.encode(code_hash)

    def activate(self, ctx: CallContext, args: c.ActivateArgs) -> None:
        if ctx.sender != GOVERNANCE:
            raise c.NotGovernance("contracts go live only through a passed governance proposal")
        check_activation(ctx, args.name, args.code_hash, upgrade=args.upgrade)
        current = read_contract(ctx, args.name)
        address = c.contract_address(args.name)
        version = 1 if current is None else current.version + 1
        deployed = ctx.height if current is None else current.deployed_height
        record = c.Contract(args.name, address, args.code_hash, version, args.proposal, deployed, ctx.height)
        ctx.write(meta_key(args.name), codec.encode(record))
        if current is None:
            CONTRACTS.put(ctx, args.name.encode(), LISTED)
        event = c.DeployedEvent(args.name, address, args.code_hash, version, args.proposal)
        ctx.emit(self.name, "upgraded" if args.upgrade else "deployed", codec.encode(event))
        program = program_of(ctx, args.code_hash)
        if not args.upgrade and program.abi.method("init") is not None:
            host = _Host(ctx.nested(args.proposer), record)
            program.invoke(host, "init", args.init_args, readonly=False)

    # -- calls to contracts -------------------------------------------------------------------------

    def call_target(self, ctx: CallContext, target: str, method: str, args: bytes) -> bytes | None:
        record = read_contract(ctx, target)
        if record is None:
            raise UnknownTarget(f"no module or contract named {target!a}")
        return program_of(ctx, record.code_hash).invoke(_Host(ctx, record), method, args, readonly=False)


def check_activation(read: QueryState | CallContext, name: str, code_hash: bytes, *, upgrade: bool) -> None:
    """Refuse what could not go live: checked when the proposal is made and again when it passes."""
    if not c.valid_name(name):
        raise InvalidArguments(
            f"{name!a} is not a contract name (lower case, 1-32 characters, not a module's)"
        )
    if read.read(code_key(code_hash)) is None:
        raise c.UnknownCode(f"no code with hash {code_hash.hex()} was submitted; submit it first")
    current = read_contract(read, name)
    if upgrade and current is None:
        raise c.UnknownContract(f"there is no contract {name!a} to upgrade")
    if not upgrade and current is not None:
        raise c.ContractExists(f"the contract {name!a} is live already; propose an upgrade")
    if upgrade and current is not None and current.code_hash == code_hash:
        raise InvalidArguments(f"{name!a} runs this code already")


def _decode(kind: type[T], raw: bytes, usage: str) -> T:
    try:
        return codec.decode(kind, raw)
    except DecodeError:
        raise InvalidArguments(usage) from None


class _Host:
    """A contract's view of one call (``contracts.host.Host``) over the call's ``CallContext``."""

    __slots__ = ("_ctx", "_name", "contract", "gas", "height", "read", "sender", "time_ms", "write")

    def __init__(self, ctx: CallContext, record: c.Contract) -> None:
        self._ctx = ctx
        self._name = record.name
        self.sender = ctx.sender
        self.contract = record.address
        self.height = ctx.height
        self.time_ms = ctx.time_ms
        self.gas = ctx.gas
        self.read = ctx.read
        self.write = ctx.write

    def emit(self, name: str, data: bytes) -> None:
        self._ctx.emit(self._name, name, data)

    def call(self, target: str, method: str, args: bytes) -> bytes | None:
        return self._ctx.call_as(self.contract, target, method, args)


class _ViewHost:
    """A read-only host over committed state, for views: reads are charged, writes refused."""

    __slots__ = ("_state", "contract", "gas", "height", "sender", "time_ms")

    def __init__(self, state: QueryState, record: c.Contract, gas: GasMeter, sender: bytes) -> None:
        self._state = state
        self.sender = sender
        self.contract = record.address
        self.height = state.height
        self.time_ms = state.time_ms
        self.gas = gas

    def read(self, key: bytes) -> bytes | None:
        self.gas.charge(DEFAULT_GAS_SCHEDULE.state_read, "state read")
        return self._state.read(key)

    def write(self, key: bytes, value: bytes | None) -> None:
        raise ReadOnlyViolation("a view cannot write")

    def emit(self, name: str, data: bytes) -> None:
        raise ReadOnlyViolation("a view cannot emit events")

    def call(self, target: str, method: str, args: bytes) -> bytes | None:
        record = read_contract(self._state, target)
        if record is None:
            raise ReadOnlyViolation(f"a view may call other contracts' views only, not {target!a}")
        host = _ViewHost(self._state, record, self.gas, self.contract)
        return program_of(self._state, record.code_hash).invoke(host, method, args, readonly=True)


# --- queries (read-only, over committed state) ---------------------------------------------------------


def query_contract(state: QueryState, args: c.ContractQuery) -> c.ContractView:
    record = read_contract(state, args.name)
    if record is None:
        raise NotFound(f"there is no contract {args.name!a}")
    code = read_code(state, record.code_hash)
    if code is None:
        raise NotFound(f"the code of {args.name!a} is missing")
    return c.ContractView(record, code.abi, code.source)


def query_contracts(state: QueryState, args: c.PageQuery) -> list[c.Contract]:
    names = CONTRACTS.members(state, args.start, args.limit)
    return [r for n in names if (r := read_contract(state, n.decode())) is not None]


def query_code(state: QueryState, args: c.CodeQuery) -> c.Code:
    code = read_code(state, args.code_hash)
    if code is None:
        raise NotFound(f"no code with hash {args.code_hash.hex()} was submitted")
    return code


def query_view(state: QueryState, args: c.ViewQuery) -> c.ViewAnswer:
    record = read_contract(state, args.name)
    if record is None:
        raise NotFound(f"there is no contract {args.name!a}")
    gas = GasMeter(c.VIEW_GAS)
    host = _ViewHost(state, record, gas, bytes(20))
    result = program_of(state, record.code_hash).invoke(host, args.method, args.args, readonly=True)
    return c.ViewAnswer(result, gas.used)


_QUERIES = (
    Query("contract", query_contract, c.ContractQuery, "a live contract: its record, ABI and source"),
    Query("contracts", query_contracts, c.PageQuery, "the live contracts, a page at a time"),
    Query("code", query_code, c.CodeQuery, "submitted code by its hash"),
    Query("view", query_view, c.ViewQuery, "run a view method read-only over committed state"),
)
