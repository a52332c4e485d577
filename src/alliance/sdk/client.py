"""``Client`` (synchronous) and ``AsyncClient``: the typed Python client of the node API.

Theory of operation: each API call is described once, as a ``_Call`` (method, path, query, body,
parser of the JSON answer). The two clients differ only in how they send a ``_Call``: ``httpx``
synchronously or asynchronously. Sending converts every failure once: an error answer becomes the
typed ``alliance.errors`` class its problem ``code`` names (``sdk.errors.from_problem``), a
connection failure ``Unreachable`` (naming the URL), a read that ran out of time ``Timeout``.
Views come back as frozen msgspec Structs with bytes as bytes (``sdk.views``).

Transactions are built and signed locally: the key never leaves the caller. The chain id and the
height come from one ``status()`` per signature: the height must be fresh (``valid_until`` is
counted from it), so caching the chain id would save no request. By default a transaction is
valid for half the governed window, so a node a few blocks behind still accepts it by gossip.

``subscribe`` follows the block stream over a WebSocket. When the node closes it for being too
slow (1013), it resumes from the height after the last one it yielded, so the caller sees every
block once, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
import msgspec
import websockets
from websockets.asyncio.client import connect as ws_connect

from alliance import codec
from alliance.crypto.keys import AccountKey, parse_address
from alliance.errors import UsageError
from alliance.execution.modules.accounts import TransferArgs
from alliance.ledger.transaction import sign_tx
from alliance.sdk import views
from alliance.sdk.errors import Timeout, Unreachable, from_problem
from alliance.sdk.views import (
    Account,
    BadResponse,
    BatchResult,
    BlockEvent,
    BlockView,
    ReceiptView,
    StateView,
    Status,
    TxView,
)

T = TypeVar("T")

MSGPACK_MEDIA_TYPE = "application/msgpack"
WAIT_REQUEST_MS_MAX = 60_000  # the API's own bound on one wait request
STREAM_RESUMES_MAX = 100
WAIT_RETRY_PAUSE_S = 0.1
WS_CLOSE_TRY_AGAIN_LATER = 1013
STREAM_MESSAGE_BYTES_MAX = 64 * 1024 * 1024

Address = bytes | str


@dataclass(frozen=True, slots=True)
class _Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    what: str
    params: dict[str, str | int] | None = None
    json: object = None
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


class _Calls:
    """The calls of spec/api.md, as data; no I/O here."""

    @staticmethod
    def status() -> _Call[Status]:
        return _Call("GET", "/v1/status", views.status, "status")

    @staticmethod
    def account(address: Address) -> _Call[Account]:
        return _Call("GET", f"/v1/accounts/{_address_text(address)}", views.account, "account")

    @staticmethod
    def block(height: int | Literal["latest"]) -> _Call[BlockView]:
        return _Call("GET", f"/v1/blocks/{_height_text(height)}", views.block, "block")

    @staticmethod
    def receipts(height: int) -> _Call[list[ReceiptView]]:
        return _Call("GET", f"/v1/blocks/{_height_text(height)}/receipts", views.receipts, "receipts")

    @staticmethod
    def tx(tx_hash: bytes | str) -> _Call[TxView]:
        return _Call("GET", f"/v1/txs/{_hash_text(tx_hash)}", views.tx, "transaction")

    @staticmethod
    def wait(tx_hash: bytes | str, timeout_ms: int, client_timeout_s: float) -> _Call[TxView]:
        return _Call(
            "GET",
            f"/v1/txs/{_hash_text(tx_hash)}/wait",
            views.tx,
            "transaction",
            params={"timeout_ms": timeout_ms},
            timeout_s=timeout_ms / 1000 + client_timeout_s,
        )

    @staticmethod
    def query(key: bytes, height: int | None, prove: bool) -> _Call[StateView]:
        params: dict[str, str | int] = {"prove": "true" if prove else "false"}
        if height is not None:
            params["height"] = height
        return _Call("GET", f"/v1/state/{key.hex()}", views.state, "state", params=params)

    @staticmethod
    def submit(raw: bytes) -> _Call[str]:
        return _Call("POST", "/v1/txs", _submitted_hash, "submission", json={"tx": raw.hex()})

    @staticmethod
    def submit_batch(raws: Sequence[bytes], binary: bool) -> _Call[BatchResult]:
        if binary:
            return _Call(
                "POST",
                "/v1/txs/batch",
                views.binary_batch,
                "batch result",
                content=msgspec.msgpack.encode(list(raws)),
                headers={"content-type": MSGPACK_MEDIA_TYPE},
            )
        body = {"txs": [raw.hex() for raw in raws]}
        return _Call("POST", "/v1/txs/batch", views.json_batch, "batch result", json=body)


def _submitted_hash(d: Any) -> str:
    value = d["hash"]
    if not isinstance(value, str):
        raise TypeError("hash is not text")
    return value


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _answer(call: _Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400:
        raise from_problem(response.status_code, response.content, str(response.request.url))
    try:
        data = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        raise BadResponse(f"the node's {call.what} from {response.request.url} is not JSON") from None
    return views.guarded(call.what, call.parse, data)


def _transport_error(exc: httpx.TransportError, url: str) -> Exception:
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return Timeout(f"no answer from {url} in time ({type(exc).__name__})")
    return Unreachable(f"cannot reach the node at {url}: {_one_line(exc) or type(exc).__name__}")


def _timeout(call: _Call[Any], default_s: float) -> float:
    return call.timeout_s if call.timeout_s is not None else default_s


def _transfer_tx(
    key: AccountKey, to: Address, amount: int, chain_id: str, status: Status, valid_for_blocks: int | None
) -> bytes:
    window = valid_for_blocks if valid_for_blocks is not None else max(1, status.tx_window_blocks // 2)
    if not 1 <= window <= status.tx_window_blocks:
        raise UsageError(f"valid_for_blocks must be within 1..{status.tx_window_blocks}, got {window}")
    tx = sign_tx(
        key,
        chain_id=chain_id,
        target="accounts",
        method="transfer",
        args=TransferArgs(to=_address_bytes(to), amount=amount),
        valid_until=status.height + window,
    )
    return codec.encode(tx)


def _pending_view(tx_hash: str) -> TxView:
    return TxView(hash=bytes.fromhex(tx_hash), status="pending", height=None)


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

    def _do(self, call: _Call[T]) -> T:
        url = self.base_url + call.path
        try:
            response = self._http.request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                content=call.content,
                headers=call.headers,
                timeout=_timeout(call, self.timeout_s),
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc, url) from None
        return _answer(call, response)

    def status(self) -> Status:
        return self._do(_Calls.status())

    def account(self, address: Address) -> Account:
        return self._do(_Calls.account(address))

    def block(self, height: int | Literal["latest"]) -> BlockView:
        return self._do(_Calls.block(height))

    def receipts(self, height: int) -> list[ReceiptView]:
        return self._do(_Calls.receipts(height))

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
                return self._do(_Calls.wait(tx_hash, min(left_ms, WAIT_REQUEST_MS_MAX), self.timeout_s))
            except Timeout:
                # The node's wait ran out (408): ask again until our own deadline, pausing so that a
                # node answering 408 at once (a refused row is never findable) is not hammered.
                time.sleep(min(WAIT_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))

    def sign_transfer(
        self, key: AccountKey, to: Address, amount: int, *, valid_for_blocks: int | None = None
    ) -> bytes:
        status = self.status()
        return _transfer_tx(key, to, amount, status.chain_id, status, valid_for_blocks)

    def transfer(self, key: AccountKey, to: Address, amount: int, *, wait: bool = True) -> TxView:
        tx_hash = self.submit(self.sign_transfer(key, to, amount))
        return self.wait(tx_hash) if wait else _pending_view(tx_hash)


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
                json=call.json,
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
                return await self._do(_Calls.wait(tx_hash, min(left_ms, WAIT_REQUEST_MS_MAX), self.timeout_s))
            except Timeout:
                await asyncio.sleep(min(WAIT_RETRY_PAUSE_S, max(0.0, deadline - loop.time())))

    async def sign_transfer(
        self, key: AccountKey, to: Address, amount: int, *, valid_for_blocks: int | None = None
    ) -> bytes:
        status = await self.status()
        return _transfer_tx(key, to, amount, status.chain_id, status, valid_for_blocks)

    async def transfer(self, key: AccountKey, to: Address, amount: int, *, wait: bool = True) -> TxView:
        tx_hash = await self.submit(await self.sign_transfer(key, to, amount))
        return await self.wait(tx_hash) if wait else _pending_view(tx_hash)

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
                        data = msgspec.json.decode(message)
                        event = views.guarded("stream message", views.block_event, data)
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
