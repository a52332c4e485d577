"""Governance reaching the network: validator changes take effect in consensus, and a removed
member's node is disconnected and refused while the rest keep committing (real nodes, one process).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from node_helpers import eventually, member_orgs, proposal, run

from alliance import codec
from alliance.abi import gov
from alliance.abi.accounts import TransferArgs
from alliance.crypto.keys import AccountKey, load_account_key, load_node_key
from alliance.ledger.transaction import sign_tx, tx_hash_of_canonical
from alliance.mempool.pool import Accepted
from alliance.node.runtime import NodeRuntime
from alliance.testing.nodes import alliance_homes, running_nodes


async def call(runtime: NodeRuntime, key: AccountKey, method: str, args: object) -> None:
    raw = codec.encode(
        sign_tx(key, chain_id=runtime.genesis.chain_id, target="gov", method=method, args=args,
                valid_until=runtime.height + 50)
    )
    results = await runtime.submit([raw])
    assert isinstance(results[0], Accepted), results
    committed = await runtime.wait_committed(tx_hash_of_canonical(raw), 20_000)
    assert committed is not None and committed.receipt.ok, committed


def test_removed_validator_and_member_leave_consensus_and_the_network(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    homes = alliance_homes(tmp_path, 4)
    admins = [load_account_key(tmp_path / "keys" / f"org{i}-admin.key") for i in range(4)]
    node1 = load_node_key(homes[1].node_key_path).node_id
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with running_nodes(homes) as nodes:
            leader = nodes[0].runtime
            await call(leader, admins[0], "propose", gov.ProposeArgs(gov.RemoveValidator(node1)))
            await call(leader, admins[2], "vote", gov.VoteArgs(1, True))
            await call(leader, admins[3], "vote", gov.VoteArgs(1, True))
            assert proposal(leader, 1)[1] == "passed"
            decided = proposal(leader, 1)[0].decided_height
            await eventually(lambda: leader.height >= decided + 3, "the change to take effect")
            assert leader.status().validators.power_of(node1) == 0
            assert len(leader.status().validators.validators) == 3
            after = leader.height
            _block, cert = leader.block(after)
            assert cert is not None and node1 not in {s.node_id for s in cert.signatures}

            await call(leader, admins[0], "propose", gov.ProposeArgs(gov.RemoveMember("org1")))
            await call(leader, admins[2], "vote", gov.VoteArgs(2, True))
            await call(leader, admins[3], "vote", gov.VoteArgs(2, True))
            assert member_orgs(leader) == ["org0", "org2", "org3"]
            transports = [n.runtime.network for n in nodes]
            assert all(t is not None for t in transports)
            await eventually(
                lambda: all(node1 not in t.connected_peers() for i, t in enumerate(transports) if i != 1),
                "node1 to be dropped by every other node",
            )
            await asyncio.sleep(1.5)  # node1 keeps dialling; it must stay refused
            assert all(node1 not in t.connected_peers() for i, t in enumerate(transports) if i != 1)
            assert "not a current member" in caplog.text or "no longer a member" in caplog.text
            top = leader.height
            await eventually(lambda: leader.height >= top + 3, "the chain to keep committing without org1")

    run(scenario())


def test_the_mempool_follows_a_parameter_change_at_the_block_it_takes_effect(tmp_path: Path) -> None:
    """Audit M2: the mempool kept the parameters it was built with, so after a vote lowered
    ``tx_gas_max`` it still admitted transactions no block would include (until a restart)."""
    homes = alliance_homes(tmp_path, 1)
    admin = load_account_key(tmp_path / "keys" / "org0-admin.key")
    dev = load_account_key(tmp_path / "keys" / "dev.key")

    async def scenario() -> None:
        async with running_nodes(homes) as (node,):
            runtime = node.runtime
            change = gov.ProposeArgs(gov.SetParam("tx_gas_max", "50000"))
            await call(runtime, admin, "propose", change)  # one member: it passes at once
            assert runtime.executor.params.tx_gas_max == 50_000
            assert runtime.mempool.params is runtime.executor.params
            heavy = codec.encode(
                sign_tx(
                    dev, chain_id=runtime.genesis.chain_id, target="accounts", method="transfer",
                    args=TransferArgs(b"\x04" * 20, 1), valid_until=runtime.height + 50, gas_limit=100_000,
                )
            )
            (result,) = await runtime.submit([heavy])
            assert not isinstance(result, Accepted)
            assert result.code == "gas_limit_too_high"

    run(scenario())
