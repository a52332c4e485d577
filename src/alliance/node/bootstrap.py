"""Creating a local alliance: certificates, keys, genesis and one home per node (``alliance init``).

Theory of operation: an alliance directory ``D`` holds everything a consortium needs to start::

    D/alliance.toml              chain id, organisations, and per node: name, org, home, host, ports
    D/ca/root-ca.pem, -key.pem   the alliance root CA (key mode 0600)
    D/orgs/orgK/ca.pem, -key.pem organisation K's CA, signed by the root
    D/keys/NAME.key              account keys: orgK-admin, dev (funded), supervisor
    D/nodes/nodeK/               node K's home in ``NodeHome``'s layout (config, genesis, keys, TLS)

Organisation ``orgK`` runs validator ``nodeK``. The genesis document names every organisation as
a member (with its CA certificate, weight 1), every node, the admins' ``admin`` role and the
supervisor's ``supervisor`` role, so the chain starts governed; it funds the developer account
and the admins. Every node gets the same genesis bytes and the hash in its ``config.toml``, and a
``[mempool]`` verifier set up for nodes that share this machine (``co_located_mempool``).

Ports are chosen at creation time by binding port 0 on 127.0.0.1 (all sockets held open until
every port is chosen, so no two coincide), so several alliances can live on one machine. The
``alliance.toml`` file is written last: its presence is what "this directory holds an alliance"
means, so a creation that failed half-way can simply be run again.

Joining later (``alliance org new``, ``alliance node new``): ``add_org`` makes an organisation CA
signed by the same root and an ``ORG-admin`` key, and lists the organisation in ``alliance.toml``.
That list is only what this directory holds certificates for: whether an organisation is a
*member* is decided on the ledger, by a committee vote (``add-member``), never by this file.
``add_node`` writes a home in exactly ``create_alliance``'s layout, with a certificate from its
organisation's CA, the genesis bytes of an existing home, and every current node as a peer; it is
listed in ``alliance.toml`` with ``validator = false`` (the ledger decides that too), so ``alliance
up`` starts it like the others. The other homes get it as a peer in their ``config.toml`` (read at
their next start; meanwhile the new node dials them). As with creation, ``alliance.toml`` is
written last, and a half-written home is removed, so a failed command can be run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import socket
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec
import tomli_w
from cryptography.hazmat.primitives import serialization

from alliance import codec
from alliance.crypto.certificates import (
    CertifiedKey,
    check_org_name,
    create_org_ca,
    create_root_ca,
    issue_node_certificate,
    load_certificate,
    load_certified_key,
    save_certified_key,
)
from alliance.crypto.keys import (
    AccountKey,
    NodeKey,
    load_account_key,
    load_node_key,
    save_account_key,
    save_node_key,
)
from alliance.errors import AllianceError, UsageError
from alliance.ledger.genesis import Genesis, GenesisMember, GenesisNode, GenesisRoles, make_genesis
from alliance.ledger.validators import Validator
from alliance.node.config import MempoolSection, NodeConfig, NodeHome, PeerConfig, save_config
from alliance.p2p.tls import write_node_tls_files

ALLIANCE_FILE = "alliance.toml"
NODES_MIN = 1
NODES_MAX = 64
HOST = "127.0.0.1"
VALIDATOR_POWER = 10
DEV_BALANCE = 10**15
ADMIN_BALANCE = 10**12
SUPERVISOR_BALANCE = 10**12  # the supervisor signs freezes; it should not depend on a transfer first
DEV_KEY = "dev"
SUPERVISOR_KEY = "supervisor"
ADMIN_KEY_SUFFIX = "-admin"
KEY_NAME_LENGTH_MAX = 64  # the key ring's bound; an organisation's admin key name must fit in it
PORT_ATTEMPTS_MAX = 20

_CHAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_NODE_NAME = _CHAIN_ID  # node names become directory names and log fields: the same plain alphabet
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class NodeEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One node as ``alliance.toml`` lists it; ``home`` is relative to the alliance directory."""

    name: str
    org: str
    home: str
    host: str = HOST
    p2p_port: Port
    api_port: Port
    validator: bool = True


class AllianceFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    chain_id: str
    orgs: list[str]
    nodes: list[NodeEntry]


@dataclass(frozen=True, slots=True)
class AllianceLayout:
    """An alliance directory and what its ``alliance.toml`` says."""

    directory: Path
    chain_id: str
    orgs: tuple[str, ...]
    nodes: tuple[NodeEntry, ...]

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    @property
    def ca_dir(self) -> Path:
        return self.directory / "ca"

    def org_dir(self, org: str) -> Path:
        return self.directory / "orgs" / org

    def org_ca_paths(self, org: str) -> tuple[Path, Path]:
        """The organisation CA's certificate and key files."""
        return self.org_dir(org) / "ca.pem", self.org_dir(org) / "ca-key.pem"

    def root_ca_paths(self) -> tuple[Path, Path]:
        return self.ca_dir / "root-ca.pem", self.ca_dir / "root-ca-key.pem"

    def admin_key_name(self, org: str) -> str:
        return org + ADMIN_KEY_SUFFIX

    def home(self, node: NodeEntry) -> NodeHome:
        return NodeHome(self.directory / node.home)

    def node(self, name: str) -> NodeEntry:
        for entry in self.nodes:
            if entry.name == name:
                return entry
        raise UsageError(f"alliance {self.directory} has no node named {name!r}")

    @staticmethod
    def api_url(node: NodeEntry) -> str:
        return f"http://{node.host}:{node.api_port}"

    @staticmethod
    def p2p_address(node: NodeEntry) -> str:
        return f"{node.host}:{node.p2p_port}"


def alliance_file(directory: Path) -> Path:
    return Path(directory) / ALLIANCE_FILE


def load_alliance(directory: Path | str) -> AllianceLayout:
    """The alliance in ``directory``; ``UsageError`` when there is none or its file is malformed."""
    path = alliance_file(Path(directory))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"no alliance in {directory} (no {ALLIANCE_FILE}); "
            f"create one with 'alliance init --dir {directory}'"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    try:
        parsed = msgspec.convert(raw, AllianceFile)
    except msgspec.ValidationError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return AllianceLayout(Path(directory), parsed.chain_id, tuple(parsed.orgs), tuple(parsed.nodes))


def save_alliance(layout: AllianceLayout) -> None:
    document = AllianceFile(chain_id=layout.chain_id, orgs=list(layout.orgs), nodes=list(layout.nodes))
    path = alliance_file(layout.directory)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(msgspec.to_builtins(document)), encoding="utf-8")
    tmp.replace(path)


def free_ports(count: int, host: str = HOST) -> list[int]:
    """``count`` distinct ports that were free on ``host`` a moment ago."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def co_located_mempool(nodes: int, cores: int | None = None) -> MempoolSection:
    """The signature verifier for one of ``nodes`` nodes that share this machine's ``cores``.

    A node on a machine of its own verifies on a worker process per core (``MempoolSection``'s
    default). The nodes of a local alliance share the cores. With fewer than two cores for each
    node, worker processes only add hand-offs (each batch pickled there and back) and context
    switches between three times as many busy processes, so the node's own thread verifies
    (``inline``): in A/B runs, 4 nodes on 2 cores committed 0.50-0.62 of the signature ceiling,
    against 0.47-0.53 with the workers (docs/benchmarks.md). With two cores or more for each
    node, each node gets its share of them as workers."""
    cores = cores if cores is not None else os.cpu_count() or 1
    share = cores // nodes
    if share < 2:
        return MempoolSection(verifier="inline")
    return MempoolSection(verifier="processes", verifier_workers=share)


def create_alliance(directory: Path | str, nodes: int, *, chain_id: str | None = None) -> AllianceLayout:
    """Create an alliance of ``nodes`` organisations with one validator each in ``directory``."""
    directory = Path(directory)
    if not NODES_MIN <= nodes <= NODES_MAX:
        raise UsageError(f"an alliance has {NODES_MIN} to {NODES_MAX} nodes, not {nodes}")
    chain = chain_id if chain_id is not None else f"alliance-{secrets.token_hex(4)}"
    if not _CHAIN_ID.fullmatch(chain):
        raise UsageError(
            f"chain id {chain!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if alliance_file(directory).exists():
        raise UsageError(f"{directory} already holds an alliance ({alliance_file(directory)})")
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")

    ports = free_ports(2 * nodes)
    orgs = tuple(f"org{k}" for k in range(nodes))
    entries = tuple(
        NodeEntry(
            name=f"node{k}", org=orgs[k], home=f"nodes/node{k}",
            p2p_port=ports[2 * k], api_port=ports[2 * k + 1],
        )
        for k in range(nodes)
    )
    layout = AllianceLayout(directory, chain, orgs, entries)

    root = create_root_ca(chain)
    save_certified_key(*layout.root_ca_paths(), root)
    org_cas = {org: _create_org(layout, root, org) for org in orgs}
    node_keys = {entry.name: NodeKey.generate() for entry in entries}
    accounts = _create_account_keys(layout)
    genesis = make_genesis(
        chain,
        validators=[Validator(node_id=k.node_id, power=VALIDATOR_POWER) for k in node_keys.values()],
        accounts=[
            (accounts[DEV_KEY].address, DEV_BALANCE),
            *((accounts[f"{org}-admin"].address, ADMIN_BALANCE) for org in orgs),
            (accounts[SUPERVISOR_KEY].address, SUPERVISOR_BALANCE),
        ],
        genesis_time_ms=int(time.time() * 1000),
        members=[
            GenesisMember(
                org=org, ca_certificate=ca.certificate.public_bytes(serialization.Encoding.DER), weight=1
            )
            for org, ca in org_cas.items()
        ],
        roles=[
            *(
                GenesisRoles(address=accounts[f"{org}-admin"].address, org=org, roles=["admin"])
                for org in orgs
            ),
            GenesisRoles(address=accounts[SUPERVISOR_KEY].address, org="", roles=["supervisor"]),
        ],
        nodes=[GenesisNode(node_id=node_keys[e.name].node_id, org=e.org, name=e.name) for e in entries],
    )
    genesis_bytes = codec.encode(genesis)
    genesis_hash = genesis.hash().hex()
    mempool = co_located_mempool(nodes)  # every node of this directory runs on this machine
    for entry in entries:
        home = layout.home(entry)
        home.root.mkdir(parents=True, exist_ok=True)
        node_key = node_keys[entry.name]
        save_node_key(home.node_key_path, node_key)
        org_ca = org_cas[entry.org]
        node_tls = issue_node_certificate(org_ca, node_key.node_id)
        write_node_tls_files(home.tls_dir, root.certificate, org_ca.certificate, node_tls)
        home.genesis_path.write_bytes(genesis_bytes)
        peers = [
            PeerConfig(
                name=p.name,
                node_id=node_keys[p.name].node_id.hex(),
                host=p.host,
                p2p_port=p.p2p_port,
                org=p.org,
            )
            for p in entries
            if p.name != entry.name
        ]
        save_config(
            home.config_path,
            NodeConfig(
                name=entry.name, chain_id=chain, genesis_hash=genesis_hash, org=entry.org,
                host=entry.host, p2p_port=entry.p2p_port, api_port=entry.api_port, peers=peers,
                mempool=mempool,
            ),
        )
    save_alliance(layout)  # last: see the module's docstring
    return layout


def _create_org(layout: AllianceLayout, root: CertifiedKey, org: str) -> CertifiedKey:
    ca = create_org_ca(root, org)
    save_certified_key(*layout.org_ca_paths(org), ca)
    return ca


def _create_account_keys(layout: AllianceLayout) -> dict[str, AccountKey]:
    """The alliance's account keys; a key the directory already holds (from ``keys new``) is kept."""
    names = [DEV_KEY, *(f"{org}-admin" for org in layout.orgs), SUPERVISOR_KEY]
    keys = {}
    for name in names:
        path = layout.keys_dir / f"{name}.key"
        if path.exists():
            key = load_account_key(path)
        else:
            key = AccountKey.generate()
            save_account_key(path, key)
        keys[name] = key
    return keys


# --- joining: a new organisation, a new node ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewOrg:
    """What ``add_org`` made."""

    layout: AllianceLayout
    org: str
    ca_path: Path
    admin_key: str  # the admin key's name in ``layout.keys_dir``
    admin_address: bytes


@dataclass(frozen=True, slots=True)
class NewNode:
    """What ``add_node`` made."""

    layout: AllianceLayout
    entry: NodeEntry
    node_id: bytes


def add_org(directory: Path | str, org: str) -> NewOrg:
    """A new organisation of the alliance in ``directory``: its CA (signed by the root) and admin key.

    The organisation is *not* a member: the committee makes it one on the ledger (``add-member``)."""
    layout = load_alliance(directory)
    check_org_name(org)
    admin = layout.admin_key_name(org)
    if len(admin) > KEY_NAME_LENGTH_MAX:
        raise UsageError(
            f"organisation name {org!r} is too long: its admin key {admin!r} must fit in "
            f"{KEY_NAME_LENGTH_MAX} characters"
        )
    if org in layout.orgs or layout.org_dir(org).exists():
        raise UsageError(f"the alliance in {layout.directory} already has an organisation named {org!r}")
    root = load_certified_key(*layout.root_ca_paths())
    try:
        _create_org(layout, root, org)
    except BaseException:
        shutil.rmtree(layout.org_dir(org), ignore_errors=True)  # so that the command can be run again
        raise
    admin_path = layout.keys_dir / f"{admin}.key"
    if admin_path.exists():  # made beforehand with ``keys new``: kept, as ``init`` keeps its keys
        key = load_account_key(admin_path)
    else:
        key = AccountKey.generate()
        save_account_key(admin_path, key)
    updated = dataclasses.replace(layout, orgs=(*layout.orgs, org))
    save_alliance(updated)
    return NewOrg(updated, org, layout.org_ca_paths(org)[0], admin, key.address)


def add_node(directory: Path | str, org: str, name: str) -> NewNode:
    """A new, non-validator node of ``org`` in ``directory``'s alliance, in ``create_alliance``'s layout."""
    layout = load_alliance(directory)
    if org not in layout.orgs:
        known = ", ".join(layout.orgs)
        raise UsageError(
            f"the alliance in {layout.directory} has no organisation {org!r} (it has {known}); "
            f"create it with 'alliance org new --name {org} --dir {layout.directory}'"
        )
    if not _NODE_NAME.fullmatch(name):
        raise UsageError(
            f"node name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    home_rel = f"nodes/{name}"
    if any(e.name == name for e in layout.nodes) or (layout.directory / home_rel).exists():
        raise UsageError(f"the alliance in {layout.directory} already has a node named {name!r}")
    template = _template_home(layout)
    genesis_bytes, config = template.genesis_path.read_bytes(), template.load_config()
    if codec.decode(Genesis, genesis_bytes).hash().hex() != config.genesis_hash:
        raise UsageError(f"{template.genesis_path} does not match the genesis hash in {template.config_path}")
    p2p_port, api_port = _unused_ports(layout)
    entry = NodeEntry(
        name=name, org=org, home=home_rel, p2p_port=p2p_port, api_port=api_port, validator=False
    )
    peers = [_peer_of(layout, other) for other in layout.nodes]
    home = layout.home(entry)
    node_key = NodeKey.generate()
    home.root.mkdir(parents=True)
    try:
        _write_home(layout, entry, node_key, genesis_bytes, msgspec.structs.replace(
            config, name=name, org=org, host=entry.host, p2p_port=p2p_port, api_port=api_port, peers=peers,
        ))
    except BaseException:
        shutil.rmtree(home.root, ignore_errors=True)  # ours alone: it did not exist a moment ago
        raise
    _add_peer_to_homes(layout, PeerConfig(
        name=name, node_id=node_key.node_id.hex(), host=entry.host, p2p_port=p2p_port, org=org
    ))
    updated = dataclasses.replace(layout, nodes=(*layout.nodes, entry))
    save_alliance(updated)  # last, as in create_alliance
    return NewNode(updated, entry, node_key.node_id)


def _write_home(
    layout: AllianceLayout, entry: NodeEntry, node_key: NodeKey, genesis_bytes: bytes, config: NodeConfig
) -> None:
    home = layout.home(entry)
    save_node_key(home.node_key_path, node_key)
    org_ca = load_certified_key(*layout.org_ca_paths(entry.org))
    root_certificate = load_certificate(layout.root_ca_paths()[0])
    tls = issue_node_certificate(org_ca, node_key.node_id)
    write_node_tls_files(home.tls_dir, root_certificate, org_ca.certificate, tls)
    home.genesis_path.write_bytes(genesis_bytes)
    save_config(home.config_path, config)


def _template_home(layout: AllianceLayout) -> NodeHome:
    """An existing home whose genesis the new node copies (every home holds the same bytes)."""
    for entry in layout.nodes:
        home = layout.home(entry)
        if home.genesis_path.exists() and home.config_path.exists():
            return home
    raise UsageError(f"no node home of the alliance in {layout.directory} holds a genesis.bin to copy")


def _unused_ports(layout: AllianceLayout) -> tuple[int, int]:
    """Two ports free now and not given to another node (whose process may be down right now)."""
    taken = {p for e in layout.nodes for p in (e.p2p_port, e.api_port)}
    for _ in range(PORT_ATTEMPTS_MAX):
        p2p_port, api_port = free_ports(2)
        if p2p_port not in taken and api_port not in taken:
            return p2p_port, api_port
    raise UsageError(f"found no two free ports unused by the alliance's nodes in {PORT_ATTEMPTS_MAX} tries")


def _peer_of(layout: AllianceLayout, entry: NodeEntry) -> PeerConfig:
    node_id = load_node_key(layout.home(entry).node_key_path).node_id
    return PeerConfig(
        name=entry.name, node_id=node_id.hex(), host=entry.host, p2p_port=entry.p2p_port, org=entry.org
    )


def _add_peer_to_homes(layout: AllianceLayout, peer: PeerConfig) -> None:
    """List the new node in the other homes' configs, so they dial it too after their next start.

    Best effort: a home whose config cannot be read (moved to another host, say) is left alone; the
    new node dials it, and members' nodes accept unlisted peers of member organisations."""
    for entry in layout.nodes:
        home = layout.home(entry)
        try:
            config = home.load_config()
        except AllianceError:
            continue
        if any(p.name == peer.name or p.node_id == peer.node_id for p in config.peers):
            continue
        save_config(home.config_path, msgspec.structs.replace(config, peers=[*config.peers, peer]))
