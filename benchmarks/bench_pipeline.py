"""Per-stage tokens and wall time of the staged pipeline, with the scaffold and the local model.

Uses the default index (built first if missing). Run: .venv/bin/python benchmarks/bench_pipeline.py
[--skip-local]
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from crafter.pipeline import PipelineConfig, run_pipeline
from crafter.providers import build_provider
from crafter.retrieval.index import CorpusIndex

SEED = "Route questions asked in our #ask-eng Slack channel to the people who can answer them."


def show(label: str, model: str, index: CorpusIndex, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        config = PipelineConfig(model=build_provider(model), index=index, rounds=rounds)
        result = run_pipeline(SEED, "staff", dt.date.today(), config, runs_root=Path(tmp))
        total = time.perf_counter() - started
    print(f"{label} ({model}, rounds={rounds}): {total:.1f}s total")
    for r in result.records:
        print(f"  {r.name:<12} {r.input_tokens:>6} in {r.output_tokens:>6} out  {r.seconds:6.2f}s")


def main() -> None:
    index = CorpusIndex()
    started = time.perf_counter()
    index.ensure_built()
    print(f"index ready in {time.perf_counter() - started:.1f}s")
    show("scaffold", "scaffold", index, 2)
    if "--skip-local" not in sys.argv:
        show("local model", "local:smollm2", index, 1)


if __name__ == "__main__":
    main()
