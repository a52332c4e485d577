"""The file WAL: records round-trip, a torn or corrupt tail is cut and reported, rotation keeps the
previous height, bounds hold, and a synced record survives SIGKILL at any instant (the runtime's
half of S3: an own vote is on disk before it leaves, so a restarted node never signs another)."""

from __future__ import annotations

import errno
import logging
import os
import random
import signal
import stat
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from wal_crash_child import (
    KEYS,
    ROTATE_EVERY_HEIGHTS,
    h32,
    make_record,
    signed_proposal,
    signed_vote,
)

from alliance import codec
from alliance.consensus.wal import (
    WalOwnMessage,
    WalPeerMessage,
    WalRecord,
    WalTimeout,
    WalVerdict,
    record_height,
)
from alliance.errors import InvariantViolation, StoreFull, UsageError
from alliance.ledger.block import VoteType
from alliance.storage.wal import FRAME_HEADER_BYTES, FileWal, encode_frame, segment_name

CHILD = Path(__file__).with_name("wal_crash_child.py")
LOGGER = "alliance.storage.wal"


def frame_size(record: WalRecord) -> int:
    return FRAME_HEADER_BYTES + len(codec.encode(record))


def only_segment(directory: Path) -> Path:
    (path,) = directory.glob("wal-*.log")
    return path


def wal_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


def names(wal: FileWal) -> list[str]:
    return [p.name for p in wal.segment_paths]


# --- format and round trip --------------------------------------------------------------------------


def test_every_record_type_round_trips_through_a_reopen(tmp_path: Path) -> None:
    key = KEYS[0]
    proposal = signed_proposal(key, 7, 1, [b"tx-a", b"tx-b" * 50])
    prevote = signed_vote(key, VoteType.PREVOTE, 7, 1, proposal.block.hash())
    nil_precommit = signed_vote(KEYS[1], VoteType.PRECOMMIT, 7, 1, b"")
    records: list[WalRecord] = [
        WalPeerMessage(proposal),
        WalPeerMessage(nil_precommit),
        WalVerdict(7, proposal.block.hash(), True),
        WalOwnMessage(prevote),
        WalTimeout(7, 1, 2),
        WalOwnMessage(proposal),
        WalVerdict(8, h32("other"), False),
        WalTimeout(8, 0, 1),
    ]
    with FileWal(tmp_path) as wal:
        wal.append(records[:3], sync=False)
        wal.append(records[3:], sync=True)
        assert wal.replay(0) == records
    with FileWal(tmp_path) as wal:
        assert wal.replay(0) == records
        assert wal.replay(8) == records[6:]
        assert wal.total_bytes == sum(frame_size(r) for r in records)
    assert names(FileWal(tmp_path)) == [segment_name(7)]


def test_frame_layout_is_length_crc32_payload(tmp_path: Path) -> None:
    record = WalTimeout(3, 0, 1)
    with FileWal(tmp_path) as wal:
        wal.append([record], sync=True)
    data = only_segment(tmp_path).read_bytes()
    payload = codec.encode(record)
    assert data[:4] == len(payload).to_bytes(4, "big")
    assert data[4:8] == zlib.crc32(data[:4] + payload).to_bytes(4, "big")
    assert data[8:] == payload
    assert data == encode_frame(payload)
    assert only_segment(tmp_path).name == "wal-00000000000000000003.log"


def test_sync_fsyncs_the_file_and_the_directory_after_a_new_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    with FileWal(tmp_path / "wal") as wal:
        monkeypatch.setattr(os, "fsync", spy)
        wal.append([make_record(1)], sync=False)
        assert synced == []
        wal.append([make_record(1)], sync=True)
        assert synced == ["file", "dir"]  # the new segment's name must be durable too
        synced.clear()
        wal.append([make_record(1)], sync=True)
        assert synced == ["file"]
        synced.clear()
        wal.append([make_record(1)], sync=False)
        wal.rotate(2)  # the old segment is synced before records go to the new one
        assert synced == ["file"]


# --- torn and corrupt tails ---------------------------------------------------------------------------


def test_a_tail_torn_at_every_byte_offset_is_cut_and_appending_continues(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    earlier = [make_record(0), make_record(1), make_record(3)]
    last = make_record(4)
    with FileWal(tmp_path / "whole") as wal:
        wal.append([*earlier, last], sync=True)
    whole = only_segment(tmp_path / "whole").read_bytes()
    start = len(whole) - frame_size(last)
    assert start == sum(frame_size(r) for r in earlier)
    after = make_record(5)
    for cut in range(start, len(whole)):
        directory = tmp_path / f"cut{cut}"
        directory.mkdir()
        (directory / segment_name(0)).write_bytes(whole[:cut])
        caplog.clear()
        with FileWal(directory) as wal:
            assert wal.replay(0) == earlier
            assert len(wal_warnings(caplog)) == (cut > start)
            assert only_segment(directory).stat().st_size == start
            wal.append([after], sync=True)
        with caplog.at_level(logging.WARNING, logger=LOGGER), FileWal(directory) as wal:
            caplog.clear()
            assert wal.replay(0) == [*earlier, after]
            assert wal_warnings(caplog) == []


def test_append_before_replay_still_cuts_a_torn_tail_first(tmp_path: Path) -> None:
    records = [make_record(i) for i in range(3)]
    with FileWal(tmp_path) as wal:
        wal.append(records, sync=True)
    path = only_segment(tmp_path)
    path.write_bytes(path.read_bytes()[:-5])
    with FileWal(tmp_path) as wal:
        wal.append([make_record(9)], sync=True)
    with FileWal(tmp_path) as wal:
        assert wal.replay(0) == [*records[:2], make_record(9)]


@pytest.mark.parametrize(
    ("where", "reason"),
    [("payload", "checksum mismatch"), ("crc", "checksum mismatch"), ("length", "record length")],
)
def test_a_corrupt_byte_in_the_middle_ends_the_log_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str, reason: str
) -> None:
    records = [make_record(i) for i in range(6)]
    with FileWal(tmp_path) as wal:
        wal.append(records, sync=True)
    path = only_segment(tmp_path)
    data = bytearray(path.read_bytes())
    bad_start = sum(frame_size(r) for r in records[:3])
    offset = {
        "payload": bad_start + 8 + frame_size(records[3]) // 3,
        "crc": bad_start + 5,
        "length": bad_start,
    }
    data[offset[where]] ^= 0x80
    path.write_bytes(bytes(data))
    caplog.clear()
    with FileWal(tmp_path) as wal:
        assert wal.replay(0) == records[:3]
        (line,) = wal_warnings(caplog)
        assert reason in line and str(path) in line and f"at byte {bad_start}" in line
        assert path.stat().st_size == bad_start
        wal.append([make_record(10)], sync=True)
        assert wal.replay(0) == [*records[:3], make_record(10)]


def test_a_frame_with_a_good_checksum_that_does_not_decode_ends_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_record(1)
    (tmp_path / segment_name(1)).write_bytes(encode_frame(codec.encode(good)) + encode_frame(b"\xc1junk"))
    with FileWal(tmp_path) as wal:
        assert wal.replay(0) == [good]
    (line,) = wal_warnings(caplog)
    assert "undecodable record" in line


def test_corruption_in_an_older_segment_drops_the_segments_after_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FileWal(tmp_path) as wal:
        wal.rotate(1)
        wal.append([make_record(1), make_record(12)], sync=True)  # 12 keeps this segment alive
        for height in (2, 3):
            wal.rotate(height)
            wal.append([make_record(height)], sync=True)
        assert names(wal) == [segment_name(1), segment_name(2), segment_name(3)]
        first = wal.segment_paths[0]
    data = bytearray(first.read_bytes())
    data[-3] ^= 0x01  # inside record 12
    first.write_bytes(bytes(data))
    with FileWal(tmp_path) as wal:
        assert wal.replay(0) == [make_record(1)]
        assert names(wal) == [segment_name(1)]
        (line,) = wal_warnings(caplog)
        assert "2 later segment(s)" in line
        assert caplog.records[-1].levelno == logging.ERROR  # synced data was lost: not a torn tail
        wal.append([make_record(4)], sync=True)  # continues in the cut segment, after good records
        assert wal.replay(0) == [make_record(1), make_record(4)]


# --- rotation -----------------------------------------------------------------------------------------


def test_rotation_keeps_the_previous_height_and_deletes_older_segments(tmp_path: Path) -> None:
    with FileWal(tmp_path) as wal:
        for height in (1, 2):
            wal.rotate(height)
            wal.append([make_record(height)], sync=True)
        assert names(wal) == [segment_name(1), segment_name(2)]
        wal.rotate(3)  # heights below 2 go; 2 stays as the safety margin
        assert names(wal) == [segment_name(2), segment_name(3)]
        wal.append([make_record(3)], sync=True)
        wal.rotate(4)
        assert names(wal) == [segment_name(3), segment_name(4)]
        assert sorted(p.name for p in tmp_path.iterdir()) == names(wal)
        wal.rotate(4)  # the same height again (as after a restart) changes nothing
        assert names(wal) == [segment_name(3), segment_name(4)]
        wal.append([make_record(4)], sync=True)
        assert wal.replay(0) == [make_record(3), make_record(4)]
    with FileWal(tmp_path) as wal:
        wal.rotate(4)  # a restarted node rotating to its height keeps appending to that segment
        wal.append([make_record(4)], sync=True)
        assert names(wal) == [segment_name(3), segment_name(4)]
        assert wal.replay(4) == [make_record(4), make_record(4)]
        wal.rotate(6)
        assert names(wal) == [segment_name(6)]
        assert wal.replay(0) == []


def test_a_segment_holding_a_future_height_record_is_kept_until_that_height_is_old(tmp_path: Path) -> None:
    with FileWal(tmp_path) as wal:
        wal.rotate(1)
        wal.append([make_record(1), make_record(5)], sync=True)  # a message for a later height
        wal.rotate(2)
        wal.append([make_record(2)], sync=True)
        wal.rotate(4)
        assert names(wal) == [segment_name(1), segment_name(4)]  # 2's segment went, 1's holds 5
        wal.rotate(7)
        assert names(wal) == [segment_name(7)]


def test_a_full_segment_rolls_over_only_at_a_height_boundary(tmp_path: Path) -> None:
    with FileWal(tmp_path, segment_bytes_max=1000) as wal:
        for _ in range(10):
            wal.append([make_record(1)], sync=False)
        assert names(wal) == [segment_name(1)]  # one height stays in one segment
        wal.append([make_record(2)], sync=True)
        assert names(wal) == [segment_name(1), segment_name(2)]
        assert wal.replay(0) == [make_record(1)] * 10 + [make_record(2)]


def test_rotate_with_nothing_written_starts_an_empty_segment(tmp_path: Path) -> None:
    with FileWal(tmp_path) as wal:
        wal.rotate(5)
        wal.rotate(9)  # the empty segment of 5 is removed
        assert names(wal) == [segment_name(9)]
    with FileWal(tmp_path) as wal:
        assert wal.replay(0) == []


# --- bounds and misuse --------------------------------------------------------------------------------


def test_a_record_over_the_size_bound_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    big = WalOwnMessage(signed_proposal(KEYS[0], 1, 0, [b"x" * 5000]))
    with FileWal(tmp_path, record_size_bytes_max=4096) as wal:
        with pytest.raises(UsageError, match=r"WalOwnMessage is \d+ bytes, over the bound of 4096"):
            wal.append([make_record(1), big], sync=True)
        assert wal.total_bytes == 0
        assert wal.replay(0) == []


def test_the_total_bytes_bound_raises_store_full_and_rotation_frees_it(tmp_path: Path) -> None:
    record = make_record(1)
    size = frame_size(record)
    with FileWal(tmp_path, record_size_bytes_max=size, total_bytes_max=3 * size) as wal:
        wal.append([record, record, record], sync=True)
        with pytest.raises(StoreFull, match="total_bytes_max"):
            wal.append([make_record(2)], sync=True)
        wal.rotate(3)
        wal.append([make_record(3)], sync=True)
        assert wal.replay(0) == [make_record(3)]


def test_the_segment_count_bound_raises_store_full(tmp_path: Path) -> None:
    with FileWal(tmp_path, segments_max=2) as wal:
        wal.rotate(1)
        wal.append([make_record(9)], sync=True)  # keeps segment 1 alive until height 10
        wal.rotate(2)
        with pytest.raises(StoreFull, match="segments_max"):
            wal.rotate(3)
        assert names(wal) == [segment_name(1), segment_name(2)]


def test_a_failed_fsync_poisons_the_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    wal = FileWal(tmp_path)
    wal.append([make_record(1)], sync=False)
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(InvariantViolation, match="fsync failed"):
        wal.append([make_record(1)], sync=True)
    with pytest.raises(InvariantViolation, match="stop the node"):  # never retried: pages may be gone
        wal.append([make_record(2)], sync=True)
    wal.close()  # still releases the directory


def test_a_full_disk_mid_write_leaves_no_partial_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        if len(memoryview(data)) > 100:
            return real_write(fd, memoryview(data)[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    with FileWal(tmp_path) as wal:
        wal.append([make_record(1)], sync=True)
        monkeypatch.setattr(os, "write", half_then_full)
        with pytest.raises(StoreFull, match="disk full"):
            wal.append([make_record(0), make_record(2)], sync=True)
        monkeypatch.undo()
        wal.append([make_record(3)], sync=True)
        assert wal.replay(0) == [make_record(1), make_record(3)]


def test_a_second_process_cannot_open_the_same_wal(tmp_path: Path) -> None:
    with FileWal(tmp_path):
        code = f"from alliance.storage.wal import FileWal; FileWal({str(tmp_path)!r})"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert result.returncode != 0 and "in use by another process" in result.stderr
    FileWal(tmp_path).close()  # released on close


def test_a_closed_wal_refuses_work_and_closing_twice_is_fine(tmp_path: Path) -> None:
    wal = FileWal(tmp_path)
    wal.close()
    wal.close()
    with pytest.raises(UsageError, match="closed"):
        wal.append([make_record(1)], sync=True)


def test_unsensible_bounds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        FileWal(tmp_path, record_size_bytes_max=2**32)
    with pytest.raises(UsageError):
        FileWal(tmp_path, record_size_bytes_max=1000, total_bytes_max=1000)


# --- crash ----------------------------------------------------------------------------------------------


def test_no_synced_record_is_lost_to_sigkill_at_random_moments(tmp_path: Path) -> None:
    """A child appends (unsynced, then synced batches) and reports each synced count; the parent
    kills it at random moments: while starting and recovering, and in the middle of appends. Every
    reported record must come back, in order, unaltered; only rotation may remove old heights."""
    rng = random.Random(20240607)
    directory = tmp_path / "wal"
    reported = 0
    kills = 12
    for attempt in range(kills):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(directory)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert child.stdout is not None
        if attempt % 3 == 0:
            time.sleep(rng.uniform(0.0, 0.4))  # anywhere, startup and recovery included
        else:
            first = child.stdout.readline()  # in its append loop
            assert first, child.communicate()[1].decode()
            reported = max(reported, int(first))
            time.sleep(rng.uniform(0.0, 0.08))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate()
        assert child.returncode == -signal.SIGKILL, err.decode()
        lines = out.decode().split("\n")[:-1]  # the text after the last newline may be cut off
        reported = max([reported, *(int(line) for line in lines)])
        with FileWal(directory) as wal:
            records = wal.replay(0)
        start = record_height(records[0]) if records else 0  # a kill during startup may precede any
        count = start + len(records)
        assert count >= reported, f"kill {attempt}: {count} records on disk, {reported} reported synced"
        # Rotation at h removes heights below h - 1, and rotates only at multiples of 25 it reached.
        assert start <= max(0, (count // ROTATE_EVERY_HEIGHTS) * ROTATE_EVERY_HEIGHTS - 1)
        assert records == [make_record(seq) for seq in range(start, count)], f"kill {attempt}"
    assert reported > 50  # the child really got going
