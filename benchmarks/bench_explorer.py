"""Explorer page timings against a node holding many committed transactions.

1. *Load.* A one-validator alliance runs in this process (its own thread and event loop, the explorer
   mounted, as ``alliance node start`` serves it). Two ways to give it ``--txs`` transfers:
   - through its API (the default): from its funded ``dev`` account, in binary batches of
     ``--batch``, each batch waited for before the next but one goes (so the mempool never refuses);
     at consensus pace, about 25 minutes for a million on the project's machine;
   - ``--build``: the same kind of chain written straight into the node's store before it starts
     (``explorer_chain.py``: real signed transfers among ``--senders`` accounts to ``--recipients``
     addresses, in blocks of ``--block-txs``, executed and committed by the node's own executor with
     real certificates, plus a pass scheme and the example token contract), then the node starts on
     it and builds its account index from the store (timed: ``index_s``); a few minutes for a million.
   Loading is not timed.
2. *The API requests of each page.* For every page, the requests its script makes (the same paths,
   one after the other where the page waits for an answer, at most six block requests in flight as
   ``FETCH_PARALLEL`` in the pages), ``--rounds`` times on an idle node: median and worst, in ms.
   The pages' own lists of their calls are in docs/explorer.md.
3. *The page in Chromium* (``--browser``, Debian's ``/usr/bin/chromium``): by the page's own clock,
   from navigation start to its content drawn (the ``explorer-rendered`` mark: for block and
   transaction pages after the checks, hashes recomputed and signatures verified in the page),
   ``--rounds`` times, with the assets cached as for a returning reader.

Prints a JSON report. The issue's target is every page under 300 ms with 1M transactions in the
store: ``python benchmarks/bench_explorer.py --build --txs 1000000 --browser --json`` (not run by CI:
``make bench`` runs a small chain; ``tests/explorer/test_bench_explorer_runs.py`` a tiny one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from alliance.node.config import NodeHome
from alliance.sdk import Client
from alliance.testing.nodes import alliance_homes, running_nodes
from explorer_chain import CONTRACT, SCHEME, build_chain  # a sibling: the script's directory is on sys.path

FETCH_PARALLEL = 6  # as the pages' FETCH_PARALLEL
WINDOW_BLOCKS = 20  # the overview's chart window and the blocks page's page size
RECEIPTS_FETCH_MAX = 2000  # the block page loads receipts up to this many transactions
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


INDEX_WAIT_S = 1800


def run_nodes(directory: Path, homes: list[NodeHome]) -> tuple[str, threading.Event, list[Any]]:
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
    """The requests each page's script makes (docs/explorer.md lists them), in the same order and
    concurrency."""

    async def get(path: str) -> Any:
        answer = await client.get(path)
        if answer.status_code >= 500:
            raise SystemExit(f"{path} answered {answer.status_code}")
        return answer.json() if answer.status_code < 400 else None

    async def overview() -> None:
        status = await get("/v1/status")
        await get(f"/v1/blocks?before={status['height'] + 1}&limit={WINDOW_BLOCKS + 1}")

    async def blocks_page() -> None:
        status = await get("/v1/status")
        await get(f"/v1/blocks?before={status['height'] + 1}&limit={WINDOW_BLOCKS}")

    async def block_page() -> None:
        height = ids["height"]
        block, _status, _set = await asyncio.gather(
            get(f"/v1/blocks/{height}"), get("/v1/status"), get(f"/v1/validators?height={height}")
        )
        if 0 < len(block["txs"]) <= RECEIPTS_FETCH_MAX:
            await get(f"/v1/blocks/{height}/receipts")

    async def tx_page() -> None:
        tx = await get(f"/v1/txs/{ids['tx']}")
        height = tx["height"]
        await asyncio.gather(
            get(f"/v1/blocks?before={height + 1}&limit=1"), get("/v1/status"),
            get(f"/v1/validators?height={height}"), get(f"/v1/txs/{ids['tx']}/proof"),
        )  # fmt: skip

    async def account_page() -> None:
        address = ids["account"]
        _account, holdings, _txs = await asyncio.gather(
            get(f"/v1/accounts/{address}"), get(f"/v1/accounts/{address}/passes?limit=100"),
            get(f"/v1/accounts/{address}/txs?limit=20"),
        )  # fmt: skip
        if holdings and holdings["value"]:
            await get("/v1/passes?limit=500")

    async def governance_page() -> None:
        gov = await get("/v1/gov")
        if gov["proposals"]:
            first = max(1, gov["proposals"] - 19)
            await get(f"/v1/gov/proposals?from_id={first}&limit={gov['proposals'] - first + 1}")

    async def passes_page() -> None:
        await get("/v1/passes?start=0&limit=50")

    async def scheme_page() -> None:
        symbol = ids["symbol"]
        await asyncio.gather(
            get(f"/v1/passes/{symbol}"), get(f"/v1/passes/{symbol}/holders?start=0&limit=20"),
            get(f"/v1/passes/{symbol}/history"),
        )  # fmt: skip

    async def contracts_page() -> None:
        await get("/v1/contracts?start=0&limit=50")

    async def contract_page() -> None:
        await get(f"/v1/contracts/{ids['contract']}")

    async def search_tx() -> None:
        await get(f"/v1/txs/{ids['tx']}")
        await tx_page()

    pages: dict[str, Requests] = {
        "overview": overview, "blocks": blocks_page, "block": block_page, "transaction": tx_page,
        "account": account_page, "governance": governance_page, "search-tx": search_tx,
        "passes": passes_page, "contracts": contracts_page,
    }  # fmt: skip
    if ids.get("symbol"):
        pages["pass-scheme"] = scheme_page
    if ids.get("contract"):
        pages["contract"] = contract_page
    return pages


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
        "account": (f"/accounts/{ids['account']}", "section[aria-labelledby='card-recent-transactions']"),
        "governance": ("/governance", "section[aria-labelledby='card-members'] table"),
        "passes": ("/passes", "section[aria-labelledby^='card-schemes']"),
        "contracts": ("/contracts", "section[aria-labelledby^='card-live-contracts']"),
    }
    if ids.get("symbol"):
        pages["pass-scheme"] = (f"/passes/{ids['symbol']}", "section[aria-labelledby='card-history']")
    if ids.get("contract"):
        pages["contract"] = (f"/contracts/{ids['contract']}", "pre.code")
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


def wait_indexed(url: str, account: str, height: int) -> float:
    """Seconds until the node's account index has every transaction up to ``height``."""
    started = time.monotonic()
    while time.monotonic() - started < INDEX_WAIT_S:
        page = httpx.get(f"{url}/v1/accounts/{account}/txs?limit=1", timeout=60).json()
        if page["indexed_height"] >= height:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"the account index did not reach height {height} within {INDEX_WAIT_S} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000, help="transfers to commit before timing")
    parser.add_argument("--batch", type=int, default=5_000, help="transfers per submitted batch")
    parser.add_argument("--build", action="store_true", help="build the chain into the store, then start")
    parser.add_argument("--block-txs", type=int, default=5_000, help="with --build: transfers a block")
    parser.add_argument("--senders", type=int, default=2_000, help="with --build: accounts that pay")
    parser.add_argument("--recipients", type=int, default=100_000, help="with --build: addresses paid")
    parser.add_argument(
        "--keep", type=Path, help="with --build: build into this directory once, and time it again later"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per page")
    parser.add_argument("--browser", action="store_true", help="also time the pages in Chromium")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args()
    sizes = (args.txs, args.batch, args.rounds, args.block_txs, args.senders, args.recipients)
    if min(sizes) < 1:
        parser.error("--txs, --batch, --rounds, --block-txs, --senders and --recipients must be positive")
    if args.keep is not None and not args.build:
        parser.error("--keep goes with --build")
    kept = contextlib.nullcontext(str(args.keep)) if args.keep is not None else None
    with kept or tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        directory = Path(tmp) / "chain"
        built: dict[str, Any] = {}
        if args.build:
            record = Path(tmp) / "built.json"
            if record.exists():  # built by an earlier run with --keep: time it again
                built = json.loads(record.read_text())
                home = NodeHome(directory / "nodes" / "node0")
            else:
                home, built = build_chain(
                    directory, txs=args.txs, block_txs=args.block_txs, senders=args.senders,
                    recipients=args.recipients,
                )  # fmt: skip
                record.write_text(json.dumps(built))
            homes = [home]
        else:
            homes = alliance_homes(directory, 1, empty_block_interval_ms=1000)
        url, stop, _nodes = run_nodes(directory, homes)
        try:
            if args.build:
                loaded = {"txs": args.txs, **built, "height": httpx.get(url + "/v1/status").json()["height"]}
                account = "0x" + built["first_payer"]
            else:
                loaded = load(url, directory, args.txs, args.batch)
                account = keys_new(directory, "bench-reader")["address"]
            status = httpx.get(url + "/v1/status").json()
            index_s = wait_indexed(url, account, status["height"])
            if args.build:  # the last block built holds transfers, however many empty ones came since
                biggest = built["built_blocks"]
            else:
                heads = httpx.get(f"{url}/v1/blocks?before={status['height'] + 1}&limit=100").json()["blocks"]
                biggest = max(heads, key=lambda b: b["txs"])["height"]
            block = httpx.get(f"{url}/v1/blocks/{biggest}").json()
            tx = block["txs"][0] if block["txs"] else "00" * 32
            ids = {
                "height": biggest, "tx": tx, "account": account,
                "symbol": SCHEME if args.build else None, "contract": CONTRACT if args.build else None,
            }  # fmt: skip
            report: dict[str, Any] = {
                **loaded, "index_s": round(index_s, 1), "block_timed": biggest,
                "block_txs": len(block["txs"]), "rounds": args.rounds,
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
