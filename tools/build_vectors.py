"""Maintainers: recompute crafter/data/corpus_vectors.* for the bundled corpus.

Run after changing reference_corpus/ (the test suite fails while shipped vectors are missing
for bundled chunks): ``.venv/bin/python tools/build_vectors.py``.
"""

from __future__ import annotations

import time

from crafter.resources import data_dir
from crafter.retrieval.chunks import chunk_doc
from crafter.retrieval.corpus import load_corpus
from crafter.retrieval.embedding import shared_embedder
from crafter.retrieval.shipped_vectors import default_location, load_shipped, write_shipped


def main() -> None:
    started = time.perf_counter()
    result = load_corpus(data_dir("reference_corpus"))
    texts = [c.embed_text for d in result.docs for c in chunk_doc(d)]
    old, _ = load_shipped()
    known = [old.get(t) if old is not None else None for t in texts]
    missing = [i for i, v in enumerate(known) if v is None]
    fresh = shared_embedder().embed([texts[i] for i in missing]) if missing else []
    for i, vec in zip(missing, fresh, strict=True):
        known[i] = vec
    import numpy as np

    path = write_shipped(default_location(), texts, np.stack(known))
    print(
        f"{len(texts)} chunks ({len(missing)} embedded now) from {len(result.docs)} documents "
        f"-> {path} ({path.stat().st_size:,} bytes) in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
