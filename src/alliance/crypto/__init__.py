"""Cryptography: domain-separated hashing, account and node keys, Merkle trees, signature suites."""
