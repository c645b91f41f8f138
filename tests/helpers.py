"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from crafter.pipeline import build_worksheet

SLACK_SEED = (
    "Route questions asked in our #ask-eng Slack channel to the people who can answer them."
)


def content_dict(seed: str = SLACK_SEED) -> dict[str, Any]:
    """A schema-valid ScenarioContent as plain JSON data, as a model would return it."""
    return build_worksheet(seed, "staff").model_dump(mode="json")


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crafter", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        input=stdin,
        timeout=300,
    )


def floor_for_a_small_corpus(monkeypatch: Any, floor: float = 0.5) -> None:
    """Lower the relevance floor for a test corpus of a few documents.

    The shipped floor is fitted on graded pairs from the full corpus. A corpus of two or four
    documents gives different features (BM25 relative to the best of a tiny pool), so a document
    that clears the floor in the full corpus can miss it there. Tests of how a screen or a batch
    treats documents above and below the floor set the floor with this instead of depending on the
    fitted value."""
    import dataclasses

    from crafter.retrieval import relevance

    shipped = relevance.load_model()
    monkeypatch.setattr(relevance, "load_model", lambda: dataclasses.replace(shipped, floor=floor))
