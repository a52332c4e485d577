# Tries: '%s' % obj formats any object (and its address).
# Must fail: forbidden_operation
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def helper():
    return 1

@public
def attack() -> int:
    text = '%s' % (helper,)
    return len(text)
