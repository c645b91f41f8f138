"""Chunking: one chunk per markdown section (llama-index's MarkdownNodeParser), with its doc id."""

from __future__ import annotations

from dataclasses import dataclass

from crafter.retrieval.corpus import CorpusDoc

MAX_CHUNK_CHARS = 2400
# The corpus's marker for a write-up with no figures we could stand behind: nothing to retrieve.
NO_FIGURES = "No figures recorded here"


@dataclass(frozen=True)
class Chunk:
    """A piece of one document. ``doc_key`` (``source:id``) travels with it into every prompt."""

    chunk_id: str
    doc_key: str
    section: str
    text: str
    prefix: str = ""

    @property
    def embed_text(self) -> str:
        """What is embedded and keyword-indexed: the title line gives the section its context."""
        return f"{self.prefix}{self.text}"


def doc_key(doc: CorpusDoc) -> str:
    return f"{doc.source}:{doc.id}"


def chunk_doc(doc: CorpusDoc) -> list[Chunk]:
    """Split ``doc`` by section; every chunk starts with the title so it stands on its own."""
    from llama_index.core import Document
    from llama_index.core.node_parser import MarkdownNodeParser

    body = "\n\n".join(f"## {head}\n{text}" for head, text in doc.sections)
    nodes = MarkdownNodeParser().get_nodes_from_documents([Document(text=body)])
    key = doc_key(doc)
    chunks: list[Chunk] = []
    header = f"{doc.title} ({doc.org}, {doc.year})"
    for node in nodes:
        text = node.get_content().strip()
        if not text:
            continue
        first, _, rest = text.partition("\n")
        section = first.lstrip("# ").strip() if first.startswith("#") else ""
        content = rest.strip() if section else text
        if not content or content.lstrip("- ").startswith(NO_FIGURES):
            continue
        for part_no, start in enumerate(range(0, len(content), MAX_CHUNK_CHARS)):
            part = content[start : start + MAX_CHUNK_CHARS]
            chunks.append(
                Chunk(
                    chunk_id=f"{key}#{len(chunks)}",
                    doc_key=key,
                    section=section if part_no == 0 else f"{section} (cont.)",
                    text=part,
                    prefix=f"{header}. {section}: " if section else f"{header}. ",
                )
            )
    return chunks
