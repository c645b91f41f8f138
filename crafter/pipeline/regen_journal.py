"""Regen's journal, its library lock and its backups: what lets a run that was killed be resumed
without drafting a scenario twice, and what keeps a person's replaced text (see batch.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.domain import atomic_write_text, write_new_text
from crafter.domain.jsonlines import append_rows, read_rows
from crafter.domain.library import Library
from crafter.errors import UsageError

if TYPE_CHECKING:
    from crafter.pipeline.batch import RegenPlan

JOURNAL_NAME = "regen-journal.jsonl"
LOCK_NAME = "regen.lock"


@dataclass
class RunRecord:
    """One regen run as the journal tells it."""

    run: str
    started: dt.datetime
    model: str
    force: bool
    finished: bool = False
    done: dict[str, str] = field(default_factory=dict)  # rel path -> inputs key
    writing: dict[str, str] = field(default_factory=dict)  # rel path -> sha256 of the new file
    failed: dict[str, str] = field(default_factory=dict)  # rel path -> error
    # --batch-api: batches submitted and not yet collected, with their request ids; and
    # submissions begun whose batch id was never recorded (killed mid-submit), by token.
    batches: dict[str, list[str]] = field(default_factory=dict)
    submitting: dict[str, list[str]] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Journal:
    """An append-only JSON-lines log of the current (or last) regen run, fsynced per line.

    A kill can cut the last line short; reading skips a line that is not JSON, and appending
    first ends such a line so the next record stands alone.
    """

    def __init__(self, library: Library) -> None:
        self.library = library
        self.path = library.state_dir / JOURNAL_NAME
        self._lock = threading.Lock()

    def events(self) -> list[dict[str, Any]]:
        return read_rows(self.path)

    def last_run(self) -> RunRecord | None:
        record: RunRecord | None = None
        for e in self.events():
            kind = e.get("event")
            if kind == "start":
                try:
                    started = dt.datetime.fromisoformat(str(e["started"]))
                except (KeyError, ValueError):
                    continue
                record = RunRecord(
                    str(e.get("run")), started, str(e.get("model")), bool(e.get("force"))
                )
            elif record is None or e.get("run") != record.run:
                continue
            elif kind == "writing":
                record.writing[str(e.get("file"))] = str(e.get("sha256"))
            elif kind == "done":
                record.done[str(e.get("file"))] = str(e.get("key"))
                record.failed.pop(str(e.get("file")), None)
            elif kind == "failed":
                record.failed[str(e.get("file"))] = str(e.get("error"))
            elif kind == "batch-submitting":
                record.submitting[str(e.get("token"))] = [str(i) for i in e.get("ids") or []]
            elif kind == "batch-submitted":
                record.batches[str(e.get("batch"))] = [str(i) for i in e.get("ids") or []]
                record.submitting.pop(str(e.get("token")), None)
            elif kind == "batch-collected":
                record.batches.pop(str(e.get("batch")), None)
            elif kind == "end":
                record.finished = True
        return record

    def start(self, plan: RegenPlan) -> RunRecord:
        """Begin a run, or continue the interrupted one the plan resumes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.path.parent / ".gitignore"
        if not ignore.exists():
            # Machine state: keep it out of the team's repository without touching theirs.
            atomic_write_text(ignore, "*\n")
        if plan.resumed is not None:
            run = plan.resumed
            self.append({"event": "resume", "run": run.run, "at": _now().isoformat()})
            for item in plan.items:
                if item.recovered:
                    self.append(
                        {"event": "done", "run": run.run, "file": item.rel, "key": item.key}
                    )
            return run
        run = RunRecord(uuid.uuid4().hex[:12], _now(), plan.model.model_id, plan.force)
        first = {
            "event": "start",
            "run": run.run,
            "started": run.started.isoformat(),
            "model": run.model,
            "force": run.force,
            "planned": [i.rel for i in plan.to_draft],
        }
        atomic_write_text(self.path, json.dumps(first) + "\n")
        return run

    def append(self, event: dict[str, Any]) -> None:
        with self._lock:
            append_rows(self.path, [event], mode=0o644)


@contextlib.contextmanager
def library_lock(library: Library) -> Iterator[None]:
    """One regen per library at a time: an OS lock on ``.crafter/regen.lock``, released by the
    kernel when the holder exits however it exits."""
    from crafter.domain.locks import LockBusy, file_lock

    path = library.state_dir / LOCK_NAME
    try:
        with file_lock(path):
            yield
    except LockBusy as busy:
        who = f" (pid {busy.pid})" if busy.pid else ""
        raise UsageError(
            f"another crafter regen{who} is working on {library.root}",
            hint="wait for it to finish, or stop it; the lock is released when it exits",
        ) from None


BACKUP_DIR = "backups"


def backup_file(library: Library, path: Path) -> Path:
    """Copy ``path`` into ``<library>/.crafter/backups/`` (atomically, never replacing an
    earlier backup) before it is overwritten; returns the backup's path."""
    rel = library.relative(path).replace("/", "__")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = library.state_dir / BACKUP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return write_new_text(folder / f"{rel}.{stamp}.yaml", path.read_text(encoding="utf-8"))


def remove_stale_temp_files(library: Library) -> int:
    """Delete temp files an atomic write left behind when its process was killed."""
    removed = 0
    folders = {library.root, *(p.parent for p in library.scenario_files())}
    for folder in folders:
        for pattern in (".*.yaml.*.tmp", ".*.yml.*.tmp"):
            for tmp in folder.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed += 1
    return removed


# -- running -----------------------------------------------------------------------------------
