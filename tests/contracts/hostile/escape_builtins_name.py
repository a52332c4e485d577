# Tries: reaches __builtins__ by name.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    b = __builtins__
    return 1
