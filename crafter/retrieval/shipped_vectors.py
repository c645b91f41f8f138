"""Precomputed vectors for the bundled corpus, so a fresh install does not embed text we already did.

Two files in ``crafter/data/``: ``corpus_vectors.f16`` (n x 384 little-endian float16 rows) and
``corpus_vectors.json`` (format, the embedder's sha256, the dimension, the row count, the sha256 of
the vector file and one key per row: a hash of the exact text that was embedded). A chunk whose
text hash is listed reuses its row; anything a user edited or added is embedded as usual. A file
that does not verify (another embedder, a wrong size, a changed byte) is ignored with a message,
never trusted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.retrieval.embedding import DIMENSIONS, MODEL_SHA256

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1
VECTORS_NAME = "corpus_vectors.f16"
META_NAME = "corpus_vectors.json"


def text_key(text: str) -> str:
    """The key of one embedded text (chunk content hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class ShippedVectors:
    rows: dict[str, int]
    matrix: Any  # np.ndarray (n, DIMENSIONS) float16

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, text: str) -> np.ndarray | None:
        row = self.rows.get(text_key(text))
        if row is None:
            return None
        import numpy as np

        return np.asarray(self.matrix[row], dtype=np.float32)


def default_location() -> Path:
    from crafter.resources import package_data

    return package_data(VECTORS_NAME).parent


def _names(stem: str | None) -> tuple[str, str]:
    """(vectors, meta) file names: the corpus's, or another set's (``stem``.f16 / .json)."""
    return (VECTORS_NAME, META_NAME) if stem is None else (f"{stem}.f16", f"{stem}.json")


def _names_for(stem: str | None, folder: Path) -> tuple[str, str]:
    """A set written as float32 is named ``stem``.f32."""
    vec, meta = _names(stem)
    if stem is not None and not (folder / vec).is_file() and (folder / f"{stem}.f32").is_file():
        vec = f"{stem}.f32"
    return vec, meta


def load_shipped(
    folder: Path | None = None, stem: str | None = None
) -> tuple[ShippedVectors | None, str | None]:
    """The verified vectors in ``folder`` (default: the package's), or None and why not.

    No files at all is not a problem (None, None): a source tree may not have built them yet.
    ``stem`` names another set of vectors than the corpus's (the exposure index's).
    """
    folder = Path(folder) if folder is not None else default_location()
    vec_name, meta_name = _names_for(stem, folder)
    meta_path, vec_path = folder / meta_name, folder / vec_name
    if not meta_path.is_file() and not vec_path.is_file():
        return None, None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = vec_path.read_bytes()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return None, f"precomputed vectors ignored: cannot read them ({exc}); embedding instead"
    problem = _verify(meta, data)
    if problem:
        return None, f"precomputed vectors in {folder} ignored ({problem}); embedding instead"
    import numpy as np

    matrix = np.frombuffer(data, dtype=_dtype(meta)).reshape(len(meta["keys"]), DIMENSIONS)
    return ShippedVectors({k: i for i, k in enumerate(meta["keys"])}, matrix), None


def _dtype(meta: dict[str, Any]) -> str:
    """Rows are float16 unless the file says float32 (small sets that must match exactly)."""
    return str(meta.get("dtype", "<f2"))


def _verify(meta: Any, data: bytes) -> str | None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return "unknown format"
    if _dtype(meta) not in ("<f2", "<f4"):
        return "unknown number type"
    if meta.get("embedder_sha256") != MODEL_SHA256:
        return "made with another embedding model"
    if meta.get("dimensions") != DIMENSIONS:
        return "wrong dimension"
    keys = meta.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return "no key list"
    if len(data) != len(keys) * DIMENSIONS * (4 if _dtype(meta) == "<f4" else 2):
        return f"{len(data)} bytes for {len(keys)} rows"
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return "the vector file's checksum does not match"
    return None


def write_shipped(
    folder: Path,
    texts: Sequence[str],
    vectors: np.ndarray,
    stem: str | None = None,
    *,
    dtype: str = "<f2",
) -> Path:
    """Write the vector pair for ``texts`` (deduplicated by key, sorted) atomically; ``dtype``
    ``<f4`` keeps float32 rows exactly (the meta file then says so)."""
    import numpy as np

    from crafter.domain.atomic import atomic_write_text

    rows: dict[str, np.ndarray] = {}
    for text, vec in zip(texts, vectors, strict=True):
        rows.setdefault(text_key(text), vec)
    keys = sorted(rows)
    matrix = np.stack([rows[k] for k in keys]) if keys else np.zeros((0, DIMENSIONS))
    data = matrix.astype(dtype).tobytes()
    vec_name, meta_name = _names(stem)
    if dtype == "<f4" and stem is not None:
        vec_name = f"{stem}.f32"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{vec_name}.tmp"
    tmp.write_bytes(data)
    tmp.replace(folder / vec_name)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "embedder_sha256": MODEL_SHA256,
        "dimensions": DIMENSIONS,
        "sha256": hashlib.sha256(data).hexdigest(),
        "keys": keys,
    }
    if dtype != "<f2":
        meta["dtype"] = dtype
    atomic_write_text(folder / meta_name, json.dumps(meta, separators=(",", ":")) + "\n")
    return folder / vec_name
