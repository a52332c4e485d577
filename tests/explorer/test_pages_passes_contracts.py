"""The passes and contracts pages in a real Chromium, checked against the node's own API answers."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from explorer_helpers import GOLD_RIGHTS, Alliance, Seed
from test_pages import card_text, digits, open_page

from alliance.cli.keyring import load_named_key
from alliance.sdk import Client
from alliance.sdk import contracts as sdk_contracts


def test_the_passes_list_shows_every_scheme_as_the_api_gives_it(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    listed = chain.get("/v1/passes")["value"]
    open_page(page, chain.urls[0] + "/passes", "main table")
    rows = page.locator("main tbody tr")
    assert rows.count() == len(listed) >= 2
    for row, view in zip(rows.all(), listed, strict=True):
        text = row.inner_text()
        scheme, rules, supply = view["scheme"], view["rules"], view["supply"]
        assert scheme["symbol"] in text and scheme["name"] in text and scheme["issuer_org"] in text
        assert rules["circulation"] in text and rules["eligibility"] in text
        units = supply["supply"] / 10 ** scheme["decimals"]
        assert f"{units:,.{scheme['decimals']}f}" in text
        assert ("settlement" in text) == rules["settlement"]
    assert page.locator(f"main a[href='/passes/{seed.symbol}']").count() == 1


def test_a_scheme_page_checks_its_rights_and_shows_rules_supply_holders_and_history(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    view = chain.get(f"/v1/passes/{seed.symbol}")["value"]
    holders = chain.get(f"/v1/passes/{seed.symbol}/holders")["value"]
    history = chain.get(f"/v1/passes/{seed.symbol}/history")
    text = open_page(page, f"{chain.urls[0]}/passes/{seed.symbol}", ".rights")
    assert page.inner_text(".rights") == GOLD_RIGHTS and view["scheme"]["rights_hash"] in text
    rights = page.locator("section[aria-labelledby='card-declared-rights'] .check")
    assert "check-good" in (rights.get_attribute("class") or ""), rights.inner_text()
    rules = card_text(page, "rules")
    assert f"{view['rules']['cap']:,}" in rules and "30 days" in rules
    assert view["rules"]["circulation"] in rules
    supply = card_text(page, "supply")
    assert f"{view['supply']['supply']:,}" in supply and f"{view['supply']['minted']:,}" in supply
    holder_rows = page.locator("section[aria-labelledby='card-holders'] tbody tr")
    assert holder_rows.count() == len(holders) == view["holders"]
    assert f"{holders[0]['balance']:,}" in holder_rows.first.inner_text()
    events = page.locator("section[aria-labelledby='card-history'] tbody tr")
    assert events.count() == len(history["events"]) >= 4  # created, two mints, a transfer
    assert "Minted 120" in card_text(page, "history") and "Declared by org0" in card_text(page, "history")

    # Rights text that does not hash to the recorded hash is flagged, not shown as checked.
    def tamper(route: Any) -> None:
        answer = route.fetch()
        body = answer.json()
        body["value"]["scheme"]["rights"] = "One GOLD entitles its holder to two grams."
        route.fulfill(response=answer, body=json.dumps(body))

    page.route(f"**/v1/passes/{seed.symbol}", tamper)
    open_page(page, f"{chain.urls[0]}/passes/{seed.symbol}", ".rights")
    bad = page.locator("section[aria-labelledby='card-declared-rights'] .check")
    assert "check-bad" in (bad.get_attribute("class") or "")


def test_a_settlement_scheme_shows_the_gateways_reconciliation_and_its_csv(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    report = chain.get(f"/v1/passes/{seed.settlement}/report")["value"]
    open_page(page, f"{chain.urls[0]}/passes/{seed.settlement}", "text=Gateway reconciliation")
    text = card_text(page, "gateway-reconciliation")
    assert report["balanced"] and "Balanced." in text
    decimals = chain.get(f"/v1/passes/{seed.settlement}")["value"]["scheme"]["decimals"]
    deposits = f"{report['deposits'] // 10**decimals:,}.{report['deposits'] % 10**decimals:0{decimals}d}"
    assert decimals == 2 and deposits == "500.00"  # the seed deposits 50,000 cents
    assert re.search(rf"Supply\s+{re.escape(deposits)}\s+Deposits\s+{re.escape(deposits)}\s+in", text), text
    assert f"in {report['deposits_count']} deposits" in text
    link = page.locator("a[download]")
    href = link.get_attribute("href")
    assert href == f"/v1/passes/{seed.settlement}/report?format=csv"
    csv = httpx.get(chain.urls[0] + href).text
    assert "deposit,1," in csv and "BANK-0001" in csv and csv.rstrip().splitlines()[-1].startswith("supply,")
    assert "500.00" in card_text(page, "holders")  # 50,000 cents


def test_the_contracts_list_and_a_contract_page(page: Any, chain: Alliance, seed: Seed) -> None:
    listed = chain.get("/v1/contracts")["value"]
    open_page(page, chain.urls[0] + "/contracts", "main table")
    assert page.locator("main tbody tr").count() == len(listed) >= 1  # the console test may add one
    assert page.locator(f"main a[href='/proposals/{seed.contract_proposal}']").count() == 1

    info = chain.get(f"/v1/contracts/{seed.contract}")["value"]
    text = open_page(page, f"{chain.urls[0]}/contracts/{seed.contract}", "pre.code")
    assert info["contract"]["code_hash"] in text and info["contract"]["address"] in text
    record = page.locator("section[aria-labelledby='card-record'] .check")
    assert "check-good" in (record.get_attribute("class") or ""), record.inner_text()
    approval = f"section[aria-labelledby='card-record'] a[href='/proposals/{seed.contract_proposal}']"
    assert page.locator(approval).count() == 1
    interface = card_text(page, "interface")
    for method in info["abi"]["methods"]:
        assert method["name"] in interface
        for param in method["params"]:
            assert f"{param['name']}: {param['type']}" in interface
    # The source, every line of it, highlighted by the page's own tokenizer.
    listing = page.inner_text("pre.code")
    assert all(line.strip() in listing for line in info["source"].splitlines())
    assert page.locator("pre.code .code-line").count() == len(info["source"].rstrip("\n").split("\n"))
    assert page.locator("pre.code .tok-keyword", has_text="def").count() >= 4
    assert page.locator("pre.code .tok-decorator", has_text="@view").count() == 2
    assert page.locator("pre.code .tok-string").count() >= 5

    def tamper(route: Any) -> None:
        answer = route.fetch()
        body = answer.json()
        body["value"]["source"] += "\n# edited\n"
        route.fulfill(response=answer, body=json.dumps(body))

    page.route(f"**/v1/contracts/{seed.contract}", tamper)
    open_page(page, f"{chain.urls[0]}/contracts/{seed.contract}", "pre.code")
    record = page.locator("section[aria-labelledby='card-record'] .check")
    assert "check-bad" in (record.get_attribute("class") or "")


def test_a_view_runs_from_the_contract_page_with_arguments_encoded_in_the_page(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    with Client(chain.urls[0]) as client:
        handle = sdk_contracts.ContractHandle(client, seed.contract)
        expected_balance = handle.view("balance_of", [seed.bob])
        expected_supply = handle.view("total_supply", [])
    assert expected_balance >= 1_000
    open_page(page, f"{chain.urls[0]}/contracts/{seed.contract}", "pre.code")
    form = page.locator("section[aria-labelledby='card-read-a-view'] form")
    form.locator("select[name=method]").select_option("balance_of")
    form.locator("input[name=owner]").fill(seed.bob)
    form.locator("button[type=submit]").click()
    result = page.wait_for_selector(".view-result")
    assert result is not None and digits(page.inner_text(".view-result .result")) == expected_balance
    form.locator("select[name=method]").select_option("total_supply")
    form.locator("button[type=submit]").click()
    page.wait_for_function(
        "n => document.querySelector('.view-result .result')?.textContent.replace(/\\D/g, '') === String(n)",
        arg=expected_supply,
    )
    # A value of the wrong type is refused in the page, naming the parameter, before any request.
    form.locator("select[name=method]").select_option("balance_of")
    form.locator("input[name=owner]").fill("0x1234")
    form.locator("button[type=submit]").click()
    alert = page.wait_for_selector("section[aria-labelledby='card-read-a-view'] [role=alert]")
    assert alert is not None and "owner is an address" in alert.inner_text()


def test_a_pass_the_account_holds_expires_by_its_lots(page: Any, chain: Alliance, seed: Seed) -> None:
    # dev received 30 GOLD in one lot and moved 5: its holding and lot as the API computes them.
    dev = load_named_key(chain.directory, "dev")
    holding = chain.get(f"/v1/passes/{seed.symbol}/holders/0x{dev.address.hex()}")["value"]
    ready = "section[aria-labelledby='card-passes'] table"
    open_page(page, f"{chain.urls[0]}/accounts/0x{dev.address.hex()}", ready)
    passes_card = card_text(page, "passes")
    assert f"{holding['balance']:,}" in passes_card
    assert sum(lot["amount"] for lot in holding["lots"]) == holding["balance"] == 25
    assert passes_card.count("until") == len(holding["lots"])
