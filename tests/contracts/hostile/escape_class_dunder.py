# Tries: a class with __eq__ and __hash__ runs its own code inside dict lookups and comparisons.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

class Evil:
    def __eq__(self, other):
        return True

@public
def attack() -> int:
    return 1
