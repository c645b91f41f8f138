"""Checks that read any question text (and the text of a scenario): vagueness and ml-clothing, and
the counting helpers the other checks share (buzzword.py, coverage_check.py, field_checks.py).
Pure functions over a LintDoc."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from crafter.domain import PLACEHOLDER_PREFIX
from crafter.domain.scenario import placeholder_fields
from crafter.evals.document import LintDoc, Segment
from crafter.evals.findings import Finding, excerpt
from crafter.evals.knowledge import FastPattern, Knowledge

# "e.g.", "i.e.", "vs." and "etc." do not end a sentence ("a baseline, e.g. TF-IDF" stays one).
_SENTENCE = re.compile(
    r"(?:(?<![a-z])(?:e\.g|i\.e|vs|etc)\.|[^.!?;\n]|\n(?!\s*[-*#\d]))+(?:[.!?;]+|\n|$)"
)
# An amount: optional $, digits, decimals, a unit. The same matches as r"\$?\d[\d,]*...", but
# opening with a character class lets re skip ahead to a digit or $ (a leading optional \$? has it
# try the whole pattern at every position: twice as slow).
_DIGITS = re.compile(
    r"[\d$](?:(?<=\$)\d|(?<!\$))[\d,]*(?:\.\d+)?(?:\s?(?:%|k|m|b|bn|ms|x|tb|gb|mb)\b)?"
)
# Whole words, optionally plural (one, ones, dozens...).
_NUMBER_WORDS = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "dozen",
    "hundred", "thousand", "million", "billion",
)  # fmt: skip
_WORD_CHAR = re.compile(r"\w")
_YEAR = re.compile(r"^(19|20)\d\d$")
_DATA = re.compile(
    r"\b(data(set)?s?|logs?|history|historical|records?|labell?ed|labels?|tickets?|transactions?|messages?|"
    r"photos?|images?|events?|clicks?|orders?|claims?|sessions?|reviews?|transcripts?|notes|"
    r"warehouse|database|catalog(ue)?|feeds?|telemetry)\b",
)
_USERS = re.compile(
    r"\b(users?|customers?|members?|riders?|drivers?|employees?|patients?|sellers?|buyers?|farmers?|"
    r"learners?|agents?|developers?|merchants?|residents?|shoppers?|staff|analysts?|adjusters?|"
    r"dispatchers?|clinicians?|nurses?|doctors?|players?|viewers?|listeners?|readers?|hosts?|guests?|"
    r"couriers?|technicians?|operators?|reviewers?|moderators?|advertisers?|students?|teachers?)\b",
)
_CONSTRAINT = re.compile(
    r"\b(latency|p9\d|budget|deadline|within|at most|no more than|under|per second|per day|a day|"
    r"cost(s)?|regulat\w*|privacy|consent|compliance|must|cannot|can't|forbidden|allowed|sla|offline|"
    r"on-device|gdpr|hipaa)\b|\$|%",
)
_BARE = re.compile(
    r"^\W*(please\s+)?(design|build|create|make|develop|implement|architect)\s+(me\s+)?(a|an|the|our)?\s*"
    r"[\w\s/,'-]{0,80}?\b(system|model|pipeline|platform|service|chat ?bot|recommender|engine|solution)"
    r"\b[^.?!]{0,60}[.?!]?\s*$",
    re.S,
)


# Numbers about the interview, not the scenario: list markers, rubric points, the round's length
# and level. "Round 2 (45 min)" and "1 point each" make a question look concrete without being so.
# Each kind is its own regex behind a literal test: one big alternation with no literal to skip to
# costs re a try of every branch at every position (0.4 ms per KB measured).
_MINUTES = r"(?:\d+|five|ten|fifteen|twenty|thirty|forty(?:-five)?|sixty)[ -]?min(?:ute)?s?\b"
_LIST_MARKER = re.compile(r"^[ \t>*_#-]*\(?\d{1,2}[.)](?=\s)", re.M)
_POINTS = re.compile(
    r"\d+\s*(?:\+\s*)?(?:points?|pts)\b|\d+\+?\s*=\s*(?:strong\s+)?(?:hire|pass|no\b)"
)
_INTERVIEW_TIME = re.compile(
    r"\(\s*" + _MINUTES + r"\s*\)"
    r"|\b(?:spend|leave|keep|save|reserve|last|first|remaining|final|time|round|interview|session"
    r"|give (?:the candidate|them|candidates)|allow|allot)"
    r"\W{0,6}(?:(?:the|about|roughly|around|last|first|remaining|final)\s+){0,2}"
    + _MINUTES
    + r"|"
    + _MINUTES
    + r"\s+(?:at the end|for (?:the candidate'?s? )?questions|for q&a|on each|"
    r"per (?:part|stage|section))"
    r"|\b\d+[ -]min(?:ute)?\s+(?:round|interview|session|slot|loop)"
)
_QUESTION_TIME = re.compile(
    r"\b(?:last|final|remaining)\s+(?:\d+|five|ten|fifteen)\s+(?:min(?:ute)?s?\s+)?(?:for|to)\s+"
    r"(?:the\s+)?(?:candidate'?s?\s+)?(?:questions|q&a)"
)
# "+2" in a points table, "hire at 7+": score arithmetic, not facts (a "+2%" lift is kept).
_SCORE_DELTA = re.compile(
    r"(?<![\w.])\+\d+\b(?![.,]?\d|\s*%)|\b(?:at|hire|pass|score[sd]?)\s+\d+\+"
)
# "round 3", "L5", and a document's own version ("(v3)", "rev. 7").
_ROUND_LEVEL = re.compile(
    r"\b(?:round|level|loop)\s*:?\s*\d+\b|\b[le]\d{1,2}\b|\bv\d+(?:\.\d+)*\b|\brev(?:ision)?\.?\s*\d+\b"
)
# "this one", "one of": a pronoun far more often than a quantity.
_ONE = re.compile(r"\bones?\b")
# When and where the round happens: a clock time or span, a calendar date, a meeting ID.
_CALENDAR = re.compile(
    r"\b\d{1,2}:\d{2}(?:\s*[-–]\s*\d{1,2}:\d{2})?\b|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{4})?\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s+\d{4})?"
    r"|\bmeeting id:?\s*[\d ]{6,}"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_LOGISTICS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    ((":", "-", "meeting id", *_MONTHS), _CALENDAR),
    ((".", ")"), _LIST_MARKER),  # a marker is "1." or "1)" at a line start
    (("point", "pts", "="), _POINTS),
    (("+",), _SCORE_DELTA),
    (("min",), _INTERVIEW_TIME),
    (("questions", "q&a"), _QUESTION_TIME),
    ((), _ROUND_LEVEL),  # "l5" and "e6" have no literal to test for: always run
    (("one",), _ONE),
)


@lru_cache(maxsize=8)
def scenario_numbers(text: str) -> int:
    """``count_numbers`` without the interview's own logistics (lowercased ``text``).

    Cached: vagueness and buzzword both count the same answer text of a question.
    """
    for needles, rx in _LOGISTICS:
        if not needles or any(n in text for n in needles):
            text = rx.sub(" ", text)
    return count_numbers(text)


def sentences(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def count_numbers(text: str) -> int:
    """Quantities in ``text`` (digits or number words), not counting bare years."""
    digits = sum(1 for g in _DIGITS.findall(text) if len(g) != 4 or not _YEAR.match(g))
    return digits + _count_number_words(text)


def _count_number_words(text: str) -> int:
    r"""Number words standing as whole words: how many matches r"\b(?:one|two|...)s?\b" has."""
    count = 0
    for word in _NUMBER_WORDS:
        # str.find skips through the text; re would try the alternation at every position.
        i = text.find(word)
        while i >= 0:
            end = i + len(word) + text.startswith("s", i + len(word))
            if (i == 0 or not _WORD_CHAR.match(text, i - 1)) and not _WORD_CHAR.match(text, end):
                count += 1
            i = text.find(word, i + 1)
    return count


_FACTS_HEADER = re.compile(
    r"(if asked|on ask|when asked|facts?\b|details|context|clarif\w*|background|data (available|we have)|"
    r"prepared answers?|answers? to (likely |candidate |good )?questions|what (you|the interviewer) (can|may) (share|reveal|tell))"
)
_HEADER_LINE = re.compile(r"^\s*(#{1,6}\s+.*|\*\*[^*\n]{1,80}\*\*:?\s*|[A-Z][^.!?\n]{0,70}:)\s*$")


def _facing(doc: LintDoc) -> list[Segment]:
    """The prompt, and the facts the interviewer holds for the candidate: a scenario's context,
    data, constraints, hooks and prepared answers; a prose file's notes under an "if asked" or
    "facts" header. Not rubric rows, modern approaches or a model answer."""
    if doc.scenario is not None:
        return [
            s for s in doc.segments
            if s.part == "prompt" or s.location.startswith("questions[")
        ]  # fmt: skip
    out: list[Segment] = []
    facts = False
    for seg in doc.segments:
        if seg.part == "prompt":
            out.append(seg)
            continue
        if seg.part != "answer":
            continue
        first = seg.text.split("\n", 1)[0]
        if _HEADER_LINE.match(first):
            facts = bool(_FACTS_HEADER.search(first.lower()))
        if facts:
            out.append(seg)
    return out


def verdict_threshold() -> float:
    from crafter.evals.semantic.detector import detector

    return detector("vagueness").threshold


def semantic_min_similarity() -> float:
    from crafter.evals.semantic.detector import detector

    return detector("vagueness").min_similarity


def part_segments(doc: LintDoc, part: str | None = None) -> Iterator[Segment]:
    for seg in doc.segments:
        if seg.part == "trap" or (part is not None and seg.part != part):
            continue
        yield seg


def sentence_with_all(
    doc: LintDoc,
    segments: Iterable[Segment],
    parts: tuple[FastPattern, ...],
    unless: FastPattern | None = None,
    *,
    by_line: bool,
) -> tuple[Segment, str] | None:
    """The first sentence of ``segments`` in which every pattern of ``parts`` matches and
    ``unless`` does not: a frame of several parts that must meet in one sentence. With
    ``by_line`` sentences are split within each line (a chat line or table row stands alone);
    otherwise a paragraph's lines run together (a wrapped sentence)."""
    if not parts or not all(p.may_match(doc.low()) for p in parts):
        return None
    for seg in segments:
        if not all(p.may_match(seg.low) for p in parts):
            continue
        chunks = seg.low.split("\n") if by_line else [" ".join(seg.low.split())]
        for chunk in chunks:
            for _, sentence in sentences(chunk):
                if all(p.search(sentence) for p in parts) and not (
                    unless is not None and unless.search(sentence)
                ):
                    return seg, sentence
    return None


# -- vagueness ----------------------------------------------------------------------------------


def vagueness(doc: LintDoc, k: Knowledge) -> tuple[list[Finding], dict[str, float]]:
    findings: list[Finding] = []
    # Each placeholder at its own field and line, so an editor jump or a CI annotation lands on
    # it; the interviewer packet counts the same segments.
    if doc.scenario is not None:
        placeholders = placeholder_fields(doc.scenario)
    else:
        placeholders = [(s.location, s.text) for s in doc.segments if PLACEHOLDER_PREFIX in s.text]
    for n, (where, text) in enumerate(placeholders, start=1):
        findings.append(
            Finding(
                "vagueness", "error",
                f"placeholder {n} of {len(placeholders)}: {where} still holds a "
                "TODO(interviewer) for you to fill",
                evidence=excerpt(text, 0, min(len(text), 80), 0),
                location=where,
                suggestion="replace it with this company's facts or your prepared answer",
            )
        )  # fmt: skip
    text = doc.text
    # What the candidate designs around: the prompt, and the facts the interviewer holds for
    # them (a scenario's context, data and prepared answers; a prose file's "if asked" notes).
    # Never the rubric or the answer key: numbers there say nothing about the prompt.
    facing = _facing(doc)
    # Company trivia (founding year, headcount, revenue) gives the candidate nothing to design with.
    scoped = [
        s
        for s in facing
        if PLACEHOLDER_PREFIX not in s.text and not _only_trivia(s.low, k.company_trivia)
    ]
    filled = "\n".join(s.low for s in scoped)
    words = len(filled.split())
    numbers = scenario_numbers(filled) if doc.scenario is None else count_numbers(filled)
    has_data = bool(_DATA.search(filled))
    has_users = bool(_USERS.search(filled))
    has_constraint = bool(_CONSTRAINT.search(filled))
    concreteness = min(numbers, 4) + has_data + has_users + has_constraint
    scores = {"words": float(words), "numbers": float(numbers), "concreteness": float(concreteness)}
    missing = [
        name
        for name, present in (
            ("numbers (scale, latency, money, counts)", numbers > 0),
            ("named data sources", has_data),
            ("who the users are", has_users),
            ("constraints", has_constraint),
        )
        if not present
    ]
    hook_finding = _few_hooks(doc, concreteness)
    # A thin scenario's few hooks are its vagueness finding; the prompt checks below stand aside.
    thin = hook_finding is not None and hook_finding.severity == "warning"
    first_line = next(iter(part_segments(doc)), None)
    location = first_line.location if first_line else ""
    prompt = doc.prompt
    prompt_words = len(prompt.split())
    # Whitespace collapsed and length bounded before matching: a run of spaces gave the pattern's
    # optional gaps many ways to split it (35 s on "design" + 3,000 spaces).
    bare = " ".join(prompt.split()).lower() if doc.scenario is None and prompt_words <= 30 else ""
    from crafter.evals.semantic import checks as semantic

    verdict = semantic.vagueness_probability(prompt) if doc.scenario is None else None
    if verdict is not None:
        scores["vagueness_semantic"] = round(verdict.probability, 3)
    quote = _spoken_quote(doc, k) if doc.scenario is None else None
    withheld = _withheld_prompt(doc, k, quote) if quote is not None else None
    headed = _headed_prompt(doc) if doc.scenario is None and quote is None else None
    if headed is not None:
        # Named as the prompt by the page's layout alone: it must also read vague by meaning
        # ("must handle Thai, Vietnamese and Indonesian" is specific without a number).
        named = semantic.vagueness_probability(headed[2])
        if named is None or named.probability < verdict_threshold():
            headed = None
        elif withheld is None:
            withheld = _withheld_prompt(doc, k, headed[:3])
    if withheld is not None:
        quoted, cue = withheld
        findings.append(
            Finding(
                "vagueness", "error",
                f"the candidate hears only \"{quoted}\", and the page withholds the rest "
                f"(\"{cue}\"): nothing concrete to design around",
                evidence=quoted, location=location,
                suggestion="say the specifics to the candidate: who is served, what data exists, the "
                "scale and the cost of errors; keep only the answers to good questions in reserve",
            )
        )  # fmt: skip
    elif doc.scenario is None and (soup := _adjective_soup(doc.low("prompt"), k)):
        findings.append(
            Finding(
                "vagueness", "error",
                f"adjective soup: the prompt sells a system ({', '.join(soup[:6])}) but names no "
                "product, user, data or number to design around",
                evidence=", ".join(soup), location=location,
                suggestion="replace the adjectives with facts: who is served, what data exists, the "
                "volume and latency in numbers, and what an error costs",
            )
        )  # fmt: skip
    elif (
        quote is not None
        and (spoken := _bare_spoken_prompt(doc, quote, facing, trivia=k.company_trivia)) is not None
    ):
        findings.append(
            Finding(
                "vagueness", "error",
                f"the candidate hears only \"{spoken}\", and nothing on the page gives them the "
                "specifics: the rest is about running the interview",
                evidence=spoken, location=location,
                suggestion="give the candidate the specifics with the prompt: who is served, what data "
                "exists, the scale and the cost of errors",
            )
        )  # fmt: skip
    elif (
        headed is not None
        and (
            spoken := _bare_spoken_prompt(
                doc, headed[:3], facing, headed[3], trivia=k.company_trivia
            )
        )
        is not None
    ):
        findings.append(
            Finding(
                "vagueness", "error",
                f"the page's prompt section holds only \"{spoken}\", and nothing else on the page "
                "gives the candidate the specifics: the rest is about running the interview",
                evidence=spoken, location=location,
                suggestion="give the candidate the specifics with the prompt: who is served, what data "
                "exists, the scale and the cost of errors",
            )
        )  # fmt: skip
    elif bare and len(bare) <= 600 and _BARE.match(bare) and words <= 60:
        findings.append(
            Finding(
                "vagueness", "error", "a bare 'design a ... system' prompt: nothing concrete to design around",
                evidence=excerpt(prompt, 0, min(len(prompt), 120), 0), location=location,
                suggestion="start from a real user need: who is served, what data exists, scale and the cost of errors",
            )
        )  # fmt: skip
    elif not findings and not thin and (numbers == 0 or concreteness <= (3 if numbers < 2 else 2)):
        severity = "error" if concreteness <= 2 or words < 25 else "warning"
        # The meaning of the prompt can clear a lexical miss: specific wording with few numbers
        # (a named user, a named constraint) reads unlike every vague exemplar.
        veto = semantic.vagueness_veto()
        if (
            verdict is not None
            and concreteness >= semantic.vagueness_veto_min_concreteness()
            and verdict.probability < veto
        ):
            scores["vagueness_vetoed"] = 1.0
        else:
            findings.append(
                Finding(
                    "vagueness", severity,  # type: ignore[arg-type]
                    f"little to design around: missing {', '.join(missing) or 'specifics'}",
                    evidence=excerpt(text, 0, min(len(text), 120), 0), location=location,
                    suggestion="add product context, numbers (volume, latency, money), the data that exists and its limits",
                )
            )  # fmt: skip
    elif (
        not findings
        and not thin
        and verdict is not None
        and verdict.probability >= verdict_threshold()
        and (
            numbers <= 1 and prompt_words <= 40 and verdict.similarity >= semantic_min_similarity()
        )
    ):
        findings.append(
            Finding(
                "vagueness", "warning",
                f"the prompt names a generic system with nothing specific to design around "
                f"({semantic.describe_vague(verdict)})",
                evidence=excerpt(prompt, 0, min(len(prompt), 120), 0), location=location,
                suggestion="add product context, numbers (volume, latency, money), the data that exists and its limits",
            )
        )  # fmt: skip
    if hook_finding is not None:
        findings.append(hook_finding)
    return findings, scores


def _spoken_quote(doc: LintDoc, k: Knowledge) -> tuple[int, int, str] | None:
    """Where the quoted line a page says the candidate hears sits in ``doc.low()`` (start, end),
    and the line itself in the page's own capitals where lowercasing kept every offset (it does
    for nearly all text), its spaces collapsed."""
    if k.spoken_prompt is None:
        return None
    low = doc.low()
    if not k.spoken_prompt.may_match(low):
        return None
    for n, spoken in enumerate(k.spoken_prompt.rx.finditer(low)):
        if n >= _MAX_QUOTES:
            return None
        start, end = spoken.span(1)
        before = low[max(0, spoken.start() - 30) : start]
        if _NOT_SAID.search(before) or _THEY_SAY.search(before):
            # "the candidate may not say 'use SentencePiece'", "if they also say 'uplift
            # modelling'": what the candidate says or must not, not what they hear.
            return None
        if k.withholding is not None and k.withholding.search(spoken.group(1)):
            # 'if they ask I say "assume whatever you think is reasonable"': the reply to a
            # question, not the prompt; the prompt may be quoted further on.
            continue
        source = "\n".join(seg.text for seg in doc.segments if seg.part != "trap")
        if len(source) != len(low):
            source = low
        return start, end, " ".join(source[start:end].split())
    return None


_MAX_QUOTES = 20  # quoted lines looked at for the prompt


_THEY_SAY = re.compile(
    r"\b(?:they|candidates?|he|she|someone)\s+(?:\w+\s+)?(?:say|says|said)\b[^\n]{0,6}$"
)
_NOT_SAID = re.compile(r"\b(?:not|never|cannot|can.t|mustn.t|shouldn.t|don.t|won.t)\b[^\n]{0,14}$")
# What follows a quoted prompt in its own sentence: "the 'podcast discovery' one: 30M listeners,
# 4M episodes", "'Design ...' (prompt text: 5.5M customers; ...)". Specifics there belong to it.
# The sentence runs on across wrapped lines, not past a blank line, a bullet, a numbered line
# or a full stop.
_AFTER_QUOTE = re.compile(r"(?:[^.!?\[\n]|[.!?](?=\S)|\n(?![ \t]*(?:\n|[-*•]|\d+[.)])))*")


def _withheld_prompt(
    doc: LintDoc, k: Knowledge, quote: tuple[int, int, str]
) -> tuple[str, str] | None:
    """(the quoted line the candidate hears, the withholding cue) when a page around a bare
    one-line prompt tells the interviewer to hold everything else back (see vocabulary.yaml)."""
    if k.withholding is None:
        return None
    quoted = quote[2]
    plain = quoted.lower()
    if not (_BARE.match(plain) or (len(plain.split()) <= 12 and not scenario_numbers(plain))):
        return None
    cue = k.withholding.search(doc.low())
    return (quoted, cue.group(0)) if cue is not None else None


# What hands the candidate facts beside the quoted prompt: a facts or background heading, or an
# instruction to tell, share, read out or hand them something.
_GIVES_FACTS = re.compile(
    r"\b(?:tell|share (?:with )?|hand|give|show|read (?:out|aloud)(?: to)?) (?:them|the candidate|candidates)\b"
    r"|\b(?:premise|scenario|setting|background|context|facts?|details)\b[^\n]{0,30}:"
    r"|\bif (?:they|the candidate) asks?\b|\bwhen asked\b|\bif asked\b"
)
# Words of running an interview: a paragraph with one of them is about the round, not the product.
_PROCESS = re.compile(
    r"\b(?:interview\w*|the candidate|candidates|feedback|resume|whiteboard|hiring|hire|debrief|calibrat\w*|"
    r"attendees|action items?|score[sd]?|scoring|rubric|panel|recruit\w*|ats|loop|rounds?|runbook|"
    r"revision|rev|candidate questions|intros?|scorecard|zoom|calendar|invite|room|"
    r"difficulty|tags|last used|last reviewed|suggested length|share the prompt)\b"
)
_DENIES_FACTS = re.compile(
    r"\b(?:do not|don.?t|never|nor)\b[^.\n]{0,30}\b(?:supply|give|share|tell|add|offer)\b"
)


def _adjective_soup(prompt_low: str, k: Knowledge) -> list[str]:
    """The hype adjectives of a prompt with four or more of them and at most one number."""
    found = _distinct(k.hype, prompt_low)
    if len(found) < 4 or scenario_numbers(prompt_low) > 1:
        return []
    return found


# A user or data word that says nothing about who or what: "our users", "a lot of data".
_GENERIC_BEFORE = re.compile(
    r"(?:\b(?:our|the|your|its|their|all|many|some|more|of|for|to|with|about|lot|lots|a|an|and|or|"
    r"help|make|makes|keep|serve|that|these|those|happier|happy|any|every|how|people|using)\s+)$"
)


def _named(rx: re.Pattern[str], low: str) -> bool:
    """Whether ``rx`` finds a user or data word that something names ("per diem nurses",
    "claims history"), not one in "our users" or "a lot of data"."""
    return any(
        m.start() > 0 and not _GENERIC_BEFORE.search(low[max(0, m.start() - 20) : m.start()])
        for m in rx.finditer(low)
    )


def _concreteness(low: str, *, named: bool = False) -> int:
    """Numbers (up to four), data, users and constraints in ``low``; with ``named`` a user or
    data word counts only when something names it (see ``_named``)."""
    if named:
        data, users = _named(_DATA, low), _named(_USERS, low)
    else:
        data, users = bool(_DATA.search(low)), bool(_USERS.search(low))
    return min(scenario_numbers(low), 4) + data + users + bool(_CONSTRAINT.search(low))


# A heading that names the candidate's prompt ("## Prompt (read aloud to the candidate)",
# "Candidate prompt", "Question as asked to candidates:"), on a line of its own.
_PROMPT_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*|\*\*|\*)?(?:the[ \t]+)?(?:candidate[- ]facing[ \t]+|candidate[ \t]+)?"
    r"(?:prompt|question|problem(?: statement)?|opening (?:statement|prompt)"
    r"|read (?:this |it )?(?:aloud |out )?to (?:the )?candidates?|say (?:this )?(?:verbatim|aloud)"
    r"|what (?:the )?candidates? (?:sees?|hears?|gets?))\b[^\n]{0,50}$",
)
# A label and the prompt on one line: "*Prompt:* Design a system to ...", "**Question.** How ...".
_PROMPT_LABEL = re.compile(
    r"^[ \t]*(?:\*\*|\*|__)?(?:prompt|question|problem(?: statement)?|the ask)(?:\*\*|\*|__)?"
    r"[ \t]*[:.][ \t]*(?:\*\*|\*|__)?[ \t]*(?=\S)",
)
_NEXT_LABEL = re.compile(r"\n[ \t]*(?:[-*•#|]|\*\*|\*|__|\d+[.)]|[A-Za-z][\w ]{0,30}:)")
# A colleague's instruction in a thread: "just ask them to design a chatbot for customers".
_ASK_THEM = re.compile(
    r"\b(?:just |simply )?ask (?:them|the candidate|candidates) to "
    r"((?:design|build|create|make) (?:me )?(?:a|an|the|our|some)\b[^.\n]{3,160})"
)


def _prompt_text(text: str) -> str:
    """A prompt as the page shows it, without its block-quote marker, emphasis or line breaks."""
    return " ".join(text.lstrip("> ").strip("*_ ").split())


def _headed_prompt(doc: LintDoc) -> tuple[int, int, str, bool] | None:
    """What the page names as the candidate's prompt, as (start, end, text) in ``doc.low()``, when
    it is short (at most 40 words): the paragraph under a heading that names it, the text after a
    "Prompt:" label on its line, or a colleague's "ask them to design ...". The shape
    ``_bare_spoken_prompt`` judges, and whether it stands inside a longer line (the thread's)."""
    offset = 0
    segments = [s for s in doc.segments if s.part != "trap"]
    for i, seg in enumerate(segments):
        start, offset = offset, offset + len(seg.low) + 1  # this segment's span in doc.low()
        label = _PROMPT_LABEL.match(seg.low)
        if label is not None:
            # The label's paragraph (a wrapped prompt runs on), up to a line that opens another.
            rest = seg.text[label.end() :]
            cut = _NEXT_LABEL.search(rest)
            text = (rest[: cut.start()] if cut else rest).strip()
            if text.strip("*_ ") and len(text.split()) <= 40:
                at = start + label.end()
                return at, at + len(text), " ".join(text.split()), False
            if text.strip("*_ ") or "\n" in seg.low.strip():
                continue
            # "**Prompt:**" alone on its line: a heading over the prompt, read below.
        first, _, rest = seg.low.strip().partition("\n")
        if rest and _PROMPT_HEADING.match(first) is not None and len(first.split()) <= 10:
            # The heading and the prompt in one paragraph ("### Prompt" then its line).
            lead = seg.low.index(rest)
            text = seg.text[lead:].strip()
            at = start + lead
            if text.endswith(":") and "\n" not in text and i + 1 < len(segments):
                # "## The question / Every round uses the same prompt:" introduces the prompt,
                # which is the next paragraph.
                body = segments[i + 1]
                text = body.text.strip()
                at = offset + len(body.text) - len(body.text.lstrip())
            if text and len(text.split()) <= 40 and not text.startswith(("#", "|", "-", "*")):
                return at, at + len(text), _prompt_text(text), False
            continue
        if _PROMPT_HEADING.match(seg.low) is None or "\n" in seg.low.strip():
            continue
        if len(seg.low.split()) > 10 or i + 1 >= len(segments):
            continue
        body, body_at = segments[i + 1], offset  # offset: where segment i + 1 starts
        if body.text.rstrip().endswith(":") and i + 2 < len(segments):
            # "Every round uses the same prompt:" introduces it; the prompt is what follows.
            body_at += len(body.low) + 1
            body = segments[i + 2]
        text = body.text.strip()
        if not text or len(text.split()) > 40 or text.startswith(("#", "|", "-", "*")):
            continue  # a title ("# Prompt card: fraud"), not the heading over the prompt
        lead = len(body.text) - len(body.text.lstrip())
        at = body_at + lead
        return at, at + len(text), _prompt_text(text), False
    low = doc.low()
    cell = _PROMPT_CELL.search(low)
    if cell is not None:
        text = cell.group(1).strip().strip('"“”*_ ')
        if text and len(text.split()) <= 40:
            at = low.index(text, cell.start(1))
            source = "\n".join(seg.text for seg in segments)
            shown = source[at : at + len(text)] if len(source) == len(low) else text
            return at, at + len(text), " ".join(shown.split()), False
    ask = _ASK_THEM.search(low) or _SAID_PROMPT.search(low)
    if ask is not None:
        return ask.start(1), ask.end(1), " ".join(ask.group(1).split()), True
    return None


# A table row that names the prompt: "| Prompt | "We run a marketplace. Design ..." |".
_PROMPT_CELL = re.compile(
    r"^\|[ \t]*(?:\*\*)?(?:candidate[ \t]+)?(?:prompt|question|the ask)(?:\*\*)?[ \t]*\|"
    r"[ \t]*([^|\n]{3,400})\|[ \t]*$",
    re.M,
)
# The prompt said in a transcript line: "so the question for today. Design a system that ...".
_SAID_PROMPT = re.compile(
    r"\b(?:the|today.s|our) (?:question|prompt)(?: for today| today| is)?[.:][ \t]+"
    r"((?:design|build|create|make)\b[^.\n]{3,160})"
)


def _only_trivia(text: str, trivia: FastPattern | None) -> bool:
    """A paragraph of company trivia (founding year, headcount, funding round, offices): its
    numbers are about the company, not the problem, and it names no data or constraint."""
    if trivia is None or not trivia.search(text):
        return False
    return not _DATA.search(text) and not _CONSTRAINT.search(text)


def _paragraph_end(doc: LintDoc, pos: int) -> int:
    """Where the segment holding offset ``pos`` of ``doc.low()`` ends."""
    offset = 0
    for seg in doc.segments:
        if seg.part == "trap":
            continue
        offset += len(seg.low) + 1
        if pos < offset:
            return offset - 1
    return offset


def _bare_spoken_prompt(
    doc: LintDoc,
    quote: tuple[int, int, str],
    facing: list[Segment],
    in_line: bool = False,
    trivia: FastPattern | None = None,
) -> str | None:
    """The quoted line a page says is the prompt (``quote``, from ``_spoken_quote``), when it is
    bare (at most 40 words, no number, at most one kind of specific) and no paragraph the
    candidate faces (``facing``) gives them facts beside it (a facts heading or "tell them ..."
    with specifics in it). The rest of such a page is about running the interview, and its
    numbers (timings, levels, deadlines) are no scenario."""
    start, end, quoted = quote
    low = doc.low()
    plain = " ".join(low[start:end].split())
    if len(plain.split()) > 40 or scenario_numbers(plain) or _concreteness(plain, named=True) > 1:
        return None
    # The rest of the quote's own paragraph: the page's segments are joined by single line
    # breaks, so without this bound the next paragraph ("**Timing:** 5 min intros") ran on.
    after = _AFTER_QUOTE.match(low[end + 1 : min(end + 301, _paragraph_end(doc, end))])
    if after is not None and scenario_numbers(after.group(0)) >= 2:
        return None  # the quote is a name; its own sentence goes on to give the specifics
    facing_ids = {id(seg) for seg in facing}
    offset = 0
    for seg in doc.segments:
        seg_start, offset = offset, offset + len(seg.low) + 1
        if seg.part == "trap" or id(seg) not in facing_ids:
            continue
        text = seg.low
        if seg_start <= start < offset:  # the quote's own paragraph, without the quote
            text = text[: start - seg_start] + " " + text[end - seg_start :]
            line_start = low.rfind("\n", 0, start) + 1
            line_end = low.find("\n", end)
            line_end = len(low) if line_end < 0 else line_end
            around = low[line_start:start] + " " + low[end:line_end]
            # A quote inside a heading is a title; one inside a longer line is a line of the
            # round ("Ask: ..."), not the whole prompt.
            if around.lstrip().startswith("#") or (len(around.split()) > 12 and not in_line):
                return None
        if _concreteness(text) < 2 or _only_trivia(text, trivia):
            continue
        gives = _GIVES_FACTS.search(text) and not _DENIES_FACTS.search(text)
        if gives or not _PROCESS.search(text):
            return None
    return quoted


def _few_hooks(doc: LintDoc, concreteness: int) -> Finding | None:
    """A scenario with fewer than 3 hooks: a warning, or a note when its premise is full of
    specifics (numbers, data, users, constraints) that still give the candidate decisions."""
    if doc.scenario is None:
        return None
    hooks = doc.scenario.hooks
    if len(hooks) >= 3:
        return None
    n = len(hooks)
    thin = n == 0 or concreteness < 5
    return Finding(
        "vagueness", "warning" if thin else "info",
        f"only {n} hook(s): too little to force design decisions"
        if thin
        else f"only {n} hook(s); the premise's specifics carry it",
        location="hooks",
        suggestion="add hooks from the domain: data limits, error costs, scale, policy",
    )  # fmt: skip


# -- ml-clothing --------------------------------------------------------------------------------


def _distinct(patterns: tuple[FastPattern, ...], text: str) -> list[str]:
    return [m.group(0) for p in patterns if (m := p.search(text))]


def ml_clothing(doc: LintDoc, k: Knowledge) -> tuple[list[Finding], dict[str, float]]:
    text = doc.low()
    sys_terms = _distinct(k.systems, text)
    scores = {"systems_terms": float(len(sys_terms))}
    decisions = _distinct(k.ml, text)
    mentions = _distinct(k.ml_mentions, text)
    ml_terms = decisions + mentions
    scores["ml_terms"] = float(len(ml_terms))
    scores["ml_decisions"] = float(len(decisions))
    # A mention ("our deployed models") counts half of a decision (labels, a metric, a threshold).
    weight = len(decisions) + 0.5 * len(mentions)
    if len(sys_terms) >= 2 and not decisions and len(mentions) <= 1:
        return [
            Finding(
                "ml-clothing", "warning",
                f"a system design question with no ML decision in it at all ({len(sys_terms)} "
                "infrastructure topics, no labels, metrics, models or evaluation)",
                evidence=", ".join(sys_terms[:8]),
                suggestion="use it in a system design round, or find the ML decision in the product (what is "
                "predicted or ranked, from which labels, judged by which metric) and make it the core",
            )
        ], scores  # fmt: skip
    if (len(sys_terms) >= 5 and weight <= len(sys_terms) * 0.8) or (
        len(sys_terms) >= 3 and len(decisions) <= 1 and weight <= 3
    ):
        return [
            Finding(
                "ml-clothing", "warning",
                f"mostly generic system design ({len(sys_terms)} infrastructure topics vs "
                f"{len(decisions)} ML decision(s))",
                evidence=", ".join(sys_terms[:8]),
                suggestion="make the ML decisions the core: labels and their delay, the metric that matches the "
                "product goal, modeling options, evaluation, feedback loops",
            )
        ], scores  # fmt: skip
    if len(ml_terms) > len(sys_terms) + 4:
        return [], scores  # plenty of ML decisions: not judged by meaning
    from crafter.evals.semantic import checks as semantic

    return semantic.ml_clothing(doc), scores
