"""Retrieval quality and speed.

Prints hit@1, hit@5 and MRR for dense, BM25 and hybrid on evals/retrieval/needs.yaml, then the full
build time, no-op re-index time, warm query p50/p95 and peak memory.

Run: .venv/bin/python benchmarks/bench_retrieval.py [--index DIR]   (default: a fresh temp dir)
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from crafter.resources import data_dir
from crafter.retrieval.evaluation import evaluate, load_needs
from crafter.retrieval.index import CorpusIndex


def main() -> None:
    folder = Path(sys.argv[sys.argv.index("--index") + 1]) if "--index" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = folder or Path(tmp) / "index"
        started = time.perf_counter()
        report = CorpusIndex(index_dir).sync()
        build = time.perf_counter() - started
        print(
            f"build: {report.added} docs, {report.chunks_embedded} chunks embedded in {build:.1f}s"
        )
        started = time.perf_counter()
        noop = CorpusIndex(index_dir).sync()
        print(f"no-op re-index: {time.perf_counter() - started:.3f}s (changed: {noop.changed})")
        index = CorpusIndex(index_dir)
        needs = load_needs(data_dir("evals") / "retrieval" / "needs.yaml")
        # needs_blind.yaml was written from titles and source lists without reading the
        # documents, so it shares less wording with them: the more honest figure.
        for name in ("needs.yaml", "needs_blind.yaml"):
            some = load_needs(data_dir("evals") / "retrieval" / name)
            print(f"{name}: {len(some)} needs")
            for mode in ("dense", "bm25", "hybrid"):
                s = evaluate(index, some, mode)
                print(f"{mode:>6}: hit@1 {s.hit_at_1:.3f}  hit@5 {s.hit_at_5:.3f}  MRR {s.mrr:.3f}")
                if "--misses" in sys.argv:
                    for m in s.misses:
                        print(f"        miss: {m}")
        times = []
        for _ in range(3):
            for need in needs:
                t = time.perf_counter()
                index.search(need.need, 5)
                times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"warm query: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({len(times)} queries)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
