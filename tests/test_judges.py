"""LLM judges: majority vote, the verdict cache, findings ids; fake provider and loopback server."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crafter.evals.findings import FileResult
from crafter.evals.judges import JUDGES, JudgeVerdict, judge_findings, run_judge
from crafter.providers import FakeProvider
from crafter.resources import data_dir
from tests.fakes.openai_server import FaultServer
from tests.helpers import run_cli

DAY = dt.date(2026, 11, 1)
TEXT = "Design a recommendation system."


def verdict(v: str, score: int) -> dict[str, object]:
    return {"score": score, "verdict": v, "reasons": [f"{v} because"], "evidence": "design a"}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFTER_CACHE_DIR", str(tmp_path / "cache"))


def test_majority_vote_and_ties_fail() -> None:
    fake = FakeProvider().queue(verdict("pass", 4), verdict("fail", 2), verdict("fail", 1))
    out = run_judge("specificity", TEXT, fake, votes=3, as_of=DAY)
    assert out.verdict == "fail" and out.score == 2 and out.votes == 3
    assert len(fake.calls) == 3 and fake.calls[0].schema is JudgeVerdict
    assert (
        "<question>\nDesign a recommendation system.\n</question>"
        in fake.calls[0].messages[-1].content
    )
    tie = FakeProvider().queue(verdict("pass", 4), verdict("fail", 3))
    assert run_judge("freshness", TEXT, tie, votes=2, as_of=DAY).verdict == "fail"


def test_verdicts_are_cached_by_content_model_and_prompt_version() -> None:
    fake = FakeProvider(default=verdict("pass", 5))
    first = run_judge("ml_depth", TEXT, fake, as_of=DAY)
    again = run_judge("ml_depth", TEXT, fake, as_of=DAY)
    assert not first.cached and again.cached and len(fake.calls) == 1
    run_judge("ml_depth", TEXT + " ", fake, as_of=DAY)  # new content: a new call
    other_model = FakeProvider(default=verdict("pass", 5), model_id="fake:other")
    run_judge("ml_depth", TEXT, other_model, as_of=DAY)
    assert len(fake.calls) == 2 and len(other_model.calls) == 1


def test_findings_use_judge_ids() -> None:
    fake = FakeProvider().queue(verdict("fail", 1), verdict("pass", 5), verdict("fail", 3))
    result = FileResult("q.txt", "text")
    judge_findings(result, TEXT, fake, votes=1, as_of=DAY)
    assert [(f.check, f.severity) for f in result.findings] == [
        ("judge.specificity", "error"), ("judge.ml_depth", "warning"),
    ]  # fmt: skip
    assert result.scores == {f"judge.{j}": s for j, s in zip(JUDGES, (1.0, 5.0, 3.0), strict=True)}


def test_eval_cli_with_a_judge_over_the_loopback_server(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    fault_server.push(
        {"status": 500},
        {"ok": verdict("fail", 2)},
        {"ok": verdict("pass", 4)},
        {"ok": verdict("pass", 5)},
    )
    case = data_dir("evals") / "cases" / "good-incident-intake-routing.txt"
    junit = tmp_path / "report.xml"
    env = {"CRAFTER_BASE_URL": fault_server.base_url, "CRAFTER_CACHE_DIR": str(tmp_path / "cache")}
    res = run_cli(
        "eval", str(case), "--judge", "openai-compatible:judge", "--junit", str(junit), "--format", "json",
        "--as-of", "2026-11-01", env=env,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    findings = json.loads(res.stdout)["results"][0]["findings"]
    assert [f["check"] for f in findings if f["severity"] != "info"] == ["judge.specificity"]
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert suites[0].find("testcase[@name='judge.specificity']/failure") is not None
    # The second run is answered from the cache: no new requests reach the server.
    before = len(fault_server.requests)
    again = run_cli(
        "eval", str(case), "--judge", "openai-compatible:judge", "--as-of", "2026-11-01", env=env
    )
    assert again.returncode == 1 and len(fault_server.requests) == before


def test_eval_without_a_judge_is_lint_and_the_scaffold_cannot_judge() -> None:
    case = str(data_dir("evals") / "cases" / "vague-churn.txt")
    assert run_cli("eval", case).returncode == 1
    res = run_cli("eval", case, "--judge", "scaffold")
    assert res.returncode == 2 and "cannot judge" in res.stderr
