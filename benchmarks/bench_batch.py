"""`regen --batch-api` with research: crafter's own time per batch round.

A library drafted with research goes out as one batch per stage, and between batches every
unfinished scenario is replayed locally (retrieval on the full index, prompt rendering, lint). This
measures that local work against a loopback Anthropic Message Batches server that answers at
once, so the figures are crafter's overhead per round, not the provider's hours.

Run: .venv/bin/python benchmarks/bench_batch.py [--scenarios 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the loopback servers live with the tests

from crafter.domain import save_scenario  # noqa: E402
from crafter.pipeline import DraftRequest, draft_scenario  # noqa: E402
from crafter.pipeline.batch import RegenOptions, open_regen  # noqa: E402
from crafter.pipeline.batch_api import BatchOptions, BatchRegen  # noqa: E402
from crafter.providers import RetryPolicy  # noqa: E402
from crafter.providers.anthropic_messages import AnthropicProvider  # noqa: E402
from crafter.providers.scaffold import ScaffoldProvider  # noqa: E402
from crafter.retrieval.index import CorpusIndex  # noqa: E402
from tests.fakes.batch_servers import AnthropicBatchServer, ok  # noqa: E402
from tests.test_pipeline import filled_content  # noqa: E402

SEEDS = [
    "Route questions asked in our #team-{i} Slack channel to the people who can answer them.",
    "Flag card payments at checkout for merchant group {i} that are likely to be disputed.",
    "Predict delivery times for restaurant orders in city {i} at the moment the cart is built.",
    "Recommend channels to new members of workspace {i} in their first week.",
]
CITE = "slack-2016-personalized-channel-recommendations-slack"


def answer(params: dict[str, Any]) -> dict[str, Any]:
    kind = str(params["tools"][0]["description"]).split()[2]
    if kind == "Frame":
        return ok({"questions": [
            {"perspective": p, "question": f"What matters for {p}?", "query": q}
            for p, q in [("product", "route questions to experts"), ("data", "labels from history"),
                         ("modeling", "ranking people by expertise"), ("operations", "fatigue limits")]
        ]})  # fmt: skip
    if kind == "NoteSet":
        return ok({"notes": [{"doc_id": CITE, "note": "Discovery got harder with growth."}]})
    return ok(filled_content([CITE]), output_tokens=1500)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=40)
    args = parser.parse_args()
    index = CorpusIndex()
    t0 = time.perf_counter()
    index.sync()
    print(f"index ready in {time.perf_counter() - t0:.1f}s ({index.dir})")
    with AnthropicBatchServer(polls=0, answer=answer) as server:
        provider = AnthropicProvider(
            "anthropic:claude-sonnet-5-5",
            "claude-sonnet-5-5",
            api_key="bench",
            base_url=server.url,
            policy=RetryPolicy(base_delay=0.01),
        )
        with tempfile.TemporaryDirectory() as tmp:
            lib = Path(tmp)
            for i in range(args.scenarios):
                req = DraftRequest(SEEDS[i % len(SEEDS)].format(i=i), "staff", dt.date(2026, 11, 1))
                save_scenario(
                    draft_scenario(req, ScaffoldProvider()).scenario, lib / f"s{i:03d}.yaml"
                )
            rounds: list[float] = []
            last = [time.perf_counter()]

            def on_status(_: Any) -> None:
                now = time.perf_counter()
                rounds.append(now - last[0])
                last[0] = now

            started = time.perf_counter()
            options = RegenOptions(research=True, rounds=2, concurrency=8)
            with open_regen(lib, options, provider) as session:
                report = BatchRegen(session, BatchOptions(poll_seconds=0.01)).run(
                    on_status=on_status
                )
            total = time.perf_counter() - started
    print(
        f"{args.scenarios} scenarios: {len(report.drafted)} drafted, {len(report.failed)} failed, "
        f"{report.batches} batches, {total:.1f}s in all; cost ${report.cost_usd:.4f} at batch price"
    )
    for n, seconds in enumerate(rounds, start=1):
        print(
            f"  before batch {n}: {seconds:.2f}s replaying = {seconds / args.scenarios * 1000:.0f} ms per scenario"
        )


if __name__ == "__main__":
    main()
