"""Findings of one check read in the light of another's: a derivation inside a round that says it
is a maths round, a one-signal rubric, a coverage warning beside ML clothing, and fixes that fit
what was found."""

from __future__ import annotations

from dataclasses import replace

from crafter.evals.document import LintDoc
from crafter.evals.findings import Finding
from crafter.evals.knowledge import Knowledge

# How far into a file a note that it is another kind of round ("coding round, not ML design") counts.
_ROUND_NOTE_CHARS = 400


def coverage_beside_no_ml(findings: list[Finding], narrowed: bool) -> list[Finding]:
    """A round with no ML decision in it is reported as ML clothing; that its questions stay in
    one corner (the serving fleet, the labelling queue) is the same fault seen again, so the
    coverage warning becomes a note. Not when the page narrows an ML round on purpose ("the model
    is frozen; only serving"): that is a coverage finding of its own."""
    if narrowed or not any(
        f.check == "ml-clothing" and f.severity in ("error", "warning") for f in findings
    ):
        return findings
    return [
        replace(f, severity="info", message=f"{f.message} (the round has no ML decision to cover)")
        if f.check == "coverage" and f.severity == "warning"
        else f
        for f in findings
    ]


def says_other_round(doc: LintDoc, k: Knowledge) -> bool:
    """The page opens by saying it is a maths or coding round or a project deep dive."""
    other = k.not_design_round
    return other is not None and other.search(doc.low()[:_ROUND_NOTE_CHARS]) is not None


def rederive_in_context(
    findings: list[Finding], doc: LintDoc, k: Knowledge, other_round: bool
) -> list[Finding]:
    """Rederive is about a design round: none for a page that opens by saying it is a maths or
    coding round or a project deep dive; and a finding by meaning alone stands only when the
    text asks for something (derive, prove, implement, from scratch...), not when it describes a
    system that happens to use the technique."""
    if not any(f.check == "rederive" for f in findings):
        return findings
    if other_round:
        return [f for f in findings if f.check != "rederive"]
    if k.task_cues is None:
        return findings
    low = doc.low()
    asks = k.pressure.search(low) is not None or k.task_cues.search(low) is not None
    return [f for f in findings if f.check != "rederive" or asks or _named_ambush(f)]


def one_signal_rubric(findings: list[Finding], doc: LintDoc, scoped: bool) -> list[Finding]:
    """A scenario whose rubric scores one signal only (every row "data", or one row) measures one
    corner of the round. Not said when another finding already explains a thin scenario (no ML
    decision, too vague) or when the page scopes the round openly."""
    s = doc.scenario
    if s is None or not s.rubric:
        return []
    signals = {row.signal for row in s.rubric}
    if len(signals) != 1:
        return []
    if any(
        f.check in ("coverage", "ml-clothing", "vagueness") and f.severity in ("error", "warning")
        for f in findings
    ):
        return []
    if scoped:
        return []
    (signal,) = signals
    return [
        Finding(
            "coverage", "warning",
            f"the rubric scores one signal only ({signal}): the round never assesses the rest of "
            "the design",
            location="rubric",
            suggestion="add rubric rows for problem framing, data, modeling, evaluation and "
            "deployment, each tied to this scenario's hooks; keep single-signal deep dives for a "
            "round that says why it is scoped",
        )
    ]  # fmt: skip


def _named_ambush(f: Finding) -> bool:
    # The word rule's finding names the algorithm and already required a pressure cue.
    return f.message.startswith("success seems to hinge on re-deriving")


def fit_fixes(findings: list[Finding], other_round: bool) -> list[Finding]:
    """A derive-or-implement task is not fixed by product context: when rederive fires, or the
    file opens by saying it is a coding or maths round or a project deep dive, the generic
    "little to design around" finding becomes an info whose fix fits what was found."""
    derive = any(f.check == "rederive" for f in findings)
    if not derive and not other_round:
        return findings
    if derive:
        message = "reads as a coding or derivation exercise, not a design scenario"
        fix = ("move it to a coding or math round; for ML system design, start from a user need "
               "and hand the candidate the technique")  # fmt: skip
    else:
        message = "says it is another kind of round (coding, maths, a project deep dive), not a design scenario"
        fix = ("nothing to change for that round; for an ML system design round, start from a user "
               "need: who is served, what data exists, the scale and the cost of errors")  # fmt: skip
    out = []
    for f in findings:
        if f.check == "vagueness" and f.message.startswith("little to design around"):
            f = Finding("vagueness", "info", message, f.evidence, f.location, fix)
        out.append(f)
    return out
