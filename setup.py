"""Build of the one compiled module: the state tree's lean update path (docs/decisions/007).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the install
still succeeds and the tree runs its pure-Python reference path (slower; ``alliance.state.tree.
TREE_CORE`` says which one runs). With a compiler, it is built against OpenSSL's libcrypto (the
library Python's hashlib uses) when its headers are present, for SHA-256 without Python objects
per hash, and otherwise with hashlib's objects; ``_treecore.OPENSSL`` says which.
"""

import logging

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

OPENSSL_MACRO = ("ALLIANCE_TREECORE_OPENSSL", "1")


class BuildTreeCore(build_ext):
    """Tries the OpenSSL build first and falls back to the hashlib one if it does not compile or
    link (no libssl headers); a failure of that one is the optional extension's usual warning."""

    def build_extension(self, ext: Extension) -> None:
        macros, libraries = list(ext.define_macros), list(ext.libraries)
        ext.define_macros = [*macros, OPENSSL_MACRO]
        ext.libraries = [*libraries, "crypto"]
        try:
            super().build_extension(ext)
        except (CompileError, LinkError):
            logging.getLogger("alliance").warning("tree core: built without OpenSSL (hashlib hashing)")
            ext.define_macros, ext.libraries = macros, libraries
            super().build_extension(ext)


setup(
    ext_modules=[
        Extension(
            "alliance.state._treecore",
            sources=["src/alliance/state/_treecore.c"],
            extra_compile_args=[
                *("-O2", "-Wall", "-Wextra"),
                *("-Wno-unused-parameter", "-Wno-missing-field-initializers"),
            ],
            optional=True,
        )
    ],
    cmdclass={"build_ext": BuildTreeCore},
)
