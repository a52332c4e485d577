"""The ABI: a contract's methods, their kinds and typed signatures, from its type hints.

Theory of operation
-------------------
Every ``@public``/``@view`` function declares its arguments and return value with the types
``int``, ``str``, ``bytes``, ``bool``, ``Address``, ``None`` (a return only), ``list[T]``,
``dict[K, V]`` (K a scalar), ``tuple[T, ...]`` and ``tuple[A, B, ...]``. ``type_of`` reads one
such hint from the AST into a ``TypeSpec``; its text (``"list[Address]"``) is what the ABI shows.

A method's arguments arrive as the canonical encoding of the list of their values, which is
byte-identical to an ``array_like`` msgspec Struct of those fields (how native modules take their
arguments). ``ArgsDecoder`` decodes them with msgspec against the tuple of the declared types, so
the type check runs in C, and requires canonical bytes (re-encoding gives back the input); a
mismatch is ``invalid_arguments``. Declared ``Address`` values are then made ``Address`` objects.

A method's return value is checked against its declared type (a list or a tuple is accepted for
either, as they encode alike) and encoded canonically; a mismatch is ``invalid_value``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

import msgspec

from alliance.abi import contracts as contracts_abi
from alliance.contracts import values
from alliance.contracts.errors import InvalidContract, InvalidValue, ValueTooLarge
from alliance.contracts.values import Address, address_of
from alliance.errors import InvalidArguments

SCALAR_TYPES = ("int", "str", "bytes", "bool", "Address")
KEY_TYPES = ("int", "str", "bytes", "Address")
TYPE_DEPTH_MAX = 4
KINDS = ("init", "public", "view")

_Bytes20 = Annotated[bytes, msgspec.Meta(min_length=20, max_length=20)]
_MSGSPEC_SCALARS: dict[str, Any] = {
    "int": int,
    "str": str,
    "bytes": bytes,
    "bool": bool,
    "Address": _Bytes20,
    "None": None,
}


@dataclass(frozen=True)
class TypeSpec:
    """A declared type: ``name`` is a scalar, ``None``, ``list``, ``dict`` or ``tuple``."""

    name: str
    items: tuple[TypeSpec, ...] = ()
    variadic: bool = False  # tuple[T, ...]

    def __str__(self) -> str:
        if not self.items:
            return self.name
        inner = ", ".join(map(str, self.items))
        return f"{self.name}[{inner}, ...]" if self.variadic else f"{self.name}[{inner}]"

    def has_address(self) -> bool:
        return self.name == "Address" or any(item.has_address() for item in self.items)

    def msgspec_type(self) -> Any:
        if self.name in _MSGSPEC_SCALARS:
            return _MSGSPEC_SCALARS[self.name]
        inner = [item.msgspec_type() for item in self.items]
        if self.name == "list":
            return list[inner[0]]  # type: ignore[valid-type]
        if self.name == "dict":
            return dict[inner[0], inner[1]]  # type: ignore[valid-type]
        if self.variadic:
            return tuple[inner[0], ...]  # type: ignore[valid-type]
        return tuple.__class_getitem__(tuple(inner))


# The ABI's Structs are public types of the chain (``alliance.abi.contracts``): the SDK and the API
# read them without the engine.
Abi = contracts_abi.Abi
AbiMethod = contracts_abi.AbiMethod
AbiParam = contracts_abi.AbiParam


# --- reading type hints ----------------------------------------------------------------------------


def type_of(node: ast.expr, *, is_return: bool = False, depth: int = 0) -> TypeSpec:
    """The ``TypeSpec`` of one annotation, or ``InvalidContract`` naming its line."""
    if depth > TYPE_DEPTH_MAX:
        raise InvalidContract(node.lineno, f"a type hint nested more than {TYPE_DEPTH_MAX} deep")
    if isinstance(node, ast.Constant) and node.value is None and is_return and depth == 0:
        return TypeSpec("None")
    if isinstance(node, ast.Name) and node.id in SCALAR_TYPES:
        return TypeSpec(node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return _generic(node.value.id, node.slice, node.lineno, depth)
    raise InvalidContract(node.lineno, f"type hint {ast.unparse(node)!r} is not an ABI type ({_TYPES_HELP})")


_TYPES_HELP = (
    "int, str, bytes, bool, Address, list[T], dict[K, V], tuple[T, ...], tuple[A, B], None as a return"
)


def _generic(name: str, index: ast.expr, line: int, depth: int) -> TypeSpec:
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if name == "list" and len(parts) == 1:
        return TypeSpec("list", (type_of(parts[0], depth=depth + 1),))
    if name == "dict" and len(parts) == 2:
        key = type_of(parts[0], depth=depth + 1)
        if key.name not in KEY_TYPES:
            raise InvalidContract(line, f"a dict key type is one of {', '.join(KEY_TYPES)}, not {key}")
        return TypeSpec("dict", (key, type_of(parts[1], depth=depth + 1)))
    if name == "tuple" and len(parts) == 2 and isinstance(parts[1], ast.Constant) and parts[1].value is ...:
        return TypeSpec("tuple", (type_of(parts[0], depth=depth + 1),), variadic=True)
    if name == "tuple" and parts and not any(_is_ellipsis(p) for p in parts):
        return TypeSpec("tuple", tuple(type_of(p, depth=depth + 1) for p in parts))
    raise InvalidContract(line, f"type hint {name}[{ast.unparse(index)}] is not an ABI type ({_TYPES_HELP})")


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is ...


# --- arguments -------------------------------------------------------------------------------------


class ArgsDecoder:
    """Decodes and checks one method's canonical argument bytes into its positional arguments."""

    __slots__ = ("_conversions", "_decode", "_encode", "_signature")

    def __init__(self, method: str, params: list[tuple[str, TypeSpec]]) -> None:
        kinds = tuple(spec.msgspec_type() for _, spec in params)
        self._decode = msgspec.msgpack.Decoder(tuple.__class_getitem__(kinds) if kinds else tuple[()]).decode
        self._encode = msgspec.msgpack.Encoder().encode
        self._signature = f"{method}({', '.join(f'{n}: {s}' for n, s in params)})"
        converters = [(index, _converter(spec)) for index, (_, spec) in enumerate(params)]
        self._conversions = [(index, conv) for index, conv in converters if conv is not None]

    def __call__(self, raw: bytes) -> list[object] | tuple[object, ...]:
        if len(raw) > values.ARGS_BYTES_MAX:
            raise InvalidArguments(
                f"{len(raw)} bytes of arguments, over the bound of {values.ARGS_BYTES_MAX}"
            )
        try:
            args: tuple[object, ...] = self._decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise InvalidArguments(f"{self._signature}: {exc}") from None
        if self._encode(args) != raw:
            raise InvalidArguments(f"{self._signature}: the arguments are not canonically encoded")
        if not self._conversions:
            return args
        converted = list(args)
        for index, conv in self._conversions:
            converted[index] = conv(converted[index])
        return converted


Converter = Callable[[Any], Any]


def _converter(spec: TypeSpec) -> Converter | None:
    """A function making declared ``Address`` values ``Address`` objects; None when none are."""
    if not spec.has_address():
        return None
    if spec.name == "Address":
        return address_of
    if spec.name == "list" or spec.variadic:
        item = cast(Converter, _converter(spec.items[0]))
        return (
            (lambda v: [item(x) for x in v]) if spec.name == "list" else (lambda v: tuple(item(x) for x in v))
        )
    if spec.name == "dict":
        key = _converter(spec.items[0]) or _identity
        value = _converter(spec.items[1]) or _identity
        return lambda v: {key(k): value(x) for k, x in v.items()}
    items = [_converter(s) or _identity for s in spec.items]
    return lambda v: tuple(conv(x) for conv, x in zip(items, v, strict=True))


def _identity(value: Any) -> Any:
    return value


# --- results ---------------------------------------------------------------------------------------


def encode_result(spec: TypeSpec, value: object) -> bytes:
    """Canonical bytes of a method's return value, after checking it against the declared type."""
    if not conforms(spec, value):
        raise InvalidValue(f"the method returned a {type(value).__name__}, declared {spec}")
    values.count_elements(value)  # 64-bit ints, nesting depth
    raw = values.encode(value)
    if len(raw) > values.RESULT_BYTES_MAX:
        raise ValueTooLarge(f"a result of {len(raw)} bytes, over the bound of {values.RESULT_BYTES_MAX}")
    return raw


def conforms(spec: TypeSpec, value: object) -> bool:
    name = spec.name
    kind = type(value)
    if name == "None":
        return value is None
    if name == "int":
        return kind is int
    if name == "bool":
        return kind is bool
    if name == "str":
        return kind is str
    if name == "bytes":
        return kind is bytes or kind is Address
    if name == "Address":
        return (kind is bytes or kind is Address) and len(cast(bytes, value)) == values.ADDRESS_SIZE_BYTES
    if name == "dict":
        if kind is not dict:
            return False
        key_spec, value_spec = spec.items
        entries = cast(dict[object, object], value).items()
        return all(conforms(key_spec, k) and conforms(value_spec, v) for k, v in entries)
    if kind is not list and kind is not tuple:
        return False
    items = cast(list[object], value)
    if name == "list" or spec.variadic:
        return all(conforms(spec.items[0], item) for item in items)
    return len(items) == len(spec.items) and all(
        conforms(s, v) for s, v in zip(spec.items, items, strict=True)
    )
