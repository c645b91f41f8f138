"""The exposure index: widely published interview prompts, read from YAML.

The bundled list is ``evals/exposure/published.yaml`` (facts only: a gist in our words, where each
prompt is published, how many sources list it). A team adds its own lists (prompts that leaked from
its loop, an export from a review site) with ``exposure = [...]`` in ``crafter.toml`` or
``crafter lint --exposure FILE``. Such a file has the same shape, or is simply a list of prompts:

    prompts:
      - title: "Payments fraud at checkout"      # required
        gist: "Flag risky card payments in real time."
        domain: fraud                             # optional
        published_in: [{source: our-loop, at: "2025 onsite"}]  # optional
        count: 3                                  # optional (default: len(published_in) or 1)

A file that is missing, not UTF-8 or malformed raises ``ExposureFileError`` naming the file and
the line; an empty file is allowed (the index notes it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crafter.errors import UsageError
from crafter.resources import data_dir

BUNDLED_NAME = "published.yaml"
_MAX_PROMPTS = 20_000
_MAX_FIELD = 2_000
_FORMAT_HINT = (
    "an exposure list is YAML with a `prompts:` list; each prompt needs a `title` "
    "(optional: gist, domain, published_in, count)"
)


class ExposureFileError(UsageError):
    """An exposure list that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class PublishedPrompt:
    id: str
    title: str
    gist: str
    domain: str
    count: int
    # Where it is published: "source name (at)" strings, for the finding's evidence.
    where: tuple[str, ...]
    origin: str = "bundled"

    @property
    def text(self) -> str:
        """What is embedded and shingled: the title and the one-line gist."""
        return f"{self.title}. {self.gist}" if self.gist else self.title


@dataclass(frozen=True)
class ExposureList:
    path: str
    version: str
    prompts: tuple[PublishedPrompt, ...]
    notes: tuple[str, ...] = field(default=())


def bundled_path() -> Path:
    return data_dir("evals") / "exposure" / BUNDLED_NAME


def _line_of_offset(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _fail(path: str, line: int | None, message: str) -> ExposureFileError:
    where = f"{path}:{line}" if line else path
    return ExposureFileError(f"exposure list {where}: {message}", hint=_FORMAT_HINT)


def _clean(value: Any, name: str, path: str, line: int | None, required: bool = False) -> str:
    if value is None:
        if required:
            raise _fail(path, line, f"the prompt has no {name}")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _fail(path, line, f"{name} must be text, got {type(value).__name__}")
    text = " ".join(str(value).split())
    if required and not text:
        raise _fail(path, line, f"the prompt's {name} is empty")
    if len(text) > _MAX_FIELD:
        raise _fail(path, line, f"{name} is longer than {_MAX_FIELD} characters")
    return text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "prompt"


_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_exposure(text: str, path: str, *, origin: str | None = None) -> ExposureList:
    """Parse an exposure list's text; ``path`` names it in errors."""
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return ExposureList(path, "empty", (), (f"{path}: the exposure list is empty",))
    try:
        try:  # libyaml: the bundled list parses in 50 ms instead of about 2 s
            root = yaml.compose(text, Loader=_FAST)
            data = yaml.load(text, Loader=_FAST)
        except yaml.YAMLError:  # the pure-Python parser words the error as users have seen it
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _fail(path, line, f"not valid YAML ({problem})") from None
    if data is None:
        return ExposureList(path, "empty", (), (f"{path}: the exposure list is empty",))
    items_node: Any = root
    sources: dict[str, str] = {}
    version = ""
    if isinstance(data, dict):
        items = data.get("prompts")
        if items is None:
            raise _fail(path, 1, "no `prompts:` list")
        items_node = next(
            (v for k, v in getattr(root, "value", []) if getattr(k, "value", None) == "prompts"),
            root,
        )
        version = str(data.get("version", ""))
        for s in data.get("sources") or []:
            if isinstance(s, dict) and s.get("id"):
                sources[str(s["id"])] = str(s.get("name") or s["id"])
    else:
        items = data
    if not isinstance(items, list):
        mark = getattr(items_node, "start_mark", None)
        raise _fail(path, mark.line + 1 if mark else None, "`prompts` must be a list")
    if len(items) > _MAX_PROMPTS:
        raise _fail(path, None, f"more than {_MAX_PROMPTS} prompts")
    if not items:
        return ExposureList(path, version or "empty", (), (f"{path}: the exposure list is empty",))
    nodes = getattr(items_node, "value", [])
    prompts = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        line = nodes[i].start_mark.line + 1 if i < len(nodes) else None
        prompts.append(_prompt(item, i, path, line, sources, origin or path, seen))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return ExposureList(path, f"{version or 0}+{digest}", tuple(prompts))


def _prompt(
    item: Any,
    i: int,
    path: str,
    line: int | None,
    sources: dict[str, str],
    origin: str,
    seen: set[str],
) -> PublishedPrompt:
    if isinstance(item, str):
        item = {"title": item}
    if not isinstance(item, dict):
        raise _fail(path, line, f"prompt {i + 1} must be a mapping with a title, or a plain title")
    title = _clean(item.get("title"), "title", path, line, required=True)
    gist = _clean(item.get("gist"), "gist", path, line)
    domain = _clean(item.get("domain"), "domain", path, line) or "other"
    pid = _clean(item.get("id"), "id", path, line) or _slug(title)
    if pid in seen:
        raise _fail(path, line, f"prompt id {pid!r} appears twice")
    seen.add(pid)
    where: list[str] = []
    published = item.get("published_in") or []
    if not isinstance(published, list):
        raise _fail(path, line, "published_in must be a list")
    for entry in published:
        if isinstance(entry, dict):
            src = str(entry.get("source", ""))
            at = str(entry.get("at", ""))
            name = sources.get(src, src)
            where.append(f"{name} ({at})" if at else name)
        elif isinstance(entry, str):
            where.append(entry)
    count = item.get("count", len(where) or 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise _fail(
            path, line, f"count must be a whole number of sources (1 or more), got {count!r}"
        )
    return PublishedPrompt(pid, title, gist, domain, count, tuple(where[:12]), origin)


def read_exposure(path: Path) -> ExposureList:
    """Read one exposure list file, with the bounded read used for every user file."""
    from crafter.domain.files import FileReadError, read_bounded

    name = str(path)
    if not Path(path).exists():
        raise ExposureFileError(
            f"exposure list {name}: no such file",
            hint="check the path (in crafter.toml, paths are relative to the crafter.toml file)",
        )
    try:
        raw = read_bounded(Path(path))
    except FileReadError as exc:
        raise _fail(name, None, exc.message) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(
            name,
            _line_of_offset(raw, exc.start),
            f"not UTF-8 text (bad byte at offset {exc.start})",
        ) from None
    if "\x00" in text[:8192]:
        raise _fail(name, _line_of_offset(raw, raw.find(b"\x00")), "binary file, not text")
    return parse_exposure(text.removeprefix("\ufeff"), name)


@cache
def bundled_list() -> ExposureList:
    """The bundled index, parsed once per version of the file and of this module (see
    resources.cached_parse): reading its YAML took about 45 ms of every start."""
    from dataclasses import asdict

    from crafter.resources import cached_parse

    path = bundled_path()
    raw = path.read_bytes()

    def build() -> dict[str, Any]:
        return asdict(parse_exposure(raw.decode("utf-8"), str(path), origin="bundled"))

    data = cached_parse("exposure", [raw, Path(__file__).read_bytes(), str(path).encode()], build)
    try:
        return ExposureList(
            data["path"],
            data["version"],
            tuple(PublishedPrompt(**{**p, "where": tuple(p["where"])}) for p in data["prompts"]),
            tuple(data["notes"]),
        )
    except (KeyError, TypeError):  # a cache entry of another shape: parse the file itself
        return parse_exposure(raw.decode("utf-8"), str(path), origin="bundled")


def combine(extra: Sequence[ExposureList]) -> tuple[tuple[PublishedPrompt, ...], tuple[str, ...]]:
    """The bundled prompts followed by a team's own; notes from every list (an empty file)."""
    prompts = list(bundled_list().prompts)
    notes: list[str] = []
    for lst in extra:
        prompts.extend(lst.prompts)
        notes.extend(lst.notes)
    return tuple(prompts), tuple(notes)


def read_lists(paths: Iterable[Path]) -> tuple[ExposureList, ...]:
    return tuple(read_exposure(Path(p)) for p in paths)


def _config_for(path: Path) -> Path | None:
    """The crafter.toml that governs ``path``: in its folder or the nearest one above it,
    stopping at a repository root (a folder holding .git)."""
    from crafter.domain.library import CONFIG_NAME

    folder = path if path.is_dir() else path.parent
    for candidate in (folder.resolve(), *folder.resolve().parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate / CONFIG_NAME
        if (candidate / ".git").exists():
            return None
    return None


def lists_for(paths: Iterable[str], extra: Iterable[Path] = ()) -> tuple[ExposureList, ...]:
    """The team's exposure lists for a lint run: ``exposure = [...]`` in the crafter.toml that
    governs each linted path (relative to that file), then each ``--exposure FILE``."""
    from crafter.domain.library import LibraryError, parse_library_config

    files: list[Path] = []
    for raw in paths:
        if raw == "-":
            continue
        config = _config_for(Path(raw))
        if config is None:
            continue
        try:
            settings = parse_library_config(config.read_text(encoding="utf-8"), str(config))
        except (OSError, UnicodeDecodeError) as exc:
            raise ExposureFileError(f"cannot read {config}: {exc}") from None
        except LibraryError as exc:
            raise ExposureFileError(exc.message, hint=exc.hint) from None
        files.extend(config.parent / p for p in settings.exposure)
    files.extend(Path(p) for p in extra)
    unique = list(dict.fromkeys(f.resolve() if f.exists() else f for f in files))
    return read_lists(unique)
