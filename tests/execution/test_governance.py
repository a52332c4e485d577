"""Governance in execution: the committee's proposals and votes, roles, access rules and freezing.

Every check runs inside the executor, so these tests drive real blocks through a real store and
read the outcome from receipts and state, as every node would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import chain_helpers as ch
import pytest

from alliance import codec
from alliance.abi import gov
from alliance.abi.chain import VALIDATORS_KEY
from alliance.crypto.keys import AccountKey, NodeKey
from alliance.ledger.block import Receipt
from alliance.ledger.validators import Validator, ValidatorSet

ORGS = 4


class Chain:
    def __init__(self, path: Path) -> None:
        keys = ch.account_keys(ORGS + 3, 5)
        self.admins = keys[:ORGS]
        self.supervisor, self.dev, self.outsider = keys[ORGS:]
        self.validator_keys = [NodeKey(bytes([i + 1]) * 32) for i in range(ORGS)]
        genesis = ch.governed_genesis(keys, self.admins, self.supervisor, self.validator_keys)
        self.node = ch.open_node(path, genesis)
        self.rng = random.Random(3)
        self.results: list[Receipt] = []
        self.validator_updates: list[Validator] = []

    def call(self, key: AccountKey, method: str, args: object, target: str = "gov") -> Receipt:
        return self.block([(key, target, method, args)])[0]

    def block(self, calls: list[tuple[AccountKey, str, str, object]]) -> list[Receipt]:
        height = self.node.height() + 1
        raws = [
            ch.transfer(key, b"", 0, valid_until=height + 5, nonce=self.rng.randbytes(16),
                        target=target, method=method, args=args)
            for key, target, method, args in calls
        ]
        _, result = ch.run_block(self.node, raws)
        self.validator_updates = list(result.validator_updates)
        return result.receipts

    def transfer(self, key: AccountKey, amount: int = 1) -> Receipt:
        args = ch.TransferArgs(to=self.outsider.address, amount=amount)
        return self.call(key, "transfer", args, "accounts")

    def propose(self, action: gov.Action, by: int = 0, voting_blocks: int = 0) -> Receipt:
        return self.call(self.admins[by], "propose", gov.ProposeArgs(action, voting_blocks))

    def vote(self, proposal: int, by: int, yes: bool = True) -> Receipt:
        return self.call(self.admins[by], "vote", gov.VoteArgs(proposal, yes))

    def read(self, key: bytes) -> bytes | None:
        return self.node.executor.query(key).value

    def proposal(self, proposal_id: int) -> gov.Proposal:
        raw = self.read(gov.proposal_key(proposal_id))
        assert raw is not None
        return codec.decode(gov.Proposal, raw)

    def members(self) -> list[str]:
        return [m.org for m in gov.read_members(self.read(gov.MEMBERS_KEY)).members]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    made = Chain(tmp_path / "store")
    yield made
    made.node.close()


def ok(receipt: Receipt) -> None:
    assert receipt.ok, f"{receipt.status}: {receipt.error}"


def test_add_member_passes_with_more_than_two_thirds_and_executes_in_that_block(chain: Chain) -> None:
    ok(chain.propose(gov.AddMember("org4", b"ca-of-org4")))
    assert chain.proposal(1).status == "open" and chain.proposal(1).threshold_num == 2
    ok(chain.vote(1, by=1))
    assert chain.proposal(1).status == "open"  # 2 of 4 is not more than 2/3
    receipt = chain.vote(1, by=2)
    ok(receipt)
    assert chain.proposal(1).status == "passed" and chain.proposal(1).decided_height == chain.node.height()
    assert "org4" in chain.members()
    assert [e.name for e in receipt.events] == ["voted", "passed"]


def test_add_member_makes_its_named_admin_an_admin_of_the_new_member(chain: Chain) -> None:
    newcomer = AccountKey.generate()
    ok(chain.propose(gov.AddMember("org4", b"ca-of-org4", admin=newcomer.address)))
    ok(chain.vote(1, by=1))
    ok(chain.vote(1, by=2))
    record = gov.read_account(chain.read(gov.account_record_key(newcomer.address)))
    assert (record.org, record.roles) == ("org4", [gov.ADMIN])
    # From the next block it proposes for org4, and its vote is org4's.
    ok(chain.call(newcomer, "propose", gov.ProposeArgs(gov.SetParam("block_txs_max", "500"))))
    assert chain.proposal(2).proposer_org == "org4"


def test_add_member_refuses_an_admin_of_another_organisation(chain: Chain) -> None:
    receipt = chain.propose(gov.AddMember("org4", b"ca-of-org4", admin=chain.admins[1].address))
    assert receipt.status == "invalid_arguments" and "belongs to org1" in receipt.error


def test_a_proposal_is_rejected_once_it_can_no_longer_pass(chain: Chain) -> None:
    ok(chain.propose(gov.RemoveMember("org3")))
    ok(chain.vote(1, by=1, yes=False))
    assert chain.proposal(1).status == "open"
    ok(chain.vote(1, by=2, yes=False))
    assert chain.proposal(1).status == "rejected"
    assert "org3" in chain.members()


def test_typed_refusals_name_the_reason(chain: Chain) -> None:
    receipt = chain.call(chain.outsider, "propose", gov.ProposeArgs(gov.AddMember("org9", b"x")))
    assert receipt.status == "permission_denied" and "admin" in receipt.error
    ok(chain.propose(gov.Unfreeze(chain.dev.address), voting_blocks=2))
    assert chain.vote(1, by=0).status == "already_voted"
    chain.block([])
    chain.block([])
    receipt = chain.vote(1, by=1)
    assert receipt.status == "voting_closed" and "expired" in receipt.error
    assert chain.proposal(1).status_at(chain.node.height()) == "expired"
    receipt = chain.call(chain.admins[0], "freeze", gov.FreezeArgs(chain.dev.address, "no reason"))
    assert receipt.status == "permission_denied" and "supervisor" in receipt.error
    assert chain.call(chain.admins[0], "vote", gov.VoteArgs(99, True)).status == "invalid_arguments"


def test_a_removed_member_can_no_longer_propose(chain: Chain) -> None:
    ok(chain.propose(gov.RemoveMember("org3")))
    ok(chain.vote(1, by=1))
    ok(chain.vote(1, by=2))
    assert "org3" not in chain.members()
    receipt = chain.propose(gov.AddMember("org3", b"again"), by=3)
    assert receipt.status == "not_a_member" and "org3" in receipt.error


def test_supervisor_freezes_at_once_and_only_the_committee_unfreezes(chain: Chain) -> None:
    ok(chain.transfer(chain.dev))
    ok(chain.call(chain.supervisor, "freeze", gov.FreezeArgs(chain.dev.address, "suspicious activity")))
    receipt = chain.transfer(chain.dev)
    assert receipt.status == "account_frozen" and "suspicious activity" in receipt.error
    ok(chain.propose(gov.Unfreeze(chain.dev.address)))
    assert chain.proposal(1).threshold_den == 2
    ok(chain.vote(1, by=1))
    assert chain.transfer(chain.dev).status == "account_frozen"  # 2 of 4 is not more than 1/2
    ok(chain.vote(1, by=2))
    ok(chain.transfer(chain.dev))


def test_a_freeze_applies_to_later_transactions_of_the_same_block(chain: Chain) -> None:
    args = ch.TransferArgs(to=chain.outsider.address, amount=1)
    receipts = chain.block([
        (chain.dev, "accounts", "transfer", args),
        (chain.supervisor, "gov", "freeze", gov.FreezeArgs(chain.dev.address, "stop")),
        (chain.dev, "accounts", "transfer", args),
    ])
    assert [r.status for r in receipts] == ["ok", "ok", "account_frozen"]


def test_validator_changes_become_updates_of_the_block(chain: Chain) -> None:
    new = NodeKey(b"\x77" * 32)
    ok(chain.propose(gov.AddValidator(new.node_id, "org1", "node4", power=5)))
    ok(chain.vote(1, by=1))
    ok(chain.vote(1, by=2))
    assert chain.validator_updates == [Validator(new.node_id, 5)]
    raw = chain.read(VALIDATORS_KEY)
    assert raw is not None and codec.decode(ValidatorSet, raw).power_of(new.node_id) == 5
    gone = chain.validator_keys[3].node_id
    ok(chain.propose(gov.RemoveValidator(gone)))
    ok(chain.vote(2, by=1))
    ok(chain.vote(2, by=2))
    assert chain.validator_updates == [Validator(gone, 0)]


def test_access_rules_and_roles(chain: Chain) -> None:
    ok(chain.propose(gov.SetAccess("accounts", "transfer", ["trader"])))
    ok(chain.vote(1, by=1))
    ok(chain.vote(1, by=2))
    receipt = chain.transfer(chain.dev)
    assert receipt.status == "permission_denied" and "trader" in receipt.error
    ok(chain.propose(gov.GrantRole(chain.dev.address, "trader")))
    ok(chain.vote(2, by=1))
    ok(chain.vote(2, by=2))
    ok(chain.transfer(chain.dev))


def test_parameters_and_the_supervisor_need_their_thresholds(chain: Chain) -> None:
    ok(chain.propose(gov.SetParam("block_txs_max", "500")))
    ok(chain.vote(1, by=1))
    ok(chain.vote(1, by=2))
    assert chain.node.executor.params.block_txs_max == 500
    assert chain.propose(gov.SetParam("no_such_param", "1")).status == "invalid_arguments"
    ok(chain.propose(gov.RevokeRole(chain.supervisor.address, "supervisor")))
    assert chain.proposal(2).threshold_num == 2 and chain.proposal(2).threshold_den == 3
    ok(chain.propose(gov.SetParam("other_threshold", "3/4")))
    ok(chain.vote(3, by=1))
    ok(chain.vote(3, by=2))
    assert chain.node.executor.params.other_threshold_num == 3
