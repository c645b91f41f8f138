"""Run folders: each stage writes its artifact, so a run can be inspected and resumed.

runs/<YYYYmmdd-HHMMSS>-<slug>/
    run.json             request, models per stage, status, error
    01-frame.json        stage artifacts: model, prompt version, tokens, cost, seconds, output
    02-research.json
    03-draft.json
    04-critique.json
    05-revise-1.json ... (and 06-critique-1.json after each revision)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.domain.atomic import atomic_write_text
from crafter.domain.text import slugify
from crafter.errors import UsageError

if TYPE_CHECKING:
    from crafter.domain import Scenario


@dataclass(frozen=True)
class StageRecord:
    name: str
    model: str
    prompt_version: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    seconds: float
    output: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.name, "model": self.model, "prompt_version": self.prompt_version,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd, "seconds": round(self.seconds, 3), "output": self.output,
        }  # fmt: skip

    @staticmethod
    def from_json(data: dict[str, Any]) -> StageRecord:
        return StageRecord(
            data["stage"], data["model"], data["prompt_version"], data["input_tokens"],
            data["output_tokens"], data["cost_usd"], data["seconds"], data["output"],
        )  # fmt: skip


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @staticmethod
    def create(root: Path, seed: str) -> RunFolder:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        root.mkdir(parents=True, exist_ok=True)
        base = f"{stamp}-{slugify(seed, max_words=6, max_len=40)}"
        path = root / base
        n = 2
        while True:
            try:
                path.mkdir()
                return RunFolder(path)
            except FileExistsError:
                path = root / f"{base}-{n}"
                n += 1

    @staticmethod
    def open(path: Path) -> RunFolder:
        run = RunFolder(path)
        if not (run.path / "run.json").is_file():
            raise UsageError(
                f"{path} is not a crafter run folder (no run.json)",
                hint="list runs with crafter runs",
            )
        return run

    # -- run.json ---------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        try:
            data = json.loads((self.path / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {self.path / 'run.json'}: {exc}") from None
        assert isinstance(data, dict)
        return data

    def write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write_text(self.path / "run.json", json.dumps(meta, indent=2, ensure_ascii=False))

    def update_meta(self, **changes: Any) -> None:
        meta = self.read_meta() if (self.path / "run.json").exists() else {}
        meta.update(changes)
        self.write_meta(meta)

    # -- artifacts ---------------------------------------------------------------------------
    def artifact_path(self, index: int, name: str) -> Path:
        return self.path / f"{index:02d}-{name}.json"

    def save(self, index: int, record: StageRecord) -> None:
        atomic_write_text(
            self.artifact_path(index, record.name),
            json.dumps(record.as_json(), indent=2, ensure_ascii=False),
        )

    def load(self, index: int, name: str) -> StageRecord | None:
        path = self.artifact_path(index, name)
        if not path.is_file():
            return None
        try:
            return StageRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            return None  # a damaged artifact is redone

    def records(self) -> list[StageRecord]:
        out = []
        for p in sorted(self.path.glob("[0-9][0-9]-*.json")):
            try:
                out.append(StageRecord.from_json(json.loads(p.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError):
                continue
        return out


@dataclass(frozen=True)
class RunSummary:
    path: Path
    seed: str
    status: str
    last_stage: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    started: str
    scenario: str
    error: str = ""  # why a failed run failed (first line), or why a run is marked interrupted


def owner() -> dict[str, Any]:
    """Who is running a run: recorded in run.json so a dead owner can be told from a live one."""
    import os
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname()}


def owner_alive(meta: dict[str, Any]) -> bool:
    """False only when run.json names a process on this host that no longer exists."""
    import os
    import socket

    pid, host = meta.get("pid"), meta.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return True  # another machine's run (or an old run.json): cannot tell, assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def resolve_run(name: Path, runs_root: Path) -> Path:
    """A run given as a path, or by the name `crafter runs` prints (looked up in ``runs_root``)."""
    if (name / "run.json").is_file():
        return name
    candidate = runs_root / name
    if (candidate / "run.json").is_file():
        return candidate
    known = [r.path.name for r in list_runs(runs_root)[:3]]
    raise UsageError(
        f"no run {str(name)!r} in {runs_root} (and {name} is not a run folder)",
        hint="crafter runs lists them"
        + (f", e.g. {known[0]}" if known else "")
        + "; pass --runs DIR if they live elsewhere",
    )


def list_runs(root: Path) -> list[RunSummary]:
    """Every run under ``root``, newest first."""
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir(), reverse=True):
        if not (p / "run.json").is_file():
            continue
        run = RunFolder(p)
        try:
            meta = run.read_meta()
        except UsageError:
            continue
        records = run.records()
        costs = [r.cost_usd for r in records]
        status = str(meta.get("status", "?"))
        error = " ".join(str(meta.get("error") or "").split())[:200]
        if status == "running" and not owner_alive(meta):
            status, error = (
                "interrupted",
                f"its process ({meta.get('pid')}) is gone; --resume continues it",
            )
        out.append(
            RunSummary(
                path=p, seed=str(meta.get("request", {}).get("seed", "")), status=status, error=error,
                last_stage=records[-1].name if records else "-",
                input_tokens=sum(r.input_tokens for r in records), output_tokens=sum(r.output_tokens for r in records),
                cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
                started=str(meta.get("started", "")), scenario=str(meta.get("scenario", "")),
            )
        )  # fmt: skip
    return out


def save_run_scenario(run: RunFolder | None, scenario: Scenario, folder: Path) -> tuple[Path, str]:
    """Save a run's scenario into ``folder`` once: a resumed run whose scenario was already saved
    points at that file instead of writing a duplicate, and a saved file someone has edited since
    is never replaced. Returns the path and what happened ("written", "already saved", "edited")."""
    from crafter.domain import content_digest, edited_by_person, load_scenario, to_yaml
    from crafter.domain.atomic import write_new_text

    if run is not None:
        saved = run.read_meta().get("saved_to")
        if isinstance(saved, str) and Path(saved).is_file():
            try:
                there = load_scenario(Path(saved))
            except Exception:  # unreadable now: someone's half-edited file; never replace it
                return Path(saved), "edited"
            if edited_by_person(there):
                return Path(saved), "edited"
            if content_digest(there) == content_digest(scenario):
                return Path(saved), "already saved"
    path = write_new_text(folder / f"{scenario.id}.yaml", to_yaml(scenario))
    if run is not None:
        run.update_meta(saved_to=str(path.resolve()))
    return path, "written"
