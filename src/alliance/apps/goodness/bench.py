"""``alliance bench --workload goodness``: trip reports from three distributors for many users.

Theory of operation: importing this module registers the workload with ``alliance.cli.workloads``.

- ``prepare`` readies the chain as the demo does (``demo.Demo.setup``: the roles granted by
  committee vote, the contract deployed by vote, GOOD and CNY created), reusing what the directory
  has already, and loads the issuer's and the three distributors' keys from the keyring.
- ``sender_setup`` makes every bench account a user: the issuer enrols it (the hash of a made-up
  identity) and the account consents to each distributor.
- ``sign`` is one report: a distributor chosen at random reports a trip of one of the users by its
  mode (metro, bus or bike), 200 to 800 m (so the users stay under the daily limits for a run of
  tens of thousands of reports over the default 200 users), dated now, with a fresh raw-record hash.
  Each report mints points: the load is the contract's whole trip path, nested passes call included.

``goodness-batch`` is the same load sent as ``report_batch`` calls: each transaction is one
distributor's batch of ``BATCH_TRIPS`` trips of users drawn at random, and the bench counts trips
(``units_per_tx``; ``units_ok`` reads from each ok receipt's result how many of its trips counted).
``--txs`` counts its transactions: ``--txs 400`` is 20,000 trips. ``goodness`` stays one report per
transaction; docs/benchmarks.md gives both figures.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from alliance.apps.goodness import CONTRACT_NAME
from alliance.apps.goodness import schemes as s
from alliance.apps.goodness.demo import METRO, Demo, DemoOptions
from alliance.cli import keyring
from alliance.cli.workloads import LOAD_GAS, ChainInfo, register_workload, signed
from alliance.crypto.keys import AccountKey
from alliance.sdk import Client
from alliance.types import fail_invariant

DISTRIBUTORS = ((METRO, "metro"), ("distributor-bus", "bus"), ("distributor-bike", "bike"))
TRIP_METERS = (200, 800)
CONSENT_DAYS = 30
SETUP_GAS = 2_000_000
BATCH_TRIPS = 50  # the contract takes at most 64
BATCH_GAS = 5_000_000  # a trip of a batch uses ~5,000-9,000 gas; the chain's tx_gas_max is 10,000,000


class GoodnessWorkload:
    name = "goodness"
    unit = "trip reports"

    def __init__(self) -> None:
        self.issuer: AccountKey | None = None
        self.distributors: list[tuple[AccountKey, str]] = []

    def prepare(self, client: Client, directory: Path) -> None:
        demo = Demo(directory, DemoOptions(users=1, days=1), api=client.base_url)
        try:
            demo.setup()
        finally:
            demo.close()
        self.issuer = keyring.load_named_key(directory, "issuer")
        self.distributors = [(keyring.load_named_key(directory, name), mode) for name, mode in DISTRIBUTORS]

    def sender_setup(
        self, funder: AccountKey, senders: Sequence[AccountKey], chain: ChainInfo
    ) -> list[bytes]:
        if self.issuer is None:
            fail_invariant("the goodness workload is prepared before its senders are set up")
        txs = []
        for sender in senders:
            identity = hashlib.sha256(b"bench identity of " + sender.address).digest()
            txs.append(
                signed(self.issuer, chain, CONTRACT_NAME, "enroll", [sender.address, identity], SETUP_GAS)
            )
            txs.extend(
                signed(
                    sender,
                    chain,
                    CONTRACT_NAME,
                    "consent",
                    [d.address, s.CONSENT_PURPOSE, CONSENT_DAYS],
                    SETUP_GAS,
                )
                for d, _ in self.distributors
            )
        return txs

    def sign(
        self, sender: AccountKey, rng: random.Random, recipients: Sequence[bytes], chain: ChainInfo
    ) -> bytes:
        distributor, mode = self.distributors[rng.randrange(len(self.distributors))]
        meters = rng.randint(*TRIP_METERS)
        # The sender's address keeps raw records apart between runs (the bench's rng starts alike).
        raw = hashlib.sha256(sender.address + rng.randbytes(16)).digest()
        args = [sender.address, mode, meters, int(time.time() * 1000), raw]
        return signed(distributor, chain, CONTRACT_NAME, "report", args, LOAD_GAS)


class GoodnessBatchWorkload(GoodnessWorkload):
    name = "goodness-batch"
    unit = "trip reports"
    units_per_tx = BATCH_TRIPS

    def sign(
        self, sender: AccountKey, rng: random.Random, recipients: Sequence[bytes], chain: ChainInfo
    ) -> bytes:
        distributor, mode = self.distributors[rng.randrange(len(self.distributors))]
        now_ms = int(time.time() * 1000)
        trips = []
        for _ in range(BATCH_TRIPS):
            user = recipients[rng.randrange(len(recipients))]
            raw = hashlib.sha256(sender.address + user + rng.randbytes(16)).digest()
            trips.append([user, mode, rng.randint(*TRIP_METERS), now_ms, raw])
        return signed(distributor, chain, CONTRACT_NAME, "report_batch", [trips], BATCH_GAS)

    def units_ok(self, result: bytes) -> int:
        """The trips of a batch that counted (an outcome whose reason is empty)."""
        outcomes = msgspec.msgpack.decode(result)
        return sum(1 for outcome in outcomes if outcome[0] == "")


register_workload(GoodnessWorkload.name, GoodnessWorkload)
register_workload(GoodnessBatchWorkload.name, GoodnessBatchWorkload)
