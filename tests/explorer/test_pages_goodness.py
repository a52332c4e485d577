"""The Goodness page in a real Chromium, checked against the contract's own views.

A one-node alliance of its own (the shared one has no Goodness contract, which is what the page must
say plainly there) is seeded by the demo's own story (``alliance demo goodness``'s ``Demo``: every
role, trips, redemptions, clearing, the injected frauds that make anomalies), small: four users over
two days.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from explorer_helpers import DESKTOP, PHONE, Alliance, running_alliance
from test_pages import card_text, digits, open_page

from alliance.apps.goodness.demo import Demo, DemoOptions

DEMO_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def goodness_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alliance]:
    directory = tmp_path_factory.mktemp("explorer-goodness") / "chain"
    with running_alliance(directory, 1, empty_block_interval_ms=1000) as alliance:
        # In a thread of its own: the demo's supervision scan calls asyncio.run, which cannot run in
        # this thread once Playwright's synchronous API keeps its loop here.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="goodness-demo") as pool:
            pool.submit(seed_goodness, directory, alliance.urls[0]).result(timeout=DEMO_TIMEOUT_S)
        yield alliance


def seed_goodness(directory: Path, url: str) -> None:
    demo = Demo(directory, DemoOptions(users=4, days=2, seed=3), api=url)
    try:
        demo.run()
    finally:
        demo.close()


def view(alliance: Alliance, method: str, args: list[Any], height: int) -> Any:
    path = f"/v1/contracts/goodness/views/{method}?args={msgspec.msgpack.encode(args).hex()}&height={height}"
    answer = httpx.get(alliance.urls[0] + path, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def test_the_goodness_page_shows_the_contracts_figures(page: Any, goodness_chain: Alliance) -> None:
    open_page(page, goodness_chain.urls[0] + "/goodness", "#goodness-tiles")
    assert page.locator("main .error").count() == 0, page.inner_text("main")
    assert page.get_attribute("nav a[data-nav='goodness']", "aria-current") == "page"
    height = digits(page.inner_text("main .page-head"))  # the page's figures are read at this height
    status = view(goodness_chain, "status", [], height)
    totals = view(goodness_chain, "totals", [0], height)
    assert status["period"] >= 3 and status["anomalies"] >= 1  # two days cleared; the demo's frauds
    tiles = page.inner_text("#goodness-tiles")
    carbon_shown = page.locator("#goodness-tiles .tile-value").first.inner_text()
    assert carbon_shown.endswith(" kg") and totals["distributor"]["carbon_g"] > 0
    assert abs(float(carbon_shown[:-3].replace(",", "")) * 1000 - totals["distributor"]["carbon_g"]) <= 5
    assert f"{totals['distributor']['trips']:,} trips" in tiles
    assert totals["exchange"]["redemptions"] > 0
    assert f"{totals['exchange']['redemptions']:,} redemptions" in tiles
    assert f"{totals['issuer']['points_issued']:,}" in tiles

    # One row per period, newest first, each with its state and figures from totals(p) and period(p).
    rows = page.locator("section[aria-labelledby='card-clearing-periods'] tbody tr")
    assert rows.count() == status["period"]
    for row, number in zip(rows.all(), range(status["period"], 0, -1), strict=True):
        state = view(goodness_chain, "period", [number], height)[0]
        points = view(goodness_chain, "totals", [number], height)["issuer"]["points_issued"]
        text = row.inner_text()
        assert text.startswith(str(number)) and state in text and f"{points:,}" in text
    assert "final" in rows.last.inner_text() and "balanced" in rows.last.inner_text()
    bars = page.locator("#goodness-chart svg rect")
    assert bars.count() == status["period"]

    distributors = view(goodness_chain, "role_accounts", ["distributor", 0], height)
    shown = page.locator("section[aria-labelledby='card-distributors'] tbody tr")
    assert shown.count() == len(distributors) >= 2
    for row, (_account, numbers) in zip(shown.all(), distributors, strict=True):
        assert f"{numbers['trips']:,}" in row.inner_text()
    assert sum(n["trips"] for _a, n in distributors) == totals["distributor"]["trips"]
    pools = view(goodness_chain, "pools", [], height)
    assert page.locator("section[aria-labelledby='card-sponsor-pools'] tbody tr").count() == len(pools) >= 1
    anomalies = page.locator("section[aria-labelledby='card-anomalies'] tbody tr")
    assert anomalies.count() == min(20, status["anomalies"])
    newest = view(goodness_chain, "anomalies", [status["anomalies"] - 1, 1], height)[0]
    assert newest[1].replace("_", " ") in anomalies.first.inner_text()
    assert "alliance goodness supervise" in card_text(page, "anomalies")


def test_search_and_the_contract_page_lead_to_the_goodness_page(page: Any, goodness_chain: Alliance) -> None:
    open_page(page, goodness_chain.urls[0] + "/search?q=goodness", "#goodness-tiles")
    assert page.url.endswith("/goodness")
    open_page(page, goodness_chain.urls[0] + "/contracts/goodness", "main h1")
    page.click("main .lead a[href='/goodness']")
    page.wait_for_selector("#goodness-tiles")


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_goodness_page_fits_desktop_and_phone_widths(
    page: Any, goodness_chain: Alliance, screenshots: Any, size: str, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    open_page(page, goodness_chain.urls[0] + "/goodness", "#goodness-chart svg")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the Goodness page is {overflow} px wider than a {size} screen"
    page.screenshot(path=str(screenshots / f"goodness-{size}.png"), full_page=True)


def test_without_a_goodness_contract_the_page_says_so(page: Any, chain: Alliance) -> None:
    assert httpx.get(chain.urls[0] + "/v1/contracts/goodness", timeout=30).status_code == 404
    text = open_page(page, chain.urls[0] + "/goodness", "#card-no-goodness")
    assert "No contract is live under the name goodness" in text
    assert page.locator("#goodness-tiles").count() == 0
