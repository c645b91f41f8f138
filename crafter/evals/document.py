"""What a check reads: the text of a question or scenario, split into the part the candidate sees
and the part that says what a good answer is, with a way to point at a line or field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from crafter.domain import Scenario

# A line that starts the interviewer's side: expected answer, rubric, grading notes.
_ANSWER_MARKER = re.compile(
    # The prefix may not cross a line and is one character class, so a run of blank lines,
    # spaces or stars is scanned once (nested quantifiers over it were about N^4).
    r"^[#>*_ \t-]*("
    r"((ideal|model|expected|good|sample|reference|strong|great|the)[ \t]+)?(answer|solution)s?\b"
    # "Interviewer: <name>" is a page's metadata, not its answer side: the word needs its noun.
    r"|rubric|scoring|grading|how to grade|interviewer(.s)?[ \t]*(notes|rubric|guide|checklist|only|answer[ \t]+key|answers?\b|expected answer)"
    r"|what (we|the interviewer|i)('re|'m| are| am| is)?[ \t]*(look|listen|want|expect)\w*"
    r"|what an? (passing|good|strong|great|ideal) answer|an? (good|strong|passing) answer"
    r"|evaluation criteria|checklist|hiring panel|pass[ \t]*="
    r"|notes for (the[ \t]+)?interviewers?|(what to[ \t]+)?look for\b|hir(e|ing)[ \t]+bar"
    r"|what an? (strong|good|great|senior) candidate|expected discussion"
    r"|signals?[ \t]*:|follow-?ups? for (the[ \t]+)?interviewer"
    r"|interviewer[- ]only|answer[ \t]+key|for (the[ \t]+)?interviewers?[ \t]+only"
    r")",
    re.I | re.M,
)
# A heading that marks what follows as kept from the candidate: "## Our real numbers (DO NOT
# SHARE)", "**Internal only**". One line, at most 100 characters, led by a heading mark.
_PRIVATE_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]+|\*\*|__)[^\n]{0,80}?\b(?:do not share|don'?t share|not for (?:the )?candidates?"
    r"|(?:interviewer|internal)[- ]only|keep (?:this )?(?:from|away from) (?:the )?candidate)\b[^\n]{0,40}$",
    re.I | re.M,
)
# The same markers appearing mid-paragraph ("The interviewer is looking for: ...").
_INLINE_MARKER = re.compile(
    r"(the interviewer is looking for|interviewer expects|we expect the candidate to|"
    r"a (good|passing|strong) answer|the expected answer|ideal answer|model answer)",
    re.I,
)


@dataclass
class Segment:
    """A piece of text and where it came from: a YAML field path, or the paragraph's first line."""

    text: str
    location: str
    part: Literal["prompt", "answer", "trap"]
    line: int | None = None
    # Checks match lowercased text with case-sensitive patterns: about 2.5x faster than re.I.
    low: str = field(init=False, repr=False)
    # Worked out once per segment and shared by the checks (see semantic/checks.py): the
    # sentences worth judging by meaning, and the lowercased text with its spaces collapsed.
    sentences: list[tuple[int, str]] | None = field(default=None, init=False, repr=False)
    _flat_low: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.low = self.text.lower()

    @property
    def flat_low(self) -> str:
        if self._flat_low is None:
            self._flat_low = " ".join(self.low.split())
        return self._flat_low

    def where(self, pos: int) -> str:
        """The location of character ``pos`` of this segment."""
        if self.line is None:
            return self.location
        return f"line {self.line + self.text.count(chr(10), 0, pos)}"


@dataclass
class LintDoc:
    path: str
    kind: Literal["scenario", "text"]
    segments: list[Segment] = field(default_factory=list)
    scenario: Scenario | None = None
    _low: dict[str, str] = field(default_factory=dict, repr=False)

    def joined(self, part: str | None = None) -> str:
        return "\n".join(s.text for s in self.segments if part is None or s.part == part)

    def low(self, part: str | None = None) -> str:
        """Like ``joined`` but lowercased, for matching (computed once per part)."""
        key = part or ""
        if key not in self._low:
            self._low[key] = "\n".join(
                s.low
                for s in self.segments
                if (part is None and s.part != "trap") or s.part == part
            )
        return self._low[key]

    @property
    def prompt(self) -> str:
        return self.joined("prompt")

    @property
    def answer(self) -> str:
        return self.joined("answer")

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.segments if s.part != "trap")


def from_text(path: str, text: str) -> LintDoc:
    """Split a Markdown/plain-text question at its first answer or rubric marker."""
    doc = LintDoc(path, "text")
    match = _ANSWER_MARKER.search(text)
    if match is not None and "\n" not in text[: match.start()].lstrip():
        # A marker word in the title line ("Hiring bar, ML design round: ...") does not start
        # the interviewer's side: the prompt comes first. Look past the first line.
        first_break = text.find("\n", match.start())
        match = _ANSWER_MARKER.search(text, first_break) if first_break >= 0 else None
    private = _PRIVATE_HEADING.search(text)
    if private is not None and (match is None or private.start() < match.start()):
        match = private
    inline = _INLINE_MARKER.search(text)
    if inline and (match is None or inline.start() < match.start()):
        cut = inline.start()
    else:
        cut = match.start() if match else len(text)
    # One segment per paragraph, so sentences that wrap across lines stay whole. Lines are
    # counted incrementally: counting from the start for every paragraph was quadratic.
    line, counted = 1, 0
    for part, start, chunk in (("prompt", 0, text[:cut]), ("answer", cut, text[cut:])):
        for m in _PARAGRAPH.finditer(chunk):
            pos = start + m.start()
            line += text.count("\n", counted, pos)
            counted = pos
            doc.segments.append(Segment(m.group(0), f"line {line}", part, line))  # type: ignore[arg-type]
    return doc


# A paragraph: from a non-space character up to a blank line (a line holding only whitespace).
_PARAGRAPH = re.compile(r"\S(?:.|\n(?![ \t\r\f\v]*\n))*")


def from_scenario(path: str, s: Scenario) -> LintDoc:
    doc = LintDoc(path, "scenario", scenario=s)
    add = doc.segments.append
    add(Segment(s.title, "title", "prompt"))
    add(Segment(s.premise, "premise", "prompt"))
    for i, fact in enumerate(s.context):
        add(Segment(fact.text, f"context[{i}].text", "prompt"))
    for i, source in enumerate(s.data):
        for name in ("name", "description", "size", "labels", "freshness", "limits"):
            add(Segment(getattr(source, name), f"data[{i}].{name}", "prompt"))
    for i, c in enumerate(s.constraints):
        add(Segment(f"{c.name}: {c.value} {c.unit}. {c.why}", f"constraints[{i}]", "prompt"))
    for i, h in enumerate(s.hooks):
        add(Segment(h.detail, f"hooks[{i}].detail", "prompt"))
        add(Segment(h.decision_forced, f"hooks[{i}].decision_forced", "prompt"))
    for i, q in enumerate(s.questions):
        add(Segment(q.question, f"questions[{i}].question", "prompt"))
        add(Segment(q.answer, f"questions[{i}].answer", "answer"))
    for i, d in enumerate(s.decisions):
        add(
            Segment(
                f"{d.decision}. Options: {'; '.join(d.options)}. {d.tradeoffs}",
                f"decisions[{i}]",
                "prompt",
            )
        )
        add(Segment(d.modern_approach, f"decisions[{i}].modern_approach", "answer"))
    for i, r in enumerate(s.rubric):
        add(Segment(f"{r.hire} {r.strong_hire}", f"rubric[{i}]", "answer"))
    for i, t in enumerate(s.traps):
        # A trap quotes the generic answer on purpose; checks must not count it against the scenario.
        add(Segment(f"{t.generic_answer} {t.follow_up}", f"traps[{i}]", "trap"))
    return doc


def locate(
    doc: LintDoc, pattern: re.Pattern[str], part: str | None = None
) -> tuple[Segment, re.Match[str]] | None:
    """The first segment (optionally of one part) where ``pattern`` matches."""
    for seg in doc.segments:
        if part is not None and seg.part != part:
            continue
        m = pattern.search(seg.text)
        if m:
            return seg, m
    return None
