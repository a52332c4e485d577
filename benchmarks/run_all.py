"""Run every benchmark with its default sizes and print one JSON line each (``make bench``).

Figures worth keeping go into docs/benchmarks.md with the command, the machine and the date.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = [  # issue 2's criterion 6, as docs/benchmarks.md reports it
    ["bench_executor.py", "--accounts", "5000", "100000", "1000000", "--txs", "30000", "--rounds", "3",
     "--json"],
    ["bench_mempool.py", "--txs", "30000", "--rounds", "5", "--modes", "processes,processes+caller",
     "--json"],
    ["bench_proposer.py", "--json"],
    ["bench_explorer.py", "--txs", "20000", "--json"],
]  # fmt: skip


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help, and no options
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
