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
    res = run_cli("draft", SLACK_SEED, "--model", "local:smollm2", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    scenario = load_scenario(Path(res.stdout.strip()))
    assert isinstance(scenario, Scenario)
    p = scenario.provenance
    assert p.model == "local:smollm2" and p.prompt_version == "draft@1"
    assert p.input_tokens > 100 and p.output_tokens > 50 and p.cost_usd == 0.0
    assert "only proves the pipeline" in res.stderr


def test_a_tampered_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crafter.errors import ProviderError
    from crafter.providers.local import verify_sha256

    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not the model")
    with pytest.raises(ProviderError, match="sha256"):
        verify_sha256(fake, LOCAL_MODELS["smollm2"].sha256)
