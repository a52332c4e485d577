# Tries: catches an exception and walks its traceback to tb_frame.f_globals.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    try:
        x = 1 // 0
    except ZeroDivisionError as e:
        return len(e.__traceback__.tb_frame.f_globals)
    return 0
