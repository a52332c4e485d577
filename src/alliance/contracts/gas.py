"""Gas numbers of contract code, and the one function that charges them.

Theory of operation: the unit is the native schedule's (``execution/gas.py``), where a state read
costs 100 and a transaction's fixed part 1,000; on this implementation one unit is about 10 ns of
one core. Contract code pays in three ways:

- statically, at the start of every statement list (a basic block: a function body, a branch, a
  loop body per iteration, a handler), ``STATEMENT_GAS`` per statement in it plus ``CALL_GAS`` per
  call its statements make outside nested blocks (helpers the metering pass inserts count as calls)
  and ``ELEMENT_GAS`` per list, tuple or dict display and per element in it (each allocates);
- per item of a comprehension, ``ITERATION_GAS`` plus the same call and display charges for its
  element and conditions, charged for the whole iterable before the first item is made;
- by size, before the result exists, for every operation whose cost grows with its operands:
  ``BYTES_PER_GAS`` bytes of a built str or bytes per unit, ``ELEMENT_GAS`` per element of a built
  list, tuple or dict or per element compared in a search, ``WALK_GAS`` per unit of weight
  (roughly: an element or 64 bytes) of values the engine walks to compare, hash, sort or encode,
  and big-integer arithmetic by the product of its operands' 64-bit limbs.

The figures were set from ``benchmarks/bench_contracts.py``'s calibration (nanoseconds of CPU a
unit buys, per workload; decision 011 has them); what matters for consensus is only that they are
the same on every node, which they are: they are constants.
"""

from __future__ import annotations

from typing import Protocol

from alliance.types import fail_invariant


class GasMeter(Protocol):
    """What the engine needs of a meter: ``execution.gas.GasMeter`` has exactly this shape."""

    used: int
    limit: int

    def charge(self, amount: int, what: str) -> None:
        """Add ``amount`` or raise ``alliance.errors.OutOfGas`` (leaving ``used`` at ``limit``)."""
        ...


STATEMENT_GAS = 3
CALL_GAS = 10
ITERATION_GAS = 5
BYTES_PER_GAS = 8  # a built str or bytes: memory more than time (memcpy is ~0.1 ns a byte)
ELEMENT_GAS = 1  # a built list, tuple or dict element, or one compared in a search
WALK_GAS = 6  # per unit of weight of a value the engine walks (compare, hash a tuple key, sort, min)
SORT_GAS = 1  # per unit of weight and level of a sort (n log n)
LIMB_PRODUCT_DIVISOR = 2  # big-int *, //, %: limbs(a) * limbs(b) / this
POWER_GAS_PER_LIMB = 4  # a ** b: per 64-bit limb of the result
MODULAR_POWER_DIVISOR = 1  # pow(a, b, m): bits(b) * limbs(m)**2 / this
INT_TEXT_DIVISOR = 2  # str(int): limbs**2 / this (CPython's conversion is quadratic)
CONTRACT_CALL_GAS = 500  # the engine's part of a call into another contract or module
INVOCATION_GAS = 200  # entering a contract method: argument decoding, namespace, result
LOAD_GAS_MAX = 1_000_000  # what evaluating a contract's module-level constants may cost at load


def charge(gas: GasMeter, amount: int, what: str) -> None:
    """Charge ``amount`` units: an attribute update, and a call only when it does not fit."""
    used = gas.used + amount
    if used > gas.limit:
        gas.charge(amount, what)  # raises OutOfGas and leaves the meter at its limit
    gas.used = used


def out_of_gas(gas: GasMeter, amount: int) -> None:
    """The metered code's slow path: it added ``amount`` inline and went over the limit."""
    gas.used -= amount
    gas.charge(amount, "contract statements")  # raises OutOfGas
    fail_invariant(f"gas meter at {gas.used} of {gas.limit} accepted a charge past its limit")
