"""The hybrid index on a real Chroma PersistentClient in tmp dirs, with the real MiniLM model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crafter.errors import UsageError
from crafter.resources import data_dir
from crafter.retrieval.index import CorpusIndex
from crafter.retrieval.search import IndexError_, rrf
from tests.fakes.pdf import write_pdf
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

SAMPLE = [
    "stripe-2023-built-stripe-radar",
    "uber-2022-deepeta-uber-predicts-arrival-times",
    "slack-2021-blocking-slack-invite-spam-machine",
    "swiggy-2023-predicting-food-delivery-time-cart",
    "netflix-2023-building-video-search",
    "airbnb-2018-zipline-airbnbs-machine-learning-data",
]


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc in SAMPLE:
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", folder / f"{doc}.md")
    return folder


def test_build_search_and_incremental_sync(tmp_path: Path, small_corpus: Path) -> None:
    idx = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus)
    first = idx.sync()
    assert first.added == len(SAMPLE)
    assert first.chunks_embedded + first.chunks_reused > len(SAMPLE)
    version = idx.corpus_version
    assert (
        json.loads((tmp_path / "index" / "manifest.json").read_text())["corpus_version"] == version
    )

    hits = idx.search("block stolen card payments while the customer waits", 3)
    assert hits[0].id == "stripe-2023-built-stripe-radar"
    assert len({h.id for h in hits}) == len(hits)  # grouped per document
    assert hits[0].snippet and hits[0].source == "corpus" and hits[0].url.startswith("https://")

    # Nothing changed: nothing re-embedded, nothing written.
    again = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus).sync()
    assert not again.changed and again.chunks_embedded == 0 and again.unchanged == len(SAMPLE)

    # One edited, one deleted: only the edited one is re-embedded, the deleted one disappears.
    edited = small_corpus / "netflix-2023-building-video-search.md"
    edited.write_text(edited.read_text().replace("## Since then", "## Since then\nZebra crossings.\n", 1)
                      if "## Since then" in edited.read_text() else edited.read_text() + "\n## Since then\nZebra crossings.\n")  # fmt: skip
    (small_corpus / "stripe-2023-built-stripe-radar.md").unlink()
    idx2 = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus)
    report = idx2.sync()
    assert (report.updated, report.removed, report.added) == (1, 1, 0)
    assert 0 < report.chunks_embedded <= 6
    assert idx2.corpus_version != version
    assert "stripe-2023-built-stripe-radar" not in [
        h.id for h in idx2.search("card fraud payments", 5)
    ]
    assert idx2.search("zebra crossings", 1)[0].id == "netflix-2023-building-video-search"


def test_modes_and_rrf() -> None:
    assert [k for k, _ in rrf([["a", "b"], ["b", "c"]])] == ["b", "a", "c"]


def test_a_malformed_document_is_reported_while_the_rest_index(
    tmp_path: Path, small_corpus: Path
) -> None:
    (small_corpus / "broken-2020-doc.md").write_text("---\nid: broken-2020-doc\n---\nno sections\n")
    report = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus).sync()
    assert report.added == len(SAMPLE)
    assert any("broken-2020-doc.md:2" in p.render() for p in report.problems)


def test_a_corrupt_index_names_the_rebuild_command(tmp_path: Path, small_corpus: Path) -> None:
    idx = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus)
    idx.sync()
    (tmp_path / "index" / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_, match="unreadable") as err:
        CorpusIndex(tmp_path / "index", corpus_dir=small_corpus).search("fraud")
    assert "crafter index --rebuild" in str(err.value)
    (tmp_path / "index" / "manifest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(IndexError_, match="incompatible"):
        CorpusIndex(tmp_path / "index", corpus_dir=small_corpus).search("fraud")
    rebuilt = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus).sync(rebuild=True)
    assert rebuilt.added == len(SAMPLE)


def test_user_corpus_markdown_text_and_pdf(tmp_path: Path, small_corpus: Path) -> None:
    mine = tmp_path / "postmortems"
    mine.mkdir()
    (mine / "pager.md").write_text(
        "# Pager storms\n\n## What happened\nOn-call engineers got 400 alerts in an hour.\n"
    )
    (mine / "notes.txt").write_text("Our warehouse robots misread damaged barcodes on pallets.\n")
    write_pdf(
        mine / "policy.pdf",
        ["Refund policy for marketplace sellers.", "Appeals are reviewed in 48 hours."],
    )
    (mine / "image.png").write_bytes(b"\x89PNG")
    idx = CorpusIndex(tmp_path / "index", corpus_dir=small_corpus)
    idx.add_source(mine, "postmortems")
    report = idx.sync()
    assert report.added == len(SAMPLE) + 3, report.problems
    top = idx.search("robots misreading barcodes", 1)[0]
    assert top.source == "postmortems" and top.url.startswith("file://")
    assert idx.search("seller refund appeals", 1)[0].id.startswith("postmortems-policy")
    idx.remove_source("postmortems")
    after = idx.sync()
    assert after.removed == 3
    with pytest.raises(UsageError, match="no user corpus"):
        idx.remove_source("postmortems")
    with pytest.raises(UsageError, match="bad label"):
        idx.add_source(mine, "Bad Label")


def test_llama_index_embedding_wrapper_matches_the_embedder() -> None:
    from crafter.retrieval.chroma_embedding import CrafterMiniLM
    from crafter.retrieval.embedding import shared_embedder
    from crafter.retrieval.llama_embedding import LlamaIndexMiniLM

    text = "route questions to people who can answer them"
    direct = shared_embedder().embed([text])[0]
    assert LlamaIndexMiniLM().get_text_embedding(text) == pytest.approx(direct.tolist(), abs=1e-6)
    assert list(CrafterMiniLM()([text])[0]) == pytest.approx(direct.tolist(), abs=1e-6)
    assert abs(float((direct**2).sum()) - 1.0) < 1e-4


def test_cli_index_search_json_contract_and_errors(tmp_path: Path, small_corpus: Path) -> None:
    index = str(tmp_path / "index")
    env = {"CRAFTER_CORPUS_DIR": str(small_corpus)}
    # An --index folder that holds no index is a mistake to report, not a place to build quietly.
    typo = run_cli("search", "fraud", "--index", str(tmp_path / "nope"), env=env)
    assert typo.returncode == 2 and "crafter index --index" in typo.stderr
    assert not (tmp_path / "nope").exists()
    built = run_cli("index", "--index", index, env=env)
    assert built.returncode == 0, built.stderr
    res = run_cli(
        "search", "predict when the food arrives", "--index", index, "--json", "-k", "2", env=env
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["query"] == "predict when the food arrives"
    assert len(data["results"]) == 2
    assert set(data) == {"query", "floor", "close_found", "message", "results"}
    assert set(data["results"][0]) == {
        "id",
        "title",
        "org",
        "year",
        "url",
        "score",
        "snippet",
        "source",
        "relevance",
        "relevant",
    }
    first_hit = data["results"][0]
    assert 0 <= first_hit["relevance"] <= 1
    assert first_hit["relevant"] == (first_hit["relevance"] >= data["floor"])
    # Nonsense finds nothing close, and says so (plain and JSON).
    junk = json.loads(run_cli("search", "zzqxj flurb", "--index", index, "--json", env=env).stdout)
    assert junk["close_found"] is False and "No close industry write-up" in junk["message"]
    assert not any(r["relevant"] for r in junk["results"])
    plain = run_cli("search", "zzqxj flurb", "--index", index, env=env)
    assert (
        "No close industry write-up" in plain.stdout and "below the relevance floor" in plain.stdout
    )
    # The default index folder (here CRAFTER_INDEX_DIR) is built on first use, with a note.
    first = run_cli("search", "fraud", env={**env, "CRAFTER_INDEX_DIR": str(tmp_path / "dflt")})
    assert first.returncode == 0 and "building it once" in first.stderr
    assert run_cli("search", "  ", "--index", index, env=env).returncode == 2
    noop = run_cli("index", "--index", index, env=env)
    assert noop.returncode == 0 and "0 added, 0 updated, 0 removed" in noop.stderr
    (Path(index) / "manifest.json").write_text("garbage")
    broken = run_cli("search", "fraud", "--index", index, env=env)
    assert broken.returncode == 2 and "crafter index --rebuild" in broken.stderr
    assert "Traceback" not in broken.stderr
    fixed = run_cli("index", "--rebuild", "--index", index, env=env)
    assert fixed.returncode == 0 and f"{len(SAMPLE)} added" in fixed.stderr
    listed = run_cli("index", "--list", "--index", index, env=env)
    assert "corpus" in listed.stdout and str(len(SAMPLE)) in listed.stdout


def test_fusion_ties_are_broken_by_id_not_by_input_order() -> None:
    # "x" and "y" each sit at rank 2 of one list: equal scores, in either order of the lists.
    one = rrf([["a", "x"], ["b", "y"]])
    two = rrf([["b", "y"], ["a", "x"]])
    assert one == two and [k for k, _ in one] == ["a", "b", "x", "y"]


def _edited_copy(folder: Path, n: int) -> Path:
    """``n`` bundled documents with a changed line, so nothing matches the shipped vectors and
    a build really embeds (slow enough to interrupt)."""
    folder.mkdir()
    from crafter.retrieval.corpus import iter_corpus_files

    for path in list(iter_corpus_files(data_dir("reference_corpus")))[:n]:
        text = path.read_text(encoding="utf-8").replace("## Problem\n", "## Problem\nEdited. ", 1)
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


def test_a_rebuild_keeps_registrations_and_switches_generation(tmp_path: Path) -> None:
    corpus = _edited_copy(tmp_path / "corpus", 3)
    user = tmp_path / "notes"
    user.mkdir()
    (user / "a.md").write_text("# Our routing notes\n\nExperts get 40 pings a day.\n")
    idx = CorpusIndex(tmp_path / "index", corpus_dir=corpus)
    idx.add_source(user, "notes")
    idx.sync()
    first = idx.manifest().get("generation", "")
    idx2 = CorpusIndex(tmp_path / "index", corpus_dir=corpus)
    idx2.sync(rebuild=True)
    second = idx2.manifest()["generation"]
    assert second and second != first
    assert "notes" in CorpusIndex(tmp_path / "index", corpus_dir=corpus).registered()
    leftovers = sorted(p.name for p in (tmp_path / "index").iterdir() if p.is_dir())
    assert leftovers == [second], "the old generation is removed; nothing orphaned"
    collection = idx2._open_collection()
    assert collection.count() == len(idx2._load_chunks())
    assert [h.id for h in idx2.search("pings a day", 1)] == ["notes-a"]


def test_kill_9_during_a_rebuild_leaves_the_old_index_and_its_registrations(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    corpus = _edited_copy(tmp_path / "corpus", 40)
    env = {
        **os.environ,
        "CRAFTER_CORPUS_DIR": str(corpus),
        "CRAFTER_INDEX_DIR": str(tmp_path / "idx"),
    }
    user = tmp_path / "notes"
    user.mkdir()
    (user / "a.md").write_text("# Our routing notes\n\nExperts get 40 pings a day.\n")
    cli = [sys.executable, "-m", "crafter"]
    assert (
        subprocess.run(
            [*cli, "index", "--add", str(user), "--label", "notes"], env=env, capture_output=True
        ).returncode
        == 0
    )
    before = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    proc = subprocess.Popen(
        [*cli, "index", "--rebuild"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    gen_dirs: list[Path] = []
    deadline = time.monotonic() + 120
    while not gen_dirs and time.monotonic() < deadline:  # the new generation is being written
        gen_dirs = [
            p for p in (tmp_path / "idx").glob("g*-*") if p.name != before.get("generation")
        ]
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert after.get("generation") == before.get("generation") and after["docs"] == before["docs"]
    res = subprocess.run(
        [*cli, "search", "pings a day", "--json"], env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["results"][0]["id"] == "notes-a"
    listed = subprocess.run([*cli, "index", "--list"], env=env, capture_output=True, text=True)
    assert "notes" in listed.stdout
