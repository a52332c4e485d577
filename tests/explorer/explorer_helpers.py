"""A real alliance for the browser tests, run in a thread, and the browser they drive.

The nodes run on their own event loop in a background thread (Playwright's synchronous API runs a
loop of its own in the test's thread, and the two must not share one). Tests talk to the nodes over
HTTP like any client, and ask the loop's thread for the rare thing no route serves (a block's raw
transactions, to build an inclusion proof as a node would).

Chromium is Debian's (``/usr/bin/chromium``): Playwright's own browser download cannot work here.
When it is missing, CI (``CI=true``) installs it with apt-get; elsewhere the tests fail with the
command to run. They never skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx

from alliance.explorer import api_service
from alliance.node.bootstrap import load_alliance
from alliance.node.service import Node
from alliance.testing.nodes import alliance_homes, running_nodes

T = TypeVar("T")

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APT_TIMEOUT_S = 900
START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 30.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS_DIR = Path(
    os.environ.get("ALLIANCE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "build" / "screenshots")
)

GOLD_RIGHTS = "One GOLD entitles its holder to one gram of gold from the vault of org0, on request."


@dataclass(frozen=True)
class Seed:
    transfer_hash: str
    transfer_height: int
    bob: str  # checksummed, as the API gives it
    mallory: str
    passed_proposal: int
    open_proposal: int
    symbol: str  # a fungible pass scheme bob holds
    settlement: str  # a settlement scheme with one deposit
    contract: str  # the example token contract, live
    contract_proposal: int
    contract_call_hash: str  # token.mint to bob


class Watched:
    """A page, and what it asked for and threw."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: None if is_loopback(r.url) else self.outside.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def check(self) -> None:
        assert not self.outside, f"the explorer fetched from outside 127.0.0.1: {self.outside[:3]}"
        assert not self.errors, f"script errors in the page: {self.errors[:3]}"


def find_chromium() -> str | None:
    configured = os.environ.get("ALLIANCE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install_chromium() -> str:
    """apt-get update and install Debian's chromium (CI only); the output when it fails."""
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    out = []
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(
                prefix + argv, capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(argv)}: {exc}"
        out.append(done.stdout[-2000:] + done.stderr[-2000:])
        if done.returncode != 0:
            return f"{' '.join(argv)} exited with {done.returncode}: {out[-1].strip()}"
    return ""


def is_loopback(url: str) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return True
    return urlparse(url).hostname in LOOPBACK_HOSTS


@dataclass
class Alliance:
    """A running alliance: its directory (keys, alliance.toml) and its nodes' API URLs."""

    directory: Path
    urls: list[str]
    nodes: list[Node] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None

    def on_loop(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on the nodes' loop (a node's state is that loop's alone)."""
        if self.loop is None:
            raise AssertionError("the alliance is not running")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(CALL_TIMEOUT_S)

    def get(self, path: str, node: int = 0) -> Any:
        answer = httpx.get(self.urls[node] + path, timeout=CALL_TIMEOUT_S)
        answer.raise_for_status()
        return answer.json()


@contextlib.contextmanager
def running_alliance(directory: Path, nodes: int, *, empty_block_interval_ms: int) -> Iterator[Alliance]:
    """``nodes`` validators serving the API and the explorer, in a background thread."""
    homes = alliance_homes(directory, nodes, empty_block_interval_ms=empty_block_interval_ms)
    layout = load_alliance(directory)
    alliance = Alliance(directory, [layout.api_url(entry) for entry in layout.nodes])
    ready = threading.Event()
    failure: list[BaseException] = []
    stop: concurrent.futures.Future[None] = concurrent.futures.Future()

    async def main() -> None:
        async with running_nodes(homes, services=[api_service]) as started:
            alliance.nodes = started
            alliance.loop = asyncio.get_running_loop()
            stopping = asyncio.wrap_future(stop)
            ready.set()
            await stopping

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture, in the test thread
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=thread_main, name="alliance nodes", daemon=True)
    thread.start()
    try:
        ready.wait(START_TIMEOUT_S)
        if failure:
            raise failure[0]
        wait_for_height(alliance, 1)
        yield alliance
    finally:
        if alliance.loop is not None and not stop.done():
            alliance.loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(START_TIMEOUT_S)
    if failure:
        raise failure[0]


def wait_for_height(alliance: Alliance, height: int, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            if all(alliance.get("/v1/status", i)["height"] >= height for i in range(len(alliance.urls))):
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"the alliance did not reach height {height} within {timeout_s} s ({last})")


def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)
