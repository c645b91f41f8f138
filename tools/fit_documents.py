"""Maintainers: refit the document model and write crafter/data/document_model.json.

Run after changing the labelled folders or exemplars it is fitted on (the test suite fails while
the shipped model's digest is stale): ``.venv/bin/python tools/fit_documents.py``. With ``--cv``
it first prints each check's cross-validated precision and recall on the blind sets (fitted on
every other folder, scored on the one left out), the figures its thresholds were chosen by.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from crafter.evals.semantic import documents


def cross_validate(cfg: documents.Config) -> None:
    """Per blind set left out: the model alone, and the rules with the model (what lint reports,
    the buzzword veto for rubrics tied to the scenario included)."""
    x, labels, meta = documents.training_set(cfg)
    folders = np.array([file.parent.name for file, _ in meta])
    rules = _rule_findings([file for file, _ in meta])
    for held in sorted({f for f in folders.tolist() if f.startswith("blind")}):
        print(f"== held out: {held}")
        for check, items in labels.items():
            idx = np.array([r for r, _ in items])
            y = np.array([v for _, v in items], dtype=np.float64)
            train = folders[idx] != held
            model = documents.fit(x[idx[train]], y[train], cfg.l2)
            th = cfg.checks[check].threshold
            alone = [0, 0, 0]
            both = [0, 0, 0]
            for r, truth in zip(idx[~train], y[~train], strict=True):
                fired = model.probability(x[r]) >= th
                if check == "buzzword" and meta[r][1] >= documents.TIED_VETO:
                    fired = False
                for tally, hit in ((alone, fired), (both, fired or check in rules[r])):
                    tally[0] += int(hit and truth == 1)
                    tally[1] += int(hit and truth == 0)
                    tally[2] += int(not hit and truth == 1)
            print(
                f"  {check:12s} threshold {th:.2f}: model alone {_pr(alone)}; with the rules {_pr(both)}"
            )


def _pr(t: list[int]) -> str:
    tp, fp, fn = t
    return f"precision {tp / max(1, tp + fp):.2f} recall {tp / max(1, tp + fn):.2f}"


def _rule_findings(files: list[Path]) -> list[set[str]]:
    """What the other rules raise on each case (the document model switched off)."""
    import datetime as dt

    from crafter.evals import result_cache
    from crafter.evals.lint import lint_file

    result_cache.set_enabled(False)
    judge = documents.judge
    documents.judge = lambda doc, raised: []  # type: ignore[assignment]
    try:
        out = []
        for file in files:
            r = lint_file(file, dt.date(2026, 11, 1))
            out.append({f.check for f in r.findings if f.severity in ("error", "warning")})
        return out
    finally:
        documents.judge = judge  # type: ignore[assignment]
        result_cache.set_enabled(True)


def main() -> None:
    started = time.perf_counter()
    cfg = documents.load_config()
    if "--cv" in sys.argv:
        cross_validate(cfg)
    models = documents.fit_all(cfg)
    path = documents.shipped_path()
    path.write_bytes(documents.to_json(models, documents.training_digest()))
    print(f"{len(models)} checks fitted -> {path} in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
