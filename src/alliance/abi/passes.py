"""Passes: token schemes with declared rights, eligibility, circulation, expiry, and a gateway.

A *scheme* is declared once by an account holding the ``issuer`` role, for its own organisation:
its symbol and name, its kind (``fungible`` units with decimals, or ``unique`` items with a metadata
hash), the rights a holder has (the text and its SHA-256), the supply policy (a cap on the units in
existence, and which role may mint), who may hold it (``any``, ``members``, ``role:R`` or an
``allow-list`` kept by the issuer), how it circulates (``free``, ``closed``: only between eligible
holders, or ``none``: non-transferable), who may accept a redemption and whether redeemed units are
burned or move to the redeemer, and its expiry (``none``, a ``fixed`` end time, or a ``lot``
lifetime: units minted together expire together, ``lot_days`` after the day they were minted;
spending takes the earliest-expiring lots first; expired units count in no balance until the issuer
sweeps them). A settlement scheme (minted by the ``gateway`` role) moves money in and out of the
chain: a deposit credits an account against an off-chain reference (a reference is never credited
twice), a withdrawal locks units until the gateway confirms the payout (the units are burned) or
rejects it (they return), and ``supply == deposits - confirmed withdrawals`` always holds.

State layout (module ``passes``; every key under ``pass/``):

- ``pass/schemes``: an IndexedMap of symbols (the list of schemes);
- ``pass/decl/<SYM>``: the ``Scheme`` declaration (rights text included); ``pass/rules/<SYM>``: its
  compact ``Rules`` (what every operation reads); ``pass/supply/<SYM>``: the ``Supply`` counters;
- ``pass/h/<SYM>``: an IndexedMap of holders, each with its ``Holding`` (lots, locked, frozen);
- ``pass/allow/<SYM>/<address>``: the allow-list; ``pass/item/<SYM>/<id>``: unique items;
- ``pass/ref/<SYM>/<sha256(gateway, reference)>``: references already credited;
  ``pass/dep/<SYM>/<seq>`` deposits and ``pass/wd/<SYM>/<id>`` withdrawals, numbered from 1.

Invariants (checked by tests after random operation sequences): for every scheme, ``supply`` equals
the sum over holders of live + expired-unswept + locked units; no balance is negative; the cap
holds; a unique item has exactly one holder; for a settlement scheme, supply equals deposits minus
confirmed withdrawals.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

import msgspec

from alliance.codec import Struct
from alliance.errors import ExecutionError
from alliance.ledger.block import EVENTS_PER_TX_MAX
from alliance.ledger.transaction import Bytes20, Bytes32, Height, Name

MODULE_NAME = "passes"
ISSUER = "issuer"
GATEWAY = "gateway"
SUPERVISOR = "supervisor"

SYMBOL_PATTERN = r"^[A-Z][A-Z0-9]{0,15}$"
_SYMBOL = re.compile(SYMBOL_PATTERN)
RIGHTS_LENGTH_MAX = 4096
MEMO_LENGTH_MAX = 256
REFERENCE_LENGTH_MAX = 128
EXTERNAL_LENGTH_MAX = 256
ITEM_ID_LENGTH_MAX = 64
DECIMALS_MAX = 18
LOT_DAYS_MAX = 36_500
LOTS_PER_HOLDING_MAX = 400
"""Lots of one holder in one scheme: a year of daily mints with room to spare (lots minted on the
same day share an expiry and merge)."""
MINT_BATCH_MAX = EVENTS_PER_TX_MAX
"""Entries of one batch mint: an event each, and a receipt holds at most ``EVENTS_PER_TX_MAX``."""
SWEEP_BATCH_MAX = 1_000
AMOUNT_MAX = 2**63 - 1
DAY_MS = 86_400_000
PAGE_LIMIT_MAX = 500

Symbol = Annotated[str, msgspec.Meta(pattern=SYMBOL_PATTERN)]
Amount = Annotated[int, msgspec.Meta(ge=1, le=AMOUNT_MAX)]
Rights = Annotated[str, msgspec.Meta(min_length=1, max_length=RIGHTS_LENGTH_MAX)]
Memo = Annotated[str, msgspec.Meta(max_length=MEMO_LENGTH_MAX)]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=REFERENCE_LENGTH_MAX)]
External = Annotated[str, msgspec.Meta(min_length=1, max_length=EXTERNAL_LENGTH_MAX)]
ItemId = Annotated[str, msgspec.Meta(max_length=ITEM_ID_LENGTH_MAX)]  # "" for fungible schemes
Kind = Literal["fungible", "unique"]
Circulation = Literal["free", "closed", "none"]
ExpiryKind = Literal["none", "fixed", "lot"]
Eligibility = Annotated[str, msgspec.Meta(pattern=r"^(any|members|allow-list|role:[A-Za-z0-9_.-]{1,64})$")]
WithdrawalStatus = Literal["pending", "confirmed", "rejected"]


def valid_symbol(symbol: str) -> bool:
    return _SYMBOL.fullmatch(symbol) is not None


def rights_hash(rights: str) -> bytes:
    return hashlib.sha256(rights.encode()).digest()


# --- state -------------------------------------------------------------------------------------------


class Scheme(Struct):
    """The declaration, as its issuer made it (a committee vote may amend it)."""

    symbol: Symbol
    name: Name
    kind: Kind
    decimals: Annotated[int, msgspec.Meta(ge=0, le=DECIMALS_MAX)]
    rights: Rights
    rights_hash: Bytes32
    issuer: Bytes20
    issuer_org: Name
    created_height: Height


class Rules(Struct):
    """What every operation of a scheme reads: kept small, apart from the declaration."""

    kind: Kind
    issuer: Bytes20
    issuer_org: Name
    cap: int  # 0: no cap
    minter_role: str  # "": the issuer's organisation's issuers
    eligibility: Eligibility
    circulation: Circulation
    redeemer_role: str  # "": no redemption
    redeem_burns: bool
    expiry: ExpiryKind
    expires_at_ms: int  # the end of a ``fixed`` scheme
    lot_days: int  # a lot's lifetime in days for ``lot``
    paused: bool
    settlement: bool  # minted only against deposits, by the gateway role


class Supply(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """A scheme's counters. Canonical like every ``codec.Struct`` (array-like, no unknown fields),
    but mutable in memory: an operation updates them and writes them once."""

    supply: int = 0  # units in existence: live + expired-unswept + locked
    minted: int = 0
    burned: int = 0
    redeemed: int = 0
    swept: int = 0
    deposits: int = 0
    withdrawals_confirmed: int = 0
    locked: int = 0
    deposits_count: int = 0
    withdrawals_count: int = 0


class Lot(Struct):
    amount: Amount
    expires_at_ms: int  # 0: never


class Holding(Struct):
    lots: Annotated[list[Lot], msgspec.Meta(max_length=LOTS_PER_HOLDING_MAX)] = []
    locked: int = 0  # units of pending withdrawals
    frozen: bool = False
    items: int = 0  # unique items held

    def live(self, now_ms: int) -> int:
        return sum(lot.amount for lot in self.lots if lot.expires_at_ms == 0 or lot.expires_at_ms > now_ms)

    def total(self) -> int:
        return sum(lot.amount for lot in self.lots)

    @property
    def empty(self) -> bool:
        return not self.lots and not self.locked and not self.frozen and not self.items


class Item(Struct):
    holder: Bytes20
    metadata_hash: Bytes32
    minted_height: Height


class Deposit(Struct):
    seq: int
    to: Bytes20
    amount: int
    reference: str
    gateway: Bytes20
    height: Height


class Withdrawal(Struct):
    id: int
    holder: Bytes20
    amount: int
    to_external: str
    status: WithdrawalStatus
    reference: str  # the gateway's payout or rejection reference
    requested_height: Height
    settled_height: Height = 0
    gateway: Bytes20 | None = None


# --- call arguments ------------------------------------------------------------------------------------


class CreateArgs(Struct):
    symbol: Symbol
    name: Name
    kind: Kind
    rights: Rights
    decimals: Annotated[int, msgspec.Meta(ge=0, le=DECIMALS_MAX)] = 0
    cap: Annotated[int, msgspec.Meta(ge=0, le=AMOUNT_MAX)] = 0
    minter_role: Annotated[str, msgspec.Meta(max_length=64)] = ""
    eligibility: Eligibility = "any"
    circulation: Circulation = "free"
    redeemer_role: Annotated[str, msgspec.Meta(max_length=64)] = ""
    redeem_burns: bool = True
    expiry: ExpiryKind = "none"
    expires_at_ms: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    lot_days: Annotated[int, msgspec.Meta(ge=0, le=LOT_DAYS_MAX)] = 0


class MintArgs(Struct):
    symbol: Symbol
    to: Bytes20
    amount: Amount = 1
    memo: Memo = ""
    item: ItemId = ""
    metadata_hash: Bytes32 = bytes(32)


class MintEntry(Struct):
    to: Bytes20
    amount: Amount


class MintBatchArgs(Struct):
    symbol: Symbol
    entries: Annotated[list[MintEntry], msgspec.Meta(min_length=1, max_length=MINT_BATCH_MAX)]
    memo: Memo = ""


class TransferArgs(Struct):
    symbol: Symbol
    to: Bytes20
    amount: Amount = 1
    item: ItemId = ""


class RedeemArgs(Struct):
    symbol: Symbol
    at: Bytes20
    amount: Amount = 1
    item: ItemId = ""


class ApproveArgs(Struct):
    """Let ``spender`` (an account or a contract) move or redeem up to ``amount`` of one's units:
    the allowance is set, not added to; 0 withdraws it."""

    symbol: Symbol
    spender: Bytes20
    amount: Annotated[int, msgspec.Meta(ge=0, le=AMOUNT_MAX)]


class TransferFromArgs(Struct):
    symbol: Symbol
    holder: Bytes20
    to: Bytes20
    amount: Amount = 1


class RedeemFromArgs(Struct):
    symbol: Symbol
    holder: Bytes20
    at: Bytes20
    amount: Amount = 1
    memo: Memo = ""


class BurnArgs(Struct):
    symbol: Symbol
    amount: Amount = 1
    item: ItemId = ""


class HolderArgs(Struct):
    symbol: Symbol
    account: Bytes20


class SymbolArgs(Struct):
    symbol: Symbol


class SweepArgs(Struct):
    symbol: Symbol
    holders: Annotated[list[Bytes20], msgspec.Meta(min_length=1, max_length=SWEEP_BATCH_MAX)]


class DepositArgs(Struct):
    symbol: Symbol
    to: Bytes20
    amount: Amount
    reference: Reference


class WithdrawArgs(Struct):
    symbol: Symbol
    amount: Amount
    to_external: External


class SettleArgs(Struct):
    symbol: Symbol
    withdrawal: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    reference: Reference


# --- events ------------------------------------------------------------------------------------------


class CreatedEvent(Struct):
    symbol: str
    issuer: Bytes20
    issuer_org: str
    rights_hash: Bytes32


class MovedEvent(Struct):
    """A mint (``sender`` None), a transfer, a burn or sweep (``to`` None)."""

    symbol: str
    sender: Bytes20 | None
    to: Bytes20 | None
    amount: int
    item: str
    memo: str


class RedeemedEvent(Struct):
    symbol: str
    holder: Bytes20
    redeemer: Bytes20
    amount: int
    item: str
    burned: bool
    memo: str = ""


class ApprovalEvent(Struct):
    symbol: str
    holder: Bytes20
    spender: Bytes20
    amount: int


class HolderEvent(Struct):
    symbol: str
    account: Bytes20
    by: Bytes20


class SchemeEvent(Struct):
    symbol: str
    by: Bytes20


class DepositEvent(Struct):
    symbol: str
    seq: int
    to: Bytes20
    amount: int
    reference: str


class WithdrawalEvent(Struct):
    symbol: str
    id: int
    holder: Bytes20
    amount: int
    status: str
    reference: str


EVENTS: dict[str, type[Struct]] = {
    "created": CreatedEvent,
    "minted": MovedEvent,
    "transferred": MovedEvent,
    "burned": MovedEvent,
    "swept": MovedEvent,
    "redeemed": RedeemedEvent,
    "frozen": HolderEvent,
    "unfrozen": HolderEvent,
    "allowed": HolderEvent,
    "disallowed": HolderEvent,
    "paused": SchemeEvent,
    "resumed": SchemeEvent,
    "approved": ApprovalEvent,
    "deposited": DepositEvent,
    "withdrawal": WithdrawalEvent,
}


# --- errors (a failed receipt's status) ----------------------------------------------------------------


class UnknownScheme(ExecutionError):
    code = "unknown_scheme"


class SymbolTaken(ExecutionError):
    code = "symbol_taken"


class NotIssuer(ExecutionError):
    code = "not_issuer"


class NotMinter(ExecutionError):
    code = "not_minter"


class NotEligible(ExecutionError):
    code = "not_eligible"


class CirculationClosed(ExecutionError):
    code = "circulation_closed"


class NonTransferable(ExecutionError):
    code = "non_transferable"


class SchemePaused(ExecutionError):
    code = "scheme_paused"


class HolderFrozen(ExecutionError):
    code = "holder_frozen"


class CapExceeded(ExecutionError):
    code = "cap_exceeded"


class PassExpired(ExecutionError):
    code = "pass_expired"


class NotRedeemer(ExecutionError):
    code = "not_redeemer"


class ReferenceUsed(ExecutionError):
    code = "reference_used"


class WithdrawalUnknown(ExecutionError):
    code = "withdrawal_unknown"


class WithdrawalSettled(ExecutionError):
    code = "withdrawal_settled"


class ItemNotHeld(ExecutionError):
    code = "item_not_held"


class ItemExists(ExecutionError):
    code = "item_exists"


class TooManyLots(ExecutionError):
    code = "too_many_lots"


class NotSettlement(ExecutionError):
    code = "not_settlement"


class AllowanceExceeded(ExecutionError):
    code = "allowance_exceeded"


ERRORS: tuple[type[ExecutionError], ...] = (
    UnknownScheme,
    SymbolTaken,
    NotIssuer,
    NotMinter,
    NotEligible,
    CirculationClosed,
    NonTransferable,
    SchemePaused,
    HolderFrozen,
    CapExceeded,
    PassExpired,
    NotRedeemer,
    ReferenceUsed,
    WithdrawalUnknown,
    WithdrawalSettled,
    ItemNotHeld,
    ItemExists,
    TooManyLots,
    NotSettlement,
)


# --- queries -------------------------------------------------------------------------------------------


class SchemeQuery(Struct):
    symbol: Symbol


class HoldingQuery(Struct):
    symbol: Symbol
    account: Bytes20


class AccountQuery(Struct):
    account: Bytes20
    start: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=PAGE_LIMIT_MAX)] = 100


class PageQuery(Struct):
    start: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=PAGE_LIMIT_MAX)] = 100


class SchemePageQuery(Struct):
    symbol: Symbol
    start: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=PAGE_LIMIT_MAX)] = 100


class AllowanceQuery(Struct):
    symbol: Symbol
    holder: Bytes20
    spender: Bytes20


class ItemQuery(Struct):
    symbol: Symbol
    item: Annotated[str, msgspec.Meta(min_length=1, max_length=ITEM_ID_LENGTH_MAX)]


class SchemeView(Struct):
    scheme: Scheme
    rules: Rules
    supply: Supply
    holders: int


class LotView(Struct):
    amount: int
    expires_at_ms: int | None
    expired: bool


class HoldingView(Struct):
    symbol: str
    account: Bytes20
    balance: int  # live units
    expired: int  # expired, not yet swept
    locked: int
    frozen: bool
    items: int
    lots: list[LotView]
    at_ms: int  # the block time the view was computed for


class HolderView(Struct):
    account: Bytes20
    balance: int
    expired: int
    locked: int
    frozen: bool
    items: int


class ReportView(Struct):
    symbol: str
    supply: int
    deposits: int
    withdrawals_confirmed: int
    locked: int
    balanced: bool
    deposits_count: int
    withdrawals_count: int
