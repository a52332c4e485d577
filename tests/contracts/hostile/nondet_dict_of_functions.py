# Tries: functions as dict keys hash by address.
# Must fail: contract_fault
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def f():
    return 1

def g():
    return 2

@public
def attack() -> int:
    table = {f: 1, g: 2}
    return len(table)
