"""The library folder: crafter.toml, which files are scenarios, review states, ``crafter new``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crafter.domain import Scenario, load_scenario, save_scenario
from crafter.domain.library import (
    LibraryError,
    apply_review,
    list_scenario_files,
    open_library,
    parse_library_config,
    proposal_path,
    review_file,
)
from crafter.pipeline import DraftRequest, draft_scenario
from crafter.providers.scaffold import ScaffoldProvider
from tests.helpers import SLACK_SEED, run_cli

ATM_SEED = "Flag suspicious ATM cash withdrawals for a regional bank before the cash leaves."


def _scenario(seed: str = SLACK_SEED) -> Scenario:
    req = DraftRequest(seed, "staff", dt.date(2026, 11, 1))
    return draft_scenario(req, ScaffoldProvider()).scenario


def test_config_defaults_when_there_is_no_crafter_toml(tmp_path: Path) -> None:
    lib = open_library(tmp_path)
    assert lib.config_path is None
    assert lib.config.model is None and lib.config.as_of == "keep" and lib.config.corpus == []


def test_config_reads_every_setting(tmp_path: Path) -> None:
    (tmp_path / "crafter.toml").write_text(
        'model = "openai:gpt-5.4-mini"\nlevel = "senior"\nas_of = 2026-01-31\n'
        'corpus = ["../shared-corpus"]\nconcurrency = 6\n'
    )
    lib = open_library(tmp_path)
    cfg = lib.config
    assert lib.config_path == tmp_path / "crafter.toml"
    assert (cfg.model, cfg.level, cfg.as_of, cfg.corpus, cfg.concurrency) == (
        "openai:gpt-5.4-mini",
        "senior",
        dt.date(2026, 1, 31),
        ["../shared-corpus"],
        6,
    )
    # A [library] table works too, and the as-of policy may be a word or a quoted date.
    assert parse_library_config('[library]\nas_of = "today"\n').as_of == "today"
    assert parse_library_config('as_of = "2026-03-01"\n').as_of == dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ('modle = "scaffold"\n', "unknown setting"),
        ('level = "wizard"\n', "level"),
        ('as_of = "sometimes"\n', "as_of"),
        ("concurrency = 0\n", "concurrency"),
        ("model = \n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_problem(text: str, expect: str) -> None:
    with pytest.raises(LibraryError) as err:
        parse_library_config(text, "lib/crafter.toml")
    assert expect in err.value.message and "lib/crafter.toml" in err.value.message


def test_missing_library_folder_is_an_error_unless_asked_to_create(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no such library folder"):
        open_library(tmp_path / "nope")
    assert open_library(tmp_path / "new", create=True).root.is_dir()


def test_listing_skips_state_temp_files_proposals_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "team-a").mkdir()
    (tmp_path / ".crafter").mkdir()
    for name in (
        "a.yaml",
        "team-a/b.yml",
        "a.proposed.yaml",
        ".a.yaml.x1y2.tmp",
        ".crafter/state.yaml",
        "crafter.toml",
        "notes.md",
    ):
        (tmp_path / name).write_text("x: 1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in list_scenario_files(tmp_path)] == [
        "a.yaml",
        "team-a/b.yml",
    ]
    assert proposal_path(tmp_path / "team-a" / "b.yml").name == "b.proposed.yaml"


def test_apply_review_sets_status_reviewer_and_notes() -> None:
    s = _scenario()
    approved = apply_review(s, "approved", "Ana Ruiz", "answers checked with the Slack team")
    assert approved.review.model_dump() == {
        "status": "approved",
        "reviewer": "Ana Ruiz",
        "notes": "answers checked with the Slack team",
    }
    assert s.review.status == "draft", "the original is left alone"
    # Not giving a reviewer or notes keeps the current ones.
    retired = apply_review(approved, "retired")
    assert (retired.review.reviewer, retired.review.notes) == (
        "Ana Ruiz",
        "answers checked with the Slack team",
    )
    assert retired.model_dump(exclude={"review"}) == s.model_dump(exclude={"review"})


@pytest.mark.parametrize(
    ("status", "by", "notes", "expect"),
    [
        ("done", "ana", None, "unknown review status"),
        ("approved", None, None, "needs the reviewer's name"),
        ("reviewed", "  ", None, "needs the reviewer's name"),
        ("reviewed", "ana", "x" * 5000, "notes"),
    ],
)
def test_apply_review_rejects_bad_values(
    status: str, by: str | None, notes: str | None, expect: str
) -> None:
    with pytest.raises(LibraryError) as err:
        apply_review(_scenario(), status, by, notes)
    assert expect in err.value.message


def test_review_file_rewrites_only_the_review(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    s = _scenario()
    save_scenario(s, path)
    outcome = review_file(path, "reviewed", "ana")
    assert outcome.path == path and outcome.promoted_from is None
    again = load_scenario(path)
    assert again.review.status == "reviewed" and again.review.reviewer == "ana"
    assert again.model_dump(exclude={"review"}) == s.model_dump(exclude={"review"})
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"], "no temp file left behind"


def test_approving_a_proposal_promotes_it(tmp_path: Path) -> None:
    original = tmp_path / "s.yaml"
    save_scenario(apply_review(_scenario(), "approved", "ana"), original)
    proposal = proposal_path(original)
    newer = _scenario(SLACK_SEED + " Answers must arrive within an hour.")
    save_scenario(newer.model_copy(update={"id": load_scenario(original).id}), proposal)

    outcome = review_file(proposal, "approved", "bo", "new draft checked")
    assert outcome.path == original and outcome.promoted_from == proposal
    assert not proposal.exists()
    promoted = load_scenario(original)
    assert promoted.seed == newer.seed
    assert (promoted.review.status, promoted.review.reviewer) == ("approved", "bo")


def test_cli_review(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    save_scenario(_scenario(), path)
    before = path.read_bytes()
    # A worksheet with TODO placeholders open is not approved without saying so.
    res = run_cli(
        "review", str(path), "--status", "approved", "--by", "Ana", "--notes", "ready for loops"
    )
    assert res.returncode == 1 and "open item(s)" in res.stderr and "premise" in res.stderr
    assert path.read_bytes() == before
    res = run_cli(
        "review", str(path), "--status", "approved", "--by", "Ana", "--notes", "ready for loops",
        "--allow-open",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "open item(s) (--allow-open)" in res.stderr
    assert res.stdout.strip() == str(path)
    assert load_scenario(path).review.model_dump() == {
        "status": "approved",
        "reviewer": "Ana",
        "notes": "ready for loops",
    }


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--status", "done", "--by", "a"], "unknown review status"),
        (["--status", "approved"], "--by NAME"),
        (["FILE:missing", "--status", "reviewed", "--by", "a"], "no such scenario file"),
        (["FILE:invalid", "--status", "reviewed", "--by", "a"], "not a valid scenario"),
    ],
)
def test_cli_review_bad_input_exits_2_and_changes_nothing(
    tmp_path: Path, args: list[str], expect: str
) -> None:
    path = tmp_path / "s.yaml"
    save_scenario(_scenario(), path)
    before = path.read_bytes()
    (tmp_path / "invalid.yaml").write_text("id: Not A Slug\n")
    target = str(path)
    if args[0].startswith("FILE:"):
        target = str(tmp_path / f"{args[0][5:]}.yaml")
        args = args[1:]
    res = run_cli("review", target, *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expect in res.stderr and "Traceback" not in res.stderr
    assert path.read_bytes() == before


def test_cli_new_drafts_into_the_library_with_its_defaults(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "crafter.toml").write_text('model = "scaffold"\nlevel = "senior"\nas_of = 2026-02-01\n')
    res = run_cli("new", SLACK_SEED, "--library", str(lib), "--no-research")
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.strip())
    assert path.parent == lib
    s = load_scenario(path)
    assert (s.level, s.as_of, s.provenance.model) == ("senior", dt.date(2026, 2, 1), "scaffold")
    assert "crafter.toml" in res.stderr  # says where the model came from

    # Flags win over the library's settings; a second seed is a second file.
    res = run_cli(
        "new", ATM_SEED, "--library", str(lib), "--level", "staff", "--as-of", "2026-03-03",
        "--no-research",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    s2 = load_scenario(Path(res.stdout.strip()))
    assert (s2.level, s2.as_of) == ("staff", dt.date(2026, 3, 3))
    assert len(list_scenario_files(lib)) == 2


def test_cli_new_creates_a_missing_library(tmp_path: Path) -> None:
    lib = tmp_path / "fresh" / "lib"
    res = run_cli("new", SLACK_SEED, "--library", str(lib), "--model", "scaffold", "--no-research")
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()).parent == lib


@pytest.mark.parametrize(
    ("toml", "args", "expect"),
    [
        ('modle = "scaffold"\n', [], "unknown setting"),
        ("", ["--level", "wizard"], "unknown level"),
        ("", ["--as-of", "soon"], "not a date"),
        ("", ["--model", "gpt-9"], "unknown model"),
    ],
)
def test_cli_new_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, toml: str, args: list[str], expect: str
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    if toml:
        (lib / "crafter.toml").write_text(toml)
    res = run_cli("new", SLACK_SEED, "--library", str(lib), "--no-research", *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expect in res.stderr
    assert list_scenario_files(lib) == []
    # A library that does not exist yet is not created for a draft that cannot be made.
    missing = tmp_path / "missing"
    if not toml:
        res = run_cli("new", SLACK_SEED, "--library", str(missing), "--no-research", *args)
        assert res.returncode == 2 and expect in res.stderr
        assert not missing.exists()


def test_approving_a_proposal_does_not_carry_the_old_approvals_notes(tmp_path: Path) -> None:
    from crafter.domain.library import apply_review, proposal_path, review_file

    path = tmp_path / "s.yaml"
    approved = apply_review(_scenario(), "approved", "Ana", "checked the old answers")
    save_scenario(approved, path)
    save_scenario(
        approved.model_copy(
            update={"review": approved.review.model_copy(update={"status": "draft"})}
        ),
        proposal_path(path),
    )
    outcome = review_file(proposal_path(path), "approved", "Bo")
    assert outcome.path == path and load_scenario(path).review.model_dump() == {
        "status": "approved",
        "reviewer": "Bo",
        "notes": "",
    }
    res = run_cli("review", str(tmp_path), "--status", "reviewed", "--by", "Bo")
    assert res.returncode == 2 and "is a folder" in res.stderr
