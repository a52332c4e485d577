"""Checks shared by the CLI tests."""

from __future__ import annotations


def one_line(err: str) -> str:
    """``err`` is one ``alliance: ...`` line, with no traceback; returned for further checks."""
    assert err.startswith("alliance: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err
