"""``alliance.cli.localnet`` without running nodes: which pid files count as a running node."""

from __future__ import annotations

import os
from pathlib import Path

from alliance.cli import localnet
from alliance.node.bootstrap import create_alliance

PID_NEVER_USED = 2**22 + 7  # above Linux's pid_max limit (2**22): no process can have it


def test_stale_and_foreign_pid_files_are_not_running(tmp_path: Path) -> None:
    layout = create_alliance(tmp_path, 2)
    dead, foreign = (layout.home(n) for n in layout.nodes)
    dead.pid_path.write_text(f"{PID_NEVER_USED}\n")
    foreign.pid_path.write_text(f"{os.getpid()}\n")  # alive, but not a node of this home
    assert localnet.running_pid(dead) is None
    assert localnet.running_pid(foreign) is None
    report = localnet.status(tmp_path, timeout_s=0.5)
    assert [(n["running"], n["pid"]) for n in report["nodes"]] == [(False, None), (False, None)]
    assert localnet.down(tmp_path) == []
    assert not dead.pid_path.exists() and not foreign.pid_path.exists()


def test_garbage_pid_file(tmp_path: Path) -> None:
    layout = create_alliance(tmp_path, 1)
    home = layout.home(layout.nodes[0])
    home.pid_path.write_text("not a pid")
    assert localnet.read_pid(home) is None
    assert localnet.running_pid(home) is None


def test_log_tail_is_one_line(tmp_path: Path) -> None:
    layout = create_alliance(tmp_path, 1)
    home = layout.home(layout.nodes[0])
    assert localnet.log_tail(home) == "(no log)"
    home.log_path.write_text("".join(f"line {i}\n" for i in range(20)))
    assert localnet.log_tail(home, 3) == "line 17 | line 18 | line 19"
