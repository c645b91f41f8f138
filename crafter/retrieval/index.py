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
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from crafter.errors import UsageError
from crafter.retrieval.chunks import Chunk, chunk_doc, doc_key
from crafter.retrieval.corpus import (
    CorpusDoc,
    CorpusProblem,
    corpus_version,
    load_corpus,
)
from crafter.retrieval.embedding import MODEL_NAME
from crafter.retrieval.search import (
    REBUILD_HINT,
    SERVER_HINT,
    IndexError_,
    SearchMixin,
    _locked,
)
from crafter.retrieval.storage import StorageMixin, atomic_write_text

log = logging.getLogger("crafter.retrieval")

FORMAT = 1
COLLECTION = "crafter_chunks"

Progress = Callable[[str, int, int], None]
F = TypeVar("F", bound=Callable[..., Any])


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


class CorpusIndex(StorageMixin, SearchMixin):
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
        # The saved keyword index read for numpy scoring (keyword.py): None not read, False
        # absent (an index built before query.json; bm25s reads it then).
        self._keyword: Any = None
        self._chunks: Mapping[str, Chunk] | None = None
        self._manifest: dict[str, Any] | None = None
        # The memory-mapped copy of the vectors (flat.py): None not looked for, False absent.
        self._flat: Any = None
        # Chunks upserted by the current sync (their rows in that copy are read back from Chroma).
        self._fresh: dict[str, None] = {}
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
        self._keyword = None
        self._chunks = None
        self._flat = None
        self._fresh = {}

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
            if not self.chroma_url and self.exists() and self._flat_dense() is None:
                self._write_dense(self._load_chunks())  # an index from before the flat copy
            report.seconds = time.perf_counter() - started
            return report
        collection = self._open_collection()
        chunks = dict(self._load_chunks())  # a copy to change; the table is read-only
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
        if not self.chroma_url:
            self._write_dense(chunks)
        else:
            self._drop_dense()
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
            self._fresh.update((c.chunk_id, None) for c in part)  # Chroma's copy is read back
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
