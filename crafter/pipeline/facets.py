"""Research queries from a seed without a model: one per facet of the need.

- need: the seed itself;
- task: what kind of ML problem it is (from ``prompts/kinds/``), in the words write-ups use;
- domain: the seed's own content words (its product, users, data), without the task words;
- constraints: the numbers, deadlines and rules the seed states, with the task.

The frame stage's model-written perspectives replace the task/domain/constraints queries when a
model is configured; the seed itself is always asked.
"""

from __future__ import annotations

import re

from crafter.pipeline.models import ResearchQuestion
from crafter.retrieval.kinds import GENERIC, KindGuess, load_kinds

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "us",
        "we",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
        "without",
        "would",
        "you",
        "your",
        "want",
        "wants",
        "need",
        "needs",
        "should",
        "could",
        "each",
        "every",
        "per",
        "than",
        "then",
        "there",
        "these",
        "those",
        "about",
        "before",
        "after",
        "only",
        "also",
        "just",
        "more",
        "most",
        "less",
        "very",
        "much",
        "many",
        "some",
        "any",
        "all",
        "get",
        "got",
        "make",
        "makes",
        "let",
        "lets",
        "help",
        "them",
        "one",
        "two",
        "out",
        "up",
        "down",
        "over",
        "under",
        "while",
        "where",
        "across",
        "using",
        "use",
        "used",
    ]
)
_NUMBER = re.compile(
    r"(?:(?:~|about |around |under |over |within |at most |at least |up to |<|>)\s?)?"
    r"\d[\d,.]*(?:\s?[-\u2013]\s?\d[\d,.]*)?(?:\s?(?:k|m|bn|%|x)(?![a-z]))?"
    r"(?:\s?(?!(?:a|an|per|each|every)\b)[A-Za-z][A-Za-z-]{0,20}){0,2}"
    r"(?:\s(?:per|a|an|each|every)\s[A-Za-z]{2,20})?",
    re.I,
)
_RULES = re.compile(
    r"\b(?:GDPR|HIPAA|PCI(?:[- ]DSS)?|SOX|COPPA|FCRA|ECOA|CCPA|DSA|AI Act|PHI|PII|consent|"
    r"regulat\w*|complian\w*|audit\w*|fair\w*|explainab\w*)\b",
    re.I,
)
MAX_QUERY = 200


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z0-9+#'-]*", text)


def domain_words(seed: str, guess: KindGuess) -> str:
    """The seed's content words with stopwords and the kind's task cues removed."""
    cues = load_kinds()[guess.name].cues if guess.name in load_kinds() else ()
    out: list[str] = []
    for w in _words(seed):
        low = w.lower()
        if low in _STOP or len(low) < 3 or any(low.startswith(c) for c in cues):
            continue
        if low not in (o.lower() for o in out):
            out.append(w)
    return " ".join(out[:14])


def seed_constraints(seed: str) -> list[str]:
    """Numbers with their units and the rules the seed names, in the seed's order."""
    found: list[str] = []
    for m in _NUMBER.finditer(seed):
        glued = (
            seed[m.end() : m.end() + 1].isdigit()
            or seed[max(0, m.start() - 1) : m.start()].isalnum()
        )
        if not any(c.isdigit() for c in m.group(0)) or glued:
            continue  # "5v5" is a name, not a quantity
        words = m.group(0).split()
        while len(words) > 1 and words[-1].lower() in _STOP | {"a", "an", "plus"}:
            words.pop()
        found.append(" ".join(words))
    found += [m.group(0) for m in _RULES.finditer(seed)]
    return list(dict.fromkeys(found))[:8]


def seed_facets(seed: str, guess: KindGuess) -> list[ResearchQuestion]:
    flat = " ".join(seed.split())
    facets = [
        ResearchQuestion(
            perspective="need",
            question="Who has built a product for this need, and how?",
            query=flat[:MAX_QUERY],
        )
    ]
    kinds = load_kinds()
    domain = domain_words(flat, guess)
    if guess.name != GENERIC:
        kind = kinds[guess.name]
        facets.append(
            ResearchQuestion(
                perspective="task",
                question=f"How do teams build {kind.label.split(' (')[0]} systems like this one?",
                query=f"{kind.task_query} {domain}"[:MAX_QUERY],
            )
        )
    if domain:
        facets.append(
            ResearchQuestion(
                perspective="domain",
                question="What is peculiar about this domain's data, users and errors?",
                query=domain[:MAX_QUERY],
            )
        )
    limits = seed_constraints(flat)
    if limits:
        facets.append(
            ResearchQuestion(
                perspective="constraints",
                question="Who met constraints like these, and what did they trade?",
                query=f"{domain} {' '.join(limits)}"[:MAX_QUERY],
            )
        )
    return facets
