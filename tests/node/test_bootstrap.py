"""``create_alliance``, ``add_org`` and ``add_node``: the layouts they write, and what they refuse."""

from __future__ import annotations

import stat
from pathlib import Path

import msgspec
import pytest

from alliance import codec
from alliance.crypto.certificates import load_certificate, load_certificates, org_of, verify_chain
from alliance.crypto.keys import AccountKey, load_account_key, load_node_key, save_account_key
from alliance.errors import UsageError
from alliance.execution.executor import STATE_PRUNE_BATCH_VERSIONS_MAX
from alliance.execution.modules.governance import ADMIN, SUPERVISOR
from alliance.ledger.genesis import Genesis
from alliance.node.bootstrap import (
    ADMIN_BALANCE,
    DEV_BALANCE,
    VALIDATOR_POWER,
    add_node,
    add_org,
    co_located_mempool,
    create_alliance,
    load_alliance,
)
from alliance.node.config import MempoolSection, StateSection, save_config
from alliance.node.service import tls_files
from alliance.p2p.tls import load_and_verify


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_layout_is_complete_and_consistent(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    layout = create_alliance(directory, 3, chain_id="test-chain")
    assert load_alliance(directory) == layout
    assert layout.chain_id == "test-chain"
    assert [n.name for n in layout.nodes] == ["node0", "node1", "node2"]
    assert [n.org for n in layout.nodes] == ["org0", "org1", "org2"]

    ports = [p for n in layout.nodes for p in (n.p2p_port, n.api_port)]
    assert len(set(ports)) == 6

    keys = {p.stem: p for p in layout.keys_dir.glob("*.key")}
    assert set(keys) == {"dev", "supervisor", "org0-admin", "org1-admin", "org2-admin"}
    for path in [*keys.values(), layout.ca_dir / "root-ca-key.pem",
                 *(layout.org_dir(o) / "ca-key.pem" for o in layout.orgs)]:
        assert mode(path) == 0o600, path

    genesis_bytes = {layout.home(n).genesis_path.read_bytes() for n in layout.nodes}
    assert len(genesis_bytes) == 1
    genesis = codec.decode(Genesis, genesis_bytes.pop())
    assert genesis.chain_id == "test-chain"
    balances = {a.address: a.balance for a in genesis.accounts}
    assert balances[load_account_key(keys["dev"]).address] == DEV_BALANCE
    assert balances[load_account_key(keys["org1-admin"]).address] == ADMIN_BALANCE
    roles = {r.address: (r.org, r.roles) for r in genesis.roles}
    assert roles[load_account_key(keys["org2-admin"]).address] == ("org2", [ADMIN])
    assert roles[load_account_key(keys["supervisor"]).address] == ("", [SUPERVISOR])
    assert [m.org for m in genesis.members] == list(layout.orgs)

    root = load_certificate(layout.ca_dir / "root-ca.pem")
    node_ids = {}
    for node in layout.nodes:
        home = layout.home(node)
        config = home.load_config()
        assert config.genesis_hash == genesis.hash().hex()
        assert (config.name, config.org, config.chain_id) == (node.name, node.org, "test-chain")
        assert (config.p2p_port, config.api_port) == (node.p2p_port, node.api_port)
        assert config.mempool == co_located_mempool(3)  # three nodes share this machine
        assert mode(home.node_key_path) == 0o600
        assert mode(home.tls_dir / "node-tls-key.pem") == 0o600
        node_id = load_node_key(home.node_key_path).node_id
        node_ids[node.name] = node_id
        identity = load_and_verify(tls_files(home))
        assert identity.node_id == node_id and identity.org == node.org
        assert load_certificate(home.tls_dir / "root-ca.pem") == root
    powers = {v.node_id: v.power for v in genesis.validators.validators}
    assert powers == dict.fromkeys(node_ids.values(), VALIDATOR_POWER)
    for node in layout.nodes:  # every other node is a peer, with its real id and port
        peers = {p.name: p for p in layout.home(node).load_config().peers}
        assert set(peers) == {n.name for n in layout.nodes} - {node.name}
        for other in layout.nodes:
            if other.name in peers:
                assert peers[other.name].node_id == node_ids[other.name].hex()
                assert peers[other.name].p2p_port == other.p2p_port


def test_co_located_nodes_verify_in_their_own_thread_until_each_has_two_cores() -> None:
    for nodes, cores in [(4, 2), (2, 2), (1, 1), (4, 4), (4, 7)]:
        section = co_located_mempool(nodes, cores)
        assert (section.verifier, section.verifier_workers) == ("inline", 0), (nodes, cores)
    assert co_located_mempool(1, 2) == MempoolSection(verifier="processes", verifier_workers=2)
    assert co_located_mempool(4, 8) == MempoolSection(verifier="processes", verifier_workers=2)
    assert co_located_mempool(4, 13) == MempoolSection(verifier="processes", verifier_workers=3)


def test_two_alliances_get_different_ports_and_chains(tmp_path: Path) -> None:
    a = create_alliance(tmp_path / "a", 2)
    b = create_alliance(tmp_path / "b", 2)
    assert a.chain_id != b.chain_id
    ports_a = {p for n in a.nodes for p in (n.p2p_port, n.api_port)}
    ports_b = {p for n in b.nodes for p in (n.p2p_port, n.api_port)}
    assert len(ports_a) == len(ports_b) == 4


def test_a_second_init_is_refused(tmp_path: Path) -> None:
    create_alliance(tmp_path, 1)
    with pytest.raises(UsageError, match="already holds an alliance"):
        create_alliance(tmp_path, 1)


@pytest.mark.parametrize("nodes", [0, -1, 65])
def test_node_count_is_bounded(tmp_path: Path, nodes: int) -> None:
    with pytest.raises(UsageError, match="1 to 64 nodes"):
        create_alliance(tmp_path, nodes)
    assert not (tmp_path / "alliance.toml").exists()


@pytest.mark.parametrize("chain_id", ["", "bad id", "../x", "x" * 65])
def test_bad_chain_id_is_refused(tmp_path: Path, chain_id: str) -> None:
    with pytest.raises(UsageError, match="chain id"):
        create_alliance(tmp_path, 1, chain_id=chain_id)


def test_load_without_an_alliance_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no alliance in .*alliance init"):
        load_alliance(tmp_path / "missing")
    (tmp_path / "alliance.toml").write_text("chain_id = 5\n")
    with pytest.raises(UsageError, match=r"alliance\.toml"):
        load_alliance(tmp_path)


def test_a_key_made_before_init_is_kept(tmp_path: Path) -> None:
    mine = AccountKey.generate()
    save_account_key(tmp_path / "keys" / "dev.key", mine)
    layout = create_alliance(tmp_path, 1)
    assert load_account_key(layout.keys_dir / "dev.key") == mine
    genesis = codec.decode(Genesis, layout.home(layout.nodes[0]).genesis_path.read_bytes())
    assert mine.address in {a.address for a in genesis.accounts}


# --- joining: add_org and add_node -------------------------------------------------------------------


def test_add_org_makes_a_ca_under_the_root_and_an_admin_key(tmp_path: Path) -> None:
    create_alliance(tmp_path, 2)
    made = add_org(tmp_path, "org7")
    layout = load_alliance(tmp_path)
    assert layout == made.layout
    assert layout.orgs == ("org0", "org1", "org7")  # listed here; membership is the ledger's
    cert_path, key_path = layout.org_ca_paths("org7")
    assert made.ca_path == cert_path and mode(key_path) == 0o600
    ca = load_certificate(cert_path)
    assert org_of(ca) == "org7"
    assert ca.issuer == load_certificate(layout.ca_dir / "root-ca.pem").subject
    admin = layout.keys_dir / "org7-admin.key"
    assert mode(admin) == 0o600
    assert made.admin_key == "org7-admin" and load_account_key(admin).address == made.admin_address
    genesis = codec.decode(Genesis, layout.home(layout.nodes[0]).genesis_path.read_bytes())
    assert "org7" not in {m.org for m in genesis.members}


@pytest.mark.parametrize(("name", "needle"), [
    ("org0", "already has an organisation"),
    ("bad name", "organisation name"),
    ("../up", "organisation name"),
    ("o" * 60, "too long"),
])
def test_add_org_refuses_existing_and_bad_names(tmp_path: Path, name: str, needle: str) -> None:
    create_alliance(tmp_path, 1)
    before = (tmp_path / "alliance.toml").read_bytes()
    with pytest.raises(UsageError, match=needle):
        add_org(tmp_path, name)
    assert (tmp_path / "alliance.toml").read_bytes() == before


def test_add_org_needs_an_alliance(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no alliance in"):
        add_org(tmp_path, "org1")


def test_add_node_writes_a_home_like_init_and_joins_the_peer_lists(tmp_path: Path) -> None:
    create_alliance(tmp_path, 3, chain_id="join-chain")
    add_org(tmp_path, "org9")
    made = add_node(tmp_path, "org9", "node9")
    layout = load_alliance(tmp_path)
    assert layout == made.layout
    entry = layout.node("node9")
    assert (entry.org, entry.home, entry.validator) == ("org9", "nodes/node9", False)
    assert [n.validator for n in layout.nodes] == [True, True, True, False]
    ports = [p for n in layout.nodes for p in (n.p2p_port, n.api_port)]
    assert len(set(ports)) == len(ports)

    home, first = layout.home(entry), layout.home(layout.nodes[0])
    assert home.genesis_path.read_bytes() == first.genesis_path.read_bytes()
    assert mode(home.node_key_path) == 0o600 and mode(home.tls_dir / "node-tls-key.pem") == 0o600
    node_id = load_node_key(home.node_key_path).node_id
    assert node_id == made.node_id
    identity = load_and_verify(tls_files(home))
    assert (identity.node_id, identity.org) == (node_id, "org9")
    root = load_certificate(layout.ca_dir / "root-ca.pem")
    assert load_certificate(home.tls_dir / "root-ca.pem") == root
    node_cert, org_ca = load_certificates(home.tls_dir / "node-chain.pem")
    assert org_ca == load_certificate(layout.org_dir("org9") / "ca.pem")
    assert verify_chain(node_cert, org_ca, root) == identity

    config, template = home.load_config(), first.load_config()
    assert (config.name, config.org, config.chain_id) == ("node9", "org9", "join-chain")
    assert config.genesis_hash == template.genesis_hash
    assert (config.p2p_port, config.api_port) == (entry.p2p_port, entry.api_port)
    peers = {p.name: p for p in config.peers}
    assert set(peers) == {"node0", "node1", "node2"}
    for other in layout.nodes[:3]:
        assert peers[other.name].node_id == load_node_key(layout.home(other).node_key_path).node_id.hex()
        assert peers[other.name].p2p_port == other.p2p_port
        # ...and every other home lists the new node, so it dials it after its next start.
        listed = {p.name: p for p in layout.home(other).load_config().peers}
        assert listed["node9"].node_id == node_id.hex() and listed["node9"].p2p_port == entry.p2p_port


def test_add_node_refuses_unknown_orgs_and_taken_names(tmp_path: Path) -> None:
    create_alliance(tmp_path, 2)
    before = (tmp_path / "alliance.toml").read_bytes()
    with pytest.raises(UsageError, match=r"no organisation 'org5'.*alliance org new"):
        add_node(tmp_path, "org5", "node5")
    with pytest.raises(UsageError, match="already has a node named 'node1'"):
        add_node(tmp_path, "org0", "node1")
    with pytest.raises(UsageError, match="node name"):
        add_node(tmp_path, "org0", "../escape")
    assert (tmp_path / "alliance.toml").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "nodes").iterdir()) == ["node0", "node1"]


def test_a_failed_add_node_leaves_nothing_behind(tmp_path: Path) -> None:
    create_alliance(tmp_path, 1)
    add_org(tmp_path, "org1")
    (tmp_path / "orgs" / "org1" / "ca-key.pem").unlink()  # the node certificate cannot be issued
    before = (tmp_path / "alliance.toml").read_bytes()
    with pytest.raises(UsageError):
        add_node(tmp_path, "org1", "node1")
    assert not (tmp_path / "nodes" / "node1").exists()
    assert (tmp_path / "alliance.toml").read_bytes() == before


def test_a_node_config_bounds_its_state_section(tmp_path: Path) -> None:
    """``[state]``: consensus reads the state two versions back, and one commit's pruning is bounded."""
    layout = create_alliance(tmp_path, 1)
    home = layout.home(layout.nodes[0])
    config = home.load_config()
    assert config.state == StateSection()  # the executor's defaults: 100 kept, batches of 2
    too_big = STATE_PRUNE_BATCH_VERSIONS_MAX + 1
    for bad, field in [
        (StateSection(versions_kept=1), "versions_kept"),
        (StateSection(prune_batch_versions=0), "prune_batch_versions"),
        (StateSection(prune_batch_versions=too_big), "prune_batch_versions"),
    ]:
        save_config(home.config_path, msgspec.structs.replace(config, state=bad))  # Structs do not check
        with pytest.raises(UsageError, match=rf"state\.{field}"):
            home.load_config()
    fine = StateSection(versions_kept=2, prune_batch_versions=7)
    save_config(home.config_path, msgspec.structs.replace(config, state=fine))
    assert home.load_config().state == fine
