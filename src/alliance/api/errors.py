"""Error mapping: every refusal the API gives is RFC 9457 problem JSON.

Theory of operation: errors are converted once, here, at the boundary. An ``AllianceError`` keeps
its stable ``code`` and gets its HTTP status from its fault class (``status_of``); the framework's
own refusals (validation, unknown route, wrong method) and the API's bounds (body size, wait
timeout) get the API's own codes. Anything else that escapes a route is a bug: the outermost
middleware (``GuardMiddleware``) logs it with its traceback and answers 500 ``internal_error``,
so a bug in one request never takes the node down.

The body bound lives in ``BodyLimitMiddleware``, a plain ASGI middleware: it refuses a declared
``Content-Length`` over the bound before reading anything, and counts the bytes of bodies that
declare no length (chunked) as they stream in, so no request can make the node buffer more than
the bound plus one chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alliance.errors import (
    AllianceError,
    DuplicateTx,
    NotFound,
    OperationalError,
    PeerFault,
    UsageError,
    VersionPruned,
)
from alliance.sdk.wire import PROBLEM_MEDIA_TYPE

logger = logging.getLogger("alliance.api")

API_BODY_BYTES_MAX = 16 * 1024 * 1024

# The API's own codes (the rest come from alliance.errors).
INVALID_REQUEST = "invalid_request"
BODY_TOO_LARGE = "body_too_large"
TIMEOUT = "timeout"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL_ERROR = "internal_error"

_TITLES: dict[int, str] = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    408: "Timeout",
    409: "Conflict",
    410: "Gone",
    413: "Body too large",
    422: "Invalid request",
    500: "Internal error",
    503: "Unavailable",
}


class BodyTooLarge(UsageError):
    code = BODY_TOO_LARGE


class InvalidRequest(UsageError):
    """A request body or query that is not of the declared shape (what FastAPI's own validation
    answers for parameters, said by a route that decodes its input itself)."""

    code = INVALID_REQUEST


class RequestTimeout(OperationalError):
    code = TIMEOUT


def status_of(error: AllianceError) -> int:
    """The HTTP status of an error, decided by its fault class (most specific first)."""
    if isinstance(error, DuplicateTx):
        return 409
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, VersionPruned):
        return 410
    if isinstance(error, BodyTooLarge):
        return 413
    if isinstance(error, InvalidRequest):
        return 422
    if isinstance(error, RequestTimeout):
        return 408
    if isinstance(error, UsageError | PeerFault):
        return 400
    if isinstance(error, OperationalError):
        return 503
    return 500  # InvariantViolation and the bare base class: a bug


def problem_body(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "type": f"urn:alliance:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }


def problem_response(
    status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        msgspec.json.encode(problem_body(status, code, detail)),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def error_response(error: AllianceError) -> Response:
    status = status_of(error)
    if status >= 500 and not isinstance(error, OperationalError):
        logger.error("internal error answered with 500: %s", error.message, exc_info=error)
    return problem_response(status, error.code, error.message)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:  # bounded: a list of 10,000 bad items must not echo back whole
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


async def _on_alliance_error(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, AllianceError):  # registered for AllianceError only; keeps mypy honest
        raise exc
    return error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise exc
    return problem_response(422, INVALID_REQUEST, _validation_detail(exc))


async def _on_http_exception(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    status = exc.status_code
    if status == 400 and exc.__cause__ is not None:
        # FastAPI's "error parsing the body": JSON its parser could not read (invalid UTF-8,
        # nesting too deep, an integer past Python's digit limit). Malformed JSON is a 422 here.
        cause = type(exc.__cause__).__name__
        return problem_response(422, INVALID_REQUEST, f"the body is not JSON this API can read ({cause})")
    code = {404: NotFound.code, 405: METHOD_NOT_ALLOWED, 413: BODY_TOO_LARGE}.get(status)
    if code is None:
        code = INVALID_REQUEST if status < 500 else INTERNAL_ERROR
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem_response(status, code, detail, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AllianceError, _on_alliance_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    body = msgspec.json.encode(problem_body(status, code, detail))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Outermost: a bug in a route becomes a logged 500 problem instead of a dropped connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:  # the one catch-all: log every unexpected error, answer 500, keep serving
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await _send_problem(send, 500, INTERNAL_ERROR, "internal error; the node logged it")


class _Overflow(Exception):
    """Raised inside ``receive`` to stop the application reading an over-long body."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, body_bytes_max: int = API_BODY_BYTES_MAX) -> None:
        self.app = app
        self.body_bytes_max = body_bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.body_bytes_max
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_problem(send, 413, BODY_TOO_LARGE, f"the body is {declared} bytes, over {limit}")
            return
        received = 0
        overflowed = False

        async def counting_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    raise _Overflow
            return message

        async def guarded_send(message: Message) -> None:
            # The framework may turn the interrupted read into its own error answer; ours wins.
            if not overflowed:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _Overflow:
            pass
        except Exception:
            if not overflowed:
                raise
        if overflowed:
            await _send_problem(send, 413, BODY_TOO_LARGE, f"the body is over {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


__all__ = [
    "API_BODY_BYTES_MAX",
    "PROBLEM_MEDIA_TYPE",
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "GuardMiddleware",
    "InvalidRequest",
    "RequestTimeout",
    "error_response",
    "install_error_handlers",
    "problem_body",
    "problem_response",
    "status_of",
]
