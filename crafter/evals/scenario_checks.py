"""Checks only a structured scenario allows: answerability and grounding."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from crafter.domain import PLACEHOLDER_PREFIX, Scenario
from crafter.evals.findings import Finding

# "TBD", "todo", "?", "fill in later": an answer or decision that is not there yet.
_EMPTYISH = re.compile(
    r"^\W*(tbd|tba|todo|n/?a|none|pending|fill( it)? in( later)?|to be (decided|determined|written|added)|"
    r"later|x+|\?+|-+|\.+)\W*$",
    re.I,
)


def _missing(text: str) -> bool:
    # TODO(interviewer) placeholders are reported once, by vagueness.
    return PLACEHOLDER_PREFIX not in text and (bool(_EMPTYISH.match(text)) or len(text.strip()) < 8)


# A short prepared answer is still an answer when it states a fact: "Yes.", "11%.", "Never."
_SHORT_FACT = re.compile(
    r"\d|\b(?:yes|no|none|never|always|both|neither|daily|weekly|hourly|monthly)\b", re.I
)


def _missing_answer(text: str) -> bool:
    if _missing(text) and _SHORT_FACT.search(text) and not _EMPTYISH.match(text):
        return False
    return _missing(text)


def answerability(s: Scenario) -> list[Finding]:
    findings = []
    for i, q in enumerate(s.questions):
        if _missing_answer(q.answer):
            findings.append(
                Finding(
                    "answerability", "error", f"question {q.id} has no prepared answer",
                    evidence=f"{q.question[:100]} -> {q.answer!r}", location=f"questions[{i}].answer",
                    suggestion="write the answer you would give, with this company's numbers",
                )
            )  # fmt: skip
    for i, h in enumerate(s.hooks):
        if _missing(h.decision_forced):
            findings.append(
                Finding(
                    "answerability", "error", f"hook {h.id} names no decision it forces",
                    evidence=f"{h.detail[:100]} -> {h.decision_forced!r}", location=f"hooks[{i}].decision_forced",
                    suggestion="say which design choice this detail forces, or drop the hook",
                )
            )  # fmt: skip
    hook_ids = {h.id for h in s.hooks}
    for i, q in enumerate(s.questions):
        unknown = [h for h in q.hooks if h not in hook_ids]
        if unknown:
            findings.append(
                Finding(
                    "answerability", "warning", f"question {q.id} points at unknown hook(s) {', '.join(unknown)}",
                    location=f"questions[{i}].hooks", suggestion="use the ids of hooks in this scenario",
                )
            )  # fmt: skip
    return findings


def grounding(
    s: Scenario, known_urls: Collection[str], titles: Mapping[str, str] | None = None
) -> list[Finding]:
    """``known_urls`` holds normalised URLs of the corpus and the user's corpora; ``titles`` maps
    those URLs to the documents' titles, which a stored reference must match."""
    from crafter.retrieval.corpus import normalize_url

    findings = []
    ref_ids = {r.id for r in s.references}
    # Ids a hook may name by mistake: its refs name sources, not the scenario's own facts.
    own_ids = {c.id for c in s.context} | {h.id for h in s.hooks}
    own_ids |= {q.id for q in s.questions} | {d.id for d in s.decisions}
    for i, h in enumerate(s.hooks):
        for ref in h.refs:
            if ref not in ref_ids and ref in own_ids:
                # Not a citation to a source that does not exist: a link to one of this
                # scenario's own facts, put where only sources go.
                findings.append(
                    Finding(
                        "grounding", "warning",
                        f"hook {h.id} lists {ref!r} in refs, but that is an id of this scenario's own "
                        "content: refs name entries of references (the write-ups a hook is drawn from)",
                        evidence=h.detail[:120], location=f"hooks[{i}].refs",
                        suggestion=f"drop {ref!r} from refs (say the link in the hook's detail instead), "
                        "or cite the write-up the hook came from",
                    )
                )  # fmt: skip
            elif ref not in ref_ids:
                findings.append(
                    Finding(
                        "grounding", "error", f"hook {h.id} cites {ref!r}, which is not in references",
                        evidence=h.detail[:120], location=f"hooks[{i}].refs",
                        suggestion="cite a reference listed in this scenario, or add the source with crafter search",
                    )
                )  # fmt: skip
    for i, r in enumerate(s.references):
        title = (titles or {}).get(normalize_url(r.url))
        if (
            title is not None
            and " ".join(title.split()).casefold() != " ".join(r.title.split()).casefold()
        ):
            findings.append(
                Finding(
                    "grounding", "warning",
                    f"reference {r.id!r} is titled differently from the document at its URL",
                    evidence=f"stored {r.title[:80]!r}; the document: {title[:80]!r}",
                    location=f"references[{i}].title",
                    suggestion="restore the document's own title (a changed title can misattribute a source)",
                )
            )  # fmt: skip
        if normalize_url(r.url) not in known_urls:
            if written_by_a_model(s):
                findings.append(
                    Finding(
                        "grounding", "error",
                        f"reference {r.id!r} points at a URL in neither the corpus nor your corpora: a fabricated source?",
                        evidence=r.url, location=f"references[{i}].url",
                        suggestion="replace it with a document found by crafter search, or index your own source with "
                        "crafter index --add",
                    )
                )  # fmt: skip
            else:
                # A person citing their own team's document (an intranet page) is not fabricating;
                # drafts and the citation check can only use it once it is indexed.
                findings.append(
                    Finding(
                        "grounding", "warning",
                        f"reference {r.id!r} points at a URL in neither the corpus nor your corpora",
                        evidence=r.url, location=f"references[{i}].url",
                        suggestion="index the source with crafter index --add so drafts and this check can "
                        "read it, or replace it with a document found by crafter search",
                    )
                )  # fmt: skip
    return findings


_NO_MODEL = frozenset({"", "none", "n/a", "na", "human", "hand-written", "by hand"})


def written_by_a_model(s: Scenario) -> bool:
    """Whether a model drafted the scenario (its provenance names one): a reference outside the
    corpora is then a likely fabrication. A hand-written scenario names no model."""
    p = s.provenance
    model = p.model.strip().lower()
    return model not in _NO_MODEL and "hand" not in p.generator.lower()
