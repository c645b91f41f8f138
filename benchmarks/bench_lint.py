"""Lint throughput: files linted per second after startup.

Two batches, each linted with one process and with one process per core (what the CLI does for
64 files or more): the golden cases' prose questions (Markdown and plain text), and scenario YAML
files (about 11 KB each). Every figure is the best and the median of several runs, as the
machine may be shared. "cold" runs lint the files afresh (no result cache); "warm" runs re-lint an
unchanged batch through the content-hash result cache (what CI sees on an unchanged library).

Run: .venv/bin/python benchmarks/bench_lint.py [COPIES] [REPEATS]
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from crafter.evals.lint import YAML_SUFFIXES, corpus_urls, lint_paths
from crafter.resources import data_dir

DAY = dt.date(2026, 11, 1)


def measure(label: str, files: list[Path], copies: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(copies):
            for p in files:
                shutil.copy(p, Path(tmp) / f"{n}-{p.name}")
        lint_paths([tmp], DAY, cache=False)  # startup: regexes compiled, knowledge loaded
        lint_paths([tmp], DAY)  # fills the result cache for the warm runs
        for mode, jobs in (*(("cold", j) for j in sorted({1, os.cpu_count() or 1})), ("warm", 2)):
            rates = []
            for _ in range(repeats):
                started = time.perf_counter()
                report = lint_paths([tmp], DAY, jobs=jobs, cache=mode == "warm")
                rates.append(len(report.results) / (time.perf_counter() - started))
            print(
                f"{label}, {mode}, jobs={jobs}: {len(report.results)} files; files/s best "
                f"{max(rates):.0f}, median {statistics.median(rates):.0f} ({repeats} runs)"
            )


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    cases = [p for p in (data_dir("evals") / "cases").iterdir() if p.name != "labels.yaml"]
    corpus_urls()  # startup: the corpus URL set is loaded once per process
    prose = [p for p in cases if p.suffix not in YAML_SUFFIXES]
    measure("prose questions", prose, copies, repeats)
    scenarios = [p for p in cases if p.suffix in YAML_SUFFIXES]
    measure("scenario YAML", scenarios, copies * 3, repeats)


if __name__ == "__main__":
    main()
