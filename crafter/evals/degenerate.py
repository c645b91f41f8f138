"""Checks for degenerate scenario content and rubric quality (structured scenarios only).

``degenerate``: the same question, hook or trap twice (exactly: an error; nearly: a warning), the
premise or seed pasted into content, one-word cells, content unrelated to the seed.
``rubric``: levels of a row that read alike, levels with no observable evidence, hire and
strong-hire anchors tied to nothing in this scenario (no hook, number, constraint or data).
All word-set comparisons are bounded: each text is cut to ``_MAX_CHARS`` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from crafter.domain import PLACEHOLDER_PREFIX, Scenario
from crafter.evals.findings import Finding

_MAX_CHARS = 2_000
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
_NUMBER = re.compile(r"\d")
# Words that carry no content: never what ties an anchor to the scenario.
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "not",
        "no",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "over",
        "under",
        "than",
        "then",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "may",
        "might",
        "must",
        "as",
        "if",
        "so",
        "such",
        "which",
        "who",
        "what",
        "when",
        "where",
        "why",
        "how",
        "each",
        "every",
        "any",
        "all",
        "some",
        "more",
        "most",
        "less",
        "also",
        "only",
        "just",
        "about",
        "per",
        "via",
        "both",
        "either",
        "other",
        "own",
        "same",
        "very",
        "well",
        "they",
        "them",
        "their",
        "there",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "his",
        "her",
        "up",
        "out",
        "between",
        "through",
        "after",
        "before",
        "while",
        "candidate",
        "candidates",
        "mentions",
        "mention",
        "explains",
        "explain",
        "discusses",
        "discuss",
        "says",
        "talks",
        "proposes",
        "propose",
        "uses",
        "use",
        "using",
        "good",
        "strong",
        "clear",
        "clearly",
        "understands",
        "understanding",
        "knows",
        "knowledge",
        "solid",
        "deep",
        "basic",
        "limited",
        "poor",
        "great",
        "excellent",
        "reasonable",
        "approach",
        "approaches",
        "system",
        "systems",
        "model",
        "models",
        "data",
        "design",
        "designs",
        "answer",
        "answers",
        "thinks",
        "idea",
        "ideas",
        "considers",
        "consider",
        "some",
        "way",
        "ways",
    ]
)
_ONE_WORD = re.compile(
    r"^\W*(yes|no|ok|okay|n/?a|good|bad|fine|pass|fail|none|maybe|\w+)\W*$", re.I
)
_EVALUATIVE_ONLY = re.compile(
    r"^\W*(very |quite |a |an |some |no |little |limited |basic |solid |strong |good |great |"
    r"excellent |poor |weak |deep |shallow |clear |reasonable )*"
    r"(understanding|knowledge|grasp|answer|performance|job|communication|skills?|depth|signal)"
    r"( of (the )?\w+( \w+)?)?\W*$",
    re.I,
)


_YES_NO = frozenset(
    {"yes", "no", "ok", "okay", "good", "bad", "fine", "pass", "fail", "maybe", "sure"}
)


def stems(text: str) -> set[str]:
    return {w[:5] for w in words(text)}


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text[:_MAX_CHARS].lower()) if w not in _STOP and len(w) > 2}


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text[:_MAX_CHARS].lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _duplicates(kind: str, items: Sequence[tuple[str, str]], near: float) -> list[Finding]:
    """``items``: (location, text). Exact copies are errors, near copies warnings."""
    out: list[Finding] = []
    seen: list[tuple[str, str, set[str]]] = []
    for where, text in items[:200]:
        if PLACEHOLDER_PREFIX in text:
            continue
        norm, ws = _norm(text), words(text)
        for other_where, other_norm, other_ws in seen:
            if norm == other_norm or jaccard(ws, other_ws) >= near:
                exact = norm == other_norm
                out.append(
                    Finding(
                        "degenerate", "error" if exact else "warning",
                        f"{kind} at {where} {'repeats' if exact else 'nearly repeats'} {other_where}",
                        evidence=text[:120], location=where,
                        suggestion=f"replace it with a different {kind} that forces another decision, or drop it",
                    )
                )  # fmt: skip
                break
        else:
            seen.append((where, norm, ws))
    return out


def degenerate(s: Scenario) -> list[Finding]:
    findings = _duplicates(
        "question",
        [(f"questions[{i}].question", q.question) for i, q in enumerate(s.questions)],
        0.8,
    )
    findings += _duplicates(
        "hook", [(f"hooks[{i}].detail", h.detail) for i, h in enumerate(s.hooks)], 0.8
    )
    findings += _duplicates(
        "trap",
        [(f"traps[{i}].generic_answer", t.generic_answer) for i, t in enumerate(s.traps)],
        0.85,
    )
    findings += _copied(s)
    findings += _one_word_cells(s)
    findings += _unrelated(s)
    return findings  # fmt: skip


def _copied(s: Scenario) -> list[Finding]:
    """The premise or the seed pasted into a field where new content belongs."""
    sources = [_norm(x) for x in (s.premise, s.seed) if len(x.split()) >= 6]
    out = []
    fields = [(f"hooks[{i}].detail", h.detail) for i, h in enumerate(s.hooks)]
    fields += [(f"questions[{i}].answer", q.answer) for i, q in enumerate(s.questions)]
    fields += [(f"rubric[{i}].hire", r.hire) for i, r in enumerate(s.rubric)]
    for where, text in fields:
        norm = _norm(text)
        if len(norm) < 30:
            continue
        if any(norm in src or (src in norm and len(norm) - len(src) < 40) for src in sources):
            out.append(
                Finding(
                    "degenerate", "warning", f"{where} copies the premise or seed instead of adding content",
                    evidence=text[:120], location=where,
                    suggestion="write what this field is for: a new detail, your prepared answer, observable evidence",
                )
            )  # fmt: skip
    return out


def _one_word_cells(s: Scenario) -> list[Finding]:
    cells = [
        (f"rubric[{i}].{level}", getattr(r, level))
        for i, r in enumerate(s.rubric)
        for level in ("no_hire", "lean_hire", "hire", "strong_hire")
    ]
    cells += [(f"questions[{i}].answer", q.answer) for i, q in enumerate(s.questions)]
    cells += [(f"hooks[{i}].decision_forced", h.decision_forced) for i, h in enumerate(s.hooks)]
    bad = [
        (w, t)
        for w, t in cells
        if PLACEHOLDER_PREFIX not in t and len(t.split()) == 1 and _ONE_WORD.match(t)
    ]
    # "TBD" in an answer or decision is answerability's finding, not this one.
    bad = [(w, t) for w, t in bad if w.startswith("rubric") or t.strip(" .").lower() in _YES_NO]
    if not bad:
        return []
    where, text = bad[0]
    # A draft is broken when its cells say "Yes"/"No" or many are one word; a few terse no-hire
    # cells ("Accuracy.") in an otherwise written rubric are worth fixing, not an error.
    rubric_cells = 4 * len(s.rubric)
    yes_no = any(t.strip(" .").lower() in _YES_NO for _, t in bad)
    broken = len(bad) >= 3 and (yes_no or len(bad) >= max(3, rubric_cells // 4))
    return [
        Finding(
            "degenerate", "error" if broken else "warning",
            f"{len(bad)} one-word cell(s) such as {where} = {text!r}: nothing an interviewer can observe",
            evidence=", ".join(f"{w}={t!r}" for w, t in bad[:6]), location=where,
            suggestion="write what the candidate says or does at that level, in this scenario's terms",
        )
    ]  # fmt: skip


def _unrelated(s: Scenario) -> list[Finding]:
    """The content shares no content word with the seed and reads unlike it."""
    seed = words(s.seed)
    if len(seed) < 2:
        return []
    body = " ".join(
        [s.title, s.premise, *(h.detail for h in s.hooks), *(q.question for q in s.questions)]
    )
    if PLACEHOLDER_PREFIX in body or len(seed & words(body)) >= 1:
        return []
    from crafter.evals.semantic.static import shared_static

    seed_vec, body_vec = shared_static().embed([s.seed, body[:_MAX_CHARS]])
    similarity = float(seed_vec @ body_vec)
    if similarity >= 0.5:
        return []
    return [
        Finding(
            "degenerate", "warning",
            f"the content seems unrelated to the seed (no shared words, similarity {similarity:.2f})",
            evidence=s.seed[:120], location="premise",
            suggestion="redraft from the seed, or change the seed to the need this scenario is about",
        )
    ]  # fmt: skip


# -- rubric -------------------------------------------------------------------------------------

_LEVELS = ("no_hire", "lean_hire", "hire", "strong_hire")


def rubric(s: Scenario) -> list[Finding]:
    findings: list[Finding] = []
    anchors = stems(" ".join([
        s.premise, *(c.text for c in s.context), *(f"{h.detail} {h.decision_forced}" for h in s.hooks),
        *(f"{c.name} {c.value} {c.unit} {c.why}" for c in s.constraints),
        *(f"{d.name} {d.description} {d.size} {d.labels} {d.limits}" for d in s.data),
        *(q.answer for q in s.questions),
    ]))  # fmt: skip
    for i, row in enumerate(s.rubric):
        cells = [(level, getattr(row, level)) for level in _LEVELS]
        if any(PLACEHOLDER_PREFIX in t for _, t in cells):
            continue
        sets = [words(t) for _, t in cells]
        for a in range(len(cells)):
            for b in range(a + 1, len(cells)):
                if _norm(cells[a][1]) == _norm(cells[b][1]) or jaccard(sets[a], sets[b]) >= 0.85:
                    findings.append(
                        Finding(
                            "rubric", "warning",
                            f"rubric row {row.signal}: {cells[a][0]} and {cells[b][0]} read alike, so the levels cannot be told apart",
                            evidence=cells[b][1][:120], location=f"rubric[{i}].{cells[b][0]}",
                            suggestion="say what the candidate does at each level that the level below does not",
                        )
                    )  # fmt: skip
                    break
            else:
                continue
            break
        vague = [(lv, t) for lv, t in cells if _EVALUATIVE_ONLY.match(t)]
        if vague:
            lv, t = vague[0]
            findings.append(
                Finding(
                    "rubric", "warning",
                    f"rubric row {row.signal}: {lv} names a quality, not observable evidence",
                    evidence=t[:120], location=f"rubric[{i}].{lv}",
                    suggestion="write what the interviewer hears or sees: the question asked, the number used, the decision made",
                )
            )  # fmt: skip
        untied = [
            lv
            for lv in ("hire", "strong_hire")
            if not _NUMBER.search(getattr(row, lv)) and not stems(getattr(row, lv)) & anchors
        ]
        if len(untied) == 2:
            findings.append(
                Finding(
                    "rubric", "warning",
                    f"rubric row {row.signal}: the hire and strong-hire anchors tie to nothing in this scenario "
                    "(no hook, number, constraint or data)",
                    evidence=row.hire[:120], location=f"rubric[{i}].hire",
                    suggestion="anchor them in a hook, a number or a constraint of this scenario, so generic ML "
                    "vocabulary cannot reach them",
                )
            )  # fmt: skip
    return findings
