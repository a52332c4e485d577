"""One simulation run: a cluster of simulated nodes, a workload, faults, two phases, checks.

Phase 1 runs the workload under the run's faults (delay, loss, duplication, reordering,
partitions, crashes with lost unsynced writes and torn WAL tails, clock drift, Byzantine
validators) and only safety is expected. Phase 2 heals the network, restarts every crashed node
and expects liveness: every honest node commits a few new heights before the deadline. Then the
checkers judge the run. Every random choice comes from generators seeded by the run's seed, and
events are ordered by (time, sequence), so a seed reproduces a run exactly.

Validator-set changes (``options.valset_changes``): the run starts with observers (nodes that are
not validators at genesis; they follow the chain through consensus messages and block sync) and,
during phase 1, an administrator account submits signed ``simvalset.set_power`` transactions:
observers join, validators leave (crashed or partitioned ones too), removed ones may come back.
The workload keeps a model of the set: one change is in flight at a time, so the set each block
writes is known before the change is submitted, and a change is submitted only if the new set
keeps the model's assumption (Byzantine power below a third of every height's set; at most a
third where the run sits at the edge). The model's history of sets, built from the changes whose
commit was acknowledged, is what the checkers compare every node's own history with.

Two broken variants (``options.CAUGHT_BY``) are the simulation's own: with ``ack-before-commit``
the client records a transaction (and a set change) as committed when a node admits it, not when
a block commits it; with ``nondeterministic`` every fifth workload transaction calls
``noise.SimNoiseModule``. Host and application faults are ``node.SimNode``'s.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from alliance import codec
from alliance.abi.accounts import TransferArgs
from alliance.consensus.evidence import DuplicateVoteEvidence
from alliance.consensus.messages import Proposal, Vote
from alliance.consensus.timeouts import ConsensusConfig
from alliance.crypto.keys import AccountKey, NodeKey, verify_node_signature
from alliance.ledger.block import Block, CommitCertificate, Receipt
from alliance.ledger.genesis import ChainParams, make_genesis
from alliance.ledger.transaction import sign_tx, tx_hash_of_canonical
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.node.wire import WireMessage
from alliance.testing.sim import checkers, noise, valset
from alliance.testing.sim.byzantine import Byzantine
from alliance.testing.sim.clock import EventQueue
from alliance.testing.sim.network import SimNetwork
from alliance.testing.sim.node import HOUSEKEEPING_INTERVAL_MS, SimNode
from alliance.testing.sim.options import SimOptions
from alliance.testing.sim.sigmemo import MemoBatchVerifier

LIVENESS_NEW_HEIGHTS = 3
ACCOUNTS = 16
VERIFY_CACHE_MAX = 200_000
VALSET_TX_VALID_BLOCKS = 20  # a set change not committed within this many heights is given up
VALSET_KIND_WEIGHTS = {"join": 4, "leave": 4, "reweight": 1}
_CONSENSUS_MESSAGES = (Proposal, Vote)
NOISE_EVERY_TXS = 5  # with --broken nondeterministic, every fifth workload transaction is a note


@dataclass
class _PendingChange:
    """The one set change in flight: submitted, neither committed nor expired yet."""

    tx_hash: bytes
    raw: bytes
    node: int
    power: int
    valid_until: int


@dataclass
class SimResult:
    options: SimOptions
    violations: list[checkers.Violation]
    heights: list[int]
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


class Simulation:
    def __init__(self, options: SimOptions) -> None:
        self.options = options
        seed = options.seed
        setup = random.Random(f"setup-{seed}")
        self.net_rng = random.Random(f"net-{seed}")
        self.fault_rng = random.Random(f"fault-{seed}")
        self.work_rng = random.Random(f"work-{seed}")
        self.queue = EventQueue()
        self.network = SimNetwork(options, self.net_rng, self.queue, self._deliver)
        keys = [NodeKey(setup.randbytes(32)) for _ in range(options.validators)]
        self.accounts = [AccountKey(setup.randbytes(32)) for _ in range(ACCOUNTS)]
        # Drawn after the validators' and accounts' keys, so runs without observers keep theirs.
        keys += [NodeKey(setup.randbytes(32)) for _ in range(options.observers)]
        self.valset_admin = AccountKey(setup.randbytes(32))
        chain_id = f"sim-{seed}"
        self.genesis = make_genesis(
            chain_id,
            validators=[
                Validator(node_id=k.node_id, power=p)
                for k, p in zip(keys[: options.validators], options.powers, strict=True)
            ],
            accounts=[(a.address, 10**12) for a in self.accounts],
            params=ChainParams(tx_window_blocks=10_000),
        )
        config = ConsensusConfig(
            chain_id=chain_id,
            timeout_propose_ms=options.timeout_propose_ms,
            timeout_propose_delta_ms=options.timeout_propose_ms // 2,
            timeout_prevote_ms=options.timeout_vote_ms,
            timeout_prevote_delta_ms=options.timeout_vote_ms // 2,
            timeout_precommit_ms=options.timeout_vote_ms,
            timeout_precommit_delta_ms=options.timeout_vote_ms // 2,
            timeout_retransmit_ms=max(500, 2 * options.timeout_vote_ms),
            unsafe_ignore_lock=options.broken == "ignore-lock",
            unsafe_quorum_inclusive=options.broken == "inclusive-quorum",
        )
        self.verifier = MemoBatchVerifier()
        admin = self.valset_admin.address
        names = {k.node_id: f"node{i}" for i, k in enumerate(keys)}
        self.nodes = [
            SimNode(
                i, k, self.genesis, config, self, self.verifier, admin,
                {node_id: name for node_id, name in names.items() if node_id != k.node_id},
            )
            for i, k in enumerate(keys)
        ]
        self.index_of = {n.node_id: n.index for n in self.nodes}
        for node in self.nodes:
            node.others = [n.node_id for n in self.nodes if n is not node]
        self.byzantine: dict[int, Byzantine] = {
            i: Byzantine(
                options.byzantine_behaviours, random.Random(f"byz-{seed}-{i}"), chain_id, self.nodes[i].signer
            )
            for i in options.byzantine
        }
        self.honest = [n for n in self.nodes if n.index not in self.byzantine]
        self.signed: dict[tuple[int, int, int, int], set[bytes]] = {}
        self.acknowledged: dict[bytes, int] = {}
        self.evidence_seen = 0
        self._verified: dict[tuple[bytes, bytes, bytes], bool] = {}
        self.healed = False
        self.valset_rng = random.Random(f"valset-work-{seed}")
        self.byzantine_ids = {self.nodes[i].node_id for i in self.byzantine}
        self.model_set = self.genesis.validators  # the set after every change resolved so far
        self.model_history = valset.ValsetHistory(self.genesis.validators)
        self.pending_change: _PendingChange | None = None
        # (height, node index, power before, power) of every change acknowledged as committed.
        self.applied_changes: list[tuple[int, int, int, int]] = []
        self.valset_submitted = 0
        self.workload_txs = 0

    # --- what the nodes ask of the simulation ---------------------------------------------------

    def send(self, node: SimNode, peers: list[bytes], message: WireMessage) -> bool:
        """Put ``message`` from ``node`` on the network to ``peers``; a Byzantine node's consensus
        messages are transformed first, an honest node's signatures recorded for the S3 check."""
        src = node.index
        index_of, network_send = self.index_of, self.network.send
        if isinstance(message, _CONSENSUS_MESSAGES):
            byz = self.byzantine.get(src)
            if byz is not None:
                for peer, forged in byz.transform(message, peers):
                    dst = index_of.get(peer)
                    if dst is not None and dst != src:
                        network_send(src, dst, forged)
                return True
            self._record_signed(node, message)
        for peer in peers:
            dst = index_of.get(peer)
            if dst is not None and dst != src:
                network_send(src, dst, message)
        return True

    def links_of(self, node: SimNode) -> frozenset[bytes]:
        """The peers a node has a link to: the ones that are up (a crashed peer's link drops)."""
        return frozenset(n.node_id for n in self.nodes if n is not node and n.up)

    def _record_signed(self, node: SimNode, message: Proposal | Vote) -> None:
        if isinstance(message, Vote) and message.node_id == node.node_id:
            key = (node.index, message.height, message.round, message.vote_type)
            self.signed.setdefault(key, set()).add(message.block_hash)
        elif isinstance(message, Proposal) and message.proposer == node.node_id:
            key = (node.index, message.height, message.round, 0)
            self.signed.setdefault(key, set()).add(message.block.hash())

    def record_evidence(self, node: SimNode, evidence: object) -> None:
        assert isinstance(evidence, DuplicateVoteEvidence)
        self.evidence_seen += 1

    def on_commit(self, node: SimNode, block: Block, receipts: list[Receipt], hashes: list[bytes]) -> None:
        if node.index in self.byzantine:
            return
        height = block.header.height
        pending = self.pending_change
        ack_on_commit = self.options.broken != "ack-before-commit"
        for tx_hash, receipt in zip(hashes, receipts, strict=True):
            if receipt.ok and ack_on_commit:
                self.acknowledged.setdefault(tx_hash, height)
            if pending is not None and tx_hash == pending.tx_hash:
                self._resolve_change(pending, height if receipt.ok else None)

    def local_time_ms(self, node: SimNode) -> int:
        return int(self.queue.now_ms * self.options.drift[node.index])

    def now_ms(self) -> float:
        return self.queue.now_ms

    def verify_signature(self, node_id: bytes, message: bytes, signature: bytes) -> bool:
        key = (node_id, message, signature)
        ok = self._verified.get(key)
        if ok is None:
            if len(self._verified) >= VERIFY_CACHE_MAX:
                self._verified.clear()
            ok = verify_node_signature(node_id, message, signature)
            self._verified[key] = ok
        return ok

    # --- delivery and sync --------------------------------------------------------------------

    def _deliver(self, src: int, dst: int, message: object) -> None:
        node = self.nodes[dst]
        if node.up:
            node.receive(self.nodes[src].node_id, message)  # type: ignore[arg-type]

    def _first_housekeeping(self, node: SimNode) -> None:
        first_ms = self.fault_rng.uniform(0, HOUSEKEEPING_INTERVAL_MS)
        self.queue.after(first_ms, lambda: self._housekeeping(node))

    def _housekeeping(self, node: SimNode) -> None:
        node.housekeeping()
        drift = self.options.drift[node.index]
        self.queue.after(HOUSEKEEPING_INTERVAL_MS * drift, lambda: self._housekeeping(node))

    # --- workload and faults ------------------------------------------------------------------

    def _workload_tick(self) -> None:
        rng = self.work_rng
        up = [n for n in self.honest if n.up]
        if up:
            height = max(n.height for n in self.nodes)
            key = rng.choice(self.accounts)
            args: TransferArgs | noise.NoteArgs = TransferArgs(to=rng.randbytes(20), amount=1)
            target, method = "accounts", "transfer"
            self.workload_txs += 1
            if self.options.broken == "nondeterministic" and self.workload_txs % NOISE_EVERY_TXS == 0:
                target, method, args = noise.MODULE_NAME, noise.NOTE, noise.NoteArgs()
            tx = sign_tx(
                key,
                chain_id=self.genesis.chain_id,
                target=target,
                method=method,
                args=args,
                valid_until=height + 200,
                nonce=rng.randbytes(16),
            )
            raw = codec.encode(tx)
            for node in rng.sample(up, min(2, len(up))):
                admitted = node.submit([raw])
                if admitted and self.options.broken == "ack-before-commit":
                    # The bug: "committed" is said on admission, as in the block after this one.
                    self.acknowledged.setdefault(tx_hash_of_canonical(raw), node.height + 1)
        self.queue.after(rng.expovariate(self.options.tx_rate) * 1000, self._workload_tick)

    # --- validator-set changes ---------------------------------------------------------------

    def _byzantine_power_fits(self, validators: ValidatorSet) -> bool:
        """The run's assumption for one set: Byzantine power below a third (at most a third at the
        edge, where only safety is claimed)."""
        byzantine = sum(v.power for v in validators.validators if v.node_id in self.byzantine_ids)
        if self.options.check_liveness:
            return 3 * byzantine < validators.total_power
        return 3 * byzantine <= validators.total_power

    def _candidate_changes(self) -> dict[str, list[valset.SetPowerArgs]]:
        """Every change the module accepts and the model's assumption allows, by kind."""
        rng = self.valset_rng
        weighted = any(p != 1 for p in self.options.powers)
        current = self.model_set
        kinds: dict[str, list[valset.SetPowerArgs]] = {"join": [], "leave": [], "reweight": []}
        for node in self.nodes:
            before = current.power_of(node.node_id)
            if before == 0:
                kind, power = "join", rng.randint(1, 4) if weighted else 1
            elif weighted and rng.random() < 0.3:
                kind, power = "reweight", rng.randint(1, 4)
            else:
                kind, power = "leave", 0
            change = valset.SetPowerArgs(node_id=node.node_id, power=power)
            if not valset.allowed(current, change):
                continue
            after = current.apply_updates([Validator(node_id=node.node_id, power=power)])
            if self._byzantine_power_fits(after):
                kinds[kind].append(change)
        return kinds

    def _valset_tick(self) -> None:
        if self.healed:
            return  # changes are a phase-1 fault; one still in flight may commit in phase 2
        rng = self.valset_rng
        up = [n for n in self.honest if n.up]
        top = max(n.height for n in self.honest)
        pending = self.pending_change
        if pending is not None and top >= pending.valid_until:
            # The honest chain passed the last height that could include it (S1 says no other
            # chain can include it later): the change did not happen.
            self._resolve_change(pending, None)
            pending = None
        if pending is None and up:
            kinds = {k: v for k, v in self._candidate_changes().items() if v}
            if kinds:
                kind = rng.choices(list(kinds), weights=[VALSET_KIND_WEIGHTS[k] for k in kinds])[0]
                change = rng.choice(kinds[kind])
                tx = sign_tx(
                    self.valset_admin,
                    chain_id=self.genesis.chain_id,
                    target=valset.MODULE_NAME,
                    method=valset.SET_POWER,
                    args=change,
                    valid_until=top + VALSET_TX_VALID_BLOCKS,
                    nonce=rng.randbytes(16),
                )
                raw = codec.encode(tx)
                index = self.index_of[change.node_id]
                pending = _PendingChange(
                    tx_hash_of_canonical(raw), raw, index, change.power, top + VALSET_TX_VALID_BLOCKS
                )
                self.pending_change = pending
                self.valset_submitted += 1
        if pending is not None:
            # To every honest node that is up, again on each tick: crashes empty mempools, and
            # only validators' mempools reach a proposal.
            admitted = False
            for node in up:
                admitted = bool(node.submit([pending.raw])) or admitted
            if admitted and self.options.broken == "ack-before-commit":
                self._resolve_change(pending, top + 1)  # the bug: "committed" on admission
        delay_ms = rng.expovariate(1 / self.options.valset_interval_ms)
        self.queue.after(delay_ms, self._valset_tick)

    def _resolve_change(self, pending: _PendingChange, committed_at: int | None) -> None:
        """The in-flight change committed at ``committed_at`` (its receipt ok), or never will."""
        self.pending_change = None
        if committed_at is None:
            return
        node_id = self.nodes[pending.node].node_id
        before = self.model_set.power_of(node_id)
        self.model_set = self.model_set.apply_updates([Validator(node_id=node_id, power=pending.power)])
        self.model_history.record(committed_at, self.model_set)
        self.applied_changes.append((committed_at, pending.node, before, pending.power))

    def _participation(self) -> dict[str, float]:
        """Who signed the certificates of the most advanced honest chain, against the changes:
        observers that signed once they joined, and removals after which the removed node signed
        nothing until it was added again (figures for tests; the checkers judge every height)."""
        if not self.applied_changes:
            return {}
        chain = max(self.honest, key=lambda n: n.height).store
        signers: dict[int, set[int]] = {}
        for h, raw in chain.certificates.items():
            cert = codec.decode_trusted(CommitCertificate, raw)
            signers[h] = {self.index_of[s.node_id] for s in cert.signatures if s.node_id in self.index_of}
        observers_signed = {
            i for members in signers.values() for i in members if i >= self.options.validators
        }
        removals_seen = removals_silent = 0
        for k, (height, index, _, power) in enumerate(self.applied_changes):
            if power != 0:
                continue
            back = [h for h, i, _, _ in self.applied_changes[k + 1 :] if i == index]
            # Removed from height + 2 until the height its next change takes effect.
            removed = [h for h in signers if height + 2 <= h < (back[0] + 2 if back else h + 1)]
            if removed:
                removals_seen += 1
                removals_silent += all(index not in signers[h] for h in removed)
        return {
            "observers_signed": len(observers_signed),
            "removals_seen": removals_seen,
            "removals_silent": removals_silent,
        }

    def _partition_tick(self) -> None:
        if self.healed or self.options.partition_rate <= 0:
            return
        rng = self.fault_rng
        n = len(self.nodes)
        group = set(rng.sample(range(n), rng.randint(1, n - 1)))
        others = set(range(n)) - group
        symmetric = not self.options.asymmetric_partitions or rng.random() < 0.5
        before = set(self.network.cut)
        self.network.partition(group, others, symmetric)
        added = self.network.cut - before
        self.queue.after(rng.uniform(300, 3000), lambda: self.network.cut.difference_update(added))
        self.queue.after(rng.expovariate(self.options.partition_rate) * 1000, self._partition_tick)

    def _crash_tick(self) -> None:
        if self.healed or self.options.crash_rate <= 0:
            return
        rng = self.fault_rng
        node = rng.choice(self.nodes)
        if node.up:
            node.crash(self.options.lose_unsynced, self.options.torn_wal, rng)
            self.queue.after(rng.uniform(200, 3000), lambda: self._restart(node))
        self.queue.after(rng.expovariate(self.options.crash_rate) * 1000, self._crash_tick)

    def _restart(self, node: SimNode) -> None:
        if not node.up:
            node.start()

    def _heal(self) -> None:
        self.healed = True
        self.network.heal()
        for node in self.nodes:
            self._restart(node)

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> SimResult:
        started = time.perf_counter()
        options = self.options
        for node in self.nodes:
            node.start()
            self._first_housekeeping(node)
        self.queue.after(0, self._workload_tick)
        if options.valset_changes:
            self.queue.after(self.valset_rng.uniform(0, options.valset_interval_ms), self._valset_tick)
        if options.partition_rate > 0:
            self.queue.after(self.fault_rng.expovariate(options.partition_rate) * 1000, self._partition_tick)
        if options.crash_rate > 0:
            self.queue.after(self.fault_rng.expovariate(options.crash_rate) * 1000, self._crash_tick)
        self.queue.run_until(options.faults_ms)
        self._heal()
        target = max(n.height for n in self.honest) + LIVENESS_NEW_HEIGHTS
        deadline = options.faults_ms + options.heal_ms_max
        self.queue.run_until(deadline, stop=lambda: all(n.height >= target for n in self.honest))
        violations = [
            *checkers.check_agreement(self.honest),
            *checkers.check_certificates(self.honest, self.genesis.chain_id),
            *checkers.check_double_sign(self.signed),
            *checkers.check_signers_are_validators(self.honest, self.signed),
            *checkers.check_validator_sets(self.honest, self.model_history),
            *checkers.check_app_hashes(self.honest),
            *checkers.check_acknowledged(self.honest, self.acknowledged),
        ]
        if options.check_liveness:
            violations += checkers.check_liveness(self.honest, target, self.queue.now_ms)
        stats = {
            "sim_ms": round(self.queue.now_ms),
            "wall_s": round(time.perf_counter() - started, 3),
            "messages": self.network.sent,
            "dropped": self.network.dropped,
            "acknowledged_txs": len(self.acknowledged),
            "evidence": self.evidence_seen,
            "restarts": sum(n.restarts for n in self.nodes),
            "observers": options.observers,
            "valset_submitted": self.valset_submitted,
            "valset_applied": len(self.applied_changes),
            "valset_joins": sum(1 for _, _, before, _ in self.applied_changes if before == 0),
            "valset_leaves": sum(1 for _, _, _, power in self.applied_changes if power == 0),
            **self._participation(),
        }
        return SimResult(options, violations, [n.height for n in self.nodes], stats)


def run_seed(seed: int, broken: str | None = None, valset_changes: bool = False) -> SimResult:
    return Simulation(SimOptions.from_seed(seed, broken, valset_changes)).run()


__all__ = ["SimResult", "Simulation", "run_seed", "tx_hash_of_canonical"]
