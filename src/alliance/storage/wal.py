"""The consensus write-ahead log on a real disk.

Theory of operation: the log is a directory of segment files ``wal-<first height, 20 digits>.log``.
Names sort in creation order, because a new segment is only ever created with a first height above
the last one's; the name is where the segment starts, while the heights its records really cover
(a future-height message can be logged early) are tracked from the records themselves. Each
record is one frame::

    length (4 bytes, big-endian) || crc (4 bytes, big-endian) || payload (length bytes)

``payload`` is the canonical codec encoding of a ``WalRecord``; ``crc`` is ``zlib.crc32`` (the
IEEE CRC-32, not CRC-32C) over the 4 length bytes followed by the payload, so a damaged length is
caught as surely as a damaged payload. ``length`` is 1..``record_size_bytes_max``.

Writes only ever append to the last segment (``O_APPEND``), all frames of an ``append`` in one
``os.write`` where the kernel takes it whole. ``append(..., sync=True)`` returns only after
``fsync`` of that segment, and of the directory when a segment was created or removed since the
last sync, so the record and every earlier one survive a crash at any later instant. Before the
log moves to a new segment it fsyncs the old one, so an fsync always covers every earlier record
in every file and a crash can only lose a suffix of unsynced records: the synced records are a
prefix of the log, and anything a crash tore lies after them.

Recovery therefore reads segments in order and stops at the first frame that is short, has an
impossible length, fails its checksum or does not decode. It truncates that segment there, removes
any later segments (nothing after a bad frame can be trusted to follow it in order), fsyncs, and
logs one warning line; only then may new records be appended, so a later append never follows
garbage. Recovery runs on the first ``replay``, ``append`` or ``rotate``; every ``replay`` re-checks.

``rotate(h)`` starts a segment for height ``h`` and removes every older segment whose records are
all below ``h - 1``: the previous height's records stay as a margin, though the core only replays
the restart height. Removal is safe at any instant because those records are never replayed.
A segment also closes by itself at the first height boundary after it passes
``segment_bytes_max`` (a soft bound: one height's records stay in one segment). Hard bounds:
``record_size_bytes_max`` per record (``UsageError``), ``segments_max`` files and
``total_bytes_max`` bytes over all segments (``StoreFull``, which ``rotate`` at a later height
relieves). A failed ``fsync`` leaves the durability of earlier writes unknown, so it poisons the log
and raises ``InvariantViolation``: the node must stop rather than vote on an unknown past.

An exclusive ``flock`` on the directory keeps a second process (a second node on the same data
directory) from writing the same log, which could make a validator double-sign. One ``FileWal`` is
used from one thread.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from alliance import codec
from alliance.consensus.wal import WalRecord, record_height
from alliance.errors import DecodeError, InvariantViolation, StoreFull, UsageError
from alliance.ledger.block import MESSAGE_SIZE_BYTES_MAX
from alliance.types import fail_invariant, invariant

log = logging.getLogger("alliance.storage.wal")

FRAME_HEADER = struct.Struct(">II")
FRAME_HEADER_BYTES = FRAME_HEADER.size
# A record holds one consensus message, and a proposal carries a whole block: any message a node
# can send or receive fits, whatever governance sets block_bytes_max to (its ceiling keeps a
# proposal within a message; tests/test_bounds.py). The margin covers the record's own tag.
RECORD_SIZE_BYTES_MAX = MESSAGE_SIZE_BYTES_MAX + 1024
SEGMENT_BYTES_MAX = 64 * 1024 * 1024
SEGMENTS_MAX = 64
TOTAL_BYTES_MAX = 1024 * 1024 * 1024
_LENGTH_FIELD_MAX = 2**32 - 1
_HEIGHT_DIGITS = 20
_SEGMENT_NAME = re.compile(r"wal-(\d{20})\.log")
_NO_RECORDS = 2**64  # a from_height above every Height: a scan that keeps nothing, only checks
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def segment_name(first_height: int) -> str:
    return f"wal-{first_height:0{_HEIGHT_DIGITS}d}.log"


def frame_checksum(length_field: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(length_field))


def encode_frame(payload: bytes) -> bytes:
    length_field = len(payload).to_bytes(4, "big")
    return length_field + frame_checksum(length_field, payload).to_bytes(4, "big") + payload


@dataclass
class _Segment:
    path: Path
    first_height: int
    size_bytes: int
    height_max: int | None  # highest record height in the file; None while it holds no record


@dataclass(frozen=True)
class _Damage:
    segment_index: int
    good_bytes: int  # offset just past the last whole, valid frame of that segment
    reason: str


class FileWal:
    """A checksummed, segmented, append-only WAL of ``WalRecord`` in one directory."""

    def __init__(
        self,
        directory: Path | str,
        *,
        segment_bytes_max: int = SEGMENT_BYTES_MAX,
        record_size_bytes_max: int = RECORD_SIZE_BYTES_MAX,
        segments_max: int = SEGMENTS_MAX,
        total_bytes_max: int = TOTAL_BYTES_MAX,
    ) -> None:
        if not 1 <= record_size_bytes_max <= _LENGTH_FIELD_MAX:
            raise UsageError(
                f"record_size_bytes_max must be 1..{_LENGTH_FIELD_MAX}, not {record_size_bytes_max}"
            )
        if segment_bytes_max < 1 or segments_max < 1:
            raise UsageError("segment_bytes_max and segments_max must be positive")
        if total_bytes_max < FRAME_HEADER_BYTES + record_size_bytes_max:
            raise UsageError(
                f"total_bytes_max ({total_bytes_max}) must hold at least one record of "
                f"record_size_bytes_max ({record_size_bytes_max}) plus its {FRAME_HEADER_BYTES}-byte header"
            )
        self.directory = Path(directory)
        self.segment_bytes_max = segment_bytes_max
        self.record_size_bytes_max = record_size_bytes_max
        self.segments_max = segments_max
        self.total_bytes_max = total_bytes_max
        self._dir_fd = self._open_directory()
        self._segments = self._list_segments()
        self._fd: int | None = None  # write handle of the last segment, opened on first append
        self._unsynced = False  # bytes written to the last segment since its last fsync
        self._dir_unsynced = False  # segments created or removed since the directory's last fsync
        self._recovered = False
        self._failed: str | None = None

    # --- public API ---------------------------------------------------------------------------------

    def append(self, records: Sequence[WalRecord], sync: bool) -> None:
        """Append ``records`` in order; with ``sync``, return only once they (and all before) are durable."""
        self._check_usable()
        if records:
            data = b"".join(self._frame(record) for record in records)
            heights = [record_height(record) for record in records]
            self._recover_once()
            self._make_room(min(heights), len(data))
            self._write(data)
            segment = self._segments[-1]
            top = max(heights)
            segment.height_max = top if segment.height_max is None else max(segment.height_max, top)
        if sync:
            self._sync()

    def replay(self, from_height: int) -> list[WalRecord]:
        """Every whole record of height ``from_height`` or above, in append order; a torn or
        corrupt frame ends the log there and is truncated away (see the module docstring)."""
        self._check_usable()
        records = self._scan(from_height)
        self._recovered = True
        return records

    def rotate(self, height: int) -> None:
        """Start a segment for records of ``height`` and later; drop segments wholly below ``height - 1``."""
        self._check_usable()
        self._recover_once()
        self._prune(height - 1)
        if not self._segments or height > self._segments[-1].first_height:
            self._new_segment(height)
            self._prune(height - 1)

    def close(self) -> None:
        """Sync what is pending (a clean stop loses nothing) and release the directory."""
        if self._dir_fd < 0:
            return
        try:
            if self._failed is None:
                self._sync()
        finally:
            self._close_segment()
            os.close(self._dir_fd)  # also releases the flock
            self._dir_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def segment_paths(self) -> list[Path]:
        return [segment.path for segment in self._segments]

    @property
    def total_bytes(self) -> int:
        return sum(segment.size_bytes for segment in self._segments)

    # --- opening ------------------------------------------------------------------------------------

    def _open_directory(self) -> int:
        created = not self.directory.exists()
        self.directory.mkdir(parents=True, exist_ok=True)
        if created:  # the new directory's own entry must survive a crash too
            _fsync_directory(self.directory.parent)
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(f"WAL directory {self.directory} is in use by another process") from None
        return fd

    def _list_segments(self) -> list[_Segment]:
        segments = []
        for entry in os.scandir(self.directory):
            match = _SEGMENT_NAME.fullmatch(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                path = Path(entry.path)
                segments.append(_Segment(path, int(match.group(1)), entry.stat().st_size, None))
        segments.sort(key=lambda segment: segment.first_height)
        return segments

    # --- reading and recovery -----------------------------------------------------------------------

    def _recover_once(self) -> None:
        if not self._recovered:
            self._scan(_NO_RECORDS)
            self._recovered = True

    def _scan(self, from_height: int) -> list[WalRecord]:
        out: list[WalRecord] = []
        for index, segment in enumerate(self._segments):
            damage = self._scan_segment(index, segment, from_height, out)
            if damage is not None:
                self._cut(damage)
                break
        return out

    def _scan_segment(
        self, index: int, segment: _Segment, from_height: int, out: list[WalRecord]
    ) -> _Damage | None:
        """Read one segment into ``out``; return where and why it stops early, if it does."""
        segment.height_max = None
        offset = 0
        with segment.path.open("rb") as file:
            while True:
                header = file.read(FRAME_HEADER_BYTES)
                if not header:
                    segment.size_bytes = offset
                    return None
                record = self._read_frame(header, file)
                if isinstance(record, str):
                    return _Damage(index, offset, record)
                height = record_height(record)
                segment.height_max = height if segment.height_max is None else max(segment.height_max, height)
                if height >= from_height:
                    out.append(record)
                offset = file.tell()

    def _read_frame(self, header: bytes, file: BinaryIO) -> WalRecord | str:
        """The next record, or why the bytes at this point are not one."""
        if len(header) < FRAME_HEADER_BYTES:
            return f"torn frame header ({len(header)} of {FRAME_HEADER_BYTES} bytes)"
        length, checksum = FRAME_HEADER.unpack(header)
        if not 1 <= length <= self.record_size_bytes_max:
            return f"impossible record length {length} (bound {self.record_size_bytes_max})"
        payload = file.read(length)
        if len(payload) < length:
            return f"torn record ({len(payload)} of {length} payload bytes)"
        if frame_checksum(header[:4], payload) != checksum:
            return "checksum mismatch"
        try:
            record: WalRecord = codec.decode(
                WalRecord,  # type: ignore[arg-type]  # a union alias is a valid msgspec type
                payload,
                size_bytes_max=self.record_size_bytes_max,
            )
        except DecodeError as exc:
            return f"undecodable record: {exc.message}"
        return record

    def _cut(self, damage: _Damage) -> None:
        """Make the log end at ``damage``: truncate that segment, remove the ones after it."""
        self._close_segment()  # the write handle may point at a file about to shrink or go
        segment = self._segments[damage.segment_index]
        dropped_bytes = segment.path.stat().st_size - damage.good_bytes
        later = self._segments[damage.segment_index + 1 :]
        with segment.path.open("r+b") as file:
            file.truncate(damage.good_bytes)
            os.fsync(file.fileno())
        segment.size_bytes = damage.good_bytes
        for other in later:
            dropped_bytes += other.path.stat().st_size
            other.path.unlink()
        del self._segments[damage.segment_index + 1 :]
        os.fsync(self._dir_fd)
        # A torn tail is the expected trace of a crash; a bad frame with whole segments after it
        # means the disk lost data that was synced, which an operator must hear about.
        log.log(
            logging.ERROR if later else logging.WARNING,
            "WAL %s: %s at byte %d; truncated there, dropping %d bytes%s (records after it are lost)",
            segment.path,
            damage.reason,
            damage.good_bytes,
            dropped_bytes,
            f" and {len(later)} later segment(s)" if later else "",
        )

    # --- writing ------------------------------------------------------------------------------------

    def _frame(self, record: WalRecord) -> bytes:
        payload = codec.encode(record)
        if len(payload) > self.record_size_bytes_max:
            raise UsageError(
                f"WAL record {type(record).__name__} is {len(payload)} bytes, over the bound of "
                f"{self.record_size_bytes_max} (record_size_bytes_max)"
            )
        return encode_frame(payload)

    def _make_room(self, first_height: int, size_bytes: int) -> None:
        total = self.total_bytes
        if total + size_bytes > self.total_bytes_max:
            raise StoreFull(
                f"WAL at {self.directory} holds {total} bytes; {size_bytes} more would pass "
                f"total_bytes_max ({self.total_bytes_max}); rotate at a later height to free space"
            )
        last = self._segments[-1] if self._segments else None
        # A full segment closes only at a height boundary, so its name stays its first height.
        past_full = last is not None and last.size_bytes >= self.segment_bytes_max
        if last is None or (past_full and first_height > last.first_height):
            self._new_segment(first_height)

    def _new_segment(self, first_height: int) -> None:
        if len(self._segments) >= self.segments_max:
            raise StoreFull(
                f"WAL at {self.directory} has {len(self._segments)} segments, the bound "
                f"(segments_max); rotate at a later height to remove old ones"
            )
        if self._segments and first_height <= self._segments[-1].first_height:
            fail_invariant(
                f"WAL segment for height {first_height} would not sort after {self._segments[-1].path}"
            )
        self._close_segment()  # syncs it: an fsync of the new segment must cover the old one's records
        path = self.directory / segment_name(first_height)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(path, flags, 0o644)
        self._segments.append(_Segment(path, first_height, 0, None))
        self._dir_unsynced = True

    def _write(self, data: bytes) -> None:
        segment = self._segments[-1]
        if self._fd is None:
            self._fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        fd = self._fd
        self._unsynced = True
        view = memoryview(data)
        try:
            while view:  # a regular file takes the whole buffer unless the disk fills or a signal lands
                written = os.write(fd, view)
                invariant(written > 0, "os.write wrote nothing to the WAL")
                view = view[written:]
        except OSError as exc:
            self._undo_partial_write(fd, segment)
            if exc.errno in _DISK_FULL:
                raise StoreFull(f"disk full writing WAL segment {segment.path}: {exc}") from exc
            raise
        segment.size_bytes += len(data)

    def _undo_partial_write(self, fd: int, segment: _Segment) -> None:
        """A partial frame must not stay in front of later appends."""
        try:
            os.ftruncate(fd, segment.size_bytes)
        except OSError as exc:
            self._failed = f"could not undo a partial write to {segment.path}: {exc}"

    def _sync(self) -> None:
        try:
            if self._fd is not None and self._unsynced:
                os.fsync(self._fd)
                self._unsynced = False
            if self._dir_unsynced:
                os.fsync(self._dir_fd)
                self._dir_unsynced = False
        except OSError as exc:
            # After a failed fsync the kernel may have dropped the dirty pages: what is on disk is
            # unknown, so continuing (or retrying) could vote on a past the disk does not hold.
            self._failed = f"fsync failed: {exc}"
            raise InvariantViolation(f"WAL at {self.directory}: {self._failed}; stop the node") from exc

    def _prune(self, keep_from_height: int) -> None:
        """Remove every segment but the last whose records are all below ``keep_from_height``."""
        keep = []
        for segment in self._segments[:-1]:
            if segment.height_max is None or segment.height_max < keep_from_height:
                segment.path.unlink()
                self._dir_unsynced = True
                log.debug("WAL: removed %s (records up to height %s)", segment.path, segment.height_max)
            else:
                keep.append(segment)
        self._segments = [*keep, *self._segments[-1:]]

    def _close_segment(self) -> None:
        """Close the write handle, never dropping the duty to sync what went through it."""
        if self._fd is not None:
            if self._failed is None:
                self._sync()
            os.close(self._fd)
            self._fd = None

    def _check_usable(self) -> None:
        if self._dir_fd < 0:
            raise UsageError(f"WAL at {self.directory} is closed")
        if self._failed is not None:
            raise InvariantViolation(
                f"WAL at {self.directory} failed earlier ({self._failed}); stop the node"
            )


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
