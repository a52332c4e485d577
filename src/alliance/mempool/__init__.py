"""Bounded transaction pool with batched, multi-core signature verification at admission."""

from alliance.mempool.pool import Accepted, AdmitResult, Mempool, PendingAdmission
from alliance.mempool.verifier import BatchVerifier

__all__ = ["Accepted", "AdmitResult", "BatchVerifier", "Mempool", "PendingAdmission"]
