"""A simulated network: delay, loss, duplication, reordering and partitions.

Every send draws its fate from the run's random generator: lost, delivered once or twice, after
a delay in ``[delay_ms_min, delay_ms_max]`` plus, sometimes, an extra delay that reorders it.
Partitions are sets of directed links that drop everything; a symmetric partition cuts both
directions between two groups, an asymmetric one only one direction. ``heal`` makes the network
timely and lossless for phase 2.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

from alliance.testing.sim.clock import EventQueue
from alliance.testing.sim.options import SimOptions

Deliver = Callable[[int, int, object], None]


class SimNetwork:
    def __init__(self, options: SimOptions, rng: random.Random, queue: EventQueue, deliver: Deliver) -> None:
        self._rng = rng
        self._queue = queue
        self._deliver = deliver
        self.delay_ms_min = options.delay_ms_min
        self.delay_ms_max = options.delay_ms_max
        self.loss = options.loss
        self.duplication = options.duplication
        self.reorder = options.reorder
        self.cut: set[tuple[int, int]] = set()
        self.sent = 0
        self.dropped = 0

    def send(self, src: int, dst: int, message: object) -> None:
        # The hottest path of a run: locals, and the same random draws in the same order as ever,
        # so a seed's run does not change with the speed-up.
        self.sent += 1
        rng = self._rng
        if (src, dst) in self.cut or rng.random() < self.loss:
            self.dropped += 1
            return
        copies = 2 if rng.random() < self.duplication else 1
        arrive = partial(self._arrive, src, dst, message)
        for _ in range(copies):
            delay = rng.uniform(self.delay_ms_min, self.delay_ms_max)
            if rng.random() < self.reorder:
                delay += rng.uniform(0, 4 * self.delay_ms_max)
            self._queue.after(delay, arrive)

    def _arrive(self, src: int, dst: int, message: object) -> None:
        # A partition that started while the message was in flight drops it too.
        if (src, dst) in self.cut:
            self.dropped += 1
            return
        self._deliver(src, dst, message)

    def partition(self, group: set[int], others: set[int], symmetric: bool) -> None:
        for a in group:
            for b in others:
                self.cut.add((a, b))
                if symmetric:
                    self.cut.add((b, a))

    def heal(self) -> None:
        self.cut.clear()
        self.loss = 0.0
        self.duplication = 0.0
        self.reorder = 0.0
        self.delay_ms_min = 1
        self.delay_ms_max = min(self.delay_ms_max, 50)
