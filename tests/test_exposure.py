"""The exposure check: data loading (bundled and teams' lists), matching, findings in every format,
library near-duplicates, and the drafting side."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from crafter.domain import placeholder
from crafter.evals import exposure
from crafter.evals.duplicates import near_duplicates
from crafter.evals.exposure_data import (
    ExposureFileError,
    bundled_list,
    parse_exposure,
    read_exposure,
)
from crafter.evals.lint import lint_paths, lint_text
from crafter.resources import data_dir
from tests.helpers import run_cli

DAY = dt.date(2026, 11, 1)
CASES = data_dir("evals") / "cases"
COPY = "Design the recommendation system for a video-sharing site's homepage: which videos each user sees."


def _findings(text: str, path: str = "q.md") -> list[tuple[str, str]]:
    return [(f.check, f.severity) for f in lint_text(text, DAY, path).findings]


def test_the_bundled_index_is_big_and_parsed() -> None:
    lst = bundled_list()
    assert len(lst.prompts) >= 400 and lst.version
    assert all(p.count >= 1 and p.title for p in lst.prompts)


def test_a_near_copy_warns_naming_the_prompt_and_its_sources() -> None:
    result = lint_text(COPY, DAY, "q.md")
    found = [f for f in result.findings if f.check == "exposure"]
    assert found and found[0].severity == "warning"
    assert "Video recommendations" in found[0].message and "source(s)" in found[0].message
    assert "twist the product context" in found[0].suggestion


def test_a_specific_scenario_on_a_published_topic_is_not_a_copy() -> None:
    for good in CASES.glob("good-*"):
        assert ("exposure", "warning") not in _findings(good.read_text(), str(good)), good


def test_the_check_works_on_scenario_yaml_and_in_every_format(tmp_path: Path) -> None:
    src = yaml.safe_load((CASES / "scenario-good-dating-message-nudge.yaml").read_text())
    src["title"] = "Video recommendations"
    src["seed"] = "Recommend videos on the homepage of a video-sharing site"
    src["premise"] = (
        "Design the system that recommends videos to users on our video site's homepage."
    )
    # The scaffold's state for a published seed: its hooks still placeholders to fill.
    for hook in src["hooks"]:
        hook["detail"] = placeholder("a detail of your product the published walkthrough misses")
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(src, sort_keys=False))
    for fmt in ("text", "json", "junit", "github", "sarif"):
        out = run_cli("lint", str(path), "--format", fmt, "--fail-on", "never").stdout
        assert "exposure" in out, fmt
    data = json.loads(run_cli("lint", str(path), "--format", "json", "--fail-on", "never").stdout)
    f = next(f for f in data["results"][0]["findings"] if f["check"] == "exposure")
    assert f["severity"] == "warning" and f["location"].startswith("title")


def test_the_check_can_be_off_and_a_team_list_adds_prompts(tmp_path: Path) -> None:
    q = tmp_path / "q.md"
    q.write_text("Design a system that routes our hospital's night pharmacy robots between wards.")
    leaked = parse_exposure(
        "prompts:\n  - title: Night pharmacy robot routing\n"
        "    gist: Route hospital pharmacy robots between wards at night.\n",
        "leaked.yaml",
    )
    index = exposure.index_for([leaked])
    assert len(index) == len(bundled_list().prompts) + 1
    report = lint_paths([str(q)], DAY, exposure=index)
    assert [f.severity for f in report.results[0].findings if f.check == "exposure"] == ["warning"]
    off = lint_paths([str(q)], DAY, exposure=None)
    assert not [f for f in off.results[0].findings if f.check == "exposure"]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"prompts:\n  - title: ok\n  - gist: no title\n", 3, "no title"),
        (b"prompts:\n  - title: ok\n  bad: [\n", 3, "not valid YAML"),
        (b"prompts:\n  - title: ok\n    count: -1\n", 2, "count"),
        (b"prompts:\n  - title: caf\xe9\n", 2, "not UTF-8"),
        (b"version: 1\n", 1, "no `prompts:`"),
        (b"prompts: {a: 1}\n", 1, "must be a list"),
    ],
)
def test_a_bad_list_names_the_file_and_line(
    tmp_path: Path, content: bytes, line: int, words: str
) -> None:
    path = tmp_path / "ours.yaml"
    path.write_bytes(content)
    with pytest.raises(ExposureFileError) as err:
        read_exposure(path)
    assert f"{path}:{line}" in err.value.message and words in err.value.message


def test_an_empty_list_is_allowed_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text("# nothing leaked yet\n")
    lst = read_exposure(path)
    assert lst.prompts == () and "empty" in lst.notes[0]


def _library(tmp_path: Path, lst: str | None) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(CASES / "scenario-good-dating-message-nudge.yaml", lib)
    if lst is not None:
        (lib / "crafter.toml").write_text('exposure = ["ours.yaml"]\n')
        (lib / "ours.yaml").write_bytes(lst.encode() if lst else b"")
    return lib


def test_cli_reads_lists_from_crafter_toml_and_exposure(tmp_path: Path) -> None:
    lib = _library(tmp_path, "prompts:\n  - title: [x]\n")
    bad = run_cli("lint", str(lib))
    assert bad.returncode == 2 and "ours.yaml:2" in bad.stderr and "Traceback" not in bad.stderr
    (lib / "ours.yaml").write_text("")
    empty = run_cli("lint", str(lib), "--fail-on", "never")
    assert empty.returncode == 0 and "exposure list is empty" in empty.stderr
    assert "1 file(s)" in empty.stdout  # the list itself is not linted as a question
    missing = run_cli("lint", str(lib), "--exposure", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml: no such file" in missing.stderr
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert run_cli("lint", str(lib), "--exposure", str(binary)).returncode == 2


def test_library_near_duplicates_are_reported_in_pairs(tmp_path: Path) -> None:
    lib = _library(tmp_path, None)
    shutil.copy(CASES / "scenario-good-dating-message-nudge.yaml", lib / "again.yaml")
    shutil.copy(CASES / "scenario-good-grocery-availability.yaml", lib)
    report = lint_paths([str(lib)], DAY)
    dup = {r.path: [f for f in r.findings if f.check == "duplicate"] for r in report.results}
    assert sorted(p for p, fs in dup.items() if fs) == sorted(
        str(lib / n) for n in ("again.yaml", "scenario-good-dating-message-nudge.yaml")
    )


def test_near_duplicates_of_many_probes_use_one_matrix_product() -> None:
    probes = [f"Forecast demand for product line {i} in region {i % 7}" for i in range(200)]
    probes += ["Route questions in our Slack channel to the people who can answer them"] * 2
    pairs = near_duplicates(probes)
    assert any(p.a == 200 and p.b == 201 for p in pairs)


def _match_cost(text: str) -> float:
    started = time.perf_counter()
    for _ in range(3):
        tokens = exposure.content_tokens(text)
        exposure.index_for().words(tokens)
        exposure.shingles(tokens)
        exposure.probe_of("", text)
    return time.perf_counter() - started


@pytest.mark.parametrize("unit", ["a", "ab ", "recommend ", "-", "x1 ", "video recommendation "])
def test_matching_stays_linear_on_hostile_text(unit: str) -> None:
    """Property: 16x the text never costs much more than 16x the time (runs, no spaces, repeats)."""
    _match_cost(unit * 100)
    small, big = _match_cost(unit * 20_000), _match_cost(unit * 320_000)
    assert big < 16 * small * 3 + 0.05, (small, big)
    tokens = exposure.content_tokens(unit * 320_000)
    assert len(tokens) <= 1_200 and len(exposure.probe_of("", unit * 320_000)) <= 2_400


def test_drafting_a_published_seed_adds_a_todo_hook_and_says_so() -> None:
    from crafter.pipeline.exposure_hooks import draft_instruction, seed_note
    from crafter.pipeline.worksheet import build_worksheet

    seed = "Design YouTube video recommendations for the homepage"
    assert seed_note(seed) and "widely published" in (seed_note(seed) or "")
    assert "insufficient" in draft_instruction(seed)
    hooks = build_worksheet(seed, "staff").hooks
    assert "published walkthrough" in hooks[-1].detail and "TODO(interviewer)" in hooks[-1].detail
    slack = "Route questions in our #ask-eng Slack channel to the people who can answer them"
    assert seed_note(slack) is None
    assert all(
        "published walkthrough" not in h.detail for h in build_worksheet(slack, "staff").hooks
    )


def test_crafter_new_warns_before_drafting_a_duplicate_seed(tmp_path: Path) -> None:
    lib = _library(tmp_path, None)
    seed = yaml.safe_load((lib / "scenario-good-dating-message-nudge.yaml").read_text())["seed"]
    out = run_cli("new", seed, "--library", str(lib), "--no-research", "--rounds", "0")
    assert out.returncode == 0, out.stderr
    assert "nearly duplicates scenario-good-dating-message-nudge.yaml" in out.stderr


def test_a_missing_or_malformed_exemplar_or_rule_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crafter.errors import UsageError
    from crafter.evals import exposure_model

    bad = tmp_path / "exemplars.yaml"
    monkeypatch.setattr(exposure_model, "exemplars_path", lambda: bad)
    for text, expected in (
        (None, "exemplar file missing"),
        ("exemplars: [", "unreadable"),
        ("exemplars:\n  - copies: [a]\n", "needs a 'prompt' id"),
        ("exemplars:\n  - prompt: x\n    twists: 3\n", "twists must be texts"),
    ):
        if text is not None:
            bad.write_text(text)
        exposure_model.load_exemplars.cache_clear()
        with pytest.raises(UsageError, match=expected) as info:
            exposure_model.load_exemplars()
        assert str(bad) in info.value.message
    exposure_model.load_exemplars.cache_clear()
    rule = tmp_path / "rule.yaml"
    rule.write_text("model: {features: [best]}\nthresholds: {}\n")
    monkeypatch.setattr(exposure_model, "rule_path", lambda: rule)
    exposure_model.model.cache_clear()
    with pytest.raises(UsageError, match=r"rule file .* is malformed"):
        exposure_model.model()
    exposure_model.model.cache_clear()


def test_twists_keep_a_same_domain_scenario_from_reading_as_a_copy() -> None:
    # The bundled exemplars: a disguised home-feed video recommender is a copy; a video
    # platform's re-upload detection shares the words but not the problem.
    index = exposure.index_for()
    copy, _ = index.match(
        exposure.probe_of(
            "Home screen picks for ClipStream.",
            "ClipStream hosts millions of user-uploaded videos and 200M monthly viewers. When "
            "someone opens the app we show a personalised grid of videos chosen to maximise "
            "long-term watch time. Design the system that picks and orders them.",
        )
    )
    twist, _ = index.match(
        exposure.probe_of(
            "Catching re-uploaded clips.",
            "Rights holders complain that users re-upload clips of their TV shows to our video "
            "platform, cropped or mirrored. Design a system that detects these re-uploads at "
            "upload time.",
        )
    )
    assert copy and copy[0].prompt.id == "video-recommendations"
    # Re-upload detection is the index's own near-duplicate prompt (a blind set's writer wrote it
    # as a copy of that one); what matters is that it does not read as the recommender.
    warned = [m for m in twist if m.chance >= exposure.rule().warn_at]
    assert all(m.prompt.id == "near-duplicate-detection" for m in warned)
    as_recommender = [m.chance for m in twist if m.prompt.id == "video-recommendations"]
    assert copy[0].chance > max(as_recommender, default=0.0) + 0.2


def test_blind_learned_exemplars_join_the_hand_written_ones_and_key_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crafter.errors import UsageError
    from crafter.evals import exposure_model

    learned = tmp_path / "exemplars_blind.yaml"
    learned.write_text(
        "version: 1\nexemplars:\n  - prompt: video-recommendations\n"
        "    copies: ['Clip picks: choose the clips each viewer sees first.']\n"
    )
    monkeypatch.setattr(exposure_model, "blind_exemplars_path", lambda: learned)
    for fn in (exposure_model.load_exemplars, exposure_model.files_digest):
        fn.cache_clear()
    try:
        copies, _ = exposure_model.load_exemplars()["video-recommendations"]
        assert copies[-1] == "Clip picks: choose the clips each viewer sees first."
        assert len(copies) > 1  # the hand-written copies are still there
        before = exposure_model.files_digest()
        learned.write_text(learned.read_text() + "  - prompt: ad-click-prediction\n")
        exposure_model.files_digest.cache_clear()
        assert (
            exposure_model.files_digest() != before
        )  # a lint result found with other data is not reused
        learned.unlink()
        exposure_model.load_exemplars.cache_clear()
        with pytest.raises(UsageError, match="exemplar file missing") as info:
            exposure_model.load_exemplars()
        assert str(learned) in info.value.message
    finally:
        monkeypatch.undo()
        for fn in (exposure_model.load_exemplars, exposure_model.files_digest):
            fn.cache_clear()


def test_a_batch_of_files_gets_the_findings_each_file_gets_alone(tmp_path: Path) -> None:
    # lint_files matches the batch's probes in one product; the findings (exposure warnings
    # and their YAML lines included) are those of linting each file by itself, as a batch of one
    # and with the check run inside the document's own checks (lint_text).
    from crafter.evals import result_cache
    from crafter.evals.lint import lint_files

    src = yaml.safe_load((CASES / "scenario-good-dating-message-nudge.yaml").read_text())
    src["title"] = "Video recommendations"
    src["seed"] = "Recommend videos on the homepage of a video-sharing site"
    src["hooks"][0]["detail"] = placeholder("a detail the published walkthrough misses")
    copy = tmp_path / "copy.yaml"
    copy.write_text(yaml.safe_dump(src, sort_keys=False))
    paths = [*sorted(p for p in CASES.iterdir() if p.suffix in {".md", ".txt", ".yaml"}), copy]
    result_cache.set_enabled(False)
    try:
        together = lint_files([(p, None) for p in paths], DAY)
        alone = [lint_files([(p, None)], DAY)[0] for p in paths]
    finally:
        result_cache.set_enabled(True)
    assert [r.findings for r in together] == [r.findings for r in alone]
    direct = lint_text(copy.read_text(), DAY, str(copy))
    assert direct.findings == together[-1].findings
    warned = [f for f in together[-1].findings if f.check == "exposure"]
    assert warned and warned[0].severity == "warning" and "(line " in warned[0].location
