"""Maintainers: refit the document model and write crafter/data/document_model.json.

Run after changing the labelled folders or exemplars it is fitted on (the test suite fails while
the shipped model's digest is stale): ``.venv/bin/python tools/fit_documents.py``. With ``--cv``
it first prints each check's cross-validated precision and recall on the blind sets (fitted on
every other folder, scored on the one left out); with ``--sweep``, the same pooled over the blind
sets for a grid of thresholds (how the thresholds in documents.yaml are chosen).
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


def sweep(cfg: documents.Config, target: float = 0.90) -> None:
    """Pooled over the blind folders, each scored by a model fitted on every other folder: per
    check and threshold, precision and recall with the rules, and the lowest threshold whose
    pooled precision reaches ``target`` (how the thresholds in documents.yaml are chosen)."""
    x, labels, meta = documents.training_set(cfg)
    folders = np.array([file.parent.name for file, _ in meta])
    rules = _rule_findings([file for file, _ in meta])
    held_out = sorted({f for f in folders.tolist() if f.startswith("blind")})
    grid = [*(round(t, 2) for t in np.arange(0.50, 0.96, 0.05)), 0.97, 0.98, 0.99]
    for check, items in labels.items():
        idx = np.array([r for r, _ in items])
        y = np.array([v for _, v in items], dtype=np.float64)
        probs: dict[int, float] = {}
        for held in held_out:
            train = folders[idx] != held
            model = documents.fit(x[idx[train]], y[train], cfg.l2)
            for r in idx[~train]:
                probs[int(r)] = model.probability(x[r])
        rows = []
        for th in grid:
            t = [0, 0, 0]
            for r, truth in zip(idx, y, strict=True):
                if int(r) not in probs:
                    continue
                fired = probs[int(r)] >= th
                if check == "buzzword" and meta[r][1] >= documents.TIED_VETO:
                    fired = False
                hit = fired or check in rules[r]
                t[0] += int(hit and truth == 1)
                t[1] += int(hit and truth == 0)
                t[2] += int(not hit and truth == 1)
            rows.append((th, t))
        ok = [th for th, t in rows if t[0] / max(1, t[0] + t[1]) >= target]
        shipped = cfg.checks[check].threshold
        print(f"== {check} (shipped threshold {shipped:.2f}; lowest at precision >= {target}: "
              f"{min(ok) if ok else 'none'})")  # fmt: skip
        for th, t in rows:
            print(f"  {th:.2f}: {_pr(t)}")


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
    if "--sweep" in sys.argv:
        sweep(cfg)
    models = documents.fit_all(cfg)
    path = documents.shipped_path()
    path.write_bytes(documents.to_json(models, documents.training_digest()))
    print(f"{len(models)} checks fitted -> {path} in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
