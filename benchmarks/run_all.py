"""Run every benchmark with its default sizes and print one JSON line each (``make bench``).

Figures worth keeping go into docs/benchmarks.md with the command, the machine and the date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = [
    ["bench_executor.py", "--accounts", "5000", "100000", "--txs", "30000", "--json"],
    ["bench_mempool.py", "--txs", "20000", "--json"],
]


def main() -> int:
    status = 0
    for script, *args in RUNS:
        path = HERE / script
        if not path.exists():
            continue
        print(f"== {script} {' '.join(args)}", flush=True)
        status |= subprocess.call([sys.executable, str(path), *args])
    return status


if __name__ == "__main__":
    sys.exit(main())
