"""Maintainers: how each semantic detector scores the tuning sets (evals/cases, holdout,
holdout2), to choose its threshold in evals/knowledge/semantic/<check>.yaml. Never run on a
blind set: a blind set is scored once, by benchmarks/golden.py, after tuning.

For each check: the highest-probability passage of every file, with the file's label (+ must
raise, - must not), sorted, so a threshold that separates them can be read off.

Run: .venv/bin/python tools/calibrate_semantic.py [CHECK...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from crafter.domain.yamlio import parse_scenario_with_lines
from crafter.evals.document import LintDoc, from_scenario, from_text
from crafter.evals.knowledge import knowledge
from crafter.evals.semantic import checks
from crafter.evals.semantic.detector import detector
from crafter.evals.semantic.exemplars import SEMANTIC_CHECKS
from crafter.resources import data_dir

SETS = ("cases", "holdout", "holdout2")


def _doc(path: Path) -> LintDoc:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        return from_scenario(str(path), parse_scenario_with_lines(text, str(path))[0])
    return from_text(str(path), text)


def _passages(check: str, doc: LintDoc) -> list[str]:
    k = knowledge()
    if check == "vagueness":
        return [" ".join(doc.prompt.split())] if doc.scenario is None else []
    if check in ("ml-clothing", "coverage"):
        return [s for _, _, s in checks.prompt_passages(doc)]
    if check == "buzzword":
        segs = [s for s in checks.segments(doc, "answer")
                if doc.scenario is None or s.location.startswith("rubric")]  # fmt: skip
        return [s for _, _, s in checks.passages(segs)]
    if check == "staleness":
        return [s for _, _, s in checks.passages([x for x in doc.segments if x.part != "trap"])
                if not k.history_cues.search(s.lower())]  # fmt: skip
    return [s for _, _, s in checks.passages([x for x in doc.segments if x.part != "trap"])
            if not k.background.search(s.lower())]  # fmt: skip


def main() -> None:
    wanted = sys.argv[1:] or list(SEMANTIC_CHECKS)
    rows: dict[str, list[tuple[float, float, str, str, str]]] = {c: [] for c in wanted}
    for name in SETS:
        folder = data_dir("evals") / name
        labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
        for case in labels["cases"]:
            doc = _doc(folder / case["file"])
            for check in wanted:
                mark = (
                    "+"
                    if check in case.get("must", [])
                    else ("-" if check in case.get("must_not", []) else " ")
                )
                texts = _passages(check, doc)
                if not texts:
                    continue
                d = detector(check)
                judged = [
                    (v, t) for v, t in zip(d.judge(texts), texts, strict=True)
                    if v.similarity >= d.min_similarity and v.similarity > v.negative_similarity
                ]  # fmt: skip
                if not judged:
                    rows[check].append((0.0, 0.0, mark, f"{name}/{case['file']}", ""))
                    continue
                best, top = max(judged, key=lambda t: t[0].probability)
                rows[check].append(
                    (best.probability, best.similarity, mark, f"{name}/{case['file']}", top)
                )
    for check, found in rows.items():
        d = detector(check)
        print(f"== {check} (threshold {d.threshold}, min similarity {d.min_similarity})")
        for p, sim, mark, where, text in sorted(found, reverse=True)[:30]:
            if mark == " " and p < d.threshold:
                continue
            print(f"  {p:.3f} {sim:.2f} {mark} {where:55} {text[:70]}")


if __name__ == "__main__":
    main()
