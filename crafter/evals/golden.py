"""The golden suite: labelled cases under evals/cases/ and per-check precision and recall."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crafter.evals.findings import CHECK_IDS
from crafter.evals.lint import lint_file


@dataclass
class CheckScore:
    check: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class GoldenReport:
    cases: int
    scores: dict[str, CheckScore]
    good_with_errors: list[str]

    def table(self) -> str:
        lines = [f"{'check':<14} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}"]
        for s in self.scores.values():
            lines.append(
                f"{s.check:<14} {s.precision:>9.3f} {s.recall:>7.3f} {s.tp:>4} {s.fp:>4} {s.fn:>4}"
            )
        lines.append(
            f"{self.cases} cases; good cases with an error finding: {len(self.good_with_errors)}"
        )
        return "\n".join(lines)


def run_golden(cases_dir: Path, *more: Path) -> GoldenReport:
    """Precision and recall per check over the labelled cases in one or more folders (each with
    its own labels.yaml); file names in the report are relative to their folder."""
    scores = {c: CheckScore(c) for c in CHECK_IDS}
    good_with_errors: list[str] = []
    total = 0
    for folder in (cases_dir, *more):
        total += _score_folder(folder, scores, good_with_errors)
    return GoldenReport(total, scores, good_with_errors)


def _score_folder(
    cases_dir: Path, scores: dict[str, CheckScore], good_with_errors: list[str]
) -> int:
    labels = yaml.safe_load((cases_dir / "labels.yaml").read_text(encoding="utf-8"))
    as_of = (
        labels["as_of"]
        if isinstance(labels["as_of"], dt.date)
        else dt.date.fromisoformat(labels["as_of"])
    )
    for case in labels["cases"]:
        result = lint_file(cases_dir / case["file"], as_of)
        raised = {f.check for f in result.findings if f.severity in ("error", "warning")}
        for check in case.get("must", []):
            if check in raised:
                scores[check].tp += 1
            else:
                scores[check].fn += 1
                scores[check].false_negatives.append(case["file"])
        for check in case.get("must_not", []):
            if check in raised:
                scores[check].fp += 1
                scores[check].false_positives.append(case["file"])
        if not case.get("must") and any(f.severity == "error" for f in result.findings):
            good_with_errors.append(case["file"])
    return len(labels["cases"])
