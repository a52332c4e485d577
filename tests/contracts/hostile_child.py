"""Run the hostile corpus under an address-space limit and print each contract's code as JSON.

The limit is what a node would configure for its process: if any contract made the engine
allocate past it, the run would fail with MemoryError (reported as ``memory_exhausted``, which
no corpus file expects) or die, and the parent test would see it.
"""

from __future__ import annotations

import json
import resource
import sys

from hostile_corpus import corpus, run_hostile

ADDRESS_SPACE_BYTES_MAX = 512 * 1024 * 1024


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES_MAX, ADDRESS_SPACE_BYTES_MAX))
    codes = {path.stem: run_hostile(path) for path in corpus()}
    json.dump({"limit_bytes": ADDRESS_SPACE_BYTES_MAX, "codes": codes}, sys.stdout)


if __name__ == "__main__":
    main()
