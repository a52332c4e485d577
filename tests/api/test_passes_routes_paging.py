"""The passes routes' bounded reads, on a stand-in node whose chain the test lays out: a scheme's
history pages back through every event exactly once, within its bounds, and the reconciliation CSV
pages through hundreds of records, quotes formula-like cells and says when it was cut.

(The routes against a real node are in tests/cli/test_passes_contracts_cli.py and the API fuzz and
schemathesis tests; here the chain's shape is chosen so each bound is reached.)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from alliance import codec
from alliance.abi import passes as p
from alliance.api.routes import passes as routes
from alliance.ledger.block import Event, Receipt
from alliance.ledger.transaction import tx_hash_of_canonical

HOLDER = bytes(range(20))


def raw_tx(height: int, index: int) -> bytes:
    """Bytes shaped like a canonical transaction (array of two, body, bin8 signature): the route
    hashes them as the node would, and the test can recompute which one a hash names."""
    body = codec.encode([height, index])
    return b"\x92" + body + b"\xc4\x40" + bytes(64)


def minted(symbol: str, amount: int) -> Event:
    event = p.MovedEvent(symbol, None, HOLDER, amount, "", "")
    return Event(p.MODULE_NAME, "minted", codec.encode(event))


@dataclass
class Status:
    height: int


@dataclass
class Block:
    txs: list[bytes]


@dataclass
class Found:
    height: int
    value: Any


@dataclass
class StandInNode:
    """Blocks 1..top; ``events_at[h]`` lists, per transaction, its events."""

    events_at: dict[int, list[list[Event]]]
    top: int
    deposits: list[p.Deposit] = field(default_factory=list)
    withdrawals: list[p.Withdrawal] = field(default_factory=list)
    blocks_read: list[int] = field(default_factory=list)
    receipts_read: list[int] = field(default_factory=list)

    def status(self) -> Status:
        return Status(self.top)

    def receipts(self, height: int) -> list[Receipt]:
        self.receipts_read.append(height)
        return [Receipt("ok", 1, events, "") for events in self.events_at.get(height, [[]])]

    def emitted_in(self, height: int, emitter: str) -> bool:
        return any(e.emitter == emitter for events in self.events_at.get(height, []) for e in events)

    def block(self, height: int) -> tuple[Block, None]:
        self.blocks_read.append(height)
        count = len(self.events_at.get(height, [[]]))
        return Block([raw_tx(height, i) for i in range(count)]), None

    def query_module(self, module: str, query: str, args: bytes, height: int | None = None) -> Found:
        if query == "report":
            supply = sum(d.amount for d in self.deposits)
            report = p.ReportView(
                "CNY", supply, supply, 0, 0, True, len(self.deposits), len(self.withdrawals)
            )
            return Found(self.top, report)
        page = codec.decode(p.SchemePageQuery, args)
        rows = self.deposits if query == "deposits" else self.withdrawals
        return Found(self.top, rows[page.start - 1 : page.start - 1 + page.limit])


def walk(node: StandInNode, symbol: str) -> list[routes.History]:
    pages, before = [], None
    while True:
        page = routes._history(node, symbol, before)  # type: ignore[arg-type]
        pages.append(page)
        if page.next_before == 0:
            return pages
        assert page.next_before <= page.from_height  # always moves back
        before = page.next_before


def test_history_pages_back_through_every_event_once_within_its_bounds() -> None:
    # 2,500 blocks: every 7th holds a GOOD mint and an OTHER mint in one transaction, every 50th
    # holds 3 transactions each minting GOOD (the events-per-page bound falls inside such blocks).
    events_at: dict[int, list[list[Event]]] = {}
    for height in range(1, 2_501):
        if height % 50 == 0:
            events_at[height] = [[minted("GOOD", height)] for _ in range(3)]
        elif height % 7 == 0:
            events_at[height] = [[], [minted("OTHER", 1), minted("GOOD", height)]]
    node = StandInNode(events_at, top=2_500)
    expected = sorted(
        (
            (h, i)
            for h, txs in events_at.items()
            for i, evs in enumerate(txs)
            for e in evs
            if b"GOOD" in e.data
        ),
        reverse=True,
    )
    pages = walk(node, "GOOD")
    seen = [(e.height, e.tx_hash) for page in pages for e in page.events]
    assert [h for h, _ in seen] == [h for h, _ in expected]
    assert [bytes(t) for _, t in seen] == [tx_hash_of_canonical(raw_tx(h, i)) for h, i in expected]
    for page in pages:
        assert page.from_height - page.next_before < routes.HISTORY_BLOCKS_MAX
        # a page stops at a block boundary once it holds the bound: at most one block's worth over
        assert len(page.events) < routes.HISTORY_EVENTS_MAX + 3
        assert all(
            e.name == "minted" and e.fields is not None and e.fields["symbol"] == "GOOD" for e in page.events
        )
    # Only blocks with a matching event were read for their transactions' hashes.
    assert set(node.blocks_read) == set(events_at)


def test_history_stops_at_the_receipts_bound_on_full_blocks() -> None:
    # 5,000 transactions a block, one of them a passes event about another scheme: every block must
    # be read, and the receipts bound ends the page.
    full = [[minted("OTHER", 1)]] + [[] for _ in range(4_999)]
    node = StandInNode(dict.fromkeys(range(1, 11), full), top=10)
    page = routes._history(node, "GOOD", None)  # type: ignore[arg-type]
    assert page.events == [] and page.from_height == 10
    assert page.next_before == 10 - routes.HISTORY_RECEIPTS_MAX // 5_000 + 1
    assert node.blocks_read == []


def test_history_passes_over_blocks_without_a_passes_event_unread() -> None:
    # Full blocks of other traffic above the scheme's one event: the node says they hold no passes
    # event, so their receipts are not read and do not count towards the receipts bound.
    busy = [[Event("accounts", "transfer", b"")] for _ in range(5_000)]
    events_at = {**dict.fromkeys(range(2, 101), busy), 1: [[minted("GOOD", 7)]]}
    node = StandInNode(events_at, top=100)
    page = routes._history(node, "GOOD", None)  # type: ignore[arg-type]
    assert [e.height for e in page.events] == [1] and page.next_before == 0
    assert node.receipts_read == [1]


@pytest.mark.parametrize("before", [1, 2])
def test_history_at_the_bottom_of_the_chain(before: int) -> None:
    node = StandInNode({1: [[minted("GOOD", 1)]]}, top=5)
    page = routes._history(node, "GOOD", before)  # type: ignore[arg-type]
    assert page.next_before == 0
    assert [e.height for e in page.events] == ([] if before == 1 else [1])


def deposit(seq: int, reference: str) -> p.Deposit:
    return p.Deposit(seq, HOLDER, 10, reference, HOLDER, seq)


def test_the_report_csv_pages_quotes_formulas_and_says_when_it_was_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "CSV_RECORDS_MAX", 1_200)
    deposits = [deposit(seq, f"BANK-{seq}") for seq in range(1, 1_301)]
    deposits[0] = deposit(1, '=HYPERLINK("http://x","ok")')
    withdrawal = p.Withdrawal(1, HOLDER, 5, "IBAN-1\n+1", "confirmed", "@PAID", 3, 4)
    node = StandInNode({}, top=9, deposits=deposits, withdrawals=[withdrawal])
    records = list(csv.reader(io.StringIO(routes._report_csv(node, "CNY"))))  # type: ignore[arg-type]
    assert records[0][:5] == ["kind", "number", "account", "amount", "reference"]
    assert records[1][0] == "truncated" and records[1][3] == "100"
    rows = [r for r in records if r[0] == "deposit"]
    assert [int(r[1]) for r in rows] == list(range(1, 1_201))  # every page boundary crossed once
    assert rows[0][4] == '\'=HYPERLINK("http://x","ok")' and rows[-1][4] == "BANK-1200"
    [paid] = [r for r in records if r[0] == "withdrawal"]
    assert paid[4] == "'@PAID" and paid[6] == "IBAN-1\n+1" and paid[7] == "4"  # one record, newline kept
    assert records[-1][0] == "supply" and records[-1][5] == "balanced"
