"""A governed chain for the passes tests: organisations, role holders, signed calls, timed blocks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from chain_helpers import CHAIN_ID, Node, apply_block, make_block, node_key, open_node, signed_call

from alliance import codec
from alliance.abi import gov
from alliance.abi import passes as p
from alliance.codec import Struct
from alliance.crypto.keys import AccountKey
from alliance.ledger.block import Receipt
from alliance.ledger.genesis import GenesisMember, GenesisRoles, make_genesis
from alliance.ledger.validators import Validator

DAY_MS = p.DAY_MS
GENESIS_TIME_MS = 1_700_000_000_000


class PassChain:
    """One executor over one store with: two issuing organisations (org1, org2), an exchange, a
    gateway in org2, a supervisor, and users; blocks are built with any block time."""

    def __init__(self, path: Path, *, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.keys: dict[str, AccountKey] = {
            name: AccountKey(rng.randbytes(32))
            for name in (
                "issuer1",
                "issuer2",
                "shop",
                "gateway",
                "supervisor",
                "alice",
                "bob",
                "carol",
                "mallory",
                "admin1",
                "admin2",
                "admin3",
            )
        }
        roles = [
            GenesisRoles(self["issuer1"], "org1", ["issuer"]),
            GenesisRoles(self["issuer2"], "org2", ["issuer", "gateway"]),
            GenesisRoles(self["gateway"], "org2", ["gateway"]),
            GenesisRoles(self["shop"], "org3", ["exchange"]),
            GenesisRoles(self["supervisor"], "", ["supervisor"]),
            GenesisRoles(self["alice"], "org1", ["member"]),
            *(GenesisRoles(self[f"admin{i}"], f"org{i}", ["admin"]) for i in (1, 2, 3)),
        ]
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

    def __getitem__(self, name: str) -> bytes:
        return self.keys[name].address

    def call(self, who: str, method: str, args: Struct, *, gas_limit: int = 5_000_000) -> bytes:
        return self.call_to(who, p.MODULE_NAME, method, args, gas_limit=gas_limit)

    def call_to(
        self, who: str, target: str, method: str, args: object, *, gas_limit: int = 5_000_000
    ) -> bytes:
        """A signed call of ``target.method``; ``args`` a Struct or a list (encoded canonically)."""
        return signed_call(
            self.node, self.keys[who], target, method, args, nonce=self.rng.randbytes(16), gas_limit=gas_limit
        )

    def run(self, who: str, target: str, method: str, args: object, **kwargs: Any) -> Receipt:
        (receipt,) = self.block([self.call_to(who, target, method, args, **kwargs)])
        return receipt

    def pass_proposal(self, action: Any) -> gov.Proposal:
        """Propose ``action`` as admin1 and vote it through with admin2 and admin3 (3 of 3 members)."""
        receipt = self.run("admin1", "gov", "propose", gov.ProposeArgs(action))
        assert receipt.ok, (receipt.status, receipt.error)
        (event,) = [e for e in receipt.events if e.name == "proposed"]
        proposal_id = codec.decode(gov.ProposalEvent, event.data).id
        for admin in ("admin2", "admin3"):
            self.run(admin, "gov", "vote", gov.VoteArgs(proposal_id, True))
        raw = self.node.executor.query(gov.proposal_key(proposal_id)).value
        assert raw is not None
        return codec.decode(gov.Proposal, raw)

    def block(self, txs: list[bytes], *, advance_ms: int = 1_000) -> list[Receipt]:
        """Run a block of ``txs`` (unchecked by prepare, as any proposer may include them) whose time
        is ``advance_ms`` after the previous block's."""
        self.time_ms += advance_ms
        block = make_block(self.node, txs, use_prepare=False, time_ms=self.time_ms)
        return apply_block(self.node, block).receipts

    def do(self, who: str, method: str, args: Struct, **kwargs: Any) -> Receipt:
        (receipt,) = self.block([self.call(who, method, args)], **kwargs)
        return receipt

    def query(self, name: str, args: Struct) -> Any:
        return self.node.executor.query_module(p.MODULE_NAME, name, codec.encode(args)).value

    def balance(self, symbol: str, who: str) -> int:
        return self.query("holding", p.HoldingQuery(symbol, self[who])).balance  # type: ignore[no-any-return]

    def app_hash(self) -> bytes:
        return self.node.executor.info().last_app_hash

    def close(self) -> None:
        self.node.close()


def points(**changes: Any) -> p.CreateArgs:
    """The acceptance's GREEN points: non-transferable, redeemable at an exchange, capped, yearly lots."""
    fields: dict[str, Any] = {
        "symbol": "GREEN",
        "name": "Green travel points",
        "kind": "fungible",
        "rights": "1 point: 1 kg CO2 avoided; redeemable at member exchanges",
        "cap": 1000,
        "eligibility": "any",
        "circulation": "none",
        "redeemer_role": "exchange",
        "expiry": "lot",
        "lot_days": 365,
    }
    fields.update(changes)
    return p.CreateArgs(**fields)
