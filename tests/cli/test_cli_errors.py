"""Bad input to the ``alliance`` command: one line on standard error, a non-zero exit, no traceback.

Most cases call ``main`` in-process (fast); a few run the installed script in a subprocess, which is
how users meet it, to check the exit status and that no traceback reaches the terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import one_line

from alliance.cli.main import main

ALLIANCE = Path(sys.executable).parent / "alliance"


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    return one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["init", "--nodes", "0"], 2, "1 to 64 nodes"),
        (["init", "--nodes", "many"], 2, "--nodes"),
        (["init", "--chain-id", "no spaces"], 2, "chain id"),
        (["status", "--dir", "{missing}"], 2, "no alliance in"),
        (["up", "--dir", "{chain}", "--bogus"], 2, "--bogus"),
        (["tx", "transfer", "--from", "ghost", "--to", "dev", "--amount", "1", "--dir", "{chain}"], 2,
         "no key named 'ghost'"),
        (["tx", "transfer", "--from", "dev", "--to", "0x1234", "--amount", "1", "--dir", "{chain}"], 2,
         "40 hex digits"),
        (["tx", "transfer", "--from", "dev", "--to", "nobody", "--amount", "1", "--dir", "{chain}"], 2,
         "neither an address"),
        (["tx", "transfer", "--from", "dev", "--to", "dev", "--amount", "0", "--dir", "{chain}"], 2,
         "--amount"),
        (["tx", "transfer", "--to", "dev", "--amount", "1", "--dir", "{chain}"], 2, "--from"),
        (["query", "account", "0xZZ", "--dir", "{chain}"], 2, "address"),
        (["query", "block", "tip", "--dir", "{chain}"], 2, "'latest' or a height"),
        (["query", "tx", "abc", "--dir", "{chain}"], 2, "64 hex digits"),
        (["node", "start", "--home", "{missing}"], 2, "no node configuration"),
        (["frobnicate"], 2, "frobnicate"),
        # Operational: the alliance exists but none of its nodes runs.
        (["tx", "transfer", "--from", "dev", "--to", "org0-admin", "--amount", "1", "--dir", "{chain}"], 1,
         "no node of the alliance"),
        (["query", "account", "dev", "--dir", "{chain}"], 1, "no node of the alliance"),
        (["status", "--api", "http://127.0.0.1:9"], 1, "cannot reach"),
    ],
)
def test_bad_input_is_one_line(
    chain: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, needle: str
) -> None:
    filled = [a.format(chain=chain, missing=tmp_path / "missing") for a in args]
    assert main(filled) == code
    assert needle in one_line_error(capsys)


def test_init_then_second_init_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "d"
    assert main(["init", "--nodes", "2", "--dir", str(directory), "--json", "--chain-id", "c1"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["chain_id"] == "c1" and [n["name"] for n in made["nodes"]] == ["node0", "node1"]
    assert {k["name"] for k in made["keys"]} == {"dev", "supervisor", "org0-admin", "org1-admin"}
    assert main(["init", "--dir", str(directory)]) == 2
    assert "already holds an alliance" in one_line_error(capsys)


def test_status_of_a_stopped_alliance(chain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--json", "--dir", str(chain)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"chain_id", "height", "nodes", "validators"}
    assert report["height"] is None and report["validators"] == []
    for node in report["nodes"]:
        assert set(node) == {"name", "pid", "api", "p2p", "height", "app_hash", "running", "validator"}
        assert node["running"] is False and node["pid"] is None and node["height"] is None
    assert main(["status", "--dir", str(chain)]) == 0  # the table for people
    assert "node1" in capsys.readouterr().out


def test_keys_resolve_in_transfers_by_name(chain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "list", "--json", "--dir", str(chain)]) == 0
    names = {k["name"] for k in json.loads(capsys.readouterr().out)}
    assert names == {"dev", "supervisor", "org0-admin", "org1-admin"}


@pytest.mark.parametrize(
    ("args", "code"),
    [(["init", "--nodes", "0"], 2), (["status", "--dir", "{missing}", "--json"], 2),
     (["tx", "transfer", "--from", "dev"], 2), ([], 2)],
)
def test_the_installed_script(tmp_path: Path, args: list[str], code: int) -> None:
    filled = [a.format(missing=tmp_path / "missing") for a in args]
    done = subprocess.run([str(ALLIANCE), *filled], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, check=False)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    if filled:
        assert done.stderr.startswith("alliance: ") and done.stderr.count("\n") == 1, done.stderr


def test_module_entry_point(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "alliance.cli", "version"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 0 and done.stdout.strip()


def test_bench_refuses_bad_options_before_starting_any_node(
    chain: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--dir", str(chain), "--recipients", "bogus"]) == 2
    assert "recipients is one of existing, fresh" in one_line_error(capsys)
    assert list(chain.glob("nodes/*/node.pid")) == []  # nothing was started for a refused run


def test_an_error_inside_a_task_group_is_named_in_its_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node's task group wraps the error that stopped it; the one line names that error."""
    import alliance.cli.main as cli_module
    from alliance.errors import StoreFormatError

    def failing(**_: object) -> None:
        raise ExceptionGroup("unhandled errors in a TaskGroup", [StoreFormatError("the store is format 1")])

    monkeypatch.setattr(cli_module, "app", failing)
    assert main(["status"]) == 2  # a usage error, exit 2, as if raised directly
    assert "the store is format 1" in one_line_error(capsys)

    def crashing(**_: object) -> None:
        raise ExceptionGroup("unhandled errors in a TaskGroup", [KeyError("gone")])

    monkeypatch.setattr(cli_module, "app", crashing)
    assert main(["status"]) == 1
    assert "internal error: KeyError" in one_line_error(capsys)
