"""Maintainers: recompute crafter/data/exposure_vectors.* for the bundled exposure index.

Run after changing evals/exposure/published.yaml (the test suite fails while a bundled prompt
has no shipped vector): ``.venv/bin/python tools/build_exposure_vectors.py``.
"""

from __future__ import annotations

import time

from crafter.evals.exposure_data import bundled_list
from crafter.evals.exposure_vectors import STEM
from crafter.retrieval.embedding import shared_embedder
from crafter.retrieval.shipped_vectors import default_location, load_shipped, write_shipped


def main() -> None:
    started = time.perf_counter()
    texts = [p.text for p in bundled_list().prompts]
    old, _ = load_shipped(default_location(), STEM)
    known = [old.get(t) if old is not None else None for t in texts]
    missing = [i for i, v in enumerate(known) if v is None]
    fresh = shared_embedder().embed([texts[i] for i in missing]) if missing else []
    for i, vec in zip(missing, fresh, strict=True):
        known[i] = vec
    import numpy as np

    path = write_shipped(default_location(), texts, np.stack(known), STEM)
    print(
        f"{len(texts)} prompts ({len(missing)} embedded now) -> {path} "
        f"({path.stat().st_size:,} bytes) in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
