"""The task a prompt asks for, and the twists a scenario already carries (exposure check).

Sentence vectors and shared words tell a domain apart, not a task: "an ETA for each freight load"
sits close to "price freight shipments". ``evals/exposure/tasks.yaml`` names task families by cue
words; when a scenario's title and a published prompt both name tasks and none agrees, the two ask
different things in one domain. The same file says what counts as a scenario's own twists (hooks
that make a published walkthrough insufficient, which is what the warning's fix asks for).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crafter.errors import UsageError
from crafter.resources import data_dir

if TYPE_CHECKING:
    from crafter.evals.document import LintDoc

_MAX_CUES = 200  # per task: a bound on what a hand-edited file can make us compile
_MAX_CHARS = 600  # of text whose tasks are read
_TITLE_WORDS = 14


def frames_path() -> Path:
    return data_dir("evals") / "exposure" / "tasks.yaml"


@dataclass(frozen=True)
class Frames:
    tasks: tuple[tuple[str, re.Pattern[str]], ...]
    compatible: frozenset[frozenset[str]]
    retarget_at: float
    min_hooks: int
    min_words: int
    label: re.Pattern[str]

    def tasks_of(self, text: str) -> frozenset[str]:
        low = text[:_MAX_CHARS].lower().replace("-", " ")
        return frozenset(name for name, rx in self.tasks if rx.search(low))

    def clash(self, mine: frozenset[str], theirs: frozenset[str]) -> bool:
        """Both name tasks and none agrees: the same domain, a different problem."""
        if not mine or not theirs or mine & theirs:
            return False
        return not any(frozenset((a, b)) in self.compatible for a in mine for b in theirs)


def _cue_pattern(cues: Iterable[str]) -> re.Pattern[str]:
    # Literal alternatives only (escaped), each bounded by word edges: linear in the text.
    parts = []
    for cue in cues:
        c = " ".join(cue.lower().replace("-", " ").split())  # "prep-time" reads as "prep time"
        if c.endswith("*"):
            parts.append(re.escape(c[:-1]) + r"[a-z0-9]*")
        elif c:
            parts.append(re.escape(c))
    parts.sort(key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


@cache
def frames() -> Frames:
    """The task families and twist rules; a missing or malformed file is a UsageError naming it."""
    path = frames_path()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"exposure task file missing: {path}", hint="reinstall crafter or restore the file"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"exposure task file {path} is unreadable: {exc}") from None
    try:
        tasks = []
        for name, cues in raw["tasks"].items():
            if not isinstance(cues, list) or not cues or len(cues) > _MAX_CUES:
                raise ValueError(f"task {name!r} needs 1 to {_MAX_CUES} cues")
            tasks.append((str(name), _cue_pattern(str(c) for c in cues)))
        names = {n for n, _ in tasks}
        compatible = set()
        for pair in raw.get("compatible") or []:
            if not isinstance(pair, list) or len(pair) != 2 or not set(pair) <= names:
                raise ValueError(f"compatible pair {pair!r} must name two tasks")
            compatible.add(frozenset(str(p) for p in pair))
        twists = raw["twists"]
        labels = [str(x) for x in twists["labels"]]
        label = re.compile(
            r"^[ \t>*_#-]{0,12}(" + "|".join(re.escape(x.lower()) for x in labels) + r")\b"
        )
        return Frames(
            tuple(tasks), frozenset(compatible), float(raw["retarget_at"]),
            int(twists["min_hooks"]), int(twists["min_words"]), label,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"exposure task file {path} is malformed: {exc}") from None


def title_of(doc: LintDoc) -> str:
    """What names a scenario's task: its title, or a page's first line when it is short."""
    if doc.scenario is not None:
        return doc.scenario.title
    for seg in doc.segments:
        first = seg.text.strip().split("\n", 1)[0]
        words = first.strip("#*_ >").split()
        return " ".join(words) if len(words) <= _TITLE_WORDS else ""
    return ""


def seed_title(seed: str) -> str:
    """A seed's first sentence, when short, stands for its title."""
    first = re.split(r"(?<=[.!?])\s", seed.strip(), maxsplit=1)[0]
    words = first.split()
    return " ".join(words) if len(words) <= _TITLE_WORDS else ""


def twists_of(doc: LintDoc) -> str:
    """The scenario's own twists, named for a message ("hooks h1, h2, h3"; "the section 'The
    twist'"), or "" when it has none that count."""
    f = frames()
    if doc.scenario is not None:
        from crafter.domain.text import is_placeholder

        hooks = doc.scenario.hooks
        if any(is_placeholder(h.detail) or is_placeholder(h.decision_forced) for h in hooks):
            return ""  # an unfinished hook: the twist the warning asks for is not written yet
        if len(hooks) >= f.min_hooks:
            return "its hooks " + ", ".join(h.id for h in hooks[:6])
        return ""
    segments = doc.segments
    for i, seg in enumerate(segments):
        m = f.label.match(seg.low.lstrip())
        if m is None:
            continue
        words = len(seg.text.split())
        if words < f.min_words and i + 1 < len(segments):
            words += len(segments[i + 1].text.split())  # a heading, and the paragraph under it
        if words >= f.min_words:
            return f"its section {m.group(1)!r}"
    return ""
