"""The layer rules of docs/architecture.md, checked by walking every module's imports with ``ast``.

Layers, top may import bottom only::

    testing | cli, explorer, apps | api, sdk | node | p2p, storage | execution, mempool
    | app, contracts, contract | consensus, ledger, state, abi | crypto, codec | types, errors

A module may import its own layer and any layer below it, except where a rule below narrows that:
``consensus`` may import only ``consensus``, ``ledger``, ``crypto``, ``codec``, ``types`` and
``errors`` (so not ``state``, its sibling), and no I/O, clock or randomness from the standard
library; ``apps`` are built on public interfaces and may not reach into ``node``'s modules. The
node driver and block sync (``node.driver``, ``node.sync``, ``node.membership``) are sans-IO like
the core, and both the runtime and the simulator drive them: neither keeps a Ready loop of its own.
``testing`` (the simulator) may import anything and nothing in the product may import it. Imports
inside functions and under ``TYPE_CHECKING`` count like any other: a layer is a dependency rule,
not an import-time one. A package missing from the table fails the test, so the table stays whole.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

# Rank of each layer (first component under ``alliance``); higher may import lower. The key "" is
# the root package ``alliance/__init__.py``.
LAYERS: dict[str, int] = {
    "": 0,
    "types": 0,
    "errors": 0,
    "crypto": 1,
    "codec": 1,
    "consensus": 2,
    "ledger": 2,
    "state": 2,
    "abi": 2,
    "app": 3,
    "contract": 3,  # alliance/contract.py: the module contract sources import
    "contracts": 3,
    "execution": 4,
    "mempool": 4,
    "p2p": 5,
    "storage": 5,
    "node": 6,
    "api": 7,
    "sdk": 7,
    "cli": 8,
    "explorer": 8,
    "apps": 8,
    "testing": 9,
}

# Layers that may import only these layers, whatever the ranks allow.
ALLOWED_ONLY: dict[str, frozenset[str]] = {
    "consensus": frozenset({"consensus", "ledger", "crypto", "codec", "types", "errors", ""}),
}

# Packages a layer may import as a package (``alliance.node``) but not module by module.
INTERNALS_FORBIDDEN: dict[str, frozenset[str]] = {
    "apps": frozenset({"node"}),
}

# Standard-library modules a layer may not import at all: the consensus core is sans-IO.
STDLIB_FORBIDDEN: dict[str, frozenset[str]] = {
    "consensus": frozenset(
        {"asyncio", "socket", "ssl", "time", "random", "os", "threading", "logging", "importlib"}
    ),
}
# The same for single modules: the node's sans-IO parts (they may log; time and randomness come
# from their host).
SANS_IO = frozenset(
    {"asyncio", "socket", "ssl", "time", "random", "os", "threading", "importlib", "selectors"}
)
MODULE_STDLIB_FORBIDDEN: dict[str, frozenset[str]] = {
    "alliance.node.driver": SANS_IO,
    "alliance.node.sync": SANS_IO,
    "alliance.node.membership": SANS_IO,
}

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE_ROOT = SRC / "alliance"


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.reason}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_ROOT.rglob("*.py"))}


def layer_of(module: str) -> str:
    """``alliance.crypto.keys`` -> ``crypto``; ``alliance`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, target] if target else base)


def imported_modules(
    module: str, tree: ast.AST, *, is_package: bool, known: frozenset[str]
) -> list[tuple[int, str]]:
    """Every (line, absolute module name) that ``tree`` imports, relative imports resolved.

    ``from alliance import codec`` counts as importing ``alliance.codec`` when that is a module.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = candidate in known or (base == "alliance" and alias.name in LAYERS)
                found.append((node.lineno, candidate if is_module else base))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append((node.lineno, "importlib"))  # a dynamic import is judged like importlib
    return found


def check_module(
    module: str, source: str, *, is_package: bool = False, known: frozenset[str] = frozenset()
) -> list[Violation]:
    """The layer violations in one module's source."""
    tree = ast.parse(source, filename=module)
    layer = layer_of(module)
    if layer not in LAYERS:
        return [Violation(module, 1, module, f"package {layer!r} is not in the layer table")]
    violations = []
    forbidden = MODULE_STDLIB_FORBIDDEN.get(module, frozenset())
    for line, imported in imported_modules(module, tree, is_package=is_package, known=known):
        reason = _judge(layer, imported)
        if reason is None and imported.partition(".")[0] in forbidden:
            reason = f"{module} is sans-IO: it may not import {imported}"
        if reason:
            violations.append(Violation(module, line, imported, reason))
    return violations


def _judge(layer: str, imported: str) -> str | None:
    top = imported.partition(".")[0]
    if top != "alliance":
        if top in STDLIB_FORBIDDEN.get(layer, frozenset()):
            return f"{layer} may not import {top} (sans-IO: no I/O, clock, randomness or threads)"
        return None
    target = layer_of(imported)
    if target not in LAYERS:
        return f"package {target!r} is not in the layer table"
    if LAYERS[target] > LAYERS[layer]:
        return f"{layer} (layer {LAYERS[layer]}) may not import {target} (layer {LAYERS[target]})"
    allowed = ALLOWED_ONLY.get(layer)
    if allowed is not None and target not in allowed:
        return f"{layer} may import only {', '.join(sorted(a for a in allowed if a))}"
    if target in INTERNALS_FORBIDDEN.get(layer, frozenset()) and imported != f"alliance.{target}":
        return f"{layer} may use {target} only through the alliance.{target} package, not its modules"
    return None


# --- the real tree -----------------------------------------------------------------------------------

MODULES = source_modules()


def test_the_walk_finds_the_package() -> None:
    assert "alliance" in MODULES
    assert "alliance.errors" in MODULES
    assert "alliance.codec" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_respects_layers(module: str) -> None:
    path = MODULES[module]
    violations = check_module(
        module,
        path.read_text(encoding="utf-8"),
        is_package=path.name == "__init__.py",
        known=frozenset(MODULES),
    )
    assert not violations, "\n".join(map(str, violations))


def _calls_ready(path: Path) -> list[int]:
    """Lines of ``path`` that call a ``.ready()`` method: a Ready loop of its own."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "ready"
    ]


def test_the_runtime_and_the_simulator_drive_one_driver_and_one_block_sync() -> None:
    """The asyncio runtime and the simulator's node are hosts of ``node.driver.NodeDriver`` (which
    holds ``node.sync.BlockSync``); neither drains the consensus core itself."""
    runtime = "alliance.node.runtime"
    sim = [m for m in MODULES if m.startswith("alliance.testing.sim")]
    imports = {
        m: {name for _, name in imported_modules(m, ast.parse(MODULES[m].read_text()), is_package=False,
                                                   known=frozenset(MODULES))}
        for m in [runtime, *sim]
    }
    assert "alliance.node.driver" in imports[runtime]
    sim_imports = set().union(*(imports[m] for m in sim))
    assert {"alliance.node.driver", "alliance.node.sync"} <= sim_imports
    driver_imports = {n for _, n in imported_modules(
        "alliance.node.driver", ast.parse(MODULES["alliance.node.driver"].read_text()), is_package=False,
        known=frozenset(MODULES))}
    assert "alliance.node.sync" in driver_imports
    for module in [runtime, *sim]:
        assert _calls_ready(MODULES[module]) == [], f"{module} runs a Ready loop of its own"
    assert _calls_ready(MODULES["alliance.node.driver"]), "the driver is where the Ready loop is"


# --- the checker itself ------------------------------------------------------------------------------

KNOWN = frozenset(
    {
        "alliance",
        "alliance.codec",
        "alliance.errors",
        "alliance.types",
        "alliance.crypto",
        "alliance.crypto.keys",
        "alliance.ledger",
        "alliance.ledger.block",
        "alliance.state",
        "alliance.storage",
        "alliance.node",
        "alliance.node.runtime",
    }
)


def reasons(module: str, source: str, *, is_package: bool = False) -> list[str]:
    return [v.reason for v in check_module(module, source, is_package=is_package, known=KNOWN)]


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("alliance.ledger.block", "from alliance.crypto import merkle\nfrom alliance import codec, errors\n"),
        ("alliance.ledger.block", "from . import transaction\nfrom ..crypto.keys import AccountKey\n"),
        ("alliance.consensus.core", "import alliance.ledger.block\nfrom alliance.types import invariant\n"),
        ("alliance.consensus.core", "import dataclasses, enum\nfrom collections.abc import Iterable\n"),
        ("alliance.cli.main", "from alliance.node.runtime import Runtime\nimport asyncio, os\n"),
        ("alliance.apps.goodness", "from alliance.sdk import Client\nfrom alliance import node\n"),
        ("alliance.testing.sim", "from alliance.node.runtime import Runtime\nimport random\n"),
        ("alliance", "from alliance.errors import AllianceError\n"),
    ],
)
def test_checker_accepts_allowed_imports(module: str, source: str) -> None:
    assert reasons(module, source) == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("alliance.ledger.block", "from alliance.execution.executor import Executor\n"),
        ("alliance.ledger.block", "import alliance.storage.lmdb\n"),
        ("alliance.ledger.block", "from alliance import storage\n"),
        ("alliance.ledger.block", "from ..storage import lmdb\n"),
        ("alliance.crypto.keys", "from alliance.ledger.block import Block\n"),
        ("alliance.errors", "from alliance.codec import encode\n"),
        ("alliance.consensus.core", "from alliance.state.tree import Tree\n"),
        ("alliance.consensus.core", "from alliance import state\n"),
        ("alliance.consensus.core", "from alliance.execution import executor\n"),
        ("alliance.consensus.core", "import time\n"),
        ("alliance.consensus.core", "import os.path\n"),
        ("alliance.consensus.core", "from random import Random\n"),
        ("alliance.consensus.core", "from asyncio import Queue\n"),
        ("alliance.consensus.core", "import logging\n"),
        ("alliance.consensus.core", "import socket, ssl\n"),
        ("alliance.consensus.core", "from threading import Lock\n"),
        ("alliance.consensus.core", "os = __import__('os')\n"),
        ("alliance.consensus.core", "def later():\n    import time\n    return time.time()\n"),
        ("alliance.consensus.core", "if TYPE_CHECKING:\n    import socket\n"),
        ("alliance.apps.goodness", "from alliance.node.runtime import Runtime\n"),
        ("alliance.node.runtime", "from alliance.testing.sim import Cluster\n"),
        ("alliance.cli.main", "from alliance.testing import sim\n"),
        ("alliance.ledger.block", "from alliance.mystery import thing\n"),
        ("alliance.mystery.thing", "import json\n"),
        ("alliance.node.driver", "import asyncio\n"),
        ("alliance.node.sync", "import time\n"),
        ("alliance.node.driver", "from random import Random\n"),
        ("alliance.abi.gov", "from alliance.execution.modules import governance\n"),
    ],
)
def test_checker_catches_violation(module: str, source: str) -> None:
    assert reasons(module, source), f"{module} importing {source!r} should be a violation"


def test_checker_resolves_relative_imports_in_a_package() -> None:
    # In alliance/consensus/__init__.py, "." is alliance.consensus and ".." is alliance.
    assert reasons("alliance.consensus", "from . import core\n", is_package=True) == []
    assert reasons("alliance.consensus", "from ..state import tree\n", is_package=True)
    assert reasons("alliance.consensus", "from .. import storage\n", is_package=True)


def test_violation_names_module_line_and_import() -> None:
    [violation] = check_module("alliance.ledger.block", "import json\nimport alliance.node\n", known=KNOWN)
    assert str(violation).startswith("alliance.ledger.block:2 imports alliance.node: ledger (layer 2)")


def test_layer_table_is_the_design() -> None:
    # docs/architecture.md names these packages; each must have a layer.
    design = [
        *("errors", "types", "codec", "crypto", "consensus", "app", "ledger", "state", "execution"),
        *("contracts", "mempool", "storage", "p2p", "node", "api", "sdk", "cli", "explorer", "apps"),
        "testing",
    ]
    assert set(design) <= set(LAYERS)
    assert LAYERS["consensus"] == LAYERS["ledger"] == LAYERS["state"]
    assert LAYERS["cli"] > LAYERS["api"] > LAYERS["node"] > LAYERS["p2p"] > LAYERS["execution"]
    assert LAYERS["execution"] > LAYERS["app"] > LAYERS["consensus"] > LAYERS["crypto"] > LAYERS["errors"]
