"""TUI time to first paint: from process start to the first frame of the first screen.

Each run starts a fresh interpreter that opens the app headless at 80x24 (as `crafter tui` does,
with the real defaults) and reports when Textual's Ready event fires, i.e. the first frame is
drawn. Also reported: when the model picker is filled in (the core loaded by a worker), and that
no heavy library was imported before the first frame.

Run: .venv/bin/python benchmarks/bench_tui.py [RUNS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("chromadb", "llama_index", "onnxruntime", "openai", "anthropic", "xllamacpp")
CHILD = f"""
import asyncio, json, sys, time
from pathlib import Path

from crafter_tui.app import create_app

app = create_app(Path(sys.argv[1]))
HEAVY = {HEAVY!r}


async def measure(pilot):
    while app.painted_at is None:
        await asyncio.sleep(0.001)
    heavy = [m for m in HEAVY if m in sys.modules]
    picker = app.screen.query_one("#model-picker")
    while picker.model_id is None:  # the worker loading the core fills it in
        await asyncio.sleep(0.005)
    print(json.dumps({{"painted": app.painted_at, "cpu": app.painted_cpu, "core": time.time(),
                       "heavy": heavy}}), flush=True)
    app.exit()


app.run(headless=True, size=(80, 24), auto_pilot=measure)
"""


def one_run(library: str) -> tuple[float, float, list[str], float]:
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, library], check=True, capture_output=True, text=True
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["painted"] - started, data["core"] - started, data["heavy"], data["cpu"]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as library:
        one_run(library)  # warm the OS file cache and .pyc files; not counted
        results = [one_run(library) for _ in range(runs)]
    paint = [r[0] for r in results]
    core = [r[1] for r in results]
    heavy = sorted({m for r in results for m in r[2]})
    print(
        f"crafter tui, first paint: median {statistics.median(paint) * 1000:.0f} ms of {runs} "
        f"(min {min(paint) * 1000:.0f}, max {max(paint) * 1000:.0f}); floor 400 ms"
    )
    cpu = [r[3] for r in results]
    print(
        f"CPU seconds of the process by the first frame (less sensitive to other load): median "
        f"{statistics.median(cpu) * 1000:.0f} ms; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"model picker filled (core loaded in a worker): median {statistics.median(core) * 1000:.0f} ms"
    )
    print(f"heavy modules imported before the first frame: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
