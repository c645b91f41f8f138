"""The embedded model end to end: real xllamacpp server, real GGUF (sha256-checked), valid Scenario."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from crafter.domain import Scenario, load_scenario
from crafter.providers.local import LOCAL_MODELS, model_file
from tests.helpers import SLACK_SEED, run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None
        or model_file(LOCAL_MODELS["smollm2"]) is None,
        reason="local model not installed (make test installs it)",
    ),
]


def test_local_model_drafts_a_schema_valid_scenario(tmp_path: Path) -> None:
    res = run_cli(
        "draft",
        SLACK_SEED,
        "--model",
        "local:smollm2",
        "--out",
        str(tmp_path),
        "--no-research",
        "--rounds",
        "0",
        "--runs",
        str(tmp_path / "runs"),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    scenario = load_scenario(Path(res.stdout.strip()))
    assert isinstance(scenario, Scenario)
    p = scenario.provenance
    assert p.model == "local:smollm2" and p.prompt_version == "draft@3"
    assert p.input_tokens > 100 and p.output_tokens > 50 and p.cost_usd == 0.0
    assert "only proves the pipeline" in res.stderr


def test_a_tampered_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crafter.errors import ProviderError
    from crafter.providers.local import verify_sha256

    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not the model")
    with pytest.raises(ProviderError, match="sha256"):
        verify_sha256(fake, LOCAL_MODELS["smollm2"].sha256)


def test_local_model_runs_the_whole_staged_pipeline(tmp_path: Path) -> None:
    import datetime as dt
    import shutil

    from crafter.pipeline import PipelineConfig, run_pipeline
    from crafter.providers import build_provider
    from crafter.resources import data_dir
    from crafter.retrieval.index import CorpusIndex

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in (
        "slack-2016-personalized-channel-recommendations-slack",
        "stripe-2023-built-stripe-radar",
    ):
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", corpus)
    index = CorpusIndex(tmp_path / "index", corpus_dir=corpus)
    # Bounded work: no revision round (revise is covered with fakes); three model calls in all.
    config = PipelineConfig(model=build_provider("local:smollm2"), index=index, rounds=0)
    result = run_pipeline(
        SLACK_SEED, "staff", dt.date(2026, 11, 1), config, runs_root=tmp_path / "runs"
    )
    names = [r.name for r in result.records]
    assert names[:4] == ["frame", "research", "draft", "critique"]
    assert all(r.input_tokens > 0 for r in result.records if r.name in ("frame", "draft"))
    # Whatever the small model cited, only retrieved documents survive as references.
    ids = {r.id for r in result.scenario.references}
    assert ids <= {
        "slack-2016-personalized-channel-recommendations-slack",
        "stripe-2023-built-stripe-radar",
    }
    assert (result.run.path / "scenario.yaml").is_file()  # type: ignore[union-attr]
