"""Small pure text helpers."""

from __future__ import annotations

import re
import unicodedata

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "to",
        "in",
        "for",
        "on",
        "at",
        "with",
        "how",
        "we",
        "our",
        "is",
        "by",
        "from",
        "using",
        "into",
        "can",
        "that",
        "this",
    ]
)


def slugify(text: str, *, max_words: int = 8, max_len: int = 60) -> str:
    """A lowercase, hyphenated, ASCII slug of the leading content words of ``text``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    content = [w for w in words if w not in _STOP] or words
    slug = "-".join(content[:max_words])[:max_len].strip("-")
    return slug or "scenario"


PLACEHOLDER_PREFIX = "TODO(interviewer)"


def placeholder(what: str) -> str:
    """A marked gap that only the interviewer can fill; lint reports every one left."""
    return f"{PLACEHOLDER_PREFIX}: {what}"


def is_placeholder(text: str) -> bool:
    return PLACEHOLDER_PREFIX in text
