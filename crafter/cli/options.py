"""Command-line options that several commands share (declared once, so they read alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crafter.errors import UsageError

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder (default: a per-user data folder).")
]
PollIntervalOpt = Annotated[
    float,
    typer.Option("--poll-interval", min=0.01, help="Seconds between batch status checks."),
]
NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait", help="With --batch-api: submit or collect once, then exit; rerun to go on."
    ),
]


def check_no_wait(no_wait: bool, batch_api: bool) -> None:
    if no_wait and not batch_api:
        raise UsageError("--no-wait only applies to --batch-api", hint="add --batch-api")
