"""The hybrid index: Chroma (dense MiniLM) beside BM25 (bm25s), fused by reciprocal rank fusion.

Layout of an index folder::

    manifest.json   format, embedder, corpus version, generation, per-document hash and chunk ids
    sources.json    the user corpora registered with --add (kept apart: a rebuild never loses them)
    .lock           held (flock) by whoever syncs, across processes
    <generation>/   chunks.jsonl, bm25/ and chroma/ of one build (a Chroma server holds the vectors
                    in a collection named for the generation instead)

A rebuild writes a new generation beside the current one and switches to it by replacing
manifest.json (one atomic rename); the previous generation is removed afterwards. A kill at any
moment leaves the old index or the new one. An index made before generations (files at the top
level) is read as generation "".

Sync is incremental: a document whose content hash is unchanged is not re-embedded; removed
documents' chunks are deleted. A no-op sync reads the corpus and the manifest and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from crafter.domain.atomic import atomic_write_text
from crafter.errors import UsageError
from crafter.retrieval.chunks import Chunk, chunk_doc, doc_key
from crafter.retrieval.corpus import (
    CorpusDoc,
    CorpusProblem,
    corpus_version,
    load_corpus,
    version_of,
)
from crafter.retrieval.embedding import MODEL_NAME

log = logging.getLogger("crafter.retrieval")

FORMAT = 1
COLLECTION = "crafter_chunks"
RRF_K = 60
CANDIDATES = 60
# How many first-stage documents the relevance model rescores.
RERANK_POOL = 20
REBUILD_HINT = "run `crafter index --rebuild` to rebuild it from the corpus"

Progress = Callable[[str, int, int], None]
F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Serialise a method on the index's lock: regen drafts from many threads share one index,
    and Chroma, BM25 and the lazily loaded chunk table are not safe to load or query at once."""

    @functools.wraps(method)
    def wrapper(self: CorpusIndex, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class IndexError_(UsageError):
    """The index is missing, corrupt or built by an incompatible version."""


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


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0  # taken from the precomputed vectors shipped with the corpus
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    corpus_version: str = ""
    problems: list[CorpusProblem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class Source:
    """A corpus the index covers: the built-in one or a user folder with its label."""

    label: str
    root: Path
    kind: str  # "corpus" (front-matter write-ups) or "user" (any md/txt/pdf)


def default_index_dir() -> Path:
    """``$CRAFTER_INDEX_DIR``, or ``index/`` in the per-user data folder."""
    import os

    if os.environ.get("CRAFTER_INDEX_DIR"):
        return Path(os.environ["CRAFTER_INDEX_DIR"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("crafter")) / "index"


def builtin_corpus_dir() -> Path:
    """The built-in corpus, or the folder in CRAFTER_CORPUS_DIR (a team's own fork of it)."""
    import os

    from crafter.resources import data_dir

    override = os.environ.get("CRAFTER_CORPUS_DIR")
    return Path(override) if override else data_dir("reference_corpus")


class CorpusIndex:
    def __init__(
        self,
        index_dir: Path | None = None,
        *,
        chroma_url: str | None = None,
        corpus_dir: Path | None = None,
        vectors_dir: Path | None = None,
    ) -> None:
        self.dir = Path(index_dir) if index_dir else default_index_dir()
        # Precomputed vectors for the bundled corpus (None: the package's own).
        self.vectors_dir = vectors_dir
        # Where the vectors live: --chroma-url, then $CRAFTER_CHROMA_URL, then the config file's
        # chroma_url, then the server the index was built on (recorded in its manifest).
        self.chroma_url = chroma_url or _configured_chroma_url()
        self.corpus_dir = corpus_dir or builtin_corpus_dir()
        self._collection: Any = None
        self._bm25: Any = None
        self._bm25_ids: list[str] = []
        self._chunks: dict[str, Chunk] | None = None
        self._manifest: dict[str, Any] | None = None
        self._lock = threading.RLock()
        # Sources registered for this object only (a dry run must not write).
        self._pending_sources: dict[str, dict[str, str]] = {}

    # -- manifest -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def sources_path(self) -> Path:
        return self.dir / "sources.json"

    @property
    def data_dir(self) -> Path:
        """The folder of the current generation's chunks, BM25 and local Chroma store."""
        gen = str(self.manifest().get("generation", ""))
        return self.dir / gen if gen else self.dir

    @property
    def collection_name(self) -> str:
        gen = str(self.manifest().get("generation", ""))
        return f"{COLLECTION}_{gen}" if gen else COLLECTION

    def _sync_lock(self) -> Any:
        from crafter.domain.locks import file_lock

        self.dir.mkdir(parents=True, exist_ok=True)
        return file_lock(self.dir / ".lock", wait=True)

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            self._manifest = self._read_manifest()
            recorded = self._manifest.get("chroma_url")
            if recorded and not self.chroma_url:
                # Built on a server: searching an empty local store instead would be silent
                # and wrong, so the recorded server is used.
                self.chroma_url = str(recorded)
        return self._manifest

    def _read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {
                "format": FORMAT,
                "embedder": MODEL_NAME,
                "corpus_version": "",
                "sources": {},
                "docs": {},
            }
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexError_(
                f"the index at {self.dir} is unreadable ({exc})", hint=REBUILD_HINT
            ) from None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("embedder") != MODEL_NAME
        ):
            raise IndexError_(
                f"the index at {self.dir} was built by an incompatible crafter "
                f"(format {data.get('format') if isinstance(data, dict) else '?'})",
                hint=REBUILD_HINT,
            )
        return data

    def registered(self) -> dict[str, dict[str, str]]:
        """User corpora registered with --add, by label (sources.json, else an older manifest)."""
        if self.sources_path.is_file():
            try:
                data = json.loads(self.sources_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise IndexError_(
                    f"{self.sources_path} is unreadable ({exc})",
                    hint="fix or delete it, then register the folders again with --add",
                ) from None
            return {**data.get("sources", {}), **self._pending_sources}
        return {**self.manifest().get("sources", {}), **self._pending_sources}

    def _write_registered(self, sources: dict[str, dict[str, str]]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.sources_path, json.dumps({"sources": sources}, indent=1, sort_keys=True)
        )
        self.manifest()["sources"] = sources

    def sources(self) -> list[Source]:
        out = [Source("corpus", self.corpus_dir, "corpus")]
        for label, info in sorted(self.registered().items()):
            out.append(Source(label, Path(info["root"]), "user"))
        return out

    @property
    def corpus_version(self) -> str:
        return str(self.manifest().get("corpus_version", ""))

    def expected_corpus_version(self) -> str:
        """The version a sync would record now, computed from the documents without indexing."""
        docs, _ = self.load_documents()
        return corpus_version(docs)

    # -- loading documents ------------------------------------------------------------------
    def load_documents(self) -> tuple[list[CorpusDoc], list[CorpusProblem]]:
        docs: list[CorpusDoc] = []
        problems: list[CorpusProblem] = []
        for source in self.sources():
            if source.kind == "corpus":
                result = load_corpus(source.root)
            else:
                from crafter.retrieval.user_corpus import load_user_corpus

                result = load_user_corpus(source.root, source.label)
            docs.extend(result.docs)
            problems.extend(result.problems)
        return docs, problems

    def documents(self) -> dict[str, dict[str, Any]]:
        """Indexed documents' metadata by key (``source:id``)."""
        return dict(self.manifest().get("docs", {}))

    # -- sync -------------------------------------------------------------------------------
    @_locked
    def sync(self, *, rebuild: bool = False, progress: Progress | None = None) -> SyncReport:
        with self._sync_lock():
            # Another process may have synced while we waited for the lock.
            self._forget()
            return self._sync(rebuild=rebuild, progress=progress)

    def _forget(self) -> None:
        self._manifest = None
        self._collection = None
        self._bm25 = None
        self._chunks = None

    def _sync(self, *, rebuild: bool, progress: Progress | None) -> SyncReport:
        try:
            return self._sync_inner(rebuild=rebuild, progress=progress)
        except UsageError:
            raise
        except Exception as exc:
            if self.chroma_url and _is_connection_error(exc):
                raise IndexError_(
                    f"lost the Chroma server at {self.chroma_url} while indexing ({exc}); the "
                    "index on disk is unchanged, so rerun once the server is back",
                    hint=SERVER_HINT,
                ) from None
            raise

    def _check_server(self) -> None:
        """With a server, even a sync with nothing to do proves the server answers."""
        if not self.chroma_url:
            return
        try:
            self._open_collection().count()
        except IndexError_:
            raise
        except Exception as exc:
            raise IndexError_(
                f"the Chroma server at {self.chroma_url} does not answer ({exc})", hint=SERVER_HINT
            ) from None

    def _sync_inner(self, *, rebuild: bool, progress: Progress | None) -> SyncReport:
        started = time.perf_counter()
        previous: tuple[str, str] | None = None
        if rebuild:
            previous = self._start_generation()
        manifest = self.manifest()
        docs, problems = self.load_documents()
        report = SyncReport(problems=problems, corpus_version=corpus_version(docs))
        known: dict[str, Any] = manifest.get("docs", {})
        current = {doc_key(d): d for d in docs}
        changed = [
            d for k, d in current.items() if k not in known or known[k]["hash"] != d.content_hash
        ]
        removed = [k for k in known if k not in current]
        report.unchanged = len(current) - len(changed)
        if not changed and not removed and manifest.get("corpus_version") == report.corpus_version:
            self._check_server()
            report.seconds = time.perf_counter() - started
            return report
        collection = self._open_collection()
        chunks = self._load_chunks()
        for key in removed + [doc_key(d) for d in changed if doc_key(d) in known]:
            ids = known[key]["chunks"]
            if ids:
                collection.delete(ids=ids)
            for cid in ids:
                chunks.pop(cid, None)
        new_chunks: list[Chunk] = []
        for d in changed:
            new_chunks.extend(chunk_doc(d))
        self._embed_and_add(collection, new_chunks, progress, report)
        for c in new_chunks:
            chunks[c.chunk_id] = c
        by_doc: dict[str, list[str]] = {}
        for c in new_chunks:
            by_doc.setdefault(c.doc_key, []).append(c.chunk_id)
        for key in removed:
            known.pop(key, None)
        for d in changed:
            key = doc_key(d)
            report.updated += key in known
            report.added += key not in known
            known[key] = {
                "hash": d.content_hash, "chunks": by_doc.get(key, []), "id": d.id, "title": d.title,
                "org": d.org, "year": d.year, "url": d.url, "also_at": list(d.also_at),
                "source": d.source, "kind": d.kind, "domains": list(d.domains),
            }  # fmt: skip
        report.removed = len(removed)
        report.chunks_embedded = len(new_chunks) - report.chunks_reused
        manifest["docs"] = known
        manifest["corpus_version"] = report.corpus_version
        if self.chroma_url:
            manifest["chroma_url"] = self.chroma_url
        else:
            manifest.pop("chroma_url", None)
        # A copy for older readers; sources.json is where registrations live.
        manifest["sources"] = {k: v for k, v in self.registered().items()}
        manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._write_chunks(chunks)
        self._build_bm25(chunks)
        # The manifest is written last: until then a crash leaves the old, consistent manifest and
        # the next sync redoes the work (chunk ids are deterministic, so upserts are idempotent).
        # For a rebuild this one rename is the switch to the new generation.
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, sort_keys=True))
        if previous is not None:
            self._drop_generation(*previous)
        self._remove_stray_generations()
        report.seconds = time.perf_counter() - started
        return report

    def _start_generation(self) -> tuple[str, str]:
        """Point this object at a fresh, empty generation (the manifest on disk still names the
        current one until the rebuild finishes); returns the current (folder, collection)."""
        old: dict[str, Any] = {}
        with contextlib.suppress(IndexError_):
            old = self._read_manifest()
        old_gen = str(old.get("generation", ""))
        current = (old_gen, f"{COLLECTION}_{old_gen}" if old_gen else COLLECTION)
        self._forget()
        self._manifest = {
            "format": FORMAT,
            "embedder": MODEL_NAME,
            "corpus_version": "",
            "generation": f"g{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}",
            "sources": self.registered() if self.sources_path.is_file() else old.get("sources", {}),
            "docs": {},
        }
        if not self.sources_path.is_file() and self._manifest["sources"]:
            self._write_registered(self._manifest["sources"])
        return current

    def _drop_generation(self, gen: str, collection: str) -> None:
        """Remove a generation we switched away from (best effort: a reader may still hold it)."""
        import shutil

        with contextlib.suppress(Exception):
            client = self._client()
            if any(getattr(c, "name", c) == collection for c in client.list_collections()):
                client.delete_collection(collection)
        if gen:
            shutil.rmtree(self.dir / gen, ignore_errors=True)
        else:  # an index from before generations: its files sit at the top level
            for name in ("bm25", "chunks.jsonl", "chroma", "bm25.tmp"):
                p = self.dir / name
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                elif p.exists():
                    p.unlink()

    def _remove_stray_generations(self) -> None:
        """Generation folders a killed rebuild left behind (never the current one)."""
        import shutil

        current = str(self.manifest().get("generation", ""))
        for child in self.dir.glob("g[0-9]*-*"):
            if child.is_dir() and child.name != current:
                shutil.rmtree(child, ignore_errors=True)

    def _embed_and_add(
        self,
        collection: Any,
        chunks: list[Chunk],
        progress: Progress | None,
        report: SyncReport | None = None,
    ) -> None:
        import numpy as np

        from crafter.retrieval.embedding import shared_embedder
        from crafter.retrieval.shipped_vectors import load_shipped

        shipped, problem = load_shipped(self.vectors_dir) if chunks else (None, None)
        if problem:
            log.warning("%s", problem)
            if report is not None:
                report.notes.append(problem)
        step = 64
        for start in range(0, len(chunks), step):
            part = chunks[start : start + step]
            known = [shipped.get(c.embed_text) if shipped is not None else None for c in part]
            missing = [i for i, v in enumerate(known) if v is None]
            if missing:
                fresh = shared_embedder().embed([part[i].embed_text for i in missing])
                for i, vec in zip(missing, fresh, strict=True):
                    known[i] = vec
            vectors = np.stack([v for v in known if v is not None])
            if report is not None:
                report.chunks_reused += len(part) - len(missing)
            collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=[v.tolist() for v in vectors],
                documents=[c.embed_text for c in part],
                metadatas=[{"doc": c.doc_key, "section": c.section} for c in part],
            )
            if progress:
                progress("embedding", min(start + step, len(chunks)), len(chunks))

    # -- storage ----------------------------------------------------------------------------
    def _client(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if not self.chroma_url and self.exists():
            self.manifest()  # an index built on a server records it; use that server
        if self.chroma_url:
            from urllib.parse import urlsplit

            parts = urlsplit(self.chroma_url)
            if not parts.hostname:
                raise UsageError(
                    f"--chroma-url {self.chroma_url!r} has no host", hint="use http://HOST:PORT"
                )
            return chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or 8000,
                ssl=parts.scheme == "https",
                settings=settings,
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.data_dir / "chroma"), settings=settings)

    def _open_collection(self) -> Any:
        if self._collection is None:
            from crafter.retrieval.chroma_embedding import CrafterMiniLM

            try:
                client = self._client()
                self._collection = client.get_or_create_collection(
                    self.collection_name,
                    embedding_function=CrafterMiniLM(),
                    metadata={"hnsw:space": "cosine"},
                )
            except UsageError:
                raise
            except Exception as exc:
                where = self.chroma_url or str(self.data_dir / "chroma")
                raise IndexError_(
                    f"cannot open the vector store at {where}: {exc}",
                    hint=SERVER_HINT if self.chroma_url else REBUILD_HINT,
                ) from None
        return self._collection

    def _load_chunks(self) -> dict[str, Chunk]:
        if self._chunks is None:
            path = self.data_dir / "chunks.jsonl"
            chunks: dict[str, Chunk] = {}
            if path.is_file():
                try:
                    for line in path.read_text(encoding="utf-8").splitlines():
                        row = json.loads(line)
                        chunks[row["id"]] = Chunk(
                            row["id"], row["doc"], row["section"], row["text"], row["prefix"]
                        )
                except (OSError, ValueError, KeyError) as exc:
                    raise IndexError_(
                        f"the index's chunk store is corrupt ({exc})", hint=REBUILD_HINT
                    ) from None
            self._chunks = chunks
        return self._chunks

    def _write_chunks(self, chunks: dict[str, Chunk]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = (
            json.dumps(
                {
                    "id": c.chunk_id,
                    "doc": c.doc_key,
                    "section": c.section,
                    "text": c.text,
                    "prefix": c.prefix,
                }
            )
            for c in sorted(chunks.values(), key=lambda c: c.chunk_id)
        )
        atomic_write_text(self.data_dir / "chunks.jsonl", "\n".join(lines) + "\n")
        self._chunks = chunks

    def _build_bm25(self, chunks: dict[str, Chunk]) -> None:
        import shutil

        import bm25s

        ordered = sorted(chunks.values(), key=lambda c: c.chunk_id)
        retriever = bm25s.BM25()
        if ordered:
            retriever.index(
                bm25s.tokenize(
                    [c.embed_text for c in ordered], stopwords="en", show_progress=False
                ),
                show_progress=False,
            )
        tmp = self.data_dir / "bm25.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps([c.chunk_id for c in ordered]))
        final = self.data_dir / "bm25"
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        self._bm25 = retriever
        self._bm25_ids = [c.chunk_id for c in ordered]

    def _load_bm25(self) -> None:
        if self._bm25 is not None:
            return
        import bm25s

        folder = self.data_dir / "bm25"
        try:
            self._bm25 = bm25s.BM25.load(str(folder), show_progress=False)
            self._bm25_ids = json.loads((folder / "ids.json").read_text())
        except Exception as exc:
            raise IndexError_(
                f"the keyword index at {folder} is unreadable ({exc})", hint=REBUILD_HINT
            ) from None

    # -- search -----------------------------------------------------------------------------
    @_locked
    def ensure_built(self, progress: Progress | None = None) -> SyncReport | None:
        """Build the index if it does not exist yet (the first search does this)."""
        if self.exists():
            return None
        with self._sync_lock():
            # A build another process started may have finished while we waited for it.
            self._forget()
            if self.exists():
                return None
            return self._sync(rebuild=False, progress=progress)

    def query_vector(self, query: str) -> Any:
        """The query's MiniLM vector, rounded to float16 precision: the same query then gives the
        same vector even when onnxruntime's threaded reductions differ in the last bits."""
        import numpy as np

        from crafter.retrieval.embedding import shared_embedder

        raw = shared_embedder().embed([query])[0]
        return raw.astype(np.float16).astype(np.float32)

    def dense_scores(
        self, query: str, n: int = CANDIDATES, vector: Any = None
    ) -> list[tuple[str, float]]:
        """The ``n`` closest chunks with their cosine similarity, closest first."""
        collection = self._open_collection()
        vec = self.query_vector(query) if vector is None else vector
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
                query_embeddings=[vec.tolist()], n_results=min(n, total), include=["distances"]
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
        return sorted(pairs, key=lambda p: (-round(p[1], 5), p[0]))

    def dense_ranking(self, query: str, n: int = CANDIDATES) -> list[str]:
        return [cid for cid, _ in self.dense_scores(query, n)]

    def keyword_scores(
        self, query: str, n: int = CANDIDATES
    ) -> tuple[list[tuple[str, float]], int]:
        """The ``n`` best chunks by BM25 with their scores, and how many query terms counted."""
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
        by_doc: dict[str, list[str]] = {}
        for cid, chunk in self._load_chunks().items():
            by_doc.setdefault(chunk.doc_key, []).append(cid)
        return by_doc

    def chunk_vectors(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored vectors of every chunk of the documents ``keys``, by chunk id."""
        by_doc = self._chunks_by_doc()
        wanted = [cid for key in keys for cid in sorted(by_doc.get(key, []))]
        if not wanted:
            return {}
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
            chunk = chunks.get(cid) or _problem_chunk(chunks, key)
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
        for chunk in self._load_chunks().values():
            if chunk.doc_key == doc_key_:
                name = chunk.section.removesuffix(" (cont.)")
                out[name] = (out.get(name, "") + " " + chunk.text).strip()
        return out

    # -- user corpora -----------------------------------------------------------------------
    @_locked
    def add_source(self, root: Path, label: str, *, persist: bool = True) -> None:
        """Register a folder of the user's documents; ``persist=False`` only for this object
        (a dry run that must not write)."""
        if not re.match(r"^[a-z0-9][a-z0-9-]{0,39}$", label) or label == "corpus":
            raise UsageError(
                f"bad label {label!r}",
                hint="use lowercase letters, digits and hyphens (not 'corpus')",
            )
        if not root.is_dir():
            raise UsageError(
                f"{root} is not a folder", hint="pass a folder of .md, .txt or .pdf files"
            )
        sources = self.registered()
        sources[label] = {"root": str(root.resolve())}
        if not persist:
            self._pending_sources[label] = sources[label]
            return
        with self._sync_lock():
            current = self.registered()
            current[label] = sources[label]
            self._write_registered(current)

    def remove_source(self, label: str) -> None:
        with self._sync_lock():
            sources = self.registered()
            if label not in sources:
                known = ", ".join(sorted(sources)) or "none"
                raise UsageError(
                    f"no user corpus labelled {label!r}",
                    hint=f"labels: {known} (crafter index --list)",
                )
            del sources[label]
            self._write_registered(sources)


class ScopedIndex:
    """A view of an index limited to some sources (the bundled corpus and a library's own
    folders): it searches and versions only those, so documents another library or
    ``crafter index --add`` registered neither ground its drafts nor change its cache keys."""

    def __init__(self, index: CorpusIndex, sources: Iterable[str]) -> None:
        self.index = index
        self.scope = frozenset(sources)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    def documents(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.index.documents().items() if v.get("source") in self.scope}

    @property
    def corpus_version(self) -> str:
        if not self.index.corpus_version:
            return ""
        return version_of((v["source"], v["id"], v["hash"]) for v in self.documents().values())

    def expected_corpus_version(self) -> str:
        docs, _ = self.index.load_documents()
        return corpus_version(d for d in docs if d.source in self.scope)

    def _outside(self) -> set[str]:
        return {
            key for key, v in self.index.documents().items() if v.get("source") not in self.scope
        }

    def candidates(
        self, query: str, n: int, *, mode: str = "hybrid", skip: Iterable[str] = ()
    ) -> list[tuple[str, float, str]]:
        return self.index.candidates(query, n, mode=mode, skip={*skip, *self._outside()})

    def search(
        self, query: str, k: int = 5, *, exclude: Iterable[str] = (), **kwargs: Any
    ) -> list[SearchHit]:
        return self.index.search(query, k, exclude={*exclude, *self._outside()}, **kwargs)


def require_index(index_dir: Path | None) -> None:
    """An --index folder named on purpose must hold an index: building one there silently (a
    typo'd path) would take minutes and hide the mistake. The default folder is built on first
    use instead, with progress."""
    if index_dir is None:
        return
    if not (Path(index_dir) / "manifest.json").is_file():
        raise UsageError(
            f"no index at {index_dir}",
            hint=f"build one there with `crafter index --index {index_dir}`, or leave out "
            "--index to use the default index",
        )


SERVER_HINT = (
    "start the server (chroma run --path DIR --port PORT) or point crafter at the right one "
    "with --chroma-url, CRAFTER_CHROMA_URL or chroma_url in the config file"
)


def _configured_chroma_url() -> str | None:
    import os

    env = os.environ.get("CRAFTER_CHROMA_URL", "").strip()
    if env:
        return env
    from crafter.config import load_config

    return load_config().chroma_url


def _is_connection_error(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    text = str(exc).lower()
    return bool(
        names
        & {"ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ReadError"}
        or "could not connect" in text
        or "connection refused" in text
    )


def source_label(root: Path) -> str:
    """A stable index label for a folder named in a library's crafter.toml: its name plus a
    short hash of its absolute path, so two libraries' ``docs`` folders do not collide."""
    resolved = root.resolve()
    name = re.sub(r"[^a-z0-9]+", "-", resolved.name.lower()).strip("-")[:30].strip("-") or "docs"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return f"{name}-{digest}"


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the rankings an item appears in."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    # Ties (one item at rank r in one list, another at rank r in the other) are broken by id.
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _problem_chunk(chunks: dict[str, Chunk], key: str) -> Chunk | None:
    mine = sorted((c for c in chunks.values() if c.doc_key == key), key=lambda c: c.chunk_id)
    return next((c for c in mine if c.section == "Problem"), mine[0] if mine else None)


def snippet(text: str, limit: int = 320) -> str:
    body = " ".join(text.split())
    return body if len(body) <= limit else body[: limit - 3].rsplit(" ", 1)[0] + "..."
