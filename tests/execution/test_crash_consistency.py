"""Acceptance criterion: crash consistency. A node killed with SIGKILL at any moment restarts on a
store that is whole: the last block, its receipts, transaction index and state tree all belong to
the same height, the state holds exactly the balances a replay of the child's transfers gives, and
no coin was made or lost.

A child process (``crash_child.py``) commits blocks of transfers with ``sync=True`` in a loop; the
parent kills it at random moments (a fixed seed picks them, some during start-up, most while it
commits), then opens the store itself and checks everything, then starts the child again on the
same store, which continues the chain.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import crash_child as child

from alliance import codec
from alliance.errors import NotFound
from alliance.execution.executor import EMPTY_RESULTS_HASH, PARAMS_KEY, VALIDATORS_KEY, Executor
from alliance.execution.modules.accounts import ACCOUNT_PREFIX, account_key, decode_balance
from alliance.ledger.block import Block, Receipt, results_hash
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.state.tree import verify_state_proof
from alliance.storage.lmdb_store import ChainStore

KILLS = 24
KILL_SEED = 99
CHILD = Path(child.__file__).resolve()
WAIT_DEADLINE_S = 60.0  # only guards against a hung child; never reached when things work
POLL_S = 0.01


def start_child(store_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-W", "error", str(CHILD), str(store_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    finally:
        out.close()


def log_lines(log: Path) -> list[str]:
    """The child's complete lines. A SIGKILL can land between two writes of one line (print writes
    its parts into a buffer that a full buffer flushes mid-line), so a last line without its
    newline is not read: CI once saw a bare ``committed `` there."""
    if not log.exists():
        return []
    return log.read_text().split("\n")[:-1]  # the part after the last newline is incomplete or empty


def last_committed(log: Path) -> int | None:
    heights = [int(line.split()[1]) for line in log_lines(log) if line.startswith("committed ")]
    return max(heights) if heights else None


def wait_for(proc: subprocess.Popen[bytes], log: Path, what: str, done: object) -> None:
    """Poll the child's log until ``done(lines)`` holds; fail if the child died or hangs."""
    deadline = time.monotonic() + WAIT_DEADLINE_S
    while not done(log_lines(log)):  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(f"the child exited ({proc.returncode}) before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the child did not get to {what}:\n{log.read_text()}")
        time.sleep(POLL_S)


def kill(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is not None:
        raise AssertionError(f"the child exited ({proc.returncode}) on its own:\n{log.read_text()}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def expected_balances(height: int) -> dict[bytes, int]:
    """Every account's balance after block ``height``, from the child's transfers replayed with
    plain integers: a transfer that overdraws fails and changes nothing, there are no fees, and an
    account exists once it was credited. Nothing here reads the store or runs the executor."""
    ks, others = child.keys(), child.outsiders()
    balances = {k.address: child.BALANCE for k in ks}
    for h in range(1, height + 1):
        for t in child.block_transfers(h, ks, others):
            sender = t.sender.address
            if balances[sender] >= t.amount:
                balances[sender] -= t.amount
                balances[t.to] = balances.get(t.to, 0) + t.amount
    return balances


def check_store(store_dir: Path, previous_height: int | None, acknowledged: int | None) -> int | None:
    """Open the store after a crash and check that it is whole; return its last height."""
    genesis = child.genesis()
    total = sum(a.balance for a in genesis.accounts)
    store = ChainStore(store_dir, map_size_bytes=64 * 1024**3)
    try:
        h = store.last_height()
        if previous_height is not None:
            assert h is not None and h >= previous_height, (
                f"the chain went back from {previous_height} to {h}"
            )
        if acknowledged is not None:
            assert h is not None and h >= acknowledged, (
                f"height {acknowledged} was committed, the store has {h}"
            )
        if h is None:
            assert store.genesis() is None  # killed before genesis landed: an empty store
            return None
        assert store.genesis() == codec.encode(genesis)
        executor = Executor(store, state_versions_kept=child.STATE_VERSIONS_KEPT)
        info = executor.info()
        tree = executor.tree
        assert info.last_height == h
        assert info.last_app_hash == tree.root_hash(h)

        if h >= 1:
            raw = store.block(h)
            block = codec.decode(Block, raw)  # canonical, as it was written
            assert block.header.height == h
            assert store.height_of(block.hash()) == h
            assert block.txs_match_root()
            # Execution is pipelined: header h carries the state root after h - 1.
            assert block.header.app_hash == tree.root_hash(h - 1)
            receipts = codec.decode(list[Receipt], store.receipts(h))
            assert len(receipts) == len(block.txs)
            assert info.last_results_hash == results_hash(receipts)
            for i, tx in enumerate(block.txs):
                assert store.tx_location(tx_hash_of_canonical(tx)) == (h, i)
            if h >= 2:
                prev = codec.decode(Block, store.block(h - 1))
                assert block.header.prev_block_hash == prev.hash()
                assert block.header.last_results_hash == results_hash(
                    codec.decode(list[Receipt], store.receipts(h - 1))
                )
            else:
                assert block.header.last_results_hash == EMPTY_RESULTS_HASH
        try:
            store.block(h + 1)
        except NotFound:
            pass
        else:
            raise AssertionError(f"a block above the last height {h} is stored")
        assert store.get_root(h + 1) is None

        # The state at h against an independent model: the child's transfers replayed in plain
        # integers (below), and genesis for the entries no transfer touches. First every stored
        # account, and no other, with the model's balance ...
        model = expected_balances(h)
        stored = {k: decode_balance(v) for k, v in tree.items(h) if k.startswith(ACCOUNT_PREFIX)}
        assert stored == {account_key(a): b for a, b in model.items()}
        # ... then each key as a client reads it, with and without a proof of the root at h.
        addresses = [k.address for k in child.keys()] + child.outsiders()  # noqa: SIM118
        expected = {account_key(a): model.get(a) for a in addresses}
        expected[PARAMS_KEY] = codec.encode(genesis.params)
        expected[VALIDATORS_KEY] = codec.encode(genesis.validators)
        expected[b"acct/absent"] = None
        for key, value in expected.items():
            plain = executor.query(key, prove=False)
            assert plain.height == h
            if key.startswith(ACCOUNT_PREFIX):
                assert (None if plain.value is None else decode_balance(plain.value)) == value, key
            else:
                assert plain.value == value, key
            proved = executor.query(key, prove=True)
            assert proved.value == plain.value
            assert verify_state_proof(info.last_app_hash, key, proved.value, proved.proof)  # type: ignore[arg-type]
        # Conservation: transfers only move coins.
        assert sum(stored.values()) == total
        # Pruning never runs ahead of the kept window, nor more than a batch behind it.
        behind = h - child.STATE_VERSIONS_KEPT - store.oldest_version()
        assert behind < child.STATE_PRUNE_BATCH_VERSIONS
        assert behind >= 0 or store.oldest_version() == 0
        return h
    finally:
        store.close()


def test_crash_consistency_sigkill_at_random_moments_leaves_a_whole_store(tmp_path: Path) -> None:
    rng = random.Random(KILL_SEED)
    store_dir = tmp_path / "store"
    height: int | None = None
    heights: list[int | None] = []
    for round_ in range(KILLS):
        log = tmp_path / f"child-{round_}.log"
        proc = start_child(store_dir, log)
        if round_ == 0 or rng.random() < 0.15:
            time.sleep(rng.uniform(0.0, 0.6))  # may land during start-up, even during genesis
        else:
            wait_for(proc, log, "ready", lambda lines: any(line.startswith("ready") for line in lines))
            time.sleep(rng.uniform(0.0, 0.4))
        kill(proc, log)
        acknowledged = last_committed(log)
        height = check_store(store_dir, height, acknowledged)
        heights.append(height)

    # A last run without interruption: the chain goes on from the crashed store.
    start = height or 0
    log = tmp_path / "child-final.log"
    proc = start_child(store_dir, log)
    wait_for(proc, log, f"height {start + 5}", lambda lines: f"committed {start + 5}" in lines)
    kill(proc, log)
    final = check_store(store_dir, height, last_committed(log))
    assert final is not None and final >= start + 5
    assert len({h for h in heights if h is not None}) >= KILLS // 3, f"the chain hardly moved: {heights}"
