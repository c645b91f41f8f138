"""The reference corpus: markdown write-ups with front matter. Pure: no index, no heavy imports."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KINDS = ("blog", "paper", "talk")
REQUIRED_KEYS = ("id", "title", "org", "year", "url", "kind", "domains", "source_list")
OPTIONAL_KEYS = ("also_at", "checked")
# How a document's facts were checked (docs/corpus-format.md): against the write-up's text, an
# abstract or partial copy only, nothing readable, or not yet re-checked since it was written.
CHECKED = ("source", "abstract", "none", "unaudited")
# What the write-up states (may be shown as "Seen at <org>") is kept apart from the decisions we
# infer from it (attributed to nobody).
REPORTED = "Reported"
DESIGN_QUESTIONS = "Design questions"
SECTIONS = ("Problem", "Approach", "Figures", REPORTED, DESIGN_QUESTIONS)
OPTIONAL_SECTIONS = ("Since then",)
ORGS_FILE = "orgs.yaml"
_ID_YEAR = re.compile(r"-((?:19|20)\d\d)-")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")  # a scenario Ident: notes and citations carry it
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FRONT = re.compile(r"^---\n(.*?)\n---\n", re.S)
# libyaml's loader is ~10x faster; the corpus has hundreds of files to parse.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HEADING = re.compile(r"^## (.+?)\s*$", re.M)


@dataclass(frozen=True)
class CorpusProblem:
    path: Path
    line: int
    message: str

    def render(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class CorpusDoc:
    """One write-up. ``source`` is ``corpus`` for the built-in corpus or a user corpus label."""

    id: str
    title: str
    org: str
    year: int
    url: str
    kind: str
    domains: tuple[str, ...]
    source_list: tuple[str, ...]
    sections: tuple[tuple[str, str], ...]
    path: str
    source: str = "corpus"
    also_at: tuple[str, ...] = ()
    content_hash: str = ""
    checked: str = "unaudited"

    def section(self, name: str) -> str:
        return next((body for head, body in self.sections if head == name), "")

    @property
    def reported(self) -> list[str]:
        """The bullets the write-up itself states."""
        return bullets(self.section(REPORTED))

    @property
    def design_questions(self) -> list[str]:
        """The decisions we infer from the write-up (nobody's claim)."""
        return bullets(self.section(DESIGN_QUESTIONS))

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.also_at)


def bullets(text: str) -> list[str]:
    """The ``- `` bullets of a section, each joined onto one line."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(("- ", "* ")):
            out.append(line[2:].strip())
        elif out and line.startswith("  ") and line.strip():
            out[-1] += " " + line.strip()
    return [b for b in out if b]


@dataclass
class LoadResult:
    docs: list[CorpusDoc] = field(default_factory=list)
    problems: list[CorpusProblem] = field(default_factory=list)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def split_sections(body: str) -> list[tuple[str, str, int]]:
    """(heading, text, 1-based line offset within body) for each ``## `` section."""
    heads = list(_HEADING.finditer(body))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        out.append(
            (
                head.group(1).strip(),
                body[head.end() : end].strip(),
                body.count("\n", 0, head.start()) + 1,
            )
        )
    return out


def _key_line(front: str, key: str) -> int:
    m = re.search(rf"^{re.escape(key)}:", front, re.M)
    return front.count("\n", 0, m.start()) + 2 if m else 2


@dataclass(frozen=True)
class OrgTable:
    """One spelling per organisation: canonical names, and other spellings mapped to them."""

    canonical: frozenset[str]
    aliases: dict[str, str]

    def problem(self, org: str) -> str | None:
        if org in self.canonical:
            return None
        if org in self.aliases:
            return f"org {org!r} is spelled {self.aliases[org]!r} in this corpus ({ORGS_FILE})"
        folded = _fold(org)
        near = next((c for c in sorted(self.canonical) if _fold(c) == folded), None)
        if near is not None:
            return f"org {org!r} is spelled {near!r} in this corpus ({ORGS_FILE})"
        return f"org {org!r} is not in {ORGS_FILE}: add it there (with any other spellings)"


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def load_org_table(root: Path) -> tuple[OrgTable | None, list[CorpusProblem]]:
    """The corpus's ``orgs.yaml`` (``Canonical: [alias, ...]``), or None when it has none."""
    path = Path(root) / ORGS_FILE
    if not path.is_file():
        return None, []
    try:
        raw: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [CorpusProblem(path, 1, f"cannot read the organisation table: {exc}")]
    if not isinstance(raw, dict):
        return None, [CorpusProblem(path, 1, "must map each canonical name to a list of aliases")]
    aliases: dict[str, str] = {}
    for name, others in raw.items():
        for other in others or []:
            aliases[str(other)] = str(name)
    return OrgTable(frozenset(str(k) for k in raw), aliases), []


def parse_doc(
    path: Path,
    text: str,
    *,
    source: str = "corpus",
    orgs: OrgTable | None = None,
) -> tuple[CorpusDoc | None, list[CorpusProblem]]:
    """Parse and validate one corpus file; problems carry file:line."""
    problems: list[CorpusProblem] = []

    def bad(line: int, msg: str) -> None:
        problems.append(CorpusProblem(path, line, msg))

    m = _FRONT.match(text)
    if not m:
        bad(1, "no front matter: the file must start with '---', YAML keys, then '---'")
        return None, problems
    front = m.group(1)
    from crafter.retrieval import front_cache

    try:
        found, meta = front_cache.get(front)
        if not found:
            meta = yaml.load(front, Loader=_Loader)
            front_cache.put(front, meta)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        bad(
            (mark.line + 2) if mark else 2,
            f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}",
        )
        return None, problems
    if not isinstance(meta, dict):
        bad(2, "front matter must be a mapping of keys")
        return None, problems
    for key in REQUIRED_KEYS:
        if key not in meta:
            bad(2, f"missing front matter key '{key}'")
    for key in meta:
        if key not in REQUIRED_KEYS and key not in OPTIONAL_KEYS:
            bad(_key_line(front, str(key)), f"unknown front matter key '{key}'")
    if problems:
        return None, problems
    doc_id = str(meta["id"])
    if not _ID.match(doc_id):
        bad(
            _key_line(front, "id"),
            f"id {doc_id!r} must be 3 to 80 lowercase letters, digits and hyphens",
        )
    if path.stem != doc_id:
        bad(_key_line(front, "id"), f"id {doc_id!r} does not match the file name {path.name!r}")
    id_year = _ID_YEAR.search(doc_id)
    if (
        id_year is not None
        and isinstance(meta["year"], int)
        and int(id_year.group(1)) != meta["year"]
    ):
        bad(
            _key_line(front, "id"),
            f"id {doc_id!r} carries the year {id_year.group(1)} but year is {meta['year']}: "
            "rename the file and id, or fix the year",
        )
    if orgs is not None:
        org_problem = orgs.problem(str(meta["org"]))
        if org_problem:
            bad(_key_line(front, "org"), org_problem)
    checked = meta.get("checked", "unaudited")
    if checked not in CHECKED:
        bad(
            _key_line(front, "checked"),
            f"checked must be one of {', '.join(CHECKED)}, got {checked!r}",
        )
    if not isinstance(meta["title"], str) or not meta["title"].strip():
        bad(_key_line(front, "title"), "title must be a non-empty string")
    year = meta["year"]
    if not isinstance(year, int) or not 1950 <= year <= dt.date.today().year + 1:
        bad(_key_line(front, "year"), f"year must be a four-digit year, got {year!r}")
    url = meta["url"]
    if not isinstance(url, str) or not re.match(r"^https?://\S+$", url):
        bad(_key_line(front, "url"), f"url must be an http(s) URL, got {url!r}")
    if meta["kind"] not in KINDS:
        bad(
            _key_line(front, "kind"),
            f"kind must be one of {', '.join(KINDS)}, got {meta['kind']!r}",
        )
    for key in ("domains", "source_list"):
        value = meta[key]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and _TAG.match(v) for v in value)
        ):
            bad(
                _key_line(front, key),
                f"{key} must be a non-empty list of lowercase-hyphenated tags",
            )
    also_at = meta.get("also_at", [])
    if not isinstance(also_at, list) or not all(
        isinstance(u, str) and u.startswith("http") for u in also_at
    ):
        bad(_key_line(front, "also_at"), "also_at must be a list of URLs")
    body = text[m.end() :]
    body_line = text.count("\n", 0, m.end()) + 1
    sections = split_sections(body)
    names = [name for name, _, _ in sections]
    expected = list(SECTIONS)
    present = [n for n in names if n in SECTIONS]
    for name in SECTIONS:
        if name not in names:
            bad(body_line, f"missing section '## {name}'")
    if present != [n for n in expected if n in present]:
        bad(body_line, f"sections out of order: expected {', '.join(SECTIONS)}")
    for name, content, offset in sections:
        line = body_line + offset - 1
        if name not in SECTIONS and name not in OPTIONAL_SECTIONS:
            bad(
                line,
                f"unknown section '## {name}' (allowed: {', '.join(SECTIONS + OPTIONAL_SECTIONS)})",
            )
        elif not content:
            bad(line, f"section '## {name}' is empty")
        elif name in (REPORTED, DESIGN_QUESTIONS) and not bullets(content):
            bad(line, f"section '## {name}' needs '- ' bullets, one per item")
    if problems:
        return None, problems
    doc = CorpusDoc(
        id=doc_id,
        title=meta["title"].strip(),
        org=str(meta["org"]),
        year=year,
        url=url,
        kind=meta["kind"],
        domains=tuple(meta["domains"]),
        source_list=tuple(meta["source_list"]),
        sections=tuple((n, c) for n, c, _ in sections),
        path=str(path),
        source=source,
        also_at=tuple(also_at),
        content_hash=content_hash(text),
        checked=str(checked),
    )
    return doc, problems


def iter_corpus_files(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.md") if p.name.lower() != "readme.md")


def load_corpus(root: Path, *, source: str = "corpus") -> LoadResult:
    """Load every document under ``root``; bad files are reported and skipped, the rest load."""
    result = LoadResult()
    orgs, org_problems = load_org_table(root)
    result.problems.extend(org_problems)
    for path in iter_corpus_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            result.problems.append(CorpusProblem(path, 1, f"cannot read as UTF-8 text: {exc}"))
            continue
        doc, problems = parse_doc(path, text, source=source, orgs=orgs)
        result.problems.extend(problems)
        if doc is not None:
            result.docs.append(doc)
    result.problems.extend(duplicate_problems(result.docs))
    from crafter.retrieval.front_cache import flush

    flush()
    return result


_TRACKING = re.compile(r"^(utm_.*|gi|source|ref|sk|t)$")


def normalize_url(url: str) -> str:
    """Compare URLs loosely: scheme, www., a trailing slash or .html and tracking parameters
    (utm_*, gi, source, t...) do not count; the rest of the query does (YouTube's v=)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/").removesuffix(".html")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)))
    return f"{host}{path}" + (f"?{query}" if query else "")


def duplicate_problems(docs: Iterable[CorpusDoc]) -> list[CorpusProblem]:
    problems = []
    seen_ids: dict[str, CorpusDoc] = {}
    seen_urls: dict[str, CorpusDoc] = {}
    for doc in docs:
        if doc.id in seen_ids:
            problems.append(
                CorpusProblem(
                    Path(doc.path), 2, f"duplicate id {doc.id!r} (also in {seen_ids[doc.id].path})"
                )
            )
        seen_ids.setdefault(doc.id, doc)
        for url in doc.urls:
            key = normalize_url(url)
            other = seen_urls.get(key)
            if other is not None and other.id != doc.id:
                problems.append(
                    CorpusProblem(
                        Path(doc.path),
                        2,
                        f"duplicate url {url} (also in {other.path}); merge them with also_at",
                    )
                )
            seen_urls.setdefault(key, doc)
    return problems


def corpus_version(docs: Iterable[CorpusDoc]) -> str:
    """A short hash of every document's id and content: changes whenever the corpus does."""
    return version_of((d.source, d.id, d.content_hash) for d in docs)


def version_of(entries: Iterable[tuple[str, str, str]]) -> str:
    """The corpus version of (source, id, content hash) entries, in any order."""
    digest = hashlib.sha256()
    for source, doc_id, chash in sorted(entries):
        digest.update(f"{source}\0{doc_id}\0{chash}\n".encode())
    return digest.hexdigest()[:12]
