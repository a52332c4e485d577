# Tries: joins a list of long strings into a huge one.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    part = 'x' * 100000
    parts = [part] * 10000
    return len(''.join(parts))
