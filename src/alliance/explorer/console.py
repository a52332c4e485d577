"""The management console (``alliance console``): the explorer on 127.0.0.1, and actions signed with
a local alliance's keys.

Theory of operation
-------------------
The console is a small web server of its own, on the loopback address only. It serves the
explorer's pages in console mode and forwards every ``GET /v1/...`` (and the ``/v1/stream``
WebSocket) to a node of the alliance directory ``D``, so the pages read exactly what a node's
explorer reads. The node is the first of ``D`` that answers; when it stops answering, the next
request picks again.

Actions (``POST /console/api/actions/NAME``: ``transfer``, ``propose``, ``vote``, ``freeze``; the
passes module's ``pass-create``, ``pass-mint``, ``pass-freeze`` (or unfreeze a holder),
``pass-pause`` (or resume); ``contract-deploy`` (submit a source and propose it live) and
``contract-call`` (a public method, its arguments typed by the contract's ABI)) sign with a key of
``D/keys`` named in the request, through the SDK (which builds and signs the transaction locally,
submits it and waits for its block), and answer with the node's own view of the transaction (its
receipt: status, gas, error, events) and, for a proposal, its id. A transaction the chain refuses
is still an answer (a receipt with its status), not an error: only a request the node would not
admit (or arguments refused before signing: a contract that does not load, an argument of the
wrong type), or a node that does not answer, is a problem answer.

Who may act: at start the console makes a random one-time login token and prints one line,
``console: http://127.0.0.1:P/?token=...``. Opening it exchanges the token for a session cookie
(HttpOnly, SameSite=Strict, named after the port) and forgets the token, so the URL works once.
Every action needs that cookie (401 otherwise), a JSON body, and, when the browser sends them, an
``Origin`` of the console itself and ``Sec-Fetch-Site: same-origin`` (403 otherwise): another site
open in the same browser cannot make the console sign. Every request must name the console's own
host (``127.0.0.1:P`` or ``localhost:P``): a DNS name rebound to 127.0.0.1 gets 403 for reads too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import pydantic
import websockets
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import connect as ws_connect

from alliance import codec
from alliance.abi import contracts, gov, passes
from alliance.api import ApiServer
from alliance.api.errors import BodyLimitMiddleware, GuardMiddleware, install_error_handlers, problem_response
from alliance.cli import keyring
from alliance.contracts import engine
from alliance.errors import NotFound, OperationalError, UsageError
from alliance.explorer import actions
from alliance.explorer.pages import Site
from alliance.node.bootstrap import load_alliance
from alliance.sdk import AsyncClient, TxView, wire
from alliance.sdk import contracts as sdk_contracts

CONSOLE_HOST = "127.0.0.1"
ACTION_BODY_BYTES_MAX = 256 * 1024  # a contract's source (up to 60 KiB) as JSON text, escaped
PASS_GAS = 2_000_000
PROBE_TIMEOUT_S = 1.5
READ_TIMEOUT_S = 70.0  # above the API's longest wait (GET /v1/txs/{hash}/wait: 60 s)
ACTION_WAIT_S = 30.0
STREAM_MESSAGE_BYTES_MAX = 64 * 1024 * 1024
WS_CLOSE_UNAVAILABLE = 1013
STREAM_CLOSE_TIMEOUT_S = 1.0  # the node's answer to our close frame, once the browser has left
PARENT_POLL_S = 1.0
COOKIE_PREFIX = "alliance_console_"
ALLOWED_HOST_NAMES = ("127.0.0.1", "localhost")


class Login:
    """The one-time token and the single session it turns into."""

    def __init__(self) -> None:
        self.token: str | None = secrets.token_urlsafe(32)
        self.session: str | None = None

    def exchange(self, token: str) -> str | None:
        """A new session for the right token, once; None otherwise."""
        if self.token is None or not secrets.compare_digest(token.encode(), self.token.encode()):
            return None
        self.token = None
        self.session = secrets.token_urlsafe(32)
        return self.session

    def valid(self, session: str | None) -> bool:
        return (
            self.session is not None
            and session is not None
            and secrets.compare_digest(session.encode(), self.session.encode())
        )


class _HostCheck:
    """Refuses any request (HTTP or WebSocket) whose Host is not the console's own address."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if host not in self.console.allowed_hosts():
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": "wrong host"})
                    return
                detail = "this console answers only at its own address (127.0.0.1 or localhost and its port)"
                await problem_response(403, "forbidden", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Action(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    sender: str = Field(alias="from", min_length=1, max_length=64)


class TransferRequest(_Action):
    to: str = Field(min_length=1, max_length=100)
    amount: int = Field(ge=1, lt=2**63)


class VoteRequest(_Action):
    proposal: int = Field(ge=1, lt=2**63)
    yes: bool


class FreezeRequest(_Action):
    account: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=gov.REASON_LENGTH_MAX)


class ProposeRequest(_Action):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    kind: str = Field(min_length=1, max_length=32)
    voting_blocks: int | None = Field(default=0, ge=0, lt=2**31)


class PassCreateRequest(_Action):
    symbol: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=64)
    kind: passes.Kind = "fungible"
    rights: str = Field(min_length=1, max_length=passes.RIGHTS_LENGTH_MAX)
    decimals: int = Field(default=0, ge=0, le=passes.DECIMALS_MAX)
    cap: int = Field(default=0, ge=0, lt=2**63)
    eligibility: str = Field(default="any", max_length=80)
    circulation: passes.Circulation = "free"
    minter_role: str = Field(default="", max_length=64)
    redeemer_role: str = Field(default="", max_length=64)
    redeem_burns: bool = True
    lot_days: int = Field(default=0, ge=0, le=passes.LOT_DAYS_MAX)
    expires_at_ms: int = Field(default=0, ge=0, lt=2**63)


class PassMintRequest(_Action):
    symbol: str = Field(min_length=1, max_length=16)
    to: str = Field(min_length=1, max_length=100)
    amount: int = Field(default=1, ge=1, lt=2**63)
    memo: str = Field(default="", max_length=passes.MEMO_LENGTH_MAX)
    item: str = Field(default="", max_length=passes.ITEM_ID_LENGTH_MAX)


class PassFreezeRequest(_Action):
    symbol: str = Field(min_length=1, max_length=16)
    account: str = Field(min_length=1, max_length=100)
    freeze: bool = True  # false: unfreeze


class PassPauseRequest(_Action):
    symbol: str = Field(min_length=1, max_length=16)
    pause: bool = True  # false: resume


class ContractDeployRequest(_Action):
    name: str = Field(min_length=1, max_length=32)
    source: str = Field(min_length=1, max_length=contracts.SOURCE_SIZE_BYTES_MAX)
    init_args: list[Any] = Field(default_factory=list, max_length=64)


class ContractCallRequest(_Action):
    name: str = Field(min_length=1, max_length=32)
    method: str = Field(min_length=1, max_length=64)
    args: list[Any] = Field(default_factory=list, max_length=64)
    gas_limit: int = Field(default=sdk_contracts.CONTRACT_GAS_DEFAULT, ge=1, le=10**10)


class Console:
    """The console of the alliance in ``directory``; ``serve()`` runs it until ``stop()``."""

    def __init__(self, directory: Path, *, port: int = 0, host: str = CONSOLE_HOST) -> None:
        self.directory = Path(directory)
        layout = load_alliance(self.directory)  # no alliance there: a usage error before listening
        self.node_urls = [layout.api_url(entry) for entry in layout.nodes]
        self.login = Login()
        self.server = ApiServer(self.build_app(), host, port)
        self._node_url: str | None = None
        self._http: httpx.AsyncClient | None = None

    # --- where and who ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def cookie_name(self) -> str:
        return f"{COOKIE_PREFIX}{self.port}"

    def login_url(self) -> str:
        return f"http://{CONSOLE_HOST}:{self.port}/?token={self.login.token}"

    def allowed_hosts(self) -> set[str]:
        return {f"{name}:{self.port}" for name in ALLOWED_HOST_NAMES}

    def allowed_origins(self) -> set[str]:
        return {f"http://{host}" for host in self.allowed_hosts()}

    def _refusal(self, request: Request) -> Response | None:
        """Why an action request may not act (a problem answer), or None when it may."""
        if not self.login.valid(request.cookies.get(self.cookie_name)):
            return problem_response(
                401,
                "unauthorized",
                "sign in first: open the login URL that 'alliance console' printed (it works once)",
            )
        origin = request.headers.get("origin")
        if origin is not None and origin not in self.allowed_origins():
            return problem_response(403, "forbidden", f"actions are refused from another origin ({origin})")
        if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
            return problem_response(403, "forbidden", "actions are refused from another site")
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return problem_response(415, "unsupported_media_type", "an action's body is JSON")
        return None

    # --- the node ---------------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=READ_TIMEOUT_S)
        return self._http

    async def node_url(self) -> str:
        """The node the console talks to: the last one that answered, else the first that does."""
        if self._node_url is not None:
            return self._node_url
        for url in self.node_urls:
            try:
                answer = await self.http.get(f"{url}/v1/status", timeout=PROBE_TIMEOUT_S)
            except httpx.TransportError:
                continue
            if answer.status_code == 200:
                self._node_url = url
                return url
        raise OperationalError(
            f"no node of the alliance in {self.directory} answers "
            f"(is it up? 'alliance up --dir {self.directory}')"
        )

    def forget(self, url: str) -> None:
        if self._node_url == url:
            self._node_url = None

    async def forward(self, request: Request) -> Response:
        url = await self.node_url()
        target = f"{url}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        try:
            answer = await self.http.get(target, headers={"accept": request.headers.get("accept", "*/*")})
        except httpx.TransportError as exc:
            self.forget(url)
            raise OperationalError(f"the node at {url} did not answer: {exc}") from None
        headers = {"cache-control": "no-store"}
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
            headers=headers,
        )

    async def tx_json(self, url: str, tx_hash: bytes) -> dict[str, Any]:
        """The node's own JSON of a transaction (its receipt once committed)."""
        answer = await self.http.get(f"{url}/v1/txs/{tx_hash.hex()}")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    # --- actions ----------------------------------------------------------------------------------

    async def act(
        self,
        name: str,
        work: Callable[[AsyncClient], Awaitable[TxView]],
        summarize: Callable[[dict[str, Any]], str],
        *,
        proposal: int | None = None,
    ) -> dict[str, Any]:
        """Run ``work`` against the node; answer the node's JSON of its transaction, a sentence, and
        the proposal it made or voted on."""
        url = await self.node_url()
        async with AsyncClient(url, timeout_s=ACTION_WAIT_S + 5) as client:
            view = await work(client)
        tx = await self.tx_json(url, bytes(view.hash))
        if proposal is None:
            proposal = _event_field(tx, "gov", "proposed", "id")
        return {"action": name, "tx": tx, "proposal": proposal, "summary": summarize(tx)}

    async def transfer(self, body: TransferRequest) -> dict[str, Any]:
        key = keyring.load_named_key(self.directory, body.sender)
        to = keyring.resolve_address(self.directory, body.to)

        def summary(tx: dict[str, Any]) -> str:
            if tx.get("ok"):
                return f"{body.sender} sent {body.amount:,} to {body.to}."
            return f"The chain refused the transfer: {tx.get('error') or tx.get('status')}."

        return await self.act("transfer", lambda c: c.transfer(key, to, body.amount, wait=True), summary)

    async def gov_call(
        self,
        name: str,
        sender: str,
        args: object,
        summarize: Callable[[dict[str, Any]], str],
        *,
        proposal: int | None = None,
    ) -> dict[str, Any]:
        key = keyring.load_named_key(self.directory, sender)
        return await self.act(
            name, lambda c: c.call(key, gov.MODULE_NAME, name, args, wait=True), summarize, proposal=proposal
        )

    async def propose(self, body: ProposeRequest) -> dict[str, Any]:
        fields = dict(body.model_extra or {})
        action = actions.build_action(self.directory, body.kind, fields)
        args = actions.checked(
            gov.ProposeArgs, gov.ProposeArgs(action=action, voting_blocks=body.voting_blocks or 0)
        )

        def summary(tx: dict[str, Any]) -> str:
            if not tx.get("ok"):
                return f"The chain refused the proposal: {tx.get('error') or tx.get('status')}."
            status = _event_field(tx, "gov", "proposed", "status") or "made"
            return f"Proposal #{_event_field(tx, 'gov', 'proposed', 'id')} ({body.kind}) is {status}."

        return await self.gov_call("propose", body.sender, args, summary)

    async def vote(self, body: VoteRequest) -> dict[str, Any]:
        args = actions.checked(gov.VoteArgs, gov.VoteArgs(proposal=body.proposal, yes=body.yes))

        def summary(tx: dict[str, Any]) -> str:
            if not tx.get("ok"):
                return f"The chain refused the vote: {tx.get('error') or tx.get('status')}."
            outcome = (
                "it passed"
                if _has_event(tx, "gov", "passed")
                else ("it was rejected" if _has_event(tx, "gov", "rejected") else "it is still open")
            )
            return f"Voted {'yes' if body.yes else 'no'} on proposal #{body.proposal}; {outcome}."

        return await self.gov_call("vote", body.sender, args, summary, proposal=body.proposal)

    async def freeze(self, body: FreezeRequest) -> dict[str, Any]:
        account = keyring.resolve_address(self.directory, body.account)
        args = actions.checked(gov.FreezeArgs, gov.FreezeArgs(account=account, reason=body.reason))

        def summary(tx: dict[str, Any]) -> str:
            if not tx.get("ok"):
                return f"The chain refused the freeze: {tx.get('error') or tx.get('status')}."
            return f"Froze {body.account}."

        return await self.gov_call("freeze", body.sender, args, summary)

    # --- passes -----------------------------------------------------------------------------------

    async def pass_call(
        self, name: str, sender: str, method: str, args: object, summarize: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        key = keyring.load_named_key(self.directory, sender)

        def work(c: AsyncClient) -> Awaitable[TxView]:
            return c.call(key, passes.MODULE_NAME, method, args, wait=True, gas_limit=PASS_GAS)

        return await self.act(name, work, summarize)

    async def pass_create(self, body: PassCreateRequest) -> dict[str, Any]:
        expiry: passes.ExpiryKind = "lot" if body.lot_days else "fixed" if body.expires_at_ms else "none"
        args = actions.checked(
            passes.CreateArgs,
            passes.CreateArgs(
                symbol=body.symbol, name=body.name, kind=body.kind, rights=body.rights,
                decimals=body.decimals, cap=body.cap, minter_role=body.minter_role,
                eligibility=body.eligibility, circulation=body.circulation,
                redeemer_role=body.redeemer_role, redeem_burns=body.redeem_burns, expiry=expiry,
                expires_at_ms=body.expires_at_ms, lot_days=body.lot_days,
            ),
        )  # fmt: skip
        done = f"Declared the scheme {body.symbol} ({body.name})."
        summary = _refused_or("declaration", done)
        return await self.pass_call("pass-create", body.sender, "create", args, summary)

    async def pass_mint(self, body: PassMintRequest) -> dict[str, Any]:
        holder = keyring.resolve_address(self.directory, body.to)
        mint = passes.MintArgs(body.symbol, holder, body.amount, memo=body.memo, item=body.item)
        args = actions.checked(passes.MintArgs, mint)
        what = f"the item {body.item}" if body.item else f"{body.amount:,} {body.symbol}"
        done = f"Minted {what} to {body.to}."
        return await self.pass_call("pass-mint", body.sender, "mint", args, _refused_or("mint", done))

    async def pass_freeze(self, body: PassFreezeRequest) -> dict[str, Any]:
        account = keyring.resolve_address(self.directory, body.account)
        args = actions.checked(passes.HolderArgs, passes.HolderArgs(symbol=body.symbol, account=account))
        method = "freeze" if body.freeze else "unfreeze"
        verb, may = ("Froze", "may not") if body.freeze else ("Unfroze", "may")
        done = f"{verb} {body.account} in {body.symbol}: it {may} move its units."
        return await self.pass_call("pass-freeze", body.sender, method, args, _refused_or(method, done))

    async def pass_pause(self, body: PassPauseRequest) -> dict[str, Any]:
        args = actions.checked(passes.SymbolArgs, passes.SymbolArgs(symbol=body.symbol))
        method = "pause" if body.pause else "resume"
        done = f"{'Paused' if body.pause else 'Resumed'} the scheme {body.symbol}."
        return await self.pass_call("pass-pause", body.sender, method, args, _refused_or(method, done))

    # --- contracts --------------------------------------------------------------------------------

    async def contract_deploy(self, body: ContractDeployRequest) -> dict[str, Any]:
        """Submit the source, then propose ``deploy-contract``: the proposal's receipt (or the
        submission's, if the chain refused the source)."""
        key = keyring.load_named_key(self.directory, body.sender)
        if not contracts.valid_name(body.name):
            raise UsageError(
                f"{body.name!r} is not a contract name (lower case, 1-32 characters, not a module's)"
            )
        program = engine.load(body.source)  # an invalid contract is refused here, naming the line
        init = program.abi.method("init")
        if init is None and body.init_args:
            raise UsageError(f"{body.name} has no init method to take arguments")
        init_args = sdk_contracts.typed_args(init, body.init_args) if init is not None else codec.encode([])
        code_hash = engine.code_hash(body.source)
        refused: list[str] = []

        async def work(c: AsyncClient) -> TxView:
            submitted = await c.call(
                key, contracts.MODULE_NAME, "submit", contracts.SubmitArgs(body.source),
                gas_limit=sdk_contracts.SUBMIT_GAS_DEFAULT,
            )  # fmt: skip
            if not submitted.ok:
                refused.append("submission")
                return submitted
            action = gov.DeployContract(name=body.name, code_hash=code_hash, init_args=init_args)
            args = actions.checked(gov.ProposeArgs, gov.ProposeArgs(action=action))
            return await c.call(key, gov.MODULE_NAME, "propose", args)

        def summary(tx: dict[str, Any]) -> str:
            if not tx.get("ok"):
                what = refused[0] if refused else "proposal"
                return f"The chain refused the {what}: {tx.get('error') or tx.get('status')}."
            status = _event_field(tx, "gov", "proposed", "status") or "made"
            proposal = _event_field(tx, "gov", "proposed", "id")
            live = " It is live." if status == "passed" else " It goes live when the committee passes it."
            return (
                f"Submitted the source and proposed to deploy it as {body.name}: "
                f"proposal #{proposal} is {status}.{live}"
            )

        answer = await self.act("contract-deploy", work, summary)
        return {**answer, "code_hash": code_hash.hex(), "name": body.name}

    async def contract_call(self, body: ContractCallRequest) -> dict[str, Any]:
        key = keyring.load_named_key(self.directory, body.sender)
        if not contracts.valid_name(body.name):
            raise UsageError(f"{body.name!r} is not a contract name")
        url = await self.node_url()
        try:
            answer = await self.http.get(f"{url}/v1/contracts/{body.name}")
        except httpx.TransportError as exc:
            self.forget(url)
            raise OperationalError(f"the node at {url} did not answer: {exc}") from None
        if answer.status_code == 404:
            raise NotFound(f"no contract is live under the name {body.name!r}")
        if answer.status_code != 200:
            raise OperationalError(f"the node at {url} answered {answer.status_code} for the contract")
        methods = answer.json()["value"]["abi"]["methods"]
        method = next((m for m in methods if m["name"] == body.method and m["kind"] == "public"), None)
        if method is None:
            public = ", ".join(m["name"] for m in methods if m["kind"] == "public") or "none"
            raise UsageError(f"{body.name} has no public method {body.method!r}; it has: {public}")
        raw = sdk_contracts.typed_args(method, body.args)

        def work(c: AsyncClient) -> Awaitable[TxView]:
            args = msgspec.Raw(raw)  # canonical already: signed as it is
            return c.call(key, body.name, body.method, args, wait=True, gas_limit=body.gas_limit)

        def summary(tx: dict[str, Any]) -> str:
            if not tx.get("ok"):
                return f"The chain refused the call: {tx.get('error') or tx.get('status')}."
            result = tx.get("result") or ""
            decoded = msgspec.msgpack.decode(bytes.fromhex(result)) if result else None
            shown = json.dumps(wire.contract_value_json(decoded)) if result else "nothing"
            return f"Called {body.name}.{body.method}; it returned {shown}."

        return await self.act("contract-call", work, summary)

    def session_json(self, request: Request) -> dict[str, Any]:
        if not self.login.valid(request.cookies.get(self.cookie_name)):
            return {"authenticated": False}
        return {
            "authenticated": True,
            "dir": str(self.directory),
            "node": self._node_url or (self.node_urls[0] if self.node_urls else ""),
            "keys": keyring.keys_list(self.directory),
            "kinds": actions.kinds_json(),
            **actions.directory_summary(self.directory),
        }

    # --- the application --------------------------------------------------------------------------

    def build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
        install_error_handlers(app)
        app.add_middleware(BodyLimitMiddleware, body_bytes_max=ACTION_BODY_BYTES_MAX)
        app.add_middleware(_HostCheck, console=self)
        app.add_middleware(GuardMiddleware)
        site = Site(console=True)

        @app.get("/", include_in_schema=False)
        async def home(request: Request, token: str | None = None) -> Response:
            if token is None:
                return site.page(request)
            session = self.login.exchange(token)
            if session is None:
                return RedirectResponse("/console?login=refused", status_code=303)
            answer = RedirectResponse("/console", status_code=303)
            answer.set_cookie(self.cookie_name, session, httponly=True, samesite="strict", path="/")
            return answer

        site.add_routes(app, except_paths=frozenset({"/"}))

        @app.get("/console/api/session", include_in_schema=False)
        async def session(request: Request) -> Response:
            return Response(
                msgspec.json.encode(self.session_json(request)),
                media_type="application/json",
                headers={"cache-control": "no-store"},
            )

        def action_route(
            name: str, kind: type[BaseModel], run: Callable[[Any], Awaitable[dict[str, Any]]]
        ) -> None:
            async def handler(request: Request) -> Response:
                refusal = self._refusal(request)
                if refusal is not None:
                    return refusal
                try:
                    body = kind.model_validate_json(await request.body())
                except pydantic.ValidationError as exc:
                    raise RequestValidationError(exc.errors(include_url=False)) from None
                return Response(msgspec.json.encode(await run(body)), media_type="application/json")

            app.add_api_route(
                f"/console/api/actions/{name}", handler, methods=["POST"], include_in_schema=False
            )

        action_route("transfer", TransferRequest, self.transfer)
        action_route("propose", ProposeRequest, self.propose)
        action_route("vote", VoteRequest, self.vote)
        action_route("freeze", FreezeRequest, self.freeze)
        action_route("pass-create", PassCreateRequest, self.pass_create)
        action_route("pass-mint", PassMintRequest, self.pass_mint)
        action_route("pass-freeze", PassFreezeRequest, self.pass_freeze)
        action_route("pass-pause", PassPauseRequest, self.pass_pause)
        action_route("contract-deploy", ContractDeployRequest, self.contract_deploy)
        action_route("contract-call", ContractCallRequest, self.contract_call)

        @app.websocket("/v1/stream")
        async def stream(websocket: WebSocket) -> None:
            await self.forward_stream(websocket)

        @app.get("/v1/{rest:path}", include_in_schema=False)
        async def read(rest: str, request: Request) -> Response:
            del rest  # the whole path is forwarded as it came
            return await self.forward(request)

        return app

    async def forward_stream(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            url = await self.node_url()
        except OperationalError as exc:
            await _close(websocket, WS_CLOSE_UNAVAILABLE, exc.message[:120])
            return
        parts = urlsplit(url)
        query = websocket.url.query
        target = f"ws://{parts.netloc}/v1/stream" + (f"?{query}" if query else "")
        upstream: Any = None
        try:
            # The close handshake is bounded: once the browser has left nobody reads the node's
            # messages, so its close frame may wait behind blocks it is still sending (websockets'
            # default would hold both connections for 10 s).
            async with ws_connect(
                target,
                max_size=STREAM_MESSAGE_BYTES_MAX,
                open_timeout=PROBE_TIMEOUT_S,
                close_timeout=STREAM_CLOSE_TIMEOUT_S,
            ) as upstream:
                down = asyncio.create_task(_pump_down(upstream, websocket))
                up = asyncio.create_task(_wait_disconnect(websocket))
                try:
                    await asyncio.wait([down, up], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (down, up):
                        task.cancel()
                    for task in (down, up):
                        with contextlib.suppress(
                            asyncio.CancelledError,
                            WebSocketDisconnect,
                            OSError,
                            websockets.exceptions.WebSocketException,
                        ):
                            await task
                code = upstream.close_code or WS_CLOSE_UNAVAILABLE
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
            self.forget(url)
            code = WS_CLOSE_UNAVAILABLE
        finally:
            # Cancelled mid-handshake (the console stopping), websockets leaves the socket open: it
            # would outlive the console's loop, and the node would go on writing to it.
            if upstream is not None:
                upstream.transport.abort()
        await _close(
            websocket, code if 1000 <= code < 5000 else WS_CLOSE_UNAVAILABLE, "the node's stream ended"
        )

    # --- running ----------------------------------------------------------------------------------

    async def serve(self, announce: Callable[[str], None]) -> None:
        """Serve until ``stop()`` (or SIGINT/SIGTERM when run by ``run_console``); ``announce`` gets
        the login URL once the console listens."""
        task = asyncio.create_task(self.server.serve())
        started = asyncio.create_task(self.server.started.wait())
        await asyncio.wait([task, started], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            started.cancel()
            task.result()  # the listening error (a port in use...)
            return
        announce(self.login_url())
        try:
            await task
        finally:
            if self._http is not None:
                await self._http.aclose()

    def stop(self) -> None:
        self.server.stop()


def _event_field(tx: dict[str, Any], emitter: str, name: str, field: str) -> Any:
    for event in tx.get("events") or []:
        if event.get("emitter") == emitter and event.get("name") == name:
            return (event.get("fields") or {}).get(field)
    return None


def _refused_or(what: str, done: str) -> Callable[[dict[str, Any]], str]:
    def summary(tx: dict[str, Any]) -> str:
        if tx.get("ok"):
            return done
        return f"The chain refused the {what}: {tx.get('error') or tx.get('status')}."

    return summary


def _has_event(tx: dict[str, Any], emitter: str, name: str) -> bool:
    return any(e.get("emitter") == emitter and e.get("name") == name for e in tx.get("events") or [])


async def _pump_down(upstream: Any, websocket: WebSocket) -> None:
    async for message in upstream:
        if isinstance(message, bytes):
            await websocket.send_bytes(message)
        else:
            await websocket.send_text(message)


async def _wait_disconnect(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
        await asyncio.wait_for(websocket.close(code, reason), 1.0)


async def _stop_when_orphaned(console: Console, parent: int) -> None:
    """Stop the console once the program that started it is gone (its parent changes)."""
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_POLL_S)
    console.stop()


def run_console(directory: Path, port: int, announce: Callable[[str], None]) -> None:
    """Run the console in the foreground until SIGINT, SIGTERM or SIGHUP, or until the program that
    started it exits (``alliance console``). The console holds a session that signs with the
    alliance's keys: it must not outlive the terminal or script it belongs to, even when that
    script signals only the shell around it."""
    console = Console(directory, port=port)
    parent = os.getppid()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, console.stop)
        watcher = asyncio.create_task(_stop_when_orphaned(console, parent))
        try:
            await console.serve(announce)
        finally:
            watcher.cancel()

    asyncio.run(main())
