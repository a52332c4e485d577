"""Checks shared by the CLI tests, and the command line run against a node from async tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from alliance.cli.main import main


def one_line(err: str) -> str:
    """``err`` is one ``alliance: ...`` line, with no traceback; returned for further checks."""
    assert err.startswith("alliance: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


class Cli:
    """``alliance`` run in a worker thread (it is synchronous) against the node at ``url``, while the
    node runs on the test's event loop."""

    def __init__(self, directory: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.directory, self.url, self.capsys = directory, url, capsys

    async def __call__(self, *args: str, code: int = 0, as_json: bool = True) -> Any:
        """Run ``alliance ARGS --dir D --api URL [--json]``; its JSON answer (or its text, or its
        one-line error)."""
        self.capsys.readouterr()
        argv = [*args, "--dir", str(self.directory), "--api", self.url, *(["--json"] if as_json else [])]
        status = await asyncio.to_thread(main, argv)
        out, err = self.capsys.readouterr()
        assert status == code, f"alliance {' '.join(args)}: exit {status}, {err.strip() or out.strip()}"
        if code != 0:
            assert "Traceback" not in err and err.count("\n") == 1, err
            return err.strip()
        return json.loads(out) if as_json and out.strip().startswith(("{", "[")) else out
