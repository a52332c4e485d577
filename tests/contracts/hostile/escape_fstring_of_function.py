# Tries: an f-string of a function shows its memory address.
# Must fail: contract_fault
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def helper():
    return 1

@public
def attack() -> int:
    return len(f'{helper}')
