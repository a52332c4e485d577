"""The Python SDK: typed clients of a node's API (spec/api.md, section SDK).

``Client`` is synchronous (httpx), ``AsyncClient`` asynchronous with ``subscribe`` to the block
stream. Both read and write governance (``governance``, ``proposal(s)``, ``propose``, ``vote``,
``freeze``) besides transfers and any module ``call``. Answers are frozen msgspec views
(``sdk.views``); refusals raise the ``alliance.errors`` class their problem ``code`` (or a failed
receipt's status) names; ``Unreachable`` and ``Timeout`` are operational errors.
"""

from alliance.sdk.client import AsyncClient, Client
from alliance.sdk.errors import Timeout, Unreachable
from alliance.sdk.views import (
    AccessRuleView,
    Account,
    BadResponse,
    BallotView,
    BatchResult,
    BlockEvent,
    BlockView,
    CertificateView,
    CommitSigView,
    EventView,
    FrozenAccountView,
    FrozenView,
    GovernanceView,
    MemberView,
    MempoolView,
    NodeRecordView,
    PeerView,
    ProposalOutcome,
    ProposalView,
    ReceiptView,
    Rejection,
    StateView,
    Status,
    TxView,
    ValidatorView,
)

__all__ = [
    "AccessRuleView",
    "Account",
    "AsyncClient",
    "BadResponse",
    "BallotView",
    "BatchResult",
    "BlockEvent",
    "BlockView",
    "CertificateView",
    "Client",
    "CommitSigView",
    "EventView",
    "FrozenAccountView",
    "FrozenView",
    "GovernanceView",
    "MemberView",
    "MempoolView",
    "NodeRecordView",
    "PeerView",
    "ProposalOutcome",
    "ProposalView",
    "ReceiptView",
    "Rejection",
    "StateView",
    "Status",
    "Timeout",
    "TxView",
    "Unreachable",
    "ValidatorView",
]
