"""Simulated time: one event queue ordered by (time, sequence), so runs are reproducible."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class _Event:
    at_ms: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class EventQueue:
    def __init__(self) -> None:
        self.now_ms = 0.0
        self._heap: list[_Event] = []
        self._seq = 0

    def at(self, at_ms: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Event(max(at_ms, self.now_ms), self._seq, action))

    def after(self, delay_ms: float, action: Callable[[], None]) -> None:
        self.at(self.now_ms + delay_ms, action)

    def run_until(
        self, end_ms: float, stop: Callable[[], bool] | None = None, events_max: int = 5_000_000
    ) -> None:
        heap = self._heap
        done = 0
        while heap and heap[0].at_ms <= end_ms:
            event = heapq.heappop(heap)
            self.now_ms = event.at_ms
            event.action()
            done += 1
            if done >= events_max:
                raise RuntimeError(f"simulation exceeded {events_max} events before {end_ms} ms")
            if stop is not None and done % 64 == 0 and stop():
                return
        self.now_ms = max(self.now_ms, end_ms) if not heap or heap[0].at_ms > end_ms else self.now_ms
