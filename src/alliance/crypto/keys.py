"""Account keys (secp256k1), node keys (Ed25519), addresses and key files.

Theory of operation: an account is a secp256k1 key pair. A transaction carries its sender's
33-byte compressed public key and a 64-byte compact ECDSA signature over the transaction hash;
nodes verify against that key (cheaper here than public-key recovery) and derive the 20-byte
address as the last 20 bytes of keccak-256 of the uncompressed public key, exactly as Ethereum
does, so existing wallets and tools interoperate. Addresses display as EIP-55 checksummed hex.

A node is identified by its Ed25519 public key; Ed25519 signatures are deterministic, which keeps
simulations reproducible. Key files hold the secret as hex in a small TOML-like text, are written
with mode 0600 through a new temporary file and a rename (``atomic_files``), and are refused on load
when others can read them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import coincurve
import nacl.exceptions
import nacl.signing

from alliance.crypto.atomic_files import write_file_atomically
from alliance.crypto.hashing import keccak256
from alliance.errors import KeyFileError, UsageError
from alliance.types import ADDRESS_SIZE_BYTES

SECRET_SIZE_BYTES = 32
PUBLIC_KEY_SIZE_BYTES = 33
SIGNATURE_SIZE_BYTES = 64


def address_of(public_key: bytes) -> bytes:
    """The 20-byte address of a compressed or uncompressed secp256k1 public key."""
    uncompressed = public_key
    if len(public_key) != 65:
        uncompressed = coincurve.PublicKey(public_key).format(compressed=False)
    return keccak256(uncompressed[1:])[-ADDRESS_SIZE_BYTES:]


def to_checksum_address(address: bytes) -> str:
    """EIP-55 mixed-case hex of a 20-byte address, with 0x prefix."""
    if len(address) != ADDRESS_SIZE_BYTES:
        raise UsageError(f"an address is {ADDRESS_SIZE_BYTES} bytes, got {len(address)}")
    hex_lower = address.hex()
    digest = keccak256(hex_lower.encode("ascii")).hex()
    chars = [c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_lower)]
    return "0x" + "".join(chars)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_address(text: str) -> bytes:
    """Parse hex (with or without 0x). Mixed case must carry a valid EIP-55 checksum."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if len(body) != 2 * ADDRESS_SIZE_BYTES:
        raise UsageError(f"an address is {2 * ADDRESS_SIZE_BYTES} hex digits, got {len(body)}: {text!r}")
    if not all(c in _HEX_DIGITS for c in body):
        raise UsageError(f"address is not hex: {text!r}")
    raw = bytes.fromhex(body)
    if body != body.lower() and body != body.upper() and to_checksum_address(raw)[2:] != body:
        raise UsageError(f"address checksum does not match: {text!r}")
    return raw


@dataclass(frozen=True, slots=True)
class AccountKey:
    """A secp256k1 key pair for signing transactions."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != SECRET_SIZE_BYTES:
            raise UsageError(f"an account secret is {SECRET_SIZE_BYTES} bytes")

    @classmethod
    def generate(cls) -> AccountKey:
        return cls(coincurve.PrivateKey().secret)

    @property
    def public_key(self) -> bytes:
        return _private(self.secret).public_key.format(compressed=True)

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)

    def sign_digest(self, digest32: bytes) -> bytes:
        """A 64-byte compact (r || s, low-s) ECDSA signature over a 32-byte digest."""
        return _private(self.secret).sign_recoverable(digest32, hasher=None)[:64]


_private_cache: dict[bytes, coincurve.PrivateKey] = {}


def _private(secret: bytes) -> coincurve.PrivateKey:
    key = _private_cache.get(secret)
    if key is None:
        if len(_private_cache) > 4096:
            _private_cache.clear()
        key = coincurve.PrivateKey(secret)
        _private_cache[secret] = key
    return key


@dataclass(frozen=True, slots=True)
class NodeKey:
    """An Ed25519 key pair that signs consensus messages."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != SECRET_SIZE_BYTES:
            raise UsageError(f"a node key seed is {SECRET_SIZE_BYTES} bytes")

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(os.urandom(SECRET_SIZE_BYTES))

    @property
    def node_id(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.seed).verify_key)

    def sign(self, message: bytes) -> bytes:
        return nacl.signing.SigningKey(self.seed).sign(message).signature


class NodeSigner:
    """Signs consensus messages with a node key, keeping the key object (``NodeKey.sign`` builds one
    per signature)."""

    def __init__(self, key: NodeKey) -> None:
        self._key = nacl.signing.SigningKey(key.seed)
        self._node_id = key.node_id

    @property
    def node_id(self) -> bytes:
        return self._node_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature


def verify_node_signature(node_id: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``node_id``'s Ed25519 signature of ``message``."""
    try:
        nacl.signing.VerifyKey(node_id).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


# --- key files ------------------------------------------------------------------------------------

KEY_FILE_MODE = 0o600


def write_secret_file(path: Path | str, kind: str, secret: bytes) -> None:
    """Write a secret with mode 0600, atomically (a new temporary file, fsync, rename; see
    ``alliance.crypto.atomic_files`` for what it does with a leftover temporary file)."""
    write_file_atomically(Path(path), f'kind = "{kind}"\nsecret = "{secret.hex()}"\n'.encode(), KEY_FILE_MODE)


def read_secret_file(path: Path | str, kind: str) -> bytes:
    """Read a secret written by ``write_secret_file``; refuse unsafe permissions or another kind."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KeyFileError(f"key file {path} is not a text key file") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is readable by others (mode {oct(mode & 0o777)}); chmod 600 it")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip()] = value.strip().strip('"')
    if fields.get("kind") != kind:
        raise KeyFileError(f"key file {path} holds a {fields.get('kind')!r} key, expected {kind!r}")
    try:
        secret = bytes.fromhex(fields.get("secret", ""))
    except ValueError:
        raise KeyFileError(f"key file {path} has a malformed secret") from None
    if len(secret) != SECRET_SIZE_BYTES:
        raise KeyFileError(f"key file {path} has a secret of {len(secret)} bytes, expected 32")
    return secret


def save_account_key(path: Path | str, key: AccountKey) -> None:
    write_secret_file(path, "secp256k1", key.secret)


def load_account_key(path: Path | str) -> AccountKey:
    return AccountKey(read_secret_file(path, "secp256k1"))


def save_node_key(path: Path | str, key: NodeKey) -> None:
    write_secret_file(path, "ed25519", key.seed)


def load_node_key(path: Path | str) -> NodeKey:
    return NodeKey(read_secret_file(path, "ed25519"))
