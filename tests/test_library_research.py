"""`crafter new` and `crafter regen` research like `crafter draft`: a real index on a small corpus
(shared by concurrent drafts), the corpus version in the cache key, and crafter.toml corpus folders.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from crafter.domain import load_scenario
from crafter.domain.library import list_scenario_files
from crafter.domain.messages import Message
from crafter.errors import UsageError
from crafter.pipeline.batch import RegenOptions, open_regen
from crafter.pipeline.models import DraftOutput, Frame, NoteSet
from crafter.pipeline.regen_run import RegenReport
from crafter.providers import FakeProvider
from crafter.resources import data_dir
from crafter.retrieval.index import source_label
from tests.helpers import run_cli
from tests.test_batch import make_library, seed, seed_number
from tests.test_pipeline import filled_content

pytestmark = pytest.mark.integration

CITE = "slack-2016-personalized-channel-recommendations-slack"
DOCS = [CITE, "slack-2021-blocking-slack-invite-spam-machine", "stripe-2023-built-stripe-radar"]
USER_DOC = """# Routing Slack questions to the right people at Acme

Our #ask-eng routing rotation hands each question asked in the Slack channel to the people most
likely to answer it, an on-call expert, within 15 minutes.
"""


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A three-document corpus and its own index folder, used by subprocesses too (via env)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc in DOCS:
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", folder)
    monkeypatch.setenv("CRAFTER_CORPUS_DIR", str(folder))
    monkeypatch.setenv("CRAFTER_INDEX_DIR", str(tmp_path / "index"))
    return folder


def researching(cite: str = CITE) -> FakeProvider:
    """Answers frame, notes and draft by schema; the draft is clean and cites ``cite``."""

    def answer(messages: Sequence[Message], schema: type[BaseModel]) -> Any:
        if schema is Frame:
            return {"questions": [{"perspective": "product", "question": "Who answers?",
                                   "query": "route questions to experts in slack channels"}]}  # fmt: skip
        said = (
            "Discovery got harder as teams grew."
            if cite == CITE
            else " ".join(USER_DOC.splitlines()[2:4])
        )
        if schema is NoteSet:
            return {"notes": [{"doc_id": cite, "note": said}]}
        assert schema is DraftOutput
        n = seed_number("\n".join(m.content for m in messages))
        data = filled_content([cite], cited_detail="" if cite == CITE else said)
        data["title"] = f"Routing for team {n}"
        return data

    return FakeProvider(default=answer)


def regen(lib: Path, provider: FakeProvider, **options: Any) -> RegenReport:
    with open_regen(lib, RegenOptions(**options), provider) as session:
        return session.run()


def test_regen_researches_with_one_shared_index_and_the_corpus_version_is_in_the_key(
    tmp_path: Path, corpus: Path
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 6)
    provider = researching()
    report = regen(lib, provider, concurrency=4)
    assert len(report.drafted) == 6 and not report.failed
    assert report.plan.drafting.research and report.plan.drafting.rounds == 2
    for path in list_scenario_files(lib):
        s = load_scenario(path)
        assert [r.id for r in s.references] == [CITE]
        assert s.provenance.prompt_version.startswith("frame@1+notes@2+draft@3")
        assert s.provenance.corpus_version == report.plan.drafting.corpus_version
        assert s.title == f"Routing for team {seed_number(s.seed)}"
    calls = len(provider.calls)
    assert calls == 18  # frame, notes and draft per scenario; clean drafts need no revision

    # Nothing changed: no model call at all.
    assert regen(lib, provider).plan.count("fresh") == 6 and len(provider.calls) == calls

    # A corpus document changes: a dry run sees it without touching the index; a run redrafts.
    manifest = (tmp_path / "index" / "manifest.json").read_bytes()
    doc = corpus / "stripe-2023-built-stripe-radar.md"
    doc.write_text(doc.read_text() + "\n- A new figure: 0.1% of payments are disputed.\n")
    with open_regen(lib, RegenOptions(dry_run=True), provider) as session:
        assert len(session.plan.to_draft) == 6
        new_version = session.plan.drafting.corpus_version
    assert (tmp_path / "index" / "manifest.json").read_bytes() == manifest
    report = regen(lib, provider)
    assert len(report.drafted) == 6 and report.plan.drafting.corpus_version == new_version
    assert json.loads((tmp_path / "index" / "manifest.json").read_text())["corpus_version"] == (
        new_version
    )

    # Research off is another input: every scenario is redrafted with a single call each.
    plain = FakeProvider(default=lambda m, s: filled_content())
    assert len(regen(lib, plain, research=False, rounds=0).drafted) == 6
    assert len(plain.calls) == 6
    assert all(load_scenario(p).references == [] for p in list_scenario_files(lib))


def test_library_corpus_folders_are_indexed_and_citable(tmp_path: Path, corpus: Path) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 2)
    (lib / "docs").mkdir()
    (lib / "docs" / "acme-routing.md").write_text(USER_DOC)
    (lib / "crafter.toml").write_text('corpus = ["docs"]\n')
    with open_regen(lib, RegenOptions(dry_run=True), researching()) as session:
        assert len(session.plan.drafting.sources) == 1
    assert not (tmp_path / "index" / "manifest.json").exists(), "a dry run writes no index"

    label = source_label(lib / "docs")
    report = regen(lib, researching(cite=f"{label}-acme-routing"))
    assert len(report.drafted) == 2, [o.error for o in report.failed]
    assert report.plan.drafting.sources == (label,) and label.startswith("docs-")
    s = load_scenario(list_scenario_files(lib)[0])
    assert [r.id for r in s.references] == [f"{label}-acme-routing"]
    sources = json.loads((tmp_path / "index" / "sources.json").read_text())["sources"]
    assert sources[label]["root"] == str((lib / "docs").resolve())

    # A folder that is not there is a usage error naming the setting.
    (lib / "crafter.toml").write_text('corpus = ["papers"]\n')
    with pytest.raises(UsageError, match="corpus folder 'papers' does not exist"):
        regen(lib, researching())


def test_cli_new_researches_and_cites_the_corpus(tmp_path: Path, corpus: Path) -> None:
    lib = tmp_path / "lib"
    res = run_cli(
        "new",
        seed(3),
        "--library",
        str(lib),
        "--model",
        "scaffold",
        "--as-of",
        "2026-11-01",
        env={"CRAFTER_CORPUS_DIR": str(corpus), "CRAFTER_INDEX_DIR": str(tmp_path / "index")},
    )
    assert res.returncode == 0, res.stderr
    assert "building the reference index" in res.stderr and "research on the index" in res.stderr
    s = load_scenario(Path(res.stdout.strip()))
    assert s.references and {r.id for r in s.references} <= set(DOCS)
    assert s.as_of == dt.date(2026, 11, 1)
    assert s.provenance.corpus_version != "none"


def test_cli_regen_rejects_bad_rounds(tmp_path: Path, corpus: Path) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 1)
    (lib / "crafter.toml").write_text("rounds = 9\n")
    res = run_cli("regen", str(lib), "--model", "scaffold", "--dry-run")
    assert res.returncode == 2 and "rounds" in res.stderr and "Traceback" not in res.stderr
