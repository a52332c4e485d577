"""Durable storage: the LMDB chain store (blocks, indexes, receipts, state, tree nodes)."""
