"""``crafter tui``: open the terminal UI (imported only when the command runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crafter.errors import UsageError


def tui(
    library: Annotated[
        Path | None,
        typer.Argument(
            help="Library folder to list and save into (default scenarios/), or a scenario file to open."
        ),
    ] = None,
) -> None:
    """Open the terminal UI: type a seed, research, draft, edit with live lint, save and export."""
    if library is not None and library.is_file() and library.suffix not in (".yaml", ".yml"):
        raise UsageError(
            f"{library} is neither a library folder nor a scenario YAML file",
            hint="pass the folder that holds your scenarios, e.g. crafter tui scenarios",
        )
    # Lazy: Textual and the app load only for this command, so `crafter --help` stays fast. This
    # is the CLI's one link to the TUI; pyproject's "core never imports textual" contract allows it.
    from crafter_tui.app import create_app

    create_app(library).run()
