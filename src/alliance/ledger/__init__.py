"""Ledger types: transactions, headers, blocks, commit certificates, receipts, validators."""
