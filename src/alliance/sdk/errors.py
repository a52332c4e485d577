"""The SDK's errors: problem JSON back into the typed ``alliance.errors`` classes.

Theory of operation: the API names every refusal by a stable ``code``; the SDK raises the class
of ``alliance.errors`` with that code, so callers branch with ``except DuplicateTx`` exactly as
code inside the node does. The map is built by walking ``AllianceError``'s subclasses (classes
defined in ``alliance.errors`` win a code they share with another module; the API's own classes
are left out, so the map does not depend on whether this process also imported the API). Codes
the SDK does not know fall back by status: ``UsageError`` for 4xx, ``OperationalError`` for 5xx.
Failures to reach the node at all are ``Unreachable``; a wait or request that ran out of time is
``Timeout``.

A committed transaction that failed carries the same kind of code as its receipt's status
(``permission_denied``, ``already_voted``, ...); ``from_receipt`` turns it into the same classes,
falling back to ``ExecutionError`` for a code the SDK does not know.
"""

from __future__ import annotations

from typing import Any

import msgspec

from alliance.errors import AllianceError, ExecutionError, OperationalError, UsageError

DETAIL_LENGTH_MAX = 2000


class BadResponse(OperationalError):
    """The node answered with something that is not the API's JSON (a node of another version, a
    proxy answering HTML): raised once, where the answer is decoded."""

    code = "bad_response"


class Unreachable(OperationalError):
    """The node could not be reached (refused, reset, DNS, TLS): retry, or try another node."""

    code = "unreachable"


class Timeout(OperationalError):
    """The node did not answer, or the transaction did not commit, in time."""

    code = "timeout"


def _subclasses(base: type[AllianceError]) -> list[type[AllianceError]]:
    found: list[type[AllianceError]] = []
    stack = [base]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def error_classes() -> dict[str, type[AllianceError]]:
    """code -> class, over every AllianceError subclass imported so far (recomputed: cheap, rare)."""
    classes: dict[str, type[AllianceError]] = {}
    for cls in _subclasses(AllianceError):
        if cls.__module__.startswith("alliance.api"):
            continue  # the server's own answers; whether the API is imported must not change the map
        if cls.code in classes and cls.__module__ != "alliance.errors":
            continue  # the one in alliance.errors stays the meaning of the code
        classes[cls.code] = cls
    classes[BadResponse.code] = BadResponse
    classes[Timeout.code] = Timeout
    classes[Unreachable.code] = Unreachable
    return classes


def from_problem(status: int, body: bytes, url: str) -> AllianceError:
    """The error an error answer stands for (problem JSON, or anything else a proxy may send)."""
    code: str | None = None
    detail = ""
    try:
        problem: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        problem = None
    if isinstance(problem, dict):
        raw_code, raw_detail = problem.get("code"), problem.get("detail")
        code = raw_code if isinstance(raw_code, str) else None
        detail = raw_detail if isinstance(raw_detail, str) else ""
    if not detail:
        detail = f"HTTP {status} from {url}: {body[:200].decode('utf-8', 'replace')}"
    detail = detail[:DETAIL_LENGTH_MAX]
    cls = error_classes().get(code) if code is not None else None
    if cls is None:
        cls = UsageError if 400 <= status < 500 else OperationalError
    return cls(detail)


def from_receipt(status: str, message: str) -> AllianceError:
    """The error a failed receipt's status code names, with the receipt's message."""
    cls = error_classes().get(status)
    if cls is None or cls in (BadResponse, Timeout, Unreachable):  # transport codes never come from execution
        cls = ExecutionError
    return cls(message or f"the transaction failed: {status}")
