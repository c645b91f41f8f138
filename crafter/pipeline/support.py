"""Is a model's note (or a hook's citation) supported by the document it is tied to?

A small model can copy one document's note onto several others. Each note is compared by meaning
(MiniLM cosine) with every section of its own document and of the other retrieved documents. It is
supported when it is close enough to its own document and not clearly closer to another one:

    support = max cosine(note, own sections)          >= MIN_SUPPORT
    support >= max cosine(note, any other document) - MARGIN

Unsupported notes are dropped and reported; a hook citing a document that does not support it
loses that citation (the hook stays, reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MIN_SUPPORT = 0.45
MARGIN = 0.08


@dataclass(frozen=True)
class Verdict:
    supported: bool
    own: float
    best_other: float
    other_id: str = ""


def _unit(matrix: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-9)


def judge(texts: Sequence[str], claimed: Sequence[str], docs: dict[str, Any]) -> list[Verdict]:
    """One verdict per text: ``claimed[i]`` is the id of the document text ``i`` is tied to;
    ``docs`` maps each retrieved document's id to its (n, d) section vectors."""
    import numpy as np

    from crafter.retrieval.embedding import shared_embedder

    if not texts:
        return []
    vecs = _unit(np.asarray(shared_embedder().embed([t[:2000] for t in texts]), dtype=np.float32))
    best: dict[str, Any] = {}
    for doc_id, mat in docs.items():
        if len(mat):
            best[doc_id] = (_unit(np.asarray(mat, dtype=np.float32)) @ vecs.T).max(axis=0)
    out = []
    for i, doc_id in enumerate(claimed):
        own = float(best[doc_id][i]) if doc_id in best else 0.0
        others = [(float(v[i]), d) for d, v in best.items() if d != doc_id]
        other, other_id = max(others, default=(0.0, ""))
        ok = own >= MIN_SUPPORT and own >= other - MARGIN
        out.append(Verdict(ok, round(own, 3), round(other, 3), other_id))
    return out
