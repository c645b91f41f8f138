"""The golden suite's precision and recall per check for every set: the tuned cases, the two
holdouts (tuned on since), all three together (what tests/test_golden.py holds to the floors), and
blind3 (written blind; its before-tuning score is in evals/blind3/SCORE-BEFORE-TUNING.txt, looked at
since) and blind4 (written blind in the third session; scored once: evals/blind4/SCORE-BEFORE-TUNING.txt,
tuned on since) and blind5 (written blind in the fourth session, never tuned on: scored once after
the document model was final, evals/blind5/SCORE-ONCE.txt), blind6 (written blind in the fifth
session, scored once before the sixth session's tuning, tuned on since) and blind7 (written blind
in the sixth session, scored once after its first round of lint work, tuned on since) and blind8
(written blind in the sixth session, scored once at its end: evals/blind8/SCORE-ONCE.txt), blind9
(written blind in the sixth session, scored once at the start of the seventh, tuned on since) and
blind10 (written blind in the seventh session, scored once mid-way, tuned on since) and blind11
(written blind in the seventh session, scored once at its end) and blind12 (written blind in the
eighth session, scored once after its first round of lint work: evals/blind12/SCORE-ONCE.txt, tuned on
since) and blind13 (written blind in the eighth session, scored once after its lint work, tuned on
in the ninth) and blind14 (written blind in the ninth session, scored once after its first lint
work, tuned on since) and blind15 (written blind in the ninth session, scored once at its end).

Run: .venv/bin/python benchmarks/golden.py
"""

from __future__ import annotations

from crafter.evals.golden import run_golden
from crafter.resources import data_dir


def main() -> None:
    evals = data_dir("evals")
    cases, holdout, holdout2 = evals / "cases", evals / "holdout", evals / "holdout2"
    blind3 = evals / "blind3"  # its pre-tuning score is in SCORE-BEFORE-TUNING.txt
    blind4 = evals / "blind4"  # scored once (SCORE-BEFORE-TUNING.txt), tuned on since
    blind5 = evals / "blind5"  # written blind in the fourth session; scored once (SCORE-ONCE.txt)
    blind6 = evals / "blind6"  # scored once (SCORE-ONCE.txt), tuned on in the sixth session
    blind7 = evals / "blind7"  # scored once (SCORE-ONCE.txt), tuned on in the sixth session
    blind8 = evals / "blind8"  # scored once at the end of the sixth session (SCORE-ONCE.txt)
    blind9 = evals / "blind9"  # scored once at the start of the seventh session, tuned on since
    blind10 = evals / "blind10"  # scored once mid-way through the seventh session, tuned on since
    blind11 = evals / "blind11"  # scored once at the end of the seventh session (SCORE-ONCE.txt)
    blind12 = evals / "blind12"  # scored once mid-way through the eighth session, tuned on since
    blind13 = evals / "blind13"  # scored once after the eighth session's lint work (SCORE-ONCE.txt)
    blind14 = evals / "blind14"  # scored once in the ninth session, tuned on since
    blind15 = evals / "blind15"  # scored once at the end of the ninth session (SCORE-ONCE.txt)
    for label, folders in (
        ("cases", [cases]),
        ("holdout", [holdout]),
        ("holdout2", [holdout2]),
        ("all tuned", [cases, holdout, holdout2]),
        ("blind3", [blind3]),
        ("blind4", [blind4]),
        ("blind5", [blind5]),
        ("blind6", [blind6]),
        ("blind7", [blind7]),
        ("blind8", [blind8]),
        ("blind9", [blind9]),
        ("blind10", [blind10]),
        ("blind11", [blind11]),
        ("blind12", [blind12]),
        ("blind13", [blind13]),
        ("blind14", [blind14]),
        ("blind15", [blind15]),
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
