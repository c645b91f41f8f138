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
from typing import Any

from crafter.domain.atomic import atomic_write_text
from crafter.domain.text import slugify
from crafter.errors import UsageError


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
        out.append(
            RunSummary(
                path=p, seed=str(meta.get("request", {}).get("seed", "")), status=str(meta.get("status", "?")),
                last_stage=records[-1].name if records else "-",
                input_tokens=sum(r.input_tokens for r in records), output_tokens=sum(r.output_tokens for r in records),
                cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
                started=str(meta.get("started", "")), scenario=str(meta.get("scenario", "")),
            )
        )  # fmt: skip
    return out
