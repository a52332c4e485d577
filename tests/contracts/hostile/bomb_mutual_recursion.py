# Tries: two functions calling each other forever.
# Must fail: call_depth_exceeded
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def ping(n):
    return pong(n + 1)

def pong(n):
    return ping(n + 1)

@public
def attack() -> int:
    return ping(0)
