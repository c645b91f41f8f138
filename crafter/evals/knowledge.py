"""What the checks know, read from YAML under evals/knowledge/ (reviewable without touching code)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from crafter.resources import data_dir


def _split_top(pattern: str) -> list[str]:
    """Split a regex at its top-level ``|``."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _leading_literal(alt: str) -> str:
    """The plain text every match of ``alt`` starts with ('' if there is none worth using)."""
    alt = alt.removeprefix("(?:")
    while alt.startswith(("\\b", "^")):
        alt = alt[2:] if alt.startswith("\\b") else alt[1:]
    out = ""
    for i, c in enumerate(alt):
        if c.isalnum() or c in " /@'-":
            nxt = alt[i + 1] if i + 1 < len(alt) else ""
            if nxt in "?*{":
                break  # this character is optional
            out += c
        else:
            break
    return out


class FastPattern:
    """A compiled regex with a cheap substring pre-check.

    Python's ``re`` has no literal prefilter for alternations: when every top-level alternative
    starts with a known word, ``any(word in text)`` rules most texts out at C speed first.
    """

    def __init__(self, pattern: str, flags: int = 0, requires: tuple[str, ...] = ()) -> None:
        self.rx = re.compile(pattern, flags)
        self.pattern = pattern
        literals = [_leading_literal(a) for a in _split_top(pattern)]
        auto = tuple(literals) if all(len(x) >= 3 for x in literals) else ()
        self.literals = requires or auto
        # Leading literals also say where a match can start; ``requires`` words only that one exists.
        self.leading = not requires and bool(auto)

    def search(self, text: str) -> re.Match[str] | None:
        if not self.literals:
            return self.rx.search(text)
        starts = [i for lit in self.literals if (i := text.find(lit)) >= 0]
        if not starts:
            return None
        # With leading literals every match starts at one of them: skip the text before the first.
        return self.rx.search(text, min(starts) if self.leading else 0)

    def findall(self, text: str) -> list[str]:
        if self.literals and not any(lit in text for lit in self.literals):
            return []
        return self.rx.findall(text)


def _rx(patterns: list[str], flags: int = 0, requires: list[str] | None = None) -> FastPattern:
    # Patterns are matched against lowercased text (see evals/knowledge/*.yaml). Joining at the
    # top level keeps every alternative visible to the literal pre-check.
    return FastPattern("|".join(patterns), flags, tuple(requires or ()))


@dataclass(frozen=True)
class Era:
    id: str
    name: str
    stale_since: dt.date
    patterns: FastPattern
    with_: FastPattern | None
    replaced_by: str
    source: str


@dataclass(frozen=True)
class Algorithm:
    name: str
    patterns: FastPattern


@dataclass(frozen=True)
class Knowledge:
    eras: tuple[Era, ...]
    history_cues: FastPattern
    rereview_after_months: int
    old_reference_years: int
    algorithms: tuple[Algorithm, ...]
    pressure: FastPattern
    background: FastPattern
    rederive_suggestion: str
    systems: tuple[FastPattern, ...]
    ml: tuple[FastPattern, ...]
    stages: dict[str, FastPattern]
    narrowing: FastPattern
    generic: tuple[FastPattern, ...]
    checklist: FastPattern


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((data_dir("evals") / "knowledge" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@cache
def knowledge() -> Knowledge:
    stale = _load("staleness.yaml")
    red = _load("rederive.yaml")
    voc = _load("vocabulary.yaml")
    eras = tuple(
        Era(
            id=e["id"],
            name=e["name"],
            stale_since=e["stale_since"]
            if isinstance(e["stale_since"], dt.date)
            else dt.date.fromisoformat(str(e["stale_since"])),
            patterns=_rx(e["patterns"], requires=e.get("requires")),
            with_=_rx(e["with"]) if e.get("with") else None,
            replaced_by=" ".join(str(e["replaced_by"]).split()),
            source=str(e.get("source", "")),
        )
        for e in stale["eras"]
    )
    return Knowledge(
        eras=eras,
        history_cues=_rx(stale["history_cues"]),
        rereview_after_months=int(stale["rereview_after_months"]),
        old_reference_years=int(stale["old_reference_years"]),
        algorithms=tuple(Algorithm(a["name"], _rx(a["patterns"])) for a in red["algorithms"]),
        pressure=_rx(red["pressure"]),
        background=_rx(red["background"]),
        rederive_suggestion=" ".join(str(red["suggestion"]).split()),
        systems=tuple(FastPattern(p) for p in voc["systems"]),
        ml=tuple(FastPattern(p) for p in voc["ml"]),
        stages={name: _rx(pats) for name, pats in voc["stages"].items()},
        narrowing=_rx(voc["narrowing"], re.M),
        generic=tuple(FastPattern(p) for p in voc["generic"]),
        checklist=_rx(voc["checklist"]),
    )
