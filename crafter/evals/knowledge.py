"""What the checks know, read from YAML under evals/knowledge/ (reviewable without touching code)."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from crafter.resources import data_dir


def _split_top(pattern: str) -> list[str]:
    """Split a regex at its top-level ``|`` (callers check that each part compiles)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            # Skip the class: brackets and bars inside it are plain characters.
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":
                i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


# re's own parser: it says exactly what a pattern matches, escapes and classes included. It is
# private; if a future Python moves it, every pattern falls back to a plain search.
try:
    _sre: Any = importlib.import_module("re._parser")
    _ops: Any = importlib.import_module("re._constants")
    _ZERO_WIDTH: tuple[Any, ...] = (_ops.AT, _ops.ASSERT, _ops.ASSERT_NOT)
except (ImportError, AttributeError):  # pragma: no cover - depends on the Python version
    _sre = _ops = None
    _ZERO_WIDTH = ()
_MAX_PREFIXES = 16
# Once every prefix is this long, more (longer) alternatives cost more finds than they save.
_LONG_ENOUGH = 4


def _seq_prefixes(items: Any) -> tuple[set[str], bool]:
    """Strings every match of the parsed sequence ``items`` starts with, and whether they are
    exactly what it matches (so that what follows can extend them)."""
    out = {""}
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        part = _node_prefixes(op, av)
        if part is None:
            return out, False
        strings, exact = part
        grown = {p + s for p in out for s in strings}
        if len(grown) > len(out) and (
            len(grown) > _MAX_PREFIXES or min(map(len, out)) >= _LONG_ENOUGH
        ):
            return out, False
        out = grown
        if not exact:
            return out, False
    return out, True


def _node_prefixes(op: Any, av: Any) -> tuple[set[str], bool] | None:
    """What one parsed element starts with (as ``_seq_prefixes``), None if it is not text."""
    if op is _ops.LITERAL:
        return {chr(av)}, True
    if op is _ops.IN:
        if len(av) <= _MAX_PREFIXES and all(o is _ops.LITERAL for o, _ in av):
            return {chr(v) for _, v in av}, True
        return None
    if op is _ops.SUBPATTERN:
        _, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else _seq_prefixes(sub)
    if op is _ops.BRANCH:
        found = [_seq_prefixes(b) for b in av[1]]
        union = set().union(*(f[0] for f in found))
        if len(union) > _MAX_PREFIXES:
            return None
        return union, all(f[1] for f in found)
    if op in (_ops.MAX_REPEAT, _ops.MIN_REPEAT):
        lo, hi, sub = av
        strings, exact = _seq_prefixes(sub)
        if (lo, hi) == (0, 1):
            return strings | {""}, exact
        if lo >= 1:
            return strings, exact and lo == hi == 1
    return None


def _contains(items: Any) -> tuple[str, ...]:
    """Strings one of which every match of ``items`` contains, () if there are none: the most
    selective set (longest shortest string, then fewest) found along the sequence."""
    seq = list(items)
    best: tuple[str, ...] = ()
    for j in range(1, len(seq)):
        strings, _ = _seq_prefixes(seq[j:])
        if "" in strings:
            continue
        found = tuple(sorted(strings))
        rank = (min(map(len, found)), -len(found))
        if not best or rank > (min(map(len, best)), -len(best)):
            best = found
    return best


Unanchored = tuple[re.Pattern[str], tuple[str, ...]]


def _anchors(pattern: str, flags: int) -> tuple[tuple[str, ...], tuple[Unanchored, ...]] | None:
    """(literals, unanchored alternatives) for ``pattern``, or None if it cannot be analysed.

    Every match of the pattern starts with one of the literals, or is a match of an unanchored
    alternative (compiled on its own, with strings one of which its matches contain, if known).
    """
    if _sre is None:  # pragma: no cover - see the import above
        return None
    literals: set[str] = set()
    unanchored = []
    try:
        whole = re.compile(pattern, flags).flags
        if whole & (re.IGNORECASE | re.VERBOSE):
            return None  # literals would not match as written, or comments could hide a "|"
        for alt in _split_top(pattern):
            rx = re.compile(alt, flags)
            if rx.flags != whole:
                return None  # an inline global flag: the split would move it
            parsed = _sre.parse(alt, flags)
            prefixes, _ = _seq_prefixes(parsed)
            if "" in prefixes:
                unanchored.append((rx, _contains(parsed)))
            else:
                literals |= prefixes
    except (re.error, TypeError, ValueError, AttributeError):
        return None  # not split at real alternatives, or a parser this code does not know
    # A literal that starts with another adds no candidate the shorter one does not give.
    kept: list[str] = []
    for lit in sorted(literals, key=len):
        if not any(lit.startswith(k) for k in kept):
            kept.append(lit)
    return tuple(kept), tuple(unanchored)


class FastPattern:
    """A compiled regex that finds where a match can start before running it.

    Python's ``re`` scans an alternation (or a pattern opening with ``\\b``) position by position.
    Most patterns here start with one of a few words: ``str.find`` locates those at C speed, and
    the regex then only runs where they occur. Results are those of ``re.search``.
    """

    def __init__(self, pattern: str, flags: int = 0, requires: tuple[str, ...] = ()) -> None:
        self.rx = re.compile(pattern, flags)
        self.pattern = pattern
        # Words of which one must occur for any match to count (a rule from the knowledge YAML).
        self.requires = requires
        anchors = _anchors(pattern, flags)
        self.literals, self.unanchored = anchors if anchors else ((), ())
        self.anchored = bool(anchors) and not self.unanchored

    def may_match(self, text: str) -> bool:
        """False only when no substring of ``text`` can match: a required word or every literal
        a match must start with is absent from it (a quick screen before many searches)."""
        if self.requires and not any(w in text for w in self.requires):
            return False
        if not self.anchored or not self.literals:
            return True
        return any(lit in text for lit in self.literals)

    def search(self, text: str) -> re.Match[str] | None:
        if self.requires and not any(w in text for w in self.requires):
            return None
        literals = self.literals
        if not literals:
            return self.rx.search(text)
        # A match of an unanchored alternative bounds where the literals are worth looking.
        limit = -1
        for rx, contains in self.unanchored:
            if contains and not any(w in text for w in contains):
                continue
            m = rx.search(text)
            if m and (limit < 0 or m.start() < limit):
                limit = m.start()
        # The leftmost literal: each find looks only before the best candidate so far.
        best = limit
        for lit in literals:
            i = text.find(lit) if best < 0 else text.find(lit, 0, best - 1 + len(lit))
            if i >= 0:
                best = i
        if best < 0:
            return None
        # re.search returns the match at the first position where the pattern matches.
        m = self.rx.match(text, best)
        if m or best == limit:
            return m or self.rx.search(text)
        return self._search_after(text, best + 1, limit)

    def _search_after(self, text: str, pos: int, limit: int) -> re.Match[str] | None:
        """``search`` once the candidates before ``pos`` have failed."""
        literals = self.literals
        bound = len(text) if limit < 0 else limit
        # Where each literal next occurs (found once, then again only when passed).
        at = [text.find(lit, pos, bound - 1 + len(lit)) for lit in literals]
        while True:
            best = limit
            for j, i in enumerate(at):
                if 0 <= i < pos:
                    lit = literals[j]
                    i = at[j] = text.find(lit, pos, bound - 1 + len(lit))
                if i >= 0 and (best < 0 or i < best):
                    best = i
            if best < 0:
                return None
            m = self.rx.match(text, best)
            if m or best == limit:
                return m or self.rx.search(text)
            pos = best + 1

    def findall(self, text: str) -> list[str]:
        if self.requires and not any(w in text for w in self.requires):
            return []
        if self.anchored and not any(lit in text for lit in self.literals):
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
    # What the whole question must be about (e.g. a chatbot) for a technique to be this era's.
    topic: FastPattern | None = None


@dataclass(frozen=True)
class Algorithm:
    name: str
    patterns: FastPattern


@dataclass(frozen=True)
class Knowledge:
    eras: tuple[Era, ...]
    history_cues: FastPattern
    # (current approaches, rejection cues): an answer key that turns the former away.
    rejects_modern: tuple[FastPattern, FastPattern] | None
    rereview_after_months: int
    old_reference_years: int
    algorithms: tuple[Algorithm, ...]
    pressure: FastPattern
    background: FastPattern
    rederive_suggestion: str
    systems: tuple[FastPattern, ...]
    ml: tuple[FastPattern, ...]
    ml_mentions: tuple[FastPattern, ...]
    stages: dict[str, FastPattern]
    narrowing: FastPattern
    generic: tuple[FastPattern, ...]
    checklist: FastPattern
    counting: FastPattern | None
    question_words: tuple[FastPattern, ...] = ()
    spoken_prompt: FastPattern | None = None
    withholding: FastPattern | None = None
    # Company facts that give the candidate nothing to design with (founding year, headcount).
    company_trivia: FastPattern | None = None
    # Adjectives that sell rather than specify ("robust, scalable, real-time, future-proof").
    hype: tuple[FastPattern, ...] = ()
    scoped_elsewhere: FastPattern | None = None
    # A deep dive by name, and a line telling the candidate so: together, an open scope.
    deep_dive: FastPattern | None = None
    announced: FastPattern | None = None
    scope_reason: FastPattern | None = None
    # Coverage: a note that the round leaves stages out ("the notes contain nothing on data,
    # evaluation or rollout"), and scores for every stage taken from one narrow discussion.
    absence: FastPattern | None = None
    scored_from: FastPattern | None = None
    # Buzzword: a sentence that rewards naming references (papers, companies, named systems),
    # each part a pattern that must all occur, unless the sentence also asks for reasons.
    name_reward: tuple[FastPattern, ...] = ()
    name_reward_reasons: FastPattern | None = None
    # Re-derive without the technique's name: a sentence that asks to derive, prove or implement
    # (first) something mathematical or algorithmic (second) from scratch or unaided (third).
    ambush_frame: tuple[FastPattern, ...] = ()
    task_cues: FastPattern | None = None
    not_design_round: FastPattern | None = None


def _load(name: str) -> dict[str, Any]:
    # libyaml's loader when present: the same data, several times faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load((data_dir("evals") / "knowledge" / name).read_text(encoding="utf-8"), loader)
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
            topic=_rx(e["topic"]) if e.get("topic") else None,
        )
        for e in stale["eras"]
    )
    return Knowledge(
        eras=eras,
        history_cues=_rx(stale["history_cues"]),
        rejects_modern=(
            (_rx(stale["rejects_modern"]["modern"]), _rx(stale["rejects_modern"]["cues"]))
            if stale.get("rejects_modern")
            else None
        ),
        rereview_after_months=int(stale["rereview_after_months"]),
        old_reference_years=int(stale["old_reference_years"]),
        algorithms=tuple(Algorithm(a["name"], _rx(a["patterns"])) for a in red["algorithms"]),
        pressure=_rx(red["pressure"]),
        background=_rx(red["background"]),
        rederive_suggestion=" ".join(str(red["suggestion"]).split()),
        task_cues=_rx(red["task_cues"]) if red.get("task_cues") else None,
        ambush_frame=tuple(_rx(v) for v in red.get("ambush_frame", [])),
        not_design_round=_rx(red["not_design_round"]) if red.get("not_design_round") else None,
        systems=tuple(FastPattern(p) for p in voc["systems"]),
        ml=tuple(FastPattern(p) for p in voc["ml"]),
        ml_mentions=tuple(FastPattern(p) for p in voc.get("ml_mentions", [])),
        stages={name: _rx(pats) for name, pats in voc["stages"].items()},
        narrowing=_rx(voc["narrowing"], re.M),
        generic=tuple(FastPattern(p) for p in voc["generic"]),
        checklist=_rx(voc["checklist"]),
        counting=_rx(voc["counting"]) if voc.get("counting") else None,
        question_words=tuple(FastPattern(p) for p in voc.get("question_words", [])),
        spoken_prompt=FastPattern(voc["spoken_prompt"]) if voc.get("spoken_prompt") else None,
        withholding=_rx(voc["withholding"]) if voc.get("withholding") else None,
        company_trivia=_rx(voc["company_trivia"]) if voc.get("company_trivia") else None,
        hype=tuple(FastPattern(p) for p in voc.get("hype", [])),
        scoped_elsewhere=_rx(voc["scoped_elsewhere"]) if voc.get("scoped_elsewhere") else None,
        deep_dive=_rx(voc["deep_dive"]) if voc.get("deep_dive") else None,
        announced=_rx(voc["announced_scope"]) if voc.get("announced_scope") else None,
        scope_reason=_rx(voc["scope_reason"]) if voc.get("scope_reason") else None,
        absence=_rx(voc["coverage_absence"]) if voc.get("coverage_absence") else None,
        scored_from=_rx(voc["coverage_scored_from"]) if voc.get("coverage_scored_from") else None,
        name_reward=tuple(_rx(v) for v in voc.get("name_reward", {}).get("all_of", [])),
        name_reward_reasons=(
            _rx([voc["name_reward"]["unless"]])
            if voc.get("name_reward", {}).get("unless")
            else None
        ),
    )
