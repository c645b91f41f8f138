"""`crafter search` cold from the shell: wall time and peak RSS of a fresh process per query.

Each run starts `crafter search "..."` as a new process against the default index (built first if
missing; `CRAFTER_INDEX_DIR` picks another), as a user at a shell would, and measures its wall time
and its peak resident memory (from the child's rusage). Floors: 0.8 s median, 400 MB peak.

Run: .venv/bin/python benchmarks/bench_search.py [RUNS] [--index DIR]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "crafter"
QUERIES = (
    "route questions asked in our Slack channel to the people who can answer them",
    "detect fraudulent card transactions in real time",
    "forecast demand for grocery deliveries",
    "rank search results for an online marketplace",
    "extract fields from scanned invoices",
)
FLOOR_S = 0.8
FLOOR_MB = 400


def one(query: str, extra: list[str]) -> tuple[float, float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN), "search", query, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"crafter search failed ({proc.returncode}): {err}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    args = sys.argv[1:]
    extra: list[str] = []
    if "--index" in args:
        at = args.index("--index")
        extra = ["--index", args[at + 1]]
        del args[at : at + 2]
    runs = int(args[0]) if args else 10
    subprocess.run([str(BIN), "index", *extra], check=True, capture_output=True)
    one(QUERIES[0], extra)  # warm the OS file cache and .pyc files; not counted
    results = [one(QUERIES[i % len(QUERIES)], extra) for i in range(runs)]
    walls = [r[0] for r in results]
    rss = [r[1] for r in results]
    cpu = [r[2] for r in results]
    med = statistics.median(walls)
    print(
        f"crafter search, cold process: median {med:.3f} s of {runs} "
        f"(min {min(walls):.3f}, max {max(walls):.3f}); floor {FLOOR_S} s"
        f"  {'ok' if med <= FLOOR_S else 'TOO SLOW'}"
    )
    print(
        f"peak RSS: median {statistics.median(rss):.0f} MB, max {max(rss):.0f} MB; "
        f"floor {FLOOR_MB} MB  {'ok' if max(rss) <= FLOOR_MB else 'TOO BIG'}"
    )
    print(
        f"CPU time (user + sys, less sensitive to other load): median {statistics.median(cpu):.3f} s"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
