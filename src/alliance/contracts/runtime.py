"""The engine's helpers that metered contract code calls: operators, comparisons, items, iteration.

Theory of operation
-------------------
The metering pass rewrites every operator whose cost grows with its operands into a call of one of
these functions, passing the gas meter first: ``a * b`` becomes ``_mul_(_g_, a, b)``. Each checks
the operand types it knows, charges by the size of the result *before* building it, and builds it;
an operand type it does not know is a ``SandboxTypeError`` (no foreign ``__add__`` ever runs). The
common case (two machine-sized ints) is tested first and costs one call.

Integers: any result that can grow past ``INT_BITS_MAX`` bits is checked (``int_too_large``);
``**`` and ``<<`` are charged by the size of their result before computing it, so ``2 ** 10**9``
runs out of gas at once. A negative exponent would make a float: ``forbidden_operation``.
Comparisons and ``in`` are charged by the operands' weight (``values.weight``), indexing a dict by
a tuple key by the key's weight, slicing by the result's length. ``HELPERS`` maps the names the
metering pass emits to these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from alliance.contracts import gas as schedule
from alliance.contracts.errors import ForbiddenOperation, IntTooLarge
from alliance.contracts.gas import GasMeter, charge
from alliance.contracts.values import (
    INT_BITS_MAX,
    INT_LIMIT,
    Address,
    SandboxTypeError,
    check_dict_key,
    weight,
)

_SMALL = 1 << 62  # two ints below this multiply and add far below INT_LIMIT
_BIG_BITS = 256  # ints at most this wide are cheap enough to go uncharged
_INT_TYPES = (int, bool)
_TEXT_TYPES = (str, bytes, Address)
_SEQUENCE_TYPES = (list, tuple)
_DICT_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
_REPEATABLE = (str, bytes, Address, list, tuple)


def type_name(value: object) -> str:
    return type(value).__name__


def _unsupported(op: str, a: object, b: object) -> SandboxTypeError:
    return SandboxTypeError(f"unsupported operand types for {op}: {type_name(a)} and {type_name(b)}")


def _bounded(result: int) -> int:
    if -INT_LIMIT < result < INT_LIMIT:
        return result
    raise IntTooLarge(f"an integer result of {result.bit_length()} bits, over the bound of {INT_BITS_MAX}")


def _charge_limbs(gas: GasMeter, a: int, b: int) -> None:
    """Big-int multiplication and division cost about the product of the operands' limbs."""
    bits_a = a.bit_length()
    bits_b = b.bit_length()
    if bits_a > _BIG_BITS or bits_b > _BIG_BITS:
        limbs = ((bits_a >> 6) + 1) * ((bits_b >> 6) + 1)
        charge(gas, limbs // schedule.LIMB_PRODUCT_DIVISOR + 1, "big-integer arithmetic")


def _charge_bytes(gas: GasMeter, size: int, what: str) -> None:
    if size > schedule.BYTES_PER_GAS:
        charge(gas, size // schedule.BYTES_PER_GAS, what)


def _charge_elements(gas: GasMeter, count: int, what: str) -> None:
    if count > 0:
        charge(gas, count * schedule.ELEMENT_GAS, what)


def charge_result(gas: GasMeter, sample: object, length: int, what: str) -> None:
    """Charge building a str/bytes of ``length`` characters or a list/tuple of ``length`` elements."""
    if isinstance(sample, _TEXT_TYPES):
        _charge_bytes(gas, length, what)
    else:
        _charge_elements(gas, length, what)


# --- arithmetic ------------------------------------------------------------------------------------


def add(gas: GasMeter, a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return _bounded(a + b)
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        return _bounded(a + b)
    if type(a) is str and type(b) is str:
        _charge_bytes(gas, len(a) + len(b), "concatenation")
        return a + b
    if isinstance(a, bytes) and isinstance(b, bytes):
        _charge_bytes(gas, len(a) + len(b), "concatenation")
        return a + b
    if type(a) in _SEQUENCE_TYPES and type(a) is type(b):
        _charge_elements(gas, len(a) + len(b), "concatenation")
        return a + b
    raise _unsupported("+", a, b)


def sub(gas: GasMeter, a: Any, b: Any) -> Any:
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        return _bounded(a - b)
    raise _unsupported("-", a, b)


def mul(gas: GasMeter, a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and -_SMALL < a < _SMALL and -_SMALL < b < _SMALL:
        return a * b
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        _charge_limbs(gas, a, b)
        return _bounded(a * b)
    if isinstance(b, _INT_TYPES) and isinstance(a, _REPEATABLE):
        return _repeat(gas, a, b)
    if isinstance(a, _INT_TYPES) and isinstance(b, _REPEATABLE):
        return _repeat(gas, b, a)
    raise _unsupported("*", a, b)


def _repeat(gas: GasMeter, sequence: Any, times: int) -> Any:
    charge_result(gas, sequence, len(sequence) * max(times, 0), "repetition")
    return sequence * times


def power(gas: GasMeter, a: Any, b: Any) -> Any:
    if not (isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES)):
        raise _unsupported("**", a, b)
    if b < 0:
        raise ForbiddenOperation("'**' with a negative exponent makes a float")
    if a in (0, 1) or b in (0, 1):
        return a**b
    if a == -1:
        return 1 if b % 2 == 0 else -1
    bits = a.bit_length()
    charge(gas, ((bits * b) >> 6) * schedule.POWER_GAS_PER_LIMB + 1, "power")  # before computing it
    if (bits - 1) * b + 1 > INT_BITS_MAX:
        raise IntTooLarge(f"{bits}-bit ** {b} is over the bound of {INT_BITS_MAX} bits")
    return _bounded(a**b)


def lshift(gas: GasMeter, a: Any, b: Any) -> Any:
    if not (isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES)):
        raise _unsupported("<<", a, b)
    if a == 0 or b < 0:
        return a << b  # 0, or Python's own ValueError for a negative count
    bits = a.bit_length() + b
    if bits > _BIG_BITS:
        charge(gas, (bits >> 6) + 1, "shift")
    if bits > INT_BITS_MAX:
        raise IntTooLarge(f"a shift to {bits} bits, over the bound of {INT_BITS_MAX}")
    return a << b


def mod(gas: GasMeter, a: Any, b: Any) -> Any:
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        _charge_limbs(gas, a, b)
        return a % b
    if isinstance(a, _TEXT_TYPES):
        raise ForbiddenOperation("'%' formatting is not allowed: use f-strings")
    raise _unsupported("%", a, b)


def floordiv(gas: GasMeter, a: Any, b: Any) -> Any:
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        _charge_limbs(gas, a, b)
        return a // b
    raise _unsupported("//", a, b)


def bit_or(gas: GasMeter, a: Any, b: Any) -> Any:
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        return a | b
    raise _unsupported("|", a, b)  # dict views would make sets; dict | dict is left to update()


def bit_and(gas: GasMeter, a: Any, b: Any) -> Any:
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        return a & b
    raise _unsupported("&", a, b)


def bit_xor(gas: GasMeter, a: Any, b: Any) -> Any:
    if isinstance(a, _INT_TYPES) and isinstance(b, _INT_TYPES):
        return a ^ b
    raise _unsupported("^", a, b)


def iadd(gas: GasMeter, a: Any, b: Any) -> Any:
    """``a += b``: a list is extended in place, as in Python; anything else is ``a + b``."""
    if type(a) is list and type(b) in _SEQUENCE_TYPES:
        _charge_elements(gas, len(b), "list extension")
        a.extend(b)
        return a
    return add(gas, a, b)


def imul(gas: GasMeter, a: Any, b: Any) -> Any:
    if type(a) is list and isinstance(b, _INT_TYPES):
        _charge_elements(gas, len(a) * max(b, 0), "repetition")
        a *= b
        return a
    return mul(gas, a, b)


# --- comparisons -----------------------------------------------------------------------------------


def _charge_pair(gas: GasMeter, a: object, b: object) -> None:
    amount = weight(a) + weight(b)
    if amount > 2:
        charge(gas, amount * schedule.WALK_GAS, "comparison")


def equal(gas: GasMeter, a: Any, b: Any) -> bool:
    if type(a) is not int or type(b) is not int:
        _charge_pair(gas, a, b)
    return bool(a == b)


def not_equal(gas: GasMeter, a: Any, b: Any) -> bool:
    if type(a) is not int or type(b) is not int:
        _charge_pair(gas, a, b)
    return bool(a != b)


def less(gas: GasMeter, a: Any, b: Any) -> bool:
    if type(a) is not int or type(b) is not int:
        _charge_pair(gas, a, b)
    return bool(a < b)


def less_equal(gas: GasMeter, a: Any, b: Any) -> bool:
    if type(a) is not int or type(b) is not int:
        _charge_pair(gas, a, b)
    return bool(a <= b)


def greater(gas: GasMeter, a: Any, b: Any) -> bool:
    if type(a) is not int or type(b) is not int:
        _charge_pair(gas, a, b)
    return bool(a > b)


def greater_equal(gas: GasMeter, a: Any, b: Any) -> bool:
    if type(a) is not int or type(b) is not int:
        _charge_pair(gas, a, b)
    return bool(a >= b)


def weighed(gas: GasMeter, value: Any) -> Any:
    """An operand of a chained comparison (``a < b < c``), charged by its weight and passed on."""
    if type(value) is not int:
        amount = weight(value)
        if amount > 1:
            charge(gas, amount * schedule.WALK_GAS, "comparison")
    return value


def contains(gas: GasMeter, item: Any, container: Any) -> Any:
    kind = type(container)
    if kind is dict or kind is _DICT_VIEWS[0]:
        if type(item) is not str and type(item) is not int:
            charge(gas, check_dict_key(item) * schedule.WALK_GAS, "lookup")
        return item in container
    if kind in _SEQUENCE_TYPES or kind is _DICT_VIEWS[1] or kind is _DICT_VIEWS[2]:
        charge(gas, len(container) * weight(item) * schedule.ELEMENT_GAS + 1, "search")
        return item in container
    if isinstance(container, _TEXT_TYPES):
        if not isinstance(item, _TEXT_TYPES) and not (isinstance(container, bytes) and isinstance(item, int)):
            raise SandboxTypeError(f"'in' on a {type_name(container)} needs a {type_name(container)}")
        needle = len(item) if isinstance(item, _TEXT_TYPES) else 1
        _charge_bytes(gas, len(container) * (1 + needle // 64), "search")
        haystack: Any = container
        return item in haystack
    if kind is range:
        if not isinstance(item, _INT_TYPES):
            raise SandboxTypeError("'in' on a range needs an int")
        return item in container
    raise SandboxTypeError(
        f"'in' needs a list, tuple, dict, str, bytes or range, not a {type_name(container)}"
    )


def not_contains(gas: GasMeter, item: Any, container: Any) -> bool:
    return not contains(gas, item, container)


# --- items, keys, iteration, text ------------------------------------------------------------------


def get_item(gas: GasMeter, obj: Any, key: Any) -> Any:
    kind = type(obj)
    if kind is dict:
        if type(key) is not str and type(key) is not int:
            charge(gas, check_dict_key(key) * schedule.WALK_GAS, "lookup")
        return obj[key]
    if kind in _SEQUENCE_TYPES or kind in _TEXT_TYPES or kind is range:
        if type(key) is slice:
            start, stop, step = key.indices(len(obj))
            charge_result(gas, obj, len(range(start, stop, step)), "slice")
        return obj[key]
    raise SandboxTypeError(f"a {type_name(obj)} cannot be indexed")


def writable(obj: Any) -> Any:
    """The target of ``obj[k] = v`` or ``del obj[k]``: a list or a dict (RestrictedPython's _write_)."""
    if type(obj) is list or type(obj) is dict:
        return obj
    raise SandboxTypeError(f"a {type_name(obj)} cannot be changed by item")


def dict_key(gas: GasMeter, key: Any) -> Any:
    """A key about to be hashed (a dict display or item assignment): checked and charged."""
    if type(key) is str or type(key) is int:
        return key
    amount = check_dict_key(key)
    if amount > 1:
        charge(gas, amount * schedule.WALK_GAS, "hashing")
    return key


def iterable(obj: Any) -> Any:
    """What ``for`` loops and unpacking may walk; each loop iteration is charged by its body."""
    if type(obj) in _ITERABLE_TYPES:
        return obj
    raise SandboxTypeError(f"a {type_name(obj)} cannot be iterated in a contract")


def comprehension_items(gas: GasMeter, obj: Any, gas_per_item: int) -> Any:
    """A comprehension's iterable: every item charged up front, and no more items than were paid
    for are produced even if the comprehension's own code grows the list it walks."""
    items = iterable(obj)
    count = len(items)
    charge(gas, count * gas_per_item, "comprehension")
    return islice(items, count) if type(items) is list else items


def text(gas: GasMeter, value: Any) -> str:
    """``str(value)`` and ``f"{value}"``: only for values whose text is the same on every node."""
    kind = type(value)
    if kind is str:
        _charge_bytes(gas, len(value), "str")
        return value  # type: ignore[no-any-return]
    if kind is int:
        bits = value.bit_length()
        if bits > _BIG_BITS:
            charge(gas, ((bits >> 6) + 1) ** 2 // schedule.INT_TEXT_DIVISOR + 1, "int to str")
        return str(value)
    if kind is bool or value is None:
        return str(value)
    if kind is Address:
        return str(value)
    if kind is bytes:
        _charge_bytes(gas, 4 * len(value), "str")
        return repr(value)
    raise SandboxTypeError(f"str() of a {type_name(value)}: only int, str, bytes, bool, None and Address")


class Zip:
    """``zip(...)`` in a contract: sized (so conversions can be charged) and bounded by that size."""

    __slots__ = ("_items", "_length")

    def __init__(self, *items: Any) -> None:
        for item in items:
            iterable(item)
        self._items = items
        self._length = min((len(item) for item in items), default=0)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Any:
        return islice(zip(*self._items, strict=False), self._length)


class Enumerate:
    """``enumerate(items, start=0)`` in a contract, sized like ``Zip``."""

    __slots__ = ("_items", "_length", "_start")

    def __init__(self, items: Any, start: int = 0) -> None:
        if not isinstance(start, _INT_TYPES):
            raise SandboxTypeError("enumerate's start is an int")
        self._items = iterable(items)
        self._length = len(items)
        self._start = start

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Any:
        return islice(enumerate(self._items, self._start), self._length)


def iterable_weight(items: Any) -> int:
    """The weight of walking an iterable's items in C (``min``, ``sum``, ``sorted``...): every item
    counts, the characters of a string too, and a view or a zip counts the values behind it."""
    kind = type(items)
    if kind is str or kind is bytes or kind is Address or kind is range:
        return 1 + len(items)
    if kind is Zip:
        return 1 + len(items) + sum(iterable_weight(part) for part in items._items)
    if kind is Enumerate:
        return 1 + len(items) + iterable_weight(items._items)
    if kind in _DICT_VIEWS:
        return weight(items.mapping)  # the whole dict: at least what its keys or values weigh
    return weight(items)


_ITERABLE_TYPES = frozenset({list, tuple, dict, str, bytes, Address, range, Zip, Enumerate, *_DICT_VIEWS})

HELPERS: dict[str, Callable[..., Any]] = {
    "_add_": add,
    "_sub_": sub,
    "_mul_": mul,
    "_pow_": power,
    "_lshift_": lshift,
    "_mod_": mod,
    "_floordiv_": floordiv,
    "_or_": bit_or,
    "_and_": bit_and,
    "_xor_": bit_xor,
    "_iadd_": iadd,
    "_imul_": imul,
    "_eq_": equal,
    "_ne_": not_equal,
    "_lt_": less,
    "_le_": less_equal,
    "_gt_": greater,
    "_ge_": greater_equal,
    "_cw_": weighed,
    "_in_": contains,
    "_notin_": not_contains,
    "_getitem_": get_item,
    "_write_": writable,
    "_key_": dict_key,
    "_getiter_": iterable,
    "_citer_": comprehension_items,
    "_str_": text,
}
