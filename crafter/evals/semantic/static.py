"""A static embedding table distilled from MiniLM (``tools/build_static_embeddings.py``).

``crafter/data/static_minilm.i8`` holds one int8 row per WordPiece token; ``static_minilm.json``
holds the per-row scales and weights, the embedder's sha256, the shape and the sha256 of the row
file. Both are verified on load; a missing or corrupt file is a UsageError naming it (exit 2).
A passage vector is the weighted mean of its tokens' rows, L2-normalised.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1
TABLE_NAME = "static_minilm.i8"
META_NAME = "static_minilm.json"
DIMENSIONS = 384
# A passage longer than this is judged on its first characters (bounded time and memory).
MAX_CHARS = 2_000
_REBUILD = "reinstall crafter, or rebuild it: .venv/bin/python tools/build_static_embeddings.py"


def table_paths(folder: Path | None = None) -> tuple[Path, Path]:
    from crafter.resources import package_data

    base = folder if folder is not None else package_data(TABLE_NAME).parent
    return base / TABLE_NAME, base / META_NAME


class StaticEmbedder:
    """Passage vectors from the distilled table: no model run, a few microseconds a passage."""

    def __init__(self, folder: Path | None = None) -> None:
        import numpy as np

        from crafter.retrieval.embedding import MODEL_SHA256, model_files

        table_path, meta_path = table_paths(folder)
        for p in (table_path, meta_path):
            if not p.is_file():
                raise UsageError(f"semantic lint table missing: {p}", hint=_REBUILD)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            data = table_path.read_bytes()
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the semantic lint table {meta_path}: {exc}",
                             hint=_REBUILD) from None  # fmt: skip
        problem = _verify(meta, data, MODEL_SHA256)
        if problem:
            raise UsageError(f"semantic lint table {table_path} is not valid: {problem}",
                             hint=_REBUILD)  # fmt: skip
        rows = int(meta["rows"])
        self.identity = str(meta.get("sha256", ""))  # names this table in caches derived from it
        self.table = np.frombuffer(data, dtype=np.int8).reshape(rows, DIMENSIONS)
        self.scales = np.asarray(meta["scales"], dtype=np.float32)
        self.weights = np.asarray(meta["weights"], dtype=np.float32)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from tokenizers import Tokenizer

        _model, tok_path = model_files()
        try:
            tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as exc:
            raise UsageError(
                f"cannot read the tokenizer {tok_path}: {exc}", hint=_REBUILD
            ) from None
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer: Any = tokenizer
        self._memo: dict[str, Any] = {}
        self.memo_limit = 20_000  # sentences kept; a long lint run would otherwise grow without end

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32 unit vectors (a passage with no known token is all zeros)."""
        import numpy as np

        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        # Several checks judge the same sentences: each is embedded once per process.
        memo = self._memo
        todo = [i for i, t in enumerate(texts) if t not in memo]
        for i, t in enumerate(texts):
            if t in memo:
                out[i] = memo[t]
        if todo:
            fresh = self._embed([texts[i] for i in todo])
            if len(memo) + len(todo) > self.memo_limit:
                # Bounded memory on a long run. Cleared before this batch's vectors go in, and
                # the batch's own rows are already in ``out``: clearing mid-batch used to drop
                # vectors this call still needed (a KeyError after 20,000 sentences).
                memo.clear()
            for i, vec in zip(todo, fresh, strict=True):
                out[i] = vec
                memo[texts[i]] = vec
        return out

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(
            [t[:MAX_CHARS] for t in texts], add_special_tokens=False
        )
        lengths = [len(e.ids) for e in encodings]
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=sum(lengths))
        if not len(ids):
            return out
        w = self.weights[ids] * self.scales[ids]
        weighted = self.table[ids].astype(np.float32) * w[:, None]
        starts = np.cumsum([0, *lengths[:-1]])
        nonempty = np.array(lengths) > 0
        sums = np.add.reduceat(weighted, starts[nonempty], axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out[nonempty] = sums / np.clip(norms, 1e-9, None)
        return out


def _verify(meta: Any, data: bytes, embedder_sha: str) -> str | None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return "unknown format"
    if meta.get("embedder_sha256") != embedder_sha:
        return "distilled from another embedding model"
    rows = meta.get("rows")
    if not isinstance(rows, int) or meta.get("dimensions") != DIMENSIONS:
        return "wrong shape"
    if len(data) != rows * DIMENSIONS:
        return f"{len(data)} bytes for {rows} rows"
    for name in ("scales", "weights"):
        if not isinstance(meta.get(name), list) or len(meta[name]) != rows:
            return f"{name} do not match the rows"
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return "the table's checksum does not match"
    return None


def write_table(table: np.ndarray, weights: np.ndarray, folder: Path | None = None) -> Path:
    """Quantise ``table`` to int8 rows (one scale each) and write the verified pair."""
    import numpy as np

    from crafter.domain.atomic import atomic_write_text
    from crafter.retrieval.embedding import MODEL_SHA256

    scales = np.abs(table).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.round(table / scales[:, None]), -127, 127).astype(np.int8)
    data = q.tobytes()
    table_path, meta_path = table_paths(folder)
    tmp = table_path.with_name(f".{table_path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(table_path)
    meta = {
        "format": FORMAT,
        "embedder_sha256": MODEL_SHA256,
        "rows": len(table),
        "dimensions": DIMENSIONS,
        "sha256": hashlib.sha256(data).hexdigest(),
        "scales": [round(float(s), 7) for s in scales],
        "weights": [round(float(x), 5) for x in weights],
    }
    atomic_write_text(meta_path, json.dumps(meta, separators=(",", ":")) + "\n")
    return table_path


_SHARED: StaticEmbedder | None = None
_LOCK = threading.Lock()


def shared_static() -> StaticEmbedder:
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = StaticEmbedder()
        return _SHARED
