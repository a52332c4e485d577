"""Passes and contracts, with URLs people read: schemes, holdings, holders, history, the gateway's
reconciliation; live contracts, their code and ABI, and their views.

Theory of operation: every route reads the ``passes`` or ``contracts`` module's queries (the same
answers ``/v1/modules/...`` gives), at one height. A scheme's history is its events in recent
blocks, read backwards from ``before`` (default: the last committed height), whole blocks at a
time, until the page holds ``HISTORY_EVENTS_MAX`` events or has read ``HISTORY_BLOCKS_MAX`` blocks or
``HISTORY_RECEIPTS_MAX`` receipts (at least one block); the answer says where it stopped, so a
client pages further back with ``before=<next_before>``. A page ends at a block boundary, so its
last block may take it past ``HISTORY_EVENTS_MAX`` (by at most that block's events). A block the
node knows holds no passes event (``NodeFacade.emitted_in``: its account index's list of who emitted
in each block, or the block's receipts not even containing the name) is passed over without reading
its receipts, and counts as a block read but not towards the receipts. Only a transaction with a
matching event is hashed. No route scans the whole chain. The reconciliation
report is also CSV (``format=csv``): one record per deposit and withdrawal, as a bank's operator
matches it against its statement; a cell a spreadsheet would run as a formula is quoted with a
leading ``'``, and a report cut at ``CSV_RECORDS_MAX`` says so in a ``truncated`` record.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from alliance import codec
from alliance.abi import contracts as c
from alliance.abi import passes as p
from alliance.api.routes import AddressPath, WireJSON, answer, documented, hex_param
from alliance.api.routes.modules import answer_type_of
from alliance.crypto.keys import parse_address, to_checksum_address
from alliance.errors import DecodeError, UsageError
from alliance.execution.modules.contracts import ContractsModule
from alliance.execution.modules.passes import PassesModule
from alliance.ledger.block import Block, Receipt
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.node.facade import NodeFacade
from alliance.sdk import wire

HISTORY_BLOCKS_MAX = 1_000
HISTORY_EVENTS_MAX = 200
HISTORY_RECEIPTS_MAX = 20_000
CSV_RECORDS_MAX = 10_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SymbolPath = Annotated[str, Path(pattern=p.SYMBOL_PATTERN, description="a pass scheme's symbol")]
NamePath = Annotated[str, Path(pattern=c.NAME_PATTERN, description="a live contract's name")]
StartQuery = Annotated[int, Query(ge=0, le=wire.HEIGHT_MAX, description="the position to start from")]
LimitQuery = Annotated[int, Query(ge=1, le=p.PAGE_LIMIT_MAX, description="how many at most")]

PASSES = PassesModule()
CONTRACTS = ContractsModule()


class HistoryEvent(msgspec.Struct, frozen=True, kw_only=True):
    height: int
    tx_hash: wire.Hash32
    name: str
    fields: dict[str, Any] | None


class History(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    events: list[HistoryEvent]
    from_height: int  # the newest height read
    next_before: int  # read on from here backwards (0: reached genesis)


class ViewResult(msgspec.Struct, frozen=True, kw_only=True):
    height: int
    result: Any  # the method's answer as JSON (bytes as hex)
    result_hex: str  # its canonical bytes
    gas_used: int


def _address(text: str) -> bytes:
    try:
        return parse_address(text)
    except UsageError as exc:
        raise DecodeError(exc.message) from None


def router(node: NodeFacade) -> APIRouter:
    routes = APIRouter(default_response_class=WireJSON, tags=["passes"])

    def typed(module: str, query: str) -> Any:
        """The answer type of a module query (``{"height", "value"}``), as ``/v1/modules`` has it."""
        return answer_type_of(module, (PASSES if module == p.MODULE_NAME else CONTRACTS).queries[query])

    def read(module: str, query: str, args: msgspec.Struct) -> Response:
        found = node.query_module(module, query, codec.encode(args))
        return answer(typed(module, query)(height=found.height, value=wire.to_wire(found.value)))

    @routes.get("/v1/passes", responses=documented(typed("passes", "schemes")))
    async def schemes(start: StartQuery = 0, limit: LimitQuery = 100) -> Response:
        return read(p.MODULE_NAME, "schemes", p.PageQuery(start, limit))

    @routes.get("/v1/passes/{symbol}", responses=documented(typed("passes", "scheme"), refused=(404,)))
    async def scheme(symbol: SymbolPath) -> Response:
        return read(p.MODULE_NAME, "scheme", p.SchemeQuery(symbol))

    @routes.get(
        "/v1/passes/{symbol}/holders", responses=documented(typed("passes", "holders"), refused=(404,))
    )
    async def scheme_holders(symbol: SymbolPath, start: StartQuery = 0, limit: LimitQuery = 100) -> Response:
        return read(p.MODULE_NAME, "holders", p.SchemePageQuery(symbol, start, limit))

    @routes.get(
        "/v1/passes/{symbol}/holders/{address}",
        responses=documented(typed("passes", "holding"), refused=(400, 404)),
    )
    async def holding(symbol: SymbolPath, address: AddressPath) -> Response:
        return read(p.MODULE_NAME, "holding", p.HoldingQuery(symbol, _address(address)))

    @routes.get(
        "/v1/accounts/{address}/passes", responses=documented(typed("passes", "holdings"), refused=(400,))
    )
    async def account_passes(
        address: AddressPath, start: StartQuery = 0, limit: LimitQuery = 100
    ) -> Response:
        return read(p.MODULE_NAME, "holdings", p.AccountQuery(_address(address), start, limit))

    @routes.get(
        "/v1/passes/{symbol}/report",
        responses=_with_csv(documented(typed("passes", "report"), refused=(404,))),
    )
    async def report(
        symbol: SymbolPath,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Response:
        if format == "json":
            return read(p.MODULE_NAME, "report", p.SchemeQuery(symbol))
        return Response(_report_csv(node, symbol), media_type="text/csv")

    @routes.get("/v1/passes/{symbol}/history", responses=documented(History, refused=(404,)))
    async def history(
        symbol: SymbolPath,
        before: Annotated[
            int | None, Query(ge=1, le=wire.HEIGHT_MAX, description="read below this height")
        ] = None,
    ) -> Response:
        node.query_module(p.MODULE_NAME, "scheme", codec.encode(p.SchemeQuery(symbol)))  # 404 if none
        return answer(_history(node, symbol, before))

    @routes.get("/v1/contracts", responses=documented(typed("contracts", "contracts")), tags=["contracts"])
    async def contracts(
        start: StartQuery = 0, limit: Annotated[int, Query(ge=1, le=c.PAGE_LIMIT_MAX)] = 50
    ) -> Response:
        return read(c.MODULE_NAME, "contracts", c.PageQuery(start, limit))

    @routes.get(
        "/v1/contracts/{name}",
        responses=documented(typed("contracts", "contract"), refused=(404,)),
        tags=["contracts"],
    )
    async def contract(name: NamePath) -> Response:
        return read(c.MODULE_NAME, "contract", c.ContractQuery(name))

    @routes.get(
        "/v1/contracts/{name}/views/{method}",
        responses=documented(ViewResult, refused=(400, 404, 410)),  # 410: a pruned height
        tags=["contracts"],
    )
    async def contract_view(
        name: NamePath,
        method: Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")],
        args: Annotated[
            str, Query(description="hex of the canonical argument list", pattern=r"^(0x)?([0-9a-fA-F]{2})+$")
        ] = "90",
        height: Annotated[int | None, Query(ge=0, le=wire.HEIGHT_MAX)] = None,
    ) -> Response:
        raw_args = hex_param(args, "the arguments", size_bytes_max=64 * 1024)
        query = c.ViewQuery(name, method, raw_args)
        found = node.query_module(c.MODULE_NAME, "view", codec.encode(query), height=height)
        result: c.ViewAnswer = found.value  # type: ignore[assignment]
        value = wire.contract_value_json(msgspec.msgpack.decode(result.result))
        return answer(
            ViewResult(
                height=found.height, result=value, result_hex=result.result.hex(), gas_used=result.gas_used
            )
        )

    return routes


def _with_csv(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The report's documented answers: its JSON schema, and CSV text with ``format=csv``."""
    ok = responses[200]
    ok["content"]["text/csv"] = {"schema": {"type": "string"}}
    ok["description"] = "The reconciliation as JSON, or as CSV records with format=csv"
    return responses


def _history(node: NodeFacade, symbol: str, before: int | None) -> History:
    status = node.status()
    top = status.height if before is None else min(before - 1, status.height)
    events: list[HistoryEvent] = []
    height = top
    lowest = max(1, top - HISTORY_BLOCKS_MAX + 1)
    receipts_read = 0
    while height >= lowest and len(events) < HISTORY_EVENTS_MAX and receipts_read < HISTORY_RECEIPTS_MAX:
        if not node.emitted_in(height, p.MODULE_NAME):
            height -= 1
            continue
        receipts = node.receipts(height)
        receipts_read += len(receipts)
        block: Block | None = None
        for index in range(len(receipts) - 1, -1, -1):  # newest first within the block too
            found = _matching(receipts[index], symbol)
            if not found:
                continue
            if block is None:
                block, _cert = node.block(height)
            tx_hash = wire.Hash32(tx_hash_of_canonical(block.txs[index]))
            events.extend(
                HistoryEvent(height=height, tx_hash=tx_hash, name=name, fields=fields)
                for name, fields in reversed(found)
            )
        height -= 1
    return History(
        symbol=symbol, events=events, from_height=top, next_before=height + 1 if height >= 1 else 0
    )


def _matching(receipt: Receipt, symbol: str) -> list[tuple[str, dict[str, Any] | None]]:
    """The receipt's ``passes`` events about ``symbol``, as (name, fields)."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    for event in receipt.events:
        if event.emitter != p.MODULE_NAME:
            continue
        kind = p.EVENTS.get(event.name)
        if kind is None:
            continue
        decoded = codec.decode(kind, event.data)
        if getattr(decoded, "symbol", None) == symbol:
            out.append((event.name, wire.fields_json(decoded)))
    return out


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _report_csv(node: NodeFacade, symbol: str) -> str:
    report = node.query_module(p.MODULE_NAME, "report", codec.encode(p.SchemeQuery(symbol)))
    totals: p.ReportView = report.value  # type: ignore[assignment]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "number", "account", "amount", "reference", "status", "external", "height"])
    for kind, count, query in (
        ("deposit", totals.deposits_count, "deposits"),
        ("withdrawal", totals.withdrawals_count, "withdrawals"),
    ):
        if count > CSV_RECORDS_MAX:
            writer.writerow(
                ["truncated", "", "", count - CSV_RECORDS_MAX, f"{kind}s beyond the first", "", "", ""]
            )
        last = min(count, CSV_RECORDS_MAX)
        for start in range(1, last + 1, p.PAGE_LIMIT_MAX):
            page = codec.encode(p.SchemePageQuery(symbol, start, min(p.PAGE_LIMIT_MAX, last - start + 1)))
            for line in node.query_module(p.MODULE_NAME, query, page, height=report.height).value:  # type: ignore[attr-defined]
                if kind == "deposit":
                    row = [kind, line.seq, to_checksum_address(line.to), line.amount, line.reference,
                           "credited", "", line.height]  # fmt: skip
                else:
                    settled = line.settled_height or line.requested_height
                    row = [kind, line.id, to_checksum_address(line.holder), line.amount, line.reference,
                           line.status, line.to_external, settled]  # fmt: skip
                writer.writerow([_cell(value) for value in row])
    balanced = "balanced" if totals.balanced else "UNBALANCED"
    writer.writerow(["supply", "", "", totals.supply, "", balanced, "", report.height])
    return out.getvalue()
