"""Account keys (secp256k1), addresses (Ethereum, EIP-55), node keys (Ed25519), key files, hashing."""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.crypto import atomic_files
from alliance.crypto.certificates import load_private_key, save_private_key
from alliance.crypto.hashing import Domain, hash_domain, hasher_for, keccak256
from alliance.crypto.keys import (
    AccountKey,
    NodeKey,
    address_of,
    load_account_key,
    load_node_key,
    parse_address,
    save_account_key,
    save_node_key,
    to_checksum_address,
    verify_node_signature,
)
from alliance.crypto.sigcache import SignatureCache
from alliance.crypto.suite import suite_by_name
from alliance.errors import KeyFileError, UsageError

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KEYS = settings(max_examples=25, deadline=None)

secrets = st.integers(1, CURVE_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))
# A digest of zero (mod the curve order) is excluded: with z = 0, ECDSA's check point is u2*Q, so a
# signature for Q also verifies for -Q (the compressed key with its parity bit flipped). SHA-256
# outputs never hit it; it is a property of ECDSA, not of the code under test.
digests = st.binary(min_size=32, max_size=32).filter(lambda d: int.from_bytes(d, "big") % CURVE_ORDER)


def flips(data: bytes) -> list[bytes]:
    """Every single-bit mutation of ``data``."""
    out = []
    for bit in range(8 * len(data)):
        mutated = bytearray(data)
        mutated[bit // 8] ^= 1 << (bit % 8)
        out.append(bytes(mutated))
    return out


# --- secp256k1 through the suite ----------------------------------------------------------------------


@KEYS
@given(secrets, digests)
def test_sign_then_verify(secret: bytes, digest: bytes) -> None:
    suite = suite_by_name()
    key = AccountKey(secret)
    signature = key.sign_digest(digest)
    assert len(key.public_key) == suite.public_key_size_bytes == 33
    assert len(signature) == suite.signature_size_bytes == 64
    assert suite.verify(key.public_key, digest, signature) is True
    assert suite.address_of(key.public_key) == key.address


@settings(max_examples=20, deadline=None)
@given(secrets, digests)
def test_any_single_bit_flip_fails_verification(secret: bytes, digest: bytes) -> None:
    suite = suite_by_name()
    key = AccountKey(secret)
    signature = key.sign_digest(digest)
    for bad_digest in flips(digest):
        assert suite.verify(key.public_key, bad_digest, signature) is False
    for bad_signature in flips(signature):
        assert suite.verify(key.public_key, digest, bad_signature) is False
    for bad_key in flips(key.public_key):
        assert suite.verify(bad_key, digest, signature) is False


@KEYS
@given(secrets, digests)
def test_high_s_signature_rejected(secret: bytes, digest: bytes) -> None:
    suite = suite_by_name()
    signature = AccountKey(secret).sign_digest(digest)
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    assert s <= CURVE_ORDER // 2  # signing produces the low-s form
    high = r + (CURVE_ORDER - s).to_bytes(32, "big")  # the same signature's other, malleable form
    assert suite.verify(AccountKey(secret).public_key, digest, high) is False


def test_verify_rejects_wrong_sizes_and_garbage_without_raising() -> None:
    suite = suite_by_name()
    key = AccountKey(bytes(range(1, 33)))
    digest = bytes(32)
    signature = key.sign_digest(digest)
    cases = [
        (key.public_key[:-1], digest, signature),
        (key.public_key + b"\x00", digest, signature),
        (b"\x04" + bytes(32), digest, signature),
        (bytes(33), digest, signature),
        (key.public_key, digest[:-1], signature),
        (key.public_key, digest + b"\x00", signature),
        (key.public_key, digest, signature[:-1]),
        (key.public_key, digest, signature + b"\x00"),
        (key.public_key, digest, bytes(64)),
        (key.public_key, digest, b"\xff" * 64),  # r and s above the curve order
        (b"", b"", b""),
    ]
    assert [suite.verify(*case) for case in cases] == [False] * len(cases)
    batch = [(key.public_key, digest, signature), cases[0], cases[8]]
    assert suite.verify_batch(batch) == [True, False, False]


def test_unknown_suite_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="sm2"):
        suite_by_name("sm2")
    assert suite_by_name().name == "secp256k1"


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_account_secret_must_be_32_bytes(size: int) -> None:
    with pytest.raises(UsageError):
        AccountKey(b"\x01" * size)


def test_generated_account_keys_are_distinct_and_work() -> None:
    a, b = AccountKey.generate(), AccountKey.generate()
    assert a.secret != b.secret
    assert suite_by_name().verify(a.public_key, bytes(32), a.sign_digest(bytes(32)))


# --- addresses -----------------------------------------------------------------------------------------


def test_address_matches_ethereum_vector() -> None:
    key = AccountKey(bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
    assert to_checksum_address(key.address) == "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
    assert key.address == bytes.fromhex("2c7536e3605d9c16a7a3d7b1898e529396a65c23")


@KEYS
@given(secrets)
def test_address_is_the_same_from_compressed_and_uncompressed_keys(secret: bytes) -> None:
    import coincurve

    uncompressed = coincurve.PrivateKey(secret).public_key.format(compressed=False)
    key = AccountKey(secret)
    assert address_of(uncompressed) == address_of(key.public_key) == keccak256(uncompressed[1:])[-20:]


def test_keccak256_is_ethereum_keccak_not_sha3() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"") != hashlib.sha3_256(b"").digest()


EIP55_VECTORS = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
]


@pytest.mark.parametrize("checksummed", EIP55_VECTORS)
def test_eip55_vectors(checksummed: str) -> None:
    raw = bytes.fromhex(checksummed[2:])
    assert to_checksum_address(raw) == checksummed
    assert parse_address(checksummed) == raw
    assert parse_address(checksummed.lower()) == raw
    assert parse_address("0x" + checksummed[2:].upper()) == raw
    assert parse_address(checksummed[2:]) == raw
    assert parse_address("0X" + checksummed[2:]) == raw


@pytest.mark.parametrize("checksummed", EIP55_VECTORS[:4])
def test_wrong_checksum_rejected(checksummed: str) -> None:
    # Change the case of each letter in turn: every such address has a wrong checksum.
    body = checksummed[2:]
    letters = [i for i, c in enumerate(body) if c.isalpha()]
    assert letters
    for i in letters:
        wrong = body[:i] + body[i].swapcase() + body[i + 1 :]
        if wrong in (body.lower(), body.upper()):
            continue  # all one case is unchecksummed and valid
        with pytest.raises(UsageError, match="checksum"):
            parse_address("0x" + wrong)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0x",
        "0x" + "a" * 39,
        "0x" + "a" * 41,
        "0x" + "a" * 38,
        "0x" + "a" * 80,
        "a" * 39,
        "0x" + "g" * 40,
        "0x" + "a" * 39 + "z",
        "0x" + "a" * 39 + "\u0660",
        "0xx" + "a" * 39,
        "x0" + "a" * 40,
    ],
)
def test_parse_address_rejects_malformed(text: str) -> None:
    with pytest.raises(UsageError):
        parse_address(text)


@pytest.mark.parametrize("text", ["0x" + "aa aa" * 8, "0x" + "aa\taa" * 8, "0x  " + "aa" * 19])
def test_parse_address_rejects_whitespace(text: str) -> None:
    with pytest.raises(UsageError):
        parse_address(text)


def test_checksum_of_wrong_length_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        to_checksum_address(bytes(19))


# --- Ed25519 node keys ----------------------------------------------------------------------------------


@KEYS
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200))
def test_node_signature_round_trip_and_determinism(seed: bytes, message: bytes) -> None:
    key = NodeKey(seed)
    signature = key.sign(message)
    assert len(key.node_id) == 32
    assert len(signature) == 64
    assert signature == NodeKey(seed).sign(message)  # deterministic: simulations replay exactly
    assert verify_node_signature(key.node_id, message, signature) is True


@settings(max_examples=5, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=1, max_size=40))
def test_node_signature_single_bit_flips_fail(seed: bytes, message: bytes) -> None:
    key = NodeKey(seed)
    signature = key.sign(message)
    for bad in flips(message):
        assert verify_node_signature(key.node_id, bad, signature) is False
    for bad in flips(signature):
        assert verify_node_signature(key.node_id, message, bad) is False
    for bad in flips(key.node_id):
        assert verify_node_signature(bad, message, signature) is False


def test_node_signature_wrong_sizes_return_false() -> None:
    key = NodeKey(b"\x07" * 32)
    signature = key.sign(b"m")
    assert verify_node_signature(key.node_id[:31], b"m", signature) is False
    assert verify_node_signature(key.node_id + b"\x00", b"m", signature) is False
    assert verify_node_signature(key.node_id, b"m", signature[:63]) is False
    assert verify_node_signature(key.node_id, b"m", signature + b"\x00") is False
    assert verify_node_signature(b"", b"", b"") is False


def test_node_seed_must_be_32_bytes() -> None:
    with pytest.raises(UsageError):
        NodeKey(b"\x01" * 31)
    assert NodeKey.generate().seed != NodeKey.generate().seed


# --- key files ----------------------------------------------------------------------------------------


def test_account_key_file_round_trip_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "account.key"
    key = AccountKey(bytes(range(1, 33)))
    save_account_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_account_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["account.key"]  # no temporary file left


def test_node_key_file_round_trip_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    key = NodeKey(b"\x09" * 32)
    save_node_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_node_key(path) == key


def test_key_files_take_plain_string_paths(tmp_path: Path) -> None:
    """As the README's SDK example passes them: ``load_account_key(".alliance/keys/dev.key")``."""
    account, node = AccountKey(bytes(range(2, 34))), NodeKey(b"\x07" * 32)
    save_account_key(str(tmp_path / "a.key"), account)
    save_node_key(str(tmp_path / "n.key"), node)
    assert load_account_key(str(tmp_path / "a.key")) == account
    assert load_node_key(str(tmp_path / "n.key")) == node
    with pytest.raises(KeyFileError, match="cannot read key file"):
        load_account_key(str(tmp_path / "missing.key"))


def test_key_file_written_0600_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_text("old")
    path.chmod(0o644)
    old = os.umask(0)
    try:
        save_node_key(path, NodeKey(b"\x01" * 32))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606, 0o610, 0o601, 0o620, 0o602, 0o777])
def test_key_file_readable_or_writable_by_others_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "account.key"
    save_account_key(path, AccountKey(bytes(range(1, 33))))
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_account_key(path)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_file_private_modes_accepted(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "account.key"
    save_account_key(path, AccountKey(bytes(range(1, 33))))
    path.chmod(mode)
    assert load_account_key(path).secret == bytes(range(1, 33))


def test_key_file_of_the_wrong_kind_refused(tmp_path: Path) -> None:
    account, node = tmp_path / "account.key", tmp_path / "node.key"
    save_account_key(account, AccountKey(bytes(range(1, 33))))
    save_node_key(node, NodeKey(b"\x09" * 32))
    with pytest.raises(KeyFileError, match="ed25519"):
        load_node_key(account)
    with pytest.raises(KeyFileError, match="secp256k1"):
        load_account_key(node)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        'kind = "secp256k1"\n',
        'kind = "secp256k1"\nsecret = ""\n',
        'kind = "secp256k1"\nsecret = "zz"\n',
        'kind = "secp256k1"\nsecret = "' + "ab" * 31 + '"\n',
        'kind = "secp256k1"\nsecret = "' + "ab" * 33 + '"\n',
        'kind = "secp256k1"\nsecret = "' + "a" * 63 + '"\n',
        'secret = "' + "ab" * 32 + '"\n',
    ],
    ids=["empty", "garbage", "no-secret", "empty-secret", "non-hex", "short", "long", "odd", "no-kind"],
)
def test_malformed_key_file_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "account.key"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        load_account_key(path)


def test_missing_key_file_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        load_account_key(tmp_path / "absent.key")


def test_key_file_that_is_not_utf8_refused(tmp_path: Path) -> None:
    path = tmp_path / "account.key"
    path.write_bytes(b"\xff\xfe\x00kind")
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        load_account_key(path)


# --- a leftover temporary file beside a key file (a stale one, a symlink, a directory) -----------------
#
# Every secret goes through ``path.tmp`` and a rename. Whatever is already at ``path.tmp`` (left by a
# crash, or planted by another local user) must neither see the secret (a file others can read) nor
# lead the write elsewhere (a symlink). The secret writers: both key file kinds and the TLS key.


def save_tls_key(path: Path) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    save_private_key(path, key)
    assert load_private_key(path).private_numbers() == key.private_numbers()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def save_account(path: Path) -> bytes:
    save_account_key(path, AccountKey(bytes(range(1, 33))))
    assert load_account_key(path).secret == bytes(range(1, 33))
    return bytes(range(1, 33)).hex().encode()


def save_node(path: Path) -> bytes:
    save_node_key(path, NodeKey(b"\x05" * 32))
    assert load_node_key(path).seed == b"\x05" * 32
    return (b"\x05" * 32).hex().encode()


SECRET_WRITERS = [save_account, save_node, save_tls_key]


@pytest.fixture
def modes_at_fsync(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The permission bits of each regular file when it is fsynced, i.e. with the secret in it and
    before the rename: what another user could have read it with."""
    modes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            modes.append(stat.S_IMODE(st.st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return modes


@pytest.mark.parametrize("write", SECRET_WRITERS, ids=lambda w: w.__name__)
def test_a_leftover_world_readable_tmp_file_never_holds_the_secret(
    tmp_path: Path, modes_at_fsync: list[int], write: Callable[[Path], bytes]
) -> None:
    path = tmp_path / "secret.key"
    leftover = tmp_path / "secret.key.tmp"
    leftover.write_text("left by a crash")
    leftover.chmod(0o666)
    write(path)
    assert modes_at_fsync == [0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not leftover.exists()


@pytest.mark.parametrize("write", SECRET_WRITERS, ids=lambda w: w.__name__)
def test_a_symlink_at_the_tmp_path_is_never_written_through(
    tmp_path: Path, write: Callable[[Path], bytes]
) -> None:
    path = tmp_path / "secret.key"
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    victim.chmod(0o644)
    (tmp_path / "secret.key.tmp").symlink_to(victim)
    dangling = tmp_path / "created-through-the-link"
    (tmp_path / "other.key.tmp").symlink_to(dangling)
    secret = write(path)
    write(tmp_path / "other.key")
    assert victim.read_text() == "someone else's file"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not dangling.exists()
    for key_file in (path, tmp_path / "other.key"):
        assert not key_file.is_symlink()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert not key_file.with_name(key_file.name + ".tmp").is_symlink()
    assert secret in path.read_bytes()


@pytest.mark.parametrize("write", SECRET_WRITERS, ids=lambda w: w.__name__)
def test_a_directory_at_the_tmp_path_is_refused(tmp_path: Path, write: Callable[[Path], bytes]) -> None:
    (tmp_path / "secret.key.tmp").mkdir()
    with pytest.raises(KeyFileError, match=r"secret\.key\.tmp"):
        write(tmp_path / "secret.key")
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize("write", SECRET_WRITERS, ids=lambda w: w.__name__)
def test_a_link_planted_after_the_leftover_is_removed_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Callable[[Path], bytes]
) -> None:
    """The race: another user puts a link at ``path.tmp`` between the removal and the open."""
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    real_remove = atomic_files._remove_leftover

    def remove_then_plant(tmp: Path) -> None:
        real_remove(tmp)
        tmp.symlink_to(victim)

    monkeypatch.setattr(atomic_files, "_remove_leftover", remove_then_plant)
    with pytest.raises(KeyFileError, match="appeared while"):
        write(tmp_path / "secret.key")
    assert victim.read_text() == "someone else's file"
    assert not (tmp_path / "secret.key").exists()


# --- domain-separated hashing ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=100))
def test_domains_separate(data: bytes) -> None:
    hashes = {domain: hash_domain(domain, data) for domain in Domain}
    assert len(set(hashes.values())) == len(Domain)
    for domain, digest in hashes.items():
        assert digest == hashlib.sha256(domain.value + data).digest()
        streamed = hasher_for(domain)
        streamed.update(data)
        assert streamed.digest() == digest


def test_domain_tags_are_distinct_and_prefix_free() -> None:
    tags = [d.value for d in Domain]
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert tag.endswith(b"\x00") and tag.count(b"\x00") == 1
    for a, b in itertools.permutations(tags, 2):
        assert not b.startswith(a)


def test_hashers_do_not_share_state() -> None:
    first = hasher_for(Domain.TX)
    first.update(b"abc")
    assert hasher_for(Domain.TX).digest() == hashlib.sha256(Domain.TX.value).digest()


def test_signature_cache_add_many_is_add_in_order_with_the_same_bound() -> None:
    one_by_one, at_once = SignatureCache(entries_max=5), SignatureCache(entries_max=5)
    rows = [(bytes([i]) * 32, bytes([i]) * 64, bytes([i]) * 20) for i in range(8)]
    for tx_hash, signature, sender in rows:
        one_by_one.add(tx_hash, signature, sender)
    at_once.add_many((tx_hash + signature, sender) for tx_hash, signature, sender in rows)
    assert len(at_once) == len(one_by_one) == 5
    for tx_hash, signature, sender in rows:  # the oldest three went first, in both
        expected = sender if tx_hash[0] >= 3 else None
        assert at_once.get(tx_hash, signature) == one_by_one.get(tx_hash, signature) == expected
    assert at_once.get(rows[4][0], rows[5][1]) is None  # the key is the hash and this signature
