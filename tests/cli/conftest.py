"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance.node.bootstrap import create_alliance


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """A two-organisation alliance directory whose nodes are not running."""
    directory = tmp_path / "chain"
    create_alliance(directory, 2)
    return directory
