"""``Client`` (synchronous) and ``AsyncClient``: the typed Python client of the node API.

Theory of operation: each API call is described once, as a ``_Call`` (method, path, query, body,
parser of the JSON answer). The two clients differ only in how they send a ``_Call``: ``httpx``
synchronously or asynchronously. Sending converts every failure once: an error answer becomes the
typed ``alliance.errors`` class its problem ``code`` names (``sdk.errors.from_problem``), a
connection failure ``Unreachable`` (naming the URL), a read that ran out of time ``Timeout``.
Answers come back as the API's own wire Structs (``sdk.wire``), decoded by msgspec: bytes as
``bytes`` subclasses (``Hex``, ``Address``), a shape the node should not send a ``BadResponse``.

Transactions are built and signed locally: the key never leaves the caller. ``sign_call`` signs
any module call; the transfer and governance helpers are calls with the module's own args
Structs. The chain id and the height come from one ``status()`` per signature: the height must be
fresh (``valid_until`` is counted from it), so caching the chain id would save no request. By
default a transaction is valid for half the governed window, so a node a few blocks behind still
accepts it by gossip.

``call`` hands back the receipt as a view whatever its status (a refusal at execution is a fact on
the ledger, not a failed request). The governance helpers (``propose``, ``vote``, ``freeze``) are
for callers who mean the action to happen: once committed, a failed receipt raises the
``alliance.errors`` class its status code names (``sdk.errors.from_receipt``), and ``propose``
reads the new proposal's id from the receipt's ``proposed`` event.

``subscribe`` follows the block stream over a WebSocket. When the node closes it for being too
slow (1013), it resumes from the height after the last one it yielded, so the caller sees every
block once, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast, get_args

import httpx
import msgspec
import websockets
from websockets.asyncio.client import connect as ws_connect

from alliance import codec
from alliance.abi import gov
from alliance.abi.accounts import TransferArgs
from alliance.crypto.keys import AccountKey, parse_address
from alliance.errors import UsageError
from alliance.ledger.transaction import DEFAULT_GAS_LIMIT, sign_tx
from alliance.sdk import wire
from alliance.sdk.errors import BadResponse, Timeout, Unreachable, from_problem, from_receipt
from alliance.sdk.wire import (
    MSGPACK_MEDIA_TYPE,
    PROPOSALS_LIMIT_MAX,
    WAIT_TIMEOUT_MS_MAX,
    WS_CLOSE_TRY_AGAIN_LATER,
    Account,
    BatchResult,
    BlockEvent,
    BlockView,
    GovernanceView,
    Hash32,
    ProposalOutcome,
    ProposalView,
    ReceiptView,
    StateView,
    Status,
    TxView,
)

T = TypeVar("T")

STREAM_RESUMES_MAX = 100
WAIT_RETRY_PAUSE_S = 0.1
STREAM_MESSAGE_BYTES_MAX = 64 * 1024 * 1024

Address = bytes | str


@dataclass(frozen=True, slots=True)
class _Call(Generic[T]):
    """One request: the wire type its answer decodes to (``kind``, a ``T`` unless ``then`` makes
    the caller's ``T`` of it)."""

    method: str
    path: str
    kind: Any
    what: str
    then: Callable[[Any], T] | None = None
    params: dict[str, str | int] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    timeout_s: float | None = None


def _address_text(address: Address) -> str:
    if isinstance(address, bytes):
        if len(address) != 20:
            raise UsageError(f"an address is 20 bytes, got {len(address)}")
        return "0x" + address.hex()
    return "0x" + parse_address(address).hex()


def _address_bytes(address: Address) -> bytes:
    if isinstance(address, bytes):
        _address_text(address)  # checks the length
        return address
    return parse_address(address)


def _hash_text(tx_hash: bytes | str) -> str:
    if isinstance(tx_hash, bytes):
        return tx_hash.hex()
    return tx_hash[2:] if tx_hash[:2] in ("0x", "0X") else tx_hash


def _height_text(height: int | Literal["latest"]) -> str:
    if height == "latest":
        return "latest"
    if isinstance(height, bool) or not isinstance(height, int):
        raise UsageError(f"a height is an integer or 'latest', got {height!r}")
    return str(height)


def _id_text(proposal_id: int) -> str:
    if isinstance(proposal_id, bool) or not isinstance(proposal_id, int) or proposal_id < 1:
        raise UsageError(f"a proposal id is an integer >= 1, got {proposal_id!r}")
    return str(proposal_id)


class _Calls:
    """The calls of spec/api.md, as data; no I/O here."""

    @staticmethod
    def status() -> _Call[Status]:
        return _Call("GET", "/v1/status", Status, "status")

    @staticmethod
    def account(address: Address) -> _Call[Account]:
        return _Call("GET", f"/v1/accounts/{_address_text(address)}", Account, "account")

    @staticmethod
    def block(height: int | Literal["latest"]) -> _Call[BlockView]:
        return _Call("GET", f"/v1/blocks/{_height_text(height)}", BlockView, "block")

    @staticmethod
    def receipts(height: int) -> _Call[list[ReceiptView]]:
        return _Call("GET", f"/v1/blocks/{_height_text(height)}/receipts", list[ReceiptView], "receipts")

    @staticmethod
    def tx(tx_hash: bytes | str) -> _Call[TxView]:
        return _Call("GET", f"/v1/txs/{_hash_text(tx_hash)}", TxView, "transaction")

    @staticmethod
    def wait(tx_hash: bytes | str, timeout_ms: int, client_timeout_s: float) -> _Call[TxView]:
        return _Call(
            "GET",
            f"/v1/txs/{_hash_text(tx_hash)}/wait",
            TxView,
            "transaction",
            params={"timeout_ms": timeout_ms},
            timeout_s=timeout_ms / 1000 + client_timeout_s,
        )

    @staticmethod
    def query(key: bytes, height: int | None, prove: bool) -> _Call[StateView]:
        params: dict[str, str | int] = {"prove": "true" if prove else "false"}
        if height is not None:
            params["height"] = height
        return _Call("GET", f"/v1/state/{key.hex()}", StateView, "state", params=params)

    @staticmethod
    def blocks(before: int | None, limit: int) -> _Call[wire.BlockHeadersPage]:
        if not 1 <= limit <= wire.BLOCKS_LIMIT_MAX:
            raise UsageError(f"limit must be within 1..{wire.BLOCKS_LIMIT_MAX}, got {limit}")
        params: dict[str, str | int] = {"limit": limit}
        if before is not None:
            params["before"] = _height_text(before)
        return _Call("GET", "/v1/blocks", wire.BlockHeadersPage, "block headers", params=params)

    @staticmethod
    def block_by_hash(block_hash: bytes | str) -> _Call[BlockView]:
        return _Call("GET", f"/v1/blocks/by-hash/{_hash_text(block_hash)}", BlockView, "block")

    @staticmethod
    def validators(height: int | None) -> _Call[wire.ValidatorSetView]:
        params: dict[str, str | int] = {} if height is None else {"height": _height_text(height)}
        return _Call("GET", "/v1/validators", wire.ValidatorSetView, "validator set", params=params)

    @staticmethod
    def tx_proof(tx_hash: bytes | str) -> _Call[wire.TxProofView]:
        return _Call("GET", f"/v1/txs/{_hash_text(tx_hash)}/proof", wire.TxProofView, "inclusion proof")

    @staticmethod
    def account_txs(
        address: Address, before: tuple[int, int] | None, limit: int
    ) -> _Call[wire.AccountTxsPage]:
        if not 1 <= limit <= wire.ACCOUNT_TXS_LIMIT_MAX:
            raise UsageError(f"limit must be within 1..{wire.ACCOUNT_TXS_LIMIT_MAX}, got {limit}")
        params: dict[str, str | int] = {"limit": limit}
        if before is not None:
            params["before"], params["before_index"] = _height_text(before[0]), before[1]
        path = f"/v1/accounts/{_address_text(address)}/txs"
        return _Call("GET", path, wire.AccountTxsPage, "account transactions", params=params)

    @staticmethod
    def governance() -> _Call[GovernanceView]:
        return _Call("GET", "/v1/gov", GovernanceView, "governance")

    @staticmethod
    def frozen(start: int, limit: int) -> _Call[wire.FrozenPage]:
        if not 1 <= limit <= wire.PAGE_LIMIT_MAX or isinstance(start, bool) or start < 0:
            raise UsageError(f"start >= 0 and limit within 1..{wire.PAGE_LIMIT_MAX}, got {start}, {limit}")
        params: dict[str, str | int] = {"start": start, "limit": limit}
        return _Call("GET", "/v1/gov/frozen", wire.FrozenPage, "frozen accounts", params=params)

    @staticmethod
    def proposal(proposal_id: int) -> _Call[ProposalView]:
        return _Call("GET", f"/v1/gov/proposals/{_id_text(proposal_id)}", ProposalView, "proposal")

    @staticmethod
    def proposals(from_id: int, limit: int) -> _Call[list[ProposalView]]:
        if not 1 <= limit <= PROPOSALS_LIMIT_MAX:
            raise UsageError(f"limit must be within 1..{PROPOSALS_LIMIT_MAX}, got {limit}")
        params: dict[str, str | int] = {"from_id": _id_text(from_id), "limit": limit}
        return _Call("GET", "/v1/gov/proposals", list[ProposalView], "proposals", params=params)

    @staticmethod
    def submit(raw: bytes) -> _Call[str]:
        body = wire.SubmitRequest(tx=raw.hex())
        return _Call(
            "POST",
            "/v1/txs",
            wire.SubmitResponse,
            "submission",
            _submitted_hash,
            content=wire.encode(body),
            headers={"content-type": "application/json"},
        )

    @staticmethod
    def submit_batch(raws: Sequence[bytes], binary: bool) -> _Call[BatchResult]:
        if binary:
            return _Call(
                "POST",
                "/v1/txs/batch",
                wire.BinaryBatchResponse,
                "batch result",
                _binary_batch_result,
                content=msgspec.msgpack.encode(list(raws)),
                headers={"content-type": MSGPACK_MEDIA_TYPE},
            )
        body = wire.BatchRequest(txs=[raw.hex() for raw in raws])
        return _Call(
            "POST",
            "/v1/txs/batch",
            wire.BatchResponse,
            "batch result",
            _json_batch_result,
            content=wire.encode(body),
            headers={"content-type": "application/json"},
        )


def _submitted_hash(answer: wire.SubmitResponse) -> str:
    return answer.hash.hex()


def _binary_batch_result(answer: wire.BinaryBatchResponse) -> BatchResult:
    return BatchResult(accepted=answer.accepted, rejected=answer.rejected)


def _json_batch_result(answer: wire.BatchResponse) -> BatchResult:
    rejected = tuple(
        wire.Rejection(index=i, code=item.code or "", detail=item.detail or "")
        for i, item in enumerate(answer.results)
        if not item.accepted
    )
    hashes = tuple(None if item.hash is None else bytes(item.hash) for item in answer.results)
    return BatchResult(accepted=answer.accepted, rejected=rejected, hashes=hashes)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _answer(call: _Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400:
        raise from_problem(response.status_code, response.content, str(response.request.url))
    try:
        decoded = wire.decode(call.kind, response.content)
    except msgspec.DecodeError:
        raise BadResponse(f"the node's {call.what} from {response.request.url} is not JSON") from None
    except msgspec.ValidationError as exc:
        raise BadResponse(f"unexpected {call.what} from {response.request.url}: {exc}") from None
    return call.then(decoded) if call.then is not None else cast(T, decoded)


def _transport_error(exc: httpx.TransportError, url: str) -> Exception:
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return Timeout(f"no answer from {url} in time ({type(exc).__name__})")
    return Unreachable(f"cannot reach the node at {url}: {_one_line(exc) or type(exc).__name__}")


def _timeout(call: _Call[Any], default_s: float) -> float:
    return call.timeout_s if call.timeout_s is not None else default_s


def signed_transfer(
    key: AccountKey, chain_id: str, to: bytes, amount: int, valid_until: int, *, nonce: bytes | None = None
) -> bytes:
    """A signed ``accounts.transfer`` (canonical bytes) for a chain and a height bound the caller
    knows already: no request (the load generator signs thousands this way)."""
    args = TransferArgs(to=to, amount=amount)
    return signed_call(key, chain_id, "accounts", "transfer", args, valid_until, nonce=nonce)


def signed_call(
    key: AccountKey,
    chain_id: str,
    target: str,
    method: str,
    args: object,
    valid_until: int,
    *,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    nonce: bytes | None = None,
) -> bytes:
    """A signed call of ``target.method`` (canonical bytes) for a chain and a height bound the caller
    knows already: no request. ``args`` a Struct, a list, or ``msgspec.Raw``."""
    tx = sign_tx(
        key,
        chain_id=chain_id,
        target=target,
        method=method,
        args=args,
        valid_until=valid_until,
        gas_limit=gas_limit,
        nonce=nonce,
    )
    return codec.encode(tx)


def _signed_call(
    key: AccountKey,
    target: str,
    method: str,
    args: object,
    status: Status,
    valid_for_blocks: int | None,
    gas_limit: int = DEFAULT_GAS_LIMIT,
) -> bytes:
    window = valid_for_blocks if valid_for_blocks is not None else max(1, status.tx_window_blocks // 2)
    if not 1 <= window <= status.tx_window_blocks:
        raise UsageError(f"valid_for_blocks must be within 1..{status.tx_window_blocks}, got {window}")
    if not 1 <= gas_limit <= 2**63 - 1:
        raise UsageError(f"a gas limit is a positive integer, got {gas_limit}")
    valid_until = status.height + window
    return signed_call(key, status.chain_id, target, method, args, valid_until, gas_limit=gas_limit)


def _query_param(value: object) -> str | int:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return value
    raise UsageError(f"a query argument is text, a number or bytes, got {type(value).__name__}")


def _valid(kind: type[T], value: T) -> T:
    """``value`` as the node will decode it: constructing a Struct does not check its bounds, so a
    malformed argument is a ``UsageError`` here rather than a signed transaction the node refuses."""
    try:
        return codec.decode(kind, codec.encode(value))
    except UsageError as exc:
        raise UsageError(f"invalid arguments: {exc.message}") from None


def transfer_args(to: Address, amount: int) -> TransferArgs:
    """``accounts.transfer``'s arguments, checked (no I/O: callers may check before dialling)."""
    return _valid(TransferArgs, TransferArgs(to=_address_bytes(to), amount=amount))


def propose_args(action: gov.Action, voting_blocks: int = 0) -> gov.ProposeArgs:
    """``gov.propose``'s arguments, checked."""
    if not isinstance(action, get_args(gov.Action)):
        raise UsageError(f"action must be one of governance's Action structs, got {type(action).__name__}")
    if isinstance(voting_blocks, bool) or not isinstance(voting_blocks, int) or voting_blocks < 0:
        raise UsageError(f"voting_blocks is an integer >= 0 (0: the chain's period), got {voting_blocks!r}")
    return _valid(gov.ProposeArgs, gov.ProposeArgs(action=action, voting_blocks=voting_blocks))


def vote_args(proposal_id: int, yes: bool) -> gov.VoteArgs:
    """``gov.vote``'s arguments, checked."""
    return gov.VoteArgs(proposal=int(_id_text(proposal_id)), yes=bool(yes))


def freeze_args(account: Address, reason: str) -> gov.FreezeArgs:
    """``gov.freeze``'s arguments, checked."""
    return _valid(gov.FreezeArgs, gov.FreezeArgs(account=_address_bytes(account), reason=reason))


def _pending_view(tx_hash: str) -> TxView:
    return TxView(hash=Hash32(bytes.fromhex(tx_hash)), status="pending", height=None)


def _checked(view: TxView) -> TxView:
    """``view`` if it is pending or succeeded; the typed error its failed receipt names otherwise
    (its message says which transaction, at which height)."""
    if view.committed and not view.ok:
        where = f"transaction {view.hash.hex()} at height {view.height}"
        raise from_receipt(view.status, f"{view.error or view.status} ({where})")
    return view


_DECISIONS = ("proposed", "passed", "rejected")


def _outcome(view: TxView, proposal_id: int | None) -> ProposalOutcome:
    """What a committed propose or vote did, from its receipt's events (``proposal_id`` None: find
    the id in the ``proposed`` event)."""
    if not view.committed:
        return ProposalOutcome(
            proposal=proposal_id, proposal_status=None, tx_hash=view.hash, height=None, status=view.status
        )
    _checked(view)
    decided: str | None = None
    for event in view.events:
        if event.emitter != gov.MODULE_NAME or event.name not in _DECISIONS:
            continue
        try:
            data = codec.decode(gov.ProposalEvent, event.data)
        except UsageError as exc:
            raise BadResponse(f"a malformed gov.{event.name} event: {exc.message}") from None
        if proposal_id is None and event.name == "proposed":
            proposal_id = data.id
        if data.id == proposal_id:
            decided = data.status  # the last one wins: "open", then "passed" or "rejected"
    if proposal_id is None:
        raise BadResponse(f"the receipt of transaction {view.hash.hex()} has no gov.proposed event")
    return ProposalOutcome(
        proposal=proposal_id,
        proposal_status=decided or "open",  # a vote that decided nothing leaves it open
        tx_hash=view.hash,
        height=view.height,
        status=view.status,
    )


class Client:
    """Synchronous client of one node's API. Use as a context manager or call ``close()``."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 10.0, transport: httpx.BaseTransport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _response(self, call: _Call[Any]) -> httpx.Response:
        try:
            return self._http.request(
                call.method,
                call.path,
                params=call.params,
                content=call.content,
                headers=call.headers,
                timeout=_timeout(call, self.timeout_s),
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url + call.path) from None

    def _do(self, call: _Call[T]) -> T:
        return _answer(call, self._response(call))

    def status(self) -> Status:
        return self._do(_Calls.status())

    def account(self, address: Address) -> Account:
        return self._do(_Calls.account(address))

    def block(self, height: int | Literal["latest"]) -> BlockView:
        return self._do(_Calls.block(height))

    def receipts(self, height: int) -> list[ReceiptView]:
        return self._do(_Calls.receipts(height))

    def blocks(
        self, before: int | None = None, limit: int = wire.BLOCKS_LIMIT_DEFAULT
    ) -> wire.BlockHeadersPage:
        """Block headers below ``before`` (default: from the newest), newest first."""
        return self._do(_Calls.blocks(before, limit))

    def block_by_hash(self, block_hash: bytes | str) -> BlockView:
        return self._do(_Calls.block_by_hash(block_hash))

    def validators(self, height: int | None = None) -> wire.ValidatorSetView:
        """The validator set that votes at ``height`` (default: the last committed height)."""
        return self._do(_Calls.validators(height))

    def tx_proof(self, tx_hash: bytes | str) -> wire.TxProofView:
        return self._do(_Calls.tx_proof(tx_hash))

    def account_txs(
        self,
        address: Address,
        before: tuple[int, int] | None = None,
        limit: int = wire.ACCOUNT_TXS_LIMIT_DEFAULT,
    ) -> wire.AccountTxsPage:
        """``address``'s transactions before the position (height, index), newest first; page on
        with ``before=(page.next_before, page.next_before_index)``."""
        return self._do(_Calls.account_txs(address, before, limit))

    def tx(self, tx_hash: bytes | str) -> TxView:
        return self._do(_Calls.tx(tx_hash))

    def query(self, key: bytes, height: int | None = None, prove: bool = False) -> StateView:
        return self._do(_Calls.query(key, height, prove))

    def submit(self, raw: bytes) -> str:
        return self._do(_Calls.submit(raw))

    def submit_batch(self, raws: Sequence[bytes], binary: bool = True) -> BatchResult:
        return self._do(_Calls.submit_batch(raws, binary))

    def wait(self, tx_hash: bytes | str, timeout_s: float = 30.0) -> TxView:
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                raise Timeout(f"transaction {_hash_text(tx_hash)} not committed within {timeout_s} s")
            try:
                return self._do(_Calls.wait(tx_hash, min(left_ms, WAIT_TIMEOUT_MS_MAX), self.timeout_s))
            except Timeout:
                # The node's wait ran out (408): ask again until our own deadline, pausing so that a
                # node answering 408 at once (a refused row is never findable) is not hammered.
                time.sleep(min(WAIT_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))

    def sign_call(
        self,
        key: AccountKey,
        target: str,
        method: str,
        args: object,
        *,
        valid_for_blocks: int | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> bytes:
        return _signed_call(key, target, method, args, self.status(), valid_for_blocks, gas_limit)

    def call(
        self,
        key: AccountKey,
        target: str,
        method: str,
        args: object,
        *,
        wait: bool = True,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> TxView:
        """Sign, submit and (by default) wait for a call; its receipt whatever its status."""
        tx_hash = self.submit(self.sign_call(key, target, method, args, gas_limit=gas_limit))
        return self.wait(tx_hash) if wait else _pending_view(tx_hash)

    def call_checked(
        self, key: AccountKey, target: str, method: str, args: object, *, gas_limit: int = DEFAULT_GAS_LIMIT
    ) -> TxView:
        """``call`` and wait; a failed receipt raises the typed error its status names."""
        return _checked(self.call(key, target, method, args, gas_limit=gas_limit))

    def read(self, path: str, params: dict[str, str | int] | None = None, *, what: str = "answer") -> Any:
        """Any GET route's JSON answer as plain values (dicts, lists, numbers, text)."""
        if not path.startswith("/v1/"):
            raise UsageError(f"an API path starts with /v1/, got {path!r}")
        return self._do(_Call("GET", path, Any, what, params=params))

    def read_text(self, path: str, params: dict[str, str | int] | None = None) -> str:
        """A GET route's answer as text (the CSV reports): a 4xx/5xx raises its typed error."""
        if not path.startswith("/v1/"):
            raise UsageError(f"an API path starts with /v1/, got {path!r}")
        response = self._response(_Call("GET", path, str, "text", params=params))
        if response.status_code >= 400:
            raise from_problem(response.status_code, response.content, str(response.request.url))
        return response.text

    def module(self, module: str, query: str, **args: object) -> Any:
        """A module's read-only query (``GET /v1/modules/MODULE/QUERY``): ``{"height", "value"}``
        as plain JSON values. Bytes arguments (addresses too) go as hex."""
        params = {name: _query_param(value) for name, value in args.items()}
        return self.read(f"/v1/modules/{module}/{query}", params, what=f"{module}.{query}")

    def sign_transfer(
        self, key: AccountKey, to: Address, amount: int, *, valid_for_blocks: int | None = None
    ) -> bytes:
        args = transfer_args(to, amount)
        return self.sign_call(key, "accounts", "transfer", args, valid_for_blocks=valid_for_blocks)

    def transfer(self, key: AccountKey, to: Address, amount: int, *, wait: bool = True) -> TxView:
        return self.call(key, "accounts", "transfer", transfer_args(to, amount), wait=wait)

    def governance(self) -> GovernanceView:
        return self._do(_Calls.governance())

    def frozen(self, start: int = 0, limit: int = wire.PAGE_LIMIT_DEFAULT) -> wire.FrozenPage:
        """Frozen accounts from position ``start`` (``total`` says how many in all)."""
        return self._do(_Calls.frozen(start, limit))

    def proposal(self, proposal_id: int) -> ProposalView:
        return self._do(_Calls.proposal(proposal_id))

    def proposals(self, from_id: int = 1, limit: int = 100) -> list[ProposalView]:
        return self._do(_Calls.proposals(from_id, limit))

    def propose(
        self, key: AccountKey, action: gov.Action, *, voting_blocks: int = 0, wait: bool = True
    ) -> ProposalOutcome:
        args = propose_args(action, voting_blocks)
        return _outcome(self.call(key, gov.MODULE_NAME, "propose", args, wait=wait), None)

    def vote(self, key: AccountKey, proposal_id: int, yes: bool, *, wait: bool = True) -> ProposalOutcome:
        args = vote_args(proposal_id, yes)
        return _outcome(self.call(key, gov.MODULE_NAME, "vote", args, wait=wait), proposal_id)

    def freeze(self, key: AccountKey, account: Address, reason: str, *, wait: bool = True) -> TxView:
        args = freeze_args(account, reason)
        return _checked(self.call(key, gov.MODULE_NAME, "freeze", args, wait=wait))


class AsyncClient:
    """Asynchronous client of one node's API. Use ``async with`` or call ``aclose()``."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _do(self, call: _Call[T]) -> T:
        url = self.base_url + call.path
        try:
            response = await self._http.request(
                call.method,
                call.path,
                params=call.params,
                content=call.content,
                headers=call.headers,
                timeout=_timeout(call, self.timeout_s),
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc, url) from None
        return _answer(call, response)

    async def status(self) -> Status:
        return await self._do(_Calls.status())

    async def account(self, address: Address) -> Account:
        return await self._do(_Calls.account(address))

    async def block(self, height: int | Literal["latest"]) -> BlockView:
        return await self._do(_Calls.block(height))

    async def receipts(self, height: int) -> list[ReceiptView]:
        return await self._do(_Calls.receipts(height))

    async def blocks(
        self, before: int | None = None, limit: int = wire.BLOCKS_LIMIT_DEFAULT
    ) -> wire.BlockHeadersPage:
        return await self._do(_Calls.blocks(before, limit))

    async def block_by_hash(self, block_hash: bytes | str) -> BlockView:
        return await self._do(_Calls.block_by_hash(block_hash))

    async def validators(self, height: int | None = None) -> wire.ValidatorSetView:
        return await self._do(_Calls.validators(height))

    async def tx_proof(self, tx_hash: bytes | str) -> wire.TxProofView:
        return await self._do(_Calls.tx_proof(tx_hash))

    async def account_txs(
        self,
        address: Address,
        before: tuple[int, int] | None = None,
        limit: int = wire.ACCOUNT_TXS_LIMIT_DEFAULT,
    ) -> wire.AccountTxsPage:
        return await self._do(_Calls.account_txs(address, before, limit))

    async def tx(self, tx_hash: bytes | str) -> TxView:
        return await self._do(_Calls.tx(tx_hash))

    async def query(self, key: bytes, height: int | None = None, prove: bool = False) -> StateView:
        return await self._do(_Calls.query(key, height, prove))

    async def submit(self, raw: bytes) -> str:
        return await self._do(_Calls.submit(raw))

    async def submit_batch(self, raws: Sequence[bytes], binary: bool = True) -> BatchResult:
        return await self._do(_Calls.submit_batch(raws, binary))

    async def wait(self, tx_hash: bytes | str, timeout_s: float = 30.0) -> TxView:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            left_ms = int((deadline - loop.time()) * 1000)
            if left_ms <= 0:
                raise Timeout(f"transaction {_hash_text(tx_hash)} not committed within {timeout_s} s")
            try:
                return await self._do(_Calls.wait(tx_hash, min(left_ms, WAIT_TIMEOUT_MS_MAX), self.timeout_s))
            except Timeout:
                await asyncio.sleep(min(WAIT_RETRY_PAUSE_S, max(0.0, deadline - loop.time())))

    async def sign_call(
        self,
        key: AccountKey,
        target: str,
        method: str,
        args: object,
        *,
        valid_for_blocks: int | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> bytes:
        return _signed_call(key, target, method, args, await self.status(), valid_for_blocks, gas_limit)

    async def call(
        self,
        key: AccountKey,
        target: str,
        method: str,
        args: object,
        *,
        wait: bool = True,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> TxView:
        tx_hash = await self.submit(await self.sign_call(key, target, method, args, gas_limit=gas_limit))
        return await self.wait(tx_hash) if wait else _pending_view(tx_hash)

    async def sign_transfer(
        self, key: AccountKey, to: Address, amount: int, *, valid_for_blocks: int | None = None
    ) -> bytes:
        args = transfer_args(to, amount)
        return await self.sign_call(key, "accounts", "transfer", args, valid_for_blocks=valid_for_blocks)

    async def transfer(self, key: AccountKey, to: Address, amount: int, *, wait: bool = True) -> TxView:
        return await self.call(key, "accounts", "transfer", transfer_args(to, amount), wait=wait)

    async def governance(self) -> GovernanceView:
        return await self._do(_Calls.governance())

    async def frozen(self, start: int = 0, limit: int = wire.PAGE_LIMIT_DEFAULT) -> wire.FrozenPage:
        return await self._do(_Calls.frozen(start, limit))

    async def proposal(self, proposal_id: int) -> ProposalView:
        return await self._do(_Calls.proposal(proposal_id))

    async def proposals(self, from_id: int = 1, limit: int = 100) -> list[ProposalView]:
        return await self._do(_Calls.proposals(from_id, limit))

    async def propose(
        self, key: AccountKey, action: gov.Action, *, voting_blocks: int = 0, wait: bool = True
    ) -> ProposalOutcome:
        args = propose_args(action, voting_blocks)
        return _outcome(await self.call(key, gov.MODULE_NAME, "propose", args, wait=wait), None)

    async def vote(
        self, key: AccountKey, proposal_id: int, yes: bool, *, wait: bool = True
    ) -> ProposalOutcome:
        args = vote_args(proposal_id, yes)
        return _outcome(await self.call(key, gov.MODULE_NAME, "vote", args, wait=wait), proposal_id)

    async def freeze(self, key: AccountKey, account: Address, reason: str, *, wait: bool = True) -> TxView:
        args = freeze_args(account, reason)
        return _checked(await self.call(key, gov.MODULE_NAME, "freeze", args, wait=wait))

    def _stream_url(self, from_height: int | None) -> str:
        base = self.base_url
        if base.startswith("https://"):
            base = "wss://" + base.removeprefix("https://")
        elif base.startswith("http://"):
            base = "ws://" + base.removeprefix("http://")
        url = base + "/v1/stream"
        return url if from_height is None else f"{url}?from_height={from_height}"

    async def subscribe(self, from_height: int | None = None) -> AsyncGenerator[BlockEvent, None]:
        """Every committed block from ``from_height`` (default: the next one), in order, forever.

        A generator holding a connection: close it (``contextlib.aclosing``) when leaving early."""
        next_height = from_height
        resumes = 0
        while True:
            url = self._stream_url(next_height)
            try:
                async with ws_connect(
                    url, open_timeout=self.timeout_s, max_size=STREAM_MESSAGE_BYTES_MAX
                ) as connection:
                    async for message in connection:
                        try:
                            event = wire.decode(BlockEvent, message)
                        except msgspec.ValidationError as exc:
                            raise BadResponse(f"an unexpected stream message from {url}: {exc}") from None
                        next_height = event.height + 1
                        resumes = 0
                        yield event
            except websockets.ConnectionClosed as exc:
                if exc.rcvd is None or exc.rcvd.code != WS_CLOSE_TRY_AGAIN_LATER:
                    raise Unreachable(f"the node at {url} closed the stream: {_one_line(exc)}") from None
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                why = _one_line(exc) or type(exc).__name__
                raise Unreachable(f"cannot stream from {url}: {why}") from None
            except msgspec.DecodeError:
                raise BadResponse(f"a stream message from {url} is not JSON") from None
            else:
                if connection.close_code != WS_CLOSE_TRY_AGAIN_LATER:
                    return  # closed cleanly by the node
            resumes += 1
            if resumes > STREAM_RESUMES_MAX:
                raise Unreachable(f"the node at {url} kept closing the stream without sending a block")
