# Tries: reaches the sandbox namespace and real builtins through a function's __globals__.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def helper():
    return 1

@public
def attack() -> int:
    g = helper.__globals__
    return len(g)
