"""The semantic layer: issue 14's patterns, scoping, fixes that fit, the result cache, bad
exemplar or table files, and hostile text staying linear."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from crafter.errors import UsageError
from crafter.evals.lint import lint_paths, lint_text
from crafter.evals.semantic import detector as det
from crafter.evals.semantic.exemplars import load_set
from crafter.evals.semantic.static import StaticEmbedder, table_paths

DAY = dt.date(2026, 11, 1)


def _checks(text: str, path: str = "q.md") -> dict[str, str]:
    result = lint_text(text, DAY, path)
    return {f.check: f.severity for f in result.findings if f.severity != "info"}


def _messages(text: str) -> list[str]:
    return [
        f"{f.check}: {f.message} | {f.suggestion}" for f in lint_text(text, DAY, "q.md").findings
    ]


def test_bare_prompt_is_vague_whatever_numbers_the_rubric_holds() -> None:
    text = (
        "Design a recommendation system.\n\nRubric:\n- Hire: handles 10M users, 50 ms p99, "
        "$2 per 1k requests, 3 data sources.\n- Strong hire: 20% lift over 4 weeks.\n"
    )
    assert _checks(text).get("vagueness") == "error"


def test_a_deep_dive_header_alone_is_not_coverage() -> None:
    text = (
        "A hospital network with 14 sites wants to predict no-shows for 30,000 weekly outpatient "
        "appointments so schedulers can overbook; an overbooked slot that fills costs patients a "
        "40 minute wait.\n\nDesign the system.\n\n## Deep-dive talking points\n"
        "- labels from the 3 years of scheduling logs\n- evaluation by site\n"
    )
    assert "coverage" not in _checks(text)


def test_a_payments_ledger_is_not_ml_design() -> None:
    text = (
        "# Payments ledger\n\nDesign a payments ledger for our wallet app: 2,000 transfers a "
        "second, every transfer recorded exactly once in a double-entry database, sharded by "
        "account, with replicas in two regions and idempotent APIs.\n"
    )
    found = lint_text(text, DAY, "q.md").findings
    assert any(f.check == "ml-clothing" and "no ML decision" in f.message for f in found)


def test_name_dropping_rubric_is_buzzword() -> None:
    text = (
        "A grocery app with 2M weekly shoppers suggests substitutes for out-of-stock items; 8% of "
        "orders miss an item and shoppers reject 30% of substitutes. We have 2 years of logs.\n\n"
        "Design the system.\n\n## Rubric\n- Hire: discusses HNSW, FAISS and vector databases.\n"
        "- Strong hire: can explain how Google/Meta/OpenAI use hybrid approaches.\n"
    )
    assert _checks(text).get("buzzword") == "warning"


def test_an_unnamed_ambush_is_rederive_and_says_what_it_resembled() -> None:
    text = (
        "Our marketplace has 40M product pages and 3M new ones a day from seller feeds.\n\n"
        "Question: derive an algorithm that finds near-duplicates without comparing every pair "
        "of documents, and show how often it wrongly pairs two different pages.\n"
    )
    found = [f for f in lint_text(text, DAY, "q.txt").findings if f.check == "rederive"]
    assert found and "close to '" in found[0].message and found[0].location
    # The issue's own wording ("prove its false-positive rate") is caught by the frame rule.
    issue = text.replace(
        "show how often it wrongly pairs two different pages", "prove its false-positive rate"
    )
    assert [f.severity for f in lint_text(issue, DAY, "q.txt").findings if f.check == "rederive"]


def test_implementing_dropout_is_not_told_to_add_product_context() -> None:
    messages = _messages("Implement dropout forward and backward in NumPy.\n")
    assert any(m.startswith("rederive:") for m in messages)
    assert not any("product context" in m for m in messages if not m.startswith("input"))
    assert _checks("Implement dropout forward and backward in NumPy.\n").get("vagueness") is None


def test_handing_over_the_algorithm_is_not_an_ambush() -> None:
    text = (
        "Our marketplace has 40M listings and 3M new ones a day. A MinHash library is provided "
        "and already runs nightly; decide what threshold to use for our 25,000 daily reviews "
        "and how to measure whether it removes legitimate listings.\n"
    )
    assert "rederive" not in _checks(text)


def test_adding_an_exemplar_changes_the_detector_without_code(tmp_path: Path) -> None:
    source = load_set(Path("evals/knowledge/semantic/rederive.yaml"))
    odd = "Recite the seventeen steps of the quarterly budget ritual verbatim."
    before = det.Detector(source).judge([odd])[0].probability
    richer = det.Detector(
        type(source)(source.check, source.label, source.threshold,
                     (*source.positives, odd), source.negatives, source.extra)
    )  # fmt: skip
    assert richer.judge([odd])[0].probability > before


@pytest.mark.parametrize(
    "content",
    ["", "check: x\nthreshold: 2\npositives: [a, b, c]\nnegatives: [a, b, c]\n", "positives: [\n"],
)
def test_a_bad_exemplar_file_is_a_usage_error_naming_it(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "rederive.yaml"
    bad.write_text(content)
    with pytest.raises(UsageError) as err:
        load_set(bad)
    assert str(bad) in err.value.message
    with pytest.raises(UsageError, match="missing"):
        load_set(tmp_path / "nope.yaml")


def test_a_corrupt_or_missing_table_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    table, meta = table_paths()
    with pytest.raises(UsageError, match="missing"):
        StaticEmbedder(tmp_path)
    (tmp_path / table.name).write_bytes(table.read_bytes()[:-1] + b"\x01")
    (tmp_path / meta.name).write_bytes(meta.read_bytes())
    with pytest.raises(UsageError) as err:
        StaticEmbedder(tmp_path)
    assert table.name in err.value.message


def test_cli_reports_a_broken_exemplar_file_with_exit_2(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    (tmp_path / "semantic").mkdir()
    q = tmp_path / "q.md"
    q.write_text("Design a recommendation system for our 3M shoppers with 2 years of logs.\n")
    result = run_cli(
        "lint", "--no-cache", str(q), env={"CRAFTER_SEMANTIC_DIR": str(tmp_path / "semantic")}
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "semantic exemplar file missing" in result.stderr + result.stdout
    assert "vagueness.yaml" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_the_result_cache_reuses_unchanged_files_and_no_cache_skips_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache of its own: the entries poisoned below must not leak into other tests' runs.
    monkeypatch.setenv("CRAFTER_CACHE_DIR", str(tmp_path / "cache"))
    q = tmp_path / "q.md"
    q.write_text("Design a recommendation system.\n")
    first = lint_paths([str(q)], DAY, exposure=None)
    cache = tmp_path / "cache" / "lint"
    stored = list(cache.rglob("*.json"))
    assert stored
    again = lint_paths([str(q)], DAY, exposure=None)
    assert [f.as_json() for f in again.results[0].findings] == [
        f.as_json() for f in first.results[0].findings
    ]
    # A poisoned entry is not trusted blindly when the key differs (another as-of date).
    other = lint_paths([str(q)], dt.date(2027, 1, 1), exposure=None, cache=False)
    assert other.results[0].findings
    for p in stored:
        p.write_text(json.dumps({"findings": [], "scores": {}}))
    assert lint_paths([str(q)], DAY, exposure=None, cache=False).results[0].findings


@pytest.mark.parametrize("unit", ["derive ", "a", " ", "prove MinHash. ", "Design a system. "])
def test_hostile_runs_stay_linear(unit: str) -> None:
    def cost(n: int) -> float:
        text = "Design a search system for 3M users.\n\n" + unit * n
        started = time.perf_counter()
        lint_text(text, DAY, "q.md")
        return time.perf_counter() - started

    cost(200)
    small, big = cost(5_000), cost(40_000)
    assert big < max(small, 0.02) * 8 * 3, (small, big)


def _checks_of(text: str, path: str = "q.md") -> dict[str, str]:
    return {f.check: f.severity for f in lint_text(text, DAY, path).findings}


def test_a_rubric_that_counts_names_is_buzzword() -> None:
    text = (
        "# Parcel ETA\n\nOur courier network delivers 900k parcels a day across 40 depots; "
        "customers get a 2-hour window and 8% of windows are missed. Design the ETA system.\n\n"
        "Rubric: one point for each technique named (gradient boosting, graph networks, "
        "quantile loss, conformal intervals). 3+ points = hire.\n"
    )
    assert "buzzword" in _checks_of(text)
    plain = text.replace(
        "one point for each technique named (gradient boosting, graph networks, quantile loss, "
        "conformal intervals). 3+ points = hire.",
        "hire when the candidate picks a loss for the 2-hour window and says how 8% misses "
        "would move it.",
    )
    assert "buzzword" not in _checks_of(plain)


def test_an_answer_key_that_turns_a_current_approach_away_is_stale() -> None:
    text = (
        "# Contract clause search\n\nOur legal team of 30 searches 200k contracts for risky "
        "clauses; today they use keyword search and miss paraphrases. Design the system.\n\n"
        "Expected answer: keyword rules plus a TF-IDF ranker. Embedding models are overkill "
        "here; if the candidate brings up an LLM, steer them back.\n"
    )
    assert _checks_of(text).get("staleness") == "error"
    weighed = text.replace(
        "Embedding models are overkill here; if the candidate brings up an LLM, steer them back.",
        "A strong candidate compares an embedding model with the TF-IDF ranker on recall of "
        "paraphrases and on cost per query.",
    )
    # Weighing the current approach is not turning it away: no error. The document model may still
    # warn, as the expected answer names only the older approach.
    assert _checks_of(weighed).get("staleness") != "error"


def test_a_marker_word_in_the_title_line_does_not_end_the_prompt() -> None:
    from crafter.evals.document import from_text

    doc = from_text(
        "q.txt",
        "Hiring bar notes, design round: returns fraud\n\nA retailer with 1,200 stores sees "
        "4% of returns abused. Design the detection system.\n\nRubric: hire when ...\n",
    )
    parts = [(s.part, s.text.split()[0]) for s in doc.segments]
    assert parts[1] == ("prompt", "A") and parts[-1] == ("answer", "Rubric:")
    looked = from_text("q.txt", "Route tickets to queues.\n\nLook for: queue taxonomy, costs.\n")
    assert [s.part for s in looked.segments] == ["prompt", "answer"]


def test_model_mentions_do_not_make_a_pipeline_question_ml_design() -> None:
    text = (
        "# Inference logging\n\nDesign the pipeline that captures every request and response "
        "from our 35 deployed models (2B events a day) so teams can build training sets later. "
        "Cover the Kafka partitioning, the schema registry, batching into parquet on object "
        "storage, retention tiers and storage cost.\n"
    )
    assert "ml-clothing" in _checks_of(text)


def test_the_sentence_memo_clears_without_losing_a_batch_it_still_needs() -> None:
    # After 20,000 distinct sentences the memo was cleared while a batch that mixed remembered
    # and new sentences was being filled: a KeyError stopped a long lint run.
    import numpy as np

    from crafter.evals.semantic.static import StaticEmbedder, shared_static

    embedder = StaticEmbedder.__new__(StaticEmbedder)
    embedder.__dict__.update(shared_static().__dict__)
    remembered = [f"sentence number {i} about rides" for i in range(4)]
    vectors = shared_static()._embed(remembered)
    embedder._memo = {f"filler {i}": vectors[0] for i in range(20_001)}
    embedder._memo.update(zip(remembered, vectors, strict=True))
    batch = [*remembered, "a new one", "and another"]
    out = embedder.embed(batch)
    assert np.allclose(out[:4], vectors)
    assert np.allclose(out[4:], shared_static()._embed(batch[4:]))
    assert len(embedder._memo) <= 20_000
