"""Timeouts and the core's configuration.

Theory of operation: the core never reads a clock. When it needs to wait it emits a
``ScheduleTimer(height, round, step, delay_ms)`` and the runtime feeds ``TimeoutFired`` back after
that delay. Timeouts grow linearly with the round (``base + round * delta``), so after GST some
round's timeouts exceed the real message delay and a correct proposer's value gets through (L2).
A timer is only acted on when its (height, round) is still current; stale timers are ignored, so
the runtime never needs to cancel one.

``RETRANSMIT`` is not in the paper: the paper assumes gossip eventually delivers every message,
and a runtime over a lossy network does not. Each round re-arms a retransmit timer; when it fires
the core re-sends its own signed messages of the current round (the same bytes, nothing new is
signed) and answers peers seen lagging one height behind with the decision they miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from alliance.errors import UsageError


class TimeoutStep(IntEnum):
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    RETRANSMIT = 4


@dataclass(frozen=True, slots=True)
class ConsensusConfig:
    """Everything that tunes one core. All bounds are per core and named with units last."""

    chain_id: str
    timeout_propose_ms: int = 3000
    timeout_propose_delta_ms: int = 500
    timeout_prevote_ms: int = 1000
    timeout_prevote_delta_ms: int = 500
    timeout_precommit_ms: int = 1000
    timeout_precommit_delta_ms: int = 500
    timeout_retransmit_ms: int = 2000
    rounds_ahead_max: int = 4
    """Rounds above the current one whose messages are stored; farther rounds only count toward
    the f+1 round-skip rule (one number per validator)."""
    rounds_kept_max: int = 32
    """Rounds below the current one that keep their votes and proposals."""
    future_heights_max: int = 2
    """Messages for heights h+1..h+N are buffered until the core gets there."""
    future_messages_max: int = 4096
    evidence_kept_max: int = 1024
    """Distinct evidence remembered (for de-duplication) and pending in ``Ready``."""
    unsafe_ignore_lock: bool = False
    """TEST ONLY: prevote as if never locked. Breaks S1; for the simulator's broken variants."""
    unsafe_quorum_inclusive: bool = False
    """TEST ONLY: count exactly 2/3 power as a quorum. Breaks S1; for broken variants."""

    def __post_init__(self) -> None:
        if not self.chain_id:
            raise UsageError("chain_id must not be empty")
        numbers = (
            self.timeout_propose_ms, self.timeout_propose_delta_ms, self.timeout_prevote_ms,
            self.timeout_prevote_delta_ms, self.timeout_precommit_ms, self.timeout_precommit_delta_ms,
        )
        if min(numbers) < 0 or self.timeout_retransmit_ms <= 0:
            raise UsageError("timeouts must be non-negative and the retransmit interval positive")
        if min(self.rounds_ahead_max, self.rounds_kept_max, self.future_heights_max) < 1:
            raise UsageError("round and height windows must be at least 1")
        if min(self.future_messages_max, self.evidence_kept_max) < 1:
            raise UsageError("message and evidence bounds must be at least 1")

    def timeout_ms(self, step: TimeoutStep, round_: int) -> int:
        """Delay of ``step``'s timer in ``round_``: linear in the round."""
        if step == TimeoutStep.PROPOSE:
            return self.timeout_propose_ms + round_ * self.timeout_propose_delta_ms
        if step == TimeoutStep.PREVOTE:
            return self.timeout_prevote_ms + round_ * self.timeout_prevote_delta_ms
        if step == TimeoutStep.PRECOMMIT:
            return self.timeout_precommit_ms + round_ * self.timeout_precommit_delta_ms
        return self.timeout_retransmit_ms
