"""Genesis: the chain's identity, parameters, initial balances and validators.

The genesis document is canonical data like everything else; its hash (under its own domain)
seeds the chain, so two nodes started from different genesis files can never agree on a block.
Chain parameters live in state after genesis, where governance can change them later.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.crypto.hashing import Domain, hash_domain
from alliance.ledger.block import BLOCK_TXS_BYTES_MAX, BLOCK_TXS_MAX
from alliance.ledger.transaction import TX_SIZE_BYTES_MAX, Amount, Bytes20, Name
from alliance.ledger.validators import VALIDATORS_MAX, NodeIdBytes, Validator, ValidatorSet

GENESIS_ACCOUNTS_MAX = 10_000_000
MEMBERS_MAX = 100  # with CA certificates of up to 8 KiB, the members list fits one state value
ROLES_PER_ACCOUNT_MAX = 32
CERTIFICATE_SIZE_BYTES_MAX = 8192
Positive = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
GAS_MAX = 10**15
TX_WINDOW_BLOCKS_MAX = 1_000_000
VOTING_PERIOD_BLOCKS_MAX = 10_000_000
THRESHOLD_DEN_MAX = 1000


class ChainParams(Struct):
    """The governed parameters. Each has a ceiling that no vote can pass: the protocol's own limits
    (a block must fit one wire frame and one WAL record; ``tests/test_bounds.py`` relates them), so
    no parameter change can produce a block that a node cannot send, store or decode. Relations
    between fields (``check``) are enforced when a change is proposed and again when it applies."""

    block_txs_max: Annotated[int, msgspec.Meta(ge=1, le=BLOCK_TXS_MAX)] = 10_000
    block_bytes_max: Annotated[int, msgspec.Meta(ge=TX_SIZE_BYTES_MAX, le=BLOCK_TXS_BYTES_MAX)] = 8 << 20
    block_gas_max: Annotated[int, msgspec.Meta(ge=1, le=GAS_MAX)] = 10_000_000_000
    tx_gas_max: Annotated[int, msgspec.Meta(ge=1, le=GAS_MAX)] = 10_000_000
    tx_window_blocks: Annotated[int, msgspec.Meta(ge=1, le=TX_WINDOW_BLOCKS_MAX)] = 1_000
    """How far ahead of the current height ``valid_until`` may be; also how long seen hashes are kept."""
    voting_period_blocks: Annotated[int, msgspec.Meta(ge=1, le=VOTING_PERIOD_BLOCKS_MAX)] = 1_000
    """A proposal's default voting period; a proposer may ask for a shorter one."""
    membership_threshold_num: Annotated[int, msgspec.Meta(ge=1, lt=THRESHOLD_DEN_MAX)] = 2
    membership_threshold_den: Annotated[int, msgspec.Meta(ge=2, le=THRESHOLD_DEN_MAX)] = 3
    """Membership and validator changes pass with *more than* num/den of the committee's weight."""
    other_threshold_num: Annotated[int, msgspec.Meta(ge=1, lt=THRESHOLD_DEN_MAX)] = 1
    other_threshold_den: Annotated[int, msgspec.Meta(ge=2, le=THRESHOLD_DEN_MAX)] = 2
    """Every other proposal passes with more than num/den."""

    def problem(self) -> str | None:
        """What is wrong with these parameters taken together, or None."""
        if self.tx_gas_max > self.block_gas_max:
            return f"tx_gas_max ({self.tx_gas_max}) must not exceed block_gas_max ({self.block_gas_max})"
        if self.membership_threshold_num >= self.membership_threshold_den:
            return "membership_threshold must be a fraction in (0, 1)"
        if self.other_threshold_num >= self.other_threshold_den:
            return "other_threshold must be a fraction in (0, 1)"
        return None


class GenesisAccount(Struct):
    address: Bytes20
    balance: Amount


class GenesisMember(Struct):
    """A founding member organisation: its name, its CA certificate (DER) and its voting weight."""

    org: Name
    ca_certificate: Annotated[bytes, msgspec.Meta(max_length=CERTIFICATE_SIZE_BYTES_MAX)]
    weight: Positive = 1


class GenesisRoles(Struct):
    """An account's organisation (empty: none) and roles at genesis."""

    address: Bytes20
    org: str
    roles: Annotated[list[Name], msgspec.Meta(max_length=ROLES_PER_ACCOUNT_MAX)]


class GenesisNode(Struct):
    """A node known at genesis: its Ed25519 id, organisation and name."""

    node_id: NodeIdBytes
    org: Name
    name: Name


class Genesis(Struct):
    chain_id: Name
    genesis_time_ms: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    suite: Name
    params: ChainParams
    accounts: Annotated[list[GenesisAccount], msgspec.Meta(max_length=GENESIS_ACCOUNTS_MAX)]
    validators: ValidatorSet
    members: Annotated[list[GenesisMember], msgspec.Meta(max_length=MEMBERS_MAX)] = []
    roles: Annotated[list[GenesisRoles], msgspec.Meta(max_length=GENESIS_ACCOUNTS_MAX)] = []
    nodes: Annotated[list[GenesisNode], msgspec.Meta(max_length=VALIDATORS_MAX)] = []

    def hash(self) -> bytes:
        return hash_domain(Domain.GENESIS, codec.encode(self))


def make_genesis(
    chain_id: str,
    *,
    validators: list[Validator],
    accounts: list[tuple[bytes, int]] = (),  # type: ignore[assignment]
    params: ChainParams | None = None,
    genesis_time_ms: int = 0,
    suite: str = "secp256k1",
    members: list[GenesisMember] = (),  # type: ignore[assignment]
    roles: list[GenesisRoles] = (),  # type: ignore[assignment]
    nodes: list[GenesisNode] = (),  # type: ignore[assignment]
) -> Genesis:
    return Genesis(
        chain_id=chain_id,
        genesis_time_ms=genesis_time_ms,
        suite=suite,
        params=params or ChainParams(),
        accounts=[GenesisAccount(address=a, balance=b) for a, b in accounts],
        validators=ValidatorSet.of(validators),
        members=list(members),
        roles=list(roles),
        nodes=list(nodes),
    )
