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
