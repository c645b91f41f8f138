"""Fit the relevance model (crafter/data/relevance.json) on blind-graded (seed, document) pairs.

Pairs: evals/seeds/realistic_blind*_grades.yaml (seed id -> document id -> 0/1/2), graded by
helper sessions that did not build the retriever; every set of SETS. Two logistic models (L2-regularised, Newton's method):
P(grade >= 1) "related" and P(grade == 2) "close". The floor is the lowest P(related) at which,
on the training pairs, at least FLOOR_PRECISION of the documents kept are related or better.

Prints 2-fold cross-validated figures (folds by seed, so no seed is scored by a model that saw it)
before writing the model fitted on all pairs. Run after regrading or after the corpus changes:

    .venv/bin/python tools/fit_relevance.py [--index DIR] [--dry-run]
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crafter.retrieval.index import CorpusIndex  # noqa: E402
from crafter.retrieval.relevance import FEATURES, RelevanceModel  # noqa: E402

SEED_DIR = ROOT / "evals" / "seeds"
# Every blind-graded seed set, each after its one score (the SCORE-ONCE files and the notes say
# when): realistic_blind alone until the eighth session, the first six then, all eight since the
# ninth.
SETS = ("realistic_blind", *(f"realistic_blind{n}" for n in range(2, 9)))
GRADES = SEED_DIR / "realistic_blind_grades.yaml"  # the first set (kept for older callers)
SEEDS = SEED_DIR / "realistic_blind.yaml"
MODEL = ROOT / "crafter" / "data" / "relevance.json"
CODE = ROOT / "crafter" / "retrieval" / "relevance.py"
FLOOR_PRECISION = 0.80
L2 = 1.0
VERSION = "1"


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    reg = np.eye(xb.shape[1]) * L2
    reg[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = xb.T @ (xb * (p * (1 - p))[:, None]) + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(np.hstack([np.ones((len(x), 1)), x]) @ w, -30, 30)))


def choose_floor(p: np.ndarray, related: np.ndarray) -> float:
    for t in np.arange(0.05, 0.95, 0.01):
        kept = p >= t
        if kept.sum() >= 5 and related[kept].mean() >= FLOOR_PRECISION:
            return float(round(t, 2))
    return 0.9


def auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def fold_of(seed_id: str) -> int:
    """Cross-validation fold of a seed: by the parity of its number (s01 -> 1)."""
    digits = "".join(c for c in seed_id if c.isdigit())
    return int(digits or 0) % 2


def graded_features(
    index: CorpusIndex, only_fold: int | None = None, with_sets: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, grades and folds of every graded pair of every set (optionally of one fold's
    seeds); with ``with_sets`` the third array is each pair's set number instead of its fold."""
    docs = {meta["id"]: key for key, meta in index.documents().items()}
    rows, ys, groups = [], [], []
    for n, name in enumerate(SETS):
        grades_file = SEED_DIR / f"{name}_grades.yaml"
        if not grades_file.is_file():
            continue
        grades = yaml.safe_load(grades_file.read_text())["grades"]
        seed_file = yaml.safe_load((SEED_DIR / f"{name}.yaml").read_text())
        seeds = {s["id"]: s["seed"] for s in seed_file["seeds"]}
        for sid, graded in sorted(grades.items()):
            if only_fold is not None and fold_of(sid) != only_fold:
                continue
            keys = [docs[d] for d in graded if d in docs]
            feats = index.relevance(seeds[sid], keys)
            for d, g in graded.items():
                if d in docs:
                    rows.append([feats[docs[d]][f] for f in FEATURES])
                    ys.append(int(g))
                    groups.append(n if with_sets else fold_of(sid))
    return np.array(rows), np.array(ys), np.array(groups)


def fitted_model(x: np.ndarray, y: np.ndarray) -> RelevanceModel:
    related, close = (y >= 1).astype(float), (y == 2).astype(float)
    w1, w2 = fit(x, related), fit(x, close)
    return RelevanceModel(
        version=VERSION,
        related=tuple(float(v) for v in w1),
        close=tuple(float(v) for v in w2),
        floor=choose_floor(predict(w1, x), related),
        calibration="cross-validation fold",
    )


def main() -> None:
    args = sys.argv[1:]
    folder = Path(args[args.index("--index") + 1]) if "--index" in args else None
    with tempfile.TemporaryDirectory() as tmp:
        index = CorpusIndex(folder or Path(tmp) / "index")
        index.ensure_built()
        x, y, fold = graded_features(index)
        _, _, in_set = graded_features(index, with_sets=True)
    related, close = (y >= 1).astype(float), (y == 2).astype(float)
    print(
        f"{len(y)} graded pairs: {int((y == 0).sum())} unrelated, {int((y == 1).sum())} related, "
        f"{int((y == 2).sum())} close"
    )
    out_p = np.zeros(len(y))
    out_c = np.zeros(len(y))
    for f in (0, 1):
        train, test = fold != f, fold == f
        w1, w2 = fit(x[train], related[train]), fit(x[train], close[train])
        out_p[test], out_c[test] = predict(w1, x[test]), predict(w2, x[test])
        floor = choose_floor(predict(w1, x[train]), related[train])
        kept = out_p[test] >= floor
        print(
            f"fold {f}: floor {floor:.2f}; held-out: kept {int(kept.sum())}/{int(test.sum())}, "
            f"related among kept {related[test][kept].mean():.2f}, "
            f"unrelated dropped {(~kept & (related[test] == 0)).sum()}/{int((related[test] == 0).sum())}"
        )
    print(f"cross-validated AUC: related {auc(out_p, related):.3f}, close {auc(out_c, close):.3f}")
    for n in sorted(set(in_set.tolist())):
        train, test = in_set != n, in_set == n
        w1, w2 = fit(x[train], related[train]), fit(x[train], close[train])
        print(
            f"  {SETS[n]} left out ({int(test.sum())} pairs): AUC related "
            f"{auc(predict(w1, x[test]), related[test]):.3f}, close "
            f"{auc(predict(w2, x[test]), close[test]):.3f}"
        )
    for i, name in enumerate(FEATURES):
        print(f"  feature {name:<15} AUC(related) {auc(x[:, i], related):.3f}")
    w1, w2 = fit(x, related), fit(x, close)
    floor = choose_floor(predict(w1, x), related)
    body = {
        "version": VERSION,
        "features": list(FEATURES),
        "related": [round(float(v), 6) for v in w1],
        "close": [round(float(v), 6) for v in w2],
        "floor": floor,
        "calibration": (
            f"logistic models on {len(y)} blind-graded pairs ({', '.join(SETS)}); floor = lowest "
            f"P(related) keeping >= {FLOOR_PRECISION:.0%} related documents on those pairs"
        ),
    }
    print(json.dumps(body, indent=1))
    if "--dry-run" in args:
        return
    raw = (json.dumps(body, indent=1) + "\n").encode()
    MODEL.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    code = CODE.read_text()
    CODE.write_text(re.sub(r'MODEL_SHA256 = "[0-9a-f]+"', f'MODEL_SHA256 = "{digest}"', code))
    print(f"wrote {MODEL} (sha256 {digest[:12]}...) and pinned it in {CODE.name}")


if __name__ == "__main__":
    main()
