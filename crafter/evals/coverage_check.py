"""The coverage check: a round billed as end to end that stays in one corner of the ML lifecycle
(only the loss, only metrics, only serving) without saying why."""

from __future__ import annotations

import re

from crafter.evals.document import LintDoc
from crafter.evals.findings import Finding, excerpt
from crafter.evals.knowledge import Knowledge
from crafter.evals.text_checks import _HEADER_LINE

_ASK_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_WHOLE_DESIGN_ASK = re.compile(
    r"\b(?:design|build|architect)\s+(?:the|a|an|our|your)\s+(?:[\w-]+\s+){0,4}?"
    r"(?:system|product|service|platform|pipeline|assistant|feature|recommender|engine)\b"
    r"[^.?!]{0,40}\b(?:and|then|plus)\b"
)
_ASK = re.compile(
    r"\?|^\W*(question|walk us through|design|explore|tell us|describe|how (would|do) you)\b"
)


# "Deep dive: hyperparameter search" names the corner asked; "Deep-dive talking points" does not.
_NAMED_DIVE = re.compile(r"deep[- ]dive\s*[:(]\s*\w")


def _without_headers(text: str) -> str:
    """``text`` with its header lines blanked (same length, so offsets still hold): a section
    title ("Deep-dive talking points") is not an ask."""
    if "\n" not in text and not text.lstrip().startswith("#"):
        return text
    return "\n".join(
        " " * len(line)
        if _HEADER_LINE.match(line)
        and not line.rstrip().endswith("?")
        and not _NAMED_DIVE.search(line)
        else line
        for line in text.split("\n")
    )


def coverage(doc: LintDoc, k: Knowledge) -> tuple[list[Finding], dict[str, float]]:
    if k.scoped_elsewhere is not None and k.scoped_elsewhere.search(doc.low()) is not None:
        # An openly scoped deep dive: another round of the loop covers the whole design.
        return [], {"scoped_elsewhere": 1.0}
    low = doc.low()
    if (
        k.deep_dive is not None
        and k.announced is not None
        and k.deep_dive.search(low) is not None
        and k.announced.search(low) is not None
        and k.scope_reason is not None
        and k.scope_reason.search(low) is not None
    ):
        # A deep dive that tells the candidate it is one, and why: scoped openly.
        return [], {"scoped_elsewhere": 1.0}
    prompt = _without_headers(doc.low("prompt")) if doc.scenario is None else doc.low("prompt")
    narrowing = k.narrowing.search(prompt)
    if narrowing is None and doc.scenario is None and k.deep_dive is not None:
        # A page titled as a deep dive, without telling the candidate why (that was vetoed
        # above): the round is one corner by construction. A deep dive named further down (a
        # loop's schedule, a candidate-chosen part of a full round) does not count.
        title = low.lstrip().split("\n", 1)[0]
        # A project deep dive is another kind of round: the candidate brings the project.
        narrowing = k.deep_dive.search(title) if "project deep" not in title else None
    if narrowing is None and doc.scenario is None:
        # A scope note often sits with the interviewer's notes, after the answer marker.
        narrowed_answer = k.narrowing.search(_without_headers(doc.low("answer")))
    else:
        narrowed_answer = None
    left_out = None
    if narrowing is None and narrowed_answer is None and doc.scenario is None:
        # A note that the round leaves stages out, or scores them all from one narrow talk.
        left_out = _left_out(low, k)
    asked: list[str] = []
    asks = ""
    single_ask = False
    one_stage: str | None = None
    if doc.scenario is None:
        # Whole sentences that ask something: asks separated by semicolons stay together.
        flat = " ".join(prompt.split())
        sentences = [m.group(0) for m in _ASK_SENTENCE.finditer(flat) if _ASK.search(m.group(0))]
        asks = " ".join(sentences)
        asked = [name for name, rx in k.stages.items() if rx.search(asks)]
        if _WHOLE_DESIGN_ASK.search(asks):
            # "Design the search system and how you'd judge it": the whole design is asked,
            # with one stage named beside it; not a single-stage ask.
            asked = [*asked, "the whole design"]
        # A single-stage ask counts only in a question long enough to be about more than one
        # thing (a one-line ask is vague, not narrow) and when the expected answer stays there.
        single_ask = (
            len(asked) == 1
            and len(doc.text.split()) >= 60
            and _dominant_stage(doc.low("answer"), k) == asked[0]
        )
        # Or many questions that nearly all sit in one stage (five questions on the loss).
        one_stage = _one_stage_questions(sentences, k)
        single_ask = single_ask or one_stage is not None
    if one_stage is None and not narrowing:
        # Or the interviewer's own units (rubric rows, checklist lines, a scenario's questions
        # and hooks) nearly all sit in one stage: the round never leaves that corner.
        one_stage = _one_stage_units(_stage_units(doc), k)
        single_ask = single_ask or one_stage is not None
    scores = {"stages_asked": float(len(asked))}
    if narrowing or narrowed_answer or left_out:
        scores["coverage_narrowed"] = 1.0
    if narrowing or narrowed_answer or left_out or single_ask:
        focus = one_stage or (asked[0] if len(asked) == 1 else "one stage")
        original = doc.prompt
        if narrowing and len(original) == len(prompt):
            evidence = excerpt(original, narrowing.start(), narrowing.end())
        elif narrowed_answer and len(doc.answer) == len(doc.low("answer")):
            evidence = excerpt(doc.answer, narrowed_answer.start(), narrowed_answer.end())
        elif left_out is not None and len(doc.text) == len(low):
            evidence = excerpt(doc.text, left_out[0], left_out[1])
        else:
            evidence = excerpt(asks, 0, min(len(asks), 160), 0)
        return [
            Finding(
                "coverage", "warning",
                f"exercises one corner of the ML lifecycle ({focus}) rather than the whole problem",
                evidence=evidence,
                suggestion="for an ML system design round, let the candidate frame the problem and carry it through "
                "data, modeling, evaluation, deployment and monitoring; keep single-stage deep dives for other rounds",
            )
        ], scores  # fmt: skip
    if doc.scenario is None:
        from crafter.evals.semantic import checks as semantic

        return semantic.coverage(doc, len(asked)), scores
    return [], scores


_SENTENCE_END = re.compile(r"[.!?\n|]")
_MIN_LEFT_OUT = 2  # stages a note must name as left out
_ABOUT_THE_ROUND = re.compile(r"\b(round|loop|interview|session|hour|score|scored|elsewhere)\b")


def _sentence_start(low: str, pos: int) -> int:
    """Where the sentence holding ``pos`` starts (after the last sentence end within 300
    characters before it)."""
    lo = max(0, pos - 300)
    last = lo
    for m in _SENTENCE_END.finditer(low, lo, pos):
        last = m.end()
    return last


def _left_out(low: str, k: Knowledge) -> tuple[int, int] | None:
    """Where the page says the round leaves two or more lifecycle stages out ("the notes contain
    nothing on data, evaluation or rollout"), or scores every stage from one narrow discussion."""
    if k.scored_from is not None:
        m = k.scored_from.search(low)
        if m is not None:
            return m.start(), m.end()
    if k.absence is None or not k.absence.may_match(low):
        return None
    pos = 0
    while pos < len(low):
        m = k.absence.rx.search(low, pos)
        if m is None:
            return None
        end_m = _SENTENCE_END.search(low, m.end())
        end = end_m.start() if end_m else len(low)
        tail = low[m.end() : min(end, m.end() + 300)]
        named = sum(1 for rx in k.stages.values() if rx.search(tail))
        if named >= _MIN_LEFT_OUT:
            return m.start(), min(end, m.end() + 160)
        # Or the stages come first ("labels, evaluation and monitoring are not covered in this
        # round"), when the sentence is about the round or its score, not about an answer.
        start = max(_sentence_start(low, m.start()), m.start() - 300)
        head = low[start : m.start()]
        if _ABOUT_THE_ROUND.search(low, m.end(), min(end, m.end() + 120)) is not None:
            named = sum(1 for rx in k.stages.values() if rx.search(head))
            if named >= _MIN_LEFT_OUT:
                return start, min(end, m.end() + 160)
        pos = m.end()
    return None


# A list of at least _MIN_QUESTIONS questions of which at least _MIN_STAGED name a lifecycle stage,
# all of those but one (and three in four) naming the same stage and no other, reads as a round
# kept in that corner.
_MIN_QUESTIONS = 4
_MIN_STAGED = 3


def _one_stage_questions(sentences: list[str], k: Knowledge) -> str | None:
    questions = [q for q in sentences if "?" in q]
    if len(questions) < _MIN_QUESTIONS:
        return None
    per = [{name for name, rx in k.stages.items() if rx.search(q)} for q in questions]
    counts: dict[str, int] = {}
    for stages in per:
        for name in stages:
            counts[name] = counts.get(name, 0) + 1
    if not counts:
        return None
    top = max(counts, key=lambda n: (counts[n], n))
    staged = [stages for stages in per if stages]  # a question naming no stage says nothing
    alone = sum(1 for stages in staged if stages == {top})
    if len(staged) >= _MIN_STAGED and alone >= len(staged) - 1 and alone >= 0.75 * len(staged):
        return top
    return None


_MIN_UNITS = 5
_MIN_STAGED_UNITS = 4
_UNIT_LINE = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)]|\|)[ \t]*(.{8,300})$", re.M)
_TABLE_RULE = re.compile(r"^[\s|:-]+$")


def _stage_units(doc: LintDoc) -> list[str]:
    """What the interviewer asks and scores, one unit each: a scenario's questions, hooks and
    rubric rows; a prose page's bullet, numbered and table lines on the interviewer's side."""
    s = doc.scenario
    if s is not None:
        return (
            [q.question.lower() for q in s.questions]
            + [h.decision_forced.lower() for h in s.hooks]
            + [f"{r.signal} {r.hire} {r.strong_hire}".lower() for r in s.rubric]
        )
    units = []
    for seg in doc.segments:
        if seg.part != "answer":
            continue
        for m in _UNIT_LINE.finditer(seg.low):
            line = m.group(1)
            if not _TABLE_RULE.match(line):
                units.append(line)
    return units


def _one_stage_units(units: list[str], k: Knowledge) -> str | None:
    """The stage that at least four in five of the staged units name alone (at least five
    units, four of them naming a stage)."""
    if len(units) < _MIN_UNITS:
        return None
    per = [{name for name, rx in k.stages.items() if rx.search(u)} for u in units]
    staged = [stages for stages in per if stages]
    if len(staged) < _MIN_STAGED_UNITS:
        return None
    counts: dict[str, int] = {}
    for stages in staged:
        for name in stages:
            counts[name] = counts.get(name, 0) + 1
    top = max(counts, key=lambda n: (counts[n], n))
    alone = sum(1 for stages in staged if stages == {top})
    return top if alone >= 0.8 * len(staged) else None


_MIN_DOMINANT = 3  # mentions of the leading stage before an answer counts as staying there


def _dominant_stage(text: str, k: Knowledge) -> str | None:
    """The stage an answer dwells on: named at least three times and twice as often as any
    other (one mention of "history" in a two-line key is not a focus)."""
    counts = {name: len(rx.findall(text)) for name, rx in k.stages.items()}
    ranked = sorted(counts.values(), reverse=True)
    if ranked[0] < _MIN_DOMINANT or ranked[0] < 2 * ranked[1]:
        return None  # no clear single focus
    return max(counts, key=lambda n: counts[n])
