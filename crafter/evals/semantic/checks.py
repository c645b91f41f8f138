"""The semantic half of each text check: passages scoped to what the check judges, scored by the
check's detector, and findings that say what a passage resembled and where.

Each function receives what the lexical rule found and returns the findings to add (the lexical
finding wins when both fire: its evidence is the exact words). Text is bounded before it is
embedded: at most ``MAX_PASSAGES`` passages a check, each cut to the table's ``MAX_CHARS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from crafter.evals.document import LintDoc, Segment
from crafter.evals.findings import Finding, Severity, excerpt
from crafter.evals.knowledge import Knowledge
from crafter.evals.semantic.detector import Verdict, describe, detector

MAX_PASSAGES = 200
# What each finding tells the author to do (the document model's findings say the same).
STALE_FIX = (
    "expect a current approach (a small instruction-tuned LLM or a fine-tuned pretrained encoder; "
    "agentic search with retrieval as a tool) and keep the old one as a baseline to beat"
)
BUZZ_FIX = (
    "write what a strong answer says about THIS scenario: which error costs more, which data "
    "exists, what number decides the threshold; name the follow-up that exposes recitation"
)
MLC_FIX = (
    "make the ML decisions the core: labels and their delay, the metric that matches the product "
    "goal, modeling options, evaluation, feedback loops"
)
# A sentence of fewer words is a header, a label or a list stub: not judged by meaning.
MIN_WORDS = 5
_SENTENCE = re.compile(r"(?:[^.!?;\n]|\n(?!\s*[-*#\d]))+(?:[.!?;]+|\n|$)")
_HEADER = re.compile(r"^\s*(#{1,6}\s|\*\*[^*]{0,80}\*\*:?\s*$|[A-Z][^.!?]{0,60}:\s*$)")
_NAME_DROP = re.compile(
    r"\b(how|what|like|as)\s+(google|meta|facebook|openai|amazon|netflix|uber|airbnb|microsoft|"
    r"apple|spotify|linkedin|pinterest|tiktok|anthropic|deepmind|big tech|faang)\b"
    r"|\b(google|meta|openai|amazon|netflix|uber|airbnb|microsoft|linkedin)(\s*(/|,|and|or)\s*"
    r"(google|meta|facebook|openai|amazon|netflix|uber|airbnb|microsoft|linkedin|spotify)){1,}\b"
)


def _sentences(seg: Segment) -> list[tuple[int, str]]:
    """(offset, sentence) for each sentence of ``seg`` worth judging; split once per segment."""
    if seg.sentences is None:
        found = []
        for m in _SENTENCE.finditer(seg.text):
            sent = " ".join(m.group(0).split())
            n = len(sent.split())
            if n < MIN_WORDS or _HEADER.match(m.group(0)):
                continue
            if n < 10 and not sent.rstrip().endswith((".", "?", "!", ";", ":")):
                continue  # a title line, not a sentence
            found.append((m.start(), sent))
        seg.sentences = found
    return seg.sentences


def passages(segs: list[Segment]) -> Iterator[tuple[Segment, int, str]]:
    """(segment, offset, sentence) for each sentence worth judging, headers left out (at most
    MAX_PASSAGES)."""
    count = 0
    for seg in segs:
        for pos, sent in _sentences(seg):
            yield seg, pos, sent
            count += 1
            if count >= MAX_PASSAGES:
                return


def _judge(check: str, found: list[tuple[Segment, int, str]]) -> list[tuple[int, Verdict]]:
    return detector(check).flagged([s for _, _, s in found])


def _label(check: str) -> str:
    return detector(check).exemplars.label


def _where(seg: Segment, pos: int) -> str:
    return seg.where(pos)


def _at(
    check: str, severity: Severity, message: str, passage: tuple[Segment, int, str], suggestion: str
) -> list[Finding]:
    """The one finding a check reports, quoting the passage it judged and where it stands."""
    seg, pos, sent = passage
    return [
        Finding(
            check, severity, message, evidence=excerpt(sent, 0, len(sent), 0),
            location=_where(seg, pos), suggestion=suggestion,
        )
    ]  # fmt: skip


def segments(doc: LintDoc, part: str) -> list[Segment]:
    return [s for s in doc.segments if s.part == part]


# -- rederive -----------------------------------------------------------------------------------


def rederive(doc: LintDoc, k: Knowledge) -> list[Finding]:
    # As in staleness: the flagged sentences only are looked at for background cues.
    found = list(passages([s for s in doc.segments if s.part != "trap"]))
    hits = [
        (i, v) for i, v in _judge("rederive", found) if not k.background.search(found[i][2].lower())
    ]
    if not hits:
        return []
    i, verdict = hits[0]
    return _at(
        "rederive",
        "warning",
        "success seems to hinge on deriving, proving or implementing a known technique from "
        f"scratch under time pressure ({describe(_label('rederive'), verdict)})",
        found[i],
        k.rederive_suggestion,
    )


# -- staleness ----------------------------------------------------------------------------------


def staleness(doc: LintDoc, k: Knowledge) -> list[Finding]:
    for part in ("answer", "prompt"):
        # Judged first, then the few flagged sentences looked at for history cues ("used to",
        # "baseline"): the same verdicts as leaving cue sentences out beforehand, at a fraction
        # of the pattern searches (for a text of at most MAX_PASSAGES sentences).
        found = list(passages(segments(doc, part)))
        hits = [
            (i, v)
            for i, v in _judge("staleness", found)
            if not k.history_cues.search(found[i][2].lower())
        ]
        if hits:
            i, verdict = hits[0]
            return _at(
                "staleness",
                "error" if part == "answer" else "warning",
                f"expects an approach the field has moved past ({describe(_label('staleness'), verdict)})",
                found[i],
                STALE_FIX,
            )
    return []


# -- buzzword -----------------------------------------------------------------------------------


def buzzword(doc: LintDoc, k: Knowledge) -> list[Finding]:
    """Rubric anchors and expected answers: lines any recitation or name-dropping satisfies."""
    segs = [
        s for s in segments(doc, "answer")
        if doc.scenario is None or s.location.startswith("rubric")
    ]  # fmt: skip
    found = list(passages(segs))
    for passage in found:
        if _NAME_DROP.search(passage[2].lower()):
            return _at(
                "buzzword",
                "warning",
                "the rubric rewards name-dropping: knowing what famous companies use is not "
                "evidence of designing this system",
                passage,
                "anchor each level in what the candidate decides here: which error costs "
                "more, which data exists, what number sets the threshold",
            )
    if not found:
        return []
    e = detector("buzzword").exemplars
    hits = _judge("buzzword", found)
    need = max(e.extra.get("min_lines", 2), e.extra.get("min_share", 0.4) * len(found))
    if len(hits) < need:
        return []
    i, verdict = hits[0]
    return _at(
        "buzzword",
        "warning",
        f"{len(hits)} of {len(found)} rubric or answer lines are satisfied by generic recitation "
        f"({describe(e.label, verdict)})",
        found[i],
        BUZZ_FIX,
    )


# -- coverage, ml-clothing, vagueness: what the prompt asks --------------------------------------


def prompt_passages(doc: LintDoc) -> list[tuple[Segment, int, str]]:
    return list(passages(segments(doc, "prompt")))


def coverage(doc: LintDoc, stages_asked: int) -> list[Finding]:
    found = [p for p in prompt_passages(doc) if "?" in p[2] or _ASKS.search(p[2].lower())]
    if not found or stages_asked >= 3:
        return []
    hits = _judge("coverage", found)
    if not hits:
        return []
    i, verdict = hits[0]
    return _at(
        "coverage",
        "warning",
        f"the interview asks about one corner of the ML lifecycle ({describe(_label('coverage'), verdict)})",
        found[i],
        "for an ML system design round, let the candidate frame the problem and carry it through "
        "data, modeling, evaluation, deployment and monitoring; keep single-stage deep dives for other rounds",
    )


_ASKS = re.compile(
    r"^\W*(design|build|describe|explain|walk|tell|how|what|which|why|propose|choose|decide|"
    r"focus|assume|skip|spend|talk|discuss|only|just|we only|you only)\b"
)


def ml_clothing(doc: LintDoc) -> list[Finding]:
    found = prompt_passages(doc) if doc.scenario is None else []
    if not found:
        return []
    hits = _judge("ml-clothing", found)
    e = detector("ml-clothing").exemplars
    if len(hits) < max(1.0, e.extra.get("min_share", 0.5) * len(found)):
        return []
    i, verdict = hits[0]
    return _at(
        "ml-clothing",
        "warning",
        f"the asks are system design with little ML decision in them ({describe(e.label, verdict)})",
        found[i],
        MLC_FIX,
    )


def vagueness_probability(prompt: str) -> Verdict | None:
    text = " ".join(prompt.split())
    if not text:
        return None
    return detector("vagueness").judge([text])[0]


def vagueness_veto() -> float:
    """Below this probability of reading vague, a prompt the word rules call thin is cleared."""
    return detector("vagueness").exemplars.extra.get("veto", 0.2)


def vagueness_veto_min_concreteness() -> float:
    """How many concrete items (numbers, data, users, constraints) a prompt needs before its
    meaning may clear a word-rule miss."""
    return detector("vagueness").exemplars.extra.get("veto_min_concreteness", 3)


def describe_vague(verdict: Verdict) -> str:
    return describe(_label("vagueness"), verdict)
