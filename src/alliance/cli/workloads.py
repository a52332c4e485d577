"""What ``alliance bench --workload W`` loads an alliance with: native transfers, a closed-loop pass,
a token contract, or an application's workload.

Theory of operation
-------------------
A workload has three steps, each outside the timed run:

1. ``prepare(client, directory)`` readies the chain once, through its real interfaces: roles granted
   by committee vote (the local alliance's member admins, ``orgN-admin`` in DIR/keys, propose and
   vote), a pass scheme created, a contract submitted and deployed by vote. What a previous run on
   the same directory made is reused, not made again.
2. ``sender_setup(funder, senders, chain)`` signs what each freshly funded sender needs before the
   load (units minted to it, a place on an allow-list): the bench submits these and waits for them,
   and stops if any failed.
3. ``sign(sender, rng, recipients, chain)`` signs one transaction of the load.

What the bench counts is a workload's ``unit`` (``units_ok``): one per committed ok transaction,
unless the workload carries several units in one transaction (``units_per_tx`` above 1, such as
``goodness-batch``'s trips); then ``units_ok(result)`` counts, from an ok receipt's result, the
units that transaction really did (a batch's trips that counted, not the ones it refused).

``alliance bench`` measures every workload exactly as it measures native transfers (benchmark.py)
and, for any workload but ``transfer``, runs native transfers first in the same run, so a
workload's rate reads as a fraction of native on the same machine at the same moment.

Workloads are found by name in ``WORKLOADS``; an application registers its own with
``register_workload`` (the Goodness app's trip reports, for instance).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from alliance import codec
from alliance.abi import gov
from alliance.abi import passes as p
from alliance.abi.accounts import TransferArgs
from alliance.cli import keyring
from alliance.crypto.keys import AccountKey
from alliance.errors import NotFound, OperationalError, UsageError
from alliance.ledger.transaction import DEFAULT_GAS_LIMIT
from alliance.sdk import Client
from alliance.sdk import contracts as sdk_contracts
from alliance.sdk.client import signed_call

LOAD_GAS = 1_000_000  # a workload's call: its limit, not its use (block_gas_max admits 10,000 such)
SCHEME_SYMBOL = "BENCH"
PASS_UNITS_PER_SENDER = 10**9
CONTRACT_NAME = "bench-token"
CONTRACT_UNITS_PER_SENDER = 10**12
MINT_BATCH = 200


@dataclass(frozen=True, slots=True)
class ChainInfo:
    chain_id: str
    valid_until: int


class Workload(Protocol):
    name: str
    unit: str  # what one transaction of the load is, for people: "transfers", "trip reports"

    def prepare(self, client: Client, directory: Path) -> None: ...

    def sender_setup(
        self, funder: AccountKey, senders: Sequence[AccountKey], chain: ChainInfo
    ) -> list[bytes]: ...

    def sign(
        self, sender: AccountKey, rng: random.Random, recipients: Sequence[bytes], chain: ChainInfo
    ) -> bytes: ...


def units_per_tx(load: Workload) -> int:
    """The units one transaction of ``load`` carries (1 unless it says otherwise)."""
    declared = getattr(load, "units_per_tx", 1)
    return declared if isinstance(declared, int) and declared > 1 else 1


def units_ok(load: Workload, results: Sequence[bytes]) -> int:
    """The units that committed ok transactions (their receipts' ``results``) did."""
    if units_per_tx(load) == 1:
        return len(results)
    count: Callable[[bytes], int] = load.units_ok  # type: ignore[attr-defined]
    return sum(count(result) for result in results)


def signed(
    key: AccountKey,
    chain: ChainInfo,
    target: str,
    method: str,
    args: object,
    gas_limit: int = DEFAULT_GAS_LIMIT,
) -> bytes:
    return signed_call(key, chain.chain_id, target, method, args, chain.valid_until, gas_limit=gas_limit)


def other(rng: random.Random, recipients: Sequence[bytes], sender: bytes) -> bytes:
    """A random recipient other than the sender (a pass refuses a transfer to oneself)."""
    while True:
        to = recipients[rng.randrange(len(recipients))]
        if to != sender or len(recipients) == 1:
            return to


def setup_gas(client: Client) -> int:
    """The gas a setup transaction (a batch mint, a scheme) is signed with: the chain's bound."""
    limit: int = client.module("gov", "params")["value"]["tx_gas_max"]
    return limit


def committee_passes(client: Client, directory: Path, action: gov.Action) -> int:
    """Propose ``action`` as the first member's admin and vote yes as the others' until it passes;
    its proposal id. Needs the members' admin keys (``ORG-admin``) in ``directory``."""
    members = [m.org for m in client.governance().members]
    admins = [keyring.load_named_key(directory, f"{org}-admin") for org in members]
    outcome = client.propose(admins[0], action)
    proposal_id = outcome.proposal
    if proposal_id is None:
        raise OperationalError("the proposal was not recorded")
    for admin in admins[1:]:
        if outcome.proposal_status == "passed":
            break
        outcome = client.vote(admin, proposal_id, True)
    if outcome.proposal_status != "passed":
        raise OperationalError(f"proposal {proposal_id} did not pass: {outcome.proposal_status}")
    return proposal_id


def grant_role(client: Client, directory: Path, account: bytes, role: str, org: str) -> None:
    """Grant ``role`` by committee vote unless the account has it already."""
    if role not in client.account(account).roles:
        committee_passes(client, directory, gov.GrantRole(account=account, role=role, org=org))


# --- the workloads ---------------------------------------------------------------------------------


class TransferWorkload:
    """The chain's native coin: ``accounts.transfer`` of 1 between funded bench accounts."""

    name = "transfer"
    unit = "transfers"

    def prepare(self, client: Client, directory: Path) -> None:
        return None

    def sender_setup(
        self, funder: AccountKey, senders: Sequence[AccountKey], chain: ChainInfo
    ) -> list[bytes]:
        return []

    def sign(
        self, sender: AccountKey, rng: random.Random, recipients: Sequence[bytes], chain: ChainInfo
    ) -> bytes:
        to = recipients[rng.randrange(len(recipients))]
        return signed(sender, chain, "accounts", "transfer", TransferArgs(to=to, amount=1))


class PassWorkload:
    """A fungible closed-loop pass (eligibility ``allow-list``, circulation ``closed``): each transfer
    reads the receiver's place on the allow-list and both holdings. The funder (``dev``) is made an
    issuer by committee vote and creates the scheme; every sender is allowed and minted units."""

    name = "pass"
    unit = "pass transfers"

    def __init__(self) -> None:
        self.setup_gas = DEFAULT_GAS_LIMIT  # prepare reads the chain's bound

    def prepare(self, client: Client, directory: Path) -> None:
        self.setup_gas = setup_gas(client)
        issuer = keyring.load_named_key(directory, "dev")
        org = client.governance().members[0].org
        grant_role(client, directory, issuer.address, p.ISSUER, org)
        try:
            view = client.module(p.MODULE_NAME, "scheme", symbol=SCHEME_SYMBOL)["value"]
        except NotFound:
            args = p.CreateArgs(
                SCHEME_SYMBOL,
                "Bench pass",
                "fungible",
                "a unit of the benchmark's closed loop",
                eligibility="allow-list",
                circulation="closed",
            )
            client.call_checked(issuer, p.MODULE_NAME, "create", args, gas_limit=self.setup_gas)
            return
        if view["rules"]["circulation"] != "closed" or view["rules"]["eligibility"] != "allow-list":
            raise UsageError(f"a pass {SCHEME_SYMBOL} with other rules exists here: use a fresh --dir")

    def sender_setup(
        self, funder: AccountKey, senders: Sequence[AccountKey], chain: ChainInfo
    ) -> list[bytes]:
        allows = [
            signed(
                funder, chain, p.MODULE_NAME, "allow", p.HolderArgs(SCHEME_SYMBOL, s.address), self.setup_gas
            )
            for s in senders
        ]
        mints = [
            signed(
                funder,
                chain,
                p.MODULE_NAME,
                "mint_batch",
                p.MintBatchArgs(
                    SCHEME_SYMBOL,
                    [p.MintEntry(s.address, PASS_UNITS_PER_SENDER) for s in senders[i : i + MINT_BATCH]],
                ),
                self.setup_gas,
            )
            for i in range(0, len(senders), MINT_BATCH)
        ]
        return allows + mints

    def sign(
        self, sender: AccountKey, rng: random.Random, recipients: Sequence[bytes], chain: ChainInfo
    ) -> bytes:
        to = other(rng, recipients, sender.address)
        return signed(
            sender, chain, p.MODULE_NAME, "transfer", p.TransferArgs(SCHEME_SYMBOL, to, 1), LOAD_GAS
        )


class ContractWorkload:
    """The example token contract (balances in the contract's storage), deployed by committee vote
    as ``bench-token`` with the funder (``dev``) as its owner; every sender is minted a balance."""

    name = "contract"
    unit = "token contract transfers"

    def __init__(self) -> None:
        self.setup_gas = DEFAULT_GAS_LIMIT  # prepare reads the chain's bound

    def prepare(self, client: Client, directory: Path) -> None:
        self.setup_gas = setup_gas(client)
        owner = keyring.load_named_key(directory, "dev")
        source = token_source()
        try:
            live = client.read(f"/v1/contracts/{CONTRACT_NAME}")["value"]["contract"]
        except NotFound:
            live = None
        if live is not None:
            if live["code_hash"] != sdk_contracts.code_hash(source).hex():
                raise UsageError(
                    f"a contract {CONTRACT_NAME} with other code is live here: use a fresh --dir"
                )
            return
        admin = keyring.load_named_key(directory, f"{client.governance().members[0].org}-admin")
        hash_of_code = sdk_contracts.submit(client, admin, source)
        committee_passes(
            client, directory, gov.DeployContract(CONTRACT_NAME, hash_of_code, codec.encode([owner.address]))
        )

    def sender_setup(
        self, funder: AccountKey, senders: Sequence[AccountKey], chain: ChainInfo
    ) -> list[bytes]:
        return [
            signed(
                funder, chain, CONTRACT_NAME, "mint", [s.address, CONTRACT_UNITS_PER_SENDER], self.setup_gas
            )
            for s in senders
        ]

    def sign(
        self, sender: AccountKey, rng: random.Random, recipients: Sequence[bytes], chain: ChainInfo
    ) -> bytes:
        to = recipients[rng.randrange(len(recipients))]
        return signed(sender, chain, CONTRACT_NAME, "transfer", [to, 1], LOAD_GAS)


def token_source() -> str:
    """The example token's source (examples/contracts/token.py of the checkout)."""
    path = Path(__file__).resolve().parents[3] / "examples" / "contracts" / "token.py"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise UsageError(f"the contract workload reads {path}: run it from a checkout") from None


WORKLOADS: dict[str, Callable[[], Workload]] = {
    "transfer": TransferWorkload,
    "pass": PassWorkload,
    "contract": ContractWorkload,
}


APP_WORKLOADS: dict[str, str] = {
    "goodness": "alliance.apps.goodness.bench",
    "goodness-batch": "alliance.apps.goodness.bench",
}
"""Workloads an application defines: importing the module registers the workload."""


def register_workload(name: str, make: Callable[[], Workload]) -> None:
    WORKLOADS[name] = make


def workload_named(name: str) -> Workload:
    if name not in WORKLOADS and name in APP_WORKLOADS:
        importlib.import_module(APP_WORKLOADS[name])
    make = WORKLOADS.get(name)
    if make is None:
        known = sorted({*WORKLOADS, *APP_WORKLOADS})
        raise UsageError(f"--workload is one of {', '.join(known)}, got {name!r}")
    return make()
