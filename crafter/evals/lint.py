"""Run every deterministic check over files, folders, stdin or in-memory text and scenarios."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from crafter.domain import Scenario, ScenarioFileError
from crafter.domain.yamlio import parse_scenario_with_lines
from crafter.evals import (
    buzzword,
    coverage_check,
    field_checks,
    pacing,
    reconcile,
    scenario_checks,
    text_checks,
)
from crafter.evals.document import LintDoc, from_scenario, from_text
from crafter.evals.findings import SEVERITY_RANK, FileResult, Finding, Severity
from crafter.evals.knowledge import knowledge

_NOT_SCENARIO = re.compile(r"^(schema_version|hooks|premise):", re.M)
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".text")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class LintReport:
    as_of: dt.date
    results: list[FileResult] = field(default_factory=list)
    input_errors: int = 0
    # The text each result was linted from (for judges), by path.
    sources: dict[str, str] = field(default_factory=dict)

    def count(self, severity: Severity) -> int:
        return sum(r.count(severity) for r in self.results)

    def fails(self, fail_on: str) -> bool:
        if fail_on == "never":
            return False
        floor = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[f.severity] >= floor for r in self.results for f in r.findings)

    def as_json(self) -> dict[str, object]:
        return {
            "version": 1,
            "as_of": self.as_of.isoformat(),
            "results": [r.as_json() for r in self.results],
            "summary": {
                "files": len(self.results),
                "errors": self.count("error"),
                "warnings": self.count("warning"),
            },
        }


@cache
def corpus_titles() -> dict[str, str]:
    """Normalised URL -> title of each document of the built-in corpus and registered corpora."""
    from crafter.retrieval.corpus import load_corpus, normalize_url
    from crafter.retrieval.index import builtin_corpus_dir, default_index_dir

    titles = {
        normalize_url(u): d.title for d in load_corpus(builtin_corpus_dir()).docs for u in d.urls
    }
    manifest = default_index_dir() / "manifest.json"
    if manifest.is_file():
        import json

        try:
            docs = json.loads(manifest.read_text()).get("docs", {})
            for m in docs.values():
                titles.setdefault(normalize_url(m["url"]), str(m["title"]))
        except (ValueError, OSError, KeyError, AttributeError):
            pass
    return titles


@cache
def corpus_urls() -> frozenset[str]:
    """Normalised URLs of the built-in corpus and any user corpora registered in the default index."""
    from crafter.retrieval.corpus import normalize_url
    from crafter.retrieval.index import builtin_corpus_dir, default_index_dir

    urls = set(_builtin_urls(builtin_corpus_dir()))
    manifest = default_index_dir() / "manifest.json"
    if manifest.is_file():
        import json

        try:
            docs = json.loads(manifest.read_text()).get("docs", {})
            urls.update(normalize_url(m["url"]) for m in docs.values())
        except (ValueError, OSError, KeyError, AttributeError):
            pass  # an unreadable index just means fewer known URLs; lint still runs
    return frozenset(urls)


def _builtin_urls(root: Path) -> list[str]:
    """The corpus's normalised URLs, kept in the cache folder under a digest of every file's
    name, size and modification time (reading and splitting 1,969 write-ups took 0.4-0.7 s of
    every draft; listing them takes milliseconds). A missing or unreadable cache is rebuilt."""
    import json
    import os

    from crafter.retrieval.corpus import iter_corpus_files, load_corpus, normalize_url

    digest = hashlib.sha256()
    for path in sorted(iter_corpus_files(root)):
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    cache: Path | None = None
    if os.environ.get("CRAFTER_FRONT_CACHE", "1") != "0":
        from crafter.resources import cache_root

        cache = cache_root() / "corpus" / f"urls-{digest.hexdigest()[:24]}.json"
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(cached, list) and all(isinstance(u, str) for u in cached):
                return cached
        except (OSError, ValueError):
            pass
    urls = sorted({normalize_url(u) for d in load_corpus(root).docs for u in d.urls})
    if cache is not None:
        from crafter.resources import store_cached

        store_cached(cache, json.dumps(urls).encode("utf-8"))
    return urls


def check_doc(
    doc: LintDoc,
    as_of: dt.date,
    known_urls: Iterable[str] | None = None,
    slot: int | None = None,
) -> FileResult:
    """Run every check that applies to ``doc``; ``slot`` is the interview length in minutes
    (default in evals/knowledge/pacing.yaml)."""
    k = knowledge()
    result = FileResult(doc.path, doc.kind)
    found, scores = text_checks.vagueness(doc, k)
    result.findings += found
    result.scores.update(scores)
    result.findings += field_checks.staleness(doc, k, as_of)
    result.findings += field_checks.rederive(doc, k)
    for check in (text_checks.ml_clothing, coverage_check.coverage, buzzword.buzzword):
        found, scores = check(doc, k)
        result.findings += found
        result.scores.update(scores)
    from crafter.evals.semantic import documents

    raised = {f.check for f in result.findings if f.severity in ("error", "warning")}
    result.findings += documents.judge(doc, raised)
    narrowed = bool(result.scores.get("coverage_narrowed"))
    result.findings = reconcile.coverage_beside_no_ml(result.findings, narrowed)
    other_round = reconcile.says_other_round(doc, k)
    result.findings = reconcile.rederive_in_context(result.findings, doc, k, other_round)
    # Coverage already looked for an open scoping note ("scoped_elsewhere" in its scores).
    scoped = result.scores.get("scoped_elsewhere", 0.0) > 0
    result.findings += reconcile.one_signal_rubric(result.findings, doc, scoped)
    if doc.scenario is not None:
        result.findings += scenario_checks.answerability(doc.scenario)
        urls = (
            frozenset(known_urls)
            if known_urls is not None
            else (corpus_urls() if doc.scenario.references else frozenset())
        )
        titles = corpus_titles() if known_urls is None and doc.scenario.references else {}
        result.findings += scenario_checks.grounding(doc.scenario, urls, titles)
        result.findings += pacing.pacing(doc.scenario, slot)
        result.findings += pacing.trap_quality(doc.scenario)
        from crafter.evals import degenerate

        result.findings += degenerate.degenerate(doc.scenario)
        result.findings += degenerate.rubric(doc.scenario)
    result.findings = reconcile.fit_fixes(result.findings, other_round)
    from crafter.evals import exposure

    if not exposure.defer(result, doc):  # in a batch of files, matched when the batch ends
        result.findings += exposure.check(doc)
    result.probe = exposure.doc_probe(doc) if doc.scenario is not None else ""
    return result


def lint_scenario(
    s: Scenario,
    as_of: dt.date,
    path: str = "<scenario>",
    known_urls: Iterable[str] | None = None,
    slot: int | None = None,
) -> FileResult:
    return check_doc(from_scenario(path, s), as_of, known_urls, slot)


def lint_text(
    text: str,
    as_of: dt.date,
    path: str = "<text>",
    known_urls: Iterable[str] | None = None,
    slot: int | None = None,
) -> FileResult:
    """Lint raw text: a scenario if it is scenario YAML, otherwise a question in prose."""
    stripped = text.lstrip()
    if stripped.startswith(("schema_version", "---\nschema_version")) or path.endswith(
        YAML_SUFFIXES
    ):
        try:
            scenario, lines = parse_scenario_with_lines(text, path)
        except ScenarioFileError as exc:
            return _input_error(
                path,
                "scenario",
                [f"{p.location or 'file'}: {p.message}" for p in exc.problems],
                exc,
            )
        result = lint_scenario(scenario, as_of, path, known_urls, slot)
        _add_lines(result, lines)
        from crafter.evals import exposure

        exposure.locate(result, lines.get(("title",)))
        return result
    if not text.strip():
        return _input_error(path, "text", ["the file is empty"])
    if not _looks_like_a_question(text):
        result = FileResult(path, "text")
        result.findings.append(
            Finding(
                "input", "info",
                "does not look like an interview question or scenario (no design, product, data "
                "or ML wording): nothing was checked",
                suggestion="point crafter lint at question files (.md, .txt) or scenario YAML",
            )
        )  # fmt: skip
        return result
    return check_doc(from_text(path, text), as_of, known_urls, slot)


def _is_word(token: str) -> bool:
    return token.strip(".,;:!?()[]'\"*_`").isalpha()


_CHAT_HEADER = re.compile(
    r"[ \t]*[*_]{0,2}[\w.@-]{1,40}(?: [\w.@-]{1,40})?[*_]{0,2}[ \t]+\[?\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:[ \t]?[ap]m)?\]?[ \t]*$"
)


def _looks_like_a_question(text: str) -> bool:
    """Prose using some design, product, data or ML wording. A config file, a password file or a
    log is not: most of its lines hold fewer than two plain words."""
    k = knowledge()
    low = text[:200_000].lower()
    if not any(p.search(low) for p in (*k.question_words, *k.ml, *k.ml_mentions, *k.systems)):
        return False
    # A chat export's "name  14:21" lines are the thread's metadata, not its content.
    lines = [
        line for line in low.splitlines()[:2000] if line.strip() and not _CHAT_HEADER.match(line)
    ]
    prose = sum(1 for line in lines if sum(_is_word(w) for w in line.split()[:50]) >= 2)
    return prose * 2 >= len(lines)


def parse_lint_doc(text: str, path: str) -> LintDoc | None:
    """What the checks read of scenario YAML, or None when it is not a valid scenario."""
    try:
        scenario, _ = parse_scenario_with_lines(text, path)
    except ScenarioFileError:
        return None
    return from_scenario(path, scenario)


def _input_error(
    path: str, kind: str, messages: list[str], exc: ScenarioFileError | None = None
) -> FileResult:
    result = FileResult(path, kind)  # type: ignore[arg-type]
    for i, message in enumerate(messages):
        line = exc.problems[i].line if exc is not None and i < len(exc.problems) else None
        result.findings.append(
            Finding("input", "error", message, location=f"line {line}" if line else "",
                    suggestion="fix the file so it can be read (crafter validate shows every schema problem)")
        )  # fmt: skip
    result.scores["input_error"] = 1.0
    return result


def _add_lines(result: FileResult, index: dict[tuple[int | str, ...], int]) -> None:
    """Append the YAML line to field-path locations so editors and CI can jump to them."""
    out = []
    for f in result.findings:
        line = None
        if f.location:
            parts: list[int | str] = []
            for name, num in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", f.location):
                parts.append(int(num) if num else name)
            for cut in range(len(parts), 0, -1):
                line = index.get(tuple(parts[:cut]))
                if line:
                    break
        out.append(
            Finding(
                f.check,
                f.severity,
                f.message,
                f.evidence,
                f"{f.location} (line {line})" if line else f.location,
                f.suggestion,
            )
        )
    result.findings = out


# crafter's own Markdown exports (crafter tui / export): packets of a scenario, not questions.
EXPORT_SUFFIXES = (".interviewer.md", ".candidate.md")


def is_export(path: Path) -> bool:
    return path.name.lower().endswith(EXPORT_SUFFIXES)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files to lint. In folders: question and scenario files by suffix, not hidden, not crafter's
    own exports; anything that is not a regular file (a FIFO named x.yaml) is still listed, so
    that it is reported and skipped rather than silently ignored or read."""
    for p in paths:
        if p.is_dir():
            yield from sorted(
                q
                for q in p.rglob("*")
                if not q.is_dir()
                and q.suffix.lower() in TEXT_SUFFIXES + YAML_SUFFIXES
                and not any(part.startswith(".") for part in q.relative_to(p).parts)
                and not is_export(q)
            )
        else:
            yield p


def library_slot(folder: Path) -> int | None:
    """``slot`` from the nearest crafter.toml in ``folder`` or above it (stopping at a git
    repository's root), None when none sets it. A crafter.toml that cannot be read is a
    UsageError naming it."""
    return _library_slot_of(str(folder))


@cache
def _library_slot_of(folder: str) -> int | None:
    # Keyed by the folder as given: a library of 1,000 files resolves its folder once, not per file.
    return _library_slot(Path(folder).resolve())


@cache
def _library_slot(folder: Path) -> int | None:
    from crafter.domain.library import CONFIG_NAME, LibraryError, parse_library_config
    from crafter.errors import UsageError

    for d in (folder, *folder.parents):
        config = d / CONFIG_NAME
        if config.is_file():
            try:
                return parse_library_config(config.read_text(encoding="utf-8"), str(config)).slot
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read {config}: {exc}") from None
            except LibraryError as exc:
                raise UsageError(exc.message, hint=exc.hint) from None
        if (d / ".git").exists():
            return None
    return None


@dataclass(frozen=True)
class _Prepared:
    """A file read and decoded, ready to lint (or the result that says why it cannot be)."""

    kind: Literal["scenario", "text"]
    raw: bytes = b""
    text: str = ""
    done: FileResult | None = None


def _prepare(path: Path) -> _Prepared:
    from crafter.domain.files import FileReadError, read_bounded

    kind: Literal["scenario", "text"] = (
        "scenario" if path.suffix.lower() in YAML_SUFFIXES else "text"
    )
    if is_export(path):
        result = FileResult(str(path), "text")
        result.findings.append(
            Finding(
                "input", "info", "a packet exported by crafter, not a question: not linted",
                suggestion="lint the scenario YAML it was exported from",
            )
        )  # fmt: skip
        return _Prepared("text", done=result)
    try:
        raw = read_bounded(path)
    except FileReadError as exc:
        return _Prepared(kind, done=_input_error(str(path), kind, [exc.message]))
    if b"\x00" in raw[:8192]:
        return _Prepared(kind, done=_input_error(str(path), kind, ["binary file, not text"]))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 text (bad byte at offset {exc.start})"
        return _Prepared(kind, done=_input_error(str(path), kind, [why]))
    if not text.strip():
        return _Prepared(kind, done=_input_error(str(path), kind, ["the file is empty"]))
    if kind == "scenario" and _NOT_SCENARIO.search(text) is None:
        # YAML that is not a scenario (a config, a manifest): linting it would mislead.
        why = "YAML but not a scenario (no schema_version: or hooks: key)"
        return _Prepared(kind, done=_input_error(str(path), kind, [why]))
    return _Prepared(kind, raw, text)


def lint_file(path: Path, as_of: dt.date, slot: int | None = None) -> FileResult:
    """Lint one file; without ``slot`` the nearest crafter.toml's ``slot`` applies."""
    return lint_files([(path, slot)], as_of)[0]


def lint_files(items: list[tuple[Path, int | None]], as_of: dt.date) -> list[FileResult]:
    """Lint (file, slot) pairs in order, as ``lint_file`` does each: the exposure check of the
    files not in the result cache runs once for all of them, and results are cached after it."""
    from crafter.evals import exposure, result_cache

    base = result_cache.folder()
    out: list[FileResult] = []
    fresh: list[tuple[int, str | None]] = []
    with exposure.batched():
        for path, slot in items:
            prepared = _prepare(path)
            if prepared.done is not None:
                out.append(prepared.done)
                continue
            if slot is None and prepared.kind == "scenario":
                slot = library_slot(path.parent)
            k = None
            if base is not None:
                k = result_cache.key(prepared.raw, path.suffix, as_of, slot, _exposure_id())
                cached = result_cache.get(base, k, str(path), prepared.kind)
                if cached is not None:
                    out.append(cached)
                    continue
            fresh.append((len(out), k))
            out.append(lint_text(prepared.text, as_of, str(path), slot=slot))
    # The block has ended: every deferred exposure finding is in its result.
    if base is not None:
        for i, k in fresh:
            if k is not None:
                result_cache.put(base, k, out[i])
    return out


def _from_cache(path: Path, as_of: dt.date, slot: int | None) -> FileResult | None:
    """The cached result of an unchanged file, without linting it; None on a miss, for a file
    that cannot be linted, or with the cache off."""
    from crafter.evals import result_cache

    base = result_cache.folder()
    if base is None:
        return None
    prepared = _prepare(path)
    if prepared.done is not None:
        return None
    k = result_cache.key(prepared.raw, path.suffix, as_of, slot, _exposure_id())
    return result_cache.get(base, k, str(path), prepared.kind)


def _exposure_id() -> str:
    """What identifies the exposure index in use, for the result cache's key."""
    from crafter.evals import exposure

    index = exposure.active()
    if index is None:
        return "off"
    from crafter.evals import exposure_model

    # The prompts, and the exemplars and rule that judge a probe against them.
    return f"{index.identity}-{exposure_model.files_digest()}"


# Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 64


def _lint_many(
    files: list[Path], as_of: dt.date, jobs: int, slot: int | None = None
) -> list[FileResult]:
    # Each file's slot is settled here, so a bad crafter.toml is reported once, not in a worker.
    slots = [
        slot
        if slot is not None or f.suffix.lower() not in YAML_SUFFIXES
        else library_slot(f.parent)
        for f in files
    ]
    if jobs <= 1 or len(files) < PARALLEL_MIN_FILES:
        return lint_files(list(zip(files, slots, strict=True)), as_of)
    # Unchanged files are answered from the result cache here: a warm library starts no workers.
    results: list[FileResult | None] = [
        _from_cache(f, as_of, s) for f, s in zip(files, slots, strict=True)
    ]
    todo = [i for i, r in enumerate(results) if r is None]
    if len(todo) < PARALLEL_MIN_FILES:
        for i, result in zip(
            todo, lint_files([(files[i], slots[i]) for i in todo], as_of), strict=True
        ):
            results[i] = result
        return [r for r in results if r is not None]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    corpus_urls()  # load once before forking, so every worker inherits it
    from crafter.evals.semantic.detector import warm

    warm()  # the semantic table and detectors too
    # fork: workers inherit the loaded knowledge and corpus URLs instead of re-importing them.
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        items = [(files[i], slots[i]) for i in todo]
        # Batches of _CHUNK files a task: each worker matches a batch's exposure probes together.
        chunks = [items[n : n + _CHUNK] for n in range(0, len(items), _CHUNK)]
        done = [r for batch in pool.map(partial(lint_files, as_of=as_of), chunks) for r in batch]
        for i, result in zip(todo, done, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


_CHUNK = 16


def lint_paths(
    paths: list[str],
    as_of: dt.date,
    *,
    jobs: int = 1,
    keep_sources: bool = False,
    slot: int | None = None,
    exposure: object = "default",
    cache: bool = True,
) -> LintReport:
    """Lint files, folders (recursively) and '-' (stdin); bad files are reported and the rest linted.

    ``jobs`` > 1 lints large batches in that many processes (the CLI passes the core count);
    ``keep_sources`` keeps each file's text in the report (judges read it); ``slot`` (minutes)
    overrides each library's crafter.toml for the pacing check; ``exposure`` is the exposure index
    to use (an ``ExposureIndex``; None turns the check off; by default the bundled one).
    Scenarios that are near-duplicates of each other are reported too. ``cache`` reuses the
    result of a file whose content, knowledge, as-of date and settings are unchanged.
    """
    from crafter.evals import exposure as exp
    from crafter.evals import result_cache

    result_cache.set_enabled(cache)

    index = exp.active() if exposure == "default" else exposure
    assert index is None or isinstance(index, exp.ExposureIndex)
    skip = index.files if index is not None else frozenset()
    with exp.using(index):
        report = _lint_paths(paths, as_of, jobs, keep_sources, skip, slot)
    if index is not None:
        from crafter.evals.duplicates import report_duplicates

        report_duplicates(report.results)
    return report


def _lint_paths(
    paths: list[str],
    as_of: dt.date,
    jobs: int,
    keep_sources: bool,
    skip: frozenset[str],
    slot: int | None,
) -> LintReport:
    report = LintReport(as_of)
    files: list[Path] = []
    for raw in paths:
        if raw == "-":
            text = sys.stdin.read()
            report.sources["<stdin>"] = text
            report.results.append(lint_text(text, as_of, "<stdin>", slot=slot))
            continue
        # Only a file named like one of the skipped ones is resolved (a library of 1,000 is not).
        names = {Path(x).name for x in skip}
        files.extend(
            f
            for f in iter_files([Path(raw)])
            if f.name not in names or str(f.resolve()) not in skip
        )
    for f, result in zip(files, _lint_many(files, as_of, jobs, slot), strict=True):
        if keep_sources and not result.scores.get("input_error"):
            report.sources[str(f)] = f.read_text(encoding="utf-8")
        report.results.append(result)
    report.input_errors = sum(1 for r in report.results if r.scores.get("input_error"))
    return report


def open_items(scenario: Scenario, path: str = "<scenario>") -> list[str]:
    """What stands between a scenario and approval: every error finding (placeholders, fabricated
    sources, vagueness...), each as 'location: message'."""
    result = lint_scenario(scenario, dt.date.today(), path)
    return [
        f"{f.location or 'file'}: [{f.check}] {f.message}"
        for f in result.findings
        if f.severity == "error"
    ]
