# Tries: keeps an exception object to read its args and context.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    try:
        x = {}['k']
    except KeyError as e:
        return len(e.args)
    return 0
