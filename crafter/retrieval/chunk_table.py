"""The chunk table: which document and section each chunk belongs to, read without parsing every
chunk's text.

A search needs every chunk's document and section (to map ranked chunks to documents) but the
text of only the few it shows. ``chunks.jsonl`` holds all of it, one JSON line per chunk (5 MB for
the bundled corpus; parsing all 7,349 lines took about 60 ms of every search). Beside it,
``chunk_table.json`` holds the ids, document keys and sections as columns, and each line's byte
offset; a chunk's line is parsed only when it is looked up. The table records the size and
sha256 of the chunks file it describes, so a table that does not match its chunks file is never
used (the chunks file is then parsed whole, as before the table existed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from crafter.retrieval.chunks import Chunk

TABLE = "chunk_table.json"
FORMAT = 1


def _chunk_from_row(row: dict[str, str]) -> Chunk:
    return Chunk(row["id"], row["doc"], row["section"], row["text"], row["prefix"])


def table_text(data: bytes, chunks: list[Chunk]) -> str:
    """The table describing ``data``, the bytes of chunks.jsonl written for ``chunks`` (one line
    each, in order)."""
    offsets: list[int] = []
    at = 0
    for _ in chunks:
        offsets.append(at)
        at = data.index(b"\n", at) + 1
    return json.dumps(
        {
            "format": FORMAT,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "ids": [c.chunk_id for c in chunks],
            "docs": [c.doc_key for c in chunks],
            "sections": [c.section for c in chunks],
            "offsets": offsets,
        }
    )


class ChunkTable(Mapping[str, Chunk]):
    """chunk id -> Chunk, each parsed from its line on first use."""

    def __init__(
        self, data: bytes, ids: list[str], docs: list[str], sections: list[str], offsets: list[int]
    ) -> None:
        self._data = data
        self._row = {cid: i for i, cid in enumerate(ids)}
        self._ids = ids
        self._docs = docs
        self._sections = sections
        self._offsets = offsets
        self._parsed: dict[str, Chunk] = {}

    def __getitem__(self, cid: str) -> Chunk:
        hit = self._parsed.get(cid)
        if hit is not None:
            return hit
        i = self._row[cid]
        start = self._offsets[i]
        end = self._data.index(b"\n", start)
        row = json.loads(self._data[start:end])
        if row.get("id") != cid:
            raise ValueError(f"chunk table row {i} does not hold chunk {cid}")
        chunk = _chunk_from_row(row)
        self._parsed[cid] = chunk
        return chunk

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, cid: object) -> bool:
        return cid in self._row

    def doc_of(self, cid: str) -> str:
        return self._docs[self._row[cid]]

    def section_of(self, cid: str) -> str:
        return self._sections[self._row[cid]]

    def by_doc(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for cid, doc in zip(self._ids, self._docs, strict=True):
            out.setdefault(doc, []).append(cid)
        return out


def read_table(folder: Path) -> ChunkTable | None:
    """The table of ``folder``'s chunks.jsonl, or None when there is none or it does not match
    the chunks file byte for byte (then the caller parses the file whole)."""
    path = folder / TABLE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        data = (folder / "chunks.jsonl").read_bytes()
    except (OSError, ValueError):
        return None
    try:
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta["bytes"] != len(data):
            return None
        if meta["sha256"] != hashlib.sha256(data).hexdigest():
            return None
        ids, docs, sections, offsets = (
            meta["ids"], meta["docs"], meta["sections"], meta["offsets"]
        )  # fmt: skip
        if not (len(ids) == len(docs) == len(sections) == len(offsets)):
            return None
        if any(not isinstance(o, int) or not 0 <= o < len(data) for o in offsets):
            return None
    except (KeyError, TypeError):
        return None
    return ChunkTable(data, ids, docs, sections, offsets)
