"""The Python SDK: typed clients of a node's API (spec/api.md, section SDK).

``Client`` is synchronous (httpx), ``AsyncClient`` asynchronous with ``subscribe`` to the block
stream. Answers are frozen msgspec views (``sdk.views``); refusals raise the ``alliance.errors``
class their problem ``code`` names; ``Unreachable`` and ``Timeout`` are operational errors.
"""

from alliance.sdk.client import AsyncClient, Client
from alliance.sdk.errors import Timeout, Unreachable
from alliance.sdk.views import (
    Account,
    BadResponse,
    BatchResult,
    BlockEvent,
    BlockView,
    CertificateView,
    CommitSigView,
    EventView,
    MempoolView,
    PeerView,
    ReceiptView,
    Rejection,
    StateView,
    Status,
    TxView,
    ValidatorView,
)

__all__ = [
    "Account",
    "AsyncClient",
    "BadResponse",
    "BatchResult",
    "BlockEvent",
    "BlockView",
    "CertificateView",
    "Client",
    "CommitSigView",
    "EventView",
    "MempoolView",
    "PeerView",
    "ReceiptView",
    "Rejection",
    "StateView",
    "Status",
    "Timeout",
    "TxView",
    "Unreachable",
    "ValidatorView",
]
