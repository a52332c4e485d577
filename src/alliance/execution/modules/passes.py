"""The ``passes`` module: token schemes with declared rights, closed loops, expiry, and a gateway.

Theory of operation
-------------------
What a scheme declares, how its state is laid out and the invariants it keeps are in
``alliance.abi.passes``. This module enforces them, deterministically, on every node:

- Authority comes from governance's state: an account's organisation and roles
  (``gov/account/<address>``) and the member list. A scheme's *issuer authority* is any account
  holding the ``issuer`` role in the scheme's organisation; minting takes the scheme's
  ``minter_role`` (by default, that issuer authority); pausing takes the issuer authority or the
  supervisor. Governance's account freeze applies to passes through governance's block policy,
  before any call; a scheme's own freeze of a holder is the ``frozen`` flag of its holding.
- Balances are lots: ``(amount, expires_at_ms)``, sorted by expiry (``0``, never, last). A lot is
  live while the block's time is before its expiry. Spending (transfer, redeem, burn, withdraw)
  takes the earliest-expiring live lots first and a transfer hands the receiver the same lots, so
  units keep their expiry whoever holds them. Lots of a ``lot`` scheme expire at the UTC midnight
  after ``lot_days`` days from their minting block's time, so one day's mints share a lot.
- Every operation reads the scheme's compact ``Rules`` once (decoded forms are kept while their
  bytes stay the same), the holdings it touches (one IndexedMap entry each) and nothing that grows
  with the number of holders or schemes.
- Every refusal is a typed ``ExecutionError`` from ``abi.passes`` raised before any write, or,
  where a write came first, inside the transaction's undo log: a failed operation changes nothing
  but its receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from alliance import codec
from alliance.abi import gov
from alliance.abi import passes as p
from alliance.codec import Struct
from alliance.crypto.keys import to_checksum_address
from alliance.errors import DecodeError, InsufficientBalance, InvalidArguments, NotFound
from alliance.execution.collections import LISTED, IndexedMap, Listed
from alliance.execution.context import CallContext
from alliance.execution.modules import Method, ModuleBase, Query
from alliance.types import fail_invariant, invariant

if TYPE_CHECKING:
    from alliance.execution.modules import QueryState

T = TypeVar("T")

SCHEMES = IndexedMap(b"pass/schemes", Listed)
_RULES_CACHE_MAX = 4096
_rules_cache: dict[bytes, p.Rules] = {}
_EMPTY_HOLDING = p.Holding()
_encode = msgspec.msgpack.Encoder().encode  # = codec.encode
Slot = tuple[int, p.Holding] | None
"""What ``IndexedMap.entry`` read for a holder (None: not a holder yet), handed back on writing."""


def decl_key(symbol: str) -> bytes:
    return b"pass/decl/" + symbol.encode()


def rules_key(symbol: str) -> bytes:
    return b"pass/rules/" + symbol.encode()


def supply_key(symbol: str) -> bytes:
    return b"pass/supply/" + symbol.encode()


_holders: dict[str, IndexedMap[p.Holding]] = {}


def holders(symbol: str) -> IndexedMap[p.Holding]:
    index = _holders.get(symbol)
    if index is None:
        if len(_holders) >= _RULES_CACHE_MAX:
            _holders.clear()
        index = _holders[symbol] = IndexedMap(b"pass/h/" + symbol.encode(), p.Holding)
    return index


def allow_key(symbol: str, account: bytes) -> bytes:
    return b"pass/allow/" + symbol.encode() + b"/" + account


def item_key(symbol: str, item: str) -> bytes:
    return b"pass/item/" + symbol.encode() + b"/" + item.encode()


def reference_key(symbol: str, gateway: bytes, reference: str) -> bytes:
    digest = hashlib.sha256(gateway + b"\x00" + reference.encode()).digest()
    return b"pass/ref/" + symbol.encode() + b"/" + digest


def deposit_key(symbol: str, seq: int) -> bytes:
    return b"pass/dep/" + symbol.encode() + b"/" + seq.to_bytes(8, "big")


def approval_key(symbol: str, holder: bytes, spender: bytes) -> bytes:
    return b"pass/approval/" + symbol.encode() + b"/" + holder + spender


def withdrawal_key(symbol: str, withdrawal: int) -> bytes:
    return b"pass/wd/" + symbol.encode() + b"/" + withdrawal.to_bytes(8, "big")


def lot_expiry_ms(rules: p.Rules, now_ms: int) -> int:
    """The expiry of units minted at ``now_ms`` (0: never)."""
    if rules.expiry == "fixed":
        return rules.expires_at_ms
    if rules.expiry == "lot":
        return (now_ms // p.DAY_MS + 1 + rules.lot_days) * p.DAY_MS
    return 0


def _sort_key(lot: p.Lot) -> int:
    return lot.expires_at_ms or 2**63


def _decode_args(decode: Callable[[bytes], T], kind: type[T], raw: bytes, method: str) -> T:
    """``codec.decode(kind, raw)`` (typed, canonical: re-encoding gives back the input) with the
    method's own decoder, as the transfer path decodes every transaction's arguments."""
    if type(raw) is bytes and len(raw) <= codec.DEFAULT_SIZE_BYTES_MAX:
        try:
            args = decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass
        else:
            if _encode(args) == raw:
                return args
    try:
        return codec.decode(kind, raw)
    except DecodeError:
        raise InvalidArguments(f"passes.{method} takes {kind.__name__}") from None


class _Scheme:
    """One scheme's rules and keys for one call."""

    __slots__ = ("holders", "rules", "symbol")

    def __init__(self, ctx: CallContext, symbol: str) -> None:
        raw = ctx.read(rules_key(symbol))
        if raw is None:
            raise p.UnknownScheme(f"there is no pass scheme {symbol!a}")
        rules = _rules_cache.get(raw)
        if rules is None:
            if len(_rules_cache) >= _RULES_CACHE_MAX:
                _rules_cache.clear()
            rules = _rules_cache[raw] = codec.decode_trusted(p.Rules, raw)
        self.symbol = symbol
        self.rules = rules
        self.holders = holders(symbol)

    def require_active(self) -> None:
        if self.rules.paused:
            raise p.SchemePaused(f"{self.symbol} is paused by its issuer")

    def holding(self, ctx: CallContext, account: bytes) -> tuple[Slot, p.Holding]:
        entry = self.holders.entry(ctx, account)
        if entry is None:
            return None, _EMPTY_HOLDING
        return entry, entry[1]

    def store(self, ctx: CallContext, account: bytes, entry: Slot, holding: p.Holding) -> None:
        if holding.empty:
            if entry is not None:
                self.holders.remove(ctx, account)
            return
        self.holders.put_entry(ctx, account, entry, holding)

    def supply(self, ctx: CallContext) -> p.Supply:
        raw = ctx.read(supply_key(self.symbol))
        invariant(raw is not None, "a scheme has its supply record")
        return codec.decode_trusted(p.Supply, raw)  # type: ignore[arg-type]

    def write_supply(self, ctx: CallContext, supply: p.Supply) -> None:
        invariant(supply.supply >= 0 and supply.locked >= 0, "a scheme's supply is never negative")
        invariant(not self.rules.cap or supply.supply <= self.rules.cap, "a scheme's cap holds")
        ctx.write(supply_key(self.symbol), codec.encode(supply))


# --- authority and eligibility --------------------------------------------------------------------------


_ACCOUNTS_CACHE_MAX = 65_536
_accounts_cache: dict[bytes, gov.AccountRecord] = {}
_NO_ACCOUNT = gov.AccountRecord("", [])


def _account(ctx: CallContext, address: bytes) -> gov.AccountRecord:
    """An account's organisation and roles (governance's record), decoded once per distinct value:
    records are few and shared (an organisation's holders), and a closed loop reads two a transfer."""
    raw = ctx.read(gov.account_record_key(address))
    if raw is None:
        return _NO_ACCOUNT
    record = _accounts_cache.get(raw)
    if record is None:
        if len(_accounts_cache) >= _ACCOUNTS_CACHE_MAX:
            _accounts_cache.clear()
        record = _accounts_cache[raw] = codec.decode_trusted(gov.AccountRecord, raw)
    return record


def _is_issuer_authority(ctx: CallContext, rules: p.Rules, address: bytes) -> bool:
    if address == rules.issuer:
        return True
    record = _account(ctx, address)
    return record.org == rules.issuer_org and p.ISSUER in record.roles


def _require_issuer(ctx: CallContext, scheme: _Scheme, what: str) -> None:
    if not _is_issuer_authority(ctx, scheme.rules, ctx.sender):
        who = to_checksum_address(ctx.sender)
        raise p.NotIssuer(
            f"{what} {scheme.symbol} takes an issuer of {scheme.rules.issuer_org}; {who} is not one"
        )


def _require_minter(ctx: CallContext, scheme: _Scheme) -> None:
    role = scheme.rules.minter_role
    if role:
        if role in _account(ctx, ctx.sender).roles:
            return
        raise p.NotMinter(f"minting {scheme.symbol} takes the role {role!a}")
    if not _is_issuer_authority(ctx, scheme.rules, ctx.sender):
        raise p.NotMinter(f"minting {scheme.symbol} takes an issuer of {scheme.rules.issuer_org}")


def _eligible(ctx: CallContext, scheme: _Scheme, address: bytes) -> bool:
    eligibility = scheme.rules.eligibility
    if eligibility == "any":
        return True
    if eligibility == "allow-list":
        return ctx.read(allow_key(scheme.symbol, address)) is not None
    record = _account(ctx, address)
    if eligibility == "members":
        return bool(record.org) and gov.read_members(ctx.read(gov.MEMBERS_KEY)).get(record.org) is not None
    return eligibility.removeprefix("role:") in record.roles


def _require_eligible(ctx: CallContext, scheme: _Scheme, address: bytes) -> None:
    if not _eligible(ctx, scheme, address):
        who = to_checksum_address(address)
        raise p.NotEligible(f"{who} may not hold {scheme.symbol} (eligibility: {scheme.rules.eligibility})")


def _not_frozen(scheme: _Scheme, holding: p.Holding, address: bytes) -> None:
    if holding.frozen:
        raise p.HolderFrozen(f"{to_checksum_address(address)} is frozen in {scheme.symbol} by its issuer")


def _require_live(ctx: CallContext, rules: p.Rules, symbol: str) -> None:
    if rules.expiry == "fixed" and ctx.time_ms >= rules.expires_at_ms:
        raise p.PassExpired(f"{symbol} expired at {rules.expires_at_ms} ms")


# --- lots ----------------------------------------------------------------------------------------------


def _take(holding: p.Holding, amount: int, now_ms: int, symbol: str) -> tuple[list[p.Lot], list[p.Lot]]:
    """Split ``amount`` live units off ``holding``'s lots, earliest expiry first: (taken, left)."""
    lots = holding.lots
    if lots:  # the usual case: the earliest lot is live and covers the amount
        first = lots[0]
        expiry = first.expires_at_ms
        if first.amount >= amount and (expiry == 0 or expiry > now_ms):
            rest = lots[1:]
            if first.amount == amount:
                return [first], rest
            return [p.Lot(amount, expiry)], [p.Lot(first.amount - amount, expiry), *rest]
    live = holding.live(now_ms)
    if live < amount:
        expired = holding.total() - live
        more = f" ({expired} more expired)" if expired else ""
        raise InsufficientBalance(f"the live {symbol} balance is {live}{more}, less than {amount}")
    taken: list[p.Lot] = []
    left: list[p.Lot] = []
    need = amount
    for lot in holding.lots:  # sorted by expiry
        expired = lot.expires_at_ms and lot.expires_at_ms <= now_ms
        if need == 0 or expired:
            left.append(lot)
        elif lot.amount <= need:
            taken.append(lot)
            need -= lot.amount
        else:
            taken.append(p.Lot(need, lot.expires_at_ms))
            left.append(p.Lot(lot.amount - need, lot.expires_at_ms))
            need = 0
    invariant(need == 0, "live units cover the amount taken")
    return taken, left


def _add(lots: list[p.Lot], added: list[p.Lot], symbol: str) -> list[p.Lot]:
    """``lots`` with ``added`` merged in (equal expiries share a lot), sorted by expiry."""
    if len(added) == 1:
        lot = added[0]
        for i, mine in enumerate(lots):  # few lots: a scan beats a dict
            if mine.expires_at_ms == lot.expires_at_ms:
                total = mine.amount + lot.amount
                if total > p.AMOUNT_MAX:
                    raise InvalidArguments(f"a {symbol} balance would overflow")
                return [*lots[:i], p.Lot(total, lot.expires_at_ms), *lots[i + 1 :]]
    by_expiry = {lot.expires_at_ms: lot.amount for lot in lots}
    for lot in added:
        total = by_expiry.get(lot.expires_at_ms, 0) + lot.amount
        if total > p.AMOUNT_MAX:
            raise InvalidArguments(f"a {symbol} balance would overflow")
        by_expiry[lot.expires_at_ms] = total
    if len(by_expiry) > p.LOTS_PER_HOLDING_MAX:
        raise p.TooManyLots(
            f"a holder keeps at most {p.LOTS_PER_HOLDING_MAX} lots of {symbol}; redeem some first"
        )
    merged = [p.Lot(amount, expiry) for expiry, amount in by_expiry.items()]
    merged.sort(key=_sort_key)
    return merged


def _with_lots(holding: p.Holding, lots: list[p.Lot], **changes: Any) -> p.Holding:
    if not changes:
        return p.Holding(lots, holding.locked, holding.frozen, holding.items)
    return p.Holding(
        lots=lots,
        locked=changes.get("locked", holding.locked),
        frozen=changes.get("frozen", holding.frozen),
        items=changes.get("items", holding.items),
    )


# --- the module ----------------------------------------------------------------------------------------


class PassesModule(ModuleBase):
    name = p.MODULE_NAME
    events = p.EVENTS
    errors = p.ERRORS

    def __init__(self) -> None:
        handlers: dict[str, tuple[type[Struct], Callable[[CallContext, Any], bytes | None], str]] = {
            "create": (p.CreateArgs, self.create, "declare a scheme (an issuer, for its organisation)"),
            "mint": (p.MintArgs, self.mint, "issue units or an item to an eligible holder"),
            "mint_batch": (p.MintBatchArgs, self.mint_batch, "issue units to many holders at once"),
            "transfer": (p.TransferArgs, self.transfer, "move units or an item, as circulation allows"),
            "redeem": (p.RedeemArgs, self.redeem, "redeem units at an account with the redeemer role"),
            "approve": (
                p.ApproveArgs,
                self.approve,
                "let a spender move or redeem up to an amount of one's units",
            ),
            "transfer_from": (
                p.TransferFromArgs,
                self.transfer_from,
                "move a holder's units within an allowance",
            ),
            "redeem_from": (
                p.RedeemFromArgs,
                self.redeem_from,
                "redeem a holder's units within an allowance",
            ),
            "burn": (p.BurnArgs, self.burn, "destroy units or an item one holds"),
            "freeze": (p.HolderArgs, self.freeze, "stop a holder moving a scheme's units (its issuer)"),
            "unfreeze": (p.HolderArgs, self.unfreeze, "let a frozen holder move units again (its issuer)"),
            "pause": (p.SymbolArgs, self.pause, "stop a whole scheme (its issuer or the supervisor)"),
            "resume": (p.SymbolArgs, self.resume, "resume a paused scheme (its issuer or the supervisor)"),
            "allow": (p.HolderArgs, self.allow, "add an account to a scheme's allow-list (its issuer)"),
            "disallow": (p.HolderArgs, self.disallow, "remove an account from the allow-list (its issuer)"),
            "sweep": (p.SweepArgs, self.sweep, "remove holders' expired units (its issuer)"),
            "deposit": (p.DepositArgs, self.deposit, "credit settlement units against a bank reference"),
            "withdraw": (p.WithdrawArgs, self.withdraw, "ask the gateway to pay units out; they are locked"),
            "confirm": (p.SettleArgs, self.confirm, "the gateway paid a withdrawal out: burn its units"),
            "reject": (p.SettleArgs, self.reject, "the gateway refused a withdrawal: return its units"),
        }
        self._handlers = {
            name: (args, run, msgspec.msgpack.Decoder(args).decode)
            for name, (args, run, _) in handlers.items()
        }
        self.methods = tuple(Method(name, args, doc) for name, (args, _, doc) in handlers.items())
        self.queries = {q.name: q for q in _QUERIES}

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        handler = self._handlers.get(method)
        if handler is None:
            raise self.unknown_method(method)
        kind, run, decoder = handler
        return run(ctx, _decode_args(decoder, kind, args, method))

    # -- schemes ------------------------------------------------------------------------------------

    def create(self, ctx: CallContext, args: p.CreateArgs) -> None:
        record = _account(ctx, ctx.sender)
        if p.ISSUER not in record.roles or not record.org:
            raise p.NotIssuer(
                f"{to_checksum_address(ctx.sender)} does not hold the issuer role of an organisation"
            )
        if gov.read_members(ctx.read(gov.MEMBERS_KEY)).get(record.org) is None:
            raise p.NotIssuer(f"{record.org} is not a member organisation")
        if ctx.read(rules_key(args.symbol)) is not None:
            raise p.SymbolTaken(f"the symbol {args.symbol} is taken")
        rules = _rules_of(args, ctx.sender, record.org, ctx.time_ms)
        scheme = p.Scheme(
            args.symbol,
            args.name,
            args.kind,
            args.decimals,
            args.rights,
            p.rights_hash(args.rights),
            ctx.sender,
            record.org,
            ctx.height,
        )
        ctx.write(decl_key(args.symbol), codec.encode(scheme))
        ctx.write(rules_key(args.symbol), codec.encode(rules))
        ctx.write(supply_key(args.symbol), codec.encode(p.Supply()))
        SCHEMES.put(ctx, args.symbol.encode(), LISTED)
        event = p.CreatedEvent(args.symbol, ctx.sender, record.org, scheme.rights_hash)
        ctx.emit(self.name, "created", codec.encode(event))

    def pause(self, ctx: CallContext, args: p.SymbolArgs) -> None:
        self._set_paused(ctx, args.symbol, paused=True)

    def resume(self, ctx: CallContext, args: p.SymbolArgs) -> None:
        self._set_paused(ctx, args.symbol, paused=False)

    def _set_paused(self, ctx: CallContext, symbol: str, *, paused: bool) -> None:
        scheme = _Scheme(ctx, symbol)
        supervisor = p.SUPERVISOR in _account(ctx, ctx.sender).roles
        if not supervisor:
            _require_issuer(ctx, scheme, "pausing" if paused else "resuming")
        if scheme.rules.paused == paused:
            raise InvalidArguments(f"{symbol} is {'paused' if paused else 'active'} already")
        rules = _replace_rules(scheme.rules, paused=paused)
        ctx.write(rules_key(symbol), codec.encode(rules))
        ctx.emit(
            self.name, "paused" if paused else "resumed", codec.encode(p.SchemeEvent(symbol, ctx.sender))
        )

    def allow(self, ctx: CallContext, args: p.HolderArgs) -> None:
        scheme = _Scheme(ctx, args.symbol)
        _require_issuer(ctx, scheme, "the allow-list of")
        if ctx.read(allow_key(args.symbol, args.account)) is not None:
            raise InvalidArguments(f"{to_checksum_address(args.account)} is on the allow-list already")
        ctx.write(allow_key(args.symbol, args.account), b"\x01")
        ctx.emit(self.name, "allowed", codec.encode(p.HolderEvent(args.symbol, args.account, ctx.sender)))

    def disallow(self, ctx: CallContext, args: p.HolderArgs) -> None:
        scheme = _Scheme(ctx, args.symbol)
        _require_issuer(ctx, scheme, "the allow-list of")
        if ctx.read(allow_key(args.symbol, args.account)) is None:
            raise InvalidArguments(f"{to_checksum_address(args.account)} is not on the allow-list")
        ctx.write(allow_key(args.symbol, args.account), None)
        ctx.emit(self.name, "disallowed", codec.encode(p.HolderEvent(args.symbol, args.account, ctx.sender)))

    def freeze(self, ctx: CallContext, args: p.HolderArgs) -> None:
        self._set_frozen(ctx, args, frozen=True)

    def unfreeze(self, ctx: CallContext, args: p.HolderArgs) -> None:
        self._set_frozen(ctx, args, frozen=False)

    def _set_frozen(self, ctx: CallContext, args: p.HolderArgs, *, frozen: bool) -> None:
        scheme = _Scheme(ctx, args.symbol)
        _require_issuer(ctx, scheme, "freezing holders of")
        entry, holding = scheme.holding(ctx, args.account)
        if holding.frozen == frozen:
            state = "frozen" if frozen else "not frozen"
            raise InvalidArguments(f"{to_checksum_address(args.account)} is {state} in {args.symbol} already")
        scheme.store(ctx, args.account, entry, _with_lots(holding, holding.lots, frozen=frozen))
        name = "frozen" if frozen else "unfrozen"
        ctx.emit(self.name, name, codec.encode(p.HolderEvent(args.symbol, args.account, ctx.sender)))

    # -- issuing ------------------------------------------------------------------------------------

    def mint(self, ctx: CallContext, args: p.MintArgs) -> None:
        scheme = _Scheme(ctx, args.symbol)
        if scheme.rules.settlement:
            raise p.NotSettlement(f"{args.symbol} is settlement money: the gateway credits it with deposit")
        _require_minter(ctx, scheme)
        scheme.require_active()
        _require_live(ctx, scheme.rules, args.symbol)
        if scheme.rules.kind == "unique":
            self._mint_item(ctx, scheme, args)
        else:
            if args.item:
                raise InvalidArguments(f"{args.symbol} is fungible: it has no items")
            supply = scheme.supply(ctx)
            self._credit(ctx, scheme, supply, args.to, args.amount)
            scheme.write_supply(ctx, supply)
        event = p.MovedEvent(args.symbol, None, args.to, args.amount, args.item, args.memo)
        ctx.emit(self.name, "minted", codec.encode(event))

    def mint_batch(self, ctx: CallContext, args: p.MintBatchArgs) -> None:
        scheme = _Scheme(ctx, args.symbol)
        if scheme.rules.settlement or scheme.rules.kind == "unique":
            raise InvalidArguments(
                f"batch minting is for fungible, non-settlement schemes; {args.symbol} is not"
            )
        _require_minter(ctx, scheme)
        scheme.require_active()
        _require_live(ctx, scheme.rules, args.symbol)
        supply = scheme.supply(ctx)
        for entry in args.entries:
            self._credit(ctx, scheme, supply, entry.to, entry.amount)
            event = p.MovedEvent(args.symbol, None, entry.to, entry.amount, "", args.memo)
            ctx.emit(self.name, "minted", codec.encode(event))
        scheme.write_supply(ctx, supply)

    def _credit(self, ctx: CallContext, scheme: _Scheme, supply: p.Supply, to: bytes, amount: int) -> None:
        """Mint ``amount`` units to ``to``: eligibility, the cap, the holder's freeze; ``supply`` is
        updated in place (the caller writes it once)."""
        _require_eligible(ctx, scheme, to)
        total = supply.supply + amount
        if scheme.rules.cap and total > scheme.rules.cap:
            raise p.CapExceeded(
                f"minting {amount} would bring {scheme.symbol} to {total}, over its cap {scheme.rules.cap}"
            )
        if total > p.AMOUNT_MAX:
            raise InvalidArguments(f"the supply of {scheme.symbol} would overflow")
        entry, holding = scheme.holding(ctx, to)
        _not_frozen(scheme, holding, to)
        lots = _add(holding.lots, [p.Lot(amount, lot_expiry_ms(scheme.rules, ctx.time_ms))], scheme.symbol)
        scheme.store(ctx, to, entry, _with_lots(holding, lots))
        supply.supply = total
        supply.minted += amount

    def _mint_item(self, ctx: CallContext, scheme: _Scheme, args: p.MintArgs) -> None:
        if not args.item or args.amount != 1:
            raise InvalidArguments(f"{args.symbol} is unique: mint one item with an id (amount 1)")
        if ctx.read(item_key(args.symbol, args.item)) is not None:
            raise p.ItemExists(f"{args.symbol} item {args.item!a} exists already")
        _require_eligible(ctx, scheme, args.to)
        supply = scheme.supply(ctx)
        if scheme.rules.cap and supply.supply + 1 > scheme.rules.cap:
            raise p.CapExceeded(f"{args.symbol} has its cap of {scheme.rules.cap} items")
        entry, holding = scheme.holding(ctx, args.to)
        _not_frozen(scheme, holding, args.to)
        ctx.write(
            item_key(args.symbol, args.item), codec.encode(p.Item(args.to, args.metadata_hash, ctx.height))
        )
        scheme.store(ctx, args.to, entry, _with_lots(holding, holding.lots, items=holding.items + 1))
        supply.supply += 1
        supply.minted += 1
        scheme.write_supply(ctx, supply)

    # -- moving -------------------------------------------------------------------------------------

    def transfer(self, ctx: CallContext, args: p.TransferArgs) -> None:
        self._transfer(ctx, args.symbol, ctx.sender, args.to, args.amount, args.item)

    def transfer_from(self, ctx: CallContext, args: p.TransferFromArgs) -> None:
        self._spend_allowance(ctx, args.symbol, args.holder, args.amount)
        self._transfer(ctx, args.symbol, args.holder, args.to, args.amount, "")

    def _transfer(
        self, ctx: CallContext, symbol: str, sender: bytes, to: bytes, amount: int, item: str
    ) -> None:
        scheme = _Scheme(ctx, symbol)
        rules = scheme.rules
        scheme.require_active()
        if rules.circulation == "none":
            raise p.NonTransferable(f"{symbol} is non-transferable: it can only be redeemed")
        if rules.circulation == "closed":
            for account in (sender, to):
                if not _eligible(ctx, scheme, account):
                    who = to_checksum_address(account)
                    raise p.CirculationClosed(
                        f"{symbol} moves only between eligible holders; {who} is not one"
                    )
        if to == sender:
            raise InvalidArguments("a transfer needs another account")
        if rules.kind == "unique":
            self._move_item(ctx, scheme, sender, to, item, amount)
        else:
            self._move_units(ctx, scheme, sender, to, amount, item)
        event = p.MovedEvent(symbol, sender, to, amount, item, "")
        ctx.emit(self.name, "transferred", codec.encode(event))

    def approve(self, ctx: CallContext, args: p.ApproveArgs) -> None:
        _Scheme(ctx, args.symbol)  # it exists
        if args.spender == ctx.sender:
            raise InvalidArguments("an allowance is for another account")
        key = approval_key(args.symbol, ctx.sender, args.spender)
        ctx.write(key, codec.encode(args.amount) if args.amount else None)
        event = p.ApprovalEvent(args.symbol, ctx.sender, args.spender, args.amount)
        ctx.emit(self.name, "approved", codec.encode(event))

    def _spend_allowance(self, ctx: CallContext, symbol: str, holder: bytes, amount: int) -> None:
        """Use ``amount`` of what ``holder`` allowed the sender (the spender) in ``symbol``."""
        key = approval_key(symbol, holder, ctx.sender)
        raw = ctx.read(key)
        allowed = 0 if raw is None else codec.decode_trusted(int, raw)
        if allowed < amount:
            who = to_checksum_address(holder)
            raise p.AllowanceExceeded(f"{who} allowed this spender {allowed} {symbol}, less than {amount}")
        ctx.write(key, codec.encode(allowed - amount) if allowed > amount else None)

    def _move_units(
        self, ctx: CallContext, scheme: _Scheme, sender: bytes, to: bytes, amount: int, item: str
    ) -> None:
        if item:
            raise InvalidArguments(f"{scheme.symbol} is fungible: it has no items")
        from_entry, from_holding = scheme.holding(ctx, sender)
        _not_frozen(scheme, from_holding, sender)
        to_entry, to_holding = scheme.holding(ctx, to)
        _not_frozen(scheme, to_holding, to)
        taken, left = _take(from_holding, amount, ctx.time_ms, scheme.symbol)
        lots = _add(to_holding.lots, taken, scheme.symbol)
        scheme.store(ctx, sender, from_entry, _with_lots(from_holding, left))
        scheme.store(ctx, to, to_entry, _with_lots(to_holding, lots))

    def _move_item(
        self, ctx: CallContext, scheme: _Scheme, sender: bytes, to: bytes, item: str, amount: int
    ) -> None:
        if not item or amount != 1:
            raise InvalidArguments(f"{scheme.symbol} is unique: move one item by its id (amount 1)")
        record = self._held_item(ctx, scheme, sender, item)
        from_entry, from_holding = scheme.holding(ctx, sender)
        _not_frozen(scheme, from_holding, sender)
        to_entry, to_holding = scheme.holding(ctx, to)
        _not_frozen(scheme, to_holding, to)
        ctx.write(
            item_key(scheme.symbol, item),
            codec.encode(p.Item(to, record.metadata_hash, record.minted_height)),
        )
        scheme.store(
            ctx, sender, from_entry, _with_lots(from_holding, from_holding.lots, items=from_holding.items - 1)
        )
        scheme.store(ctx, to, to_entry, _with_lots(to_holding, to_holding.lots, items=to_holding.items + 1))

    def _held_item(self, ctx: CallContext, scheme: _Scheme, holder: bytes, item: str) -> p.Item:
        raw = ctx.read(item_key(scheme.symbol, item)) if item else None
        record = None if raw is None else codec.decode_trusted(p.Item, raw)
        if record is None or record.holder != holder:
            raise p.ItemNotHeld(f"{to_checksum_address(holder)} does not hold {scheme.symbol} item {item!a}")
        return record

    def redeem(self, ctx: CallContext, args: p.RedeemArgs) -> None:
        self._redeem(ctx, args.symbol, ctx.sender, args.at, args.amount, args.item, "")

    def redeem_from(self, ctx: CallContext, args: p.RedeemFromArgs) -> None:
        self._spend_allowance(ctx, args.symbol, args.holder, args.amount)
        self._redeem(ctx, args.symbol, args.holder, args.at, args.amount, "", args.memo)

    def _redeem(
        self, ctx: CallContext, symbol: str, holder: bytes, at: bytes, amount: int, item: str, memo: str
    ) -> None:
        scheme = _Scheme(ctx, symbol)
        rules = scheme.rules
        scheme.require_active()
        if not rules.redeemer_role:
            raise p.NotRedeemer(f"{symbol} declares no redemption")
        if rules.redeemer_role not in _account(ctx, at).roles:
            who = to_checksum_address(at)
            raise p.NotRedeemer(f"{who} does not hold the role {rules.redeemer_role!a} that redeems {symbol}")
        if at == holder:
            raise InvalidArguments("a redemption is made at another account")
        supply = scheme.supply(ctx)
        if rules.kind == "unique":
            if rules.redeem_burns:
                self._burn_item(ctx, scheme, supply, holder, item, amount)
            else:
                self._move_item(ctx, scheme, holder, at, item, amount)
        else:
            if item:
                raise InvalidArguments(f"{symbol} is fungible: it has no items")
            entry, holding = scheme.holding(ctx, holder)
            _not_frozen(scheme, holding, holder)
            taken, left = _take(holding, amount, ctx.time_ms, symbol)
            scheme.store(ctx, holder, entry, _with_lots(holding, left))
            if rules.redeem_burns:
                supply.supply -= amount
            else:
                at_entry, at_holding = scheme.holding(ctx, at)
                scheme.store(ctx, at, at_entry, _with_lots(at_holding, _add(at_holding.lots, taken, symbol)))
        supply.redeemed += amount
        scheme.write_supply(ctx, supply)
        event = p.RedeemedEvent(symbol, holder, at, amount, item, rules.redeem_burns, memo)
        ctx.emit(self.name, "redeemed", codec.encode(event))

    def burn(self, ctx: CallContext, args: p.BurnArgs) -> None:
        scheme = _Scheme(ctx, args.symbol)
        if scheme.rules.settlement:
            raise p.NotSettlement(f"{args.symbol} is settlement money: units leave by withdrawal")
        scheme.require_active()
        supply = scheme.supply(ctx)
        if scheme.rules.kind == "unique":
            self._burn_item(ctx, scheme, supply, ctx.sender, args.item, args.amount)
        else:
            if args.item:
                raise InvalidArguments(f"{args.symbol} is fungible: it has no items")
            entry, holding = scheme.holding(ctx, ctx.sender)
            _not_frozen(scheme, holding, ctx.sender)
            _, left = _take(holding, args.amount, ctx.time_ms, args.symbol)
            scheme.store(ctx, ctx.sender, entry, _with_lots(holding, left))
            supply.supply -= args.amount
        supply.burned += args.amount
        scheme.write_supply(ctx, supply)
        event = p.MovedEvent(args.symbol, ctx.sender, None, args.amount, args.item, "")
        ctx.emit(self.name, "burned", codec.encode(event))

    def _burn_item(
        self, ctx: CallContext, scheme: _Scheme, supply: p.Supply, holder: bytes, item: str, amount: int
    ) -> None:
        if not item or amount != 1:
            raise InvalidArguments(f"{scheme.symbol} is unique: name one item (amount 1)")
        self._held_item(ctx, scheme, holder, item)
        entry, holding = scheme.holding(ctx, holder)
        _not_frozen(scheme, holding, holder)
        ctx.write(item_key(scheme.symbol, item), None)
        scheme.store(ctx, holder, entry, _with_lots(holding, holding.lots, items=holding.items - 1))
        supply.supply -= 1

    def sweep(self, ctx: CallContext, args: p.SweepArgs) -> None:
        scheme = _Scheme(ctx, args.symbol)
        _require_issuer(ctx, scheme, "sweeping")
        supply = scheme.supply(ctx)
        swept_total = 0
        for account in args.holders:
            entry, holding = scheme.holding(ctx, account)
            live = [lot for lot in holding.lots if not lot.expires_at_ms or lot.expires_at_ms > ctx.time_ms]
            expired = holding.total() - sum(lot.amount for lot in live)
            if not expired:
                continue
            scheme.store(ctx, account, entry, _with_lots(holding, live))
            swept_total += expired
            event = p.MovedEvent(args.symbol, account, None, expired, "", "expired")
            ctx.emit(self.name, "swept", codec.encode(event))
        if not swept_total:
            raise InvalidArguments(f"none of the {len(args.holders)} holders has expired {args.symbol}")
        supply.supply -= swept_total
        supply.swept += swept_total
        scheme.write_supply(ctx, supply)

    # -- the gateway --------------------------------------------------------------------------------

    def _settlement(self, ctx: CallContext, symbol: str) -> _Scheme:
        scheme = _Scheme(ctx, symbol)
        if not scheme.rules.settlement:
            raise p.NotSettlement(f"{symbol} is not settlement money (its minter role is not {p.GATEWAY})")
        scheme.require_active()
        return scheme

    def deposit(self, ctx: CallContext, args: p.DepositArgs) -> bytes:
        scheme = self._settlement(ctx, args.symbol)
        _require_minter(ctx, scheme)
        ref = reference_key(args.symbol, ctx.sender, args.reference)
        if ctx.read(ref) is not None:
            raise p.ReferenceUsed(f"the reference {args.reference!a} was credited already")
        supply = scheme.supply(ctx)
        self._credit(ctx, scheme, supply, args.to, args.amount)
        supply.deposits += args.amount
        supply.deposits_count += 1
        seq = supply.deposits_count
        record = p.Deposit(seq, args.to, args.amount, args.reference, ctx.sender, ctx.height)
        ctx.write(ref, seq.to_bytes(8, "big"))
        ctx.write(deposit_key(args.symbol, seq), codec.encode(record))
        scheme.write_supply(ctx, supply)
        event = p.DepositEvent(args.symbol, seq, args.to, args.amount, args.reference)
        ctx.emit(self.name, "deposited", codec.encode(event))
        return codec.encode(seq)

    def withdraw(self, ctx: CallContext, args: p.WithdrawArgs) -> bytes:
        scheme = self._settlement(ctx, args.symbol)
        entry, holding = scheme.holding(ctx, ctx.sender)
        _not_frozen(scheme, holding, ctx.sender)
        _, left = _take(holding, args.amount, ctx.time_ms, args.symbol)
        scheme.store(ctx, ctx.sender, entry, _with_lots(holding, left, locked=holding.locked + args.amount))
        supply = scheme.supply(ctx)
        supply.locked += args.amount
        supply.withdrawals_count += 1
        withdrawal = supply.withdrawals_count
        record = p.Withdrawal(
            withdrawal, ctx.sender, args.amount, args.to_external, "pending", "", ctx.height
        )
        ctx.write(withdrawal_key(args.symbol, withdrawal), codec.encode(record))
        scheme.write_supply(ctx, supply)
        event = p.WithdrawalEvent(args.symbol, withdrawal, ctx.sender, args.amount, "pending", "")
        ctx.emit(self.name, "withdrawal", codec.encode(event))
        return codec.encode(withdrawal)

    def confirm(self, ctx: CallContext, args: p.SettleArgs) -> None:
        self._settle(ctx, args, confirmed=True)

    def reject(self, ctx: CallContext, args: p.SettleArgs) -> None:
        self._settle(ctx, args, confirmed=False)

    def _settle(self, ctx: CallContext, args: p.SettleArgs, *, confirmed: bool) -> None:
        scheme = self._settlement(ctx, args.symbol)
        _require_minter(ctx, scheme)
        key = withdrawal_key(args.symbol, args.withdrawal)
        raw = ctx.read(key)
        if raw is None:
            raise p.WithdrawalUnknown(f"{args.symbol} has no withdrawal {args.withdrawal}")
        record = codec.decode_trusted(p.Withdrawal, raw)
        if record.status != "pending":
            raise p.WithdrawalSettled(f"withdrawal {args.withdrawal} is {record.status} already")
        entry, holding = scheme.holding(ctx, record.holder)
        invariant(holding.locked >= record.amount, "a pending withdrawal's units are locked")
        supply = scheme.supply(ctx)
        supply.locked -= record.amount
        lots = holding.lots
        if confirmed:
            supply.supply -= record.amount
            supply.withdrawals_confirmed += record.amount
        else:
            lots = _add(lots, [p.Lot(record.amount, 0)], args.symbol)
        scheme.store(
            ctx, record.holder, entry, _with_lots(holding, lots, locked=holding.locked - record.amount)
        )
        status: p.WithdrawalStatus = "confirmed" if confirmed else "rejected"
        settled = p.Withdrawal(
            record.id,
            record.holder,
            record.amount,
            record.to_external,
            status,
            args.reference,
            record.requested_height,
            ctx.height,
            ctx.sender,
        )
        ctx.write(key, codec.encode(settled))
        scheme.write_supply(ctx, supply)
        event = p.WithdrawalEvent(
            args.symbol, record.id, record.holder, record.amount, status, args.reference
        )
        ctx.emit(self.name, "withdrawal", codec.encode(event))


def _rules_of(args: p.CreateArgs, issuer: bytes, org: str, now_ms: int) -> p.Rules:
    """The rules a creation declares, checked for consistency."""
    if args.kind == "unique" and (args.decimals or args.expiry == "lot"):
        raise InvalidArguments("a unique scheme has no decimals and no lot expiry")
    if args.expiry == "lot" and not args.lot_days:
        raise InvalidArguments("a lot expiry needs lot_days >= 1")
    if args.expiry != "lot" and args.lot_days:
        raise InvalidArguments("lot_days is for a lot expiry")
    if args.expiry == "fixed" and args.expires_at_ms <= now_ms:
        raise InvalidArguments("a fixed expiry must lie in the future")
    if args.expiry != "fixed" and args.expires_at_ms:
        raise InvalidArguments("expires_at_ms is for a fixed expiry")
    settlement = args.minter_role == p.GATEWAY
    if settlement and (args.kind != "fungible" or args.expiry != "none"):
        raise InvalidArguments("settlement money is fungible and never expires")
    return p.Rules(
        kind=args.kind,
        issuer=issuer,
        issuer_org=org,
        cap=args.cap,
        minter_role=args.minter_role,
        eligibility=args.eligibility,
        circulation=args.circulation,
        redeemer_role=args.redeemer_role,
        redeem_burns=args.redeem_burns,
        expiry=args.expiry,
        expires_at_ms=args.expires_at_ms,
        lot_days=args.lot_days,
        paused=False,
        settlement=settlement,
    )


def _replace_rules(rules: p.Rules, **changes: Any) -> p.Rules:
    return msgspec.structs.replace(rules, **changes)


# --- queries (read-only, over committed state) ---------------------------------------------------------


def _read_struct(state: QueryState, key: bytes, kind: type[T]) -> T | None:
    raw = state.read(key)
    return None if raw is None else codec.decode_trusted(kind, raw)


def query_scheme(state: QueryState, args: p.SchemeQuery) -> p.SchemeView:
    scheme = _read_struct(state, decl_key(args.symbol), p.Scheme)
    rules = _read_struct(state, rules_key(args.symbol), p.Rules)
    supply = _read_struct(state, supply_key(args.symbol), p.Supply)
    if scheme is None or rules is None or supply is None:
        raise NotFound(f"there is no pass scheme {args.symbol!a}")
    return p.SchemeView(scheme, rules, supply, holders(args.symbol).count(state))


def query_schemes(state: QueryState, args: p.PageQuery) -> list[p.SchemeView]:
    symbols = SCHEMES.members(state, args.start, args.limit)
    return [query_scheme(state, p.SchemeQuery(s.decode())) for s in symbols]


def _holding_view(symbol: str, account: bytes, holding: p.Holding, now_ms: int) -> p.HoldingView:
    lots = [
        p.LotView(
            lot.amount, lot.expires_at_ms or None, bool(lot.expires_at_ms) and lot.expires_at_ms <= now_ms
        )
        for lot in holding.lots
    ]
    live = holding.live(now_ms)
    return p.HoldingView(
        symbol,
        account,
        live,
        holding.total() - live,
        holding.locked,
        holding.frozen,
        holding.items,
        lots,
        now_ms,
    )


def query_holding(state: QueryState, args: p.HoldingQuery) -> p.HoldingView:
    if state.read(rules_key(args.symbol)) is None:
        raise NotFound(f"there is no pass scheme {args.symbol!a}")
    holding = holders(args.symbol).get(state, args.account) or _EMPTY_HOLDING
    return _holding_view(args.symbol, args.account, holding, state.time_ms)


def query_holdings(state: QueryState, args: p.AccountQuery) -> list[p.HoldingView]:
    """An account's holdings across schemes (those it holds anything of), schemes from ``start``."""
    out = []
    for symbol in SCHEMES.members(state, args.start, args.limit):
        holding = holders(symbol.decode()).get(state, args.account)
        if holding is not None:
            out.append(_holding_view(symbol.decode(), args.account, holding, state.time_ms))
    return out


def query_holders(state: QueryState, args: p.SchemePageQuery) -> list[p.HolderView]:
    index = holders(args.symbol)
    out = []
    for account in index.members(state, args.start, args.limit):
        holding = index.get(state, account)
        if holding is None:
            fail_invariant(f"holder {account.hex()} of {args.symbol} is listed without a holding")
        live = holding.live(state.time_ms)
        out.append(
            p.HolderView(account, live, holding.total() - live, holding.locked, holding.frozen, holding.items)
        )
    return out


def query_report(state: QueryState, args: p.SchemeQuery) -> p.ReportView:
    supply = _read_struct(state, supply_key(args.symbol), p.Supply)
    if supply is None:
        raise NotFound(f"there is no pass scheme {args.symbol!a}")
    balanced = supply.supply == supply.deposits - supply.withdrawals_confirmed
    return p.ReportView(
        args.symbol,
        supply.supply,
        supply.deposits,
        supply.withdrawals_confirmed,
        supply.locked,
        balanced,
        supply.deposits_count,
        supply.withdrawals_count,
    )


def query_deposits(state: QueryState, args: p.SchemePageQuery) -> list[p.Deposit]:
    first = max(1, args.start)
    found = (
        _read_struct(state, deposit_key(args.symbol, seq), p.Deposit)
        for seq in range(first, first + args.limit)
    )
    return [d for d in found if d is not None]


def query_withdrawals(state: QueryState, args: p.SchemePageQuery) -> list[p.Withdrawal]:
    first = max(1, args.start)
    found = (
        _read_struct(state, withdrawal_key(args.symbol, wid), p.Withdrawal)
        for wid in range(first, first + args.limit)
    )
    return [w for w in found if w is not None]


def query_allowance(state: QueryState, args: p.AllowanceQuery) -> int:
    raw = state.read(approval_key(args.symbol, args.holder, args.spender))
    return 0 if raw is None else codec.decode_trusted(int, raw)


def query_item(state: QueryState, args: p.ItemQuery) -> p.Item:
    item = _read_struct(state, item_key(args.symbol, args.item), p.Item)
    if item is None:
        raise NotFound(f"{args.symbol} has no item {args.item!a}")
    return item


_QUERIES = (
    Query("scheme", query_scheme, p.SchemeQuery, "a scheme: its declaration, rules, supply and holder count"),
    Query("schemes", query_schemes, p.PageQuery, "the schemes, a page at a time"),
    Query("holding", query_holding, p.HoldingQuery, "an account's live balance, lots and expiry in a scheme"),
    Query("holdings", query_holdings, p.AccountQuery, "an account's holdings across schemes"),
    Query("holders", query_holders, p.SchemePageQuery, "a scheme's holders, a page at a time"),
    Query("report", query_report, p.SchemeQuery, "a settlement scheme's reconciliation"),
    Query("deposits", query_deposits, p.SchemePageQuery, "a settlement scheme's deposits from a number on"),
    Query("withdrawals", query_withdrawals, p.SchemePageQuery, "withdrawals from a number on"),
    Query("item", query_item, p.ItemQuery, "a unique item's holder and metadata hash"),
    Query("allowance", query_allowance, p.AllowanceQuery, "what a holder allowed a spender"),
)
