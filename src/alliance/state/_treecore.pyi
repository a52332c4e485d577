# Types of the compiled lean update path (_treecore.c); see alliance.state.tree.
from typing import Any

OPENSSL: bool  # hashing through OpenSSL's EVP interface (else through hashlib's objects)

def configure(
    bucket_type: type,
    internal_type: type,
    same: object,
    leaf_hasher: Any,
    inner_hasher: Any,
    key_hasher: Any,
    leaf_tag: bytes,
    inner_tag: bytes,
    key_tag: bytes,
) -> None: ...
def internal_growing(
    job: Any,
    cache: dict[bytes, Any],
    old: tuple[bytes, int, int, bool],
    depth: int,
    items: list[Any],
    lo: int,
    hi: int,
) -> object: ...
def sorted_items(
    updates: dict[bytes, bytes | None], key_size_max: int, value_size_max: int
) -> list[tuple[bytes, str, bytes, bytes | None]] | None: ...
def bucket_value(joined: bytes, encoded: bytes, key_hash: bytes) -> bytes | None: ...
