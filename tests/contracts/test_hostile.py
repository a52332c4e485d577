"""The hostile corpus: refused at load or stopped with its own code, and within a memory bound."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_corpus import corpus, expected_code, run_hostile

HERE = Path(__file__).resolve().parent
CORPUS = corpus()


def test_the_corpus_covers_escapes_bombs_and_nondeterminism() -> None:
    names = [path.stem for path in CORPUS]
    for family in ("escape_", "catch_", "bomb_", "nondet_"):
        assert sum(name.startswith(family) for name in names) >= 4, family
    codes = {expected_code(path) for path in CORPUS}
    assert {
        "invalid_contract",
        "out_of_gas",
        "int_too_large",
        "call_depth_exceeded",
        "value_too_large",
    } <= codes


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_hostile_contract_fails_with_its_code(path: Path) -> None:
    assert run_hostile(path) == expected_code(path)


def test_the_corpus_runs_within_a_memory_bound() -> None:
    """A node's memory stays within its bound: the whole corpus in a process whose address space
    is capped (``hostile_child.py`` sets RLIMIT_AS), every contract stopped with its code."""
    result = subprocess.run(
        [sys.executable, str(HERE / "hostile_child.py")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=HERE,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["limit_bytes"] > 0
    assert report["codes"] == {path.stem: expected_code(path) for path in CORPUS}
