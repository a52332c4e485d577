"""The validator: every refused construct is refused at load, with its line and the construct named."""

from __future__ import annotations

import pytest

from alliance.contracts import engine
from alliance.contracts.errors import InvalidContract

HEADER = "from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address\n"


def in_function(*lines: str) -> str:
    """A contract whose public method's body starts with ``lines`` at line 5."""
    body = "".join(f"    {line}\n" for line in lines)
    return f"{HEADER}\n@public\ndef f(x: int, y: list[int], d: dict[str, int]) -> int:\n{body}    return 0\n"


def refusal(source: str) -> InvalidContract:
    with pytest.raises(InvalidContract) as caught:
        engine.load(source)
    assert caught.value.code == "invalid_contract"
    return caught.value


# (source, line, words the message must contain)
FUNCTION_CASES = [
    ("z = eval('1')", "eval"),
    ("exec('x = 1')", "exec"),
    ("z = compile('1', 'f', 'eval')", "compile"),
    ("z = open('/etc/passwd')", "open"),
    ("z = getattr(x, 'real')", "getattr"),
    ("setattr(x, 'a', 1)", "setattr"),
    ("delattr(x, 'a')", "delattr"),
    ("z = type(x)", "type"),
    ("z = super()", "super"),
    ("z = globals()", "globals"),
    ("z = locals()", "locals"),
    ("z = vars()", "vars"),
    ("z = dir()", "dir"),
    ("z = id(x)", "id"),
    ("z = hash('a')", "hash"),
    ("z = input()", "input"),
    ("print(x)", "print"),
    ("breakpoint()", "breakpoint"),
    ("z = memoryview(b'a')", "memoryview"),
    ("z = bytearray(3)", "bytearray"),
    ("z = object()", "object"),
    ("z = __import__('os')", "'__import__'"),
    ("z = float(x)", "float"),
    ("z = 1.5", "float literal"),
    ("z = 3j", "float literal"),
    ("z = x / 2", "true division"),
    ("x /= 2", "true division"),
    ("z = x ** -1", "negative exponent"),
    ("z = set()", "set"),
    ("z = frozenset()", "frozenset"),
    ("z = {1, 2}", "set display"),
    ("z = {a for a in y}", "set comprehension"),
    ("global g", "global"),
    ("z = (a for a in y)", "generator expression"),
    ("z = lambda a: a", "lambda"),
    ("z = '{}'.format(x)", "'format'"),
    ("z = '{x}'.format_map(d)", "'format_map'"),
    ("z = f'{x!r}'", "!r"),
    ("z = f'{x!s}'", "!s"),
    ("z = f'{x!a}'", "!a"),
    ("z = f'{x:>10}'", "format spec"),
    ("z = f'{x:{x}}'", "format spec"),
    ("z = x.__class__", "'__class__'"),
    ("z = x._secret", "'_secret'"),
    ("_hidden = 1", "'_hidden'"),
    ("z = x.real", "'real'"),
    ("z = x.numerator", "'numerator'"),
    ("z = 'a'.zfill(3)", "'zfill'"),
    ("assert x", "assert"),
    ("del x", "del"),
    ("z = (w := 3)", "walrus"),
    ("import os", "import"),
    ("from os import path", "import"),
    ("z = f(*y)", "*args"),
    ("z = f(**d)", "**kwargs"),
    ("z = [*y]", "unpacking"),
    ("z = {**d}", "unpacking"),
    ("raise RuntimeError('x')", "raise RuntimeError"),
    ("raise ValueError('x') from None", "chained"),
    ("raise", "bare raise"),
    ("z = x is 5", "'is'"),
    ("z = y is y", "'is'"),
    ("z = ctx.gas", "ctx.gas"),
    ("z = ctx", "'ctx'"),
    ("z = storage", "'storage'"),
    ("z = storage.keys()", "storage methods"),
    ("z = require(x, 'r')", "require"),
    ("z = emit", "'emit'"),
    ("z = [str]", "'str' can only be called"),
    ("z = sorted(y, key=str)", "'str' can only be called"),
    ("z = ValueError('x')", "outside a raise"),
    ("z = undefined_name", "unknown name"),
    ("y[0:2] = [1]", "slice assignment"),
    ("x.attr = 1", "attribute"),
    ("d[x + 1] += 1", "augmented assignment to an item"),
    ("z = ...", "'...'"),
    ("z = x @ x", "'@'"),
    ("z = " + "9" * 1300, "4096 bits"),
    ("z = (1).__add__", "'__add__'"),
    ("z = y.sort", "must be called"),
    ("z = storage[1:2]", "sliced"),
    ("z = storage in y", "'key in storage'"),
    ("z = x(1)()", "call of"),
    ("str = 1", "reserved"),
    ("for storage in y: pass", "reserved"),
]


@pytest.mark.parametrize(("statement", "words"), FUNCTION_CASES)
def test_refused_in_a_function_with_its_line(statement: str, words: str) -> None:
    error = refusal(in_function(statement))
    assert error.line == 5, error.message
    assert "line 5" in error.message
    assert words in error.message, error.message


BLOCK_CASES = [
    (["try:", "    z = 1", "finally:", "    z = 2"], 5, "finally"),
    (["try:", "    z = 1", "except:", "    z = 2"], 7, "bare except"),
    (["try:", "    z = 1", "except Exception:", "    z = 2"], 7, "except Exception"),
    (["try:", "    z = 1", "except BaseException:", "    z = 2"], 7, "except BaseException"),
    (["try:", "    z = 1", "except OSError:", "    z = 2"], 7, "except OSError"),
    (["try:", "    z = 1", "except (ValueError, RuntimeError):", "    z = 2"], 7, "except RuntimeError"),
    (["try:", "    z = 1", "except ValueError as e:", "    z = 2"], 7, "as e"),
    (["with x:", "    z = 1"], 5, "with"),
    (["match x:", "    case 1:", "        z = 1"], 5, "match"),
    (["def inner():", "    return 1"], 5, "nested function"),
    (["class C:", "    pass"], 5, "class definition"),
    (["nonlocal x"], 5, "nonlocal"),
    (["for i in y:", "    z = f'{i:x}'"], 6, "format spec"),
    (["if x:", "    z = eval('1')"], 6, "eval"),
    (["while x:", "    z = 1.0"], 6, "float"),
    (["z = [", "    1,", "    2.5,", "]"], 7, "float"),
    (["try:", "    z = 1", "except* ValueError:", "    z = 2"], 5, "except*"),
]


@pytest.mark.parametrize(("lines", "line", "words"), BLOCK_CASES)
def test_refused_blocks_name_their_line(lines: list[str], line: int, words: str) -> None:
    error = refusal(in_function(*lines))
    assert error.line == line, error.message
    assert words in error.message, error.message


MODULE_CASES = [
    ("import os\n", 1, "import of 'os'"),
    ("import random\n", 1, "import"),
    ("from time import time\n", 1, "import of 'time'"),
    ("from alliance.contract import *\n", 1, "star import"),
    ("from alliance.contract import public as p\n", 1, "as p"),
    ("from alliance.contract import storage_engine\n", 1, "not part of alliance.contract"),
    ("from alliance import contract\n", 1, "import of 'alliance'"),
    (HEADER + "class Token:\n    def __eq__(self, other):\n        return True\n", 2, "class definition"),
    (HEADER + "class Plain:\n    pass\n", 2, "class definition"),
    (HEADER + "for i in range(3):\n    pass\n", 2, "for loop at module level"),
    (HEADER + "X = [i for i in range(3)]\n", 2, "comprehension in a module-level constant"),
    (HEADER + "X = len('a')\n", 2, "Address('0x...')"),
    (HEADER + "X: int = 1\n", 2, "annotated assignment"),
    (HEADER + "X = 1\nX = 2\n", 3, "defined twice"),
    (HEADER + "async def f():\n    pass\n", 2, "async function"),
    (HEADER + "@public\n@view\ndef f() -> None:\n    pass\n", 2, "only @public or @view"),
    (HEADER + "@staticmethod\ndef f() -> None:\n    pass\n", 2, "only @public or @view"),
    (HEADER + "@public\ndef f(x) -> None:\n    pass\n", 3, "no type hint"),
    (HEADER + "@public\ndef f(x: int):\n    pass\n", 3, "no return type hint"),
    (HEADER + "@public\ndef f(x: float) -> None:\n    pass\n", 3, "not an ABI type"),
    (HEADER + "@public\ndef f(x: set[int]) -> None:\n    pass\n", 3, "not an ABI type"),
    (HEADER + "@view\ndef f(x: int | None) -> None:\n    pass\n", 3, "not an ABI type"),
    (HEADER + "@public\ndef f(x: dict[list[int], int]) -> None:\n    pass\n", 3, "dict key type"),
    (HEADER + "@public\ndef f(x: None) -> None:\n    pass\n", 3, "not an ABI type"),
    (HEADER + "@public\ndef f(*args: int) -> None:\n    pass\n", 3, "only plain positional"),
    (HEADER + "@public\ndef f(x: int = 1) -> None:\n    pass\n", 3, "ABI methods take every argument"),
    (HEADER + "def g(x=[]):\n    return x\n", 2, "only int, str, bytes, bool or None literals"),
    (HEADER + "@view\ndef init() -> None:\n    pass\n", 3, "init must be @public"),
    (HEADER + "def init():\n    pass\n", 2, "init must be @public"),
    ("from alliance.contract import view\n@public\ndef f() -> None:\n    pass\n", 2, "not imported"),
    (
        "from alliance.contract import public\n@public\ndef f() -> None:\n    storage['a'] = 1\n",
        4,
        "not imported",
    ),
    (HEADER + "def len(x):\n    return 1\n", 2, "reserved"),
    (HEADER + "def __init__():\n    pass\n", 2, "'__init__'"),
    (HEADER + "def f():\n    yield 1\n", 3, "yield"),
    (HEADER + "def f(x):\n    return [y async for y in x]\n", 3, "async"),
    (HEADER + "def f(x):\n    return await x\n", 3, "await"),
]


@pytest.mark.parametrize(("source", "line", "words"), MODULE_CASES)
def test_refused_module_constructs_name_their_line(source: str, line: int, words: str) -> None:
    error = refusal(source)
    assert error.line == line, error.message
    assert words in error.message, error.message


def test_a_syntax_error_names_its_line() -> None:
    error = refusal(HEADER + "\ndef f(:\n    pass\n")
    assert error.line == 3
    assert "syntax error" in error.message


def test_syntax_newer_than_python_3_11_is_refused() -> None:
    error = refusal(HEADER + "type Alias = int\n")
    assert error.line == 2


def test_source_over_its_bound_is_refused() -> None:
    error = refusal(HEADER + "X = '" + "a" * 200_000 + "'\n")
    assert "over the bound" in error.message


def test_deeply_nested_code_is_refused_without_recursion() -> None:
    nested = "[" * 90 + "]" * 90
    error = refusal(in_function(f"z = {nested}"))
    assert "nested more than" in error.message


def test_a_failing_constant_is_refused_with_its_line() -> None:
    error = refusal(HEADER + "X = 1\nY = 2 ** 10 ** 9\n")
    assert error.line == 3
    assert "out of gas" in error.message
    error = refusal(HEADER + "X = 1 // 0\n")
    assert error.line == 2
    assert "ZeroDivisionError" in error.message


ACCEPTED = (
    HEADER
    + '''
"""A contract using every allowed construct once."""

LIMIT = 10 ** 6
NAMES = ("a", "b")
TABLE = {"a": [1, 2], "b": [3]}
OWNER = Address("0xabababababababababababababababababababab")
NEGATIVE = -5


def helper(values, start=0):
    total = start
    for value in values:
        if value > LIMIT:
            break
        elif value < 0:
            continue
        else:
            total += value
    else:
        total -= 0
    return total


@public
def run(items: list[int], text: str, data: bytes, who: Address, pairs: dict[str, int],
        point: tuple[int, int], many: tuple[int, ...]) -> tuple[int, str, list[str]]:
    """Docstrings are fine."""
    require(len(items) < 100, "too many items")
    n = 0
    while n < 3:
        n += 1
    squares = [i * i for i in items if i % 2 == 0]
    index = {name: position for position, name in enumerate(NAMES)}
    a, b = point
    try:
        value = pairs["missing"]
    except (KeyError, ValueError):
        value = -1
    label = f"{text}-{n}-{who}"
    words = text.upper().split("-")
    parts = sorted(words, key=len, reverse=True)
    storage[("seen", who)] = True
    if ("seen", who) in storage and storage.get("absent") is None:
        del storage[("seen", who)]
    copy = dict(TABLE)
    copy["c"] = [helper(items), sum(many), max(a, b), min(items or [0])]
    emit("ran", count=len(squares), first=index["a"], label=label)
    ok = not (a > b) and -a <= b < 10 ** 9 and value != 0
    return (helper(squares) + (1 if ok else 0), label, parts)


@view
def peek(key: str) -> int:
    return storage.get(key, 0)
'''
)


def test_a_contract_using_every_allowed_construct_loads() -> None:
    program = engine.load(ACCEPTED)
    assert [m.name for m in program.abi.methods] == ["run", "peek"]
    run = program.abi.method("run")
    assert run is not None
    assert run.kind == "public"
    assert [(p.name, p.type) for p in run.params] == [
        ("items", "list[int]"),
        ("text", "str"),
        ("data", "bytes"),
        ("who", "Address"),
        ("pairs", "dict[str, int]"),
        ("point", "tuple[int, int]"),
        ("many", "tuple[int, ...]"),
    ]
    assert run.returns == "tuple[int, str, list[str]]"
