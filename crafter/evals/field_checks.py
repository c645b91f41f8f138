"""The checks about what the field knows, by their word rules: staleness (an approach the field
has moved past, as of a date) and re-derive (success hinges on deriving or implementing a known
technique from scratch). Each hands over to its semantic half (semantic/checks.py) when the words
find nothing."""

from __future__ import annotations

import datetime as dt
import re

from crafter.evals.document import LintDoc
from crafter.evals.findings import Finding, excerpt
from crafter.evals.knowledge import Knowledge
from crafter.evals.text_checks import part_segments, sentence_with_all, sentences

# -- staleness ----------------------------------------------------------------------------------


def staleness(doc: LintDoc, k: Knowledge, as_of: dt.date) -> list[Finding]:
    findings = _staleness_lexical(doc, k, as_of)
    if not any(f.severity == "error" for f in findings):
        findings += _rejects_modern(doc, k)
    if not any(
        f.severity != "info" and f.location not in ("as_of", "references") for f in findings
    ):
        from crafter.evals.semantic import checks as semantic

        findings = semantic.staleness(doc, k) + findings
    return findings


_NEGATED = re.compile(r"\b(?:don.t|do not|never|not|no need to|without)\s+(?:\w+\s+)?$")


def _rejects_modern(doc: LintDoc, k: Knowledge) -> list[Finding]:
    """The interviewer's side turns away a current approach (see staleness.yaml, rejects_modern)."""
    if k.rejects_modern is None:
        return []
    modern, cues = k.rejects_modern
    for seg in part_segments(doc, "answer"):
        if not (modern.may_match(seg.flat_low) and cues.may_match(seg.flat_low)):
            continue
        for start, sent in sentences(seg.low):
            m = modern.search(sent)
            cue = cues.search(sent) if m is not None else None
            if (
                m is None
                or cue is None
                or _NEGATED.search(sent[max(0, cue.start() - 16) : cue.start()])
            ):
                continue  # "don't dismiss it: ask them to estimate throughput" keeps it open
            return [
                Finding(
                    "staleness", "error",
                    "the answer key turns away a current approach: it expects the past",
                    evidence=excerpt(seg.text, start + m.start(), start + m.end()),
                    location=seg.where(start + m.start()),
                    suggestion="let the candidate weigh the current approach against the older one on "
                    "this scenario's numbers (latency, cost, labels) instead of ruling it out; keep the "
                    "old one as a baseline to beat",
                )
            ]  # fmt: skip
    return []


def _staleness_lexical(doc: LintDoc, k: Knowledge, as_of: dt.date) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    whole = doc.low()
    for part in ("answer", "prompt"):
        part_text = doc.low(part)
        # Only eras that match somewhere in this part are worth a sentence-by-sentence look.
        eras = [
            e for e in k.eras
            if e.id not in seen and as_of >= e.stale_since and e.patterns.search(part_text)
            and (e.with_ is None or e.with_.search(part_text))
            and (e.topic is None or e.topic.search(whole))
        ]  # fmt: skip
        if not eras:
            continue
        for seg in part_segments(doc, part):
            sents = sentences(seg.low)
            for era in eras:
                if era.id in seen or not era.patterns.search(seg.low):
                    continue
                for i, (start, sent) in enumerate(sents):
                    m = era.patterns.search(sent)
                    if not m:
                        continue
                    window = sent + (sents[i - 1][1] if i else "")
                    if k.history_cues.search(window):
                        continue
                    seen.add(era.id)
                    findings.append(
                        Finding(
                            "staleness", "error" if part == "answer" else "warning",
                            f"relies on {era.name}, past its era as of {as_of} (stale since {era.stale_since:%Y-%m})",
                            evidence=excerpt(seg.text, start + m.start(), start + m.end()),
                            location=seg.where(start + m.start()),
                            suggestion=f"expect the current approach instead: {era.replaced_by}; "
                            "keep the old one as a baseline to beat",
                        )
                    )  # fmt: skip
                    break
    s = doc.scenario
    if s is not None:
        months = (as_of.year - s.as_of.year) * 12 + as_of.month - s.as_of.month
        if months > k.rereview_after_months:
            findings.append(
                Finding(
                    "staleness", "warning", f"as_of {s.as_of} is {months} months old: due for re-review",
                    location="as_of", suggestion="re-check the decisions' modern approaches, then update as_of",
                )
            )  # fmt: skip
        if s.references and all(as_of.year - r.year > k.old_reference_years for r in s.references):
            newest = max(r.year for r in s.references)
            findings.append(
                Finding(
                    "staleness", "info", f"every reference is older than {k.old_reference_years} years (newest {newest})",
                    location="references", suggestion="look for a recent write-up with crafter search",
                )
            )  # fmt: skip
    return findings


# -- rederive -----------------------------------------------------------------------------------


def _ambush(sents: list[tuple[int, str]], k: Knowledge) -> tuple[str, int, int, int] | None:
    """(algorithm, sentence index, match start, match end) of the first algorithm named under
    pressure (derive, prove, whiteboard...) in this or a neighbouring sentence, not as background."""
    for i, (_, sent) in enumerate(sents):
        if k.background.search(sent):
            continue
        for algo in k.algorithms:
            m = algo.patterns.search(sent)
            if m and k.pressure.search(" ".join(s for _, s in sents[max(0, i - 1) : i + 2])):
                return algo.name, i, m.start(), m.end()
    return None


def _rederive_finding(name: str, evidence: str, location: str, k: Knowledge) -> list[Finding]:
    return [
        Finding(
            "rederive", "warning", f"success seems to hinge on re-deriving {name} under time pressure",
            evidence=evidence, location=location, suggestion=k.rederive_suggestion,
        )
    ]  # fmt: skip


def _unnamed_ambush(doc: LintDoc, k: Knowledge) -> list[Finding]:
    """A sentence on the page that asks for a derivation, proof or implementation of something
    mathematical or algorithmic, done alone ("work out the gradient, unaided", "implement the
    vocabulary learner from scratch", "prove the regret is logarithmic"): an ambush whatever the
    technique is called."""
    # Sentences run across wrapped lines: a paragraph is judged with its lines run together.
    found = sentence_with_all(doc, part_segments(doc), k.ambush_frame, by_line=False)
    if found is None:
        return []
    seg, sentence = found
    return [
        Finding(
            "rederive", "warning",
            "success seems to hinge on deriving, proving or implementing a known technique from "
            "scratch under time pressure",
            evidence=excerpt(sentence, 0, min(len(sentence), 200), 0),
            location=seg.location, suggestion=k.rederive_suggestion,
        )
    ]  # fmt: skip


def rederive(doc: LintDoc, k: Knowledge) -> list[Finding]:
    found = _rederive_lexical(doc, k)
    if found:
        return found
    from crafter.evals.semantic import checks as semantic

    return semantic.rederive(doc, k)


def _rederive_lexical(doc: LintDoc, k: Knowledge) -> list[Finding]:
    text = doc.low()
    if not any(a.patterns.search(text) for a in k.algorithms):
        return _unnamed_ambush(doc, k)
    for seg in part_segments(doc):
        sents = sentences(seg.low)
        hit = _ambush(sents, k)
        if hit:
            name, i, lo, hi = hit
            start = sents[i][0]
            return _rederive_finding(
                name, excerpt(seg.text, start + lo, start + hi), seg.where(start + lo), k
            )
    # Text split into lines: the algorithm and the pressure may sit on neighbouring lines.
    if doc.scenario is None:
        sents = sentences(" ".join(text.split()))
        hit = _ambush(sents, k)
        if hit:
            sent = sents[hit[1]][1]
            return _rederive_finding(hit[0], excerpt(sent, 0, len(sent), 0), "", k)
    return []
