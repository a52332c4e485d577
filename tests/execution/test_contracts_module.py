"""Contracts on a chain: submitted, approved by the committee, called, viewed, upgraded, metered.

Real blocks of a real executor (``passes_helpers.PassChain``: three member organisations with an
admin each, issuers, holders); the engine's own rules and its hostile corpus are tested in
tests/contracts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from passes_helpers import PassChain

from alliance import codec
from alliance.abi import contracts as c
from alliance.abi import gov
from alliance.abi import passes as p
from alliance.abi.accounts import account_key, decode_balance
from alliance.contracts import engine
from alliance.ledger.block import EVENTS_PER_TX_MAX, Receipt

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
DOC = hashlib.sha256(b"a contract test's document").digest()
BOMBS = """
from alliance.contract import public

@public
def power(n: int) -> int:
    return 2 ** n

@public
def repeat(n: int) -> int:
    return len('x' * n)

@public
def forever(n: int) -> int:
    n = 0
    while True:
        n += 1
    return n
"""
ESCAPE = """
from alliance.contract import public

@public
def run() -> int:
    return len(().__class__.__base__.__subclasses__())
"""
REFUSING_INIT = """
from alliance.contract import public, revert

@public
def init() -> None:
    revert('not today')
"""
PAYER = """
from alliance.contract import Address, call, public

@public
def pay(to: Address, amount: int) -> None:
    call("accounts", "transfer", [to, amount])
"""


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[PassChain]:
    made = PassChain(tmp_path / "store")
    yield made
    made.close()


def submit(chain: PassChain, source: str, who: str = "admin1") -> bytes:
    receipt = chain.run(who, c.MODULE_NAME, "submit", c.SubmitArgs(source), gas_limit=10_000_000)
    assert receipt.ok, (receipt.status, receipt.error)
    return codec.decode(bytes, receipt.result)


def deploy(chain: PassChain, name: str, source: str, init_args: list[object] | None = None) -> gov.Proposal:
    code_hash = submit(chain, source)
    action = gov.DeployContract(name, code_hash, codec.encode(init_args or []))
    proposal = chain.pass_proposal(action)
    assert proposal.status == "passed" and proposal.error == "", proposal.error
    return proposal


def view(chain: PassChain, name: str, method: str, args: list[object]) -> object:
    answer = chain.node.executor.query_module(
        c.MODULE_NAME, "view", codec.encode(c.ViewQuery(name, method, codec.encode(args)))
    ).value
    return msgspec.msgpack.decode(answer.result)


def test_a_contract_runs_only_once_the_committee_approves_it(chain: PassChain) -> None:
    source = (EXAMPLES / "proof_of_existence.py").read_text()
    code_hash = submit(chain, source)
    assert chain.run("alice", "poe", "register", [DOC]).status == "unknown_target"
    proposal = chain.pass_proposal(gov.DeployContract("poe", code_hash))
    assert proposal.status == "passed" and proposal.error == ""
    assert chain.run("alice", "poe", "register", [DOC]).ok
    second = chain.run("bob", "poe", "register", [DOC])
    assert second.status == "contract_error" and "already registered" in second.error
    owner, time_ms = view(chain, "poe", "verify", [DOC])  # type: ignore[misc]
    assert owner == chain["alice"] and time_ms == chain.time_ms - 1_000
    record = chain.node.executor.query_module(
        c.MODULE_NAME, "contract", codec.encode(c.ContractQuery("poe"))
    ).value
    assert record.contract.code_hash == code_hash == engine.code_hash(source)
    assert record.contract.proposal == proposal.id and record.source == source
    assert {m.name for m in record.abi.methods} == {"register", "verify"}


def test_escapes_are_refused_at_submission_and_only_deployers_submit(chain: PassChain) -> None:
    before = chain.app_hash()
    receipt = chain.run("admin1", c.MODULE_NAME, "submit", c.SubmitArgs(ESCAPE), gas_limit=10_000_000)
    assert receipt.status == "invalid_contract" and "line" in receipt.error
    assert chain.app_hash() == before
    source = (EXAMPLES / "proof_of_existence.py").read_text()
    receipt = chain.run("mallory", c.MODULE_NAME, "submit", c.SubmitArgs(source), gas_limit=10_000_000)
    assert receipt.status == "permission_denied"
    # a proposal for code never submitted, or a name taken by a module, is refused when made
    assert (
        chain.run("admin1", "gov", "propose", gov.ProposeArgs(gov.DeployContract("poe", bytes(32)))).status
        == "unknown_code"
    )
    code_hash = submit(chain, source)
    taken = chain.run("admin1", "gov", "propose", gov.ProposeArgs(gov.DeployContract("passes", code_hash)))
    assert taken.status == "invalid_arguments"
    refused = chain.run(
        "mallory", c.MODULE_NAME, "activate", c.ActivateArgs("poe", code_hash, False, 1, chain["mallory"])
    )
    assert refused.status == "not_governance"


def test_bombs_and_endless_loops_run_out_of_gas_and_the_chain_goes_on(chain: PassChain) -> None:
    deploy(chain, "bombs", BOMBS)
    for method in ("power", "repeat", "forever"):
        receipt = chain.run("alice", "bombs", method, [10**9], gas_limit=10_000_000)
        assert receipt.status == "out_of_gas", (method, receipt.status, receipt.error)
        assert receipt.gas_used == 10_000_000
    assert chain.run("alice", "accounts", "transfer", [chain["bob"], 1]).ok


def test_a_contract_acts_as_its_own_account_and_a_freeze_stops_it(chain: PassChain) -> None:
    deploy(chain, "payer", PAYER)
    address = c.contract_address("payer")
    assert chain.run("alice", "accounts", "transfer", [address, 500]).ok
    receipt = chain.run("bob", "payer", "pay", [chain["carol"], 200])
    assert receipt.ok, receipt.error
    balance = decode_balance(chain.node.executor.query(account_key(address)).value)
    assert balance == 300
    assert [e.emitter for e in receipt.events] == ["accounts"]  # the transfer, sent by the contract
    assert chain.run("supervisor", "gov", "freeze", gov.FreezeArgs(address, "suspected")).ok
    assert chain.run("bob", "payer", "pay", [chain["carol"], 1]).status == "account_frozen"


def test_the_access_table_applies_to_contract_methods(chain: PassChain) -> None:
    deploy(chain, "poe", (EXAMPLES / "proof_of_existence.py").read_text())
    chain.pass_proposal(gov.SetAccess("poe", "register", ["notary"]))
    assert chain.run("alice", "poe", "register", [DOC]).status == "permission_denied"
    chain.pass_proposal(gov.GrantRole(chain["alice"], "notary", ""))
    assert chain.run("alice", "poe", "register", [DOC]).ok


def test_an_upgrade_keeps_the_contract_storage(chain: PassChain) -> None:
    first = (EXAMPLES / "token.py").read_text()
    deploy(chain, "token", first, [chain["alice"]])
    assert chain.run("alice", "token", "mint", [chain["bob"], 50]).ok
    second = first.replace("SUPPLY_MAX = 2**63 - 1", "SUPPLY_MAX = 2**62")
    code_hash = submit(chain, second)
    upgraded = chain.pass_proposal(gov.UpgradeContract("token", code_hash))
    assert upgraded.status == "passed" and upgraded.error == ""
    assert view(chain, "token", "balance_of", [chain["bob"]]) == 50
    record = chain.node.executor.query_module(
        c.MODULE_NAME, "contract", codec.encode(c.ContractQuery("token"))
    ).value
    assert (record.contract.version, record.contract.code_hash) == (2, code_hash)


def test_a_deploy_whose_init_fails_passes_with_its_error_and_changes_nothing(chain: PassChain) -> None:
    refusing = REFUSING_INIT
    code_hash = submit(chain, refusing)
    proposal = chain.pass_proposal(gov.DeployContract("moody", code_hash))
    assert proposal.status == "passed" and "not today" in proposal.error
    assert chain.run("alice", "moody", "init", []).status == "unknown_target"


def test_points_rules_award_a_pass_through_the_passes_module(chain: PassChain) -> None:
    """The example contract calling a system module: it mints points as its own account."""
    address = c.contract_address("points")
    scheme = p.CreateArgs(
        "PTS", "Travel points", "fungible", "points for low-carbon trips", minter_role="points-minter"
    )
    assert chain.do("issuer1", "create", scheme).ok
    chain.pass_proposal(gov.GrantRole(address, "points-minter", "org1"))
    deploy(chain, "points", (EXAMPLES / "points_rules.py").read_text(), [chain["alice"], "PTS"])
    receipt = chain.run("alice", "points", "award", [chain["bob"], "metro", 12_000])
    assert receipt.ok, receipt.error
    assert msgspec.msgpack.decode(receipt.result) == 11  # 12 km x 97 g / 100 g a point
    assert chain.balance("PTS", "bob") == 11
    assert view(chain, "points", "points_for", ["bike", 3_000]) == 2
    assert chain.run("bob", "points", "award", [chain["bob"], "metro", 12_000]).status == "contract_error"
    assert chain.run("alice", "points", "award", [chain["bob"], "rocket", 1_000]).status == "contract_error"


ROLE_READER = """
from alliance.contract import Address, call, public

@public
def roles_of(account: Address) -> list[str]:
    org, roles, frozen, member = call("gov", "roles", [account])
    return [org, ",".join(roles), "frozen" if frozen else "free", "member" if member else "outsider"]
"""


def test_a_contract_reads_an_accounts_roles_and_freeze_through_gov_roles(chain: PassChain) -> None:
    deploy(chain, "reader", ROLE_READER)
    before = chain.app_hash()

    def read(who: str) -> list[str]:
        receipt = chain.run("alice", "reader", "roles_of", [chain[who]])
        assert receipt.ok, receipt.error
        return msgspec.msgpack.decode(receipt.result)  # type: ignore[no-any-return]

    assert read("issuer2") == ["org2", "gateway,issuer", "free", "member"]
    assert read("supervisor") == ["", "supervisor", "free", "outsider"]
    assert read("mallory") == ["", "", "free", "outsider"]
    assert chain.run("supervisor", "gov", "freeze", gov.FreezeArgs(chain["bob"], "checking")).ok
    assert read("bob") == ["", "", "frozen", "outsider"]
    chain.pass_proposal(gov.RemoveMember("org2"))
    assert read("issuer2") == ["org2", "gateway,issuer", "free", "outsider"]
    assert chain.app_hash() != before
    quiet = chain.app_hash()
    direct = chain.run("alice", "gov", "roles", gov.RolesArgs(chain["issuer1"]))
    assert direct.ok and direct.events == [] and chain.app_hash() == quiet  # a read writes nothing
    assert codec.decode(gov.RolesView, direct.result) == gov.RolesView("org1", ["issuer"], False, True)
    bad = chain.run("alice", "gov", "roles", [b"short"])
    assert bad.status == "invalid_arguments"


LOUD = """
from alliance.contract import emit, public

@public
def shout(times: int) -> None:
    for i in range(times):
        emit("shout", i=i)
"""


def test_a_transaction_emits_at_most_the_events_a_receipt_holds(chain: PassChain) -> None:
    # A receipt decodes with at most EVENTS_PER_TX_MAX events: one more, committed ok, left the
    # block's receipts undecodable from the store (the API, the account index, and the executor
    # reopening at that height all decode them), so the transaction fails instead.
    deploy(chain, "loud", LOUD)
    full = chain.run("alice", "loud", "shout", [EVENTS_PER_TX_MAX], gas_limit=10_000_000)
    assert full.ok and len(full.events) == EVENTS_PER_TX_MAX
    over = chain.run("alice", "loud", "shout", [EVENTS_PER_TX_MAX + 1], gas_limit=10_000_000)
    assert over.status == "too_many_events" and over.events == []
    stored = codec.decode_trusted(list[Receipt], chain.node.store.receipts(chain.node.height()))
    assert [r.status for r in stored] == ["too_many_events"]
