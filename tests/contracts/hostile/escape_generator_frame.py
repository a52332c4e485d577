# Tries: a generator's gi_frame leads to f_back and the engine's frames and globals.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    gen = (x for x in [1])
    frame = gen.gi_frame
    return 1
