"""User corpora: any folder of markdown, text or PDF files, indexed beside the built-in corpus.

Files are read with llama-index's SimpleDirectoryReader (PDF pages through pypdf) and become
documents whose id is ``<label>-<path slug>``; their URL is the file's path.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from crafter.domain.text import slugify
from crafter.retrieval.corpus import (
    CorpusDoc,
    CorpusProblem,
    LoadResult,
    content_hash,
    split_sections,
)

EXTENSIONS = (".md", ".markdown", ".txt", ".pdf")


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return "\n\n".join(
        f"## Page {i}\n{page.extract_text() or ''}" for i, page in enumerate(reader.pages, 1)
    )


def _make_pdf_reader() -> Any:
    from llama_index.core import Document
    from llama_index.core.readers.base import BaseReader

    class PyPdfReader(BaseReader):
        def load_data(
            self, file: Path, extra_info: dict[str, Any] | None = None, **_: Any
        ) -> list[Document]:
            return [Document(text=_pdf_text(Path(file)), metadata=extra_info or {})]

    return PyPdfReader()


def load_user_corpus(root: Path, label: str) -> LoadResult:
    result = LoadResult()
    if not root.is_dir():
        result.problems.append(
            CorpusProblem(
                root,
                1,
                f"user corpus '{label}' folder is gone; remove it with crafter index --remove {label}",
            )
        )
        return result
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        return result
    from llama_index.core import SimpleDirectoryReader

    for path in files:
        try:
            reader = SimpleDirectoryReader(
                input_files=[str(path)],
                file_extractor={".pdf": _make_pdf_reader()},
                raise_on_error=True,
            )
            text = "\n\n".join(d.get_content() for d in reader.load_data())
        except Exception as exc:
            result.problems.append(CorpusProblem(path, 1, f"cannot read: {exc}"))
            continue
        if not text.strip():
            result.problems.append(
                CorpusProblem(path, 1, "no text found (a scanned PDF needs OCR first)")
            )
            continue
        rel = path.relative_to(root)
        title = _title(text, path)
        sections = split_sections(text)
        if not sections:
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
            sections = [("Text", "\n\n".join(paragraphs), 1)]
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        result.docs.append(
            CorpusDoc(
                id=f"{label}-{slugify(str(rel.with_suffix('')), max_words=12, max_len=80)}",
                title=title,
                org=label,
                year=mtime.year,
                url=path.resolve().as_uri(),
                kind="doc",
                domains=(),
                source_list=(label,),
                sections=tuple((h, t) for h, t, _ in sections if t),
                path=str(path),
                source=label,
                content_hash=content_hash(text),
            )
        )
    return result


def _title(text: str, path: Path) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()[:200]
    return path.stem.replace("-", " ").replace("_", " ")[:200]


def is_plain_folder(root: Path) -> bool:
    """True when ``root`` holds documents but none in the reference-corpus format (no file starts
    with front matter and there is no orgs.yaml): a folder for `crafter index --add`, whose files
    are read as they are."""
    if (root / "orgs.yaml").is_file():
        return False
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS]
    for path in files:
        if path.suffix.lower() == ".md":
            try:
                with path.open("rb") as fh:
                    if fh.read(3) == b"---":
                        return False
            except OSError:
                continue
    return bool(files)
