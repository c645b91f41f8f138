"""BM25 scoring of a query over the saved keyword index, without importing bm25s.

bm25s builds the index (``storage._build_bm25``) and saves its precomputed per-term scores as a
sparse column matrix: for term ``t``, ``data[indptr[t]:indptr[t+1]]`` are the scores of the
chunks ``indices[...]`` that hold it. A query's score for a chunk is the sum over the query's
terms (repeats counted) of those precomputed scores, so scoring needs only numpy and three arrays
read by memory-mapping. Importing bm25s costs 0.1-0.2 s per search (it pulls tqdm and asyncio);
this reads the same files and gives the same scores (tests/test_keyword_index.py compares them).

The query is tokenised as the index was: lower case, the pattern and the stopwords that
``_build_bm25`` saved beside the index in ``query.json``. An index folder without that file was
built before it existed and is read by bm25s instead (see ``StorageMixin.keyword_index``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUERY_FILE = "query.json"
# Scored by this module only for the method it implements (Lucene BM25, no non-occurrence term).
_METHODS = {"lucene", "robertson", "atire"}
# A query is bounded (the CLI caps it too); this keeps tokenising linear and small.
MAX_QUERY_CHARS = 20_000


@dataclass(frozen=True)
class KeywordIndex:
    ids: list[str]
    vocab: dict[str, int]
    data: Any
    indices: Any
    indptr: Any
    pattern: re.Pattern[str]
    stopwords: frozenset[str]
    lower: bool

    def tokens(self, query: str) -> list[str]:
        text = query[:MAX_QUERY_CHARS]
        if self.lower:
            text = text.lower()
        return [t for t in self.pattern.findall(text) if t not in self.stopwords]

    def scores(self, query: str, n: int) -> tuple[list[tuple[str, float]], int]:
        """The ``n`` best chunks with a positive score, best first (ties by chunk id), and how
        many distinct query terms there were (known to the index or not)."""
        import numpy as np

        tokens = self.tokens(query)
        terms = len(set(tokens))
        last = len(self.indptr) - 1
        known = [i for i in (self.vocab.get(t) for t in tokens) if i is not None and i < last]
        if not terms or not known or not self.ids:
            return [], terms
        scores = np.zeros(len(self.ids), dtype=self.data.dtype)
        for t in known:
            start, end = int(self.indptr[t]), int(self.indptr[t + 1])
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        hit = np.flatnonzero(scores > 0)
        ranked = sorted(
            ((self.ids[int(i)], float(scores[i])) for i in hit),
            key=lambda p: (-round(p[1], 5), p[0]),
        )
        return ranked[:n], terms


def query_settings(stopwords: list[str], pattern: str, lower: bool = True) -> str:
    """The text of ``query.json``: how the index tokenised, so a query is tokenised alike."""
    return json.dumps({"pattern": pattern, "lower": lower, "stopwords": sorted(stopwords)})


def load_keyword_index(folder: Path) -> KeywordIndex | None:
    """The saved index at ``folder`` for scoring, or None when it cannot be scored here (no
    ``query.json``, or a BM25 variant this module does not score): bm25s reads it then.
    Raises OSError or ValueError when the files are unreadable."""
    settings_path = folder / QUERY_FILE
    if not settings_path.is_file():
        return None
    import numpy as np

    params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
    if params.get("method") not in _METHODS or (folder / "nonoccurrence_array.index.npy").exists():
        return None
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
    ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
    data = np.load(folder / "data.csc.index.npy", mmap_mode="r", allow_pickle=False)
    indices = np.load(folder / "indices.csc.index.npy", mmap_mode="r", allow_pickle=False)
    indptr = np.load(folder / "indptr.csc.index.npy", mmap_mode="r", allow_pickle=False)
    if not isinstance(vocab, dict) or not isinstance(ids, list):
        raise ValueError("vocabulary or id list has the wrong shape")
    # bm25s adds an empty term last, which no query yields; its column may be left out.
    if len(indptr) < max(vocab.values(), default=-1) + 1 or len(data) != len(indices):
        raise ValueError("the score matrix does not match its vocabulary")
    if len(indices) and int(np.max(indices)) >= len(ids):
        raise ValueError("the score matrix names chunks the id list lacks")
    return KeywordIndex(
        ids=[str(i) for i in ids],
        vocab={str(k): int(v) for k, v in vocab.items()},
        data=data,
        indices=indices,
        indptr=indptr,
        pattern=re.compile(str(settings["pattern"])),
        stopwords=frozenset(str(s) for s in settings["stopwords"]),
        lower=bool(settings.get("lower", True)),
    )
