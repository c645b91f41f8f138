"""What the exposure check knows beyond the prompt list: exemplars and the calibrated model.

Sentence vectors tell a domain apart, not a problem: "recommend videos for the home page" and
"detect re-uploaded clips" sit close together. ``evals/exposure/exemplars.yaml`` therefore holds,
per published prompt, near-copies (the same problem disguised) and twists (the same domain, a
different problem). A probe is compared with every prompt's own text, its copies and its twists
(static MiniLM vectors, see semantic/static.py: microseconds a probe, no model run), and eight
features of the best-matching prompt go into a logistic model whose weights, standardisation and
thresholds are in ``evals/exposure/rule.yaml`` (fitted by ``benchmarks/exposure.py --calibrate``
on the calibration sets, never on a blind set):

- ``best``: cosine to the prompt's closest positive (its own text or a copy);
- ``margin``: ``best`` minus the closest twist of any prompt;
- ``own_margin``: ``best`` minus the prompt's own closest twist (any prompt's when it has none);
- ``vote``: the share of positives among the probe's 7 nearest exemplars;
- ``words``, ``explained``, ``shingles``: wording shared with the prompt (see exposure.py);
- ``prompt_cos``: cosine to the nearest prompt text of all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crafter.errors import UsageError
from crafter.resources import data_dir

if TYPE_CHECKING:
    import numpy as np

FEATURES = (
    "best", "margin", "own_margin", "vote", "words", "explained", "shingles", "prompt_cos",
)  # fmt: skip
NEIGHBOURS = 7
_MAX_ITEMS = 64  # per prompt and kind: a bound on what a hand-edited file can make us embed
_MAX_CHARS = 2_000


def exemplars_path() -> Path:
    return data_dir("evals") / "exposure" / "exemplars.yaml"


def blind_exemplars_path() -> Path:
    """Exemplars learned from the labelled blind pair sets after their one score (written by
    tools/exposure_blind_exemplars.py), kept apart from the hand-written ones."""
    return data_dir("evals") / "exposure" / "exemplars_blind.yaml"


def rule_path() -> Path:
    return data_dir("evals") / "exposure" / "rule.yaml"


@cache
def files_digest() -> str:
    """A digest of the exemplar, rule and task files (the lint result cache keys on it; read once
    a process, like the files themselves)."""
    import hashlib

    from crafter.evals.exposure_frames import frames_path

    digest = hashlib.sha256()
    for path in (exemplars_path(), blind_exemplars_path(), rule_path(), frames_path()):
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"missing")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@cache
def load_exemplars() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """prompt id -> (copies, twists), the hand-written file's and the blind-learned file's
    together. A missing or malformed file is a UsageError naming it."""
    out = _read_exemplars(exemplars_path(), "exemplars")
    for prompt, (copies, twists) in _read_exemplars(
        blind_exemplars_path(), "blind-exemplars"
    ).items():
        mine = out.get(prompt, ((), ()))
        out[prompt] = (mine[0] + copies, mine[1] + twists)
    return out


def _read_exemplars(path: Path, name: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"exposure exemplar file missing: {path}", hint="reinstall crafter or restore the file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"exposure exemplar file {path} is unreadable: {exc}") from None

    def parse() -> Any:
        # libyaml's loader: the 220 KB file took 0.6 s with the pure-Python one. Kept as JSON
        # in the cache folder after the first read (35 ms of YAML, 1 ms of JSON).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(text, Loader=loader)

    from crafter.resources import cached_parse

    try:
        raw: Any = cached_parse(name, [data], parse)
    except yaml.YAMLError as exc:
        raise UsageError(f"exposure exemplar file {path} is unreadable: {exc}") from None
    items = raw.get("exemplars") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise UsageError(f"{path}: expected a mapping with an 'exemplars' list")
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
            raise UsageError(f"{path}: exemplar {n} needs a 'prompt' id")
        lists = []
        for key in ("copies", "twists"):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{path}: exemplar {n} ({item['prompt']}): {key} must be texts")
            lists.append(tuple(v[:_MAX_CHARS] for v in value[:_MAX_ITEMS]))
        out[item["prompt"]] = (lists[0], lists[1])
    return out


@dataclass(frozen=True)
class Model:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    warn_at: float
    domain_cos: float
    duplicate_cos: float
    duplicate_shingles: float

    def chances(self, features: np.ndarray) -> np.ndarray:
        """``chance`` of each row of ``features`` at once."""
        import numpy as np

        w = np.asarray(self.weights) / np.asarray(self.scale)
        z = self.bias + (features - np.asarray(self.mean)) @ w
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))))

    def chance(self, features: Sequence[float]) -> float:
        z = self.bias + sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, features, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@cache
def model() -> Model:
    path = rule_path()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        m, t = raw["model"], raw["thresholds"]
        names = tuple(m["features"])
        if names != FEATURES:
            raise ValueError(f"features {names} are not {FEATURES}")
        vectors = [tuple(float(v) for v in m[k]) for k in ("mean", "scale", "weights")]
        if any(len(v) != len(FEATURES) for v in vectors) or min(vectors[1]) <= 0:
            raise ValueError("mean, scale and weights need one positive-scale value a feature")
        return Model(
            vectors[0], vectors[1], vectors[2], float(m["bias"]),
            float(t["warn_at"]), float(t["domain_cos"]),
            float(t["duplicate_cos"]), float(t["duplicate_shingles"]),
        )  # fmt: skip
    except FileNotFoundError:
        raise UsageError(f"exposure rule file missing: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"exposure rule file {path} is malformed: {exc}") from None


def _table_vectors(texts: list[str]) -> np.ndarray:
    """Unit static vectors of ``texts``, kept in the cache folder between runs (embedding the
    1,700 bundled texts takes about 0.9 s; reading them back a few milliseconds). The file is
    named by a digest of the texts and of the static table, and must be exactly the right size."""
    import hashlib
    import os

    import numpy as np

    from crafter.evals.semantic.static import shared_static

    if not texts:
        return np.zeros((0, 384), np.float32)
    static = shared_static()
    digest = hashlib.sha256(static.identity.encode())
    for t in texts:
        digest.update(b"\0" + t.encode("utf-8"))
    path: Path | None = None
    if os.environ.get("CRAFTER_EXPOSURE_CACHE", "1") != "0":
        from crafter.resources import cache_root

        path = cache_root() / "exposure" / f"table-{digest.hexdigest()[:24]}.f16"
        try:
            data = path.read_bytes()
            if len(data) == len(texts) * 384 * 2:
                return np.frombuffer(data, dtype="<f2").astype(np.float32).reshape(-1, 384)
        except OSError:
            pass
    vectors = static.embed(texts)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = (vectors / np.clip(norms, 1e-9, None)).astype("<f2")
    if path is not None:
        from crafter.resources import store_cached

        store_cached(path, unit.tobytes())
    # The rounded vectors either way, so a cached run and a fresh one score alike.
    return np.asarray(unit, dtype=np.float32)


class ExemplarTable:
    """Every prompt's text, copies and twists as unit static vectors, with their owner and kind."""

    def __init__(self, prompt_ids: Sequence[str], prompt_texts: Sequence[str]) -> None:
        import numpy as np

        known = load_exemplars()
        # Each prompt's rows together (its text, then copies, then twists), so one reduceat
        # per probe gives every prompt's best positive and best twist.
        texts: list[str] = []
        positive: list[bool] = []
        starts: list[int] = []  # where each prompt's rows begin: its own text's row
        has_twists: list[bool] = []
        for pid, text in zip(prompt_ids, prompt_texts, strict=True):
            copies, twists = known.get(pid, ((), ()))
            starts.append(len(texts))
            texts += [text, *copies, *twists]
            positive += [True] * (1 + len(copies)) + [False] * len(twists)
            has_twists.append(bool(twists))
        self.count = len(prompt_texts)
        self.positive = np.asarray(positive, dtype=bool)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.has_twists = np.asarray(has_twists, dtype=bool)
        self.vectors = _table_vectors(texts)

    def similarities(self, probe: str) -> np.ndarray:
        import numpy as np

        return np.asarray(self.similarities_many([probe])[0])

    def similarities_many(self, probes: Sequence[str]) -> np.ndarray:
        """(probes, rows) cosines: one matrix product for a batch of files, which reads the
        table from memory once instead of once a file (the table is several megabytes)."""
        import numpy as np

        from crafter.evals.semantic.static import shared_static

        q = shared_static().embed(list(probes))
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        q = q / np.clip(norms, 1e-9, None)
        return np.asarray(q @ self.vectors.T)

    def features(
        self, s: np.ndarray, words: np.ndarray, explained: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Per prompt, the features that do not need shingles (those are filled in for the few
        leading prompts); and the probe's cosine to the nearest prompt or exemplar of all."""
        import numpy as np

        n = self.count
        if n == 0:
            return np.zeros((0, len(FEATURES))), -1.0
        pos = np.where(self.positive, s, -1.0)
        neg = np.where(self.positive, -1.0, s)
        best = np.maximum.reduceat(pos, self.starts)
        own_neg = np.maximum.reduceat(neg, self.starts)
        global_neg = float(neg.max(initial=-1.0))
        own_neg = np.where(self.has_twists, own_neg, global_neg)
        k = min(NEIGHBOURS, len(s))
        top = np.argpartition(-s, k - 1)[:k] if k else np.zeros(0, dtype=np.int64)
        vote = float(self.positive[top].mean()) if k else 0.0
        prompt_cos = float(s[self.starts].max(initial=-1.0))
        feats = np.zeros((n, len(FEATURES)))
        feats[:, 0] = best
        feats[:, 1] = best - global_neg
        feats[:, 2] = best - own_neg
        feats[:, 3] = vote
        feats[:, 4] = words
        feats[:, 5] = explained
        feats[:, 7] = prompt_cos
        return feats, float(s.max(initial=-1.0))
