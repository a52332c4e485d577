"""A starting node says which state tree core it runs (the compiled one, and how it hashes, or the
slower Python path and why), once, next to its identity: an operator sees a node that was
installed without a C compiler, or with the core turned off, in its first lines of log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from node_helpers import run

from alliance.node.service import Node
from alliance.state.tree import tree_core_in_use
from alliance.testing.nodes import alliance_homes


def test_a_starting_node_logs_its_state_tree_core_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (home,) = alliance_homes(tmp_path, 1)
    caplog.set_level(logging.INFO, logger="alliance.node")

    async def scenario() -> None:
        async with Node(home):
            pass

    run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "alliance.node"]
    lines = [m for m in messages if "state tree core" in m]
    assert lines == [f"node node0: state tree core {tree_core_in_use(with_reason=True)}"]
