"""Semantic diff: the pure diff over two scenarios, and ``crafter diff`` as a user runs it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest

from crafter.domain import Scenario, save_scenario
from crafter.domain.diff import diff_scenarios, render_lines, render_plain, word_diff
from crafter.pipeline import DraftRequest, draft_scenario
from crafter.providers.scaffold import ScaffoldProvider
from tests.helpers import SLACK_SEED, run_cli


def _scenario(seed: str = SLACK_SEED) -> Scenario:
    req = DraftRequest(seed, "staff", dt.date(2026, 11, 1))
    return draft_scenario(req, ScaffoldProvider()).scenario


def _edited(s: Scenario) -> Scenario:
    """A second version with one change of each kind the diff must see."""
    data = s.model_dump()
    data["title"] = "Routing ask-eng questions to the people who know"
    data["premise"] = data["premise"] + " The channel gets about 400 questions a week."
    data["hooks"][0]["detail"] = "Only 18 months of Slack history are kept; older threads are gone."
    removed_hook = data["hooks"].pop(2)
    data["hooks"].append(
        {
            "id": "h-oncall",
            "detail": "An on-call rota already answers some questions by hand.",
            "decision_forced": "Whether routing must respect the rota",
            "category": "people",
        }
    )
    # Same question, new id: a rename, not a removal and an addition.
    data["questions"][1]["id"] = "q-renamed"
    data["rubric"][0]["hire"] = "Frames routing as ranking answerers, with a way to abstain."
    data["review"] = {"status": "reviewed", "reviewer": "ana", "notes": ""}
    assert removed_hook["id"] not in {h["id"] for h in data["hooks"]}
    return Scenario.model_validate(data)


def test_identical_versions_have_no_differences() -> None:
    s = _scenario()
    later = s.model_copy(
        update={
            "provenance": s.provenance.model_copy(
                update={"created_at": s.provenance.created_at + dt.timedelta(days=3)}
            )
        }
    )
    d = diff_scenarios(s, later)
    assert d.identical
    assert "no semantic differences" in render_plain(render_lines(d, "a", "b"))


def test_diff_finds_each_kind_of_change() -> None:
    old = _scenario()
    new = _edited(old)
    d = diff_scenarios(old, new)
    assert not d.identical
    assert {c.field for c in d.fields} == {"title", "premise"}

    hooks = d.section("hooks")
    assert [i.key for i in hooks.added] == ["h-oncall"]
    assert [i.key for i in hooks.removed] == [old.hooks[2].id]
    assert [c.key for c in hooks.changed] == [old.hooks[0].id]
    assert [c.field for c in hooks.changed[0].changes] == ["detail"]

    questions = d.section("questions")
    assert not questions.added and not questions.removed
    (renamed,) = questions.changed
    assert (renamed.key, renamed.old_key) == ("q-renamed", old.questions[1].id)
    assert renamed.changes == ()  # only the id changed

    rubric = d.section("rubric")
    (row,) = rubric.changed
    assert row.key == "problem framing" and [c.field for c in row.changes] == ["hire"]

    assert {c.field for c in d.meta} == {"review.status", "review.reviewer"}
    assert d.section("traps").empty and d.section("references").empty


def test_reordering_is_noted_but_is_not_a_change() -> None:
    old = _scenario()
    data = old.model_dump()
    data["questions"].reverse()
    d = diff_scenarios(old, Scenario.model_validate(data))
    q = d.section("questions")
    assert q.reordered and not (q.added or q.removed or q.changed)


def test_traps_without_ids_are_paired_by_text() -> None:
    old = _scenario()
    assert old.traps, "the scaffold writes traps"
    data = old.model_dump()
    data["traps"][0]["follow_up"] = "Which of those numbers did you measure, and how?"
    d = diff_scenarios(old, Scenario.model_validate(data))
    traps = d.section("traps")
    assert not traps.added and not traps.removed
    assert [c.field for c in traps.changed[0].changes] == ["follow_up"]


def test_word_diff_marks_only_what_changed() -> None:
    segs = word_diff("keep 18 months of history", "keep 24 months of history")
    assert [(s.kind, s.text) for s in segs] == [
        ("text", "keep "),
        ("del", "18"),
        ("ins", "24"),
        ("text", " months of history"),
    ]
    # A reworded phrase reads as one deletion and one insertion.
    segs = word_diff("pins down the user and the metric", "frames it as ranking answerers")
    assert [s.kind for s in segs] == ["del", "ins"]
    assert "".join(s.text for s in segs if s.kind != "del") == "frames it as ranking answerers"


def _write_pair(tmp_path: Path) -> tuple[Path, Path]:
    old = _scenario()
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    save_scenario(old, a)
    save_scenario(_edited(old), b)
    return a, b


def test_cli_diff_text_and_json(tmp_path: Path) -> None:
    a, b = _write_pair(tmp_path)
    res = run_cli("diff", str(a), str(b))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "hooks: 1 added, 1 removed, 1 changed" in out
    assert "+ h-oncall: An on-call rota" in out
    assert "~ q-renamed (was " in out
    assert "{+ The channel gets about 400 questions a week.+}" in out
    assert "review.status: [-draft-] -> {+reviewed+}" in out

    res = run_cli("diff", str(a), str(b), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["identical"] is False
    assert [i["key"] for i in data["sections"]["hooks"]["added"]] == ["h-oncall"]
    assert data["sections"]["rubric"]["changed"][0]["key"] == "problem framing"
    assert {f["field"] for f in data["fields"]} == {"title", "premise"}

    assert run_cli("diff", str(a), str(a), "--exit-code").returncode == 0
    assert run_cli("diff", str(a), str(b), "--exit-code").returncode == 1


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_cli_diff_against_a_git_revision(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "lib").mkdir(parents=True)
    path = repo / "lib" / "slack.yaml"
    old = _scenario()
    save_scenario(old, path)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    save_scenario(_edited(old), path)

    res = run_cli("diff", str(path), "--rev", "HEAD", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["old"].endswith("@ HEAD")
    assert [i["key"] for i in data["sections"]["hooks"]["added"]] == ["h-oncall"]
    # Run from another folder: the path is resolved against the file, not the cwd.
    res = run_cli("diff", "slack.yaml", "--rev", "HEAD", cwd=repo / "lib")
    assert res.returncode == 0, res.stderr
    assert "+ h-oncall" in res.stdout


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--rev", "no-such-rev"], "cannot read"),
        (["--rev", "--output=/tmp/x"], "is not a git revision"),
        (["OTHER", "--rev", "HEAD"], "one file with --rev"),
        ([], "give two files"),
        (["MISSING"], "no such scenario file"),
        (["BAD"], "is not a valid scenario"),
    ],
)
def test_cli_diff_bad_input_exits_2(tmp_path: Path, args: list[str], expect: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    path = repo / "s.yaml"
    save_scenario(_scenario(), path)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    (tmp_path / "bad.yaml").write_text("title: [unclosed\n")
    subst = {
        "OTHER": str(path),
        "MISSING": str(tmp_path / "nope.yaml"),
        "BAD": str(tmp_path / "bad.yaml"),
    }
    res = run_cli("diff", str(path), *(subst.get(a, a) for a in args))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expect in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_diff_outside_a_git_repository_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    save_scenario(_scenario(), path)
    res = run_cli(
        "diff", str(path), "--rev", "HEAD", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    )
    assert res.returncode == 2 and "cannot read" in res.stderr
