"""The document model: per check, a logistic regression over features of the whole question or
scenario, fitted on labelled cases (see ``evals/knowledge/semantic/documents.yaml``).

Features of a document: the mean static-MiniLM vector of its prompt sentences and of its answer
sentences, and for each sentence detector the highest and the top-three mean probability over
the prompt and over the answer, plus the two parts' lengths. A finding names the probability and
the passage of the check's scope that its sentence detector rates highest, with the exemplar that
passage is closest to, so it explains itself like the sentence-level findings.

The fitted weights ship in ``crafter/data/document_model.json`` with a digest of what they were
fitted on (the labelled folders, the exemplars, the feature code). When the digest no longer
matches (a case or an exemplar was added) the model is refitted from the folders on first use and
kept in the cache folder, so new examples count without code.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.errors import UsageError
from crafter.evals.document import LintDoc
from crafter.evals.findings import Finding, excerpt
from crafter.evals.semantic.exemplars import SEMANTIC_CHECKS, semantic_dir

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1
FEATURES = "prompt+answer mean vectors; detector top1/top3 per part; log lengths; v1"
DIMENSIONS = 384
MAX_SENTENCES = 200  # per part, as the sentence checks
_HINT = "restore it from the crafter source, or rebuild it: .venv/bin/python tools/fit_documents.py"


@dataclass(frozen=True)
class CheckConfig:
    threshold: float
    label: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    folders: tuple[str, ...]
    l2: float
    checks: dict[str, CheckConfig]
    source: Path


def config_path() -> Path:
    """``documents.yaml`` of the exemplar folder in use; a team's own folder without one uses the
    bundled settings (the document model is a layer over the sentence checks, not their data)."""
    from crafter.resources import data_dir

    own = semantic_dir() / "documents.yaml"
    return own if own.is_file() else data_dir("evals") / "knowledge" / "semantic" / "documents.yaml"


@cache
def load_config() -> Config:
    import yaml

    path = config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"document model settings missing: {path}", hint=_HINT) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"document model settings {path} are unreadable: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("checks"), dict):
        raise UsageError(f"{path}: expected a mapping with 'folders', 'l2' and 'checks'")
    checks: dict[str, CheckConfig] = {}
    for name, item in raw["checks"].items():
        if name not in SEMANTIC_CHECKS or not isinstance(item, dict):
            raise UsageError(f"{path}: '{name}' is not a check this model judges")
        threshold, parts = item.get("threshold"), item.get("parts", ["prompt", "answer"])
        if not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            raise UsageError(f"{path}: {name}.threshold must be a number in (0, 1]")
        if not isinstance(parts, list) or not parts or set(parts) - {"prompt", "answer"}:
            raise UsageError(f"{path}: {name}.parts must list 'prompt' and/or 'answer'")
        checks[name] = CheckConfig(float(threshold), str(item.get("label", name)), tuple(parts))
    folders = raw.get("folders", [])
    l2 = raw.get("l2", 10.0)
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise UsageError(f"{path}: 'folders' must be a list of folder names under evals/")
    if not isinstance(l2, (int, float)) or l2 < 0:
        raise UsageError(f"{path}: 'l2' must be a non-negative number")
    return Config(tuple(folders), float(l2), checks, path)


# -- features ------------------------------------------------------------------------------------


def _part_sentences(doc: LintDoc, part: str) -> list[str]:
    from crafter.evals.semantic.checks import passages, segments

    return [s for _, _, s in passages(segments(doc, part))][:MAX_SENTENCES]


def features(doc: LintDoc) -> np.ndarray:
    import numpy as np

    from crafter.evals.semantic.detector import all_probabilities
    from crafter.evals.semantic.static import shared_static

    chunks = []
    for part in ("prompt", "answer"):
        sentences = _part_sentences(doc, part)
        scores: list[float] = []
        if sentences:
            vectors = shared_static().embed(sentences)
            mean = vectors.mean(axis=0)
            mean /= float(np.linalg.norm(mean)) + 1e-9
            top = -np.sort(-all_probabilities(vectors), axis=0)  # each check's, highest first
            for c in range(len(SEMANTIC_CHECKS)):
                scores += [float(top[0, c]), float(top[:3, c].mean())]
        else:
            mean = np.zeros(DIMENSIONS, np.float32)
            scores = [0.0] * (2 * len(SEMANTIC_CHECKS))
        chunks += [mean.astype(np.float64), np.asarray(scores)]
    lengths = [len(doc.joined("prompt").split()), len(doc.joined("answer").split())]
    chunks.append(np.log1p(np.asarray(lengths, np.float64)) / 8)
    return np.concatenate(chunks)


# -- the fitted model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    bias: float

    def probability(self, x: np.ndarray) -> float:
        import numpy as np

        z = float(((x - self.mean) / self.scale) @ self.coef + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> CheckModel:
    """Deterministic logistic regression (zero start, full-batch gradient descent) on
    standardised features, positives and negatives weighted half and half."""
    import numpy as np

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    weight = np.where(y == 1, 0.5 / max(1.0, y.sum()), 0.5 / max(1.0, (1 - y).sum()))
    coef = np.zeros(x.shape[1])
    bias = 0.0
    for _ in range(600):
        p = 1.0 / (1.0 + np.exp(-(z @ coef + bias)))
        g = (p - y) * weight
        coef -= 0.5 * (z.T @ g + l2 * coef / len(y))
        bias -= 0.5 * float(g.sum())
    return CheckModel(mean, scale, coef, bias)


def _folders(cfg: Config) -> list[Path]:
    """The training folders that exist (each with a labels.yaml)."""
    from crafter.resources import data_dir

    found = [data_dir("evals") / name for name in cfg.folders]
    return [f for f in found if (f / "labels.yaml").is_file()]


def _folder_files(cfg: Config) -> list[tuple[Path, dict[str, Any]]]:
    """(labels.yaml, its parsed content) of each training folder (for fitting only: parsing
    the labels takes about a second in pure-Python YAML)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [
        (f / "labels.yaml", yaml.load((f / "labels.yaml").read_text(encoding="utf-8"), loader))
        for f in _folders(cfg)
    ]


def training_digest() -> str:
    """What the model is fitted on: the settings, every file of the labelled folders (labels and
    cases, read as bytes: no YAML is parsed), the exemplars and static table (the knowledge
    version) and the feature code."""
    from crafter.evals.semantic.exemplars import knowledge_version

    cfg = load_config()
    digest = hashlib.sha256(f"{FORMAT}\0{FEATURES}\0{knowledge_version()}".encode())
    for folder in _folders(cfg):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name != "README.md":
                digest.update(f"{folder.name}/{path.name}".encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def training_set(
    cfg: Config,
) -> tuple[np.ndarray, dict[str, list[tuple[int, int]]], list[tuple[Path, float]]]:
    """Every labelled case's features; per check the (row, 0/1) of the cases labelled for it; and
    per row the case's file and its answer's tied share (for cross-validation)."""
    import numpy as np

    from crafter.evals.document import from_text
    from crafter.evals.lint import YAML_SUFFIXES, parse_lint_doc

    rows: list[np.ndarray] = []
    labels: dict[str, list[tuple[int, int]]] = {c: [] for c in cfg.checks}
    meta: list[tuple[Path, float]] = []
    for path, data in _folder_files(cfg):
        for case in data.get("cases", []):
            file = path.parent / str(case.get("file", ""))
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # a case named in the labels but missing or unreadable: not trained on
            doc = (
                parse_lint_doc(text, str(file))
                if file.suffix.lower() in YAML_SUFFIXES
                else from_text(str(file), text)
            )
            if doc is None:
                continue
            row = len(rows)
            rows.append(features(doc))
            meta.append((file, tied_share(doc)))
            for check in cfg.checks:
                if check in case.get("must", []):
                    labels[check].append((row, 1))
                elif check in case.get("must_not", []):
                    labels[check].append((row, 0))
    return (np.stack(rows) if rows else np.zeros((0, 1))), labels, meta


def fit_all(cfg: Config) -> dict[str, CheckModel]:
    import numpy as np

    x, labels, _ = training_set(cfg)
    models = {}
    for check, items in labels.items():
        if len({y for _, y in items}) < 2:
            continue  # a check needs positives and negatives
        idx = np.array([r for r, _ in items])
        y = np.array([v for _, v in items], dtype=np.float64)
        models[check] = fit(x[idx], y, cfg.l2)
    return models


def shipped_path() -> Path:
    from crafter.resources import package_data

    return package_data("document_model.json")


def to_json(models: dict[str, CheckModel], digest: str) -> bytes:
    data = {
        "format": FORMAT,
        "features": FEATURES,
        "trained_on": digest,
        "checks": {
            c: {
                "mean": [round(float(v), 6) for v in m.mean],
                "scale": [round(float(v), 6) for v in m.scale],
                "coef": [round(float(v), 6) for v in m.coef],
                "bias": round(m.bias, 6),
            }
            for c, m in sorted(models.items())
        },
    }
    return json.dumps(data, separators=(",", ":")).encode()


def from_json(raw: bytes, source: Path) -> tuple[str, dict[str, CheckModel]]:
    import numpy as np

    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT or data.get("features") != FEATURES:
            raise ValueError("made by another version of crafter")
        models = {}
        width = 2 * DIMENSIONS + 4 * len(SEMANTIC_CHECKS) + 2
        for check, m in data["checks"].items():
            arrays = [np.asarray(m[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            if any(a.shape != (width,) for a in arrays) or not np.all(arrays[1] > 0):
                raise ValueError(f"{check}: weights of the wrong shape")
            models[str(check)] = CheckModel(arrays[0], arrays[1], arrays[2], float(m["bias"]))
        return str(data["trained_on"]), models
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"document model {source} is not valid: {exc}", hint=_HINT) from None


_LOCK = threading.Lock()
_MODELS: dict[str, dict[str, CheckModel]] = {}


def models() -> dict[str, CheckModel]:
    """The fitted models: the shipped ones when they are current, else refitted (and cached)."""
    with _LOCK:
        if "active" not in _MODELS:
            _MODELS["active"] = _load()
        return _MODELS["active"]


def _load() -> dict[str, CheckModel]:
    path = shipped_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"document model missing or unreadable: {path} ({exc})", hint=_HINT
        ) from None
    trained_on, shipped = from_json(raw, path)
    cfg = load_config()
    if not _folders(cfg):
        return shipped  # no labelled folders here (a team's own exemplar folder): as shipped
    current = training_digest()
    if current == trained_on:
        return shipped
    from crafter.resources import cache_root, store_cached

    cached = cache_root() / "lint" / f"documents-{current}.json"
    try:
        return from_json(cached.read_bytes(), cached)[1]
    except (OSError, UsageError):
        pass
    fitted = fit_all(cfg)
    store_cached(cached, to_json(fitted, current))
    return fitted


def reset() -> None:
    with _LOCK:
        _MODELS.clear()
    load_config.cache_clear()


# -- findings ------------------------------------------------------------------------------------


def judge(doc: LintDoc, raised: set[str]) -> list[Finding]:
    """A warning for each check the document model is confident about and no other rule raised."""
    cfg = load_config()
    todo = [c for c in cfg.checks if c not in raised]
    fitted = models()
    todo = [c for c in todo if c in fitted]
    if "buzzword" in todo and (
        len(doc.low().split()) < MIN_PAGE_WORDS or tied_share(doc) >= TIED_VETO
    ):
        # A page too short to hold a rubric or expected answer (a one-line prompt), or one whose
        # answer lines name this scenario's own numbers and terms.
        todo.remove("buzzword")
    if not todo:
        return []
    x = features(doc)
    out = []
    for check in todo:
        p = fitted[check].probability(x)
        settings = cfg.checks[check]
        if p >= settings.threshold:
            out.append(_finding(doc, check, settings, p))
    return out


# A rubric whose lines mostly name the scenario's own numbers or terms is about this scenario,
# whatever the document model reads into it: no buzzword finding from the model.
TIED_VETO = 0.5
# Buzzword judges rubric anchors and expected answers: a page of fewer words than this (a prompt
# of a sentence or two) has none.
MIN_PAGE_WORDS = 45


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def tied_share(doc: LintDoc) -> float:
    """The share of answer lines that name a number of the prompt or two of its content words."""
    from crafter.evals.pacing import key_terms

    answer = _part_sentences(doc, "answer")
    if not answer:
        return 0.0
    prompt = doc.joined("prompt")[:20_000]
    numbers = set(_NUMBER.findall(prompt))
    terms = {t for t in key_terms(prompt) if len(t) >= 4 and not t.isdigit()}
    tied = 0
    for line in answer:
        if set(_NUMBER.findall(line)) & numbers or len(key_terms(line) & terms) >= 2:
            tied += 1
    return tied / len(answer)


def _finding(doc: LintDoc, check: str, settings: CheckConfig, p: float) -> Finding:
    from crafter.evals.semantic.checks import passages, segments
    from crafter.evals.semantic.detector import detector, short

    # The first part of the check's scope that has sentences is the one it is about.
    best: tuple[str, str, Any] | None = None
    for part in settings.parts:
        found = list(passages(segments(doc, part)))
        if found:
            verdicts = detector(check).judge([s for _, _, s in found])
            i = max(range(len(found)), key=lambda n: verdicts[n].probability)
            seg, pos, sent = found[i]
            best = (sent, seg.where(pos), verdicts[i])
            break
    message = f"{settings.label} (document model p={p:.2f})"
    evidence, location = "", ""
    if best is not None:
        sent, location, verdict = best
        evidence = excerpt(sent, 0, len(sent), 0)
        message += f"; its most telling line is close to '{short(verdict.nearest)}'"
    return Finding(
        check, "warning", message, evidence=evidence, location=location,
        suggestion=_suggestion(check),
    )  # fmt: skip


def _suggestion(check: str) -> str:
    from crafter.evals.knowledge import knowledge
    from crafter.evals.semantic.checks import BUZZ_FIX, MLC_FIX, STALE_FIX

    fixes = {
        "staleness": STALE_FIX,
        "buzzword": BUZZ_FIX,
        "ml-clothing": MLC_FIX,
        "rederive": knowledge().rederive_suggestion,
    }
    return fixes.get(check, "")
