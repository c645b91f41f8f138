"""The exposure check's quality: precision and recall for near-copies on labelled pairs.

Scores each pair the way lint runs it: the scenario's title and text against the whole index
(a near-copy counts as caught when the check warns; any warning on a same_domain or unrelated
pair is a false positive). Sets: ``evals/exposure/calibration.yaml`` and ``calibration2.yaml``
(the model is fitted on them), ``pairs_blind.yaml`` (written blind; scored once before the exemplar
model, looked at since), ``pairs_blind2.yaml`` (written blind; scored once, with --blind2) and
``pairs_blind3.yaml`` (written blind; scored once after the 401-prompt exemplars, with --blind3) and
``pairs_blind4.yaml`` (written blind; scored once in the sixth session, with --blind4) and
``pairs_blind5.yaml`` and ``pairs_blind6.yaml`` (written blind; scored once in the seventh
session, with --blind5 and --blind6), ``pairs_blind7.yaml`` (written blind; scored in the eighth
session before and after the exemplars learned from the first six, with --blind7),
``pairs_blind8.yaml`` (written blind; scored in the ninth session before and after the task
frames and twist evidence of evals/exposure/tasks.yaml, with --blind8), ``pairs_blind9.yaml``
(written blind; scored once in the ninth session after its exposure work, with --blind9). Since the
eighth session the first six sets are learned from (evals/exposure/exemplars_blind.yaml), so their
figures are no longer a test.

Run: .venv/bin/python benchmarks/exposure.py            # print the figures
     .venv/bin/python benchmarks/exposure.py --calibrate  # refit evals/exposure/rule.yaml
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from crafter.evals import exposure
from crafter.resources import data_dir

FOLDER = data_dir("evals") / "exposure"
# Written for crafter. calibration2.yaml (dressed-up near-copies, hard same-domain cases) was added
# after the blind set showed the first was too plain; a refit on both made the blind figures worse
# (see BLIND-SCORE.txt), so the shipped rule is fitted on the first alone and the second is scored
# as a harder check. The blind set is never fitted on.
CALIBRATION = ("calibration.yaml",)
HARDER = ("calibration2.yaml",)  # fitted on too since the exemplar model (rule version 2)


@dataclass
class Case:
    title: str
    text: str
    label: str
    published: str

    @property
    def probe(self) -> str:
        return exposure.probe_of(self.title.rstrip(".") + ".", self.text)


def load_cases(path: Path) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = (raw.get("pairs") or raw.get("cases") or []) if isinstance(raw, dict) else raw
    out = []
    for p in items:
        title = p.get("title", p.get("scenario_title", ""))
        text = p.get("text", p.get("scenario_text", ""))
        out.append(Case(str(title), str(text), str(p["label"]), str(p.get("published", ""))))
    return out


def features(index: exposure.ExposureIndex, probe: str) -> Any:
    """The model's features of ``probe`` against every prompt (shingles for all of them)."""
    tokens = exposure.content_tokens(probe)
    words, explained = index.words(tokens)
    table = index.table()
    feats, _ = table.features(table.similarities(probe), words, explained)
    feats[:, 6] = index.grams(tokens, range(len(index)))
    return feats


def adjudicated() -> dict[tuple[str, str, str], bool]:
    """(title, text, prompt id) -> judged a near-copy of that prompt (evals/exposure/adjudicated.yaml:
    warnings on pairs labelled same_domain or unrelated, judged again against the prompt named)."""
    path = FOLDER / "adjudicated.yaml"
    if not path.is_file():
        return {}
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["judged"]
    return {
        (r["scenario_title"], r["scenario_text"], r["prompt"]): bool(r["near_copy"]) for r in rows
    }


def verdict(c: Case, index: exposure.ExposureIndex) -> exposure.Verdict:
    """The check's verdict on a pair, as lint reaches it for a page holding the pair's title and
    text: the same probe, the title's task, and the page's own twist sections if any."""
    from crafter.evals.document import from_text
    from crafter.evals.exposure_frames import twists_of

    matches, nearest = index.match(c.probe, top=6)
    return exposure.judge(index, matches, nearest, c.title, twists_of(from_text("", c.text)))


def score(cases: list[Case], index: exposure.ExposureIndex) -> dict[str, Any]:
    """Raw figures count every warning on a same_domain or unrelated pair as false; the
    adjudicated precision counts one judged a near-copy of the prompt it names as right."""
    tp = fp = fn = judged_right = 0
    misses, false_alarms = [], []
    verdicts = adjudicated()
    for c in cases:
        v = verdict(c, index)
        warned = v.kind == "warning"
        if c.label == "near_copy":
            if warned:
                tp += 1
            else:
                fn += 1
                misses.append(c.title)
        elif warned:
            fp += 1
            assert v.match is not None
            false_alarms.append(f"{c.title} ~ {v.match.prompt.id}")
            judged_right += verdicts.get((c.title, c.text, v.match.prompt.id), False)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    adj = (tp + judged_right) / (tp + fp) if tp + fp else 1.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall,
            "adjudicated_precision": adj, "judged_right": judged_right,
            "misses": misses, "false_alarms": false_alarms}  # fmt: skip


def _fit(x: Any, y: Any, l2: float = 0.01, steps: int = 5_000, lr: float = 0.5) -> Any:
    """Logistic regression on standardised features, each class weighted to half the total."""
    w = np.zeros(x.shape[1] + 1)
    xb = np.hstack([np.ones((len(x), 1)), x])
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (weight * (p - y)) / len(y) + l2 * np.r_[0, w[1:]]
        w -= lr * grad
    return w


def calibrate() -> None:
    from crafter.evals import exposure_model

    index = exposure.index_for()
    ids = [p.id for p in index.prompts]
    cases = [c for name in (*CALIBRATION, *HARDER) for c in load_cases(FOLDER / name)]
    rows, labels = [], []
    nearest: dict[str, list[float]] = {"same_domain": [], "unrelated": []}
    for c in cases:
        feats = features(index, c.probe)
        if c.label == "near_copy":
            rows.append(feats[ids.index(c.published)])
            labels.append(1)
            continue
        nearest[c.label].append(float(index.table().similarities(c.probe).max()))
        # Hard negatives: the prompts this scenario resembles most.
        for j in np.argsort(-(feats[:, 0] + feats[:, 4]))[:8]:
            rows.append(feats[j])
            labels.append(0)
    x, y = np.asarray(rows), np.asarray(labels, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    w = _fit((x - mean) / scale, y)
    sd, un = np.asarray(nearest["same_domain"]), np.asarray(nearest["unrelated"])
    # The same-domain info: the lowest cosine at which at most 20% of unrelated scenarios get it.
    domain_cos = round(float(np.quantile(un, 0.8)), 3)
    print(f"weights {w.round(3).tolist()}; domain_cos {domain_cos} "
          f"(info on {np.mean(sd >= domain_cos):.0%} of same-domain, {np.mean(un >= domain_cos):.0%} of unrelated)")  # fmt: skip
    draft = {
        "version": 2,
        "calibrated_on": ", ".join(f"evals/exposure/{n}" for n in (*CALIBRATION, *HARDER)),
        "model": {
            "features": list(exposure_model.FEATURES),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(v), 6) for v in scale],
            "weights": [round(float(v), 6) for v in w[1:]],
            "bias": round(float(w[0]), 6),
        },
        "thresholds": {
            "warn_at": 0.5,
            "domain_cos": domain_cos,
            "duplicate_cos": 0.86,
            "duplicate_shingles": 0.5,
        },
    }
    # Warning threshold: the best precision + recall with precision >= 0.90 on the calibration
    # cases, at the middle of the plateau of thresholds that reach it.
    grid = []
    for t in np.linspace(0.3, 0.95, 27):
        draft["thresholds"]["warn_at"] = round(float(t), 4)
        _write_rule(draft)
        sc = score(cases, index)
        print(f"  warn_at {t:.3f}: precision {sc['precision']:.3f} recall {sc['recall']:.3f}")
        if sc["precision"] >= 0.90:
            grid.append((round(sc["precision"] + sc["recall"], 6), round(float(t), 4)))
    top = max(g[0] for g in grid)
    plateau = [t for g, t in grid if g == top]
    draft["thresholds"]["warn_at"] = plateau[len(plateau) // 2]
    _write_rule(draft)
    print(f"warn_at {draft['thresholds']['warn_at']} written to {FOLDER / 'rule.yaml'}")


def _write_rule(rule: dict[str, Any]) -> None:
    from crafter.domain.atomic import atomic_write_text

    header = (
        "# The exposure check's calibrated model (benchmarks/exposure.py --calibrate writes it).\n"
        "# chance = sigmoid(bias + sum(weight * (feature - mean) / scale)) over the features of\n"
        "# crafter/evals/exposure_model.py; a warning at chance >= warn_at; an info when the\n"
        "# nearest prompt or exemplar has static cosine >= domain_cos. Fitted on the calibration\n"
        "# sets only, never on a blind set.\n"
    )
    atomic_write_text(FOLDER / "rule.yaml", header + yaml.safe_dump(rule, sort_keys=False))
    from crafter.evals import exposure_model

    exposure_model.model.cache_clear()


def main() -> None:
    if "--calibrate" in sys.argv:
        calibrate()
        return
    index = exposure.index_for()
    sets = [*CALIBRATION, *HARDER, "pairs_blind.yaml"]
    if "--blind2" in sys.argv:  # scored once, after the model was final (see BLIND-SCORE.txt)
        sets.append("pairs_blind2.yaml")
    if "--blind3" in sys.argv:  # scored once, fourth session (see BLIND-SCORE.txt)
        sets.append("pairs_blind3.yaml")
    if "--blind4" in sys.argv:  # scored once, sixth session (see BLIND-SCORE.txt)
        sets.append("pairs_blind4.yaml")
    if "--blind5" in sys.argv:  # scored once, seventh session (see BLIND-SCORE.txt)
        sets.append("pairs_blind5.yaml")
    if "--blind6" in sys.argv:  # scored once, seventh session (see BLIND-SCORE.txt)
        sets.append("pairs_blind6.yaml")
    if "--blind7" in sys.argv:  # scored before and after the blind exemplars, eighth session
        sets.append("pairs_blind7.yaml")
    if "--blind8" in sys.argv:  # scored before and after the task frames, ninth session
        sets.append("pairs_blind8.yaml")
    if "--blind9" in sys.argv:  # scored once at the end of the ninth session's exposure work
        sets.append("pairs_blind9.yaml")
    for name in sets:
        path = FOLDER / name
        if not path.is_file():
            print(f"== {name}: not present")
            continue
        s = score(load_cases(path), index)
        print(f"== {name}: near-copy precision {s['precision']:.3f} recall {s['recall']:.3f} "
              f"(tp {s['tp']} fp {s['fp']} fn {s['fn']}); adjudicated precision "
              f"{s['adjudicated_precision']:.3f} ({s['judged_right']} warnings judged near-copies)")  # fmt: skip
        if "-v" in sys.argv:
            print("   misses:", s["misses"])
            print("   false alarms:", s["false_alarms"])


if __name__ == "__main__":
    main()
