"""``ALLIANCE_TREE_CORE=python`` turns the compiled tree core off; the tests of that core
(``test_tree_core.py``) then skip, on a developer's machine only. In CI (``CI`` set, as ``make
test`` runs there) the switch must not hide them: they run and fail, so a CI job can never pass
without testing the compiled core. No other test module may skip on the switch.

Each case runs pytest in a child process with the environment it describes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE_IS_BUILT = "tests/state/test_tree_core.py::test_the_compiled_core_is_built"
SWITCH = "ALLIANCE_TREE_CORE"
# The modules that may read the switch, and why; anything new here needs the same review.
READERS = {
    "tests/state/test_tree_core.py": "skips outside CI, the only skip the switch may cause",
    "tests/state/test_tree_core_switch.py": "this module",
    "tests/test_benchmarks_run.py": "expects the benchmark to report the core in use; never skips",
}


def run_pytest(node_id: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k not in env}
    child_env.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", node_id],
        cwd=ROOT,
        env=child_env,
        check=False,  # the tests read the exit code
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_in_ci_the_switch_fails_the_core_tests_instead_of_skipping_them() -> None:
    done = run_pytest(CORE_IS_BUILT, CI="true", ALLIANCE_TREE_CORE="python")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout and "skipped" not in done.stdout, done.stdout
    assert "turned off by ALLIANCE_TREE_CORE=python" in done.stdout


def test_outside_ci_the_switch_skips_the_core_tests() -> None:
    done = run_pytest(CORE_IS_BUILT, CI=None, ALLIANCE_TREE_CORE="python")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout and "passed" not in done.stdout, done.stdout
    assert "turned off by ALLIANCE_TREE_CORE=python" in done.stdout


def test_in_ci_without_the_switch_the_core_tests_run() -> None:
    done = run_pytest(CORE_IS_BUILT, CI="true", ALLIANCE_TREE_CORE=None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout


def test_only_the_listed_modules_read_the_switch() -> None:
    readers = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if SWITCH in path.read_text(encoding="utf-8")
    }
    assert readers == set(READERS)
