"""What one screen hands the next: the request the user composed, before anything runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DraftJob:
    """A checked seed, its level and date, the model chosen, and the research choices."""

    seed: str
    level: str
    as_of: dt.date
    model_id: str
    research: bool = False
    # Document ids the user excluded on the research screen.
    exclude: frozenset[str] = field(default_factory=frozenset)
