"""An in-memory Goodness alliance for the execution-level tests: one executor over one store, the
seven roles' accounts, the GOOD and CNY schemes, the contract deployed by a committee vote.

Roles are given at genesis (the demo and the CLI test grant them by votes): three member
organisations with an admin each; the issuer and an attester in org1; the three distributors in
org1 and org2; the gateway (issuer and gateway roles) and the clearing bank in org2; sponsors and
exchanges in org3; the supervisor in no organisation; the contract's own address holds
``goodness-minter``. Blocks take any block time, so tests move days and years at will.
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "execution"))

from chain_helpers import CHAIN_ID, Node, apply_block, make_block, node_key, open_node, signed_call

from alliance import codec
from alliance.abi import contracts as c
from alliance.abi import gov
from alliance.abi import passes as p
from alliance.apps.goodness import CONTRACT_NAME, contract_source
from alliance.apps.goodness import schemes as s
from alliance.crypto.keys import AccountKey
from alliance.ledger.block import Receipt
from alliance.ledger.genesis import GenesisMember, GenesisRoles, make_genesis
from alliance.ledger.validators import Validator

DAY_MS = 86_400_000
GENESIS_TIME_MS = 1_700_000_000_000
CONTRACT = c.contract_address(CONTRACT_NAME)
ROLE_ACCOUNTS: dict[str, tuple[str, list[str]]] = {
    "issuer": ("org1", ["issuer"]),
    "attester": ("org1", ["attester"]),
    "metro": ("org1", ["distributor"]),
    "bus": ("org2", ["distributor"]),
    "bike": ("org2", ["distributor"]),
    "gateway": ("org2", ["issuer", "gateway"]),
    "clearing": ("org2", ["clearing"]),
    "sponsor1": ("org3", ["sponsor"]),
    "sponsor2": ("org3", ["sponsor"]),
    "shop1": ("org3", ["exchange"]),
    "shop2": ("org1", ["exchange"]),
    "supervisor": ("", ["supervisor"]),
    "admin1": ("org1", ["admin"]),
    "admin2": ("org2", ["admin"]),
    "admin3": ("org3", ["admin"]),
}
USERS = 8


def raw(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class GoodnessChain:
    def __init__(self, path: Path, *, seed: int = 1, deploy: bool = True) -> None:
        rng = random.Random(seed)
        names = [*ROLE_ACCOUNTS, "mallory", *(f"user{i}" for i in range(USERS))]
        self.keys: dict[str, AccountKey] = {name: AccountKey(rng.randbytes(32)) for name in names}
        roles = [GenesisRoles(self[name], org, list(r)) for name, (org, r) in ROLE_ACCOUNTS.items()]
        roles.append(GenesisRoles(CONTRACT, "org1", [s.MINTER_ROLE]))
        genesis = make_genesis(
            CHAIN_ID,
            validators=[Validator(node_key().node_id, 10)],
            accounts=[(k.address, 10**6) for k in self.keys.values()],
            members=[GenesisMember(f"org{i}", b"ca-%d" % i, 1) for i in (1, 2, 3)],
            roles=roles,
            genesis_time_ms=GENESIS_TIME_MS,
        )
        self.node: Node = open_node(path, genesis)
        self.rng = rng
        self.time_ms = GENESIS_TIME_MS
        if deploy:
            self.deploy()

    def __getitem__(self, name: str) -> bytes:
        return self.keys[name].address

    # --- transactions and blocks ---------------------------------------------------------------

    def tx(self, who: str, target: str, method: str, args: object, *, gas_limit: int = 5_000_000) -> bytes:
        return signed_call(
            self.node, self.keys[who], target, method, args, nonce=self.rng.randbytes(16), gas_limit=gas_limit
        )

    def block(self, txs: list[bytes], *, advance_ms: int = 1_000) -> list[Receipt]:
        self.time_ms += advance_ms
        block = make_block(self.node, txs, use_prepare=False, time_ms=self.time_ms)
        return apply_block(self.node, block).receipts

    def run(self, who: str, target: str, method: str, args: object, **kwargs: Any) -> Receipt:
        advance_ms = kwargs.pop("advance_ms", 1_000)
        (receipt,) = self.block([self.tx(who, target, method, args, **kwargs)], advance_ms=advance_ms)
        return receipt

    def ok(self, who: str, target: str, method: str, args: object, **kwargs: Any) -> Any:
        receipt = self.run(who, target, method, args, **kwargs)
        assert receipt.ok, (method, receipt.status, receipt.error)
        return msgspec.msgpack.decode(receipt.result) if receipt.result else None

    # --- the contract ----------------------------------------------------------------------------

    def call(self, who: str, method: str, args: list[Any], **kwargs: Any) -> Receipt:
        return self.run(who, CONTRACT_NAME, method, args, **kwargs)

    def good(self, who: str, method: str, args: list[Any], **kwargs: Any) -> Any:
        """A contract call that must succeed; its decoded result."""
        return self.ok(who, CONTRACT_NAME, method, args, **kwargs)

    def refused(self, who: str, method: str, args: list[Any], code: str, **kwargs: Any) -> str:
        """A contract call that must be refused with the reason ``code``; its message."""
        receipt = self.call(who, method, args, **kwargs)
        assert receipt.status == "contract_error", (method, receipt.status, receipt.error)
        assert receipt.error.startswith(code + ":"), (code, receipt.error)
        return receipt.error

    def view(self, method: str, args: list[Any]) -> Any:
        query = c.ViewQuery(CONTRACT_NAME, method, codec.encode(args))
        answer = self.node.executor.query_module(c.MODULE_NAME, "view", codec.encode(query)).value
        return msgspec.msgpack.decode(answer.result)

    def passes(self, who: str, method: str, args: object) -> Receipt:
        return self.run(who, p.MODULE_NAME, method, args)

    def holding(self, symbol: str, who: bytes) -> p.HoldingView:
        query = p.HoldingQuery(symbol, who)
        view: p.HoldingView = self.node.executor.query_module(
            p.MODULE_NAME, "holding", codec.encode(query)
        ).value
        return view

    def supply(self, symbol: str) -> p.Supply:
        query = p.SchemeQuery(symbol)
        view: p.SchemeView = self.node.executor.query_module(
            p.MODULE_NAME, "scheme", codec.encode(query)
        ).value
        return view.supply

    def deploy(self) -> None:
        """The schemes, the contract by a committee vote, funded sponsors, enrolled consenting users."""
        assert self.run("issuer", p.MODULE_NAME, "create", s.good_scheme()).ok
        assert self.run("gateway", p.MODULE_NAME, "create", s.cny_scheme()).ok
        submitted = self.run(
            "admin1", c.MODULE_NAME, "submit", c.SubmitArgs(contract_source()), gas_limit=10_000_000
        )
        assert submitted.ok, submitted.error
        code_hash = codec.decode(bytes, submitted.result)
        action = gov.DeployContract(CONTRACT_NAME, code_hash, codec.encode([s.GOOD, s.CNY]))
        proposal = self.pass_proposal(action)
        assert proposal.status == "passed" and proposal.error == "", proposal.error

    def pass_proposal(self, action: Any) -> gov.Proposal:
        receipt = self.run("admin1", "gov", "propose", gov.ProposeArgs(action))
        assert receipt.ok, (receipt.status, receipt.error)
        (event,) = [e for e in receipt.events if e.name == "proposed"]
        proposal_id = codec.decode(gov.ProposalEvent, event.data).id
        for admin in ("admin2", "admin3"):
            self.run(admin, "gov", "vote", gov.VoteArgs(proposal_id, True))
        raw_proposal = self.node.executor.query(gov.proposal_key(proposal_id)).value
        assert raw_proposal is not None
        return codec.decode(gov.Proposal, raw_proposal)

    def deposit(self, to: str, amount: int, reference: str) -> None:
        assert self.passes("gateway", "deposit", p.DepositArgs(s.CNY, self[to], amount, reference)).ok

    def sponsor(self, who: str, amount: int) -> None:
        """CNY deposited to ``who``, approved to the contract, funded into its pool."""
        self.deposit(who, amount, f"{who}-{self.rng.randrange(10**9)}")
        assert self.passes(who, "approve", p.ApproveArgs(s.CNY, CONTRACT, amount)).ok
        self.good(who, "fund", [amount])

    def enroll(self, user: str, *, distributors: tuple[str, ...] = ("metro", "bus", "bike")) -> None:
        self.good("issuer", "enroll", [self[user], raw(f"identity of {user}")])
        for name in distributors:
            self.good(user, "consent", [self[name], s.CONSENT_PURPOSE, 30])
        assert self.passes(user, "approve", p.ApproveArgs(s.GOOD, CONTRACT, 10**9)).ok

    def trip(self, distributor: str, user: str, mode: str, meters: int, record: str) -> tuple[int, int]:
        carbon_g, points = self.good(
            distributor, "report", [self[user], mode, meters, self.time_ms, raw(record)]
        )
        return carbon_g, points

    def close(self) -> None:
        self.node.close()
