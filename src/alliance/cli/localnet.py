"""A local alliance's node processes: ``alliance up``, ``alliance down`` and ``alliance status``.

Theory of operation: every node of an alliance directory runs as its own background process,
``python -m alliance.cli node start --home HOME``, started in a new session (so a terminal's Ctrl-C
does not reach it and ``down`` can signal its whole process group), with standard input from
``/dev/null`` and its output appended to ``HOME/node.log``. Its pid goes to ``HOME/node.pid``.

Whether a node runs is decided from the pid file and the process table together: the pid must name
a live process whose command line names this home. A stale pid file (the node crashed, or the
machine restarted and the pid now belongs to something else) therefore counts as "not running",
and ``up`` starts that node again while leaving live ones alone: that is what makes ``up``
idempotent and lets it heal a crashed node.

``up`` then waits, bounded, until every node answers ``GET /v1/status`` and some node has committed
a block. A node process that exits while ``up`` waits fails at once with the tail of its log.
``down`` sends SIGTERM (the node closes its store and WAL cleanly), waits, and sends SIGKILL to
the process group of a node still there after the grace period.

``status`` asks every node at once (threads, each with a short timeout) so one hung node costs one
timeout, not one per node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance.crypto.keys import load_node_key
from alliance.errors import AllianceError, OperationalError
from alliance.node.bootstrap import AllianceLayout, NodeEntry, alliance_file, create_alliance, load_alliance
from alliance.node.config import NodeHome
from alliance.sdk import Client, Status

UP_WAIT_S = 60.0
DOWN_GRACE_S = 10.0
KILL_WAIT_S = 5.0
POLL_INTERVAL_S = 0.25
STATUS_TIMEOUT_S = 2.0
LOG_TAIL_LINES = 5
LOG_TAIL_BYTES = 8192
DEFAULT_NODES = 4


@dataclass(frozen=True, slots=True)
class NodeProcess:
    name: str
    pid: int
    api: str
    p2p: str
    started: bool  # False: it was running already and was left alone


# --- processes -------------------------------------------------------------------------------------


def _home_arg(home: NodeHome) -> str:
    return str(home.root.resolve())


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is a child of this process that has exited (tests run ``up`` in-process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_node_process(pid: int, home: NodeHome) -> bool:
    """True when ``pid`` is a live process whose command line names ``home``."""
    _reap(pid)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _home_arg(home) in raw.decode("utf-8", "replace").split("\0")  # empty for a zombie


def proc_stat_fields(pid: int) -> list[bytes]:
    """The fields of Linux's ``/proc/PID/stat`` after "pid (name)", from "state" (field 3 of
    proc(5)) on; ``OSError`` when there is no such process."""
    data = Path(f"/proc/{pid}/stat").read_bytes()
    return data[data.rindex(b")") + 2 :].split()


def is_alive(pid: int) -> bool:
    """True while ``pid`` is a process that has not exited (a zombie has exited)."""
    _reap(pid)
    try:
        fields = proc_stat_fields(pid)
    except (OSError, ValueError):
        return False
    return fields[:1] != [b"Z"]


def read_pid(home: NodeHome) -> int | None:
    try:
        text = home.pid_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def running_pid(home: NodeHome) -> int | None:
    """The pid of this home's node when it runs, else None."""
    pid = read_pid(home)
    return pid if pid is not None and is_node_process(pid, home) else None


def start_node(home: NodeHome) -> int:
    """Start ``home``'s node in the background; return its pid (also written to the pid file)."""
    argv = [sys.executable, "-m", "alliance.cli", "node", "start", "--home", _home_arg(home)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(home.log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # posix_spawn rather than subprocess: the node outlives this process, and a Popen object that
    # is never waited for warns when it is collected.
    pid = os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)
    tmp = home.pid_path.with_name(home.pid_path.name + ".tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(home.pid_path)
    return pid


def log_tail(home: NodeHome, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a node's log, on one line (errors are one line)."""
    try:
        with home.log_path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - LOG_TAIL_BYTES))
            text = file.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail) if tail else "(empty log)"


# --- probes ----------------------------------------------------------------------------------------


def probe(url: str, timeout_s: float = STATUS_TIMEOUT_S) -> Status | None:
    """The node's status, or None when it does not answer."""
    try:
        with Client(url, timeout_s=timeout_s) as client:
            return client.status()
    except AllianceError:
        return None


def probe_all(urls: list[str], timeout_s: float = STATUS_TIMEOUT_S) -> list[Status | None]:
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(lambda url: probe(url, timeout_s), urls))


# --- up, down, status ------------------------------------------------------------------------------


def up(directory: Path | str, nodes: int = DEFAULT_NODES, wait_s: float = UP_WAIT_S) -> list[NodeProcess]:
    """Initialise ``directory`` if it holds no alliance, start every node not running, wait for them."""
    directory = Path(directory)
    layout = (
        load_alliance(directory) if alliance_file(directory).exists() else create_alliance(directory, nodes)
    )
    processes = []
    for entry in layout.nodes:
        home = layout.home(entry)
        pid = running_pid(home)
        started = pid is None
        if pid is None:
            pid = start_node(home)
        processes.append(
            NodeProcess(entry.name, pid, layout.api_url(entry), layout.p2p_address(entry), started)
        )
    _wait_until_up(layout, processes, wait_s)
    return processes


def _wait_until_up(layout: AllianceLayout, processes: list[NodeProcess], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    entries = {e.name: e for e in layout.nodes}
    while True:
        for process in processes:
            home = layout.home(entries[process.name])
            # Not ``is_node_process``: between fork and exec a child still shows our command line.
            if not is_alive(process.pid):
                raise OperationalError(
                    f"node {process.name} (pid {process.pid}) exited during start-up; "
                    f"end of {home.log_path}: {log_tail(home)}"
                )
        answers = probe_all([p.api for p in processes], timeout_s=1.0)
        silent = [p for p, a in zip(processes, answers, strict=True) if a is None]
        height = max((a.height for a in answers if a is not None), default=0)
        if not silent and height >= 1:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    if silent:
        first = silent[0]
        home = layout.home(entries[first.name])
        names = ", ".join(p.name for p in silent)
        raise OperationalError(
            f"no answer from {names} within {wait_s:g} s ({first.name} at {first.api}); "
            f"end of {home.log_path}: {log_tail(home)}"
        )
    home = layout.home(layout.nodes[0])
    raise OperationalError(
        f"every node answers but no block was committed within {wait_s:g} s; "
        f"end of {home.log_path}: {log_tail(home)}"
    )


def down(directory: Path | str, grace_s: float = DOWN_GRACE_S) -> list[str]:
    """Stop every running node of the alliance; return the names of those that were running."""
    layout = load_alliance(directory)
    running: dict[str, tuple[int, NodeHome]] = {}
    for entry in layout.nodes:
        home = layout.home(entry)
        pid = running_pid(home)
        if pid is not None:
            running[entry.name] = (pid, home)
            _signal(pid, signal.SIGTERM)
    left = _wait_exit(running, grace_s)
    for pid, _home in left.values():
        _signal_group(pid, signal.SIGKILL)  # the node and any worker processes it started
    left = _wait_exit(left, KILL_WAIT_S)
    if left:
        raise OperationalError(f"could not stop {', '.join(sorted(left))} even with SIGKILL")
    for entry in layout.nodes:
        layout.home(entry).pid_path.unlink(missing_ok=True)
    return sorted(running)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # started with setsid: the node leads its own group
    except (ProcessLookupError, PermissionError):
        _signal(pid, signum)


def _wait_exit(
    processes: dict[str, tuple[int, NodeHome]], timeout_s: float
) -> dict[str, tuple[int, NodeHome]]:
    deadline = time.monotonic() + timeout_s
    left = dict(processes)
    while left:
        left = {name: (pid, home) for name, (pid, home) in left.items() if is_node_process(pid, home)}
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S / 2)
    return left


def status(directory: Path | str, timeout_s: float = STATUS_TIMEOUT_S) -> dict[str, Any]:
    """The alliance's nodes and validators, in the shape of ``alliance status --json``."""
    layout = load_alliance(directory)
    answers = probe_all([layout.api_url(e) for e in layout.nodes], timeout_s)
    names = _node_names(layout, answers)
    nodes = []
    for entry, answer in zip(layout.nodes, answers, strict=True):
        pid = running_pid(layout.home(entry))
        nodes.append(_node_row(layout, entry, answer, pid))
    return _summary(layout.chain_id, nodes, answers, names)


def status_of_api(url: str, timeout_s: float = STATUS_TIMEOUT_S) -> dict[str, Any]:
    """``status`` for one node given by its API URL (``alliance status --api URL``)."""
    with Client(url, timeout_s=timeout_s) as client:
        answer = client.status()
    row = {
        "name": answer.node,
        "pid": None,
        "api": url.rstrip("/"),
        "p2p": None,
        "height": answer.height,
        "app_hash": answer.app_hash.hex(),
        "running": True,
        "validator": answer.validator,
    }
    return _summary(answer.chain_id, [row], [answer], {})


def _node_row(
    layout: AllianceLayout, entry: NodeEntry, answer: Status | None, pid: int | None
) -> dict[str, Any]:
    return {
        "name": entry.name,
        "pid": pid,
        "api": layout.api_url(entry),
        "p2p": layout.p2p_address(entry),
        "height": answer.height if answer is not None else None,
        "app_hash": answer.app_hash.hex() if answer is not None else None,
        # A live process that does not answer (starting, or stuck) still runs.
        "running": answer is not None or pid is not None,
        "validator": answer.validator if answer is not None else entry.validator,
    }


def _node_names(layout: AllianceLayout, answers: list[Status | None]) -> dict[bytes, str]:
    names: dict[bytes, str] = {a.node_id: a.node for a in answers if a is not None}
    if len(names) < len(layout.nodes):
        names.update(_local_node_ids(layout))
    return names


def _local_node_ids(layout: AllianceLayout) -> dict[bytes, str]:
    found = {}
    for entry in layout.nodes:
        try:
            found[load_node_key(layout.home(entry).node_key_path).node_id] = entry.name
        except AllianceError:
            continue
    return found


def _summary(
    chain_id: str, nodes: list[dict[str, Any]], answers: list[Status | None], names: dict[bytes, str]
) -> dict[str, Any]:
    answering = [a for a in answers if a is not None]
    heights = [a.height for a in answering]
    validators = []
    if answering:
        # The highest node's view of the set: the others may not have applied a change yet.
        best = max(answering, key=lambda a: a.height)
        validators = [
            {"node": v.name or names.get(v.node_id, v.node_id.hex()), "power": v.power}
            for v in best.validators
        ]
    return {
        "chain_id": chain_id,
        "height": max(heights) if heights else None,
        "nodes": nodes,
        "validators": validators,
    }


def open_client(directory: Path, api: str | None) -> Client:
    """A client of ``api``, or of the first node of the alliance in ``directory`` that answers."""
    if api:
        return Client(api)
    layout = load_alliance(directory)
    for entry in layout.nodes:
        url = layout.api_url(entry)
        if probe(url, timeout_s=1.0) is not None:
            return Client(url)
    raise OperationalError(
        f"no node of the alliance in {directory} answers (is it up? 'alliance up --dir {directory}')"
    )
