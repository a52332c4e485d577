"""The explorer's pages in a real Chromium, checked against the node's own API answers."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from explorer_helpers import DESKTOP, PHONE, Alliance, Seed, eventually

from alliance import codec
from alliance.cli.keyring import load_named_key
from alliance.crypto import merkle
from alliance.crypto.keys import parse_address
from alliance.ledger.transaction import Transaction, tx_hash
from alliance.sdk import Client


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def open_page(page: Any, url: str, ready: str = "main h1") -> str:
    page.goto(url, wait_until="networkidle")
    page.wait_for_selector(ready)
    return str(page.inner_text("main"))


def card_text(page: Any, title_id: str) -> str:
    return str(page.inner_text(f"section[aria-labelledby='card-{title_id}']"))


def test_overview_shows_the_chain_and_follows_it_live(page: Any, chain: Alliance, seed: Seed) -> None:
    before = chain.get("/v1/status")
    open_page(page, chain.urls[0] + "/", "#overview-height")
    shown = digits(page.inner_text("#overview-height"))
    after = chain.get("/v1/status")
    assert before["height"] <= shown <= after["height"]
    bar = page.inner_text("#chainbar")
    assert after["chain_id"] in bar and "node0" in bar
    validators = card_text(page, "validators")
    for validator in after["validators"]:
        assert validator["name"] in validators
        assert f"{validator['power']:,}" in validators
    peers = card_text(page, "peers-of-this-node")
    assert "node1" in peers and "connected" in peers
    details = card_text(page, "chain")
    assert after["chain_id"] in details and after["genesis_hash"][:10] in details
    assert page.locator(f"[title='{after['genesis_hash']}']").count() >= 1
    # The chart has one bar (a link to its block) per block of the window, past the first block.
    assert page.locator("#tps-chart svg a").count() >= min(20, shown - 1)
    # Live: a block committed after the page loaded shows up without a reload.
    page.wait_for_function(
        "h => Number(document.getElementById('overview-height').textContent.replace(/\\D/g, '')) > h",
        arg=shown,
        timeout=20_000,
    )
    assert page.inner_text("#live") == "live"


def test_links_lead_from_the_overview_to_a_block_a_transaction_and_an_account(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    with Client(chain.urls[0]) as client:
        sent = client.transfer(load_named_key(chain.directory, "dev"), parse_address(seed.bob), 5, wait=True)
    open_page(page, chain.urls[0] + "/", "#overview-height")
    page.click(f"section[aria-labelledby='card-latest-blocks'] a[href='/blocks/{sent.height}'] >> nth=0")
    page.wait_for_selector(".checks")
    assert page.inner_text("main h1") == f"Block {sent.height:,}"
    page.click(f"main a[href='/txs/{sent.hash.hex()}']")
    page.wait_for_selector(".checks")
    text = page.inner_text("main")
    assert "Transfer of 5" in text and sent.hash.hex() in text
    page.click(f"main a[href='/accounts/{seed.bob}'] >> nth=0")
    page.wait_for_selector("#account-balance")
    balance = chain.get(f"/v1/accounts/{seed.bob}")["balance"]
    assert digits(page.inner_text("#account-balance")) == balance
    assert seed.bob in page.inner_text("main")


def test_blocks_list_pages_backwards_from_the_latest(page: Any, chain: Alliance, seed: Seed) -> None:
    latest_before = chain.get("/v1/status")["height"]
    open_page(page, chain.urls[0] + "/blocks", "main table tbody tr")
    heights = [digits(t) for t in page.locator("main table tbody tr td:first-child").all_inner_texts()]
    assert len(heights) == min(20, heights[0])
    assert heights == list(range(heights[0], heights[0] - len(heights), -1))
    assert heights[0] >= latest_before
    if heights[-1] == 1:
        assert page.locator("text=Older →").count() == 0
        return
    # The page follows the chain; its "Older" link always starts just below its oldest block.
    shown_oldest = digits(page.locator("main table tbody tr td:first-child").last.inner_text())
    older_href = page.get_attribute("text=Older →", "href")
    page.click("text=Older →")
    page.wait_for_selector("main table tbody tr")
    older = [digits(t) for t in page.locator("main table tbody tr td:first-child").all_inner_texts()]
    assert older_href == f"/blocks?before={older[0]}"
    assert older[0] in (shown_oldest - 1, shown_oldest)  # a block may have arrived between the reads
    assert len(older) == min(20, older[0])


def test_block_page_shows_the_header_and_checks_hash_signatures_and_quorum(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    block = chain.get(f"/v1/blocks/{seed.transfer_height}")
    text = open_page(page, f"{chain.urls[0]}/blocks/{seed.transfer_height}", ".checks")
    for name in ("hash", "tx_root", "app_hash", "validators_hash", "last_results_hash"):
        assert block[name] in text
    assert page.locator(f"main a[href='/txs/{seed.transfer_hash}']").count() == 1
    checks = page.locator(".checks .check")
    assert checks.count() == 4
    assert page.locator(".checks .check-good").count() == 4, page.inner_text(".checks")
    certificate = card_text(page, "commit-certificate")
    assert certificate.count("valid") == len(block["certificate"]["signatures"])
    assert "node0" in certificate and "node1" in certificate


def _tampered(page: Any, url: str, change: Any) -> None:
    def handle(route: Any) -> None:
        answer = route.fetch()
        body = answer.json()
        change(body)
        route.fulfill(response=answer, body=json.dumps(body))

    page.route(url, handle)


def test_block_page_flags_a_header_or_signature_the_node_got_wrong(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    height = seed.transfer_height
    _tampered(page, f"**/v1/blocks/{height}", lambda b: b.update(app_hash="00" * 32))
    open_page(page, f"{chain.urls[0]}/blocks/{height}", ".checks")
    bad = page.locator(".checks .check-bad")
    assert bad.count() >= 1 and "Block hash" in bad.first.inner_text()
    page.unroute(f"**/v1/blocks/{height}")

    def forge(block: dict[str, Any]) -> None:
        signature = block["certificate"]["signatures"][0]
        signature["signature"] = ("ff" if signature["signature"][:2] != "ff" else "00") + signature[
            "signature"
        ][2:]

    _tampered(page, f"**/v1/blocks/{height}", forge)
    open_page(page, f"{chain.urls[0]}/blocks/{height}", ".checks")
    text = page.inner_text(".checks")
    assert "1 of 2 precommit signatures do not verify" in text
    assert page.locator(".checks .check-good").first.inner_text().startswith("✓")  # the header is fine
    assert "invalid" in card_text(page, "commit-certificate")


def test_transaction_page_shows_the_call_its_events_and_checks_its_inclusion_proof(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    tx = chain.get(f"/v1/txs/{seed.transfer_hash}")
    text = open_page(page, f"{chain.urls[0]}/txs/{seed.transfer_hash}", ".checks")
    assert tx["sender"] in text
    assert f"{tx['target']}.{tx['method']}" in text
    assert f"{tx['gas_used']:,}" in text
    assert "Transfer of 7" in text
    assert f"height {tx['valid_until']:,}" in text
    proof = page.locator(".checks .check").first
    assert "check-good" in (proof.get_attribute("class") or ""), proof.inner_text()
    assert "leads to the block's tx_root" in proof.inner_text()
    # The call's arguments, decoded in the page from the signed bytes the proof carries: (to, amount).
    arguments = page.inner_text("section[aria-labelledby='card-call'] dd ol.args").lower()
    assert seed.bob.lower() in arguments and "7" in arguments
    # the proof against the header's tx_root, the header's hash, signatures, validator set, quorum
    assert page.locator(".checks .check-good").count() == 5, page.inner_text(".checks")


def test_a_contract_call_is_decoded_with_its_abis_names(page: Any, chain: Alliance, seed: Seed) -> None:
    text = open_page(page, f"{chain.urls[0]}/txs/{seed.contract_call_hash}", ".checks")
    assert "contract token.mint" in text
    call = page.inner_text("section[aria-labelledby='card-call']")
    assert "to Address" in call and "amount int" in call and "1,000" in call
    assert page.locator("section[aria-labelledby='card-call'] a[href='/contracts/token']").count() == 1
    # A contract's event, decoded here: its recipient links to bob's account.
    events = page.locator("section[aria-labelledby='card-events-1-']")
    assert "token.mint" in events.inner_text() and "1,000" in events.inner_text()
    assert events.locator(f"a[href='/accounts/{seed.bob.lower()}']").count() == 1


def _batch_block(chain: Alliance, seed: Seed) -> tuple[int, list[bytes], str]:
    """A block holding several transfers: its height, raw transactions and one transfer's hash."""
    dev = load_named_key(chain.directory, "dev")
    with Client(chain.urls[0]) as client:
        raws = [client.sign_transfer(dev, parse_address(seed.bob), 1) for _ in range(6)]
        assert client.submit_batch(raws).accepted == 6
        views = [client.wait(tx_hash(codec.decode(Transaction, raw))) for raw in raws]
    height = max(views, key=lambda v: sum(1 for w in views if w.height == v.height)).height
    assert height is not None
    block, _certificate = chain.on_loop(lambda: chain.nodes[0].runtime.block(height))
    assert len(block.txs) >= 2, "the batch landed in blocks of one transaction each"
    chosen = next(v for v in views if v.height == height)
    return height, list(block.txs), chosen.hash.hex()


def test_inclusion_proof_is_checked_in_the_page_against_the_tx_root(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    # A block of several transactions, so the proof has siblings; the node serves the proof, and the
    # page's check agrees with the one merkle.prove would give. A forged proof is refused.
    height, raws, tx_hash = _batch_block(chain, seed)
    tx = chain.get(f"/v1/txs/{tx_hash}")
    answer = chain.get(f"/v1/txs/{tx_hash}/proof")
    expected = merkle.prove(raws, tx["index"])
    assert answer["siblings"] == [s.hex() for s in expected.siblings] and answer["siblings"]
    assert (answer["height"], answer["total"], answer["tx"]) == (height, len(raws), raws[tx["index"]].hex())
    open_page(page, f"{chain.urls[0]}/txs/{tx_hash}", ".checks")
    first = page.locator(".checks .check").first
    assert "check-good" in (first.get_attribute("class") or ""), first.inner_text()
    assert f"{len(answer['siblings'])} sibling hashes" in first.inner_text()
    arguments = page.inner_text("main").lower()
    assert seed.bob.lower() in arguments  # the call's arguments, decoded from the signed bytes

    forged = dict(answer, siblings=["00" * 32, *answer["siblings"][1:]])
    page.route(f"**/v1/txs/{tx_hash}/proof", lambda route: route.fulfill(json=forged))
    open_page(page, f"{chain.urls[0]}/txs/{tx_hash}", ".checks")
    first = page.locator(".checks .check").first
    assert "check-bad" in (first.get_attribute("class") or "")
    assert "another root" in first.inner_text()


def test_account_pages_show_balance_roles_and_frozen_state(page: Any, chain: Alliance, seed: Seed) -> None:
    bob = chain.get(f"/v1/accounts/{seed.bob}")
    text = open_page(page, f"{chain.urls[0]}/accounts/{seed.bob}", "#account-balance")
    assert digits(page.inner_text("#account-balance")) == bob["balance"]
    assert seed.bob in text and "Active" in text
    holdings = chain.get(f"/v1/accounts/{seed.bob}/passes")["value"]
    passes_card = card_text(page, "passes")
    for holding in holdings:
        assert holding["symbol"] in passes_card
    gold = next(h for h in holdings if h["symbol"] == seed.symbol)
    assert f"{gold['balance']:,}" in passes_card and "until" in passes_card  # a lot with its expiry
    assert "500.00" in passes_card  # EUR has two decimal places: 50,000 cents
    recent = chain.get(f"/v1/accounts/{seed.bob}/txs")
    rows = page.locator("section[aria-labelledby='card-recent-transactions'] tbody tr")
    assert rows.count() == len(recent["txs"]) >= 4  # transfers, GOLD's mint, EUR's deposit, token's mint
    shown = card_text(page, "recent-transactions")
    for tx in recent["txs"]:
        assert f"{tx['target']}.{tx['method']}" in shown
    assert "token.mint" in shown  # named by the contract's event

    mallory = chain.get(f"/v1/accounts/{seed.mallory}")
    assert mallory["frozen"] is not None
    text = open_page(page, f"{chain.urls[0]}/accounts/{seed.mallory}", "#account-balance")
    assert "Frozen" in text and "suspected fraud" in text
    assert mallory["frozen"]["by"] in text
    assert f"{mallory['frozen']['height']:,}" in text


def fingerprint(der_hex: str) -> str:
    return ":".join(re.findall("..", hashlib.sha256(bytes.fromhex(der_hex)).hexdigest().upper()))


def test_governance_page_shows_members_fingerprints_rules_and_proposals(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    gov = chain.get("/v1/gov")
    text = open_page(page, f"{chain.urls[0]}/governance", "section[aria-labelledby='card-members'] table")
    for member in gov["members"]:
        assert member["org"] in text
        # Computed in the page from the DER the ledger records; the full value is its title.
        assert page.locator(f"[title='{fingerprint(member['ca_certificate'])}']").count() == 1
    for node in gov["nodes"]:
        assert node["name"] in card_text(page, "nodes")
    access = card_text(page, "access-table")
    for rule in gov["access"]:
        assert f"{rule['module']}.{rule['method']}" in access
    frozen = card_text(page, "frozen-accounts")
    assert "suspected fraud" in frozen
    proposals = card_text(page, "proposals")
    for proposal in chain.get("/v1/gov/proposals"):
        assert f"#{proposal['id']}" in proposals
        assert proposal["status"] in proposals
        for ballot in proposal["votes"]:  # each vote, on the list itself
            assert f"{ballot['org']} {'yes' if ballot['yes'] else 'no'}" in proposals
    assert page.locator("section[aria-labelledby='card-proposals'] .progress").count() >= 2


def test_proposal_page_shows_each_vote_and_the_threshold(page: Any, chain: Alliance, seed: Seed) -> None:
    proposal = chain.get(f"/v1/gov/proposals/{seed.passed_proposal}")
    text = open_page(page, f"{chain.urls[0]}/proposals/{seed.passed_proposal}", ".progress")
    assert proposal["status"] == "passed" and "passed" in text
    votes = card_text(page, "votes")
    for ballot in proposal["votes"]:
        assert ballot["org"] in votes
    assert votes.count("yes") == len(proposal["votes"])
    assert f"Yes {len(proposal['votes'])} of 2 weight" in text
    assert f"more than {proposal['threshold']}" in text


def search(page: Any, chain: Alliance, query: str, ready: str = "main h1") -> str:
    page.goto(chain.urls[0] + "/", wait_until="networkidle")
    box = page.locator("input[type=search]")
    box.fill(query)
    box.press("Enter")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(ready)
    return str(page.inner_text("main"))


def test_search_finds_each_kind_of_key(page: Any, chain: Alliance, seed: Seed) -> None:
    assert search(page, chain, "3").startswith("Block 3")
    assert page.url.endswith("/blocks/3")

    text = search(page, chain, "0x" + seed.transfer_hash.upper(), ".checks")
    assert text.startswith("Transaction") and seed.transfer_hash in text and "7" in text
    assert page.url.endswith(f"/txs/{seed.transfer_hash}")

    text = search(page, chain, seed.bob.lower(), "#account-balance")
    assert seed.bob in text  # checksummed as the API gives it
    assert page.url.endswith(f"/accounts/{seed.bob}")

    assert search(page, chain, f"#{seed.passed_proposal}", ".progress").startswith(
        f"Proposal #{seed.passed_proposal}"
    )
    assert search(page, chain, f"proposal {seed.open_proposal}", ".progress").startswith(
        f"Proposal #{seed.open_proposal}"
    )

    old_block = chain.get("/v1/blocks/2")
    assert search(page, chain, old_block["hash"], ".checks").startswith("Block 2")
    assert page.url.endswith("/blocks/2")
    assert "no committed block has it" in search(page, chain, "ab" * 32, "main .card")

    for query in (seed.symbol, seed.symbol.lower()):
        assert search(page, chain, query, ".rights").startswith(f"{seed.symbol} ·")
        assert page.url.endswith(f"/passes/{seed.symbol}")
    for query in (seed.contract, seed.contract.upper()):
        assert search(page, chain, query, "pre.code").startswith(f"Contract {seed.contract}")
        assert page.url.endswith(f"/contracts/{seed.contract}")
    assert "no contract is live under the name nothing" in search(page, chain, "nothing", "main .card")

    text = search(page, chain, "hello there", "main .card")
    assert "not something the explorer can look up" in text


def test_errors_are_sentences_and_unknown_pages_are_explained(page: Any, chain: Alliance, seed: Seed) -> None:
    page.goto(chain.urls[0] + "/blocks/999999999", wait_until="networkidle")
    error = page.inner_text("[role=alert]")
    assert "No block at height 999999999" in error and error.rstrip().endswith(".")
    page.goto(chain.urls[0] + "/txs/xyz", wait_until="networkidle")
    assert "is not a transaction hash" in page.inner_text("[role=alert]")
    page.goto(chain.urls[0] + "/proposals/999", wait_until="networkidle")
    assert "999" in page.inner_text("[role=alert]")


def test_keyboard_reaches_the_search_box_and_the_pages(page: Any, chain: Alliance, seed: Seed) -> None:
    open_page(page, chain.urls[0] + "/governance", "main table")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # skip to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(f"#{seed.passed_proposal}")
    page.keyboard.press("Enter")
    page.wait_for_selector(".progress")
    assert page.inner_text("main h1") == f"Proposal #{seed.passed_proposal}"


PAGES = (
    ("overview", "/", "#overview-height"),
    ("blocks", "/blocks", "main table"),
    ("block", "/blocks/{transfer_height}", ".checks"),
    ("transaction", "/txs/{transfer_hash}", ".checks"),
    ("account", "/accounts/{bob}", "section[aria-labelledby='card-recent-transactions'] table"),
    ("account-frozen", "/accounts/{mallory}", "#account-balance"),
    ("governance", "/governance", "section[aria-labelledby='card-members'] table"),
    ("proposal", "/proposals/{passed_proposal}", ".progress"),
    ("passes", "/passes", "main table"),
    ("pass-scheme", "/passes/{symbol}", ".rights"),
    ("pass-settlement", "/passes/{settlement}", "text=Gateway reconciliation"),
    ("contracts", "/contracts", "main table"),
    ("contract", "/contracts/{contract}", "pre.code"),
    ("contract-call", "/txs/{contract_call_hash}", ".checks"),
    ("search-help", "/search?q=no+such+thing", "main .card"),
)


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_every_page_renders_at_desktop_and_phone_widths(
    page: Any, chain: Alliance, seed: Seed, screenshots: Any, size: str, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    values = {
        f: getattr(seed, f)
        for f in (
            "transfer_height", "transfer_hash", "bob", "mallory", "passed_proposal", "symbol", "settlement",
            "contract", "contract_call_hash",
        )
    }  # fmt: skip
    for name, path, ready in PAGES:
        open_page(page, chain.urls[0] + path.format(**values), ready)
        eventually(lambda: "Checking" not in page.inner_text("main"), f"the checks of {name}", 10)
        assert page.locator("main .error").count() == 0, page.inner_text("main .error")
        # Nothing wider than the screen but the tables, which scroll inside their card.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} is {overflow} px wider than a {size} screen"
        page.screenshot(path=str(screenshots / f"{name}-{size}.png"), full_page=True)
