"""CLI wall times: `crafter --help` (median of 5), a scaffold draft, and a local-model draft.

Run: .venv/bin/python benchmarks/bench_cli.py [--skip-local]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "crafter"
SEED = "Route questions asked in our #ask-eng Slack channel to the people who can answer them."


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([str(BIN), *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    help_times = [timed(["--help"]) for _ in range(5)]
    print(f"crafter --help: median {statistics.median(help_times) * 1000:.0f} ms of 5")
    with tempfile.TemporaryDirectory() as out:
        scaffold = [timed(["draft", SEED, "--model", "scaffold", "--out", out]) for _ in range(5)]
        print(f"scaffold draft: median {statistics.median(scaffold) * 1000:.0f} ms of 5")
        if "--skip-local" not in sys.argv:
            local = timed(["draft", SEED, "--model", "local:smollm2", "--out", out])
            print(f"local:smollm2 draft (cold server start included): {local:.1f} s")


if __name__ == "__main__":
    main()
