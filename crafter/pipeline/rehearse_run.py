"""``crafter rehearse`` over a library: personas in parallel, the verdict, findings, run folder.

The verdict: a scenario discriminates when the strong persona reaches hire or better on at least
5 of 6 rubric signals (5/6 of the rows, rounded up) and the smooth talker stays at lean hire or
below on as many; every other persona must land below strong on the signals it neglects. The
findings (``rehearsal.*``) are ordinary lint findings, so every output format and CI gate works.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.domain import Scenario, atomic_write_text
from crafter.errors import UsageError
from crafter.evals.findings import FileResult, Finding, Severity
from crafter.evals.lint import LintReport
from crafter.pipeline.rehearsal import (
    DEFAULT_TURNS,
    RANK,
    Persona,
    PersonaRun,
    Roles,
    rehearse_persona,
    transcript_text,
)
from crafter.pipeline.runs import RunFolder

if TYPE_CHECKING:
    from crafter.pipeline.batch_api import BatchOptions
    from crafter.providers.batches import BatchStatus

MAX_CONCURRENCY = 64
_LABEL = {0: "no hire", 1: "lean hire", 2: "hire", 3: "strong hire"}


def needed(rows: int) -> int:
    """How many signals the rule needs: 5 of 6, generalised to 5/6 of the rows rounded up."""
    return max(1, math.ceil(rows * 5 / 6))


def _quote(run: PersonaRun, signal: str) -> str:
    sc = run.scores.get(signal)
    if sc is None:
        return ""
    quote = f'"{sc.evidence[0]}"' if sc.evidence else "no quote"
    return f"{run.persona} on {signal}: {quote}; {sc.reason}"[:600]


def verdict(
    s: Scenario, runs: dict[str, PersonaRun], personas: tuple[Persona, ...]
) -> tuple[bool | None, list[Finding]]:
    """(discriminates, findings); None when a persona the rule needs did not finish."""
    findings: list[Finding] = []
    for p in personas:
        run = runs.get(p.id)
        if run is not None and run.status == "failed":
            findings.append(
                Finding(
                    "rehearsal.failed", "error", f"persona {p.id} failed: {run.error}",
                    suggestion="rerun the same command: finished calls are cached and not asked again",
                )
            )  # fmt: skip
    rows = [(i, r.signal) for i, r in enumerate(s.rubric)]
    need = needed(len(rows))
    by_role = {p.role: runs.get(p.id) for p in personas if p.role in ("strong", "smooth")}
    strong, smooth = by_role.get("strong"), by_role.get("smooth")
    ok_strong = strong is not None and strong.status == "ok"
    ok_smooth = smooth is not None and smooth.status == "ok"
    result: bool | None = None
    if ok_strong and ok_smooth:
        assert strong is not None and smooth is not None
        high = [sig for _, sig in rows if strong.level(sig) >= RANK["hire"]]
        low = [sig for _, sig in rows if smooth.level(sig) <= RANK["lean_hire"]]
        result = len(high) >= need and len(low) >= need
        sev_strong: Severity = "error" if len(high) < need else "warning"
        sev_smooth: Severity = "error" if len(low) < need else "warning"
        for i, sig in rows:
            if sig not in high:
                findings.append(
                    Finding(
                        "rehearsal.strong", sev_strong,
                        f"the strong persona reached only {_LABEL[strong.level(sig)]} on {sig}",
                        evidence=_quote(strong, sig), location=f"rubric[{i}]",
                        suggestion="make the hire anchor observable in a strong answer to this "
                        "scenario, and give the facts (context, answers) a strong candidate needs",
                    )
                )  # fmt: skip
            if sig not in low:
                findings.append(
                    Finding(
                        "rehearsal.smooth-talker", sev_smooth,
                        f"the smooth talker reached {_LABEL[smooth.level(sig)]} on {sig}",
                        evidence=_quote(smooth, sig), location=f"rubric[{i}]",
                        suggestion="rewrite the hire anchor around what only engaging this "
                        "scenario's numbers and limits shows; add a trap with a follow-up",
                    )
                )  # fmt: skip
        findings.append(
            Finding(
                "rehearsal.verdict", "info" if result else "error",
                ("discriminates" if result else "does not discriminate")
                + f": strong reached hire or better on {len(high)}/{len(rows)} signals, the "
                f"smooth talker stayed at lean hire or below on {len(low)}/{len(rows)} "
                f"(each needs {need})",
            )
        )  # fmt: skip
    for p in personas:
        run = runs.get(p.id)
        if p.role != "neglect" or run is None or run.status != "ok" or not ok_strong:
            continue
        assert strong is not None
        for i, sig in rows:
            if sig in p.neglects and run.level(sig) >= strong.level(sig):
                result = False if result is not None else None
                findings.append(
                    Finding(
                        f"rehearsal.{p.id}", "error",
                        f"the {p.name} neglects {sig} yet reached {_LABEL[run.level(sig)]} "
                        f"there, not below the strong persona ({_LABEL[strong.level(sig)]})",
                        evidence=_quote(run, sig), location=f"rubric[{i}]",
                        suggestion=f"add hooks and rubric evidence for {sig} that "
                        + (f"a {p.corner} specialist" if p.corner else "this persona")
                        + " cannot show",
                    )
                )  # fmt: skip
    return result, findings


# -- library ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    path: str
    scenario: Scenario
    lines: dict[tuple[int | str, ...], int] = field(default_factory=dict)


@dataclass
class Rehearsal:
    """Everything one ``crafter rehearse`` produced."""

    report: LintReport
    runs: dict[str, dict[str, PersonaRun]]
    verdicts: dict[str, bool | None]
    folder: RunFolder | None
    live_calls: int = 0
    # --batch-api: batches submitted, and those still at the provider (--no-wait).
    batches: int = 0
    waiting: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        return sum(1 for rs in self.runs.values() for r in rs.values() if r.status == "failed")


Progress = Callable[[int, int, str], None]


def rehearse_all(
    targets: list[Target],
    personas: tuple[Persona, ...],
    roles: Roles,
    *,
    cache_root: Path,
    runs_root: Path | None = None,
    turns: int = DEFAULT_TURNS,
    concurrency: int = 4,
    progress: Progress | None = None,
    batch: BatchOptions | None = None,
    on_status: Callable[[BatchStatus], None] | None = None,
) -> Rehearsal:
    """Rehearse every persona of every scenario, at most ``concurrency`` at once, or through the
    provider's batch API with ``batch`` (one batch per round of calls; see rehearse_batch)."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency {concurrency} is out of range", hint=f"use 1 to {MAX_CONCURRENCY}"
        )
    if not targets:
        raise UsageError("no scenarios to rehearse")
    folder = None
    if runs_root is not None:
        folder = RunFolder.create(runs_root, f"rehearse {targets[0].scenario.id}")
        folder.write_meta(
            {
                "kind": "rehearse",
                "status": "running",
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "models": roles.models,
                "personas": [p.ref for p in personas],
                "turns": turns,
                "scenarios": [t.path for t in targets],
            }
        )
    jobs = [(t, p) for t in targets for p in personas]
    lock = threading.Lock()
    done = 0

    def one(job: tuple[Target, Persona]) -> PersonaRun:
        nonlocal done
        target, persona = job
        run = rehearse_persona(target.scenario, persona, roles, cache_root, turns=turns)
        with lock:
            done += 1
            if progress is not None:
                progress(done, len(jobs), f"{target.scenario.id}/{persona.id}")
        return run

    batches = 0
    waiting: tuple[str, ...] = ()
    finished: list[PersonaRun | None]
    if batch is not None:
        from crafter.pipeline.rehearse_batch import rehearse_batched

        def done_one(i: int) -> None:
            nonlocal done
            with lock:
                done += 1
                if progress is not None:
                    target, persona = jobs[i]
                    progress(done, len(jobs), f"{target.scenario.id}/{persona.id}")

        outcome = rehearse_batched(
            jobs, roles, cache_root=cache_root, turns=turns, options=batch, on_status=on_status,
            on_done=done_one,
        )  # fmt: skip
        finished = [outcome.runs.get(i) for i in range(len(jobs))]
        batches, waiting = outcome.batches, tuple(outcome.waiting)
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            finished = list(pool.map(one, jobs))
    runs: dict[str, dict[str, PersonaRun]] = {t.path: {} for t in targets}
    for (target, persona), maybe in zip(jobs, finished, strict=True):
        if maybe is not None:  # None: still in a batch at the provider
            runs[target.path][persona.id] = maybe
    report = LintReport(dt.date.today())
    verdicts: dict[str, bool | None] = {}
    for target in targets:
        ok, findings = verdict(target.scenario, runs[target.path], personas)
        verdicts[target.path] = ok
        result = FileResult(target.path, "scenario", _with_lines(findings, target.lines))
        result.scores["rehearsal.discriminates"] = -1.0 if ok is None else float(ok)
        for pid, run in runs[target.path].items():
            for sig, sc in run.scores.items():
                result.scores[f"rehearsal.{pid}.{sig}"] = float(RANK[sc.level])
        report.results.append(result)
    live = sum(r.log.live for r in finished if r is not None)
    out = Rehearsal(report, runs, verdicts, folder, live, batches, waiting)
    if folder is not None:
        _write_folder(out, folder, targets)
    return out


def _with_lines(findings: list[Finding], lines: dict[tuple[int | str, ...], int]) -> list[Finding]:
    out = []
    for f in findings:
        line = None
        if f.location.startswith("rubric["):
            line = lines.get(("rubric", int(f.location[7:-1])))
        where = f"{f.location} (line {line})" if line else f.location
        out.append(Finding(f.check, f.severity, f.message, f.evidence, where, f.suggestion))
    return out


def usage_rows(out: Rehearsal) -> list[dict[str, Any]]:
    """Tokens, cost and calls per scenario and persona (cost None: a model with no known price)."""
    rows = []
    for path, runs in out.runs.items():
        for pid, run in runs.items():
            u = run.log.usage
            rows.append(
                {
                    "scenario": path, "persona": pid, "status": run.status,
                    "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                    "cost_usd": u.cost_usd, "calls": run.log.calls, "asked_now": run.log.live,
                }
            )  # fmt: skip
    return rows


def _write_folder(out: Rehearsal, folder: RunFolder, targets: list[Target]) -> None:
    for target in targets:
        sub = folder.path / target.scenario.id
        sub.mkdir(parents=True, exist_ok=True)
        for pid, run in out.runs[target.path].items():
            atomic_write_text(
                sub / f"{pid}.json", json.dumps(run.as_json(), indent=2, ensure_ascii=False)
            )
            atomic_write_text(sub / f"{pid}.md", _markdown(run))
    atomic_write_text(
        folder.path / "findings.json",
        json.dumps(out.report.as_json(), indent=2, ensure_ascii=False),
    )
    folder.update_meta(
        status="waiting" if out.waiting else "failed" if out.failed else "finished",
        batches=out.batches,
        waiting=list(out.waiting),
        verdicts={p: v for p, v in out.verdicts.items()},
        usage=usage_rows(out),
        asked_now=out.live_calls,
    )


def _markdown(run: PersonaRun) -> str:
    lines = [f"# {run.scenario_id}: {run.persona} ({run.status})", ""]
    if run.error:
        lines += [f"Failed: {run.error}", ""]
    lines += [transcript_text(run.turns), "", "## Scores", ""]
    for sig, sc in run.scores.items():
        quotes = "; ".join(f'"{q}"' for q in sc.evidence) or "no quote"
        lines.append(f"- {sig}: {sc.level} ({quotes}) {sc.reason}")
    return "\n".join(lines) + "\n"


# -- inputs ----------------------------------------------------------------------------------

NO_MODEL_HINT = (
    "pass --model: anthropic:claude-sonnet-5-5 (with ANTHROPIC_API_KEY), openai:gpt-5.4-mini "
    "(with OPENAI_API_KEY) or openai-compatible:<model> (with CRAFTER_BASE_URL), or set "
    "CRAFTER_MODEL or model in the config file. The scaffold writes no text and local:smollm2 "
    "(135M parameters) cannot hold an interview, so neither can rehearse"
)


def choose_roles(
    model: str | None,
    candidate_model: str | None = None,
    grader_model: str | None = None,
    build: Callable[[str], Any] | None = None,
) -> Roles:
    """Providers for the three roles; a model that cannot rehearse is a UsageError (exit 2)."""
    from crafter.providers import build_provider, parse_model_id, resolve_model

    make = build or build_provider
    choice = resolve_model(model)
    ids = {
        "--model": choice.model_id,
        "--candidate-model": candidate_model or choice.model_id,
        "--grader-model": grader_model or choice.model_id,
    }
    for flag, mid in ids.items():
        provider_name, _ = parse_model_id(mid)
        if provider_name in ("scaffold", "local"):
            why = (
                "no model is configured, so crafter fell back to the scaffold"
                if (flag == "--model" and not model and provider_name == "scaffold")
                else f"{flag} {mid} cannot rehearse"
            )
            raise UsageError(f"crafter rehearse needs a real model: {why}", hint=NO_MODEL_HINT)
    built: dict[str, Any] = {}
    for mid in set(ids.values()):
        built[mid] = make(mid)
    return Roles(
        built[ids["--model"]], built[ids["--candidate-model"]], built[ids["--grader-model"]]
    )


def load_targets(paths: list[str]) -> list[Target]:
    """Scenario files (folders are searched); anything that cannot be rehearsed is a UsageError
    naming the file and what is missing."""
    from crafter.domain import ScenarioFileError
    from crafter.domain.files import FileReadError, read_bounded
    from crafter.domain.library import list_scenario_files
    from crafter.domain.yamlio import load_with_lines, parse_scenario_with_lines

    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = list_scenario_files(p)
            if not found:
                raise UsageError(f"{p} holds no scenario YAML files")
            files += found
        elif p.is_file():
            if p.suffix.lower() not in (".yaml", ".yml"):
                raise UsageError(
                    f"{p}: crafter rehearse needs a scenario YAML file",
                    hint="a question in prose has no rubric to grade on; crafter lint checks it",
                )
            files.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    targets = []
    for f in files:
        try:
            text = read_bounded(f).decode("utf-8")
        except (FileReadError, UnicodeDecodeError) as exc:
            raise UsageError(f"{f}: cannot read it ({exc})") from None
        try:
            data, _ = load_with_lines(text)
        except Exception:  # the full parse below reports the YAML problem with its line
            data = None
        if isinstance(data, dict):
            for key, what in (("rubric", "rubric rows"), ("hooks", "hooks")):
                if not data.get(key):
                    raise UsageError(
                        f"{f}: the scenario has no {what}, so it cannot be rehearsed",
                        hint="rehearsal pushes on the hooks and grades every persona on the "
                        "rubric's rows; add them (crafter validate shows the schema)",
                    )
        try:
            scenario, lines = parse_scenario_with_lines(text, str(f))
        except ScenarioFileError as exc:
            first = exc.problems[0].render() if exc.problems else "not a valid scenario"
            raise UsageError(
                f"{f}: not a valid scenario: {first}",
                hint="crafter validate lists every problem",
            ) from None
        targets.append(Target(str(f), scenario, lines))
    return targets


DEFAULT_CONCURRENCY = 4


def default_concurrency(targets: list[Target]) -> tuple[int, str]:
    """``concurrency`` from the scenarios' crafter.toml (the smallest when their libraries
    differ), else 4; with where it came from."""
    from crafter.domain.library import LibraryError, nearest_library_config

    found: dict[Path, int] = {}
    for folder in {Path(t.path).parent for t in targets}:
        try:
            near = nearest_library_config(folder)
        except LibraryError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
        if near is not None and near[1].concurrency is not None:
            found[near[0]] = near[1].concurrency
    if not found:
        return DEFAULT_CONCURRENCY, "the default"
    path = min(found, key=lambda p: (found[p], str(p)))
    return found[path], f"concurrency in {path}"


def cache_dir() -> Path:
    from crafter.resources import cache_root

    return cache_root() / "rehearsal"
