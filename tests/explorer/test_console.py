"""``alliance console``: its one-time login, its refusals, and actions signed from the page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from explorer_helpers import DESKTOP, PHONE, Alliance, Seed, Watched, eventually

from alliance.cli.keyring import load_named_key
from alliance.cli.localnet import is_alive

CONSOLE_LINE = re.compile(r"console: (http://127\.0\.0\.1:(\d+))/\?token=([A-Za-z0-9_-]+)")
START_TIMEOUT_S = 30.0


@dataclass
class RunningConsole:
    process: subprocess.Popen[str]
    base: str
    token: str
    line: str

    @property
    def login_url(self) -> str:
        return f"{self.base}/?token={self.token}"


def _first_line(process: subprocess.Popen[str]) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(START_TIMEOUT_S)
    if not found:
        process.kill()
        raise AssertionError(f"alliance console printed nothing within {START_TIMEOUT_S} s")
    return found[0]


@pytest.fixture
def console(chain: Alliance) -> Iterator[RunningConsole]:
    process = subprocess.Popen(
        [sys.executable, "-m", "alliance.cli", "console", "--dir", str(chain.directory), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    line = _first_line(process)
    match = CONSOLE_LINE.fullmatch(line.strip())
    assert match, (
        f"unexpected first line: {line!r} (stderr: {process.stderr.read() if process.poll() else ''})"
    )  # type: ignore[union-attr]
    running = RunningConsole(process, match.group(1), match.group(3), line)
    try:
        yield running
    finally:
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert out == "", f"the console printed more than its one line: {out!r}"
    assert process.returncode in (0, -15), f"the console exited with {process.returncode}: {err[-2000:]}"


def _action(
    client: httpx.Client, base: str, name: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return client.post(f"{base}/console/api/actions/{name}", json=body, headers=headers)


def test_the_console_refuses_every_action_without_its_token(console: RunningConsole, seed: Seed) -> None:
    bodies = {
        "transfer": {"from": "dev", "to": "bob", "amount": 1},
        "propose": {"from": "org0-admin", "kind": "set-param", "name": "block_txs_max", "value": "4000"},
        "vote": {"from": "org1-admin", "proposal": seed.open_proposal, "yes": True},
        "freeze": {"from": "supervisor", "account": "bob", "reason": "no"},
        "pass-create": {"from": "org0-admin", "symbol": "NOPE", "name": "No", "rights": "none"},
        "pass-mint": {"from": "org0-admin", "symbol": seed.symbol, "to": "bob", "amount": 1},
        "pass-freeze": {"from": "org0-admin", "symbol": seed.symbol, "account": "bob", "freeze": True},
        "pass-pause": {"from": "org0-admin", "symbol": seed.symbol, "pause": True},
        "contract-deploy": {"from": "org0-admin", "name": "nope", "source": "x = 1\n"},
        "contract-call": {"from": "dev", "name": seed.contract, "method": "transfer", "args": ["bob", 1]},
    }
    with httpx.Client(timeout=30) as client:
        for name, body in bodies.items():
            answer = _action(client, console.base, name, body)
            assert answer.status_code == 401, name
            assert answer.headers["content-type"] == "application/problem+json"
            assert "login URL" in answer.json()["detail"]
        assert client.get(f"{console.base}/console/api/session").json() == {"authenticated": False}
        # A wrong token opens nothing, and does not use up the right one.
        wrong = client.get(f"{console.base}/?token=not-the-token", follow_redirects=False)
        assert wrong.status_code == 303 and wrong.headers["location"] == "/console?login=refused"
        assert "set-cookie" not in wrong.headers
        # Reads work without it: the pages only read.
        assert client.get(f"{console.base}/").status_code == 200
        assert client.get(f"{console.base}/v1/status").json()["chain_id"]
        # Its own address only: a DNS name rebound to 127.0.0.1 gets nothing.
        assert client.get(f"{console.base}/v1/status", headers={"host": "evil.example:80"}).status_code == 403


def test_the_login_works_once_and_actions_need_the_console_origin(
    console: RunningConsole, chain: Alliance, seed: Seed
) -> None:
    with httpx.Client(timeout=40) as client:
        login = client.get(console.login_url, follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/console"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        again = httpx.get(console.login_url, follow_redirects=False)
        assert again.headers["location"] == "/console?login=refused"
        assert client.get(f"{console.base}/console/api/session").json()["authenticated"] is True

        transfer = {"from": "dev", "to": "bob", "amount": 1}
        foreign = _action(client, console.base, "transfer", transfer, origin="http://evil.example")
        assert foreign.status_code == 403
        cross_site = _action(client, console.base, "transfer", transfer, **{"sec-fetch-site": "cross-site"})
        assert cross_site.status_code == 403
        as_text = client.post(
            f"{console.base}/console/api/actions/transfer",
            content=b"{}",
            headers={"content-type": "text/plain"},
        )
        assert as_text.status_code == 415
        malformed = _action(client, console.base, "transfer", {"from": "dev", "to": "bob", "amount": -1})
        assert malformed.status_code == 422 and malformed.json()["code"] == "invalid_request"

        before = chain.get(f"/v1/accounts/{seed.bob}")["balance"]
        sent = _action(client, console.base, "transfer", transfer, origin=console.base)
        assert sent.status_code == 200, sent.text
        receipt = sent.json()
        assert receipt["tx"]["status"] == "ok" and receipt["tx"]["height"] >= 1
        assert chain.get(f"/v1/txs/{receipt['tx']['hash']}")["ok"] is True
        assert chain.get(f"/v1/accounts/{seed.bob}")["balance"] >= before + 1

        # A refusal by the chain is a receipt too: dev is not the supervisor.
        refused = _action(client, console.base, "freeze", {"from": "dev", "account": "bob", "reason": "test"})
        assert refused.status_code == 200
        assert refused.json()["tx"]["ok"] is False and refused.json()["tx"]["status"] == "permission_denied"


def test_a_vote_cast_in_the_console_shows_on_another_nodes_governance_page(
    browser: Any, console: RunningConsole, chain: Alliance, seed: Seed, screenshots: Any
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watched = [Watched(page)]
    page.goto(console.login_url, wait_until="networkidle")
    assert page.url == f"{console.base}/console"
    page.wait_for_selector("form[data-action=transfer]")
    page.screenshot(path=str(screenshots / "console-desktop.png"), full_page=True)
    # The console's overview is live through its forwarded stream.
    page.goto(console.base + "/", wait_until="networkidle")
    page.wait_for_function("document.getElementById('live').textContent === 'live'", timeout=15_000)

    page.goto(f"{console.base}/proposals/{seed.open_proposal}", wait_until="networkidle")
    page.select_option("form[data-action=vote] select[name=from]", "org1-admin")
    page.click("form[data-action=vote] button[value=true]")
    receipt = page.wait_for_selector(".receipt", timeout=40_000)
    assert receipt is not None
    assert "Voted yes" in receipt.inner_text() and "it passed" in receipt.inner_text()
    page.screenshot(path=str(screenshots / "console-vote-desktop.png"), full_page=True)

    # Node 1 is not the node the console sends to (it picks the first that answers: node 0).
    other = context.new_page()
    watched.append(Watched(other))
    other.goto(f"{chain.urls[1]}/proposals/{seed.open_proposal}", wait_until="networkidle")
    other.wait_for_selector(".progress")
    votes = other.inner_text("section[aria-labelledby='card-votes']")
    assert "org1" in votes and votes.count("yes") == 2
    other.goto(f"{chain.urls[1]}/governance", wait_until="networkidle")
    proposals = other.inner_text("section[aria-labelledby='card-proposals']")
    assert f"#{seed.open_proposal}" in proposals and "passed" in proposals

    context.close()
    signed_out = browser.new_context(viewport=PHONE)
    phone = signed_out.new_page()
    watched.append(Watched(phone))
    phone.goto(console.base + "/console", wait_until="networkidle")
    phone.wait_for_selector("main .card")
    assert "Sign in" in phone.inner_text("main")  # another browser, without the login
    phone.screenshot(path=str(screenshots / "console-signed-out-phone.png"), full_page=True)
    signed_out.close()
    for each in watched:
        each.check()  # nothing fetched from outside 127.0.0.1, no script error


def test_the_console_stops_with_the_program_that_started_it(chain: Alliance) -> None:
    # As a script that starts it in the background and is then killed: the console must not stay
    # behind, holding a session that signs with the alliance's keys.
    command = f'"{sys.executable}" -m alliance.cli console --dir "{chain.directory}" --port 0 & echo $!; wait'
    shell = subprocess.Popen(
        ["bash", "-c", command], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    pid = int(_first_line(shell))
    try:
        assert CONSOLE_LINE.fullmatch(_first_line(shell).strip())
        shell.kill()
        shell.wait(10)
        eventually(lambda: not is_alive(pid), "the console to stop after its parent", 20)
    finally:
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)
        shell.stdout.close()  # type: ignore[union-attr]


POE_SOURCE = Path(__file__).resolve().parents[2] / "examples" / "contracts" / "proof_of_existence.py"


def _receipt(page: Any, form: str, timeout_ms: int = 40_000) -> str:
    """The receipt shown under ``form`` once its action is answered (its text)."""
    found = page.wait_for_selector(f"{form} .receipt, {form} .error", timeout=timeout_ms)
    assert found is not None
    return str(found.inner_text())


def test_passes_and_contracts_are_acted_on_from_the_console_each_with_its_receipt(
    browser: Any, console: RunningConsole, chain: Alliance, seed: Seed, screenshots: Any
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watched = Watched(page)
    page.goto(console.login_url, wait_until="networkidle")
    page.wait_for_selector("form[data-action=pass-create]")

    # Declare a scheme, mint it, freeze a holder, pause it: each a receipt, each true on the chain.
    create = "form[data-action=pass-create]"
    page.select_option(f"{create} select[name=from]", "org0-admin")
    page.fill(f"{create} input[name=symbol]", "SILVER")
    page.fill(f"{create} input[name=name]", "Vault silver")
    page.fill(f"{create} textarea[name=rights]", "One SILVER is one ounce of silver at org0.")
    page.fill(f"{create} input[name=cap]", "5000")
    page.click(f"{create} button[type=submit]")
    assert "Declared the scheme SILVER" in _receipt(page, create)
    assert chain.get("/v1/passes/SILVER")["value"]["rules"]["cap"] == 5000

    mint = "form[data-action=pass-mint]"
    page.fill(f"{mint} input[name=symbol]", "SILVER")
    page.select_option(f"{mint} select[name=from]", "org0-admin")
    page.fill(f"{mint} input[name=to]", "bob")
    page.fill(f"{mint} input[name=amount]", "40")
    page.click(f"{mint} button[type=submit]")
    assert "Minted 40 SILVER to bob" in _receipt(page, mint)
    assert chain.get(f"/v1/passes/SILVER/holders/{seed.bob}")["value"]["balance"] == 40

    freeze = "form[data-action=pass-freeze]"
    page.fill(f"{freeze} input[name=symbol]", "SILVER")
    page.select_option(f"{freeze} select[name=from]", "org0-admin")
    page.fill(f"{freeze} input[name=account]", "bob")
    page.click(f"{freeze} button[value=true]")
    assert "Froze bob in SILVER" in _receipt(page, freeze)
    assert chain.get(f"/v1/passes/SILVER/holders/{seed.bob}")["value"]["frozen"] is True

    pause = "form[data-action=pass-pause]"
    page.fill(f"{pause} input[name=symbol]", "SILVER")
    page.select_option(f"{pause} select[name=from]", "dev")  # not its issuer: refused, with a receipt
    page.click(f"{pause} button[value=true]")
    assert "The chain refused the pause" in _receipt(page, pause)
    page.select_option(f"{pause} select[name=from]", "org0-admin")
    page.click(f"{pause} button[value=true]")
    page.wait_for_function(
        "sel => (document.querySelector(sel)?.textContent || '').includes('Paused')", arg=f"{pause} .receipt"
    )
    assert chain.get("/v1/passes/SILVER")["value"]["rules"]["paused"] is True

    # Deploy a contract from a file on this computer: submitted and proposed, then voted live.
    deploy = "form[data-action=contract-deploy]"
    page.select_option(f"{deploy} select[name=from]", "org0-admin")
    page.fill(f"{deploy} input[name=name]", "poe")
    page.set_input_files(f"{deploy} input[type=file]", str(POE_SOURCE))
    page.wait_for_function("sel => document.querySelector(sel).value.length > 100", arg=f"{deploy} textarea")
    page.click(f"{deploy} button[type=submit]")
    receipt = _receipt(page, deploy)
    assert "proposed to deploy it as poe" in receipt and "is open" in receipt
    proposal = int(re.search(r"proposal #(\d+)", receipt).group(1))  # type: ignore[union-attr]
    page.screenshot(path=str(screenshots / "console-actions-desktop.png"), full_page=True)
    page.goto(f"{console.base}/proposals/{proposal}", wait_until="networkidle")
    page.select_option("form[data-action=vote] select[name=from]", "org1-admin")
    page.click("form[data-action=vote] button[value=true]")
    assert "it passed" in _receipt(page, "form[data-action=vote]")
    assert chain.get("/v1/contracts/poe")["value"]["contract"]["proposal"] == proposal

    # Call it from its page: the ABI types the arguments; then read it back through a view.
    document = "ab" * 32
    page.goto(f"{console.base}/contracts/poe", wait_until="networkidle")
    call = "form[data-action=contract-call]"
    page.wait_for_selector(call)
    page.select_option(f"{call} select[name=from]", "dev")
    page.select_option(f"{call} select[name=method]", "register")
    page.fill(f"{call} input[name=doc_hash]", document)
    page.click(f"{call} button[type=submit]")
    assert "Called poe.register" in _receipt(page, call)
    view = "section[aria-labelledby='card-read-a-view'] form"
    page.select_option(f"{view} select[name=method]", "verify")
    page.fill(f"{view} input[name=doc_hash]", document)
    page.click(f"{view} button[type=submit]")
    result = page.wait_for_selector(".view-result")
    assert result is not None
    owner = page.inner_text(".view-result .result").lower()  # verify answers (owner, time)
    assert load_named_key(chain.directory, "dev").address.hex() in owner
    page.screenshot(path=str(screenshots / "console-contract-desktop.png"), full_page=True)
    context.close()
    watched.check()
