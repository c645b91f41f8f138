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


def spread(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:.0f} ms of {len(times)} "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )


def main() -> None:
    help_times = [timed(["--help"]) for _ in range(5)]
    print(f"crafter --help: {spread(help_times)}")
    with tempfile.TemporaryDirectory() as out:
        runs = ["--runs", f"{out}/runs", "--out", out]
        bare = [
            timed(["draft", SEED, "--model", "scaffold", "--no-research", *runs]) for _ in range(5)
        ]
        print(f"scaffold draft, no research: {spread(bare)}")
        timed(["index"])  # make sure the default index exists, so the next figure is warm
        full = [timed(["draft", SEED, "--model", "scaffold", *runs]) for _ in range(5)]
        print(f"scaffold draft with research (warm index): {spread(full)}; floor 1500 ms")
        if "--skip-local" not in sys.argv:
            local = timed(
                ["draft", SEED, "--model", "local:smollm2", "--no-research", "--rounds", "0", *runs]
            )
            print(f"local:smollm2 single-call draft (cold server start included): {local:.1f} s")


if __name__ == "__main__":
    main()
