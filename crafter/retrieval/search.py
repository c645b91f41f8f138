"""Searching an index: first-stage candidates (dense MiniLM and BM25, fused by reciprocal rank),
then the relevance model's second stage, and the hits it returns. Mixed into CorpusIndex, which
owns storage, sync and locking."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from crafter.errors import UsageError
from crafter.retrieval.chunks import Chunk

RRF_K = 60
CANDIDATES = 60
# Chroma's HNSW search is approximate: asked for 60 neighbours of ~7,300 chunks it missed true
# ones for about half of evals/retrieval's needs. Asked for this many, its top 60 are the exact
# top 60, which the flat copy (flat.py) computes directly; both paths then rank alike.
HNSW_EF = 500
# How many first-stage documents the relevance model rescores.
RERANK_POOL = 20
REBUILD_HINT = "run `crafter index --rebuild` to rebuild it from the corpus"
SERVER_HINT = (
    "start the server (chroma run --path DIR --port PORT) or point crafter at the right one "
    "with --chroma-url, CRAFTER_CHROMA_URL or chroma_url in the config file"
)


class IndexError_(UsageError):
    """The index is missing, corrupt or built by an incompatible version."""


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Serialise a method on the index's lock: regen drafts from many threads share one index,
    and Chroma, BM25 and the lazily loaded chunk table are not safe to load or query at once."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


@dataclass(frozen=True)
class SearchHit:
    id: str
    title: str
    org: str
    year: int
    url: str
    score: float
    snippet: str
    source: str
    section: str = ""
    chunk_id: str = ""
    # Calibrated P(the document is at least related to the need); None without reranking.
    relevance: float | None = None
    relevant: bool = True  # clears the floor that decides what may ground a scenario

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "org": self.org, "year": self.year, "url": self.url,
            "score": round(self.score, 6), "snippet": self.snippet, "source": self.source,
            "relevance": None if self.relevance is None else round(self.relevance, 4),
            "relevant": self.relevant,
        }  # fmt: skip


class SearchMixin:
    """The search half of CorpusIndex (see index.py for the storage it relies on)."""

    chroma_url: str | None
    _lock: Any
    _bm25: Any
    _bm25_ids: list[str]

    def _open_collection(self) -> Any:
        raise NotImplementedError

    def _load_chunks(self) -> Mapping[str, Chunk]:
        raise NotImplementedError

    def _load_bm25(self) -> None:
        raise NotImplementedError

    def _keyword_index(self) -> Any:
        raise NotImplementedError

    def _flat_dense(self) -> Any:
        raise NotImplementedError

    def documents(self) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def query_vector(self, query: str) -> Any:
        """The query's MiniLM vector, rounded to float16 precision: the same query then gives the
        same vector even when onnxruntime's threaded reductions differ in the last bits."""
        import numpy as np

        from crafter.retrieval.embedding import shared_embedder

        raw = shared_embedder().embed_one(query)
        return raw.astype(np.float16).astype(np.float32)

    def dense_scores(
        self, query: str, n: int = CANDIDATES, vector: Any = None
    ) -> list[tuple[str, float]]:
        """The ``n`` closest chunks with their cosine similarity, closest first."""
        vec = self.query_vector(query) if vector is None else vector
        flat = self._flat_dense()
        if flat is not None:
            return list(flat.scores(vec, n))
        collection = self._open_collection()
        try:
            total = collection.count()
        except Exception as exc:
            raise IndexError_(
                f"the vector store failed to answer ({exc})",
                hint=SERVER_HINT if self.chroma_url else REBUILD_HINT,
            ) from None
        if total == 0:
            return []
        try:
            res = collection.query(
                query_embeddings=[vec.tolist()],
                n_results=min(max(n, HNSW_EF), total),
                include=["distances"],
            )
        except Exception as exc:
            raise IndexError_(
                f"the vector store failed to answer ({exc})",
                hint=SERVER_HINT if self.chroma_url else REBUILD_HINT,
            ) from None
        # Same index, same query, same order: near-ties are decided by id, not by chance.
        pairs = [
            (cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)
        ]
        return sorted(pairs, key=lambda p: (-round(p[1], 5), p[0]))[:n]

    def dense_ranking(self, query: str, n: int = CANDIDATES) -> list[str]:
        return [cid for cid, _ in self.dense_scores(query, n)]

    def keyword_scores(
        self, query: str, n: int = CANDIDATES
    ) -> tuple[list[tuple[str, float]], int]:
        """The ``n`` best chunks by BM25 with their scores, and how many query terms counted."""
        keyword = self._keyword_index()
        if keyword is not None:
            return keyword.scores(query, n)  # type: ignore[no-any-return]
        import bm25s

        self._load_bm25()
        if not self._bm25_ids:
            return [], 0
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return [], 0
        docs, scores = self._bm25.retrieve(
            tokens, k=min(n, len(self._bm25_ids)), show_progress=False
        )
        pairs = [
            (self._bm25_ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0], strict=True)
        ]
        ranked = [
            (cid, s) for cid, s in sorted(pairs, key=lambda p: (-round(p[1], 5), p[0])) if s > 0
        ]
        return ranked, len(tokens.vocab)

    def keyword_ranking(self, query: str, n: int = CANDIDATES) -> list[str]:
        return [cid for cid, _ in self.keyword_scores(query, n)[0]]

    def candidates(
        self, query: str, n: int, *, mode: str = "hybrid", skip: Iterable[str] = ()
    ) -> list[tuple[str, float, str]]:
        """First stage: the ``n`` best documents as (doc key, fused score, best chunk id)."""
        rankings: list[list[str]] = []
        if mode in ("hybrid", "dense"):
            rankings.append(self.dense_ranking(query))
        if mode in ("hybrid", "bm25"):
            rankings.append(self.keyword_ranking(query))
        fused = rrf(rankings)
        chunks = self._load_chunks()
        docs = self.documents()
        excluded = set(skip)
        # A document scores as its best chunk. Adding its other chunks' scores was measured worse
        # on evals/retrieval (hybrid MRR 0.94 with the best chunk alone, 0.90 with half the second).
        best: dict[str, tuple[float, str]] = {}
        for cid, score in fused:
            chunk = chunks.get(cid)
            if chunk is None or chunk.doc_key not in docs or chunk.doc_key in excluded:
                continue
            best.setdefault(chunk.doc_key, (score, cid))
        ranked = sorted(best, key=lambda key: (-best[key][0], key))
        return [(key, best[key][0], best[key][1]) for key in ranked[:n]]

    def _chunks_by_doc(self) -> dict[str, list[str]]:
        chunks = self._load_chunks()
        cached: tuple[Mapping[str, Chunk], dict[str, list[str]]] | None = getattr(
            self, "_by_doc", None
        )
        if cached is not None and cached[0] is chunks:
            return cached[1]
        from crafter.retrieval.chunk_table import ChunkTable

        by_doc: dict[str, list[str]]
        if isinstance(chunks, ChunkTable):
            by_doc = chunks.by_doc()  # from the table's document column, no line parsed
        else:
            by_doc = {}
            for cid, chunk in chunks.items():
                by_doc.setdefault(chunk.doc_key, []).append(cid)
        self._by_doc: tuple[Mapping[str, Chunk], dict[str, list[str]]] | None = (chunks, by_doc)
        return by_doc

    def chunk_vectors(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored vectors of every chunk of the documents ``keys``, by chunk id."""
        by_doc = self._chunks_by_doc()
        wanted = [cid for key in keys for cid in sorted(by_doc.get(key, []))]
        if not wanted:
            return {}
        flat = self._flat_dense()
        if flat is not None:
            found: dict[str, Any] = flat.vectors(wanted)
            if len(found) == len(wanted):
                return found
        try:
            got = self._open_collection().get(ids=wanted, include=["embeddings"])
        except Exception as exc:
            raise IndexError_(
                f"the vector store failed to answer ({exc})",
                hint=SERVER_HINT if self.chroma_url else REBUILD_HINT,
            ) from None
        return dict(zip(got["ids"], got["embeddings"], strict=True))

    def doc_matrix(self, key: str) -> Any:
        """One document's chunk vectors as an (n, 384) array (empty when it has none)."""
        import numpy as np

        vectors = self.chunk_vectors([key])
        rows = [vectors[c] for c in sorted(vectors)]
        return np.asarray(rows, dtype=np.float32).reshape(-1, 384)

    def relevance(self, need: str, keys: list[str]) -> dict[str, dict[str, float]]:
        """Second-stage features of each document for ``need`` (see crafter.retrieval.relevance)."""
        from crafter.retrieval.kinds import detect_kind, kind_vectors
        from crafter.retrieval.relevance import cosine_features

        chunks = self._load_chunks()
        by_doc = self._chunks_by_doc()
        vectors = self.chunk_vectors(keys)
        query = self.query_vector(need)
        scored, terms = self.keyword_scores(need, CANDIDATES * 4)
        bm25_doc: dict[str, float] = {}
        for cid, s in scored:
            chunk = chunks.get(cid)
            if chunk is not None:
                bm25_doc[chunk.doc_key] = max(bm25_doc.get(chunk.doc_key, 0.0), s)
        top_bm25 = max((bm25_doc.get(k, 0.0) for k in keys), default=0.0)
        guess = detect_kind(need)
        kind_vec = kind_vectors().get(guess.name)
        import numpy as np

        out: dict[str, dict[str, float]] = {}
        for key in keys:
            ids = [cid for cid in sorted(by_doc.get(key, [])) if cid in vectors]
            mat = np.asarray([vectors[c] for c in ids], dtype=np.float32).reshape(-1, len(query))
            problem = next((i for i, c in enumerate(ids) if chunks[c].section == "Problem"), None)
            feats = cosine_features(query, mat, problem)
            b = bm25_doc.get(key, 0.0)
            feats["bm25_per_term"] = min(b / max(terms, 1), 10.0)
            feats["bm25_relative"] = b / top_bm25 if top_bm25 > 0 else 0.0
            if kind_vec is not None and len(mat):
                row = mat[problem] if problem is not None else mat[0]
                feats["kind_match"] = float(row @ kind_vec)
            else:
                feats["kind_match"] = 0.0
            out[key] = feats
        return out

    @_locked
    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str = "hybrid",
        exclude: Iterable[str] = (),
        rerank: bool = True,
        need: str | None = None,
        pool: Iterable[str] | None = None,
    ) -> list[SearchHit]:
        """Top ``k`` documents for ``query``, each with its best chunk as the snippet.

        ``mode`` is ``hybrid`` (RRF of dense and BM25), ``dense`` or ``bm25``. With ``rerank``
        (the default) the first stage's best documents are scored for relevance to ``need``
        (default: the query) and ordered by it; each hit then says whether it clears the floor.
        ``pool`` reranks those documents instead of a first-stage search (research fuses its
        facet queries first).
        """
        query = query.strip()
        if not query:
            raise UsageError(
                "the search query is empty",
                hint='describe the need, e.g. crafter search "detect card fraud"',
            )
        from crafter.retrieval.embedding import shared_embedder

        shared_embedder().preload()  # overlaps with loading the chunks and the keyword index
        chunks = self._load_chunks()
        docs = self.documents()
        if pool is not None:
            keys = [key for key in pool if key in docs and key not in set(exclude)]
            firsts = {key: (0.0, "") for key in keys}
        else:
            found = self.candidates(query, RERANK_POOL if rerank else k, mode=mode, skip=exclude)
            keys = [key for key, _, _ in found]
            firsts = {key: (score, cid) for key, score, cid in found}
        scores: dict[str, tuple[float, float]] = {}
        if rerank and keys:
            from crafter.retrieval.relevance import load_model

            model = load_model()
            feats = self.relevance(need or query, keys)
            scores = {key: model.score(feats[key]) for key in keys}
            keys = sorted(keys, key=lambda key: (-scores[key][1], -scores[key][0], key))
            floor = model.floor
        hits = []
        for key in keys[:k]:
            meta = docs[key]
            first, cid = firsts[key]
            chunk = chunks.get(cid) or _problem_chunk(chunks, self._chunks_by_doc().get(key, []))
            related, close = scores.get(key, (None, None))
            hits.append(
                SearchHit(
                    id=meta["id"], title=meta["title"], org=meta["org"], year=meta["year"], url=meta["url"],
                    score=first if close is None else close, snippet=snippet(chunk.text) if chunk else "",
                    source=meta["source"], section=chunk.section if chunk else "",
                    chunk_id=chunk.chunk_id if chunk else "",
                    relevance=related, relevant=related is None or related >= floor,
                )
            )  # fmt: skip
        return hits

    @_locked
    def doc_sections(self, doc_key_: str) -> dict[str, str]:
        """The indexed text of one document, by section (continued sections are joined)."""
        out: dict[str, str] = {}
        chunks = self._load_chunks()
        for cid in sorted(self._chunks_by_doc().get(doc_key_, [])):
            chunk = chunks[cid]
            name = chunk.section.removesuffix(" (cont.)")
            out[name] = (out.get(name, "") + " " + chunk.text).strip()
        return out


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the rankings an item appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    # Ties (one item at rank r in one list, another at rank r in the other) are broken by id.
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _problem_chunk(chunks: Mapping[str, Chunk], ids: Iterable[str]) -> Chunk | None:
    mine = [chunks[cid] for cid in sorted(ids)]
    return next((c for c in mine if c.section == "Problem"), mine[0] if mine else None)


def snippet(text: str, limit: int = 320) -> str:
    body = " ".join(text.split())
    return body if len(body) <= limit else body[: limit - 3].rsplit(" ", 1)[0] + "..."
