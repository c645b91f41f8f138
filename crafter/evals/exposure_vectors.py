"""MiniLM vectors of scenario probes, for library near-duplicates and `crafter new`'s warning.

A probe is embedded once: kept in memory, and in ``<cache dir>/exposure/`` as 768-byte files named
by the text's hash (written whole; an unreadable cache is ignored, never trusted blindly: the file
must be exactly one vector long). The exposure check itself uses static vectors
(exposure_model.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crafter.retrieval.embedding import DIMENSIONS, MODEL_SHA256
from crafter.retrieval.shipped_vectors import text_key

if TYPE_CHECKING:
    import numpy as np

_MEMORY: dict[str, np.ndarray] = {}
_MEMORY_MAX = 50_000


def cache_dir() -> Path | None:
    """Where probe vectors are kept between runs (None: CRAFTER_EXPOSURE_CACHE=0)."""
    if os.environ.get("CRAFTER_EXPOSURE_CACHE", "1") == "0":
        return None
    from crafter.resources import cache_root

    return cache_root() / "exposure" / MODEL_SHA256[:12]


def _read_cached(folder: Path | None, key: str) -> np.ndarray | None:
    if folder is None:
        return None
    import numpy as np

    try:
        data = (folder / f"{key}.f16").read_bytes()
    except OSError:
        return None
    if len(data) != DIMENSIONS * 2:
        return None
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


def _write_cached(folder: Path | None, key: str, vec: np.ndarray) -> None:
    if folder is None:
        return
    from crafter.resources import store_cached

    store_cached(folder / f"{key}.f16", vec.astype("<f2").tobytes())


def embed_probes(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors for ``texts``, embedding only those not seen before (in one batch)."""
    import numpy as np

    folder = cache_dir()
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    missing: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        key = text_key(text)
        vec = _MEMORY.get(key)
        if vec is None:
            vec = _read_cached(folder, key)
            if vec is not None:
                _remember(key, vec)
        if vec is None:
            missing.setdefault(key, []).append(i)
        else:
            out[i] = vec
    if missing:
        from crafter.retrieval.embedding import shared_embedder

        keys = list(missing)
        fresh = shared_embedder().embed([texts[missing[k][0]] for k in keys])
        for key, vec in zip(keys, fresh, strict=True):
            # Stored as float16 on disk: use the rounded vector now too, so a cached run and
            # a fresh one score alike.
            vec = vec.astype("<f2").astype(np.float32)
            _remember(key, vec)
            _write_cached(folder, key, vec)
            for i in missing[key]:
                out[i] = vec
    return out


def _remember(key: str, vec: np.ndarray) -> None:
    if len(_MEMORY) >= _MEMORY_MAX:
        _MEMORY.clear()
    _MEMORY[key] = vec
