"""The hostile corpus: each file in ``hostile/`` says what it tries and the code it must fail with.

Shared by the corpus test and by ``hostile_child.py``, which runs the same corpus in a process
whose address space is bounded.
"""

from __future__ import annotations

import re
from pathlib import Path

from memory_host import TX_GAS_MAX, World, address

from alliance.contracts import engine
from alliance.contracts.errors import InvalidContract

HOSTILE_DIR = Path(__file__).resolve().parent / "hostile"
_EXPECT = re.compile(r"^# Must fail: (\w+)$", re.MULTILINE)
_CALL = re.compile(r"^# Call: (\w+)$", re.MULTILINE)


def corpus() -> list[Path]:
    return sorted(HOSTILE_DIR.glob("*.py"))


def expected_code(path: Path) -> str:
    match = _EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} does not say how it must fail"
    return match.group(1)


def run_hostile(path: Path, *, gas_limit: int = TX_GAS_MAX) -> str:
    """The code the contract at ``path`` fails with: at load, or when its method is called."""
    source = path.read_text(encoding="utf-8")
    try:
        engine.load(source)
    except InvalidContract:
        return "invalid_contract"
    match = _CALL.search(source)
    assert match, f"{path.name} loads but names no method to call"
    world = World()
    world.deploy("hostile", source, deployer=address(1))
    return world.transact(address(2), "hostile", match.group(1), [], gas_limit=gas_limit).status
