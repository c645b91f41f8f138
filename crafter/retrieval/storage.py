"""The files of one index generation besides Chroma: the chunk table (chunks.jsonl), the keyword
index (bm25/) and the memory-mapped copy of the vectors (dense.npy, see flat.py). Mixed into
CorpusIndex, which owns the manifest, sync and locking."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crafter.retrieval.chunks import Chunk
from crafter.retrieval.search import REBUILD_HINT, IndexError_

log = logging.getLogger("crafter.retrieval")


def atomic_write_text(path: Path, text: str) -> None:
    # Imported on use: crafter.domain loads pydantic models that a search never needs.
    from crafter.domain.atomic import atomic_write_text as write

    write(path, text)


class StorageMixin:
    """Chunks, BM25 and the flat vectors of the current generation (``data_dir``)."""

    chroma_url: str | None
    _chunks: Mapping[str, Chunk] | None
    _bm25: Any
    _bm25_ids: list[str]
    _keyword: Any
    _flat: Any
    _fresh: dict[str, None]
    _by_doc: Any

    @property
    def data_dir(self) -> Path:
        raise NotImplementedError

    def _open_collection(self) -> Any:
        raise NotImplementedError

    def _load_chunks(self) -> Mapping[str, Chunk]:
        """Every chunk by id: the lazy table (chunk_table.py) when it matches chunks.jsonl,
        else the file parsed whole. Read-only; a sync copies it into a dict to change it."""
        if self._chunks is None:
            from crafter.retrieval.chunk_table import read_table

            table = read_table(self.data_dir)
            self._chunks = table if table is not None else self._parse_chunks()
        return self._chunks

    def _parse_chunks(self) -> dict[str, Chunk]:
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
        return chunks

    def _write_chunks(self, chunks: Mapping[str, Chunk]) -> None:
        from crafter.retrieval.chunk_table import TABLE, table_text

        self.data_dir.mkdir(parents=True, exist_ok=True)
        ordered = sorted(chunks.values(), key=lambda c: c.chunk_id)
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
            for c in ordered
        )
        text = "\n".join(lines) + "\n" if ordered else ""
        # The table after the file it describes: a table left from an earlier write no longer
        # matches the file's digest and is ignored.
        atomic_write_text(self.data_dir / "chunks.jsonl", text)
        atomic_write_text(self.data_dir / TABLE, table_text(text.encode("utf-8"), ordered))
        self._chunks = dict(chunks)
        self._by_doc = None

    def _write_dense(self, chunks: Mapping[str, Chunk]) -> None:
        """The memory-mapped copy of every chunk's vector (see flat.py) that searches read."""
        from crafter.retrieval.flat import read_flat, write_flat

        known = read_flat(self.data_dir)
        # Rows are what Chroma returns (it may store a vector a last bit apart from the one
        # given), so relevance features match the Chroma path exactly: rows this sync upserted
        # are read back from it, the rest reused from the previous copy.
        vectors = {cid: None if cid in self._fresh else known.get(cid) for cid in chunks}
        missing = [cid for cid, vec in vectors.items() if vec is None]
        for start in range(0, len(missing), 1000):
            got = self._open_collection().get(
                ids=missing[start : start + 1000], include=["embeddings"]
            )
            vectors.update(zip(got["ids"], got["embeddings"], strict=True))
        absent = [cid for cid, vec in vectors.items() if vec is None]
        if absent:  # the vector store lacks some chunks: leave searching to it
            log.warning("%d chunks have no stored vector; not writing the flat copy", len(absent))
            return
        write_flat(self.data_dir, vectors)
        self._fresh = {}
        self._flat = None

    def _flat_dense(self) -> Any:
        """The flat copy of a local index's vectors, or None (a server, or no valid copy)."""
        folder = self.data_dir  # reads the manifest, which names the server an index was built on
        if self.chroma_url:
            return None
        if self._flat is None:
            from crafter.retrieval.flat import load_flat

            found = load_flat(folder, self._load_chunks())
            self._flat = found if found is not None else False
        return self._flat or None

    def _drop_dense(self) -> None:
        """A sync through a server leaves no local copy behind to go stale."""
        from crafter.retrieval.flat import ID_LIST, IDS, VECTORS

        for name in (IDS, VECTORS, ID_LIST):
            (self.data_dir / name).unlink(missing_ok=True)
        self._flat = None

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
        from bm25s.tokenization import _infer_stopwords

        from crafter.retrieval.keyword import QUERY_FILE, query_settings

        # How the chunks were tokenised (bm25s.tokenize's defaults with English stopwords), so
        # a search tokenises its query alike without importing bm25s (see keyword.py).
        (tmp / QUERY_FILE).write_text(
            query_settings(list(_infer_stopwords("en")), r"(?u)\b\w\w+\b"), encoding="utf-8"
        )
        final = self.data_dir / "bm25"
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        self._bm25 = retriever
        self._bm25_ids = [c.chunk_id for c in ordered]
        self._keyword = None

    def _keyword_index(self) -> Any:
        """The saved keyword index read for numpy scoring (keyword.py), or None when this
        index was built before ``query.json`` existed: bm25s reads it then (``_load_bm25``)."""
        if self._keyword is None:
            from crafter.retrieval.keyword import load_keyword_index

            folder = self.data_dir / "bm25"
            try:
                found = load_keyword_index(folder)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise IndexError_(
                    f"the keyword index at {folder} is unreadable ({exc})", hint=REBUILD_HINT
                ) from None
            self._keyword = found if found is not None else False
        return self._keyword or None

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
