"""A fuzz campaign on the REST and WebSocket API of one real node (spec/api.md, "Errors").

The rule under test: bad input gets a clear, typed error (a 4xx problem JSON whose ``code`` is one
the project defines, with the status the spec gives that code) and never crashes the node or loses
its data. Theory of the campaign:

- The routes come from the app itself: every operation of its OpenAPI, every other HTTP route
  (``/docs``, ``/openapi.json``, ...) and every WebSocket route, read from ``create_app``'s route
  table, so a new route is fuzzed without touching this file. A test checks that the running node
  serves the same OpenAPI paths.
- For each operation hypothesis draws requests from the operation's own parameters (typed by
  their OpenAPI schema): path values (in range, at and past the bounds, negative, huge, past
  Python's int-string limit, non-numeric, unicode, very long, empty, odd hex, ``0x`` prefixes,
  known good values of this node), query strings (declared, unknown, repeated, out of range,
  wrongly typed), bodies (none, random bytes, random JSON of random shapes, deeply nested JSON,
  huge numbers, schema-shaped bodies with junk and mutated transactions, msgpack-looking binary
  with lying headers, empty) under right and wrong content types, and a wrong method now and then.
  Every example also sends one well-formed request, so each operation's documented 2xx JSON is
  checked too, not only its refusals. The requests of an example go out concurrently.
- Each answer is checked: status below 500, never a redirect (a trailing slash is a 404); a 4xx
  is ``application/problem+json`` with exactly the problem fields, ``type`` naming ``code``,
  and a status consistent with that code (the code tables of ``alliance.errors`` and
  ``alliance.api.errors``); a 2xx has a status the OpenAPI documents and a body that validates
  against the documented schema (a small validator over the OpenAPI components, strict about
  types, required and undocumented fields).
- The node runs in a thread of its own, on its own loop, as the helpers run it (the API client
  lives on that loop, as in ``test_api_node.py``), so hypothesis can drive it synchronously. It
  holds real data before the campaign: a committed transfer and a passed governance proposal.
  Afterwards the node must still answer, keep committing (its height grew and a new transfer
  submitted through the API commits), show the data it held before unchanged, count no 5xx in its
  own request metrics, and have logged no error.

Raw HTTP (bytes on a socket) covers what httpx will not send: malformed framing, a lower-case
method, bytes that are not a URL. The stream gets its own abuses: bad subscription queries, garbage
and oversized frames, subscribers closing or vanishing mid-replay.

The wait route holds a request open for ``timeout_ms`` (10 s by default); the campaign always
sends that parameter and caps in-range values at ``SLOW_QUERY_CAPS`` so no example waits long.
Hypothesis runs derandomized, with 8 examples per operation (``FUZZ``), so CI sees the same
campaign every run (for a longer hunt, raise ``max_examples`` and drop ``derandomize`` locally).

The campaign found two bugs, fixed since and kept as the tests before the last one: JSON that
Python's parser cannot read got FastAPI's 400 instead of the 422 that ``invalid_request`` has, and
a request uvicorn could not parse got its plain-text 400 instead of a problem body.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import math
import queue
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route, WebSocketRoute
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from alliance import codec, errors
from alliance.abi import contracts, gov, passes
from alliance.api import create_app
from alliance.api.errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_ALLOWED,
    PROBLEM_MEDIA_TYPE,
    status_of,
)
from alliance.contracts import engine as contract_engine
from alliance.crypto.keys import AccountKey, load_account_key, to_checksum_address
from alliance.execution.modules.accounts import account_key
from alliance.ledger.transaction import sign_tx
from alliance.testing.nodes import ApiNode, api_node, signed_transfer

T = TypeVar("T")

START_BOUND_S = 60
CALL_BOUND_S = 60
REQUEST_BOUND_S = 15  # no fuzzed request has a reason to take more than a moment: past this it hangs
FRESH_TXS = 30
# Fuzzed requests in one example, sent at once: the node answers them concurrently, so an example
# costs about one round trip whatever its size. (The API sets TCP_NODELAY on every accepted socket,
# src/alliance/api/server.py, checked in test_api_edges.py, so no answer waits for a delayed ACK.)
BATCH_MIN, BATCH_MAX = 4, 14
SLOW_QUERY_CAPS = {"timeout_ms": 50}
QUERY_CHARS_MAX = 40_000

FUZZ = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


# --- the routes, read from the app itself ---------------------------------------------------------


class RoutesOnlyNode:
    """Stands where the node goes in an app built only to read its routes and schemas."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the route table asked the node for {name}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    doc: dict[str, Any] = field(hash=False, compare=False)  # the OpenAPI operation ({} if undocumented)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.doc.get("parameters", []) if p["in"] == where]

    def body_types(self) -> list[str]:
        return list(self.doc.get("requestBody", {}).get("content", {}))

    def answers(self) -> dict[int, dict[str, Any] | None]:
        """Documented 2xx statuses, with their JSON schema (None: not documented as JSON)."""
        out: dict[int, dict[str, Any] | None] = {}
        for status, answer in self.doc.get("responses", {}).items():
            if status.startswith("2"):
                content = answer.get("content") or {}
                out[int(status)] = content.get("application/json", {}).get("schema")
        return out


ROUTE_APP = create_app(RoutesOnlyNode())
OPENAPI: dict[str, Any] = ROUTE_APP.openapi()
COMPONENTS: dict[str, Any] = OPENAPI.get("components", {}).get("schemas", {})
HTTP_ROUTES: dict[str, frozenset[str]] = {
    r.path_format: frozenset(r.methods or ()) for r in ROUTE_APP.routes if isinstance(r, Route)
}
WEBSOCKET_PATHS = [r.path for r in ROUTE_APP.routes if isinstance(r, WebSocketRoute)]
OPERATIONS = [
    Operation(method.upper(), path, doc)
    for path, methods in OPENAPI["paths"].items()
    for method, doc in methods.items()
] + [  # routes the OpenAPI leaves out (its own document, the docs pages): fuzzed without a schema
    Operation("GET", path, {})
    for path, methods in HTTP_ROUTES.items()
    if path not in OPENAPI["paths"] and "GET" in methods
]
STREAM_PATH = "/v1/stream"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "FOO"]  # httpx upper-cases


def allowed_methods(path: str) -> frozenset[str]:
    return HTTP_ROUTES.get(path, frozenset())


# --- what each answer must be ---------------------------------------------------------------------


def _statuses_by_code() -> dict[str, set[int]]:
    """code -> the statuses the spec gives it: every ``alliance.errors`` class (and the API's own
    subclasses) through ``status_of``, plus the API's own codes."""
    table: dict[str, set[int]] = {INVALID_REQUEST: {422}, METHOD_NOT_ALLOWED: {405}, INTERNAL_ERROR: {500}}
    pending: list[type[errors.AllianceError]] = [errors.AllianceError]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        probe = kind.__new__(kind)  # some constructors take more than a message (InvalidContract)
        errors.AllianceError.__init__(probe, "probe")
        table.setdefault(kind.code, set()).add(status_of(probe))
    return table


STATUSES_BY_CODE = _statuses_by_code()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str  # percent-encoded, as sent
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str | None = None

    def __str__(self) -> str:
        query = "?" + urllib.parse.urlencode(self.params) if self.params else ""
        text = f"{self.method} {self.path[:300]}{query[:300]}"
        if self.content_type is not None:
            text += f"\n  content-type: {self.content_type!r}"
        if self.body is not None:
            text += f"\n  body ({len(self.body)} bytes): {self.body[:300]!r}"
        return text


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks the OpenAPI ``schema``: types, required and undocumented fields."""
    if "$ref" in schema:
        return schema_errors(value, COMPONENTS[schema["$ref"].rsplit("/", 1)[1]], where)
    if "anyOf" in schema:
        if any(not schema_errors(value, option, where) for option in schema["anyOf"]):
            return []
        return [f"{where}: {value!r:.80} matches none of {schema['anyOf']}"]
    kind = schema.get("type")
    python = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = kind is None or isinstance(value, python[kind])
    if not ok:
        return [f"{where}: expected {kind}, got {value!r:.80}"]
    found: list[str] = []
    if kind == "object" and "properties" in schema:
        documented = schema["properties"]
        missing = set(schema.get("required", ())) - value.keys()
        undocumented = set() if schema.get("additionalProperties") else value.keys() - documented.keys()
        found += [f"{where}: missing {sorted(missing)}"] if missing else []
        found += [f"{where}: undocumented {sorted(undocumented)}"] if undocumented else []
        for name, sub in documented.items():
            if name in value:
                found += schema_errors(value[name], sub, f"{where}.{name}")
    if kind == "array":
        for i, item in enumerate(value):
            found += schema_errors(item, schema.get("items", {}), f"{where}[{i}]")
    return found


def assert_typed_problem(response: httpx.Response, request: FuzzRequest | str) -> dict[str, Any]:
    """A 4xx answer is problem JSON with the project's fields and a code typed by its status."""
    content_type = response.headers.get("content-type", "")
    seen = f"{request}\n-> {response.status_code} {content_type} {response.text[:400]}"
    assert content_type.startswith(PROBLEM_MEDIA_TYPE), seen
    if response.request.method == "HEAD":
        return {}  # no body to read
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "code"}, seen
    code = body["code"]
    assert body["status"] == response.status_code and body["type"] == f"urn:alliance:{code}", seen
    assert isinstance(body["title"], str) and body["title"], seen
    assert isinstance(body["detail"], str) and body["detail"], seen
    assert response.status_code in STATUSES_BY_CODE.get(code, set()), f"untyped code: {seen}"
    return body


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile("[^/]+".join(re.escape(part) for part in re.split(r"\{\w+\}", template)) + r"\Z")


ROUTE_PATTERNS = [(_template_pattern(o.path), o) for o in OPERATIONS]


def operation_serving(method: str, path: str) -> Operation | None:
    """The operation a request routes to (``path`` decoded): the first route of its path and method,
    as the router picks it."""
    return next(
        (o for pattern, o in ROUTE_PATTERNS if pattern.match(path) and method in allowed_methods(o.path)),
        None,
    )


def check_answer(request: FuzzRequest, response: httpx.Response) -> str:
    """Assert the contract for one answer; its class ("2xx", "4xx") for the tally."""
    status = response.status_code
    seen = f"{request}\n-> {status} {response.headers.get('content-type')} {response.text[:400]}"
    assert status < 500, seen
    assert not 300 <= status < 400, seen  # no redirects: a path with a trailing slash is a 404
    if status >= 400:
        assert_typed_problem(response, request)
        return "4xx"
    assert 200 <= status < 300, seen
    operation = operation_serving(request.method, response.request.url.path)
    assert operation is not None, f"a 2xx from no route: {seen}"
    if request.method != operation.method:
        assert request.method in allowed_methods(operation.path), seen
        return "2xx"
    documented = operation.answers()
    assert not operation.doc or status in documented, f"undocumented status: {seen}"
    schema = documented.get(status)
    if schema is not None:
        assert response.headers.get("content-type", "").startswith("application/json"), seen
        problems = schema_errors(response.json(), schema)
        assert not problems, f"{seen}\nnot the documented JSON: {problems[:5]}"
    return "2xx"


# --- the node under fuzz --------------------------------------------------------------------------


class ErrorLogs(logging.Handler):
    """Collects the ERROR records the node and its server log while the campaign runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in self.records]


@dataclass(frozen=True)
class Known:
    """Values this node knows, so fuzzed requests also reach real data."""

    path_values: tuple[str, ...]
    fresh_txs: tuple[bytes, ...]  # valid signed transfers, never submitted (see Campaign.known_now)
    # Good values by path parameter name, for the well-formed requests (others get any known value).
    by_name: dict[str, tuple[str, ...]] = field(hash=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class Before:
    """What the node answered before the campaign; it must answer the same after."""

    height: int
    transfer: dict[str, Any]
    block: dict[str, Any]
    receipts: list[Any]
    proposal: dict[str, Any]
    receiver: dict[str, Any]


@dataclass
class Campaign:
    api: ApiNode
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    known: Known
    before: Before
    stop: asyncio.Event
    error_logs: ErrorLogs = field(default_factory=ErrorLogs)

    def run(self, coroutine: Coroutine[Any, Any, T], bound_s: float = CALL_BOUND_S) -> T:
        """Run ``coroutine`` on the node's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(bound_s)

    def send(self, requests: list[FuzzRequest]) -> list[httpx.Response]:
        async def send_all() -> list[httpx.Response]:
            return list(await asyncio.gather(*(self._send(r) for r in requests)))

        return self.run(send_all())

    async def _send(self, request: FuzzRequest) -> httpx.Response:
        headers = {} if request.content_type is None else {"content-type": request.content_type}
        try:
            return await self.client.request(
                request.method,
                request.path,
                params=list(request.params) or None,
                content=request.body,
                headers=headers,
            )
        except httpx.HTTPError as exc:  # a dropped connection or a hang is a finding, with its request
            raise AssertionError(f"{request}\n-> no answer: {exc!r}") from exc

    def known_now(self) -> Known:
        """The known values with transfers freshly signed against the current height (signed once
        for the whole campaign they would expire on a slow machine, and the 2xx of the submit
        routes would silently go unchecked)."""
        status = self.run(get_json(self.client, "/v1/status"))
        valid_until = status["height"] + status["tx_window_blocks"] // 2
        fresh = tuple(
            signed_transfer(self.api.dev, self.api.chain_id, AccountKey.generate().address, 1, valid_until)
            for _ in range(FRESH_TXS)
        )
        return dataclasses.replace(self.known, fresh_txs=fresh)

    def ws_url(self, path: str) -> str:
        return self.api.url.replace("http://", "ws://") + path


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params or None)
    assert response.status_code == 200, f"GET {path} -> {response.status_code} {response.text[:300]}"
    return response.json()


async def commit(client: httpx.AsyncClient, raw: bytes) -> dict[str, Any]:
    submitted = await client.post("/v1/txs", json={"tx": raw.hex()})
    assert submitted.status_code == 202, submitted.text
    waited = await client.get(
        f"/v1/txs/{submitted.json()['hash']}/wait", params={"timeout_ms": 20_000}, timeout=30
    )
    assert waited.status_code == 200, waited.text
    view: dict[str, Any] = waited.json()
    assert view["ok"], view
    return view


async def prepare_passes_and_contracts(
    api: ApiNode, client: httpx.AsyncClient, admin: AccountKey, holder: bytes
) -> dict[str, tuple[str, ...]]:
    """A unique pass scheme with one item and a live contract with one record, so the passes and
    contracts module queries answer with data: the values their required arguments take."""

    async def call(target: str, method: str, args: object) -> dict[str, Any]:
        height = (await get_json(client, "/v1/status"))["height"]
        raw = codec.encode(
            sign_tx(admin, chain_id=api.chain_id, target=target, method=method, args=args,
                    valid_until=height + 50, gas_limit=10_000_000)
        )
        return await commit(client, raw)

    # One member: a proposal passes at once.
    await call("gov", "propose", gov.ProposeArgs(gov.GrantRole(admin.address, "issuer", "org0")))
    scheme = passes.CreateArgs("FUZZ", "Fuzz certificates", "unique", "a certificate for the fuzz campaign")
    await call("passes", "create", scheme)
    await call("passes", "mint", passes.MintArgs("FUZZ", holder, 1, item="i1", metadata_hash=b"\x01" * 32))
    source = (EXAMPLES / "proof_of_existence.py").read_text()
    await call("contracts", "submit", contracts.SubmitArgs(source))
    code_hash = contract_engine.code_hash(source)
    await call("gov", "propose", gov.ProposeArgs(gov.DeployContract("poe", code_hash)))
    document = bytes(range(32))
    await call("poe", "register", [document])
    return {
        "symbol": ("FUZZ",),
        "item": ("i1",),
        "account": (holder.hex(),),
        "holder": (holder.hex(),),
        "spender": (admin.address.hex(),),
        "name": ("poe",),
        "code_hash": (code_hash.hex(),),
        "method": ("verify",),
        "args": (codec.encode([document]).hex(),),
    }


async def prepare(api: ApiNode, client: httpx.AsyncClient, keys: Path) -> tuple[Known, Before]:
    """Give the node data to keep (a transfer, a passed proposal) and the campaign values to use."""
    status = await get_json(client, "/v1/status")
    receiver = AccountKey.generate().address
    transfer = await commit(
        client, signed_transfer(api.dev, api.chain_id, receiver, 7, status["height"] + 50)
    )
    admin = load_account_key(keys / "org0-admin.key")
    grant = gov.ProposeArgs(action=gov.GrantRole(account=receiver, role="auditor", org="org0"))
    proposed = await commit(
        client,
        codec.encode(
            sign_tx(admin, chain_id=api.chain_id, target="gov", method="propose", args=grant,
                    valid_until=status["height"] + 50)
        ),
    )
    passes_and_contracts = await prepare_passes_and_contracts(api, client, admin, receiver)
    status = await get_json(client, "/v1/status")
    height = transfer["height"]
    by_name = {
        **passes_and_contracts,
        "tx_hash": (transfer["hash"], proposed["hash"]),
        "block_hash": ((await get_json(client, f"/v1/blocks/{transfer['height']}"))["hash"],),
        "address": (to_checksum_address(receiver), receiver.hex(), "0x" + api.dev.address.hex(),
                    to_checksum_address(admin.address)),
        "key": (account_key(receiver).hex(), account_key(api.dev.address).hex()),
        "height": (str(height), str(proposed["height"]), "1"),
        "proposal_id": ("1",),
        "id": ("1",),  # the generic module queries' arguments: gov.proposal's id
    }
    known = Known(
        path_values=(*(value for values in by_name.values() for value in values), "latest", "0"),
        fresh_txs=(),
        by_name=by_name,
    )
    before = Before(
        height=status["height"],
        transfer=transfer,
        block=await get_json(client, f"/v1/blocks/{height}"),
        receipts=await get_json(client, f"/v1/blocks/{height}/receipts"),
        proposal=await get_json(client, "/v1/gov/proposals/1"),
        receiver=await get_json(client, f"/v1/accounts/{receiver.hex()}"),
    )
    return known, before


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    """One node for the whole campaign, on a loop in a thread of its own; stopped at the end, and
    any error that stopped it is raised here."""
    directory = tmp_path_factory.mktemp("fuzzed-node")
    handed: queue.Queue[Campaign] = queue.Queue()

    async def serve() -> None:
        async with api_node(directory) as api, httpx.AsyncClient(
            base_url=api.url, timeout=REQUEST_BOUND_S
        ) as client:
            known, before = await prepare(api, client, directory / "keys")
            stop = asyncio.Event()
            handed.put(Campaign(api, asyncio.get_running_loop(), client, known, before, stop))
            await stop.wait()

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fuzzed-node") as pool:
        node_thread = pool.submit(asyncio.run, serve())
        live = _handed_over(handed, node_thread)
        watched = [logging.getLogger(), logging.getLogger("uvicorn")]  # uvicorn's loggers do not propagate
        for logger in watched:
            logger.addHandler(live.error_logs)
        try:
            yield live
        finally:
            for logger in watched:
                logger.removeHandler(live.error_logs)
            live.loop.call_soon_threadsafe(live.stop.set)
            node_thread.result(timeout=START_BOUND_S)  # raises what stopped the node, if anything did


def _handed_over(handed: queue.Queue[Campaign], node_thread: concurrent.futures.Future[None]) -> Campaign:
    for _ in range(START_BOUND_S * 10):
        with contextlib.suppress(queue.Empty):
            return handed.get(timeout=0.1)
        if node_thread.done():
            node_thread.result()
            raise AssertionError("the node stopped before the campaign started")
    raise AssertionError(f"the node did not start within {START_BOUND_S} s")


# --- strategies -----------------------------------------------------------------------------------

NUMBER_LIKE = ["", "0", "-0", "+1", " 1", "1 ", "01", "1.0", "1.5", "1e3", "0x10", "0b1", "1_000",
               "\uff11", "\u0663", "NaN", "inf", "-inf", "true", "null", "[]", "%", "latest", "--1"]
BOOLEAN_LIKE = ["true", "false", "1", "0", "yes", "no", "on", "off", "TRUE", "", "maybe", "2"]
HEX_ODDITIES = ["0x", "0X", "0x0x00", "x00", "0", "abc", "0xabc", "ab cd", " ab", "ab\n", "g0",
                "\u0660\u0660", "ab" * 31 + "a", "AB" * 32, "0x" + "ab" * 32, "0X" + "AB" * 20,
                "-" + "ab" * 32, "..", ".", "/", "?", "#", "a/b", "\x00", "%2F", "null"]

short_texts = st.text(max_size=30)
long_texts = st.builds(  # long, yet inside httpx's 64 KiB bound on a URL part once percent-encoded
    lambda unit, count: unit * count, st.text(min_size=1, max_size=2), st.integers(200, 1200)
)
junk_texts = st.one_of(short_texts, long_texts)
hex_texts = st.one_of(
    st.binary(max_size=80).map(bytes.hex),
    st.binary(min_size=20, max_size=20).map(bytes.hex),
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.binary(max_size=80).map(lambda b: "0x" + b.hex()),
    st.binary(max_size=80).map(lambda b: b.hex().upper()),
    st.binary(max_size=80).map(lambda b: b.hex() + "f"),  # odd length
    st.sampled_from(HEX_ODDITIES),
)


def integer_bounds(schema: dict[str, Any]) -> tuple[int, int]:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "integer":
            high = option["maximum"] if "maximum" in option else option.get("exclusiveMaximum", 2**63) - 1
            return option.get("minimum", -(2**63)), high
    return 0, 2**63 - 1


def integer_texts(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = integer_bounds(schema)
    small = max(low, 0)
    return st.one_of(
        st.integers(small, min(high, small + 40)).map(str),  # in range, where the node has data
        st.sampled_from([low - 1, low, high, high + 1]).map(str),  # at and past the bounds
        st.integers(max_value=-1).map(str),
        st.integers(min_value=2**63).map(str),
        st.integers(4300, 6000).map(lambda digits: "9" * digits),  # past Python's int-string limit
        st.sampled_from(NUMBER_LIKE),
        junk_texts,
    )


def wants_integer(schema: dict[str, Any]) -> bool:
    return "integer" in json.dumps(schema)


def parameter_texts(schema: dict[str, Any], known: Known) -> st.SearchStrategy[str]:
    if wants_integer(schema):
        primary = integer_texts(schema)
    elif schema.get("type") == "boolean":
        primary = st.sampled_from(BOOLEAN_LIKE)
    else:
        primary = hex_texts
    return st.one_of(
        primary, st.sampled_from(known.path_values), hex_texts, junk_texts, st.sampled_from(NUMBER_LIKE)
    )


def capped(name: str, text: str) -> str:
    """An in-range value of a slow parameter, held to its cap (see the module docstring)."""
    cap = SLOW_QUERY_CAPS.get(name)
    if cap is None:
        return text
    try:
        number = float(text.strip().replace("_", ""))
    except ValueError:
        return text
    return str(cap) if math.isnan(number) or number > cap else text  # NaN too: never let it through


def json_like(integers: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(), st.text(max_size=20))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )


json_values = json_like(st.integers())
msgpack_values = json_like(st.integers(-(2**63), 2**64 - 1))


def dumps(value: Any, *, ascii_only: bool = True) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode()


def _deep(opener: str, closer: str, depth: int) -> str:
    return opener * depth + closer * depth


def _in_every_place(value: str) -> list[bytes]:
    """``value`` as the whole body, as the transaction, and as an item of a batch."""
    return [value.encode(), f'{{"tx": {value}}}'.encode(), f'{{"txs": [{value}]}}'.encode()]


DEEP_JSON = [
    body
    for depth in (64, 199, 200, 201, 1000, 100_000)
    for opener, closer in (("[", "]"), ('{"a":', "}"))
    for body in _in_every_place(_deep(opener, closer, depth))
]
HUGE_NUMBERS = ["9" * 4301, "-" + "9" * 5000, "1e400", "-1e400", "1" + "0" * 30, "1.7976931348623157e309",
                "0.0000000000000000000000001", "-0", "NaN", "Infinity", "1E+99999999999"]
HUGE_NUMBER_JSON = [body for number in HUGE_NUMBERS for body in _in_every_place(number)]
ODD_BODIES = [
    b"\xef\xbb\xbf" + dumps({"tx": "00"}),  # a UTF-8 byte order mark
    json.dumps({"tx": "00"}).encode("utf-16"),
    json.dumps({"txs": ["00"]}).encode("utf-32"),
    b'{"tx": "\\ud800"}',  # a lone surrogate, escaped
    b'{"txs": ["\\udfff", "00"]}',
    b'{"tx": "00", "tx": 1}',  # a repeated key
    b'{"tx": "00"} trailing',
    b'{"tx": "\xff\xfe"}',  # invalid UTF-8 inside a string
    b"\x00" * 64,
    b"null", b"[]", b"{}", b'""', b"0", b"true",
    dumps({"txs": ["00"] * 10_001}),  # one over the JSON batch bound
    dumps({"txs": ["ab" * 40] * 3_000}),
    dumps({"tx": "ab" * 100_000}),  # over the transaction size bound
    dumps({"tx": "00", "extra": [1, 2, 3]}),
]
ODD_MSGPACK = [
    b"\xdd\xff\xff\xff\xff",  # an array header claiming 2**32 - 1 items, with none
    b"\xdc\xff\xff" + b"\xc4\x00",  # 65,535 claimed, one present
    b"\x91\xc6\xff\xff\xff\xff",  # one bin claiming 4 GiB
    b"\x91\xc5\xff\xff",
    b"\xc1",  # never used
    b"\xd4\x01\x00",  # an ext type
    b"\x91" * 100_000 + b"\xc4\x00",  # deep arrays
    b"\x90\x90",  # trailing data
    b"\x81\xa3txs\x91\xc4\x00",  # a map with the JSON shape
    msgspec.msgpack.encode([b""] * 50_001),  # one over the binary bound
    msgspec.msgpack.encode([b"\x00"] * 50_000),  # exactly at it
    msgspec.msgpack.encode([]),
]
CONTENT_TYPES = [
    None, "", "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
    "application/msgpack", "APPLICATION/MSGPACK", "application/msgpack; charset=binary",
    "application/x-msgpack",
    "application/problem+json", "application/vnd.alliance+json", "text/plain", "text/json",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "application/octet-stream",
    "application", ";;;", "*/*", "json",
]


@st.composite
def mutated_txs(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A valid transaction with a few bytes flipped, cut, inserted or appended."""
    raw = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "append"]))
        if operation == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif operation == "cut":
            del raw[at : at + draw(st.integers(1, 8))]
        elif operation == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            raw += draw(st.binary(min_size=1, max_size=8))
    return bytes(raw)


def bodies(known: Known) -> st.SearchStrategy[bytes]:
    raws = st.one_of(st.sampled_from(known.fresh_txs), mutated_txs(known.fresh_txs), st.binary(max_size=300))
    tx_values = st.one_of(raws.map(bytes.hex), hex_texts, junk_texts, json_values)
    return st.one_of(
        st.just(b""),
        st.binary(max_size=600),
        json_values.map(dumps),
        json_values.map(lambda v: dumps(v, ascii_only=False)),
        tx_values.map(lambda v: dumps({"tx": v})),
        st.lists(tx_values, max_size=20).map(lambda vs: dumps({"txs": vs})),
        st.sampled_from(DEEP_JSON),
        st.sampled_from(HUGE_NUMBER_JSON),
        st.sampled_from(ODD_BODIES),
        st.lists(st.one_of(raws, st.binary(max_size=40)), max_size=12).map(msgspec.msgpack.encode),
        msgpack_values.map(msgspec.msgpack.encode),
        st.sampled_from(ODD_MSGPACK),
    )


def quote(segment: str) -> str:
    """One path segment, percent-encoded whole (a ``/`` in it stays inside it on the wire)."""
    return urllib.parse.quote(segment, safe="")


def fill_path(template: str, value_of: Callable[[str], str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(value_of(m.group(1))), template)


@st.composite
def fuzzed_requests(draw: st.DrawFn, operation: Operation, known: Known) -> FuzzRequest:
    """A request built from the operation's own parameters, mostly wrong in some way."""
    path_schemas = {p["name"]: p["schema"] for p in operation.parameters("path")}
    path = fill_path(operation.path, lambda name: draw(parameter_texts(path_schemas[name], known)))
    params = [
        (parameter["name"], draw(parameter_texts(parameter["schema"], known)))
        for parameter in operation.parameters("query")
        if draw(st.booleans())
    ]
    unknown_names = st.one_of(short_texts, st.sampled_from(["from", "height", "x"]))
    params += draw(st.lists(st.tuples(unknown_names, junk_texts), max_size=2))
    if params and draw(st.booleans()):  # a parameter repeated with another value
        name, _value = draw(st.sampled_from(params))
        params.append((name, draw(junk_texts)))
    while len(urllib.parse.urlencode(params)) > QUERY_CHARS_MAX:  # httpx refuses longer ones itself
        params.pop()
    declared = {p["name"] for p in operation.parameters("query")}
    params = [(name, capped(name, value)) for name, value in params]
    params = [(name, str(SLOW_QUERY_CAPS[name])) for name in declared & SLOW_QUERY_CAPS.keys()] + params
    body = content_type = None
    if operation.body_types() or draw(st.integers(0, 5)) == 0:
        body = draw(st.one_of(st.none(), bodies(known)))
        documented_types = st.sampled_from(operation.body_types() or [None])
        content_type = draw(st.one_of(documented_types, st.sampled_from(CONTENT_TYPES)))
    method = draw(st.sampled_from(METHODS)) if draw(st.integers(0, 7)) == 0 else operation.method
    return FuzzRequest(method, path, tuple(params), body, content_type)


@st.composite
def well_formed_requests(draw: st.DrawFn, operation: Operation, known: Known) -> FuzzRequest:
    """A request the operation documents, on this node's data: its answer is the documented 2xx
    JSON (or a typed refusal such as a fresh transaction submitted twice)."""
    path_schemas = {p["name"]: p["schema"] for p in operation.parameters("path")}

    def good_value(name: str) -> str:
        fallback = [v for v in known.path_values if v.isdigit() == wants_integer(path_schemas[name])]
        return draw(st.sampled_from(known.by_name.get(name) or fallback))

    path = fill_path(operation.path, good_value)
    params = tuple((name, str(cap)) for name, cap in SLOW_QUERY_CAPS.items()
                   if name in {p["name"] for p in operation.parameters("query")})
    # Required query parameters (a module query's arguments) get this node's values, like paths; so
    # does a contract view's optional ``args`` (without them the view's method misses its argument).
    params += tuple(
        (p["name"], draw(st.sampled_from(known.by_name[p["name"]])))
        for p in operation.parameters("query")
        if (p.get("required") or p["name"] == "args") and p["name"] not in SLOW_QUERY_CAPS
    )
    body = content_type = None
    if operation.body_types():
        content_type = draw(st.sampled_from(operation.body_types()))
        raws = draw(st.lists(st.sampled_from(known.fresh_txs), min_size=1, max_size=3, unique=True))
        if content_type == "application/msgpack":
            body = msgspec.msgpack.encode(raws)
        elif "batch" in operation.path:
            body = dumps({"txs": [raw.hex() for raw in raws]})
        else:
            body = dumps({"tx": raws[0].hex()})
    return FuzzRequest(operation.method, path, params, body, content_type)


def run_campaign(live: Campaign, draw_batch: Callable[[st.DataObject], list[FuzzRequest]],
                 answer_check: Callable[[FuzzRequest, httpx.Response], str]) -> Counter[str]:
    tally: Counter[str] = Counter()

    @FUZZ
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        batch = draw_batch(data)
        for request, response in zip(batch, live.send(batch), strict=True):
            tally[answer_check(request, response)] += 1

    example()
    return tally


def assert_still_serving(live: Campaign) -> None:
    status = live.run(get_json(live.client, "/v1/status"))
    assert not schema_errors(status, {"$ref": "#/components/schemas/Status"})


# --- the campaign ---------------------------------------------------------------------------------


def test_the_node_serves_the_routes_this_campaign_fuzzes(campaign: Campaign) -> None:
    served = campaign.run(get_json(campaign.client, "/openapi.json"))
    assert served["paths"].keys() == OPENAPI["paths"].keys()
    assert len(OPERATIONS) >= 13 and WEBSOCKET_PATHS
    for operation in OPERATIONS:  # every route with parameters or a body has them typed in the schema
        for parameter in operation.doc.get("parameters", []):
            assert "schema" in parameter, f"{operation}: {parameter}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_fuzzed_requests_get_a_typed_problem_or_the_documented_json(
    campaign: Campaign, operation: Operation
) -> None:
    known = campaign.known_now()

    def batch(data: st.DataObject) -> list[FuzzRequest]:
        fuzzed = st.lists(fuzzed_requests(operation, known), min_size=BATCH_MIN, max_size=BATCH_MAX)
        return [data.draw(well_formed_requests(operation, known)), *data.draw(fuzzed)]

    tally = run_campaign(campaign, batch, check_answer)
    assert tally["2xx"] >= 1, f"{operation} never answered a well-formed request: {tally}"
    assert sum(tally.values()) >= FUZZ.max_examples * 2
    assert_still_serving(campaign)


def methods_serving(path: str) -> frozenset[str]:
    """Every method some route serves at ``path`` (``/v1/txs/batch`` is also a ``/v1/txs/{tx_hash}``)."""
    return frozenset().union(*(m for t, m in HTTP_ROUTES.items() if _template_pattern(t).match(path)))


def test_every_wrong_method_on_every_route_is_a_405_problem_naming_the_allowed(campaign: Campaign) -> None:
    requests: list[tuple[frozenset[str], FuzzRequest]] = []
    for template in HTTP_ROUTES:
        path = fill_path(template, lambda _name: "1")
        served = methods_serving(path)
        requests += [(served, FuzzRequest(m, path)) for m in METHODS if m not in served]
    assert len(requests) >= len(HTTP_ROUTES) * 5
    answers = campaign.send([request for _served, request in requests])
    for (served, request), response in zip(requests, answers, strict=True):
        assert response.status_code == 405, f"{request}\n-> {response.status_code} {response.text[:300]}"
        body = assert_typed_problem(response, request)
        assert request.method == "HEAD" or body["code"] == METHOD_NOT_ALLOWED
        allow = set(response.headers["allow"].replace(" ", "").split(","))
        assert allow and allow <= served, (request, allow)
    assert_still_serving(campaign)


def test_http_requests_to_the_websocket_routes_and_unknown_paths_are_problems(campaign: Campaign) -> None:
    segments = st.one_of(junk_texts, hex_texts, st.sampled_from(["v1", "txs", "blocks", "stream", "gov", ""]))
    path_segments = st.lists(segments, min_size=1, max_size=5)

    def batch(data: st.DataObject) -> list[FuzzRequest]:
        paths = data.draw(st.lists(path_segments, min_size=1, max_size=BATCH_MAX))
        requests = [
            FuzzRequest(data.draw(st.sampled_from(METHODS)), "/" + "/".join(quote(s) for s in p))
            for p in paths
        ]
        return requests + [FuzzRequest(data.draw(st.sampled_from(METHODS)), path) for path in WEBSOCKET_PATHS]

    tally = run_campaign(campaign, batch, check_answer)
    assert tally["4xx"] >= FUZZ.max_examples  # the WebSocket routes alone give one per example
    assert_still_serving(campaign)


async def _next_block(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "block" and message["height"] >= 1, message
    return message


async def _refused_or_closed(url: str) -> str:
    """A subscription with a bad query: the handshake is refused with a 4xx, or the socket closed
    with 1008 (policy violation) before any block is sent."""
    try:
        async with ws_connect(url, open_timeout=10) as ws:
            with contextlib.suppress(ConnectionClosed):
                message = await asyncio.wait_for(ws.recv(), 10)
                raise AssertionError(f"{url}: subscribed despite a bad query, got {message!r:.200}")
            assert ws.close_code == 1008, f"{url}: closed with {ws.close_code}"
            return "closed"
    except InvalidStatus as refused:
        assert 400 <= refused.response.status_code < 500, f"{url}: {refused.response.status_code}"
        return "refused"


def test_websocket_abuse_leaves_the_stream_and_the_node_serving(campaign: Campaign) -> None:
    """The stream's own abuses (its query, frames sent to it, leaving it mid-stream); every WebSocket
    route also gets the HTTP fuzz above."""
    assert STREAM_PATH in WEBSOCKET_PATHS
    url = campaign.ws_url(STREAM_PATH)

    async def abuse() -> None:
        for value in ("abc", "-1", "9" * 5000, "1.5", "0x1", "1&from_height=x", str(2**63), str(2**64)):
            await _refused_or_closed(f"{url}?from_height={value}")
        # Garbage in every frame type while subscribed: ignored, and the blocks keep coming.
        async with ws_connect(f"{url}?from_height=1&unknown=1", open_timeout=10, max_size=None) as ws:
            first = await _next_block(ws)
            for frame in ('{"type": "subscribe", "from_height": "x"}', "not json", "", "\u2603" * 10_000,
                          b"\x00\xff" * 1000, msgspec.msgpack.encode([b"\x00"]), b""):
                await ws.send(frame)
            await ws.ping(b"fuzz")
            assert (await _next_block(ws))["height"] == first["height"] + 1
        # A frame over the server's bound (uvicorn's 16 MiB): that socket is closed "too big" (1009).
        async with ws_connect(url, open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.send(b"\x00" * (17 * 1024 * 1024))
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 1009
        # Leaving mid-stream: many subscribers replaying the whole history, half closing cleanly
        # while the node sends, half cut with no close frame at all. (The clean ones keep reading
        # into an unbounded queue: a client that stops reading would wait out its own close timeout
        # behind the blocks already in flight, which says nothing about the node.)
        replaying = f"{url}?from_height=1"
        many = [await ws_connect(replaying, open_timeout=10, max_queue=None) for _ in range(12)]
        await _next_block(many[0])
        for ws in many[1::2]:
            ws.transport.abort()
        await asyncio.gather(*(ws.close() for ws in many[::2]))
        assert all(ws.close_code == 1000 for ws in many[::2]), [ws.close_code for ws in many[::2]]
        # A WebSocket handshake on an HTTP route is refused, not served.
        for wrong in ("/v1/status", "/v1/nothing", "/metrics"):
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(campaign.ws_url(wrong), open_timeout=10):
                    pass
            assert 400 <= refused.value.response.status_code < 500
        async with ws_connect(url, open_timeout=10) as ws:  # a fresh subscriber still gets blocks
            await _next_block(ws)

    campaign.run(abuse())
    assert_still_serving(campaign)


# --- raw HTTP -------------------------------------------------------------------------------------

MALFORMED_HTTP = [
    b"GET /v1/state/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",  # bytes that are not a URL in the target
    b"GET /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GARBAGE\r\n\r\n",
]


async def _raw_exchange(live: Campaign, raw: bytes) -> bytes:
    """Send ``raw`` on a fresh connection; what the server answers before it closes."""
    host, port = live.api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"get /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", 405),  # a method is case-sensitive
        (b"GET /v1/st%ffatus HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET /v1/accounts/%C0%AF HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # overlong UTF-8
        (b"GET /v1/gov/proposals?%ff=1&limit=%ff HTTP/1.1\r\nHost: x\r\n\r\n", 422),
        (b"GET http://elsewhere/v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404),  # absolute form
        (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"POST /v1/txs/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\xff\r\n"
         b"Content-Length: 1\r\n\r\n\x90", 422),  # not the msgpack type: read as JSON
        (b"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"tx\"\r\n0\r\n\r\n", 422),
    ],
    ids=["lower-case-method", "bad-escape", "overlong-utf8", "bad-query-escapes", "absolute-form",
         "asterisk", "latin1-content-type", "chunked-truncated-json"],
)
def test_odd_but_well_framed_raw_requests_get_a_typed_problem(
    campaign: Campaign, raw: bytes, status: int
) -> None:
    answer = campaign.run(_raw_exchange(campaign, raw))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    assert re.search(rb"(?im)^content-type: application/problem\+json", head), answer[:300]
    problem = json.loads(body)
    assert problem["status"] == status and status in STATUSES_BY_CODE[problem["code"]], problem


def test_malformed_http_framing_is_a_4xx_and_the_node_keeps_serving(campaign: Campaign) -> None:
    async def probe() -> None:
        for raw in MALFORMED_HTTP:
            head = await _raw_exchange(campaign, raw)
            assert re.match(rb"HTTP/1\.1 4\d\d ", head), (raw[:80], head[:200])

    campaign.run(probe())
    assert_still_serving(campaign)


# --- bugs the campaign found (fixed) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"\xff", b"[" * 100_000, b'{"tx": ' + b"9" * 4301 + b"}"],
    ids=["invalid-utf8", "deep", "long-int"],
)
def test_json_body_python_cannot_read_is_422_like_malformed_json(campaign: Campaign, body: bytes) -> None:
    request = FuzzRequest("POST", "/v1/txs", body=body, content_type="application/json")
    [response] = campaign.send([request])
    assert response.status_code == 422, f"{request}\n-> {response.status_code} {response.text}"
    assert assert_typed_problem(response, request)["code"] == INVALID_REQUEST


@pytest.mark.parametrize("raw", MALFORMED_HTTP, ids=["target-bytes", "length-abc", "length-negative",
                                                     "two-lengths", "garbage-line"])
def test_malformed_http_framing_is_a_problem_json(campaign: Campaign, raw: bytes) -> None:
    answer = campaign.run(_raw_exchange(campaign, raw))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert re.search(rb"(?im)^content-type: application/problem\+json", head), answer[:300]
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["type"] == f"urn:alliance:{problem['code']}"


# --- last: the node after the campaign ------------------------------------------------------------


def test_after_the_campaign_the_node_commits_and_kept_its_data(campaign: Campaign) -> None:
    """Runs last in this file: the node survived everything above, still commits, and lost nothing."""
    before = campaign.before

    async def check() -> None:
        client = campaign.client
        status = await get_json(client, "/v1/status")
        assert status["height"] > before.height  # it kept committing through the campaign
        receiver = before.receiver["address"]
        view = await commit(client, signed_transfer(campaign.api.dev, campaign.api.chain_id,
                                                    bytes.fromhex(receiver[2:]), 5, status["height"] + 50))
        assert view["height"] > status["height"] and view["status"] == "ok"
        assert await get_json(client, f"/v1/txs/{before.transfer['hash']}") == before.transfer
        assert await get_json(client, f"/v1/blocks/{before.transfer['height']}") == before.block
        assert await get_json(client, f"/v1/blocks/{before.transfer['height']}/receipts") == before.receipts
        assert await get_json(client, "/v1/gov/proposals/1") == before.proposal
        account = await get_json(client, f"/v1/accounts/{receiver}")
        credited = before.receiver["balance"] + 5
        assert account == {**before.receiver, "balance": credited, "height": account["height"]}
        metrics = (await client.get("/metrics")).text
        server_errors = re.findall(r'^alliance_api_requests_total\{.*status="5\d\d".*$', metrics, re.M)
        assert server_errors == [], server_errors

    campaign.run(check())
    assert campaign.error_logs.records == [], campaign.error_logs.lines()
