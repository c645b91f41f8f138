"""The golden suite's precision and recall per check for every set: the tuned cases, the two
holdouts (tuned on since), all three together (what tests/test_golden.py holds to the floors), and
blind3, written blind and never tuned on (its before-tuning score: evals/blind3/SCORE-BEFORE-TUNING.txt).

Run: .venv/bin/python benchmarks/golden.py
"""

from __future__ import annotations

from crafter.evals.golden import run_golden
from crafter.resources import data_dir


def main() -> None:
    evals = data_dir("evals")
    cases, holdout, holdout2 = evals / "cases", evals / "holdout", evals / "holdout2"
    blind3 = evals / "blind3"  # never tuned on: its pre-tuning score is in SCORE-BEFORE-TUNING.txt
    for label, folders in (
        ("cases", [cases]),
        ("holdout", [holdout]),
        ("holdout2", [holdout2]),
        ("all tuned", [cases, holdout, holdout2]),
        ("blind3", [blind3]),
    ):
        report = run_golden(*folders)
        print(f"== {label}")
        print(report.table())
        for score in report.scores.values():
            if score.false_positives or score.false_negatives:
                print(f"   {score.check}: false positives {score.false_positives}, "
                      f"misses {score.false_negatives}")  # fmt: skip


if __name__ == "__main__":
    main()
