"""`crafter rehearse` at the provider seam: persona-faithful fakes, the verdict, the cache, faults
against the loopback OpenAI and Anthropic servers, CI formats and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crafter.domain import Scenario, load_scenario, to_yaml
from crafter.errors import ProviderError, UsageError
from crafter.evals.formats import FORMATS, render
from crafter.pipeline.rehearsal import Roles, load_personas
from crafter.pipeline.rehearse_run import Rehearsal, Target, choose_roles, rehearse_all
from crafter.providers import FakeProvider, Message, RetryPolicy
from crafter.resources import data_dir
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.loopback import Recorded
from tests.fakes.openai_server import FaultServer
from tests.helpers import run_cli
from tests.rehearsal_fakes import responder

GOOD = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"


def good() -> Scenario:
    return load_scenario(GOOD)


def buzzword_rubric(s: Scenario) -> Scenario:
    rows = [
        r.model_copy(
            update={
                "hire": "Trains a neural network with softmax and cross-entropy and tunes "
                "hyperparameters.",
                "strong_hire": "Handles class imbalance, label noise and overfitting and "
                "watches false positives.",
            }
        )
        for r in s.rubric
    ]
    return s.model_copy(update={"id": "buzzword-rubric", "rubric": rows})


def one_corner(s: Scenario) -> Scenario:
    m = next(r for r in s.rubric if r.signal == "modeling")
    rows = [r.model_copy(update={"hire": m.hire, "strong_hire": m.strong_hire}) for r in s.rubric]
    return s.model_copy(update={"id": "one-corner-rubric", "rubric": rows})


def fake_roles(s: Scenario) -> tuple[Roles, FakeProvider]:
    fake = FakeProvider(default=responder(s))
    return Roles(fake, fake, fake), fake


def run(s: Scenario, tmp: Path, roles: Roles | None = None, **kw: Any) -> Rehearsal:
    roles = roles or fake_roles(s)[0]
    return rehearse_all(
        [Target(f"{s.id}.yaml", s)],
        load_personas(),
        roles,
        cache_root=tmp / "cache",
        runs_root=tmp / "runs",
        **kw,
    )


def checks(out: Rehearsal, severity: str = "error") -> list[str]:
    return [f.check for r in out.report.results for f in r.findings if f.severity == severity]


def test_personas_are_data_with_the_four_kinds() -> None:
    ids = [p.id for p in load_personas()]
    assert ids[:2] == ["strong", "smooth-talker"] and set(ids) == {
        "strong", "smooth-talker", "one-corner", "off-track",
    }  # fmt: skip


def test_a_well_built_scenario_discriminates(tmp_path: Path) -> None:
    s = good()
    roles, fake = fake_roles(s)
    out = run(s, tmp_path, roles)
    assert out.verdicts == {f"{s.id}.yaml": True}, [
        (f.check, f.message) for f in out.report.results[0].findings
    ]
    assert checks(out) == []
    # The grader sees the candidate's words only: no premise, no hook, no interviewer line.
    graded = [c for c in fake.calls if c.messages[0].content.startswith("You grade")]
    assert len(graded) == 4
    for call in graded:
        user = call.messages[-1].content
        assert s.premise[:60] not in user and "Here is a detail" not in user
        assert s.hooks[0].detail[:40] not in user
    # The interviewer opens with the premise (no call) and holds the on_ask facts.
    strong = out.runs[f"{s.id}.yaml"]["strong"]
    assert strong.turns[0].speaker == "interviewer" and strong.turns[0].text.startswith(s.premise)
    assert any(t.revealed for t in strong.turns)
    folder = out.folder
    assert folder is not None
    saved = json.loads((folder.path / s.id / "smooth-talker.json").read_text())
    assert saved["scores"]["data"]["level"] in ("no_hire", "lean_hire")
    assert (folder.path / s.id / "strong.md").read_text().startswith(f"# {s.id}: strong")
    meta = json.loads((folder.path / "run.json").read_text())
    assert meta["status"] == "finished" and len(meta["usage"]) == 4
    assert all(row["input_tokens"] > 0 for row in meta["usage"])


def test_a_buzzword_rubric_does_not_discriminate(tmp_path: Path) -> None:
    out = run(buzzword_rubric(good()), tmp_path)
    assert list(out.verdicts.values()) == [False]
    errors = [f for r in out.report.results for f in r.findings if f.severity == "error"]
    smooth = [f for f in errors if f.check == "rehearsal.smooth-talker"]
    assert len(smooth) == 6 and "rehearsal.verdict" in [f.check for f in errors]
    assert smooth[0].location.startswith("rubric[0]")
    assert "smooth-talker on problem framing" in smooth[0].evidence and '"' in smooth[0].evidence


def test_a_one_corner_scenario_is_caught(tmp_path: Path) -> None:
    out = run(one_corner(good()), tmp_path)
    caught = [
        f for r in out.report.results for f in r.findings if f.check == "rehearsal.one-corner"
    ]
    assert caught and all(f.severity == "error" for f in caught)
    assert {f.location.split(" ")[0] for f in caught} >= {"rubric[0]", "rubric[1]"}
    assert list(out.verdicts.values()) == [False]


def test_the_cache_holds_a_rerun_makes_no_call(tmp_path: Path) -> None:
    s = good()
    roles, fake = fake_roles(s)
    first = run(s, tmp_path, roles)
    made = len(fake.calls)
    assert first.live_calls == made > 0
    again = run(s, tmp_path, roles)
    assert len(fake.calls) == made and again.live_calls == 0
    assert again.verdicts == first.verdicts
    # Tokens per persona are still reported from the cached record.
    row = again.runs[f"{s.id}.yaml"]["strong"].log
    assert row.usage.input_tokens == first.runs[f"{s.id}.yaml"]["strong"].log.usage.input_tokens
    # A changed scenario is a different rehearsal.
    edited = s.model_copy(update={"premise": s.premise + " Shoppers are paid per order."})
    run(edited, tmp_path, fake_roles(edited)[0])


def test_every_ci_format_carries_rehearsal_findings(tmp_path: Path) -> None:
    out = run(buzzword_rubric(good()), tmp_path)
    for fmt in FORMATS:
        text = render(out.report, fmt, "error")
        assert "rehearsal.smooth-talker" in text, fmt
    sarif = json.loads(render(out.report, "sarif"))
    assert any(r["ruleId"] == "rehearsal.verdict" for r in sarif["runs"][0]["results"])
    assert "<failure" in render(out.report, "junit")
    assert "::error file=buzzword-rubric.yaml" in render(out.report, "github")


def test_a_failing_persona_is_marked_and_the_others_finish(tmp_path: Path) -> None:
    s = good()
    respond = responder(s)

    def flaky(messages: Any, schema: Any) -> Any:
        if "Persona: off-track" in messages[0].content:
            raise ProviderError("test: the provider failed after 4 attempts")
        return respond(messages, schema)

    fake = FakeProvider(default=flaky)
    out = run(s, tmp_path, Roles(fake, fake, fake), concurrency=3)
    runs = out.runs[f"{s.id}.yaml"]
    assert runs["off-track"].status == "failed" and "4 attempts" in runs["off-track"].error
    assert all(runs[p].status == "ok" for p in ("strong", "smooth-talker", "one-corner"))
    assert "rehearsal.failed" in checks(out) and out.verdicts[f"{s.id}.yaml"] is True


def _messages(body: Any) -> list[Message]:
    out = []
    if isinstance(body.get("system"), str):
        out.append(Message("system", body["system"]))
    elif isinstance(body.get("system"), list):
        out.append(Message("system", "".join(b["text"] for b in body["system"])))
    for m in body["messages"]:
        content = m["content"]
        if isinstance(content, list):
            content = "".join(b.get("text", "") for b in content)
        out.append(Message(m["role"], content))
    return out


def _schema(messages: list[Message]) -> Any:
    from crafter.pipeline.rehearsal import CandidateTurn, GraderReport, InterviewerTurn

    system = messages[0].content
    if system.startswith("You are the interviewer"):
        return InterviewerTurn
    return CandidateTurn if system.startswith("You are playing") else GraderReport


def test_a_fault_mid_rehearsal_resumes_without_asking_again(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    from crafter.providers.openai_chat import OpenAIChatProvider

    s = good()
    respond = responder(s)
    answered: list[str] = []
    state = {"n": 0, "broken": True}

    def serve(request: Recorded) -> Any:
        state["n"] += 1
        if state["broken"] and 15 <= state["n"] < 30:
            return {"status": 500, "retry_after": "0"}
        messages = _messages(request.body)
        answered.append(json.dumps(request.body["messages"]))
        return {"ok": respond(messages, _schema(messages))}

    fault_server.default = serve
    provider = OpenAIChatProvider(
        "openai-compatible:test", "test-model", api_key="k", base_url=fault_server.base_url,
        strict=False, policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
    )  # fmt: skip
    roles = Roles(provider, provider, provider)
    first = run(s, tmp_path, roles, concurrency=1)
    assert first.failed >= 1
    assert json.loads((first.folder.path / "run.json").read_text())["status"] == "failed"  # type: ignore[union-attr]
    done_first = list(answered)
    state["broken"] = False
    second = run(s, tmp_path, roles, concurrency=1)
    assert second.failed == 0 and list(second.verdicts.values()) == [True]
    asked_again = answered[len(done_first) :]
    assert asked_again and not set(asked_again) & set(done_first)
    assert second.live_calls == len(asked_again)


def test_anthropic_loopback_rehearses_and_retries(
    anthropic_server: AnthropicServer, tmp_path: Path
) -> None:
    from crafter.providers.anthropic_messages import AnthropicProvider

    s = good()
    respond = responder(s)
    state = {"n": 0}

    def serve(request: Recorded) -> Any:
        state["n"] += 1
        if state["n"] == 3:
            return {"status": 529, "retry_after": "0"}
        messages = _messages(request.body)
        return {"tool": respond(messages, _schema(messages))}

    anthropic_server.default = serve
    provider = AnthropicProvider(
        "anthropic:claude-test", "claude-test", api_key="k", base_url=anthropic_server.url,
        policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
    )  # fmt: skip
    out = rehearse_all(
        [Target("good.yaml", s)],
        load_personas()[:2],
        Roles(provider, provider, provider),
        cache_root=tmp_path / "cache",
        concurrency=2,
    )
    assert out.failed == 0 and out.verdicts == {"good.yaml": True}


def test_models_that_cannot_rehearse_are_refused() -> None:
    with pytest.raises(UsageError) as err:
        choose_roles(None)
    assert "scaffold" in err.value.message and "--model" in (err.value.hint or "")
    with pytest.raises(UsageError) as err:
        choose_roles("openai:gpt-test", grader_model="local:smollm2")
    assert "--grader-model local:smollm2" in err.value.message


def test_cli_bad_input_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    res = run_cli("rehearse", str(GOOD))
    assert res.returncode == 2 and "scaffold" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("rehearse", str(GOOD), "--model", "local:smollm2")
    assert res.returncode == 2 and "smollm2" in res.stderr
    data = good().model_dump(mode="json")
    data["rubric"] = []
    bad = tmp_path / "no-rubric.yaml"
    bad.write_text(json.dumps(data))
    res = run_cli("rehearse", str(bad), "--model", "openai:gpt-test")
    assert res.returncode == 2 and "no rubric rows" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_cli("rehearse", str(tmp_path / "missing.yaml"), "--model", "openai:gpt-test")
    assert res.returncode == 2


def test_cli_runs_against_the_loopback_server(fault_server: FaultServer, tmp_path: Path) -> None:
    s = good()
    respond = responder(s)

    def serve(request: Recorded) -> Any:
        messages = _messages(request.body)
        return {"ok": respond(messages, _schema(messages))}

    fault_server.default = serve
    path = tmp_path / "good.yaml"
    path.write_text(to_yaml(s))
    env = {"CRAFTER_BASE_URL": fault_server.base_url}
    args = (
        "rehearse",
        str(path),
        "--model",
        "openai-compatible:test",
        "--runs",
        str(tmp_path / "runs"),
    )
    res = run_cli(*args, "--format", "json", env=env)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["results"][0]["scores"]["rehearsal.discriminates"] == 1.0
    assert "strong: ok" in res.stderr and "tokens" in res.stderr
    calls = len(fault_server.requests)
    again = run_cli(*args, env=env)
    assert again.returncode == 0 and len(fault_server.requests) == calls
    assert "(0 asked now)" in again.stderr
