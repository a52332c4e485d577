"""Fixtures of the explorer's tests: Debian's Chromium driven by Playwright, and a real alliance.

The alliance (two organisations, two validators, the explorer mounted on each node's API) is
started once for the directory's tests and seeded with what the pages show: a transfer to ``bob``,
a frozen account (``mallory``), a passed proposal (#1, both organisations voted) and an open one
(#2, for the console's vote); then passes and a contract: ``org0-admin`` is made an issuer and a
gateway of org0 (by committee vote), declares ``GOLD`` (fungible, capped, lots that expire after 30
days), mints it to ``bob`` and ``dev`` (who moves some back), declares ``EUR`` (settlement money)
and credits ``bob`` a deposit; the example ``token.py`` contract is deployed as ``token``
(submitted, proposed, voted live) and mints to ``bob``. Every page a test opens is watched: a
request to anything but 127.0.0.1, or an uncaught script error, fails the test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from explorer_helpers import (
    CHROMIUM_ARGS,
    DESKTOP,
    GOLD_RIGHTS,
    SCREENSHOTS_DIR,
    Alliance,
    Seed,
    Watched,
    find_chromium,
    install_chromium,
    running_alliance,
)

from alliance.abi import gov, passes
from alliance.cli.keyring import keys_new, load_named_key
from alliance.crypto.keys import parse_address
from alliance.sdk import Client
from alliance.sdk import contracts as sdk_contracts

HERE = Path(__file__).resolve().parent


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None and os.environ.get("CI") == "true":
        problem = install_chromium()
        path = find_chromium()
        if path is None:
            pytest.fail(f"Chromium could not be installed for the explorer's browser tests: {problem}")
    if path is None:
        pytest.fail(
            "no Chromium for the explorer's browser tests: install Debian's with "
            "'sudo apt-get install -y chromium' (with CI=true the tests install it themselves), "
            "or set ALLIANCE_CHROMIUM to a Chromium executable",
            pytrace=False,
        )
    return path


class _Shared:
    """What the explorer's tests share: one browser and one seeded alliance, started when a test
    first asks and closed as soon as the run leaves this directory (``pytest_runtest_teardown``
    below), not at the end of the session: Playwright's synchronous API keeps an event loop
    running in the main thread, where other tests call ``asyncio.run``, and the alliance's nodes
    would keep working beside them."""

    def __init__(self) -> None:
        self.stack: contextlib.ExitStack | None = None
        self.browser: Any = None
        self.chain: Alliance | None = None
        self.seed: Seed | None = None

    def resources(self) -> contextlib.ExitStack:
        if self.stack is None:
            self.stack = contextlib.ExitStack()
        return self.stack

    def close(self) -> None:
        stack, self.stack = self.stack, None
        self.browser = self.chain = self.seed = None
        if stack is not None:
            stack.close()


_shared = _Shared()


@pytest.hookimpl(trylast=True)  # after the test's own fixtures (its pages) are torn down
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or HERE not in Path(nextitem.path).parents:
        _shared.close()


@pytest.fixture
def browser(chromium: str) -> Any:
    if _shared.browser is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            pytest.fail(
                "playwright for Python is missing: 'make venv' (pip install -e '.[dev]') installs it",
                pytrace=False,
            )
        playwright = _shared.resources().enter_context(sync_playwright())
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        _shared.resources().callback(launched.close)
        _shared.browser = launched
    return _shared.browser


def _seed(alliance: Alliance) -> Seed:
    directory = alliance.directory
    bob = keys_new(directory, "bob")["address"]
    mallory = keys_new(directory, "mallory")["address"]
    dev = load_named_key(directory, "dev")
    with Client(alliance.urls[0], timeout_s=30) as client:
        sent = client.transfer(dev, parse_address(bob), 7, wait=True)
        client.transfer(dev, parse_address(mallory), 3, wait=True)
        client.freeze(load_named_key(directory, "supervisor"), parse_address(mallory), "suspected fraud")
        admin0 = load_named_key(directory, "org0-admin")
        admin1 = load_named_key(directory, "org1-admin")
        passed = client.propose(admin0, gov.SetParam(name="block_txs_max", value="5000"))
        client.vote(admin1, passed.proposal, True)  # type: ignore[arg-type]
        opened = client.propose(admin0, gov.GrantRole(account=parse_address(bob), role="auditor", org="org0"))
    assert sent.ok and sent.height is not None
    assert passed.proposal is not None and opened.proposal is not None
    deployed, call_hash = _seed_passes_and_contract(alliance, parse_address(bob))
    return Seed(
        sent.hash.hex(), sent.height, bob, mallory, passed.proposal, opened.proposal,
        "GOLD", "EUR", "token", deployed, call_hash,
    )  # fmt: skip


def _seed_passes_and_contract(alliance: Alliance, bob: bytes) -> tuple[int, str]:
    """GOLD and EUR declared, minted and credited; the token contract live. Its proposal id and the
    hash of a call to it."""
    directory = alliance.directory
    admin0 = load_named_key(directory, "org0-admin")
    admin1 = load_named_key(directory, "org1-admin")
    dev = load_named_key(directory, "dev")
    with Client(alliance.urls[0], timeout_s=30) as client:
        for role in ("issuer", "gateway"):
            made = client.propose(admin0, gov.GrantRole(account=admin0.address, role=role, org="org0"))
            client.vote(admin1, made.proposal, True)  # type: ignore[arg-type]
        gold = passes.CreateArgs(
            "GOLD", "Vault gold", "fungible", GOLD_RIGHTS, cap=1_000_000, lot_days=30, expiry="lot"
        )
        client.call_checked(admin0, "passes", "create", gold, gas_limit=2_000_000)
        for holder, amount in ((bob, 120), (dev.address, 30)):
            mint = passes.MintArgs("GOLD", holder, amount, memo="seed")
            client.call_checked(admin0, "passes", "mint", mint, gas_limit=2_000_000)
        back = passes.TransferArgs("GOLD", admin0.address, 5)
        client.call_checked(dev, "passes", "transfer", back, gas_limit=2_000_000)
        rights = "One EUR is one euro held at org0's bank."
        eur = passes.CreateArgs("EUR", "Euro settlement", "fungible", rights, 2, minter_role="gateway")
        client.call_checked(admin0, "passes", "create", eur, gas_limit=2_000_000)
        deposit = passes.DepositArgs("EUR", bob, 50_000, "BANK-0001")
        client.call_checked(admin0, "passes", "deposit", deposit, gas_limit=2_000_000)
        source = (EXAMPLES / "token.py").read_text()
        owner = ["0x" + admin0.address.hex()]
        _code_hash, outcome = sdk_contracts.deploy(client, admin0, "token", source, owner)
        assert outcome.proposal is not None
        client.vote(admin1, outcome.proposal, True)
        minted = sdk_contracts.ContractHandle(client, "token").call(admin0, "mint", ["0x" + bob.hex(), 1_000])
    return outcome.proposal, minted.hash.hex()


@pytest.fixture
def chain(tmp_path_factory: pytest.TempPathFactory) -> Alliance:
    if _shared.chain is None:
        directory = tmp_path_factory.mktemp("explorer") / "chain"
        # One empty block a second: the chain moves (the pages are live) without racing past the
        # blocks a test just made (the overview lists the last few).
        running = running_alliance(directory, 2, empty_block_interval_ms=1000)
        _shared.chain = _shared.resources().enter_context(running)
    return _shared.chain


@pytest.fixture
def seed(chain: Alliance) -> Seed:
    if _shared.seed is None:
        _shared.seed = _seed(chain)
    return _shared.seed


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    watched = Watched(context.new_page())
    yield watched.page
    context.close()
    watched.check()


@pytest.fixture(scope="session")
def screenshots() -> Any:
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS_DIR
