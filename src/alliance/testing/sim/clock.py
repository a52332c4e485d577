"""Simulated time: one event queue ordered by (time, sequence), so runs are reproducible.

Theory of operation: events are plain tuples ``(at_ms, seq, action)`` on a binary heap. The
sequence number is unique, so two events never compare their actions, and tuple comparison runs
in C: a dataclass with ``order=True`` compared through a generated ``__lt__`` in Python, which was
about a tenth of a run's time (docs/benchmarks.md, "Consensus simulator sweep").
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

Event = tuple[float, int, Callable[[], None]]


class EventQueue:
    def __init__(self) -> None:
        self.now_ms = 0.0
        self._heap: list[Event] = []
        self._seq = 0

    def at(self, at_ms: float, action: Callable[[], None]) -> None:
        self._seq += 1
        now_ms = self.now_ms
        heapq.heappush(self._heap, (at_ms if at_ms > now_ms else now_ms, self._seq, action))

    def after(self, delay_ms: float, action: Callable[[], None]) -> None:
        self.at(self.now_ms + delay_ms, action)

    def run_until(
        self, end_ms: float, stop: Callable[[], bool] | None = None, events_max: int = 5_000_000
    ) -> None:
        heap = self._heap
        pop = heapq.heappop
        done = 0
        while heap and heap[0][0] <= end_ms:
            at_ms, _, action = pop(heap)
            self.now_ms = at_ms
            action()
            done += 1
            if done >= events_max:
                raise RuntimeError(f"simulation exceeded {events_max} events before {end_ms} ms")
            if stop is not None and done % 64 == 0 and stop():
                return
        self.now_ms = max(self.now_ms, end_ms) if not heap or heap[0][0] > end_ms else self.now_ms
