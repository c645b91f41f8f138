"""The buzzword check: an expected answer or rubric that a smooth talker satisfies by reciting
names, counting terms or stock phrases, rather than by decisions tied to this scenario."""

from __future__ import annotations

import re

from crafter.evals.document import LintDoc, Segment
from crafter.evals.findings import Finding, excerpt
from crafter.evals.knowledge import Knowledge
from crafter.evals.text_checks import (
    _distinct,
    count_numbers,
    part_segments,
    scenario_numbers,
    sentence_with_all,
    sentences,
)


def buzzword(doc: LintDoc, k: Knowledge) -> tuple[list[Finding], dict[str, float]]:
    # Grading by counting is rubric language wherever it stands (a "Look for:" line in a plain
    # text file reads as part of the prompt): the whole text but the traps.
    whole = doc.low()
    counted = k.counting.search(whole) if k.counting is not None else None
    if counted is not None:
        seg = next(
            (s for s in doc.segments if s.part != "trap" and counted.group(0) in s.low),
            doc.segments[0],
        )
        return _warn(
            "the rubric grades by how many techniques or names are said, not by what is decided "
            "with them: a smooth talker passes by listing",
            counted.group(0), seg, "counting_rubric",
            "grade the decisions instead: which approach fits THIS scenario's numbers and why, "
            "what it costs, and the follow-up that exposes a candidate who only lists names",
        )  # fmt: skip
    tally = _tally_of_names(doc)
    if tally is not None:
        seg, items = tally
        return _warn(
            f"the rubric counts terms heard ({len(items)} short names on a checklist) against a "
            "score scale: a smooth talker passes by reciting the list",
            ", ".join(items[:8]), seg, "term_tally",
            "replace the checklist with the decisions this scenario forces, each with what a hire "
            "says about it, and the follow-up that exposes a recited term",
        )  # fmt: skip
    listed = _credit_for_a_name_list(doc)
    if listed is not None:
        seg, sentence = listed
        return _warn(
            "a verdict is earned by saying a list of names, with no decision or reason tied to "
            "this scenario: a smooth talker passes by reciting it",
            excerpt(sentence, 0, min(len(sentence), 160), 0), seg, "name_list_credit",
            "credit what the candidate decides with a technique and why it fits this scenario's "
            "numbers, and add the follow-up that exposes a recited list",
        )  # fmt: skip
    rewarded = _rewards_naming(doc, k)
    if rewarded is not None:
        seg, sentence = rewarded
        return _warn(
            "the grading rewards naming references (papers, companies, named systems) rather than "
            "deciding with them: a smooth talker passes by citing",
            excerpt(sentence, 0, min(len(sentence), 160), 0), seg, "name_reward",
            "credit what the candidate decides for this scenario and why, whatever they cite, and "
            "add the follow-up that asks how a named approach handles its numbers",
        )  # fmt: skip
    answer = doc.low("answer")
    if not answer.strip():
        return [], {}
    found, scores = _buzzword_lexical(doc, k, answer)
    if found:
        return found, scores
    from crafter.evals.semantic import checks as semantic

    return semantic.buzzword(doc, k), scores


def _warn(
    message: str, evidence: str, seg: Segment, score: str, fix: str
) -> tuple[list[Finding], dict[str, float]]:
    """One rule's warning, and the score that says which rule it was."""
    finding = Finding(
        "buzzword", "warning", message, evidence=evidence, location=seg.location, suggestion=fix
    )
    return [finding], {score: 1.0}


# "names word2vec, GloVe, char-CNN and BiLSTM", "says 'feature store', 'drift detection' and
# 'model registry'": a saying verb, then three or more short items joined by commas and a final
# and/or. Items are at most four words and start with no article or quantifier ("a service",
# "any ASR model"), so a sentence of reasons or of things the system names does not read as one.
_ITEM = (
    r"[\"“']?(?!(?:a|an|the|any|other|some|all|each|every|their|its|our|your)\b)"
    r"[\w][\w+./#-]*(?: [\w+./#-]+){0,3}[\"”']?"
)
_NAME_LIST = re.compile(
    r"\b(?:names?|named|naming|name-?check(?:s|ed)?(?: all the right things)?|mentions?|mentioned|mentioning|says?|said|lists?|listed|listing|"
    r"cites?|cited|brings? up|brought up|drops?|dropped|references?|referenced)\b:? "
    + _ITEM
    + r"(?:, "
    + _ITEM
    + r"){1,}(?:,? (?:and|or|&) "
    + _ITEM
    + r")"
)
# Where a list of names is the grade: a verdict or credit word in the same sentence or line.
_VERDICT = re.compile(
    r"\b(?:hire|hires|pass(?:es|ed)?|strong|points?|credit\w*|advance|score[sd]?|bonus|excellent|"
    r"exceeds|senior|up to date|state of the art)\b"
)
# A sentence that reasons, excludes or follows up is not crediting the list itself.
_REASONS = re.compile(
    r"\b(?:because|why|trade-?offs?|given|which (?:one|fits)|explains?|justif\w*|instead|so that|"
    r"tied to|ties|for this|fits|no|not|without|neither|nor|never|only if|follow-?ups?|trap|"
    r"probe|push|ask)\b|n't\b"
)


# "0-3 no hire", "8+ ticks = strong hire", "4–6 lean hire": counts mapped to verdicts.
_COUNT_SCALE = re.compile(
    r"\b\d+\s*(?:[-–]\s*\d+|\+)\s*(?:ticks?|points?|terms?|boxes|checks|items|of (?:these|the above))?"
    r"\s*(?:=|:|→|->)?\s*(?:no hire|lean hire|hire|strong hire|lean no|pass|fail)\b"
)
# A checklist entry: a bullet, a box or a "__" blank, then the entry (several may share a line).
_CHECK_ENTRY = re.compile(r"(?:^|(?<=\s))(?:[-*•]|\[ ?\]|☐|_{2,})[ \t]+([^\n_☐\[]{1,80})", re.M)
_MIN_TALLY_ITEMS = 6


def _tally_of_names(doc: LintDoc) -> tuple[Segment, list[str]] | None:
    """A checklist of short names (at least six entries of at most four words, three in four of
    the entries) on a page that maps counts to verdicts ("0-3 no hire, 8+ strong hire"): the
    candidate passes by saying the names. A checklist of reasoning steps has sentences as
    entries and does not count."""
    low = doc.low()
    if len(_COUNT_SCALE.findall(low)) < 2:
        return None
    for seg in doc.segments:
        if seg.part == "trap":
            continue
        entries = [" ".join(m.group(1).split()) for m in _CHECK_ENTRY.finditer(seg.text)]
        entries = [e for e in entries if e]
        short = [e for e in entries if len(e.split()) <= 4]
        if len(short) >= _MIN_TALLY_ITEMS and len(short) * 4 >= len(entries) * 3:
            return seg, short
    return None


# A number standing as a quantity of the scenario; not the digits inside a name (BM25, GPT-4).
_STANDALONE_NUMBER = re.compile(r"(?<![\w.-])\$?\d")


def _credit_for_a_name_list(doc: LintDoc) -> tuple[Segment, str] | None:
    """The first sentence (or table row) on the interviewer's side that grants a verdict for
    saying a list of names; in a prose file any line with a verdict word counts, since a Slack
    thread or a calibration note has no answer marker."""
    for seg in doc.segments:
        if seg.part == "trap" or (doc.scenario is not None and seg.part != "answer"):
            continue
        if _NAME_LIST.search(seg.low) is None:  # no list anywhere: no sentence to split
            continue
        for line in seg.low.split("\n"):
            said = sentences(line) if "|" not in line else [(0, line)]
            for n, (_, sentence) in enumerate(said):
                m = _NAME_LIST.search(sentence)
                if m is None or _STANDALONE_NUMBER.search(sentence):
                    continue
                # The verdict may be the sentence before ("Very strong on modeling. Candidate
                # name-checked ...").
                before = said[n - 1][1] if n else ""
                if seg.part != "answer" and not _VERDICT.search(sentence + " " + before):
                    continue
                if _REASONS.search(sentence):
                    continue
                return seg, sentence.strip()
    return None


def _rewards_naming(doc: LintDoc, k: Knowledge) -> tuple[Segment, str] | None:
    """The first sentence on the interviewer's side in which credit or a verdict goes to naming
    references ("reward familiarity with named industry systems and papers", "a strong hire cites
    a paper per component"), with no reason asked for in the same sentence."""
    segments = (
        seg
        for seg in doc.segments
        if seg.part != "trap" and (doc.scenario is None or seg.part == "answer")
    )
    found = sentence_with_all(doc, segments, k.name_reward, k.name_reward_reasons, by_line=True)
    return (found[0], found[1].strip()) if found else None


def _buzzword_lexical(
    doc: LintDoc, k: Knowledge, answer: str
) -> tuple[list[Finding], dict[str, float]]:
    generic = _distinct(k.generic, answer)
    checklist = k.checklist.search(answer)
    if checklist:
        generic.append(checklist.group(0))
    # Scenario files are structured: no list markers, points or round lengths to strip.
    numbers = count_numbers(answer) if doc.scenario is not None else scenario_numbers(answer)
    scores = {"generic_phrases": float(len(generic)), "answer_numbers": float(numbers)}
    if (len(generic) >= 3 and numbers <= 1) or (len(generic) >= 5 and numbers <= 3):
        seg = next(s for s in part_segments(doc, "answer"))
        return [
            Finding(
                "buzzword", "warning",
                f"the expected answer is satisfied by generic recitation ({len(generic)} stock phrases, "
                f"{numbers} scenario-specific numbers)",
                evidence=", ".join(generic[:8]), location=seg.location,
                suggestion="write what a strong answer says about THIS scenario: which error costs more, which "
                "data exists, what number decides the threshold; name the follow-up that exposes recitation",
            )
        ], scores  # fmt: skip
    return [], scores
