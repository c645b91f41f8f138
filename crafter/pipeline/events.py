"""Stage events: what the CLI's Rich display and the TUI's messages are driven by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

STAGES = ("frame", "research", "draft", "critique", "revise")
EventKind = Literal["started", "progress", "finished", "failed", "skipped"]


@dataclass(frozen=True)
class StageEvent:
    stage: str
    kind: EventKind
    message: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0
    done: int = 0
    total: int = 0


EventSink = Callable[[StageEvent], None]


def ignore(_: StageEvent) -> None:
    """The default sink: nobody is watching."""


class Cancelled(Exception):
    """The run was cancelled between two steps; finished stages are kept and can be resumed."""
