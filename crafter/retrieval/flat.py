"""A compact, memory-mapped copy of a local index's chunk vectors, for fast cold searches.

Chroma stays the store of record (it takes the upserts and deletes of every sync, user corpora
included, and it is what a team server holds). After each local sync the index also writes every
chunk's stored vector, in chunk-id order, to ``dense.npy`` (float32, exactly the values Chroma
holds) with the ids in ``dense_ids.json`` (and their hash in ``dense.json``). A search then memory-maps that file instead of importing
chromadb (about a second on 2 cores) and opening its HNSW index: an exact dot product over
~7,300 x 384 values takes about a millisecond. Exact search returns what HNSW returns whenever
HNSW finds the true nearest neighbours (``tests/test_flat_search.py`` compares the two).

A file that is missing or does not match the index's chunks is ignored and Chroma answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crafter.retrieval.embedding import DIMENSIONS

FORMAT = 1
VECTORS = "dense.npy"
IDS = "dense.json"  # format, row count and a hash of the row ids (what a search checks)
ID_LIST = "dense_ids.json"  # the row ids themselves (what the next sync reuses rows by)


@dataclass(frozen=True)
class FlatDense:
    ids: tuple[str, ...]
    rows: dict[str, int]
    matrix: Any  # (n, DIMENSIONS) float32, memory-mapped
    norms: Any  # (n,) float32, each row's length (HNSW's cosine space normalises rows)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: Any, n: int) -> list[tuple[str, float]]:
        """The ``n`` closest chunks by cosine similarity, as (id, similarity), closest first; near
        ties (equal to 5 decimals) in id order, as the Chroma path orders them."""
        import numpy as np

        if not self.ids or n <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        # As HNSW's cosine space does: a float32 distance 1 - cos, reported back as 1 - distance.
        dist = np.float32(1.0) - (self.matrix @ q) / self.norms
        sims = 1.0 - dist.astype(np.float64)
        rounded = np.round(sims.astype(np.float64), 5)
        take = min(n, len(self.ids))
        # Everything that ties with the n-th best (to 5 decimals) is a candidate; id decides.
        cut = np.partition(-rounded, take - 1)[take - 1]
        picked = np.nonzero(-rounded <= cut)[0]
        pairs = [(self.ids[i], float(sims[i])) for i in picked]
        return sorted(pairs, key=lambda p: (-round(p[1], 5), p[0]))[:take]

    def vectors(self, ids: Iterable[str]) -> dict[str, Any]:
        """The stored vectors of ``ids`` that the file holds, by id."""
        import numpy as np

        return {
            cid: np.asarray(self.matrix[self.rows[cid]], dtype=np.float32)
            for cid in ids
            if cid in self.rows
        }


def load_flat(folder: Path, chunk_ids: Iterable[str]) -> FlatDense | None:
    """The flat vectors in ``folder`` if they cover exactly ``chunk_ids``, else None."""
    import numpy as np

    try:
        meta = json.loads((folder / IDS).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        ids = tuple(sorted(chunk_ids))
        if meta["count"] != len(ids) or meta["ids_sha256"] != _digest(ids):
            return None
        matrix = np.load(folder / VECTORS, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if matrix.shape != (len(ids), DIMENSIONS) or matrix.dtype != np.float32:
        return None
    norms = np.linalg.norm(matrix, axis=1).astype(np.float32) if len(ids) else np.zeros(0)
    norms = np.maximum(norms, np.float32(1e-12))
    return FlatDense(ids, {cid: i for i, cid in enumerate(ids)}, matrix, norms)


def write_flat(folder: Path, vectors: Mapping[str, Any]) -> None:
    """Write ``vectors`` (chunk id -> vector) in id order; the ids file last, atomically."""
    import numpy as np

    from crafter.domain.atomic import atomic_write_text

    ids = sorted(vectors)
    matrix = (
        np.stack([np.asarray(vectors[i], dtype=np.float32) for i in ids])
        if ids
        else np.zeros((0, DIMENSIONS), dtype=np.float32)
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / IDS).unlink(missing_ok=True)  # until the ids are rewritten the file is not trusted
    tmp = folder / f".{VECTORS}.tmp"
    with tmp.open("wb") as fh:
        np.save(fh, matrix.astype("<f4"), allow_pickle=False)
    tmp.replace(folder / VECTORS)
    atomic_write_text(folder / ID_LIST, json.dumps(ids))
    meta = {"format": FORMAT, "count": len(ids), "ids_sha256": _digest(ids)}
    atomic_write_text(folder / IDS, json.dumps(meta))


def _digest(ids: Iterable[str]) -> str:
    """The rows' ids in one hash: a search checks it instead of reading the id list."""
    import hashlib

    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def read_flat(folder: Path) -> dict[str, Any]:
    """Whatever vectors the file in ``folder`` holds, by id (empty when there is none)."""
    import numpy as np

    try:
        ids = [str(i) for i in json.loads((folder / ID_LIST).read_text(encoding="utf-8"))]
        matrix = np.load(folder / VECTORS, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if matrix.shape != (len(ids), DIMENSIONS):
        return {}
    return {cid: np.asarray(matrix[i], dtype=np.float32) for i, cid in enumerate(ids)}
