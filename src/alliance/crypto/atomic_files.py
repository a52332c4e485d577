"""Whole-file writes of key files and certificates: never seen half written, never redirected.

Theory of operation
-------------------
A file is written as ``path.tmp`` and renamed over ``path``, so a reader finds the old content or
the new, never a part. Nothing already at ``path.tmp`` is trusted: it may be a file left by a
crash, perhaps with wide permissions, or a symbolic link another local user planted to make the
secret land in a file of theirs. So that entry is removed first (``unlink`` removes a link itself,
never its target; a directory there is refused), and the temporary file is created anew with
``O_CREAT | O_EXCL | O_NOFOLLOW``: always a new file of this process, never an existing one nor
the target of a link. If something appears at that name in between, the write is refused, not
retried. The mode is set on the open descriptor (``fchmod``: the umask may have narrowed it)
before the first byte is written, so a secret is never in a file others can read. The data is
fsynced before the rename, and the directory after it, so after a crash ``path`` holds the old
content or the new, whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from alliance.errors import KeyFileError

_CREATE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)


def write_file_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data``, with permission bits exactly ``mode`` from the start.

    Raises ``KeyFileError`` when the temporary name ``path.tmp`` is a directory or is taken again
    while this write runs; other ``OSError``s (no space, no permission) pass through."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    _remove_leftover(tmp)
    try:
        fd = os.open(tmp, _CREATE_FLAGS, mode)
    except FileExistsError:
        raise KeyFileError(f"{tmp} appeared while {path} was being written; another writer?") from None
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _remove_leftover(tmp: Path) -> None:
    try:
        leftover = os.lstat(tmp)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(leftover.st_mode):
        raise KeyFileError(f"{tmp} is a directory; remove it to write {tmp.name.removesuffix('.tmp')}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a stale file, or a link: the link goes, what it points to stays


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
