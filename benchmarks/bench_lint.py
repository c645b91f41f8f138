"""Lint throughput: files linted per second after startup.

Two batches: the golden cases (mostly prose questions) copied many times, and scenario YAML files
only (about 11 KB each), each with one process and with one process per core.

Run: .venv/bin/python benchmarks/bench_lint.py [N_COPIES]
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crafter.evals.lint import corpus_urls, lint_paths
from crafter.resources import data_dir

DAY = dt.date(2026, 11, 1)


def measure(label: str, files: list[Path], copies: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(copies):
            for p in files:
                shutil.copy(p, Path(tmp) / f"{n}-{p.name}")
        lint_paths([tmp], DAY)  # warm: regexes compiled, caches filled
        for jobs in sorted({1, os.cpu_count() or 1}):
            started = time.perf_counter()
            report = lint_paths([tmp], DAY, jobs=jobs)
            seconds = time.perf_counter() - started
            n = len(report.results)
            print(f"{label}, jobs={jobs}: {n} files in {seconds:.2f}s = {n / seconds:.0f} files/s")


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    cases = [p for p in (data_dir("evals") / "cases").iterdir() if p.name != "labels.yaml"]
    corpus_urls()  # startup: the corpus URL set is loaded once per process
    measure("golden cases (mostly prose)", cases, copies)
    measure("scenario YAML only", [p for p in cases if p.suffix == ".yaml"], copies * 3)


if __name__ == "__main__":
    main()
