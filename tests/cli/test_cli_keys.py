"""The ``alliance`` command line: keys, version, one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from alliance.cli.main import main
from alliance.crypto.keys import parse_address


def test_keys_new_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new", "bob", "--dir", str(tmp_path), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["name"] == "bob"
    assert len(parse_address(made["address"])) == 20
    key_file = tmp_path / "keys" / "bob.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert main(["keys", "list", "--dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [made]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new", "bob", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["keys", "new", "bob", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alliance: ") and err.count("\n") == 1 and "exists already" in err
    assert main(["keys", "new", "../evil", "--dir", str(tmp_path)]) == 2
    assert "key name" in capsys.readouterr().err


def test_version_and_empty_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["keys", "list", "--dir", str(tmp_path / "none"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
