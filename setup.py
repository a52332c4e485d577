"""Build of the one compiled module: the state tree's lean update path (docs/decisions/006).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the install
still succeeds and the tree runs its pure-Python reference path (slower; ``alliance.state.tree.
TREE_CORE`` says which one runs).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "alliance.state._treecore",
            sources=["src/alliance/state/_treecore.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
