"""The methods and builtins a contract may call, metered: ``s.replace(a, b)``, ``sorted(xs)``...

Theory of operation
-------------------
A method call ``obj.name(args)`` becomes ``_m_name(_g_, obj, args)`` (the metering pass does it;
the validator has already refused every method name not in ``language.METHOD_NAMES``). Each
function here checks the receiver's type, so a name allowed for one type cannot reach another
type's method of that name; charges by the size of what it will build or walk; then calls
Python's own method. Builtins whose cost grows with their input are called the same way as
``_b_name(_g_, args)``; the others (``len``, ``range``, ``abs``, ``bool``, ``chr``, ``ord``,
``zip``, ``enumerate``) are bound as plain values in the sandbox's builtins (``SANDBOX_BUILTINS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alliance.contracts import gas as schedule
from alliance.contracts.errors import IntTooLarge
from alliance.contracts.gas import GasMeter, charge
from alliance.contracts.runtime import (
    Enumerate,
    Zip,
    charge_result,
    iterable,
    iterable_weight,
    power,
    text,
    type_name,
)
from alliance.contracts.values import (
    INT_BITS_MAX,
    INT_LIMIT,
    Address,
    SandboxTypeError,
    SandboxValueError,
    check_dict_key,
    weight,
)

_TEXT = (str, bytes, Address)
_SEQUENCES = (list, tuple)
_INTS = (int, bool)
_UTF8 = ("utf-8", "utf8")


def _no_method(obj: object, name: str) -> SandboxTypeError:
    return SandboxTypeError(f"a {type_name(obj)} has no method {name}() in a contract")


def _bytes_gas(gas: GasMeter, size: int, what: str) -> None:
    if size > schedule.BYTES_PER_GAS:
        charge(gas, size // schedule.BYTES_PER_GAS, what)


def _search_gas(gas: GasMeter, haystack: Any, needle: Any) -> None:
    if isinstance(haystack, _TEXT):
        needle_size = len(needle) if isinstance(needle, _TEXT) else 1
        _bytes_gas(gas, len(haystack) * (1 + needle_size // 64), "search")
    else:
        charge(gas, len(haystack) * weight(needle) * schedule.ELEMENT_GAS + 1, "search")


def charge_sort(gas: GasMeter, items: Any) -> None:
    count = len(items)
    if count > 1:
        amount = iterable_weight(items) * (schedule.WALK_GAS + count.bit_length() * schedule.SORT_GAS)
        charge(gas, amount, "sort")


def _key_gas(gas: GasMeter, key: object) -> None:
    amount = check_dict_key(key)
    if amount > 1:
        charge(gas, amount * schedule.WALK_GAS, "hashing")


# --- str and bytes ---------------------------------------------------------------------------------


def m_join(gas: GasMeter, sep: Any, items: Any) -> Any:
    if not isinstance(sep, _TEXT):
        raise _no_method(sep, "join")
    if type(items) not in _SEQUENCES:
        raise SandboxTypeError("join takes a list or tuple")
    total = sum(map(len, items)) + len(sep) * len(items)
    charge(gas, total // schedule.BYTES_PER_GAS + len(items) * schedule.ELEMENT_GAS, "join")
    return sep.join(items)


def m_split(gas: GasMeter, obj: Any, sep: Any = None, maxsplit: int = -1) -> Any:
    if not isinstance(obj, _TEXT):
        raise _no_method(obj, "split")
    charge(gas, (len(obj) + 1) * schedule.ELEMENT_GAS, "split")  # at most one part per character
    return obj.split(sep, maxsplit)


def _strip(name: str) -> Callable[..., Any]:
    def strip(gas: GasMeter, obj: Any, chars: Any = None) -> Any:
        if not isinstance(obj, _TEXT):
            raise _no_method(obj, name)
        _bytes_gas(gas, len(obj) * (1 + (len(chars) if isinstance(chars, _TEXT) else 0) // 64), name)
        return getattr(obj, name)(chars)

    return strip


def _affix(name: str) -> Callable[..., Any]:
    def affix(gas: GasMeter, obj: Any, part: Any) -> bool:
        if not isinstance(obj, _TEXT):
            raise _no_method(obj, name)
        parts = part if type(part) is tuple else (part,)
        _bytes_gas(gas, sum(len(p) for p in parts if isinstance(p, _TEXT)), name)
        return bool(getattr(obj, name)(part))

    return affix


def m_find(gas: GasMeter, obj: Any, sub: Any) -> int:
    if not isinstance(obj, _TEXT):
        raise _no_method(obj, "find")
    _search_gas(gas, obj, sub)
    return int(obj.find(sub))


def m_index(gas: GasMeter, obj: Any, item: Any) -> int:
    if not isinstance(obj, _TEXT) and type(obj) not in _SEQUENCES:
        raise _no_method(obj, "index")
    _search_gas(gas, obj, item)
    return int(obj.index(item))


def m_count(gas: GasMeter, obj: Any, item: Any) -> int:
    if not isinstance(obj, _TEXT) and type(obj) not in _SEQUENCES:
        raise _no_method(obj, "count")
    _search_gas(gas, obj, item)
    return int(obj.count(item))


def m_replace(gas: GasMeter, obj: Any, old: Any, new: Any, count: int = -1) -> Any:
    if not isinstance(obj, _TEXT) or not isinstance(old, _TEXT) or not isinstance(new, _TEXT):
        raise _no_method(obj, "replace")
    _search_gas(gas, obj, old)
    text_: Any = obj
    found: int = text_.count(old)
    if isinstance(count, _INTS) and count >= 0:
        found = min(found, count)
    _bytes_gas(gas, len(obj) + found * max(len(new) - len(old), 0), "replace")
    return text_.replace(old, new, count)


def _case(name: str) -> Callable[..., Any]:
    def change_case(gas: GasMeter, obj: Any) -> Any:
        if not isinstance(obj, _TEXT):
            raise _no_method(obj, name)
        _bytes_gas(gas, 3 * len(obj), name)  # a character's other case can be up to three
        return getattr(obj, name)()

    return change_case


def m_encode(gas: GasMeter, obj: Any, encoding: str = "utf-8") -> bytes:
    if type(obj) is not str:
        raise _no_method(obj, "encode")
    if encoding not in _UTF8:
        raise SandboxValueError("contracts encode text as utf-8 only")
    _bytes_gas(gas, 4 * len(obj), "encode")
    return obj.encode()


def m_decode(gas: GasMeter, obj: Any, encoding: str = "utf-8") -> str:
    if not isinstance(obj, bytes):
        raise _no_method(obj, "decode")
    if encoding not in _UTF8:
        raise SandboxValueError("contracts decode text as utf-8 only")
    _bytes_gas(gas, len(obj), "decode")
    return obj.decode()


def m_hex(gas: GasMeter, obj: Any) -> str:
    if not isinstance(obj, bytes):
        raise _no_method(obj, "hex")
    _bytes_gas(gas, 2 * len(obj), "hex")
    return obj.hex()


def m_isdigit(gas: GasMeter, obj: Any) -> bool:
    if type(obj) is not str:
        raise _no_method(obj, "isdigit")
    _bytes_gas(gas, len(obj), "isdigit")
    return obj.isdigit()


# --- list ------------------------------------------------------------------------------------------


def m_append(gas: GasMeter, obj: Any, item: Any) -> None:
    if type(obj) is not list:
        raise _no_method(obj, "append")
    obj.append(item)


def m_extend(gas: GasMeter, obj: Any, items: Any) -> None:
    if type(obj) is not list:
        raise _no_method(obj, "extend")
    iterable(items)
    charge(gas, len(items) * schedule.ELEMENT_GAS + 1, "extend")
    obj.extend(items)


def m_pop(gas: GasMeter, obj: Any, *args: Any) -> Any:
    if type(obj) is list:
        charge(gas, len(obj) // 64 + 1, "pop")  # the elements after the index move
        return obj.pop(*args)
    if type(obj) is dict:
        if args:
            _key_gas(gas, args[0])
        return obj.pop(*args)
    raise _no_method(obj, "pop")


def m_insert(gas: GasMeter, obj: Any, index: Any, item: Any) -> None:
    if type(obj) is not list:
        raise _no_method(obj, "insert")
    charge(gas, len(obj) // 64 + 1, "insert")
    obj.insert(index, item)


def m_remove(gas: GasMeter, obj: Any, item: Any) -> None:
    if type(obj) is not list:
        raise _no_method(obj, "remove")
    _search_gas(gas, obj, item)
    obj.remove(item)


def m_copy(gas: GasMeter, obj: Any) -> Any:
    if type(obj) is not list and type(obj) is not dict:
        raise _no_method(obj, "copy")
    charge(gas, len(obj) * schedule.ELEMENT_GAS + 1, "copy")
    return obj.copy()


def m_sort(gas: GasMeter, obj: Any, key: Any = None, reverse: Any = False) -> None:
    if type(obj) is not list:
        raise _no_method(obj, "sort")
    charge_sort(gas, obj)
    obj.sort(key=key, reverse=bool(reverse))


def m_reverse(gas: GasMeter, obj: Any) -> None:
    if type(obj) is not list:
        raise _no_method(obj, "reverse")
    charge(gas, len(obj) // 8 + 1, "reverse")
    obj.reverse()


# --- dict and int ----------------------------------------------------------------------------------


def m_get(gas: GasMeter, obj: Any, key: Any, default: Any = None) -> Any:
    if type(obj) is not dict:
        raise _no_method(obj, "get")
    if type(key) is not str and type(key) is not int:
        _key_gas(gas, key)
    return obj.get(key, default)


def m_setdefault(gas: GasMeter, obj: Any, key: Any, default: Any = None) -> Any:
    if type(obj) is not dict:
        raise _no_method(obj, "setdefault")
    _key_gas(gas, key)
    return obj.setdefault(key, default)


def m_update(gas: GasMeter, obj: Any, other: Any) -> None:
    if type(obj) is not dict or type(other) is not dict:
        raise SandboxTypeError("update takes a dict, on a dict")
    charge(gas, sum(check_dict_key(key) for key in other) * schedule.WALK_GAS + 1, "update")
    obj.update(other)


def _view(name: str) -> Callable[..., Any]:
    def view(gas: GasMeter, obj: Any) -> Any:
        if type(obj) is not dict:
            raise _no_method(obj, name)
        return getattr(obj, name)()

    return view


def m_bit_length(gas: GasMeter, obj: Any) -> int:
    if not isinstance(obj, _INTS):
        raise _no_method(obj, "bit_length")
    return obj.bit_length()


METHODS: dict[str, Callable[..., Any]] = {
    "join": m_join,
    "split": m_split,
    "strip": _strip("strip"),
    "lstrip": _strip("lstrip"),
    "rstrip": _strip("rstrip"),
    "startswith": _affix("startswith"),
    "endswith": _affix("endswith"),
    "find": m_find,
    "replace": m_replace,
    "count": m_count,
    "upper": _case("upper"),
    "lower": _case("lower"),
    "encode": m_encode,
    "decode": m_decode,
    "hex": m_hex,
    "isdigit": m_isdigit,
    "index": m_index,
    "append": m_append,
    "extend": m_extend,
    "pop": m_pop,
    "insert": m_insert,
    "remove": m_remove,
    "copy": m_copy,
    "sort": m_sort,
    "reverse": m_reverse,
    "get": m_get,
    "keys": _view("keys"),
    "values": _view("values"),
    "items": _view("items"),
    "setdefault": m_setdefault,
    "update": m_update,
    "bit_length": m_bit_length,
}


# --- builtins --------------------------------------------------------------------------------------


def b_min(gas: GasMeter, *args: Any, key: Any = None) -> Any:
    items = args[0] if len(args) == 1 else args
    iterable(items)
    charge(gas, iterable_weight(items) * schedule.WALK_GAS, "min")
    return min(items, key=key)


def b_max(gas: GasMeter, *args: Any, key: Any = None) -> Any:
    items = args[0] if len(args) == 1 else args
    iterable(items)
    charge(gas, iterable_weight(items) * schedule.WALK_GAS, "max")
    return max(items, key=key)


def b_sum(gas: GasMeter, items: Any, start: Any = 0) -> int:
    iterable(items)
    if not isinstance(start, _INTS):
        raise SandboxTypeError("sum adds ints")
    charge(gas, iterable_weight(items) * schedule.WALK_GAS, "sum")
    total = sum(items, start)
    if not isinstance(total, int):
        raise SandboxTypeError("sum adds ints")
    if not -INT_LIMIT < total < INT_LIMIT:
        raise IntTooLarge(f"a sum over the bound of {INT_BITS_MAX} bits")
    return total


def b_sorted(gas: GasMeter, items: Any, key: Any = None, reverse: Any = False) -> list[Any]:
    iterable(items)
    charge(gas, len(items) * schedule.ELEMENT_GAS, "sorted")
    charge_sort(gas, items)
    return sorted(items, key=key, reverse=bool(reverse))


def b_any(gas: GasMeter, items: Any) -> bool:
    iterable(items)
    charge(gas, len(items) * schedule.ELEMENT_GAS, "any")
    return any(items)


def b_all(gas: GasMeter, items: Any) -> bool:
    iterable(items)
    charge(gas, len(items) * schedule.ELEMENT_GAS, "all")
    return all(items)


# The longest text int() parses in each base: a 4096-bit int's digits, with room for a sign, spaces
# and underscores. Python's own limit on decimal digits is a per-process setting (the engine
# refuses to run under one below INT_TEXT_LENGTH_MAX[10]), so nodes cannot disagree through it.
INT_TEXT_LENGTH_MAX = {2: 4200, 8: 1450, 10: 1300, 16: 1100}


def b_int(gas: GasMeter, value: Any = 0, base: Any = None) -> int:
    if isinstance(value, _INTS) and base is None:
        return int(value)
    if type(value) is not str:
        raise SandboxTypeError(f"int() of a {type_name(value)}: only of int, bool or str")
    radix = 10 if base is None else base
    if radix not in INT_TEXT_LENGTH_MAX:
        raise SandboxValueError("int() parses base 2, 8, 10 or 16")
    if len(value) > INT_TEXT_LENGTH_MAX[radix]:
        raise IntTooLarge(f"int() of {len(value)} characters, over the bound of {INT_BITS_MAX} bits")
    _bytes_gas(gas, len(value) * len(value) // 64, "int()")  # parsing is quadratic in the digits
    parsed = int(value, radix)
    if not -INT_LIMIT < parsed < INT_LIMIT:
        raise IntTooLarge(f"int() over the bound of {INT_BITS_MAX} bits")
    return parsed


def b_str(gas: GasMeter, value: Any = "") -> str:
    return text(gas, value)


def b_bytes(gas: GasMeter, value: Any = b"") -> bytes:
    if isinstance(value, _INTS):
        _bytes_gas(gas, max(value, 0), "bytes()")
        return bytes(value)
    if type(value) in _SEQUENCES:
        charge(gas, len(value) * schedule.ELEMENT_GAS + 1, "bytes()")
        return bytes(value)
    if isinstance(value, bytes):
        _bytes_gas(gas, len(value), "bytes()")
        return bytes(value)
    raise SandboxTypeError(f"bytes() of a {type_name(value)}: use s.encode() for text")


def b_list(gas: GasMeter, items: Any = ()) -> list[Any]:
    iterable(items)
    charge_result(gas, (), len(items), "list()")
    return list(items)


def b_tuple(gas: GasMeter, items: Any = ()) -> tuple[Any, ...]:
    iterable(items)
    charge_result(gas, (), len(items), "tuple()")
    return tuple(items)


def b_dict(gas: GasMeter, items: Any = None, /, **fields: Any) -> dict[Any, Any]:
    """Keys are checked before they are hashed (a nested tuple's hash is unguarded C recursion)."""
    pairs = list(fields.items())
    if items is not None:
        iterable(items)
        charge(gas, len(items) * schedule.ELEMENT_GAS + 1, "dict()")
        pairs = [*(items.items() if type(items) is dict else items), *pairs]
    result: dict[Any, Any] = {}
    for pair in pairs:
        if type(pair) not in _SEQUENCES or len(pair) != 2:
            raise SandboxTypeError("dict() takes a dict or a list of (key, value) pairs")
        _key_gas(gas, pair[0])
        result[pair[0]] = pair[1]
    return result


def b_pow(gas: GasMeter, base: Any, exponent: Any, modulus: Any = None) -> Any:
    if modulus is None:
        return power(gas, base, exponent)
    if not all(isinstance(v, _INTS) for v in (base, exponent, modulus)):
        raise SandboxTypeError("pow() takes ints")
    limbs = (abs(modulus).bit_length() >> 6) + 1
    exponent_bits = abs(exponent).bit_length() + 1
    charge(gas, exponent_bits * limbs * limbs // schedule.MODULAR_POWER_DIVISOR + 1, "pow()")
    return pow(base, exponent, modulus)


def b_divmod(gas: GasMeter, a: Any, b: Any) -> tuple[int, int]:
    if not (isinstance(a, _INTS) and isinstance(b, _INTS)):
        raise SandboxTypeError("divmod() takes ints")
    limbs = ((a.bit_length() >> 6) + 1) * ((b.bit_length() >> 6) + 1)
    charge(gas, limbs // schedule.LIMB_PRODUCT_DIVISOR + 1, "divmod()")
    return divmod(a, b)


BUILTINS: dict[str, Callable[..., Any]] = {
    "min": b_min,
    "max": b_max,
    "sum": b_sum,
    "sorted": b_sorted,
    "any": b_any,
    "all": b_all,
    "int": b_int,
    "str": b_str,
    "bytes": b_bytes,
    "list": b_list,
    "tuple": b_tuple,
    "dict": b_dict,
    "pow": b_pow,
    "divmod": b_divmod,
}


SANDBOX_BUILTINS: dict[str, Any] = {
    "len": len,
    "range": range,
    "abs": abs,
    "bool": bool,
    "chr": chr,
    "ord": ord,
    "zip": Zip,
    "enumerate": Enumerate,
    "Address": Address,
    "ValueError": ValueError,
    "KeyError": KeyError,
    "IndexError": IndexError,
    "ZeroDivisionError": ZeroDivisionError,
    "TypeError": TypeError,
    "ArithmeticError": ArithmeticError,
    "LookupError": LookupError,
}
