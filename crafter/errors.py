"""Errors that carry a user-facing message, a hint and an exit code.

The CLI and TUI print these without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import re

# Environment variables whose values must never reach a log, a file or an error message.
SECRET_ENV_VARS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "CRAFTER_API_KEY",
)

_KEY_SHAPES = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,})")


_SEPARATORS = "-_. \t\n"
_variant_cache: dict[str, re.Pattern[str]] = {}


def _variants(value: str) -> re.Pattern[str]:
    """A pattern for ``value`` written with its separators removed, changed or added between
    characters (an echo that dropped the dashes of a key), case-insensitively."""
    pattern = _variant_cache.get(value)
    if pattern is None:
        core = [c for c in value if c not in _SEPARATORS]
        gap = f"[{re.escape(_SEPARATORS)}]?"
        pattern = re.compile(gap.join(re.escape(c) for c in core), re.I)
        if len(_variant_cache) > 16:
            _variant_cache.clear()
        _variant_cache[value] = pattern
    return pattern


def redact(text: str) -> str:
    """Replace every configured secret (and anything shaped like an API key) with a marker.

    A configured key is also found when an echo changed its separators ("sk-ant-abc" as
    "skantabc" or "sk_ant_abc").
    """
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var)
        if value and len(value) >= 4:
            text = text.replace(value, f"<{var} redacted>")
            if len(value) >= 12:
                text = _variants(value).sub(f"<{var} redacted>", text)
    return _KEY_SHAPES.sub("<key redacted>", text)


class CrafterError(Exception):
    """A failure the user can act on. ``exit_code`` 2 means bad usage or input."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(redact(message))
        self.message = redact(message)
        self.hint = redact(hint) if hint else None

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(CrafterError):
    """Bad input or usage: the user can fix it by changing what they typed or configured."""

    exit_code = 2


class ProviderError(CrafterError):
    """A model provider failed after its retries and re-asks were spent."""

    exit_code = 1
