"""The Python SDK: typed clients of a node's API (spec/api.md, section SDK).

``Client`` is synchronous (httpx), ``AsyncClient`` asynchronous with ``subscribe`` to the block
stream. Both read and write governance (``governance``, ``proposal(s)``, ``propose``, ``vote``,
``freeze``) besides transfers and any module ``call``. Answers are the API's own wire Structs
(``sdk.wire``: one declaration the server encodes and the SDK decodes), frozen, with bytes as
``bytes``; refusals raise the ``alliance.errors`` class their problem ``code`` (or a failed
receipt's status) names; ``Unreachable``, ``Timeout`` and ``BadResponse`` are operational errors.
"""

from alliance.sdk.client import AsyncClient, Client
from alliance.sdk.errors import BadResponse, Timeout, Unreachable
from alliance.sdk.wire import (
    AccessRuleView,
    Account,
    Address,
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
    Hash32,
    Hex,
    MemberView,
    MempoolView,
    NodeId,
    NodeRecordView,
    PeerView,
    ProposalOutcome,
    ProposalView,
    ReceiptView,
    Rejection,
    StateView,
    Status,
    StreamEventView,
    TxView,
    ValidatorView,
)

__all__ = [
    "AccessRuleView",
    "Account",
    "Address",
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
    "Hash32",
    "Hex",
    "MemberView",
    "MempoolView",
    "NodeId",
    "NodeRecordView",
    "PeerView",
    "ProposalOutcome",
    "ProposalView",
    "ReceiptView",
    "Rejection",
    "StateView",
    "Status",
    "StreamEventView",
    "Timeout",
    "TxView",
    "Unreachable",
    "ValidatorView",
]
