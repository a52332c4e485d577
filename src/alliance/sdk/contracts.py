"""Contracts from the SDK: submit and deploy, call and view, with arguments matched to the ABI.

Theory of operation: a contract's ABI (``GET /v1/contracts/NAME``) names each parameter's type as
the contract's type hints declare it (``int``, ``str``, ``bytes``, ``bool``, ``Address``, and
``list[T]``, ``dict[K, V]``, ``tuple[A, B]``, ``tuple[T, ...]`` of those). ``typed_args`` turns
values given as JSON (what a command line or a web form has: a ``bytes`` or ``Address`` parameter
as hex, with or without ``0x``) into the values the contract takes, and refuses anything else with
a ``UsageError`` naming the parameter before any transaction is signed. A call's or a view's answer
comes back as the contract's canonical result decoded (``result``), bytes as bytes.

    with Client(url) as client:
        token = ContractHandle(client, "token")
        token.call(key, "transfer", [to, 5])          # waits; a refusal raises its typed error
        token.view("balance_of", [to])                 # -> 5
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from alliance import codec
from alliance.abi import contracts as c
from alliance.abi import gov
from alliance.contracts import engine
from alliance.crypto.keys import AccountKey, parse_address
from alliance.errors import UsageError
from alliance.sdk.client import Client
from alliance.sdk.wire import ProposalOutcome, TxView

CONTRACT_GAS_DEFAULT = 2_000_000
SUBMIT_GAS_DEFAULT = 10_000_000
_GENERIC = re.compile(r"^(list|dict|tuple)\[(.*)\]$")
_INT_TEXT = re.compile(r"-?[0-9]{1,20}")


def code_hash(source: str) -> bytes:
    """The hash the chain keeps a source under (the same function the node uses)."""
    return engine.code_hash(source)


def _split(inner: str) -> list[str]:
    """``A, B[C, D], E`` -> ``["A", "B[C, D]", "E"]`` (commas at the top level only)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(inner):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:i].strip())
            start = i + 1
    parts.append(inner[start:].strip())
    return parts


def typed_value(type_text: str, value: Any, where: str) -> Any:
    """``value`` (JSON) as the contract's declared ``type_text`` takes it."""
    if type_text in ("bytes", "Address"):
        if isinstance(value, bytes):
            raw = value
        elif isinstance(value, str) and type_text == "Address":
            raw = parse_address(value)
        elif isinstance(value, str):
            text = value[2:] if value[:2] in ("0x", "0X") else value
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise UsageError(f"{where} is bytes: give hex, not {value!r}") from None
        else:
            raise UsageError(f"{where} is {type_text}: give hex text")
        if type_text == "Address" and len(raw) != 20:
            raise UsageError(f"{where} is an address: 20 bytes, got {len(raw)}")
        return raw
    scalars: dict[str, type] = {"int": int, "str": str, "bool": bool}
    if type_text in scalars:
        kind = scalars[type_text]
        if (
            type_text == "int"
            and type(value) is str
            and _INT_TEXT.fullmatch(value)
            and where.endswith(" key")
        ):
            value = int(value)  # a JSON object's keys are text: a dict[int, V] parameter's keys come as "7"
        if type(value) is not kind:
            raise UsageError(f"{where} is {type_text}, not {type(value).__name__}")
        if isinstance(value, int) and not -(2**63) <= value < 2**64:
            raise UsageError(f"{where} is beyond what a contract's integer arguments take (64 bits)")
        return value
    match = _GENERIC.match(type_text)
    if match is None:
        raise UsageError(f"{where} has a type this client does not know: {type_text}")
    name, items = match[1], _split(match[2])
    if name == "list":
        if not isinstance(value, list):
            raise UsageError(f"{where} is {type_text}: give a JSON array")
        return [typed_value(items[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if name == "dict":
        if not isinstance(value, dict):
            raise UsageError(f"{where} is {type_text}: give a JSON object")
        return {
            typed_value(items[0], k, f"{where} key"): typed_value(items[1], v, f"{where}[{k}]")
            for k, v in value.items()
        }
    if not isinstance(value, list):
        raise UsageError(f"{where} is {type_text}: give a JSON array")
    if len(items) == 2 and items[1] == "...":
        return [typed_value(items[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if len(items) != len(value):
        raise UsageError(f"{where} is {type_text}: give {len(items)} items")
    return [typed_value(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(items, value, strict=True))]


def typed_args(method: c.AbiMethod | dict[str, Any], values: list[Any]) -> bytes:
    """The canonical argument list for ``method`` from JSON ``values``."""
    params = (
        method["params"]
        if isinstance(method, dict)
        else [{"name": p.name, "type": p.type} for p in method.params]
    )
    name = method["name"] if isinstance(method, dict) else method.name
    if not isinstance(values, list) or len(values) != len(params):
        raise UsageError(f"{name} takes {len(params)} arguments ({', '.join(p['name'] for p in params)})")
    return codec.encode([typed_value(p["type"], v, p["name"]) for p, v in zip(params, values, strict=True)])


class ContractHandle:
    """One live contract through one client."""

    def __init__(self, client: Client, name: str) -> None:
        if not c.valid_name(name):
            raise UsageError(f"{name!r} is not a contract name")
        self.client = client
        self.name = name
        self._info: dict[str, Any] | None = None

    def info(self) -> dict[str, Any]:
        """The contract's record, ABI and source (``GET /v1/contracts/NAME``)."""
        if self._info is None:
            self._info = self.client.read(f"/v1/contracts/{self.name}", what="contract")["value"]
        return self._info

    def method(self, method: str) -> dict[str, Any]:
        found = next((m for m in self.info()["abi"]["methods"] if m["name"] == method), None)
        if found is None:
            known = ", ".join(m["name"] for m in self.info()["abi"]["methods"])
            raise UsageError(f"{self.name} has no method {method!r}; it has: {known}")
        method_abi: dict[str, Any] = found
        return method_abi

    def call(
        self, key: AccountKey, method: str, args: list[Any], *, gas_limit: int = CONTRACT_GAS_DEFAULT
    ) -> TxView:
        """Call a public method and wait; a refusal raises its typed error (``contract_error``...)."""
        raw_args = typed_args(self.method(method), args)
        # msgspec.Raw: already canonical bytes, which sign_tx's encoding keeps as they are.
        return self.client.call_checked(key, self.name, method, msgspec.Raw(raw_args), gas_limit=gas_limit)

    def view(self, method: str, args: list[Any], *, height: int | None = None) -> Any:
        """A view's answer (decoded), read from the node's committed state."""
        raw_args = typed_args(self.method(method), args)
        params: dict[str, str | int] = {"args": raw_args.hex()}
        if height is not None:
            params["height"] = height
        answer = self.client.read(f"/v1/contracts/{self.name}/views/{method}", params, what="view")
        return msgspec.msgpack.decode(bytes.fromhex(answer["result_hex"]))


def decode_result(result: bytes | None) -> Any:
    """A call's result (its receipt's canonical bytes) as values; None for an empty result."""
    if not result:
        return None
    return msgspec.msgpack.decode(bytes(result))


def submit(client: Client, key: AccountKey, source: str) -> bytes:
    """Submit a contract's source (the chain validates it: ``invalid_contract`` names the line);
    its code hash. The source is loaded here first, so an invalid one is refused before signing."""
    engine.load(source)
    client.call_checked(key, c.MODULE_NAME, "submit", c.SubmitArgs(source), gas_limit=SUBMIT_GAS_DEFAULT)
    return code_hash(source)


def deploy(
    client: Client, key: AccountKey, name: str, source: str, init_args: list[Any] | None = None
) -> tuple[bytes, ProposalOutcome]:
    """Submit ``source`` and propose to deploy it as ``name`` (``init_args`` for its ``init``, typed
    by its ABI); the code hash and the proposal's outcome so far."""
    if not c.valid_name(name):
        raise UsageError(f"{name!r} is not a contract name (lower case, 1-32 characters, not a module's)")
    program = engine.load(source)  # refuse an invalid contract here, before anything is signed
    encoded = codec.encode([])
    init = program.abi.method("init")
    if init is not None:
        encoded = typed_args(init, init_args or [])
    elif init_args:
        raise UsageError(f"{name} has no init method to take arguments")
    hash_of_code = submit(client, key, source)
    outcome = client.propose(key, gov.DeployContract(name, hash_of_code, encoded))
    return hash_of_code, outcome
