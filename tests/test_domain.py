from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from crafter.domain import (
    Provenance,
    Scenario,
    ScenarioFileError,
    atomic_write_text,
    is_placeholder,
    load_scenario,
    parse_scenario_text,
    save_new_scenario,
    save_scenario,
    slugify,
    to_yaml,
)
from tests.helpers import content_dict


def make_scenario(**overrides: object) -> Scenario:
    data = {
        **content_dict(),
        "id": "slack-routing",
        "seed": "Route Slack questions",
        "as_of": "2026-11-01",
        "provenance": Provenance(
            generator="test",
            model="fake:test",
            prompt_version="draft@1",
            corpus_version="none",
            created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        ).model_dump(),
    }
    data.update(overrides)
    return Scenario.model_validate(data)


def test_yaml_round_trip_keeps_every_field(tmp_path: Path) -> None:
    s = make_scenario()
    path = tmp_path / "s.yaml"
    save_scenario(s, path)
    assert load_scenario(path) == s
    text = path.read_text()
    # Contract fields are written in reading order.
    order = [text.index(f"\n{k}:") for k in ("id", "title", "seed", "as_of", "premise", "hooks")]
    assert order == sorted(order)


def test_unknown_field_is_rejected_with_its_path_and_line(tmp_path: Path) -> None:
    text = to_yaml(make_scenario()).replace("  decision_forced:", "  decison_forced:", 1)
    with pytest.raises(ScenarioFileError) as err:
        parse_scenario_text(text, "x.yaml")
    rendered = [p.render() for p in err.value.problems]
    assert any("hooks[0].decison_forced" in r and "unknown field" in r for r in rendered), rendered
    assert any("hooks[0].decision_forced" in r and "missing" in r for r in rendered), rendered
    line = next(p.line for p in err.value.problems if "decison" in p.location)
    assert line is not None and "decison_forced" in text.splitlines()[line - 1]


def test_bounds_are_enforced() -> None:
    with pytest.raises(ValueError):
        make_scenario(title="x" * 500)
    with pytest.raises(ValueError):
        make_scenario(hooks=[])
    with pytest.raises(ValueError):
        make_scenario(id="Not A Slug")


def test_invalid_yaml_and_non_mapping_report_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n")
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(bad)
    assert "invalid YAML" in err.value.problems[0].message
    bad.write_text("- a list\n")
    with pytest.raises(ScenarioFileError, match="not a scenario: the file reads as"):
        load_scenario(bad)
    bad.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ScenarioFileError, match="not UTF-8"):
        load_scenario(bad)


def test_atomic_write_keeps_the_old_file_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("old")

    def boom(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]


def test_save_new_never_replaces_an_existing_scenario(tmp_path: Path) -> None:
    s = make_scenario()
    first = save_new_scenario(s, tmp_path)
    second = save_new_scenario(s, tmp_path)
    assert first.name == "slack-routing.yaml"
    assert second.name == "slack-routing-2.yaml"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "slack-routing-2.yaml",
        "slack-routing.yaml",
    ]


def test_slugify_and_placeholders() -> None:
    assert (
        slugify("Route questions in our #ask-eng Slack channel!")
        == "route-questions-ask-eng-slack-channel"
    )
    assert slugify("¿¿??") == "scenario"
    assert is_placeholder("TODO(interviewer): fill me")
    assert not is_placeholder("a filled answer")


def test_duplicate_ids_and_rubric_signals_are_invalid(tmp_path: Path) -> None:
    import datetime as dt

    from crafter.domain import ScenarioFileError, parse_scenario_text, to_yaml
    from crafter.pipeline import DraftRequest, draft_scenario
    from crafter.providers.scaffold import ScaffoldProvider
    from tests.helpers import run_cli

    s = draft_scenario(
        DraftRequest("Route questions in #ask-eng to experts.", "staff", dt.date(2026, 11, 1)),
        ScaffoldProvider(),
    ).scenario
    text = to_yaml(s)
    for bad, where in (
        (text.replace("id: h2\n", "id: h1\n", 1), "hooks"),
        (text.replace("id: q2\n", "id: q1\n", 1), "questions"),
    ):
        with pytest.raises(ScenarioFileError, match=f"{where}: the id .* is used by items 0 and 1"):
            parse_scenario_text(bad, "x.yaml")
        path = tmp_path / f"dup-{where}.yaml"
        path.write_text(bad)
        assert run_cli("validate", str(path)).returncode == 2
        res = run_cli("lint", str(path))
        assert res.returncode == 2 and "used by items" in res.stdout
