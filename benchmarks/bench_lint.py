"""Lint throughput: files linted per second after startup (the golden cases, copied many times).

Run: .venv/bin/python benchmarks/bench_lint.py [N_COPIES]
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crafter.evals.lint import corpus_urls, lint_paths
from crafter.resources import data_dir


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    cases = [p for p in (data_dir("evals") / "cases").iterdir() if p.name != "labels.yaml"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(copies):
            for p in cases:
                shutil.copy(p, Path(tmp) / f"{n}-{p.name}")
        corpus_urls()  # startup: the corpus URL set is loaded once per process
        lint_paths([tmp], dt.date(2026, 11, 1))  # warm regex caches
        started = time.perf_counter()
        report = lint_paths([tmp], dt.date(2026, 11, 1))
        seconds = time.perf_counter() - started
    n_files = len(report.results)
    print(
        f"linted {n_files} files in {seconds:.2f}s: {n_files / seconds:.0f} files/s after startup"
    )


if __name__ == "__main__":
    main()
