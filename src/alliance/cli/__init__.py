"""The ``alliance`` command line.

Theory of operation: for now it has the commands that need no running node: ``alliance version``
and account keys (``alliance keys new NAME``, ``alliance keys list``), kept in ``DIR/keys`` (the
local alliance's directory, ``.alliance`` by default) with mode 0600. The node commands
(``init``, ``up``, ``status``, ``tx``, ``query``) come with the node runtime. Errors are one line on
standard error and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from alliance import __version__
from alliance.crypto.keys import AccountKey, load_account_key, save_account_key, to_checksum_address
from alliance.errors import AllianceError, UsageError

DEFAULT_DIR = ".alliance"
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _keys_dir(directory: str) -> Path:
    return Path(directory) / "keys"


def keys_new(directory: str, name: str) -> dict[str, str]:
    if not KEY_NAME.match(name):
        raise UsageError(f"a key name is 1-64 letters, digits, dots, dashes or underscores: {name!r}")
    path = _keys_dir(directory) / f"{name}.key"
    if path.exists():
        raise UsageError(f"a key named {name!r} exists already at {path}")
    key = AccountKey.generate()
    save_account_key(path, key)
    return {"name": name, "address": to_checksum_address(key.address)}


def keys_list(directory: str) -> list[dict[str, str]]:
    folder = _keys_dir(directory)
    if not folder.is_dir():
        return []
    return [
        {"name": path.stem, "address": to_checksum_address(load_account_key(path).address)}
        for path in sorted(folder.glob("*.key"))
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alliance", description="Alliance consortium blockchain")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")
    keys = sub.add_parser("keys", help="account keys").add_subparsers(dest="keys_command", required=True)
    for name in ("new", "list"):
        p = keys.add_parser(name, help=f"{name} account key(s)")
        if name == "new":
            p.add_argument("name")
        p.add_argument("--dir", default=DEFAULT_DIR, help="the local alliance's directory")
        p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "version":
            print(__version__)
        elif args.keys_command == "new":
            made = keys_new(args.dir, args.name)
            print(json.dumps(made) if args.json else f"{made['name']}  {made['address']}")
        else:
            found = keys_list(args.dir)
            if args.json:
                print(json.dumps(found))
            else:
                for item in found:
                    print(f"{item['name']}  {item['address']}")
    except AllianceError as exc:
        print(f"alliance: {exc.message}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
