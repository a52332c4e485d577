"""A simulated WAL disk: records survive a crash only once synced, and a torn tail is possible.

Records are stored encoded, as on a real disk. ``sync`` marks everything written so far durable;
a WAL built with ``honours_sync=False`` (the ``wal-no-sync`` broken variant: a host that ignores
``must_sync``) never does, so a crash that loses unsynced writes loses all of it.
``crash`` drops what was not synced (when the options say unsynced writes are lost) and may leave
a torn fragment of the next record, which replay must detect and ignore, as a checksummed WAL
reader does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from alliance import codec
from alliance.consensus.wal import WalRecord, record_height
from alliance.errors import DecodeError


class SimWal:
    def __init__(self, *, honours_sync: bool = True) -> None:
        self._records: list[bytes] = []
        self._synced = 0
        self.torn_tails = 0
        self.honours_sync = honours_sync

    def append(self, records: Sequence[WalRecord], sync: bool) -> None:
        self._records.extend(codec.encode(r) for r in records)
        if sync and self.honours_sync:
            self._synced = len(self._records)

    def crash(self, rng: random.Random, lose_unsynced: bool, torn: float) -> None:
        if not lose_unsynced:
            self._synced = len(self._records)
            return
        unsynced = self._records[self._synced :]
        del self._records[self._synced :]
        if unsynced and rng.random() < torn:
            fragment = unsynced[0]
            self._records.append(fragment[: rng.randrange(len(fragment))])
            self.torn_tails += 1

    def replay(self, from_height: int = 0) -> list[WalRecord]:
        """Records of heights from ``from_height`` on (all of them by default), as ``FileWal``."""
        out: list[WalRecord] = []
        for i, data in enumerate(self._records):
            try:
                out.append(codec.decode(WalRecord, data))  # type: ignore[arg-type]
            except DecodeError:
                # A torn tail: the reader stops at the first bad record and truncates there.
                del self._records[i:]
                self._synced = min(self._synced, len(self._records))
                break
        return [r for r in out if record_height(r) >= from_height]

    def rotate(self, height: int) -> None:
        """``FileWal.rotate``: records of heights below ``height`` are obsolete."""
        self.truncate_below(height)

    def truncate_below(self, height: int) -> None:
        """Drop records of heights below ``height`` (a real WAL rotates files at heights)."""
        records = self.replay()
        keep = [i for i, r in enumerate(records) if record_height(r) >= height]
        self._synced = sum(1 for i in keep if i < self._synced)
        self._records = [self._records[i] for i in keep]

    def __len__(self) -> int:
        return len(self._records)
