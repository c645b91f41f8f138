"""Maintainers: recompute crafter/data/kind_vectors.* for the bundled kinds (prompts/kinds/).

Run after changing a kind's exemplars or task description (the test suite fails while one has
no shipped vector): ``.venv/bin/python tools/build_kind_vectors.py``. Rows are float32, so a
search with them ranks exactly as one that embeds the exemplars itself.
"""

from __future__ import annotations

import time

import numpy as np

from crafter.retrieval.embedding import shared_embedder
from crafter.retrieval.kinds import VECTORS_STEM, kind_texts, load_kinds
from crafter.retrieval.shipped_vectors import default_location, write_shipped


def main() -> None:
    started = time.perf_counter()
    texts = kind_texts()
    # In the two calls search makes without them (batches pad to their own longest text).
    exemplars = len([ex for k in load_kinds().values() for ex in k.exemplars])
    embedder = shared_embedder()
    vectors = np.concatenate([embedder.embed(texts[:exemplars]), embedder.embed(texts[exemplars:])])
    path = write_shipped(default_location(), texts, vectors, VECTORS_STEM, dtype="<f4")
    print(
        f"{len(texts)} kind texts -> {path} ({path.stat().st_size:,} bytes) "
        f"in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
