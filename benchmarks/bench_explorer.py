"""Explorer page timings against a node holding many committed transactions.

1. *Load.* A one-validator alliance runs in this process (its own thread and event loop, the explorer
   mounted, as ``alliance node start`` serves it) and is given ``--txs`` transfers from its funded
   ``dev`` account, in binary batches of ``--batch``, each batch waited for before the next but one
   goes (so the mempool never refuses). Loading is not timed.
2. *The API requests of each page.* For every page, the requests its script makes (the same paths,
   one after the other where the page waits for an answer, at most six block requests in flight as
   ``FETCH_PARALLEL`` in the pages), ``--rounds`` times on an idle node: median and worst, in ms.
   The pages' own lists of their calls are in docs/explorer.md.
3. *The page in Chromium* (``--browser``, Debian's ``/usr/bin/chromium``): by the page's own clock,
   from navigation start to its content drawn (the ``explorer-rendered`` mark: for block and
   transaction pages after the checks, hashes recomputed and signatures verified in the page),
   ``--rounds`` times, with the assets cached as for a returning reader.

Prints a JSON report. The issue's target is every page under 300 ms with 1M transactions in the
store: ``python benchmarks/bench_explorer.py --txs 1000000 --browser --json`` (loading takes a
while on a small machine; ``--txs 20000`` gives a first look in a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from alliance import codec
from alliance.cli.keyring import keys_new, load_named_key
from alliance.crypto.keys import parse_address
from alliance.explorer import api_service
from alliance.ledger.transaction import Transaction, tx_hash
from alliance.node.bootstrap import load_alliance
from alliance.sdk import Client
from alliance.testing.nodes import alliance_homes, running_nodes

FETCH_PARALLEL = 6  # as the pages' FETCH_PARALLEL
WINDOW_BLOCKS = 20  # the overview's chart window and the blocks page's page size
RECEIPTS_FETCH_MAX = 2000  # the block page loads receipts up to this many transactions
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def run_nodes(directory: Path) -> tuple[str, threading.Event, list[Any]]:
    homes = alliance_homes(directory, 1, empty_block_interval_ms=1000)
    url = load_alliance(directory).api_url(load_alliance(directory).nodes[0])
    ready, stop, holder = threading.Event(), threading.Event(), []

    async def main() -> None:
        async with running_nodes(homes, services=[api_service]) as nodes:
            holder.extend(nodes)
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    if not ready.wait(60):
        raise SystemExit("the node did not start within 60 s")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v1/status").json()["height"] >= 1:
                return url, stop, holder
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the node committed no block within 60 s")


def load(url: str, directory: Path, txs: int, batch: int) -> dict[str, Any]:
    dev = load_named_key(directory, "dev")
    to = parse_address(keys_new(directory, "bench-recipient")["address"])
    started = time.monotonic()
    last_hashes: list[bytes] = []
    sent = 0
    with Client(url, timeout_s=120) as client:
        while sent < txs:
            size = min(batch, txs - sent)
            raws = [client.sign_transfer(dev, to, 1, valid_for_blocks=500) for _ in range(size)]
            result = client.submit_batch(raws)
            if result.rejected:
                first = result.rejected[0].detail
                raise SystemExit(f"the node refused {len(result.rejected)} transfers: {first}")
            sent += size
            last_hashes.append(tx_hash(codec.decode(Transaction, raws[-1])))
            if len(last_hashes) >= 2:  # two batches in flight at most
                client.wait(last_hashes.pop(0), timeout_s=120)
        for pending in last_hashes:
            client.wait(pending, timeout_s=120)
        status = client.status()
    return {"txs": txs, "load_s": round(time.monotonic() - started, 1), "height": status.height}


Requests = Callable[[], Awaitable[None]]


async def page_requests(client: httpx.AsyncClient, ids: dict[str, Any]) -> dict[str, Requests]:
    async def get(path: str) -> Any:
        answer = await client.get(path)
        if answer.status_code >= 500:
            raise SystemExit(f"{path} answered {answer.status_code}")
        return answer.json() if answer.status_code < 400 else None

    async def blocks(top: int, count: int) -> None:
        gate = asyncio.Semaphore(FETCH_PARALLEL)

        async def one(height: int) -> None:
            async with gate:
                await get(f"/v1/blocks/{height}")

        await asyncio.gather(*(one(h) for h in range(top, max(0, top - count), -1)))

    async def overview() -> None:
        status = await get("/v1/status")
        await blocks(status["height"], WINDOW_BLOCKS + 1)

    async def blocks_page() -> None:
        status = await get("/v1/status")
        await blocks(status["height"], WINDOW_BLOCKS)

    async def block_page() -> None:
        block, _status = await asyncio.gather(get(f"/v1/blocks/{ids['height']}"), get("/v1/status"))
        if 0 < len(block["txs"]) <= RECEIPTS_FETCH_MAX:
            await get(f"/v1/blocks/{ids['height']}/receipts")

    async def tx_page() -> None:
        tx = await get(f"/v1/txs/{ids['tx']}")
        await asyncio.gather(get(f"/v1/blocks/{tx['height']}"), get("/v1/status"))
        await get(f"/v1/txs/{ids['tx']}/proof")

    async def account_page() -> None:
        await get(f"/v1/accounts/{ids['account']}")

    async def governance_page() -> None:
        gov = await get("/v1/gov")
        if gov["proposals"]:
            first = max(1, gov["proposals"] - 19)
            await get(f"/v1/gov/proposals?from_id={first}&limit={gov['proposals'] - first + 1}")

    async def search_tx() -> None:
        await get(f"/v1/txs/{ids['tx']}")
        await tx_page()

    return {
        "overview": overview, "blocks": blocks_page, "block": block_page, "transaction": tx_page,
        "account": account_page, "governance": governance_page, "search-tx": search_tx,
    }  # fmt: skip


async def time_requests(url: str, ids: dict[str, Any], rounds: int) -> dict[str, dict[str, float]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        pages = await page_requests(client, ids)
        samples: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(rounds):
            for name, run in pages.items():
                started = time.perf_counter()
                await run()
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: summary(values) for name, values in samples.items()}


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values), 1), "max_ms": round(max(values), 1)}


def time_browser(url: str, ids: dict[str, Any], rounds: int) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright  # only with --browser

    pages = {
        "overview": ("/", "#overview-height"),
        "blocks": ("/blocks", "main table"),
        "block": (f"/blocks/{ids['height']}", ".checks"),
        "transaction": (f"/txs/{ids['tx']}", ".checks"),
        "account": (f"/accounts/{ids['account']}", "#account-balance"),
        "governance": ("/governance", "section[aria-labelledby='card-members'] table"),
    }
    samples: dict[str, list[float]] = {name: [] for name in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/", wait_until="networkidle")  # assets cached, as for a returning reader
        for _ in range(rounds):
            for name, (path, ready) in pages.items():
                page.goto(url + path, wait_until="commit")
                page.wait_for_selector(ready, timeout=60_000)
                # The page's own clock: from navigation start to its content (and checks) drawn.
                page.wait_for_function("performance.getEntriesByName('explorer-rendered').length > 0")
                rendered = page.evaluate("performance.getEntriesByName('explorer-rendered')[0].startTime")
                samples[name].append(float(rendered))
        browser.close()
    return {name: summary(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000, help="transfers to commit before timing")
    parser.add_argument("--batch", type=int, default=5_000, help="transfers per submitted batch")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per page")
    parser.add_argument("--browser", action="store_true", help="also time the pages in Chromium")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args()
    if args.txs < 1 or args.batch < 1 or args.rounds < 1:
        parser.error("--txs, --batch and --rounds must be positive")
    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        directory = Path(tmp) / "chain"
        url, stop, _nodes = run_nodes(directory)
        try:
            loaded = load(url, directory, args.txs, args.batch)
            status = httpx.get(url + "/v1/status").json()
            biggest = max(range(max(1, status["height"] - 50), status["height"] + 1),
                          key=lambda h: len(httpx.get(f"{url}/v1/blocks/{h}").json()["txs"]))  # fmt: skip
            block = httpx.get(f"{url}/v1/blocks/{biggest}").json()
            account = keys_new(directory, "bench-reader")["address"]
            tx = block["txs"][0] if block["txs"] else "00" * 32
            ids = {"height": biggest, "tx": tx, "account": account}
            report: dict[str, Any] = {
                **loaded, "block_timed": biggest, "block_txs": len(block["txs"]), "rounds": args.rounds,
                "requests": asyncio.run(time_requests(url, ids, args.rounds)),
            }  # fmt: skip
            if args.browser:
                report["browser"] = time_browser(url, ids, args.rounds)
        finally:
            stop.set()
            time.sleep(0.5)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
