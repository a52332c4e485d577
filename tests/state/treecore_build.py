"""A second build of the compiled tree core, the one without OpenSSL, for the tests.

Theory of operation
-------------------
``setup.py`` builds ``_treecore.c`` with ``ALLIANCE_TREECORE_OPENSSL`` defined (hashing through
OpenSSL's EVP interface) wherever OpenSSL's headers are, and falls back to the build without it
(hashing through the ``hashlib`` objects ``tree.py`` prepares) only where they are missing. So the
installed module is nearly always the OpenSSL build, and the fallback's code would never run. This
compiles the same source once more, without that macro, with the compiler and flags Python itself
was built with (``sysconfig``, as setuptools uses them), into a directory of the caller's, and
loads it under its own file name: a separate module with its own configuration, which
``tree.configure_core`` then configures like the installed one.

It needs a C compiler and the Python headers, as ``pip install -e .`` does; CI has both. A failed
build raises (it never skips): the fallback is what a node without OpenSSL headers runs.
"""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

from alliance.state.tree import configure_core

SOURCE = Path(__file__).resolve().parents[2] / "src" / "alliance" / "state" / "_treecore.c"
# setup.py's extra_compile_args (kept in step by hand; the build's own warnings stay visible).
COMPILE_ARGS = ("-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers")
BUILD_TIMEOUT_S = 120


def config_args(name: str) -> list[str]:
    return shlex.split(str(sysconfig.get_config_var(name) or ""))


def run_tool(command: list[str]) -> None:
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed ({done.returncode}):\n{done.stderr}")


def build_hashlib_core(out_dir: Path) -> ModuleType:
    """Compile ``_treecore.c`` without ``ALLIANCE_TREECORE_OPENSSL`` into ``out_dir``, load it and
    configure it; the module returned hashes through hashlib (its ``OPENSSL`` is False)."""
    includes = {sysconfig.get_paths()["include"], sysconfig.get_paths()["platinclude"]}
    obj = out_dir / "_treecore.o"
    library = out_dir / f"_treecore{sysconfig.get_config_var('EXT_SUFFIX')}"
    run_tool(
        [
            *config_args("CC"),
            *config_args("CFLAGS"),
            *config_args("CCSHARED"),
            *(f"-I{path}" for path in sorted(includes)),
            *COMPILE_ARGS,
            "-UALLIANCE_TREECORE_OPENSSL",
            "-c",
            str(SOURCE),
            "-o",
            str(obj),
        ]
    )
    run_tool([*config_args("LDSHARED"), str(obj), "-o", str(library)])
    # The module's init function is PyInit__treecore, so it loads under that name; it is not put
    # in sys.modules, and its file differs from the installed one's, so the two never meet.
    spec = importlib.util.spec_from_file_location("_treecore", library)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {library}")
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    return configure_core(core)
