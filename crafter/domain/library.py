"""A scenario library: a folder of scenario YAML files plus an optional ``crafter.toml``.

Pure helpers: reading the library settings, listing its scenario files, recording a review, and
reading a file as it was at a git revision. Nothing here calls a model or prints.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from crafter.domain.scenario import Level, Review, ReviewStatus, Scenario, content_digest
from crafter.domain.yamlio import ScenarioFileError, load_scenario, save_scenario

CONFIG_NAME = "crafter.toml"
# Where a library keeps its machine state (regen journal, lock); never scenario files.
STATE_DIR = ".crafter"
# A new draft of an approved scenario is written beside it under this suffix for review.
PROPOSAL_SUFFIX = ".proposed.yaml"
REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)
# Statuses that say a person read the text, so they need a name.
_SIGNED_STATUSES = ("reviewed", "approved")


class LibraryError(Exception):
    """Bad library input (settings, paths, review values); ``hint`` says how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


AsOfPolicy = Literal["keep", "today"] | dt.date


class LibraryConfig(BaseModel):
    """Settings in ``<library>/crafter.toml``; every key is optional.

    ``as_of`` is the date policy: ``keep`` (a redraft keeps the scenario's as-of date), ``today``
    (a redraft is current as of the day it runs), or a fixed date for every draft.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    level: Level | None = None
    as_of: AsOfPolicy = "keep"
    corpus: list[Annotated[str, StringConstraints(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=50
    )
    concurrency: int | None = Field(default=None, ge=1, le=64)
    # Drafting like `crafter draft`: research the corpus first, then revise up to `rounds` times.
    research: bool | None = None
    rounds: int | None = Field(default=None, ge=0, le=5)
    # Interview length in minutes: what `crafter lint`'s pacing check measures material against.
    slot: int | None = Field(default=None, ge=10, le=240)
    # The team's own exposure lists (published or leaked prompts), relative to crafter.toml.
    exposure: list[Annotated[str, StringConstraints(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=50
    )


@dataclass(frozen=True)
class Library:
    """A library folder and its settings (``config_path`` is None without a crafter.toml)."""

    root: Path
    config: LibraryConfig
    config_path: Path | None = None

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def scenario_files(self) -> list[Path]:
        return list_scenario_files(self.root)

    def relative(self, path: Path) -> str:
        """``path`` relative to the library root, with forward slashes (stable in journals)."""
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()


# What each setting takes, for messages (a union's per-branch errors say nothing useful).
SETTING_HELP = {
    "as_of": "keep, today or a date (YYYY-MM-DD)",
    "level": "mid, senior, staff or principal",
}


def _config_problems(exc: ValidationError) -> list[str]:
    """One readable line per bad setting: its name, the value given and what it takes."""
    out: list[str] = []
    seen: set[str] = set()
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        field = loc[0] if loc else "(root)"
        if e["type"] == "extra_forbidden":
            out.append(f"{field}: unknown setting")
            continue
        if field in seen:
            continue
        seen.add(field)
        if field in SETTING_HELP:
            out.append(f"{field} = {e.get('input')!r}: use {SETTING_HELP[field]}")
        else:
            out.append(f"{'.'.join(loc)}: {e['msg']}")
    return out


def parse_library_config(text: str, source: str = CONFIG_NAME) -> LibraryConfig:
    """Parse crafter.toml text; a ``[library]`` table or top-level keys both work."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LibraryError(
            f"{source}: not valid TOML: {exc}", hint="fix the file's syntax"
        ) from None
    section = raw.get("library", raw)
    if not isinstance(section, dict):
        raise LibraryError(f"{source}: [library] must be a table")
    try:
        return LibraryConfig.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(_config_problems(exc))
        raise LibraryError(
            f"{source}: {problems}",
            hint="known settings: model, level, as_of (keep, today or YYYY-MM-DD), corpus, "
            "concurrency, research, rounds, slot, exposure",
        ) from None


def open_library(root: Path, *, create: bool = False) -> Library:
    """The library at ``root`` with its settings; ``create`` makes a missing folder."""
    root = Path(root)
    if not root.exists():
        if not create:
            raise LibraryError(
                f"{root}: no such library folder",
                hint="pass the folder that holds your scenario YAML files "
                '(crafter new "SEED" --library DIR starts one)',
            )
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise LibraryError(f"cannot create {root}: {exc.strerror or exc}") from None
    if not root.is_dir():
        raise LibraryError(f"{root} is a file, not a library folder")
    path = root / CONFIG_NAME
    if not path.is_file():
        return Library(root, LibraryConfig())
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"cannot read {path}: {exc}") from None
    return Library(root, parse_library_config(text, str(path)), path)


def nearest_library_config(folder: Path) -> tuple[Path, LibraryConfig] | None:
    """The crafter.toml in ``folder`` or the nearest folder above it (stopping at a git
    repository's root) and its settings; None when there is none."""
    folder = Path(folder).resolve()
    for d in (folder, *folder.parents):
        path = d / CONFIG_NAME
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise LibraryError(f"cannot read {path}: {exc}") from None
            return path, parse_library_config(text, str(path))
        if (d / ".git").exists():
            return None
    return None


def is_proposal(path: Path) -> bool:
    return Path(path).name.endswith(PROPOSAL_SUFFIX)


def proposal_path(path: Path) -> Path:
    """Where a new draft of the approved scenario at ``path`` is written for review."""
    path = Path(path)
    return path.with_name(path.name[: -len(path.suffix)] + PROPOSAL_SUFFIX)


def proposal_original(path: Path) -> Path:
    """The approved scenario a proposal file stands beside."""
    path = Path(path)
    stem = path.name[: -len(PROPOSAL_SUFFIX)]
    yml = path.with_name(stem + ".yml")
    return (
        yml
        if yml.exists() and not path.with_name(stem + ".yaml").exists()
        else path.with_name(stem + ".yaml")
    )


def list_scenario_files(root: Path) -> list[Path]:
    """Every scenario file under ``root``, sorted; hidden paths and proposals are left out.

    Hidden paths hold machine state and half-written temp files; proposals are reviewed beside
    their approved scenario rather than regenerated on their own.
    """
    root = Path(root)
    out = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix not in (".yaml", ".yml") or not path.is_file() or is_proposal(path):
            continue
        out.append(path)
    return sorted(out)


def apply_review(
    scenario: Scenario, status: str, reviewer: str | None = None, notes: str | None = None
) -> Scenario:
    """A copy of ``scenario`` with its review set; ``None`` keeps the current reviewer/notes."""
    if status not in REVIEW_STATUSES:
        raise LibraryError(
            f"unknown review status {status!r}", hint=f"use one of: {', '.join(REVIEW_STATUSES)}"
        )
    name = (reviewer if reviewer is not None else scenario.review.reviewer).strip()
    if status in _SIGNED_STATUSES and not name:
        raise LibraryError(
            f"marking a scenario {status} needs the reviewer's name", hint="add --by NAME"
        )
    try:
        review = Review(
            status=status,
            reviewer=name,
            notes=notes if notes is not None else scenario.review.notes,
        )
    except ValidationError as exc:
        raise LibraryError(
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        ) from None
    return scenario.model_copy(update={"review": review})


def review_after_edit(original: Scenario, edited: Scenario) -> tuple[Scenario, str | None]:
    """The scenario to save after a person edited ``original`` into ``edited``.

    A review vouches for the text it read: when the content of a reviewed or approved scenario
    changed, the review goes back to draft (its notes kept, the signature dropped) and the
    message says so. Otherwise ``edited`` is returned as it is, with None.
    """
    status = original.review.status
    if status not in _SIGNED_STATUSES or content_digest(original) == content_digest(edited):
        return edited, None
    if edited.review.status != status or edited.review.reviewer != original.review.reviewer:
        return edited, None  # the person changed the review block themselves: theirs to decide
    who = f" by {original.review.reviewer}" if original.review.reviewer else ""
    review = Review(status="draft", reviewer="", notes=edited.review.notes)
    message = (
        f"this scenario was {status}{who}; the edit returns it to draft, so it needs a new "
        f"review (crafter review FILE --status {status} --by NAME)"
    )
    return edited.model_copy(update={"review": review}), message


@dataclass(frozen=True)
class ReviewOutcome:
    """Where the reviewed scenario now lives; ``promoted_from`` is set when a proposal replaced
    the approved file it stood beside."""

    scenario: Scenario
    path: Path
    promoted_from: Path | None = None


# Finds what is still open in a scenario (lint errors, TODO placeholders); the evals layer
# provides it, so the domain does not import the checks.
OpenItems = Callable[[Scenario, str], list[str]]


class ApprovalBlocked(LibraryError):
    """Approving a scenario that still has open items, without --allow-open."""

    def __init__(self, path: Path, items: list[str]) -> None:
        shown = "\n".join(f"  {i}" for i in items[:20])
        more = f"\n  (and {len(items) - 20} more)" if len(items) > 20 else ""
        super().__init__(
            f"{path} is not approved: {len(items)} open item(s)\n{shown}{more}",
            hint="fix them (crafter lint FILE lists each with its line), or approve anyway with "
            "--allow-open",
        )
        self.items = items


def review_file(
    path: Path,
    status: str,
    reviewer: str | None = None,
    notes: str | None = None,
    *,
    open_items: OpenItems | None = None,
) -> ReviewOutcome:
    """Record a review in the scenario file at ``path`` (an atomic rewrite).

    Approving a proposal (``x.proposed.yaml``) promotes it: it atomically replaces ``x.yaml``,
    whose earlier text stays in version control.
    """
    path = Path(path)
    if path.is_dir():
        raise LibraryError(
            f"{path} is a folder, not a scenario file", hint="review one .yaml file at a time"
        )
    if not path.is_file():
        raise LibraryError(f"{path}: no such scenario file")
    try:
        scenario = load_scenario(path)
    except ScenarioFileError as exc:
        raise LibraryError(
            f"{path} is not a valid scenario: "
            + "; ".join(p.render() for p in exc.problems[:5])
            + ("" if len(exc.problems) <= 5 else f" (and {len(exc.problems) - 5} more)"),
            hint="fix the file first (crafter validate FILE shows every problem)",
        ) from None
    if path.is_dir():
        raise LibraryError(f"{path} is a folder", hint="review one scenario file at a time")
    apply_review(scenario, status, reviewer, notes)  # bad status or a missing name first
    if status == "approved" and open_items is not None:
        items = open_items(scenario, str(path))
        if items:
            raise ApprovalBlocked(path, items)
    if status == "approved" and is_proposal(path) and notes is None:
        # The old approval's notes were about the old text: they do not ride along silently.
        original = proposal_original(path)
        old = load_scenario(original).review if original.is_file() else None
        if old is not None and old.notes and old.notes == scenario.review.notes:
            notes = ""
    updated = apply_review(scenario, status, reviewer, notes)
    from crafter.domain.files import writable_dir_problem

    problem = writable_dir_problem(path.parent, create=False)
    if problem:
        raise LibraryError(problem, hint="the review is recorded in the file: make it writable")
    if status == "approved" and is_proposal(path):
        target = proposal_original(path)
        # Record the approval in the proposal, then one rename: a crash leaves either the old
        # approved file beside an approved proposal, or the promoted file alone.
        save_scenario(updated, path)
        os.replace(path, target)
        return ReviewOutcome(updated, target, promoted_from=path)
    save_scenario(updated, path)
    return ReviewOutcome(updated, path)


def read_at_revision(path: Path, rev: str) -> str:
    """The text of ``path`` as of git revision ``rev`` (through ``git show``)."""
    path = Path(path)
    if not rev.strip() or rev.startswith("-"):
        raise LibraryError(f"{rev!r} is not a git revision", hint="e.g. --rev HEAD~1 or --rev main")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise LibraryError(f"{path}: no such folder")
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), "show", f"{rev}:./{path.name}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise LibraryError("git is not installed", hint="install git to use --rev") from None
    except subprocess.TimeoutExpired:
        raise LibraryError(f"git show {rev} took too long") from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["git show failed"])[0]
        raise LibraryError(
            f"cannot read {path} at revision {rev!r}: {detail}",
            hint="check the revision (git log -- FILE lists the ones that touch it)",
        )
    return proc.stdout
