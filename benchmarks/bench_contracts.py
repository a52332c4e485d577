"""The contract engine's costs: deploy-time compilation, cache loads, token transfers, gas calibration.

What is measured (one core, CPU time of this process, best of ``--rounds``):

- ``compile_ms``: validating and compiling each example contract (``examples/contracts/*.py``)
  from source, as a node does at deploy; ``cache_load_us``: ``engine.load`` of the same source
  once compiled (hashing the source and finding it in the cache: a restarted node that kept the
  process pays ``compile_ms`` once per contract, never per call).
- ``token_transfer``: ``Program.invoke`` of ``token.transfer`` through the engine with a host whose
  storage is a plain dict and whose reads and writes charge no gas (the engine's own overhead, not
  the state tree's), beside ``plain_transfer``, a Python function doing the same dict updates.
  ``engine_us_per_transfer`` is the engine's cost per call.
- ``in_call_context``: the same transfer inside the executor's own ``CallContext`` and
  ``BlockState`` (in-memory committed state, state access charged as for native modules, one
  context and undo log per transaction as the executor makes them), through a thin host adapter,
  beside the native ``accounts.transfer``: an estimate of the later executor-level ratio without
  signature checks, decoding and the state tree, which both paths share.
- ``calibration``: for metered workloads (statements, calls, each size-charged operation), the
  nanoseconds of CPU one unit of gas buys: each runs until it is out of a fixed gas budget. The
  gas numbers in ``alliance.contracts.gas`` aim at about 10 ns per unit; a workload far above that
  is underpriced (a way to make nodes work more than they charge).

Usage: python benchmarks/bench_contracts.py [--transfers N] [--rounds N] [--calibration-gas G] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from alliance import codec
from alliance.contracts import engine
from alliance.errors import AllianceError, OutOfGas
from alliance.execution.context import BlockState, CallContext
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasMeter
from alliance.execution.modules.accounts import AccountsModule, TransferArgs, account_key, encode_account

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "contracts"
_encode = msgspec.msgpack.encode


class DictHost:
    """A host over a plain dict that charges nothing for state: the engine's overhead alone."""

    def __init__(self, state: dict[bytes, bytes], sender: bytes, contract: bytes, gas: GasMeter) -> None:
        self.state = state
        self.sender = sender
        self.contract = contract
        self.height = 1
        self.time_ms = 1_700_000_000_000
        self.gas = gas
        self.events = 0

    def read(self, key: bytes) -> bytes | None:
        return self.state.get(key)

    def write(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.state.pop(key, None)
        else:
            self.state[key] = value

    def emit(self, name: str, data: bytes) -> None:
        self.events += 1

    def call(self, target: str, method: str, args: bytes) -> bytes | None:
        raise NotImplementedError


def best_cpu_s(work: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def compile_costs(rounds: int) -> dict[str, dict[str, float]]:
    costs = {}
    for path in sorted(EXAMPLES.glob("*.py")):
        source = path.read_text(encoding="utf-8")

        def compile_fresh(source: str = source) -> None:
            # A fresh Program: compile_contract and the load-time evaluation, no cache.
            compiled = engine.compile_contract(source, "<bench>", engine.RUNTIME_NAMES)
            engine.Program(compiled, engine.code_hash(source))

        def load_cached(source: str = source, loads: int = 1000) -> None:
            for _ in range(loads):
                engine.load(source)

        compile_s = best_cpu_s(compile_fresh, rounds)
        engine.load(source)
        loads = 1000
        load_s = best_cpu_s(load_cached, rounds)
        costs[path.stem] = {
            "compile_ms": round(compile_s * 1e3, 3),
            "cache_load_us": round(load_s / loads * 1e6, 2),
        }
    return costs


def token_transfers(transfers: int, rounds: int) -> dict[str, float]:
    program = engine.load((EXAMPLES / "token.py").read_text(encoding="utf-8"))
    owner, contract = b"\x01" * 20, b"\xc0" * 20
    recipients = [bytes([2, i % 256, i // 256]) + b"\x00" * 17 for i in range(1000)]
    state: dict[bytes, bytes] = {}
    gas = GasMeter(2**62)
    host = DictHost(state, owner, contract, gas)
    program.invoke(host, "init", _encode([owner]), readonly=False)
    program.invoke(host, "mint", _encode([owner, 2**62]), readonly=False)
    calls = [_encode([recipients[i % len(recipients)], 1]) for i in range(transfers)]
    invoke = program.invoke

    def run() -> None:
        for args in calls:
            invoke(host, "transfer", args, readonly=False)

    engine_s = best_cpu_s(run, rounds)
    gas.used = 0
    invoke(host, "transfer", calls[0], readonly=False)
    gas_per_transfer = gas.used
    balances: dict[bytes, int] = {owner: 2**62}

    def plain() -> None:
        for index in range(transfers):
            to = recipients[index % len(recipients)]
            balance = balances.get(owner, 0)
            if balance < 1:
                raise ValueError("insufficient balance")
            balances[owner] = balance - 1
            balances[to] = balances.get(to, 0) + 1

    plain_s = best_cpu_s(plain, rounds)
    return {
        "transfers": transfers,
        "engine_transfers_per_s": round(transfers / engine_s),
        "engine_us_per_transfer": round(engine_s / transfers * 1e6, 2),
        "plain_transfers_per_s": round(transfers / plain_s),
        "plain_us_per_transfer": round(plain_s / transfers * 1e6, 3),
        "gas_per_transfer_engine_part": gas_per_transfer,
    }


class ContextHost:
    """The adapter an executor would write: a contract's view of a ``CallContext``."""

    __slots__ = ("call", "contract", "emit", "gas", "height", "read", "sender", "time_ms", "write")

    def __init__(self, ctx: CallContext, contract: bytes, name: str) -> None:
        self.sender = ctx.sender
        self.contract = contract
        self.height = ctx.height
        self.time_ms = ctx.time_ms
        self.gas = ctx.gas
        self.read = ctx.read
        self.write = ctx.write
        self.emit = partial(ctx.emit, name)
        self.call = _no_calls


def _no_calls(target: str, method: str, args: bytes) -> bytes | None:
    raise NotImplementedError


def in_call_context(transfers: int, rounds: int) -> dict[str, float]:
    program = engine.load((EXAMPLES / "token.py").read_text(encoding="utf-8"))
    senders = [bytes([1, i]) + b"\x00" * 18 for i in range(100)]
    recipients = [bytes([2, i % 256, i // 256]) + b"\x00" * 17 for i in range(1000)]
    contract = b"\xc0" * 20
    committed = {account_key(a): encode_account(10**15) for a in senders}
    gas = GasMeter(2**62)
    setup = DictHost(committed, senders[0], contract, gas)
    program.invoke(setup, "init", _encode([senders[0]]), readonly=False)
    for sender in senders:
        program.invoke(setup, "mint", _encode([sender, 10**15]), readonly=False)
    calls = [(senders[i % 100], recipients[i % 1000]) for i in range(transfers)]
    native_args = [codec.encode(TransferArgs(to, 1)) for _, to in calls]
    contract_args = [_encode([to, 1]) for _, to in calls]
    accounts = AccountsModule()
    schedule = DEFAULT_GAS_SCHEDULE
    used = {"native": 0, "contract": 0}

    def native() -> None:
        state = BlockState(committed.get)
        for (sender, _), args in zip(calls, native_args, strict=True):
            meter = GasMeter(100_000)
            ctx = CallContext(sender, 1, 0, state, meter, schedule)
            state.begin_tx()
            accounts.call(ctx, "transfer", args)
            state.end_tx(True)
        used["native"] = meter.used

    def contract_calls() -> None:
        state = BlockState(committed.get)
        for (sender, _), args in zip(calls, contract_args, strict=True):
            meter = GasMeter(100_000)
            ctx = CallContext(sender, 1, 0, state, meter, schedule)
            state.begin_tx()
            program.invoke(ContextHost(ctx, contract, "token"), "transfer", args, readonly=False)
            state.end_tx(True)
        used["contract"] = meter.used

    native_s = best_cpu_s(native, rounds)
    contract_s = best_cpu_s(contract_calls, rounds)
    return {
        "native_us_per_transfer": round(native_s / transfers * 1e6, 2),
        "contract_us_per_transfer": round(contract_s / transfers * 1e6, 2),
        "contract_to_native_rate": round(native_s / contract_s, 3),
        "native_gas_per_transfer": used["native"],
        "contract_gas_per_transfer": used["contract"],
    }


CALIBRATION_HEADER = "from alliance.contract import public\n\n"
WORKLOADS: dict[str, str] = {  # each body loops until out of gas
    "statements": "x = 0\nwhile True:\n    x = x + 1\n    y = x - 1\n    z = x > y",
    "calls": "def f(a):\n    return a\n@public\ndef g() -> None:\n    while True:\n        f(1)",
    "comprehension": "while True:\n    xs = [i for i in range(1000)]",
    "dict_comprehension": "while True:\n    xs = {i: i for i in range(1000)}",
    "str_repeat": "while True:\n    s = 'x' * 100000",
    "list_repeat": "while True:\n    s = [0] * 10000",
    "concat": "a = 'x' * 10000\nwhile True:\n    s = a + a",
    "join": "parts = ['abcdefgh'] * 1000\nwhile True:\n    s = ''.join(parts)",
    "split": "s = 'a,' * 5000\nwhile True:\n    p = s.split(',')",
    "replace": "s = 'ab' * 5000\nwhile True:\n    t = s.replace('a', 'xyz')",
    "slice": "xs = list(range(10000))\nwhile True:\n    ys = xs[1:]",
    "sorted": "xs = list(range(10000, 0, -1))\nwhile True:\n    ys = sorted(xs)",
    "compare_nested": (
        "a = [list(range(100)) for i in range(100)]\nb = [list(range(100)) for i in range(100)]\n"
        "while True:\n    c = a == b"
    ),
    "membership": "xs = list(range(10000))\nwhile True:\n    c = -1 in xs",
    "tuple_keys": "d = {}\nk = tuple(range(50))\nwhile True:\n    d[k] = 1",
    "big_mul": "a = 3 ** 1250\nwhile True:\n    b = a * a",
    "big_floordiv": "a = 3 ** 2500\nb = 7 ** 600\nwhile True:\n    c = a // b",
    "big_pow": "while True:\n    b = 3 ** 2500",
    "mod_pow": "m = 2 ** 1000 + 1\nwhile True:\n    b = pow(3, m - 2, m)",
    "int_to_str": "a = 3 ** 2500\nwhile True:\n    s = str(a)",
    "str_to_int": "s = '7' * 1200\nwhile True:\n    a = int(s)",
}


def calibration(gas_budget: int, rounds: int) -> dict[str, float]:
    results = {}
    for name, body in WORKLOADS.items():
        if body.startswith("def "):
            source = CALIBRATION_HEADER + body + "\n"
        else:
            lines = "".join(f"    {line}\n" for line in body.splitlines())
            source = f"{CALIBRATION_HEADER}@public\ndef g() -> None:\n{lines}"
        program = engine.load(source)

        def run(program: Any = program, name: str = name) -> None:
            host = DictHost({}, b"\x01" * 20, b"\xc0" * 20, GasMeter(gas_budget))
            try:
                program.invoke(host, "g", _encode([]), readonly=False)
            except OutOfGas:
                return
            except AllianceError as exc:  # a bound other than gas: the figure would mean nothing
                raise SystemExit(
                    f"calibration workload {name} stopped with {exc.code}: {exc.message}"
                ) from None

        results[name] = round(best_cpu_s(run, rounds) / gas_budget * 1e9, 2)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calibration-gas", type=int, default=2_000_000)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of indented JSON")
    args = parser.parse_args()
    if args.transfers < 1 or args.rounds < 1 or args.calibration_gas < 1000:
        parser.error("--transfers and --rounds must be at least 1, --calibration-gas at least 1000")
    report = {
        "compile": compile_costs(args.rounds),
        "token_transfer": token_transfers(args.transfers, args.rounds),
        "in_call_context": in_call_context(args.transfers, args.rounds),
        "calibration_ns_per_gas": calibration(args.calibration_gas, args.rounds),
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
