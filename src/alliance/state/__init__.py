"""Authenticated state: a versioned 16-ary Merkle tree over all keys, whose root is the app hash."""
