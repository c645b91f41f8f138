"""Findings: what a check reports, in the shape every output format uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
CHECK_IDS = (
    "vagueness", "staleness", "rederive", "ml-clothing", "coverage", "buzzword", "answerability",
    "grounding", "pacing", "trap", "degenerate", "rubric",
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str
    evidence: str = ""
    location: str = ""
    suggestion: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check, "severity": self.severity, "message": self.message,
            "evidence": self.evidence, "location": self.location, "suggestion": self.suggestion,
        }  # fmt: skip


@dataclass
class FileResult:
    path: str
    kind: Literal["scenario", "text"]
    findings: list[Finding] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    # A scenario's candidate-facing opening (the exposure check's probe), for library duplicates.
    probe: str = field(default="", repr=False, compare=False)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "findings": [f.as_json() for f in self.findings],
            "scores": self.scores,
        }


def excerpt(text: str, start: int, end: int, width: int = 60) -> str:
    """The matched text with a little context, on one line."""
    lo = max(0, start - width)
    hi = min(len(text), end + width)
    out = " ".join(text[lo:hi].split())
    return ("..." if lo else "") + out + ("..." if hi < len(text) else "")
