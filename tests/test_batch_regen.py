"""`crafter regen --batch-api` against loopback servers speaking the OpenAI Batch API and Anthropic
Message Batches, driven by the real SDKs: submit, poll, resume, collect."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter.domain import load_scenario
from crafter.domain.library import list_scenario_files
from crafter.pipeline.batch import RegenOptions, open_regen
from crafter.pipeline.batch_api import BatchOptions, BatchRegen
from crafter.pipeline.regen_journal import JOURNAL_NAME
from crafter.pipeline.regen_run import RegenReport
from crafter.providers import RetryPolicy
from crafter.providers.anthropic_messages import AnthropicProvider
from crafter.providers.batches import batch_backend
from crafter.providers.openai_chat import OpenAIChatProvider
from crafter.providers.pricing import price_table
from crafter.resources import data_dir
from tests.fakes.batch_servers import (
    AnthropicBatchServer,
    OpenAIBatchServer,
    expired,
    ok,
    text,
)
from tests.helpers import content_dict, floor_for_a_small_corpus, run_cli
from tests.test_batch import make_library, seed
from tests.test_pipeline import filled_content

pytestmark = pytest.mark.integration

POLICY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, timeout=10.0)
PLAIN = {"research": False, "rounds": 0}
_TEAM = re.compile(r"#team-(\d+)")
CITE = "slack-2016-personalized-channel-recommendations-slack"


def team(body: dict[str, Any]) -> int:
    """The seed number in a request (OpenAI messages or Anthropic system + messages)."""
    parts = [str(body.get("system", ""))] + [str(m["content"]) for m in body["messages"]]
    m = _TEAM.search("\n".join(parts))
    assert m, "every drafting prompt carries its seed"
    return int(m.group(1))


def draft_for(n: int) -> dict[str, Any]:
    data = {**content_dict(seed(n)), "reference_reasons": []}
    data["title"] = f"Routing for team {n}"
    return data


def schema_of(body: dict[str, Any]) -> str:
    if "tools" in body:  # Anthropic: "Submit the <Schema> as structured data."
        return str(body["tools"][0]["description"]).split()[2]
    return str(body["response_format"]["json_schema"]["name"])


def openai(server: OpenAIBatchServer) -> OpenAIChatProvider:
    return OpenAIChatProvider(
        "openai:gpt-5.4-mini", "gpt-5.4-mini", api_key="k", base_url=server.base_url, policy=POLICY
    )


def anthropic(server: AnthropicBatchServer) -> AnthropicProvider:
    return AnthropicProvider(
        "anthropic:claude-sonnet-5-5",
        "claude-sonnet-5-5",
        api_key="k",
        base_url=server.url,
        policy=POLICY,
    )


@pytest.fixture
def oai() -> Iterator[OpenAIBatchServer]:
    server = OpenAIBatchServer(polls=1, answer=lambda body: ok(draft_for(team(body))))
    with server:
        yield server


@pytest.fixture
def ant() -> Iterator[AnthropicBatchServer]:
    server = AnthropicBatchServer(polls=1)
    with server:
        yield server


def batch_regen(
    lib: Path, provider: Any, *, wait: bool = True, on_status: Any = None, **options: Any
) -> RegenReport:
    with open_regen(lib, RegenOptions(**{**PLAIN, **options}), provider) as session:
        runner = BatchRegen(session, BatchOptions(poll_seconds=0.01, wait=wait))
        return runner.run(on_status=on_status)


def creates(server: OpenAIBatchServer | AnthropicBatchServer) -> int:
    path = r"/v1/batches" if isinstance(server, OpenAIBatchServer) else r"/v1/messages/batches"
    return len(server.calls("POST", path))


def journal(lib: Path) -> list[dict[str, Any]]:
    lines = (lib / ".crafter" / JOURNAL_NAME).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_openai_batch_drafts_the_library_at_half_price_and_a_rerun_sends_nothing(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 5)
    report = batch_regen(lib, openai(oai))
    assert len(report.drafted) == 5 and not report.failed and report.batches == 1
    assert report.exit_code == 0 and report.waiting == ()
    batch_id = next(iter(oai.batches))
    lines = oai.input_lines(batch_id)
    assert len(lines) == 5
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    assert {line["body"]["model"] for line in lines} == {"gpt-5.4-mini"}
    assert sorted(team(line["body"]) for line in lines) == list(range(5))
    live = price_table().cost("openai:gpt-5.4-mini", 100, 50)
    assert live is not None
    for path in list_scenario_files(lib):
        s = load_scenario(path)
        assert s.provenance.model == "openai:gpt-5.4-mini"
        assert s.title == f"Routing for team {_TEAM.search(s.seed).group(1)}"  # type: ignore[union-attr]
        assert (s.provenance.input_tokens, s.provenance.output_tokens) == (100, 50)
        assert s.provenance.cost_usd == pytest.approx(live / 2, abs=1e-6)

    assert not (lib / ".crafter" / "batch" / "replies.jsonl").exists(), "all answers are in files"
    seen = len(oai.requests)
    again = batch_regen(lib, openai(oai))
    assert again.batches == 0 and again.plan.count("fresh") == 5
    assert len(oai.requests) == seen, "nothing changed: no request at all"


def test_anthropic_batches_with_research_take_one_batch_per_stage(
    tmp_path: Path, ant: AnthropicBatchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    floor_for_a_small_corpus(monkeypatch)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in (CITE, "slack-2021-blocking-slack-invite-spam-machine"):
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", corpus)
    monkeypatch.setenv("CRAFTER_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("CRAFTER_INDEX_DIR", str(tmp_path / "index"))

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        kind = schema_of(params)
        if kind == "Frame":
            return ok({"questions": [{"perspective": "product", "question": "Who answers?",
                                      "query": "route questions to experts in slack"}]})  # fmt: skip
        if kind == "NoteSet":
            return ok({"notes": [{"doc_id": CITE, "note": "Discovery got harder with growth."}]})
        assert kind == "DraftOutput", kind
        data = filled_content([CITE])
        data["title"] = f"Routing for team {team(params)}"
        return ok(data)

    ant.answer = answer
    lib = tmp_path / "lib"
    make_library(lib, 3)
    report = batch_regen(lib, anthropic(ant), research=True, rounds=2)
    assert len(report.drafted) == 3, [o.error for o in report.failed]
    assert report.batches == 3 and creates(ant) == 3  # frame, notes, draft; clean: no revision
    for path in list_scenario_files(lib):
        s = load_scenario(path)
        assert [r.id for r in s.references] == [CITE]
        assert s.provenance.prompt_version.startswith("frame@1+notes@2+draft@3")
        assert s.provenance.input_tokens == 300  # three answers of 100 input tokens each


def test_no_wait_submits_then_a_rerun_collects_without_sending_again(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    oai.polls = 3
    lib = tmp_path / "lib"
    paths = make_library(lib, 4)
    before = [p.read_bytes() for p in paths]
    first = batch_regen(lib, openai(oai), wait=False)
    assert len(first.waiting) == 1 and first.outcomes == [] and creates(oai) == 1
    assert [p.read_bytes() for p in paths] == before, "nothing is written before answers come"
    second = batch_regen(lib, openai(oai), wait=False)  # still in progress: nothing new sent
    assert second.waiting == first.waiting and creates(oai) == 1
    assert second.plan.resumed is not None
    third = batch_regen(lib, openai(oai))
    assert len(third.drafted) == 4 and third.waiting == () and creates(oai) == 1
    events = journal(lib)
    assert [e["event"] for e in events].count("start") == 1, "one run, resumed twice"
    assert [e["event"] for e in events].count("batch-submitted") == 1
    assert events[-1]["event"] == "end"


def test_ctrl_c_while_polling_leaves_the_batch_and_a_rerun_collects_it(
    tmp_path: Path, ant: AnthropicBatchServer
) -> None:
    ant.answer = lambda params: ok(draft_for(team(params)))
    ant.polls = 2
    lib = tmp_path / "lib"
    make_library(lib, 3)

    def interrupt(status: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch_regen(lib, anthropic(ant), on_status=interrupt)
    assert creates(ant) == 1
    report = batch_regen(lib, anthropic(ant))
    assert len(report.drafted) == 3 and creates(ant) == 1, "the batch at the provider was reused"


def test_failed_items_fail_their_scenario_and_a_rerun_resends_only_those(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 4)
    oai.answer = lambda body: expired() if team(body) == 2 else ok(draft_for(team(body)))
    report = batch_regen(lib, openai(oai))
    assert len(report.drafted) == 3 and [o.item.rel for o in report.failed] == ["s02.yaml"]
    assert "expired" in report.failed[0].error and report.exit_code == 1
    kept = (lib / ".crafter" / "batch" / "replies.jsonl").read_text().count('"id"')
    assert kept == 3, "answers are kept while a scenario still needs redrafting"
    oai.answer = lambda body: ok(draft_for(team(body)))
    report = batch_regen(lib, openai(oai))
    assert len(report.drafted) == 1 and report.batches == 1
    newest = list(oai.batches)[-1]
    assert [team(line["body"]) for line in oai.input_lines(newest)] == [2]


def test_an_unusable_answer_is_reasked_in_the_next_batch(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 3)

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        n = team(body)
        reask = body["messages"][-1]["role"] == "user" and "not valid JSON" in str(
            body["messages"][-1]["content"]
        )
        return text("Sure, here it is!") if n == 1 and not reask else ok(draft_for(n))

    oai.answer = answer
    report = batch_regen(lib, openai(oai))
    assert len(report.drafted) == 3 and report.batches == 2
    second = list(oai.batches)[-1]
    assert [team(line["body"]) for line in oai.input_lines(second)] == [1]


def test_a_failed_batch_fails_its_scenarios(tmp_path: Path, oai: OpenAIBatchServer) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 2)
    oai.batch_errors = [{"code": "invalid_json_line", "message": "line 1 is not valid JSON"}]
    report = batch_regen(lib, openai(oai))
    assert len(report.failed) == 2 and report.exit_code == 1
    assert "the batch failed" in report.failed[0].error
    assert (
        "invalid_json_line" in report.failed[0].error or "not valid JSON" in report.failed[0].error
    )
    assert creates(oai) == 1, "a failed batch is not resent in a loop"


def test_cli_batch_api_end_to_end_and_its_usage_errors(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 3)
    env = {"CRAFTER_BASE_URL": oai.base_url}
    flags = ["--no-research", "--rounds", "0", "--model", "openai-compatible:test"]
    res = run_cli("regen", str(lib), *flags, "--batch-api", "--poll-interval", "0.05", env=env)
    assert res.returncode == 0, res.stderr
    assert "3 drafted" in res.stderr and "submitted 1 batch(es) through openai" in res.stderr
    assert len(oai.batches) == 1

    for args, expect in [
        (["--model", "scaffold", "--force", "--batch-api"], "batch"),
        (["--model", "openai-compatible:test", "--no-wait"], "--no-wait only applies"),
    ]:
        before = {p: p.read_bytes() for p in list_scenario_files(lib)}
        res = run_cli("regen", str(lib), "--no-research", *args, env=env)
        assert res.returncode == 2, (res.stdout, res.stderr)
        assert expect in res.stderr and "Traceback" not in res.stderr
        assert {p: p.read_bytes() for p in list_scenario_files(lib)} == before


def test_kill_9_while_polling_then_rerun_collects_the_same_batch(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 3)
    oai.polls = 1_000_000  # never ends until the test says so
    args = [
        "regen",
        str(lib),
        "--no-research",
        "--rounds",
        "0",
        "--model",
        "openai-compatible:test",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "crafter", *args, "--batch-api", "--poll-interval", "0.05"],
        env={**os.environ, "CRAFTER_BASE_URL": oai.base_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(oai.calls("GET", r"/v1/batches/[^/]+")) < 3:
            assert proc.poll() is None, "regen ended before the kill"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert creates(oai) == 1
    for batch in oai.batches.values():
        batch["polls_left"] = 0
    res = run_cli(
        *args, "--batch-api", "--poll-interval", "0.05", env={"CRAFTER_BASE_URL": oai.base_url}
    )
    assert res.returncode == 0, res.stderr
    assert (
        "collecting batch(es) already at the provider" in res.stderr and "3 drafted" in res.stderr
    )
    assert creates(oai) == 1, "the killed run's batch was collected, not sent again"
    assert all(
        load_scenario(p).provenance.model == "openai-compatible:test"
        for p in list_scenario_files(lib)
    )


def test_killed_between_submit_and_journal_the_rerun_finds_the_batch_by_its_token(
    tmp_path: Path, oai: OpenAIBatchServer
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 3)
    provider = openai(oai)
    backend = batch_backend(provider)

    class DiesAfterSubmit:
        """The real backend, but the process 'dies' once the batch exists, before its id is
        journalled."""

        def __getattr__(self, name: str) -> Any:
            return getattr(backend, name)

        def submit(self, requests: Any, **kw: Any) -> str:
            backend.submit(requests, **kw)
            raise KeyboardInterrupt

    with open_regen(lib, RegenOptions(**PLAIN), provider) as session:
        runner = BatchRegen(session, BatchOptions(poll_seconds=0.01), backend=DiesAfterSubmit())  # type: ignore[arg-type]
        with pytest.raises(KeyboardInterrupt):
            runner.run()
    assert creates(oai) == 1
    assert [e["event"] for e in journal(lib)][-1] == "batch-submitting"
    report = batch_regen(lib, openai(oai))
    assert len(report.drafted) == 3 and creates(oai) == 1, "found by its token, not sent again"
    assert any(e.get("recovered") for e in journal(lib))
