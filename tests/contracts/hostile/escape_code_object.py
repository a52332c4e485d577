# Tries: reads or replaces a function's __code__ to run other bytecode.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def helper():
    return 1

@public
def attack() -> int:
    code = helper.__code__
    return 1
