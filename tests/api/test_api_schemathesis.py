"""schemathesis against a running node: the OpenAPI document is exact (issue 16, "one wire schema").

``st run URL/openapi.json --checks all`` generates requests from the document (schema-valid ones,
and ones that break it) and checks every answer: a schema-valid request is not refused, a
schema-breaking one is, every status and body is the documented one, ``Allow`` names exactly the
documented methods. Before the wire schema it reported five schema-valid requests refused with
400 and a wrong ``Allow`` header. The refusals no schema can express (a transaction the node does
not accept, a wait that ran out, a pruned height) are declared in the checkout's
``schemathesis.toml``, which this run reads as a developer's would.

The node runs on a loop in a thread of its own; schemathesis runs as its command line in a
subprocess, with bounded examples and deterministic generation, so CI sees the same run each time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import subprocess
import sys
from pathlib import Path

import pytest

from alliance.testing.nodes import api_node

CHECKOUT = Path(__file__).resolve().parents[2]
EXAMPLES = 12
RUN_BOUND_S = 240
START_BOUND_S = 60


ST = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"  # the `st` script


def schemathesis_run(url: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``st run`` against ``url``, in ``workdir`` (where it keeps its cache, not in the checkout)."""
    command = [
        sys.executable, "-c", ST,
        "--config-file", str(CHECKOUT / "schemathesis.toml"),
        "run", f"{url}/openapi.json",
        "--checks", "all",
        "--max-examples", str(EXAMPLES),
        "--generation-deterministic",
        "--seed", "16",
        "--workers", "1",
        "--no-color",
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_BOUND_S, check=False, cwd=workdir
    )


@pytest.mark.timeout(RUN_BOUND_S + START_BOUND_S)
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    started: queue.Queue[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with api_node(tmp_path) as api:
            started.put((api.url, asyncio.get_running_loop(), stop))
            await stop.wait()

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="schemathesis-node") as pool:
        node = pool.submit(asyncio.run, serve())
        url, loop, stop = started.get(timeout=START_BOUND_S)
        try:
            done = schemathesis_run(url, tmp_path)
        finally:
            loop.call_soon_threadsafe(stop.set)
        node.result(timeout=START_BOUND_S)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert " passed" in done.stdout and "failure" not in done.stdout.lower(), report
