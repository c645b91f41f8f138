"""The deterministic pre-checks: pacing against the slot and trap quality against the rubric."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crafter.domain import Hook, Question, Scenario, Trap, load_scenario, to_yaml
from crafter.evals.lint import lint_paths, lint_scenario
from crafter.evals.pacing import estimate, key_terms, pacing, pacing_knowledge, trap_quality
from crafter.resources import data_dir
from tests.helpers import run_cli

GOOD = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"
DAY = dt.date(2026, 11, 1)


def good() -> Scenario:
    return load_scenario(GOOD)


def padded(s: Scenario, hooks: int, questions: int) -> Scenario:
    """A copy with this many hooks and questions (clones of the first ones, new ids)."""
    hs = [s.hooks[i % len(s.hooks)].model_copy(update={"id": f"hx{i}"}) for i in range(hooks)]
    qs = [
        s.questions[i % len(s.questions)].model_copy(update={"id": f"qx{i}", "hooks": []})
        for i in range(questions)
    ]
    return s.model_copy(update={"hooks": hs, "questions": qs})


def test_a_well_built_scenario_fits_the_default_slot() -> None:
    s = good()
    assert pacing(s) == []
    est = estimate(s, 45)
    k = pacing_knowledge()
    assert est.hooks == len(s.hooks) * k.hook and est.questions == len(s.questions) * k.question
    assert est.available == 45 - k.overhead


def test_too_much_material_is_a_warning_and_far_too_much_an_error() -> None:
    over = pacing(padded(good(), 8, 10))
    assert [f.severity for f in over] == ["warning"] and "too much" in over[0].message
    assert "8 hook(s)" in over[0].evidence and "--slot" in over[0].suggestion
    way_over = pacing(padded(good(), 14, 20))
    assert [f.severity for f in way_over] == ["error"]
    # The same material fits a longer interview.
    assert pacing(padded(good(), 8, 10), slot=60) == []


def test_too_little_material_is_flagged_too() -> None:
    thin = pacing(padded(good(), 1, 1).model_copy(update={"traps": []}))
    assert [f.severity for f in thin] == ["warning"] and "too little" in thin[0].message
    assert pacing(padded(good(), 1, 1).model_copy(update={"traps": []}), slot=20) == []


def test_key_terms_stem_and_skip_filler() -> None:
    assert key_terms("Monitors precision and recall, and monitoring the AUC") == {
        "monitor", "precision", "recall", "auc",
    }  # fmt: skip


def test_good_traps_pass_and_a_trap_the_hire_anchor_would_accept_is_flagged() -> None:
    s = good()
    assert trap_quality(s) == []
    row = s.rubric[2]  # modeling
    bad = Trap(
        generic_answer="Use a calibrated gradient boosted classifier with recency features and "
        "brand priors.",
        follow_up="Which stores does that fail for?",
        exposes="Nothing: the rubric rewards it.",
    )
    rubric = list(s.rubric)
    rubric[2] = row.model_copy(
        update={"hire": "Uses a calibrated gradient boosted classifier with recency features."}
    )
    flagged = trap_quality(s.model_copy(update={"traps": [*s.traps, bad], "rubric": rubric}))
    assert len(flagged) == 1
    f = flagged[0]
    assert f.check == "trap" and f.severity == "warning"
    assert f.location == "traps[2].generic_answer" and "modeling" in f.message
    assert "calibrat" in f.message and "gradient" in f.message


def test_findings_reach_every_format_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(to_yaml(padded(good(), 8, 10)), encoding="utf-8")
    report = lint_paths([str(path)], DAY)
    pace = [f for f in report.results[0].findings if f.check == "pacing"]
    assert pace and "(line " in pace[0].location
    for fmt in ("text", "json", "junit", "github", "sarif"):
        res = run_cli("lint", str(path), "--format", fmt, "--as-of", "2026-11-01")
        assert "pacing" in res.stdout, fmt
    sarif = json.loads(run_cli("lint", str(path), "--format", "sarif").stdout)
    assert {"pacing", "trap"} <= {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}


def test_slot_comes_from_the_flag_then_crafter_toml(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    path = lib / "long.yaml"
    path.write_text(to_yaml(padded(good(), 8, 10)), encoding="utf-8")

    def checks(*args: str) -> list[str]:
        res = run_cli("lint", str(path), "--format", "json", "--as-of", "2026-11-01", *args)
        return [f["check"] for f in json.loads(res.stdout)["results"][0]["findings"]]

    assert "pacing" in checks()
    assert "pacing" not in checks("--slot", "60")
    (lib / "crafter.toml").write_text("slot = 60\n")
    assert "pacing" not in checks()
    assert "pacing" in checks("--slot", "45")
    (lib / "crafter.toml").write_text("slot = 3\n")
    res = run_cli("lint", str(path))
    assert res.returncode == 2 and "slot" in res.stderr and "Traceback" not in res.stderr
    bad = run_cli("lint", str(path), "--slot", "2")
    assert bad.returncode == 2


@pytest.mark.parametrize("slot", [None, 45])
def test_in_memory_lint_takes_the_slot(slot: int | None) -> None:
    s = padded(good(), 8, 10)
    found = [f.check for f in lint_scenario(s, DAY, slot=slot).findings]
    assert "pacing" in found
    assert "pacing" not in [f.check for f in lint_scenario(s, DAY, slot=90).findings]


def test_hook_and_question_models_are_reused() -> None:
    # The padded copies stay valid scenarios (ids unique), so the checks see real input.
    s = padded(good(), 3, 4)
    Scenario.model_validate(s.model_dump())
    assert all(isinstance(h, Hook) for h in s.hooks)
    assert all(isinstance(q, Question) for q in s.questions)
