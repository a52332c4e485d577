# Tries: sorting functions would order them by address.
# Must fail: contract_fault
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def f():
    return 1

def g():
    return 2

@public
def attack() -> int:
    return len(sorted([g, f]))
