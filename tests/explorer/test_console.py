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
from typing import Any

import httpx
import pytest
from conftest import Seed, Watched
from explorer_helpers import DESKTOP, PHONE, Alliance, eventually

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
