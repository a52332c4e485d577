"""The engine's fast paths decide exactly what the plain code they replaced decided.

``values.count_elements`` (what encoding a stored, passed or emitted value is charged, and its
refusals) and ``engine._fresh`` (the per-invocation copy of a contract's mutable constants) count
or copy scalar items inline since 2026-12-07, and ``values.key_bytes`` checks and converts a key
tuple in one pass. Gas and keys are consensus: each is checked here against the code it replaced,
on generated values, including the refusals (the same exception with the same message, found in
the same order)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.contracts import engine, values
from alliance.contracts.errors import InvalidValue, ValueTooLarge
from alliance.contracts.values import Address


def reference_count(value: Any, depth: int = 0) -> int:
    """``count_elements`` as it was: one call per item."""
    kind = type(value)
    if kind is int:
        if values.CODEC_INT_MIN <= value <= values.CODEC_INT_MAX:
            return 1
        raise InvalidValue("an int that is stored, passed or returned must fit in 64 bits")
    if kind in (str, bytes, bool, type(None), Address):
        return 1
    if depth >= values.VALUE_DEPTH_MAX:
        raise ValueTooLarge(f"a value nested more than {values.VALUE_DEPTH_MAX} deep")
    if kind is list or kind is tuple:
        return 1 + sum(reference_count(item, depth + 1) for item in value)
    if kind is dict:
        total = 1
        for key, item in value.items():
            if type(key) is not str:
                values._check_key(key)
            total += 1 + reference_count(item, depth + 1)
        return total
    raise InvalidValue(
        f"a {kind.__name__} cannot be stored, passed or returned "
        "(values are int, str, bytes, bool, None, Address, list, tuple and dict)"
    )


def outcome(count: Any, value: Any) -> tuple[str, object]:
    try:
        return ("ok", count(value))
    except (InvalidValue, ValueTooLarge) as exc:
        return (type(exc).__name__, exc.message)


scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),  # some beyond the codec's 64 bits
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.binary(min_size=20, max_size=20).map(Address),
    st.floats(allow_nan=False),  # never encodable
)
keys = st.one_of(
    st.text(max_size=3), st.integers(-5, 5), st.tuples(st.text(max_size=2), st.integers(0, 3)), st.floats()
)
nested = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(nested)
def test_count_elements_counts_and_refuses_as_the_recursion_did(value: Any) -> None:
    assert outcome(values.count_elements, value) == outcome(reference_count, value)


def deep(levels: int, leaf: Any) -> Any:
    value = leaf
    for level in range(levels):
        value = [1, value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    "levels", [values.VALUE_DEPTH_MAX - 1, values.VALUE_DEPTH_MAX, values.VALUE_DEPTH_MAX + 1]
)
@pytest.mark.parametrize("leaf", [7, 2**65, 1.5, [1, 2]])
def test_the_depth_bound_and_a_bad_leaf_fail_alike_at_the_edge(levels: int, leaf: Any) -> None:
    value = deep(levels, leaf)
    assert outcome(values.count_elements, value) == outcome(reference_count, value)


def shares_mutable_part(copy: Any, original: Any) -> bool:
    if type(original) in (list, dict) and copy is original:
        return True
    if type(original) in (list, tuple):
        return any(shares_mutable_part(c, o) for c, o in zip(copy, original, strict=True))
    if type(original) is dict:
        return any(shares_mutable_part(copy[k], original[k]) for k in original)
    return False


@settings(max_examples=200, deadline=None)
@given(nested)
def test_a_fresh_constant_is_equal_and_shares_nothing_mutable(value: Any) -> None:
    fresh = engine._fresh(value)
    assert type(fresh) is type(value)
    assert outcome(values.count_elements, fresh) == outcome(values.count_elements, value)
    assert fresh == value
    assert not shares_mutable_part(fresh, value)


def reference_key_bytes(key: Any) -> bytes:
    """``key_bytes`` as it was for a tuple of other than two items: checked, then converted."""
    values._check_key(key)
    items = [bytes(item) if type(item) is Address else item for item in key]
    raw = msgspec.msgpack.encode(items)
    if len(raw) > values.KEY_BYTES_MAX:
        raise ValueTooLarge(f"a storage key of {len(raw)} bytes, over the bound of {values.KEY_BYTES_MAX}")
    return raw


key_items = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.binary(min_size=20, max_size=20).map(Address),
    st.floats(allow_nan=False),  # never a key item
    st.tuples(st.integers(0, 3)),  # nor a nested tuple
    st.binary(min_size=200, max_size=300),  # a key over the bound, with another item
)


def key_outcome(make: Any, key: Any) -> tuple[str, object]:
    try:
        return ("ok", make(key))
    except (InvalidValue, ValueTooLarge) as exc:
        return (type(exc).__name__, exc.message)


@settings(max_examples=400, deadline=None)
@given(st.lists(key_items, max_size=6).filter(lambda items: len(items) != 2).map(tuple))
def test_a_storage_key_of_a_tuple_encodes_and_refuses_as_before(key: tuple[Any, ...]) -> None:
    assert key_outcome(values.key_bytes, key) == key_outcome(reference_key_bytes, key)
