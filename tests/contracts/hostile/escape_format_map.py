# Tries: format_map with attribute lookups in the fields.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    text = '{x.__class__}'.format_map({'x': 1})
    return len(text)
