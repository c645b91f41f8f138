"""Rehearsal throughput: 20 scenarios x 4 personas at concurrency 8 against a loopback OpenAI
server with a fixed latency per call. Reports the wall time against the ideal
(calls x latency / concurrency) and the ratio; the target is 1.2x or less.

Run: .venv/bin/python benchmarks/bench_rehearse.py [--latency 0.05] [--turns 6]

Where the fixed cost per call went (2026-12, 2 shared cores, load average 7; one thread, no
latency, 72 calls): 75 ms a call at first. The loopback server wrote headers and body in two
writes with Nagle on, so each body waited for the client's delayed ACK (~40 ms; real API servers
do not stall so): 34 ms. An fsync per cached call (the cache treats a damaged entry as missing,
so entries need atomic renames, not fsyncs; ~13 ms), the response schema rebuilt on every call
and the SDK's type-driven transform of the messages (~5 ms of CPU each): 21 ms. At 200 ms latency
the ratio went from 1.37-1.51x to 1.20x.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the loopback servers and fakes live with the tests

from crafter.domain import load_scenario  # noqa: E402
from crafter.pipeline.rehearsal import Roles, load_personas  # noqa: E402
from crafter.pipeline.rehearse_run import Target, rehearse_all  # noqa: E402
from crafter.providers import RetryPolicy  # noqa: E402
from crafter.providers.openai_chat import OpenAIChatProvider  # noqa: E402
from crafter.resources import data_dir  # noqa: E402
from tests.fakes.loopback import Recorded  # noqa: E402
from tests.fakes.openai_server import FaultServer  # noqa: E402
from tests.rehearsal_fakes import responder  # noqa: E402
from tests.test_rehearse import _messages, _schema  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--scenarios", type=int, default=20)
    args = parser.parse_args()
    base = load_scenario(data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml")
    targets = [
        Target(f"s{i:02d}.yaml", base.model_copy(update={"id": f"grocery-{i:02d}"}))
        for i in range(args.scenarios)
    ]
    respond = responder(base)

    def serve(request: Recorded) -> Any:
        messages = _messages(request.body)
        return {"ok": respond(messages, _schema(messages))}

    with FaultServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.default = serve
        server.latency = args.latency
        provider = OpenAIChatProvider(
            "openai-compatible:bench", "bench", api_key="k", base_url=server.base_url,
            strict=False, policy=RetryPolicy(max_attempts=2, base_delay=0.01),
        )  # fmt: skip
        start = time.perf_counter()
        out = rehearse_all(
            targets,
            load_personas(),
            Roles(provider, provider, provider),
            cache_root=Path(tmp) / "cache",
            turns=args.turns,
            concurrency=args.concurrency,
        )
        wall = time.perf_counter() - start
        calls = len(server.requests)
        start = time.perf_counter()
        rehearse_all(
            targets, load_personas(), Roles(provider, provider, provider),
            cache_root=Path(tmp) / "cache", turns=args.turns, concurrency=args.concurrency,
        )  # fmt: skip
        cached = time.perf_counter() - start
        rerun_calls = len(server.requests) - calls
    ideal = calls * args.latency / args.concurrency
    print(
        json.dumps(
            {
                "scenarios": args.scenarios,
                "personas": len(load_personas()),
                "concurrency": args.concurrency,
                "latency_s": args.latency,
                "calls": calls,
                "failed": out.failed,
                "wall_s": round(wall, 2),
                "ideal_s": round(ideal, 2),
                "ratio": round(wall / ideal, 3),
                "cached_rerun_s": round(cached, 2),
                "cached_rerun_calls": rerun_calls,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
