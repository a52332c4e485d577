"""A small deterministic in-test cluster of consensus cores.

Theory of operation: N ``ConsensusCore`` objects, one FIFO list of in-flight messages, a
trivial application per node and a simulated WAL per node (records become durable when a
``Ready`` that must sync is written). Nothing runs unless a command says so: ``deliver`` moves
messages, ``tick`` fires the timers a node has pending, ``crash`` loses a node's unsynced WAL tail,
``restart`` rebuilds a core from its chain and WAL. After every command the harness checks
S1 (agreement), S2 (certificates carry > 2/3 valid power) and S3 (no honest node signs two values
for one slot, across restarts) and raises ``AssertionError`` when one breaks.

The transcript runner (``run_transcript``) reads etcd-raft datadriven style files: a command
line, ``----``, the expected output, a blank line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from alliance.consensus import (
    BlockApplied,
    CommittedBlock,
    ConsensusConfig,
    ConsensusCore,
    Outgoing,
    PrepareProposal,
    ProcessProposal,
    Proposal,
    ProposalPayload,
    ProposalVerdict,
    ScheduleTimer,
    Start,
    StartState,
    TimeoutFired,
    TimeoutStep,
    Vote,
)
from alliance.consensus.messages import vote_type_name
from alliance.consensus.wal import WalOwnMessage, WalRecord
from alliance.crypto.keys import NodeKey
from alliance.ledger.block import VoteType, vote_sign_bytes
from alliance.ledger.validators import Validator, ValidatorSet

CHAIN_ID = "harness"
STEP_NAMES = {
    "propose": TimeoutStep.PROPOSE,
    "prevote": TimeoutStep.PREVOTE,
    "precommit": TimeoutStep.PRECOMMIT,
    "retransmit": TimeoutStep.RETRANSMIT,
}


def node_key(index: int) -> NodeKey:
    return NodeKey(bytes([index + 1]) * 32)


_verified: dict[tuple[bytes, bytes, bytes], bool] = {}


def cached_verify(node_id: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification memoised across the test session (many cores check the same bytes)."""
    from alliance.crypto.keys import verify_node_signature

    key = (node_id, message, signature)
    ok = _verified.get(key)
    if ok is None:
        ok = verify_node_signature(node_id, message, signature)
        _verified[key] = ok
    return ok


@dataclass
class Envelope:
    src: int
    dst: int
    message: Proposal | Vote


@dataclass
class Node:
    index: int
    key: NodeKey
    core: ConsensusCore
    alive: bool = True
    byzantine: bool = False
    wal: list[WalRecord] = field(default_factory=list)
    wal_durable: int = 0
    chain: list[CommittedBlock] = field(default_factory=list)
    timers: list[ScheduleTimer] = field(default_factory=list)
    reject_proposals: bool = False
    hold_payloads: bool = True
    held: list[PrepareProposal] = field(default_factory=list)
    hold_applied: bool = False
    applied: list[BlockApplied] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"n{self.index}"


class Cluster:
    def __init__(
        self,
        n_nodes: int,
        *,
        validators: int | None = None,
        powers: list[int] | None = None,
        config: ConsensusConfig | None = None,
    ) -> None:
        self.config = config or ConsensusConfig(chain_id=CHAIN_ID)
        self.keys = [node_key(i) for i in range(n_nodes)]
        self.ids = [k.node_id for k in self.keys]
        self.names = {nid: f"n{i}" for i, nid in enumerate(self.ids)}
        count = n_nodes if validators is None else validators
        powers = powers or [1] * count
        initial = ValidatorSet.of([Validator(node_id=self.ids[i], power=powers[i]) for i in range(count)])
        self.valsets: dict[int, ValidatorSet] = {1: initial, 2: initial}
        self.updates: dict[int, list[Validator]] = {}
        self.network: list[Envelope] = []
        self.groups: list[set[int]] | None = None
        self.block_labels: dict[bytes, str] = {}
        self.signed: dict[tuple[bytes, int, int, int], bytes] = {}
        self.decided: dict[int, bytes] = {}
        self.mempool: list[bytes] = []
        self.lines: list[str] = []
        self.nodes = [self._new_node(i, self._start_state_for([])) for i in range(n_nodes)]

    # --- construction -----------------------------------------------------------------------------

    def _start_state_for(self, chain: list[CommittedBlock]) -> StartState:
        height = len(chain) + 1
        last = chain[-1] if chain else None
        return StartState(
            height=height,
            validators=self.valsets[height],
            next_validators=self.valsets[height + 1],
            prev_block_hash=last.block.hash() if last else b"",
            last_commit=last.certificate if last else None,
            last_validators=self.valsets.get(height - 1),
        )

    def _new_node(self, index: int, start: StartState) -> Node:
        core = ConsensusCore(self.config, self.keys[index], start, verify=cached_verify)
        return Node(index=index, key=self.keys[index], core=core)

    def start(self) -> None:
        for node in self.nodes:
            self._step(node, Start())

    # --- output -----------------------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def take_lines(self) -> list[str]:
        out, self.lines = self.lines, []
        return out

    def label(self, block_hash: bytes) -> str:
        if block_hash == b"":
            return "nil"
        label = self.block_labels.get(block_hash)
        if label is None:
            label = f"B{len(self.block_labels) + 1}"
            self.block_labels[block_hash] = label
        return label

    def describe(self, message: Proposal | Vote) -> str:
        if isinstance(message, Proposal):
            return (
                f"proposal h{message.height} r{message.round} {self.label(message.block.hash())} "
                f"vr={message.valid_round}"
            )
        return (
            f"{vote_type_name(message.vote_type)} h{message.height} r{message.round} "
            f"{self.label(message.block_hash)}"
        )

    # --- driving one node ---------------------------------------------------------------------------

    def _step(self, node: Node, event: object) -> None:
        node.core.step(event)  # type: ignore[arg-type]
        self._pump(node)

    def _pump(self, node: Node) -> None:
        while True:
            ready = node.core.ready()
            if ready.is_empty:
                node.core.check_invariants()  # after every step the harness drives
                return
            follow_ups: list[object] = []
            node.wal.extend(ready.wal_records)
            if ready.must_sync:
                node.wal_durable = len(node.wal)
            for committed in ready.committed:
                self._on_commit(node, committed)
                if node.hold_applied:
                    node.applied.append(self._apply(committed))
                else:
                    follow_ups.append(self._apply(committed))
            for out in ready.messages:
                self._send(node, out)
            node.timers.extend(ready.timers)
            for request in ready.requests:
                if isinstance(request, PrepareProposal):
                    if node.hold_payloads:
                        node.held.append(request)
                    else:
                        follow_ups.append(self._payload(request))
                else:
                    follow_ups.append(self._verdict(node, request))
            for evidence in ready.evidence:
                assert evidence.verify(CHAIN_ID)
                a, b = evidence.vote_a, evidence.vote_b
                values = f"{self.label(a.block_hash)}/{self.label(b.block_hash)}"
                self.emit(
                    f"{node.name} evidence {self.names[a.node_id]} {vote_type_name(a.vote_type)} "
                    f"h{a.height} r{a.round} {values}"
                )
            node.core.advance()
            for event in follow_ups:
                node.core.step(event)  # type: ignore[arg-type]

    def _payload(self, request: PrepareProposal) -> ProposalPayload:
        app_hash = hashlib.sha256(f"state-after-{request.height - 1}".encode()).digest()
        return ProposalPayload(
            height=request.height,
            round=request.round,
            txs=tuple(self.mempool),
            app_hash=app_hash,
            last_results_hash=b"\x00" * 32,
            time_ms=request.height * 1000 + request.round,
        )

    def _verdict(self, node: Node, request: ProcessProposal) -> ProposalVerdict:
        self.label(request.block_hash)
        return ProposalVerdict(request.height, request.block_hash, not node.reject_proposals)

    def _apply(self, committed: CommittedBlock) -> BlockApplied:
        h = committed.height
        updates = self.updates.get(h, [])
        if h + 2 not in self.valsets:
            self.valsets[h + 2] = self.valsets[h + 1].apply_updates(updates)
        return BlockApplied(h, hashlib.sha256(f"state-after-{h}".encode()).digest(), tuple(updates))

    def _on_commit(self, node: Node, committed: CommittedBlock) -> None:
        block_hash = committed.block.hash()
        h = committed.height
        # S1: no two honest nodes commit different blocks at a height.
        assert self.decided.setdefault(h, block_hash) == block_hash, f"S1 violated at height {h}"
        assert h == len(node.chain) + 1, f"{node.name} committed {h} out of order"
        # S2: the certificate has more than 2/3 of the height's power, with valid signatures.
        assert committed.certificate.verify(CHAIN_ID, self.valsets[h]), f"S2 violated at height {h}"
        assert committed.certificate.block_hash == block_hash
        node.chain.append(committed)
        included = set(committed.block.txs)
        self.mempool = [tx for tx in self.mempool if tx not in included]
        self.emit(
            f"{node.name} commit h{h} r{committed.certificate.round} {self.label(block_hash)} "
            f"txs={len(committed.block.txs)}"
        )

    def _send(self, node: Node, out: Outgoing) -> None:
        message = out.message
        if isinstance(message, Vote) and not node.byzantine and message.node_id == self.ids[node.index]:
            slot = (message.node_id, message.height, message.round, message.vote_type)
            # S3: an honest validator never signs two values for one slot, even across restarts.
            # (Only its own votes: it also relays the votes of others, a Byzantine one's included.)
            assert self.signed.setdefault(slot, message.block_hash) == message.block_hash, (
                f"S3 violated {slot}"
            )
        target = "*" if out.to is None else self.names[out.to]
        self.emit(f"{node.name} -> {target} {self.describe(message)}")
        dsts = (
            [i for i in range(len(self.nodes)) if i != node.index]
            if out.to is None
            else [self.ids.index(out.to)]
        )
        for dst in dsts:
            self.network.append(Envelope(node.index, dst, message))

    # --- commands -----------------------------------------------------------------------------------

    def connected(self, a: int, b: int) -> bool:
        if self.groups is None:
            return True
        return any(a in g and b in g for g in self.groups)

    def matches(self, env: Envelope, filters: dict[str, str]) -> bool:
        m = env.message
        kind = "proposal" if isinstance(m, Proposal) else vote_type_name(m.vote_type)
        checks = {
            "from": f"n{env.src}",
            "to": f"n{env.dst}",
            "type": kind,
            "round": str(m.round),
            "height": str(m.height),
        }
        for name, want in filters.items():
            if name in checks and want not in checks[name].split(",") and checks[name] not in want.split(","):
                return False
        return True

    def deliver(self, filters: dict[str, str], count: int | None = None) -> int:
        delivered = 0
        while count is None or delivered < count:
            index = next((i for i, e in enumerate(self.network) if self.matches(e, filters)), None)
            if index is None:
                break
            env = self.network.pop(index)
            dst = self.nodes[env.dst]
            if not dst.alive or not self.connected(env.src, env.dst):
                continue
            delivered += 1
            self._step(dst, env.message)
        return delivered

    def drop(self, filters: dict[str, str]) -> int:
        before = len(self.network)
        self.network = [e for e in self.network if not self.matches(e, filters)]
        return before - len(self.network)

    def tick(self, node: Node, steps: set[TimeoutStep]) -> None:
        if not node.alive:
            return
        status = node.core.status
        current = [t for t in node.timers if (t.height, t.round) == (status.height, status.round)]
        node.timers = [t for t in current if t.step not in steps]  # timers set while firing append
        for timer in [t for t in current if t.step in steps]:
            self._step(node, TimeoutFired(timer.height, timer.round, timer.step))

    def release_payloads(self, node: Node) -> None:
        held, node.held = node.held, []
        for request in held:
            self._step(node, self._payload(request))

    def release_applied(self, node: Node) -> None:
        applied, node.applied = node.applied, []
        for event in applied:
            self._step(node, event)

    def crash(self, node: Node) -> None:
        node.alive = False
        del node.wal[node.wal_durable :]  # the unsynced tail is lost
        node.timers = []
        node.held = []
        self.network = [e for e in self.network if e.dst != node.index]

    def restart(self, node: Node) -> None:
        start = self._start_state_for(node.chain)
        fresh = self._new_node(node.index, start)
        fresh.core.restore(list(node.wal))
        node.core = fresh.core
        node.alive = True
        self._step(node, Start())

    def block_sync(self, node: Node) -> None:
        """What a runtime's block sync does for a node two or more heights behind: copy the
        missing blocks with their certificates, then rebuild the core over its WAL."""
        best = max(self.nodes, key=lambda n: len(n.chain))
        if not node.alive or len(best.chain) < len(node.chain) + 2:
            return
        for committed in best.chain[len(node.chain) :]:
            self._on_commit(node, committed)
        start = self._start_state_for(node.chain)
        node.core = self._new_node(node.index, start).core
        node.core.restore(list(node.wal))
        self._step(node, Start())

    def equivocate(self, node: Node, vote_type: int, height: int, round_: int) -> None:
        """A Byzantine node signs a vote for a value nobody proposed and sends it to everyone."""
        node.byzantine = True
        fake = hashlib.sha256(f"fake-{node.index}-{height}-{round_}".encode()).digest()
        self.label(fake)
        signature = node.key.sign(vote_sign_bytes(CHAIN_ID, vote_type, height, round_, fake))
        vote = Vote(vote_type, height, round_, fake, node.key.node_id, signature)
        self._send(node, Outgoing(vote))

    def status_line(self, node: Node) -> str:
        s = node.core.status
        locked = self.label(s.locked_value) if s.locked_value else "-"
        valid = self.label(s.valid_value) if s.valid_value else "-"
        state = "" if node.alive else " (down)"
        return (
            f"{node.name}: h={s.height} r={s.round} step={s.step.name.lower()} "
            f"locked={s.locked_round}/{locked} valid={s.valid_round}/{valid} "
            f"committed={s.last_committed_height}{state}"
        )

    def node(self, name: str) -> Node:
        return self.nodes[int(name.removeprefix("n"))]

    def select(self, spec: str) -> list[Node]:
        if spec in ("", "all"):
            return list(self.nodes)
        return [self.node(n) for n in spec.split(",")]


def own_votes(wal: list[WalRecord]) -> list[Vote]:
    return [r.message for r in wal if isinstance(r, WalOwnMessage) and isinstance(r.message, Vote)]


# --- transcripts ------------------------------------------------------------------------------------


@dataclass
class Case:
    command: str
    expected: list[str]
    line_number: int


def parse_transcript(text: str) -> list[Case]:
    cases: list[Case] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        command, start = line, i + 1
        i += 1
        assert i < len(lines) and lines[i] == "----", f"line {i + 1}: expected ---- after {command!r}"
        i += 1
        expected: list[str] = []
        while i < len(lines) and lines[i] != "":
            expected.append(lines[i])
            i += 1
        cases.append(Case(command, expected, start))
    return cases


def format_transcript(text: str, outputs: list[list[str]]) -> str:
    """The transcript with every expected block replaced by ``outputs``; comments are kept."""
    result: list[str] = []
    lines = text.split("\n")
    i = 0
    case = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            result.append(line)
            i += 1
            continue
        result.extend([line, "----", *outputs[case]])
        case += 1
        i += 2
        while i < len(lines) and lines[i] != "":
            i += 1
    return "\n".join(result)


def parse_args(words: list[str]) -> tuple[list[str], dict[str, str]]:
    positional = [w for w in words if "=" not in w]
    named = dict(w.split("=", 1) for w in words if "=" in w)
    return positional, named


class TranscriptRunner:
    def __init__(self) -> None:
        self.cluster: Cluster | None = None

    def run(self, command: str) -> list[str]:
        words = command.split()
        name, (positional, named) = words[0], parse_args(words[1:])
        handler = getattr(self, "cmd_" + name.replace("-", "_"), None)
        assert handler is not None, f"unknown command {name!r}"
        out: list[str] = handler(positional, named) or []
        assert self.cluster is not None
        lines = self.cluster.take_lines() + out
        return lines or ["ok"]

    @property
    def c(self) -> Cluster:
        assert self.cluster is not None, "start with: nodes n=N"
        return self.cluster

    def cmd_nodes(self, _: list[str], named: dict[str, str]) -> None:
        n = int(named["n"])
        powers = [int(p) for p in named["powers"].split(",")] if "powers" in named else None
        validators = int(named["validators"]) if "validators" in named else None
        overrides = {k: int(v) for k, v in named.items() if k not in ("n", "powers", "validators")}
        config = ConsensusConfig(chain_id=CHAIN_ID, **overrides)  # type: ignore[arg-type]
        self.cluster = Cluster(n, validators=validators, powers=powers, config=config)
        self.cluster.start()

    def cmd_deliver(self, _: list[str], named: dict[str, str]) -> list[str]:
        count = int(named.pop("count")) if "count" in named else None
        self.c.deliver(named, count)
        return []

    def cmd_drop(self, _: list[str], named: dict[str, str]) -> list[str]:
        return [f"dropped {self.c.drop(named)}"]

    def cmd_tick(self, positional: list[str], named: dict[str, str]) -> None:
        steps = (
            {STEP_NAMES[s] for s in named["step"].split(",")}
            if "step" in named
            else {TimeoutStep.PROPOSE, TimeoutStep.PREVOTE, TimeoutStep.PRECOMMIT}
        )
        for node in self.c.select(positional[0] if positional else "all"):
            self.c.tick(node, steps)

    def cmd_partition(self, positional: list[str], _: dict[str, str]) -> None:
        self.c.groups = [{int(n.removeprefix("n")) for n in group.split(",")} for group in positional]

    def cmd_heal(self, _: list[str], __: dict[str, str]) -> None:
        self.c.groups = None

    def cmd_crash(self, positional: list[str], named: dict[str, str]) -> list[str]:
        node = self.c.node(positional[0])
        if named.get("wal") == "all":
            node.wal_durable = len(node.wal)  # the OS happened to flush everything
        self.c.crash(node)
        lost = int(named.get("lose-blocks", "0"))
        if lost:
            del node.chain[-lost:]
        return [f"{node.name} crashed, wal keeps {len(node.wal)} records"]

    def cmd_restart(self, positional: list[str], _: dict[str, str]) -> None:
        self.c.restart(self.c.node(positional[0]))

    def cmd_status(self, positional: list[str], _: dict[str, str]) -> list[str]:
        return [self.c.status_line(n) for n in self.c.select(positional[0] if positional else "all")]

    def cmd_chain(self, positional: list[str], _: dict[str, str]) -> list[str]:
        nodes = self.c.select(positional[0] if positional else "all")
        return [
            f"{n.name}: " + (" ".join(self.c.label(b.block.hash()) for b in n.chain) or "-") for n in nodes
        ]

    def cmd_app(self, positional: list[str], _: dict[str, str]) -> None:
        nodes, mode = self.c.select(positional[0]), positional[1]
        for node in nodes:
            if mode == "release":
                self.c.release_payloads(node)
            elif mode in ("accept", "reject"):
                node.reject_proposals = mode == "reject"
            else:
                node.hold_payloads = mode != "auto"

    def cmd_propose(self, positional: list[str], _: dict[str, str]) -> None:
        """Let held PrepareProposal requests be answered (the app is slow until told otherwise)."""
        for node in self.c.select(positional[0] if positional else "all"):
            self.c.release_payloads(node)

    def cmd_submit(self, positional: list[str], _: dict[str, str]) -> None:
        self.c.mempool.extend(tx.encode() for tx in positional)

    def cmd_update(self, _: list[str], named: dict[str, str]) -> None:
        at = int(named.pop("at"))
        self.c.updates[at] = [
            Validator(node_id=self.c.node(n).key.node_id, power=int(p)) for n, p in named.items()
        ]

    def cmd_equivocate(self, positional: list[str], named: dict[str, str]) -> None:
        vote_type = VoteType.PREVOTE if named.get("type", "prevote") == "prevote" else VoteType.PRECOMMIT
        self.c.equivocate(self.c.node(positional[0]), vote_type, int(named["h"]), int(named["r"]))

    def cmd_network(self, _: list[str], __: dict[str, str]) -> list[str]:
        return [f"n{e.src} -> n{e.dst} {self.c.describe(e.message)}" for e in self.c.network] or ["empty"]

    def cmd_wal(self, positional: list[str], _: dict[str, str]) -> list[str]:
        node = self.c.node(positional[0])
        return [f"{node.name} own: " + (", ".join(self.c.describe(v) for v in own_votes(node.wal)) or "-")]

    def cmd_proposer(self, _: list[str], named: dict[str, str]) -> list[str]:
        """``proposer h=H r=R [count=K]``: the proposers of rounds R .. R+K-1 of height H."""
        h, r, count = int(named["h"]), int(named["r"]), int(named.get("count", "1"))
        proposers = [self.c.nodes[0].core.proposer_of(h, r + k) for k in range(count)]
        return [" ".join(self.c.names[p] if p else "unknown" for p in proposers)]
