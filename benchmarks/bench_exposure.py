"""What the exposure check costs: lint time with and without it, and library near-duplicates.

1. Lint time on the golden cases (prose and scenario YAML, one process, no result cache): without
   the check and with it (static vectors: no model runs; building the exemplar table once is
   reported apart).
2. Near-duplicate detection over 1,000 scenarios' probes (embedding included, cold and warm).

Run: .venv/bin/python benchmarks/bench_exposure.py
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time

from crafter.evals import exposure
from crafter.evals.duplicates import near_duplicates
from crafter.evals.lint import corpus_urls, lint_paths
from crafter.resources import data_dir

DAY = dt.date(2026, 11, 1)


def _timed(paths: list[str], index: object) -> tuple[float, int]:
    started = time.perf_counter()
    report = lint_paths(paths, DAY, exposure=index, cache=False)
    return time.perf_counter() - started, len(report.results)


def main() -> None:
    os.environ["CRAFTER_CACHE_DIR"] = tempfile.mkdtemp(prefix="crafter-bench-")
    folders = [str(data_dir("evals") / n) for n in ("cases", "holdout", "holdout2")]
    corpus_urls()
    index = exposure.index_for()
    print(f"index: {len(index)} published prompts")
    lint_paths(folders, DAY, exposure=None)  # warm: knowledge and regexes loaded
    base = min(_timed(folders, None)[0] for _ in range(3))
    t0 = time.perf_counter()
    index.table()
    load = time.perf_counter() - t0
    runs = [_timed(folders, index) for _ in range(3)]
    with_check, n = min(r[0] for r in runs), runs[0][1]
    print(f"lint {n} files: without the check {base:.2f}s; with it {with_check:.2f}s "
          f"(+{(with_check - base) / base:.0%}; plus {load:.2f}s once for the exemplar table)")  # fmt: skip

    # 1,000 distinct scenario openings: published prompts placed in varied product contexts.
    places = ["a regional bank", "a hospital network", "a farm co-op", "a ferry operator",
              "a school district", "a game studio", "a city council", "a freight broker",
              "a pharmacy chain", "a ski resort", "a wind farm", "a used-car marketplace"]  # fmt: skip
    prompts = index.prompts
    probes = [
        exposure.probe_of(
            f"{prompts[i % len(prompts)].title} at {places[(i // len(prompts) + i) % len(places)]}.",
            f"{prompts[i % len(prompts)].gist} We have {100 + i} thousand users and team {i % 37}.",
        )
        for i in range(1000)
    ]
    exposure_vectors_memory_clear()
    t0 = time.perf_counter()
    pairs = near_duplicates(probes)
    cold_dup = time.perf_counter() - t0
    exposure_vectors_memory_clear()
    t0 = time.perf_counter()
    near_duplicates(probes)
    warm_dup = time.perf_counter() - t0
    print(f"near-duplicates over 1,000 scenarios: {cold_dup:.2f}s cold (embedding each probe), "
          f"{warm_dup:.2f}s warm (cached probes); {len(pairs)} pairs")  # fmt: skip


def exposure_vectors_memory_clear() -> None:
    from crafter.evals import exposure_vectors

    exposure_vectors._MEMORY.clear()


if __name__ == "__main__":
    main()
