# Tries: catches the engine's out-of-gas stop with except Exception.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    try:
        while True:
            pass
    except Exception:
        return 1
    return 0
