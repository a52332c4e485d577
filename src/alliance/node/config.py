"""A node's home directory and its configuration file.

Theory of operation: everything one node needs lives under its home directory, so a member can
copy one folder to its own host and run ``alliance node start --home DIR``::

    HOME/config.toml        this file's ``NodeConfig`` (TOML, written by ``alliance init``)
    HOME/genesis.bin        the canonical genesis document (its hash is in the config)
    HOME/node.key           Ed25519 consensus key, mode 0600
    HOME/tls/               root-ca.pem, node-chain.pem (node then org CA), node-tls-key.pem
    HOME/data/              the LMDB chain store (and data/account-index/, the index of
                            transactions by account: derived, rebuilt when missing)
    HOME/wal/               the consensus WAL
    HOME/node.log, node.pid written by ``alliance up`` for background nodes

The TOML is parsed with ``tomllib`` and converted into frozen msgspec Structs, so a wrong type or
an unknown key is a ``UsageError`` naming the field, at start-up, not a crash later.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import tomli_w

from alliance.errors import UsageError
from alliance.execution.executor import (
    STATE_PRUNE_BATCH_VERSIONS_DEFAULT,
    STATE_PRUNE_BATCH_VERSIONS_MAX,
    STATE_VERSIONS_KEPT_DEFAULT,
)

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Positive = Annotated[int, msgspec.Meta(ge=1)]

CONFIG_FILE = "config.toml"
GENESIS_FILE = "genesis.bin"
NODE_KEY_FILE = "node.key"
TLS_DIR = "tls"
DATA_DIR = "data"
WAL_DIR = "wal"
ACCOUNT_INDEX_DIR = "account-index"
LOG_FILE = "node.log"
PID_FILE = "node.pid"


class PeerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    node_id: str  # hex of the Ed25519 public key
    host: str = "127.0.0.1"
    p2p_port: Port
    org: str | None = None
    """The organisation that owns the node: its certificate must be issued by that organisation's
    CA (``node.membership``). None admits any organisation (configurations written before this)."""


class ConsensusSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    timeout_propose_ms: Positive = 3000
    timeout_prevote_ms: Positive = 1000
    timeout_precommit_ms: Positive = 1000
    empty_block_interval_ms: Annotated[int, msgspec.Meta(ge=0)] = 1000
    """How long a proposer waits for transactions before proposing an empty block."""


class MempoolSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    txs_max: Positive = 100_000
    bytes_max: Positive = 256 * 1024 * 1024
    verifier: Literal["processes", "threads", "inline"] = "processes"
    verifier_workers: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0: one per core, or one fewer (next line)
    verifier_caller_verifies: bool = False
    """The node's own thread verifies too, sharing the work with the workers by stealing."""


class StateSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    versions_kept: Annotated[int, msgspec.Meta(ge=2)] = STATE_VERSIONS_KEPT_DEFAULT
    """State versions before the current one that stay readable and provable (queries at a height).
    At least 2: consensus reads the validator set of the last height from the state two back."""
    prune_batch_versions: Annotated[int, msgspec.Meta(ge=1, le=STATE_PRUNE_BATCH_VERSIONS_MAX)] = (
        STATE_PRUNE_BATCH_VERSIONS_DEFAULT
    )
    """Older versions are deleted this many at a time, in one block's commit (decision 008)."""


class NodeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    chain_id: str
    genesis_hash: str  # hex; the node refuses a genesis file with another hash
    org: str
    host: str = "127.0.0.1"
    p2p_port: Port
    api_port: Port
    peers: list[PeerConfig] = []
    consensus: ConsensusSection = ConsensusSection()
    mempool: MempoolSection = MempoolSection()
    state: StateSection = StateSection()
    store_sync: bool = True  # fsync each block commit; benchmarks may turn it off and say so
    account_index: bool = True
    """Index committed transactions by account (``GET /v1/accounts/{address}/txs``, decision 017)."""


class NodeHome:
    """The paths of one node's home directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def genesis_path(self) -> Path:
        return self.root / GENESIS_FILE

    @property
    def node_key_path(self) -> Path:
        return self.root / NODE_KEY_FILE

    @property
    def tls_dir(self) -> Path:
        return self.root / TLS_DIR

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    @property
    def account_index_dir(self) -> Path:
        return self.root / DATA_DIR / ACCOUNT_INDEX_DIR

    @property
    def wal_dir(self) -> Path:
        return self.root / WAL_DIR

    @property
    def log_path(self) -> Path:
        return self.root / LOG_FILE

    @property
    def pid_path(self) -> Path:
        return self.root / PID_FILE

    def load_config(self) -> NodeConfig:
        return load_config(self.config_path)


def load_config(path: Path) -> NodeConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no node configuration at {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    try:
        return msgspec.convert(raw, NodeConfig)
    except msgspec.ValidationError as exc:
        raise UsageError(f"{path}: {exc}") from None


def save_config(path: Path, config: NodeConfig) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(msgspec.to_builtins(config)), encoding="utf-8")
