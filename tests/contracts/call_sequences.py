"""Calls to the example contracts, for the determinism tests: a world with all of them deployed,
and a call described as data (who calls which method of which contract with which arguments)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec
from memory_host import Outcome, World, address

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
ACCOUNTS = [address(0x100 + n) for n in range(6)]
ADMIN = ACCOUNTS[0]

PROBE = """
from alliance.contract import public, storage, emit


@public
def probe(words: list[str]) -> list[str]:
    table = {}
    for word in words:
        table[word] = table.get(word, 0) + 1
    pairs = {(word, len(word)): n for word, n in table.items()}
    storage["table"] = table
    storage["pairs"] = pairs
    keys = [key for key in table]
    emit("probe", keys=keys, count=len(pairs))
    return sorted(keys) + keys + [f"{word}:{n}" for word, n in table.items()]
"""

Call = tuple[int, str, str, list[Any]]  # (caller index, contract, method, args)


def new_world() -> World:
    world = World(height=50, time_ms=1_700_000_000_000)
    world.deploy("token", source("token"), deployer=ADMIN, init_args=[ADMIN])
    world.deploy("poe", source("proof_of_existence"), deployer=ADMIN)
    world.deploy("trace", source("vaccine_trace"), deployer=ADMIN, init_args=[ADMIN])
    world.deploy("equity", source("equity_registry"), deployer=ADMIN, init_args=[ADMIN, "Acme", 60])
    world.deploy("probe", PROBE, deployer=ADMIN)
    roles = ["manufacturer", "distributor", "pharmacy"]
    for index, account in enumerate(ACCOUNTS[1:]):
        world.transact(ADMIN, "trace", "grant", [account, roles[index % 3]])
        world.transact(ADMIN, "equity", "approve_investor", [account])
        world.transact(ADMIN, "token", "mint", [account, 1000])
    return world


def source(name: str) -> str:
    return (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")


def run(world: World, calls: list[Call]) -> list[Outcome]:
    outcomes = []
    for step, (caller, contract, method, args) in enumerate(calls):
        world.height += step % 2
        world.time_ms += 1000
        outcomes.append(world.transact(ACCOUNTS[caller % len(ACCOUNTS)], contract, method, args))
    return outcomes


def digest(world: World, outcomes: list[Outcome]) -> str:
    """One hash of everything the calls produced: state, results, events, gas, errors."""
    record = [
        sorted(world.state.items()),
        [(o.status, o.result, o.events, o.gas_used, o.error) for o in outcomes],
    ]
    return hashlib.sha256(msgspec.msgpack.encode(record)).hexdigest()


def scripted_calls(seed: int, count: int) -> list[Call]:
    """A fixed pseudo-random mix of calls (``random.Random`` does not depend on the hash seed)."""
    import random

    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    calls: list[Call] = []
    for _ in range(count):
        who = rng.randrange(len(ACCOUNTS))
        to = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
        batch = f"B{rng.randrange(4)}"
        calls.append(
            rng.choice(
                [
                    (who, "token", "transfer", [to, rng.randrange(0, 300)]),
                    (who, "poe", "register", [hashlib.sha256(bytes([rng.randrange(8)])).digest()]),
                    (who, "trace", "create_batch", [batch, "vaccine", rng.randrange(0, 5)]),
                    (who, "trace", "offer", [batch, to]),
                    (who, "trace", "accept", [batch]),
                    (who, "trace", "report_excursion", [batch, rng.randrange(-50, 120), rng.randrange(0, 3)]),
                    (who, "equity", "issue", [to, rng.randrange(1, 100)]),
                    (who, "equity", "transfer", [to, rng.randrange(1, 50)]),
                    (0, "equity", "split", [2]),
                    (who, "probe", "probe", [rng.sample(words, rng.randrange(1, len(words)))]),
                ]
            )
        )
    return calls
