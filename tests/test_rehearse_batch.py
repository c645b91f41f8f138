"""`crafter rehearse --batch-api` against the loopback OpenAI Batch and Anthropic Message Batches
servers (the real SDKs), and `--concurrency` from crafter.toml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crafter.domain import Scenario, to_yaml
from crafter.errors import UsageError
from crafter.pipeline.batch_api import BatchOptions
from crafter.pipeline.rehearsal import Roles, load_personas
from crafter.pipeline.rehearse_run import Target, default_concurrency, rehearse_all
from crafter.providers import FakeProvider, Provider, RetryPolicy
from tests.fakes.batch_servers import AnthropicBatchServer, OpenAIBatchServer, errored, ok
from tests.fakes.loopback import Recorded
from tests.fakes.openai_server import FaultServer
from tests.helpers import run_cli
from tests.rehearsal_fakes import responder
from tests.test_rehearse import _messages, _schema, buzzword_rubric, good

POLICY = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
TURNS = 6  # six candidate answers, five interviewer turns, the grader: twelve rounds


def variant(s: Scenario) -> Scenario:
    """The buzzword-rubric scenario with its own premise, so its requests are its own."""
    b = buzzword_rubric(s)
    return b.model_copy(update={"premise": b.premise + " Variant B."})


def answer_for(*scenarios: Scenario) -> Any:
    """Answer a batch item as the persona-faithful fakes would for the scenario it is about
    (found by its premise, or for the grader by its rubric; the most specific listed first)."""
    keys = [((x.premise[-40:], x.rubric[0].hire[:50]), responder(x)) for x in scenarios]

    def answer(body: dict[str, Any]) -> Any:
        messages = _messages(body)
        text = json.dumps(body, ensure_ascii=False)
        respond = next((r for ks, r in keys if any(json.dumps(k)[1:-1] in text for k in ks)))
        return ok(respond(messages, _schema(messages)))

    return answer


def openai_provider(server: OpenAIBatchServer) -> Provider:
    from crafter.providers.openai_chat import OpenAIChatProvider

    return OpenAIChatProvider(
        "openai:gpt-4o-mini", "gpt-4o-mini", api_key="test-key", base_url=server.base_url,
        policy=POLICY,
    )  # fmt: skip


def anthropic_provider(server: AnthropicBatchServer) -> Provider:
    from crafter.providers.anthropic_messages import AnthropicProvider

    return AnthropicProvider(
        "anthropic:claude-sonnet-5-5", "claude-sonnet-5-5", api_key="test-key", base_url=server.url,
        policy=POLICY,
    )  # fmt: skip


@pytest.fixture
def openai_batch() -> Iterator[OpenAIBatchServer]:
    s = good()
    with OpenAIBatchServer(polls=1, answer=answer_for(variant(s), s)) as server:
        yield server


def creates(server: OpenAIBatchServer | AnthropicBatchServer) -> int:
    path = "/v1/batches" if isinstance(server, OpenAIBatchServer) else "/v1/messages/batches"
    return len(server.calls("POST", path))


def run(targets: list[Target], provider: Provider, tmp: Path, **kw: Any) -> Any:
    kw.setdefault("batch", BatchOptions(poll_seconds=0.01))
    kw.setdefault("turns", TURNS)
    return rehearse_all(
        targets, kw.pop("personas", load_personas()), Roles(provider, provider, provider),
        cache_root=tmp / "cache", runs_root=tmp / "runs", **kw,
    )  # fmt: skip


def test_each_round_is_one_batch_across_scenarios_and_personas(
    openai_batch: OpenAIBatchServer, tmp_path: Path
) -> None:
    s = good()
    targets = [Target("good.yaml", s), Target("buzz.yaml", variant(s))]
    provider = openai_provider(openai_batch)
    out = run(targets, provider, tmp_path)
    assert out.failed == 0 and out.waiting == ()
    assert out.verdicts == {"good.yaml": True, "buzz.yaml": False}
    assert out.batches == creates(openai_batch) == 2 * TURNS
    sizes = [len(openai_batch.input_lines(b)) for b in openai_batch.batches]
    assert sizes == [8] * (2 * TURNS)  # 2 scenarios x 4 personas in every round
    meta = json.loads((out.folder.path / "run.json").read_text())
    assert meta["status"] == "finished" and meta["batches"] == 2 * TURNS
    # The answers are in the rehearsal cache: a live rerun of the same models asks nothing.
    live = FakeProvider(model_id=provider.model_id)
    again = run(targets, live, tmp_path, batch=None)
    assert live.calls == [] and again.verdicts == out.verdicts and again.live_calls == 0


def test_anthropic_message_batches(tmp_path: Path) -> None:
    s = good()
    with AnthropicBatchServer(polls=2, answer=answer_for(s)) as server:
        out = run([Target("good.yaml", s)], anthropic_provider(server), tmp_path,
                  personas=load_personas()[:2])  # fmt: skip
        assert out.failed == 0 and out.verdicts == {"good.yaml": True}
        assert out.batches == creates(server) == 2 * TURNS


def test_no_wait_then_rerun_collects_and_never_resends(tmp_path: Path) -> None:
    s = good()
    with OpenAIBatchServer(polls=2, answer=answer_for(s)) as server:
        provider = openai_provider(server)
        targets = [Target("good.yaml", s)]
        states = []
        for _ in range(20):
            out = run(targets, provider, tmp_path, batch=BatchOptions(0.01, wait=False), turns=1)
            states.append(len(out.waiting))
            if not out.waiting:
                break
            assert out.verdicts == {"good.yaml": None}
        # One answer and the grade: two rounds, each sent once however many reruns it took.
        assert states[-1] == 0 and len(states) > 2
        assert out.failed == 0 and out.verdicts["good.yaml"] is not None
        assert creates(server) == 2


def test_a_failed_item_fails_its_persona_and_the_rest_finish(tmp_path: Path) -> None:
    s = good()
    answer = answer_for(s)

    def flaky(body: dict[str, Any]) -> Any:
        if "Persona: off-track" in json.dumps(body):
            return errored("the request was invalid")
        return answer(body)

    with OpenAIBatchServer(polls=1, answer=flaky) as server:
        out = run([Target("good.yaml", s)], openai_provider(server), tmp_path)
    runs = out.runs["good.yaml"]
    assert runs["off-track"].status == "failed" and "invalid" in runs["off-track"].error
    assert all(runs[p].status == "ok" for p in ("strong", "smooth-talker", "one-corner"))
    assert out.verdicts == {"good.yaml": True}


def test_a_provider_without_a_batch_api_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        run([Target("good.yaml", good())], FakeProvider(model_id="openai-x:y"), tmp_path)
    assert "no batch API" in err.value.message


def test_concurrency_comes_from_crafter_toml(fault_server: FaultServer, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    s = good()
    (lib / "good.yaml").write_text(to_yaml(s))
    assert default_concurrency([Target(str(lib / "good.yaml"), s)]) == (4, "the default")
    (lib / "crafter.toml").write_text("concurrency = 2\n")
    n, source = default_concurrency([Target(str(lib / "good.yaml"), s)])
    assert n == 2 and source.endswith("crafter.toml")

    respond = responder(s)

    def serve(request: Recorded) -> Any:
        messages = _messages(request.body)
        return {"ok": respond(messages, _schema(messages))}

    fault_server.default = serve
    env = {"CRAFTER_BASE_URL": fault_server.base_url, "CRAFTER_CACHE_DIR": str(tmp_path / "c")}
    args = ("rehearse", str(lib), "--model", "openai-compatible:test", "--turns", "1",
            "--runs", str(tmp_path / "runs"), "--fail-on", "never")  # fmt: skip
    res = run_cli(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert "concurrency 2 (concurrency in" in res.stderr
    res = run_cli(*args, "--no-wait", env=env)
    assert res.returncode == 2 and "--batch-api" in res.stderr
    (lib / "crafter.toml").write_text("concurrency = 0\n")
    res = run_cli(*args, env=env)
    assert res.returncode == 2 and "crafter.toml" in res.stderr and "Traceback" not in res.stderr


def test_cli_batch_api(openai_batch: OpenAIBatchServer, tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(to_yaml(good()))
    env = {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": openai_batch.base_url,
        "CRAFTER_CACHE_DIR": str(tmp_path / "cache"),
    }
    args = ("rehearse", str(path), "--model", "openai:gpt-4o-mini", "--batch-api",
            "--poll-interval", "0.01", "--turns", "1", "--persona", "strong",
            "--runs", str(tmp_path / "runs"), "--fail-on", "never")  # fmt: skip
    res = run_cli(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert "submitted 2 batch(es)" in res.stderr and "Traceback" not in res.stderr
    assert creates(openai_batch) == 2
    again = run_cli(*args, env=env)
    assert again.returncode == 0 and creates(openai_batch) == 2
    assert "(0 asked now)" in again.stderr
