"""Markdown packets of a scenario: one for the candidate, one for the interviewer.

The candidate packet holds the title and the premise and nothing else, so it can be sent ahead of
the interview. The interviewer packet holds everything, laid out to be read during the interview.
Pure: no I/O; the caller decides where the text goes.
"""

from __future__ import annotations

import re
from typing import Literal

from crafter.domain.scenario import Scenario

Packet = Literal["candidate", "interviewer"]
PACKETS: tuple[str, ...] = ("candidate", "interviewer")

_REVEAL = {"upfront": "up front", "on_ask": "when asked"}


def _one_line(text: str) -> str:
    """Headings and list labels must stay on one line."""
    return _escape(" ".join(text.split()))


def _escape(text: str) -> str:
    # A model or a corpus document may have written something tag-like ("<document>"); renderers
    # would swallow it as HTML. Backslash-escaping keeps it visible in both raw and rendered views.
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)


def _block(text: str) -> str:
    return _escape(text.strip())


def _item(label: str, text: str) -> str:
    """A bullet whose value may run over several lines (continuations indented under it)."""
    body = _block(text).replace("\n", "\n  ")
    return f"- **{label}:** {body}" if label else f"- {body}"


def candidate_markdown(s: Scenario) -> str:
    return f"# {_one_line(s.title)}\n\n{_block(s.premise)}\n"


def interviewer_markdown(s: Scenario) -> str:
    out: list[str] = [f"# {_one_line(s.title)}", ""]
    review = s.review.status + (f" by {s.review.reviewer}" if s.review.reviewer else "")
    out += [
        f"- **Level:** {s.level}",
        f"- **Content current as of:** {s.as_of.isoformat()}",
        f"- **Review:** {review}",
        f"- **Scenario id:** `{s.id}`",
        _item("Seed", s.seed),
    ]
    gaps = _placeholder_count(s)
    if gaps:
        out += [
            "",
            f"> {gaps} field(s) still hold TODO(interviewer) placeholders: fill them before the "
            "interview.",
        ]

    out += ["", "## Premise (the candidate reads this)", "", _block(s.premise)]

    if s.context:
        out += ["", "## Facts you hold", ""]
        for fact in s.context:
            tag = f"{fact.category}, reveal {_REVEAL.get(fact.reveal, fact.reveal)}"
            out.append(_item(f"{fact.id} ({tag})", fact.text))

    if s.data:
        out += ["", "## Data"]
        for d in s.data:
            out += ["", f"### {_one_line(d.name)}", "", _block(d.description), ""]
            out += [
                _item("Size", d.size),
                _item("Labels", d.labels),
                _item("Freshness", d.freshness),
                _item("Limits", d.limits),
            ]

    if s.constraints:
        out += ["", "## Constraints", ""]
        for c in s.constraints:
            value = f"{c.value} {c.unit}".strip()
            out.append(_item(f"{c.name}: {_one_line(value)}", c.why))

    out += ["", "## Hooks"]
    for h in s.hooks:
        out += ["", f"### {h.id} ({h.category})", "", _block(h.detail), ""]
        out.append(_item("Forces the decision", h.decision_forced))
        if h.refs:
            out.append(_item("Sources", ", ".join(h.refs)))

    out += ["", "## Questions a strong candidate asks"]
    for q in s.questions:
        out += ["", f"### {q.id}: {_one_line(q.question)}", ""]
        out.append(_item("Why it is a good question", q.why_good))
        out.append(_item("Your answer", q.answer))
        if q.hooks:
            out.append(_item("Hooks", ", ".join(q.hooks)))

    if s.decisions:
        out += ["", "## Design decisions"]
        for dec in s.decisions:
            out += ["", f"### {dec.id}: {_one_line(dec.decision)}", ""]
            out += [_item("Options", "; ".join(dec.options)), _item("Trade-offs", dec.tradeoffs)]
            out.append(_item(f"Modern approach as of {s.as_of.isoformat()}", dec.modern_approach))

    out += ["", "## Rubric"]
    for r in s.rubric:
        out += ["", f"### {r.signal.capitalize()}", ""]
        out += [
            _item("No hire", r.no_hire),
            _item("Lean hire", r.lean_hire),
            _item("Hire", r.hire),
            _item("Strong hire", r.strong_hire),
        ]

    if s.traps:
        out += ["", "## Smooth-talker traps"]
        for i, t in enumerate(s.traps, start=1):
            out += ["", f"### Trap {i}", ""]
            out += [
                _item("The generic answer", t.generic_answer),
                _item("Follow up with", t.follow_up),
                _item("What it exposes", t.exposes),
            ]

    if s.references:
        out += ["", "## References", ""]
        for ref in s.references:
            head = f"{ref.id}: {_one_line(ref.title)}, {_one_line(ref.org)} ({ref.year})"
            out.append(f"- **{head}** <{ref.url.strip()}>")
            out.append(f"  {_one_line(ref.why_relevant)}")

    p = s.provenance
    cost = "unknown" if p.cost_usd is None else f"${p.cost_usd:.4f}"
    out += ["", "## Provenance", ""]
    out += [
        f"- **Generator:** {p.generator} ({p.model})",
        f"- **Prompts:** {p.prompt_version}",
        f"- **Corpus:** {p.corpus_version}",
        f"- **Created:** {p.created_at.isoformat()}",
        f"- **Tokens:** {p.input_tokens} in, {p.output_tokens} out; cost {cost}",
    ]
    if s.review.notes:
        out += ["", "## Review notes", "", _block(s.review.notes)]
    return "\n".join(out) + "\n"


def _placeholder_count(s: Scenario) -> int:
    from crafter.domain.scenario import placeholder_fields

    return len(placeholder_fields(s))


def to_markdown(scenario: Scenario, packet: Packet) -> str:
    """The ``candidate`` packet (title and premise only) or the ``interviewer`` one (everything)."""
    if packet == "candidate":
        return candidate_markdown(scenario)
    if packet == "interviewer":
        return interviewer_markdown(scenario)
    raise ValueError(f"unknown packet {packet!r}: use one of {', '.join(PACKETS)}")
