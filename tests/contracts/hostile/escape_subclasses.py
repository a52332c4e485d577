# Tries: walks ().__class__.__bases__[0].__subclasses__() to reach os or file objects.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    classes = ().__class__.__bases__[0].__subclasses__()
    return len(classes)
