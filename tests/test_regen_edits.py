"""Regen never overwrites what a person wrote: edited scenarios get a proposal beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crafter.domain import (
    PLACEHOLDER_PREFIX,
    content_digest,
    edited_by_person,
    load_scenario,
    save_scenario,
)
from crafter.domain.library import apply_review, list_scenario_files, open_library, proposal_path
from crafter.pipeline.batch import RegenOptions, open_regen, plan_regen
from crafter.pipeline.library_drafting import Drafting
from crafter.providers import Choice
from crafter.retrieval.index import CorpusIndex
from crafter.retrieval.scoped import ScopedIndex
from tests.helpers import run_cli
from tests.test_batch import fake, make_library, regen


def _fill_answers(path: Path, n: int = 3) -> list[str]:
    """What a person does with a scaffold worksheet: type answers over its TODO placeholders."""
    scenario = load_scenario(path)
    typed = []
    for q in scenario.questions:
        if len(typed) == n:
            break
        if q.answer.startswith(PLACEHOLDER_PREFIX):
            q.answer = f"We keep 26 months of history; answer {len(typed)} typed by a person."
            typed.append(q.answer)
    assert len(typed) == n
    save_scenario(scenario, path)
    return typed


def _edit_seed(path: Path, seed: str) -> None:
    scenario = load_scenario(path)
    scenario.seed = seed
    save_scenario(scenario, path)


def test_a_draft_records_what_it_generated(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 1)
    scenario = load_scenario(paths[0])
    assert scenario.provenance.content_hash == content_digest(scenario)
    assert not edited_by_person(scenario)
    # A review is not an edit of the content; a typed answer is.
    reviewed = apply_review(scenario, "reviewed", "ana", "fine")
    assert not edited_by_person(reviewed)
    scenario.questions[0].answer = "A person's answer."
    assert edited_by_person(scenario)


def test_regen_puts_a_redraft_beside_typed_answers(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 2)
    typed = _fill_answers(paths[0])
    _edit_seed(
        paths[0],
        "Route questions asked in our #team-7 Slack channel to the analysts who answer them.",
    )
    before = paths[0].read_bytes()

    report = regen(tmp_path, fake(), force=True)

    # The person's file is untouched; the new draft went beside it, and the other file (never
    # edited) was redrafted in place.
    assert paths[0].read_bytes() == before
    proposal = proposal_path(paths[0])
    assert [o.written for o in report.proposed] == [proposal]
    assert [o.written for o in report.drafted] == [paths[1]]
    answers = [q.answer for q in load_scenario(paths[0]).questions]
    assert all(t in answers for t in typed)
    assert load_scenario(proposal).review.status == "draft"
    assert proposal not in list_scenario_files(tmp_path)


def test_dry_run_says_the_file_was_edited_and_where_the_redraft_goes(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 1)
    _fill_answers(paths[0])
    _edit_seed(
        paths[0],
        "Route questions asked in our #team-7 Slack channel to the analysts who answer them.",
    )
    proc = run_cli("regen", str(tmp_path), "--model", "scaffold", "--no-research", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "propose" in proc.stdout
    assert "edited by a person" in proc.stdout
    assert "s00.proposed.yaml" in proc.stdout


def test_force_does_not_override_edits_but_overwrite_edits_keeps_a_backup(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 1)
    typed = _fill_answers(paths[0])
    before = paths[0].read_bytes()

    report = regen(tmp_path, fake(), force=True)
    assert paths[0].read_bytes() == before and len(report.proposed) == 1

    proposal_path(paths[0]).unlink()
    report = regen(tmp_path, fake(), force=True, overwrite_edits=True)
    assert [o.written for o in report.drafted] == [paths[0]]
    assert paths[0].read_bytes() != before
    backups = list((tmp_path / ".crafter" / "backups").iterdir())
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert typed[0] in backups[0].read_text(encoding="utf-8")


def test_a_hand_written_file_counts_as_edited(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 1)
    scenario = load_scenario(paths[0])
    scenario.provenance.content_hash = None  # no record of what crafter generated
    save_scenario(scenario, paths[0])
    before = paths[0].read_bytes()
    report = regen(tmp_path, fake(), force=True)
    assert paths[0].read_bytes() == before
    assert len(report.proposed) == 1
    assert "no record of what crafter generated" in report.proposed[0].item.reason


def test_an_edited_proposal_is_kept_and_reported(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 1)
    _fill_answers(paths[0])
    regen(tmp_path, fake(), force=True)
    proposal = proposal_path(paths[0])
    _fill_answers(proposal, 1)
    edited = proposal.read_bytes()
    report = regen(tmp_path, fake(), force=True)
    assert proposal.read_bytes() == edited
    assert [i.action for i in report.plan.items] == ["kept"]
    assert report.exit_code == 0


def test_a_seed_only_edit_redrafts_in_place(tmp_path: Path) -> None:
    """Nothing in the content was typed by a person: the redraft replaces the file."""
    paths = make_library(tmp_path, 1)
    _edit_seed(
        paths[0],
        "Route questions asked in our #team-7 Slack channel to the analysts who answer them.",
    )
    report = regen(tmp_path, fake())
    assert [o.written for o in report.drafted] == [paths[0]]
    assert not proposal_path(paths[0]).exists()


def _fake_index(root: Path, docs: dict[str, tuple[str, str]]) -> CorpusIndex:
    """An index folder whose manifest lists ``docs`` (key -> (source, hash)); no vectors needed
    to compute versions."""
    root.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "format": 1,
        "embedder": "all-MiniLM-L6-v2",
        "corpus_version": "x",
        "sources": {},
        "docs": {
            key: {"source": src, "id": key.split(":", 1)[1], "hash": h, "chunks": []}
            for key, (src, h) in docs.items()
        },
    }
    from crafter.retrieval.embedding import MODEL_NAME

    manifest["embedder"] = MODEL_NAME
    (root / "manifest.json").write_text(json.dumps(manifest))
    return CorpusIndex(root)


def test_a_library_version_ignores_sources_it_does_not_use(tmp_path: Path) -> None:
    base = {"corpus:a": ("corpus", "1"), "corpus:b": ("corpus", "2")}
    one = ScopedIndex(_fake_index(tmp_path / "one", base), ["corpus"])
    added = {**base, "team-notes:x": ("team-notes", "9")}
    two = ScopedIndex(_fake_index(tmp_path / "two", added), ["corpus"])
    assert one.corpus_version == two.corpus_version
    # A library that lists the folder does see it.
    three = ScopedIndex(_fake_index(tmp_path / "three", added), ["corpus", "team-notes"])
    assert three.corpus_version != one.corpus_version
    assert set(three.documents()) == set(added) and set(two.documents()) == set(base)


def test_a_redraft_caused_only_by_the_corpus_says_so(tmp_path: Path) -> None:
    make_library(tmp_path, 1)
    library = open_library(tmp_path)
    provider = fake()
    base = {"corpus:a": ("corpus", "1")}
    old = Drafting(ScopedIndex(_fake_index(tmp_path / "i1", base), ["corpus"]), 0, "")
    old = Drafting(old.index, 0, old.index.corpus_version)
    # Draft "with" the old corpus: record its key and version in the file.
    path = library.scenario_files()[0]
    scenario = load_scenario(path)
    from crafter.pipeline.draft import DraftRequest

    req = DraftRequest(scenario.seed, scenario.level, scenario.as_of)
    scenario.provenance.inputs_hash = old.key(req, provider)
    scenario.provenance.corpus_version = old.corpus_version
    scenario.provenance.model = provider.model_id
    scenario.provenance.content_hash = content_digest(scenario)
    save_scenario(scenario, path)

    changed = {"corpus:a": ("corpus", "2")}
    new_index = ScopedIndex(_fake_index(tmp_path / "i2", changed), ["corpus"])
    new = Drafting(new_index, 0, new_index.corpus_version)
    plan = plan_regen(library, RegenOptions(), provider, Choice(provider.model_id, "test"), new)
    assert plan.items[0].action == "draft"
    assert plan.items[0].reason.startswith("only the corpus changed")


def test_open_regen_still_plans_from_the_cli_options(tmp_path: Path) -> None:
    make_library(tmp_path, 1)
    with open_regen(tmp_path, RegenOptions(research=False, rounds=0, dry_run=True), fake()) as s:
        assert [i.action for i in s.plan.items] == ["draft"]
