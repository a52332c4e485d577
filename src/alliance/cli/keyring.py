"""Named account keys in a local alliance's ``keys`` folder, and names or addresses given on the command line.

Theory of operation: ``DIR/keys/NAME.key`` holds one secp256k1 account key (mode 0600, written by
``alliance.crypto.keys.save_account_key``); ``alliance init`` puts ``dev``, ``orgK-admin`` and
``supervisor`` there and ``alliance keys new NAME`` adds more. Wherever a command takes an account
(``--to``, ``query account``), the argument is an address when it parses as one and a key name
otherwise, so ``--to bob`` and ``--to 0x...`` both work. Key names are a bounded plain alphabet,
so a name can never climb out of the folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from alliance.crypto.keys import AccountKey, load_account_key, parse_address, save_account_key
from alliance.crypto.keys import to_checksum_address as checksum
from alliance.errors import UsageError

KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KEYS_DIR = "keys"


def keys_dir(directory: Path | str) -> Path:
    return Path(directory) / KEYS_DIR


def _check_name(name: str) -> None:
    if not KEY_NAME.fullmatch(name):
        raise UsageError(f"a key name is 1-64 letters, digits, dots, dashes or underscores: {name!r}")


def key_path(directory: Path | str, name: str) -> Path:
    _check_name(name)
    return keys_dir(directory) / f"{name}.key"


def keys_new(directory: Path | str, name: str) -> dict[str, str]:
    path = key_path(directory, name)
    if path.exists():
        raise UsageError(f"a key named {name!r} exists already at {path}")
    key = AccountKey.generate()
    save_account_key(path, key)
    return {"name": name, "address": checksum(key.address)}


def keys_list(directory: Path | str) -> list[dict[str, str]]:
    folder = keys_dir(directory)
    if not folder.is_dir():
        return []
    return [
        {"name": path.stem, "address": checksum(load_account_key(path).address)}
        for path in sorted(folder.glob("*.key"))
    ]


def load_named_key(directory: Path | str, name: str) -> AccountKey:
    path = key_path(directory, name)
    if not path.exists():
        raise UsageError(f"no key named {name!r} in {keys_dir(directory)} (see 'alliance keys list')")
    return load_account_key(path)


def resolve_address(directory: Path | str, text: str) -> bytes:
    """An address given as hex, or the address of the key so named in ``directory``."""
    if text[:2] in ("0x", "0X") or (len(text) == 40 and all(c in "0123456789abcdefABCDEF" for c in text)):
        return parse_address(text)  # looks like an address: a malformed one is reported as such
    if KEY_NAME.fullmatch(text) and key_path(directory, text).exists():
        return load_account_key(key_path(directory, text)).address
    raise UsageError(
        f"{text!r} is neither an address (0x and 40 hex digits) nor a key in {keys_dir(directory)}"
    )
