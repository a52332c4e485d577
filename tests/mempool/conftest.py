"""Fixtures for mempool tests (helpers live in mempool_helpers, a name no other package shares)."""

from __future__ import annotations

import pytest
from mempool_helpers import CHAIN_ID, PARAMS, SPY, Committed, PoolFactory, SpySuite

from alliance.crypto.sigcache import SignatureCache
from alliance.mempool import BatchVerifier, Mempool


@pytest.fixture
def spy() -> SpySuite:
    SPY.verified = 0
    return SPY


@pytest.fixture
def committed() -> Committed:
    return Committed()


@pytest.fixture
def make_pool(committed: Committed, spy: SpySuite) -> PoolFactory:
    """Pools on an inline spy verifier; keyword arguments override the Mempool's."""

    def factory(**overrides: object) -> Mempool:
        options: dict[str, object] = {
            "chain_id": CHAIN_ID,
            "params": PARAMS,
            "verifier": BatchVerifier("inline", suite_name=spy.name),
            "sigcache": SignatureCache(),
            "is_committed": committed,
        }
        options.update(overrides)
        return Mempool(**options)  # type: ignore[arg-type]

    return factory
