"""The contract language's names: what a contract may name, call and catch, in one place.

Theory of operation: the validator refuses every name and attribute outside these tables, the
metering pass rewrites the contract API's names into calls of the engine's helpers, and the
runtime binds exactly ``BUILTIN_NAMES`` (checked by a test), so the three agree by construction.
"""

from __future__ import annotations

API_MODULE = "alliance.contract"
API_NAMES = frozenset({"public", "view", "ctx", "storage", "emit", "require", "revert", "call", "Address"})
DECORATORS = frozenset({"public", "view"})
CTX_ATTRIBUTES = frozenset({"sender", "contract", "height", "time_ms"})
INIT_METHOD = "init"

# Exceptions a contract may raise and catch: none is a base of the engine's own stops.
EXCEPTION_NAMES = frozenset(
    {
        "ValueError",
        "KeyError",
        "IndexError",
        "ZeroDivisionError",
        "TypeError",
        "ArithmeticError",
        "LookupError",
    }
)

# Builtins bound in the sandbox (the engine's metered versions of most of them).
BUILTIN_NAMES = frozenset(
    {
        *("len", "range", "min", "max", "abs", "sum", "sorted", "enumerate", "zip", "any", "all"),
        *("int", "str", "bytes", "bool", "list", "dict", "tuple", "divmod", "pow", "chr", "ord"),
    }
)

# Builtins the engine meters by size: a contract calls them directly (the metering pass passes them the
# gas meter) and cannot pass them around as values; the others are plain values too (key=len).
METERED_BUILTINS = frozenset(
    {
        "min",
        "max",
        "sum",
        "sorted",
        "any",
        "all",
        "int",
        "str",
        "bytes",
        "list",
        "dict",
        "tuple",
        "pow",
        "divmod",
    }
)
PLAIN_BUILTINS = BUILTIN_NAMES - METERED_BUILTINS

# Methods a contract may call, by name; the runtime checks the receiver's type for each.
METHOD_NAMES = frozenset(
    {
        # str and bytes
        *("join", "split", "strip", "lstrip", "rstrip", "startswith", "endswith", "find", "replace"),
        *("count", "upper", "lower", "encode", "decode", "hex", "isdigit", "index"),
        # list
        *("append", "extend", "pop", "insert", "remove", "copy", "sort", "reverse"),
        # dict
        *("get", "keys", "values", "items", "setdefault", "update"),
        # int
        "bit_length",
    }
)

# Names refused with a reason (anything else unknown is refused as unknown).
FORBIDDEN_NAMES: dict[str, str] = {
    **dict.fromkeys(("eval", "exec", "compile", "breakpoint", "help"), "it runs or inspects arbitrary code"),
    **dict.fromkeys(
        ("getattr", "setattr", "delattr", "hasattr", "vars", "dir"), "it reaches attributes by name"
    ),
    **dict.fromkeys(
        ("type", "super", "object", "isinstance", "issubclass", "classmethod"), "it reaches classes"
    ),
    **dict.fromkeys(("staticmethod", "property", "callable"), "it reaches classes"),
    **dict.fromkeys(("globals", "locals"), "it reaches the namespace"),
    "id": "object ids are memory addresses, different on every node",
    "hash": "string hashes differ from process to process",
    **dict.fromkeys(("open", "input", "print", "exit", "quit"), "a contract does no I/O"),
    **dict.fromkeys(("memoryview", "bytearray"), "mutable buffers are not part of the language"),
    **dict.fromkeys(("float", "complex", "round"), "floats round differently across platforms"),
    **dict.fromkeys(("set", "frozenset"), "a set's iteration order depends on the process's hash seed"),
    **dict.fromkeys(("repr", "ascii", "format"), "it can show object addresses; use str() or f-strings"),
    **dict.fromkeys(
        ("iter", "next", "map", "filter", "reversed", "aiter", "anext"),
        "lazy iterators are not part of the language; use a comprehension",
    ),
}
