"""The staged drafting pipeline: frame -> research -> draft -> critique -> revise, resumable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from crafter.domain import Scenario, to_yaml
from crafter.domain.atomic import atomic_write_text
from crafter.errors import UsageError
from crafter.evals.findings import Finding
from crafter.pipeline import stages
from crafter.pipeline.events import Cancelled, EventSink, StageEvent, ignore
from crafter.pipeline.models import DraftOutput, Frame, Research
from crafter.pipeline.runs import RunFolder, StageRecord, owner
from crafter.providers import Provider

CORPUS_NONE = "none"


@dataclass
class PipelineConfig:
    """Which models do what. ``research_model`` (frame + notes) defaults to ``model``; without an
    ``index`` the research stage is skipped and the draft cites nothing."""

    model: Provider
    research_model: Provider | None = None
    judge: Provider | None = None
    judge_votes: int = 1
    rounds: int = 2
    index: Any = None  # a crafter.retrieval.index.CorpusIndex
    k_per_question: int = 4
    max_docs: int = 8
    # Document ids the user excluded after looking at the research (the TUI's toggles).
    exclude_docs: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model.model_id,
            "research_model": (self.research_model or self.model).model_id,
            "judge": self.judge.model_id if self.judge else None,
            "rounds": self.rounds,
            "index": str(self.index.dir) if self.index is not None else None,
        }


@dataclass
class PipelineResult:
    scenario: Scenario
    run: RunFolder | None
    records: list[StageRecord]
    findings: list[Finding]
    dropped_citations: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _known_urls(index: Any) -> frozenset[str]:
    from crafter.evals.lint import corpus_urls
    from crafter.retrieval.corpus import normalize_url

    urls = set(corpus_urls())
    if index is not None:
        for meta in index.documents().values():
            urls.add(normalize_url(meta["url"]))
            urls.update(normalize_url(u) for u in meta.get("also_at", []))
    return frozenset(urls)


def _refuse_non_needs(seed: str) -> None:
    """A seed that reads like no ML need at all gets a message, not a scenario built on nothing."""
    from crafter.retrieval.kinds import NEED_FLOOR, need_closeness

    closeness = need_closeness(seed)
    if closeness is not None and closeness < NEED_FLOOR:
        raise UsageError(
            f"the seed {seed[:60]!r} does not read like a product or user need (closeness "
            f"{closeness:.2f} to the kinds of ML problem crafter knows; a need scores {NEED_FLOOR} "
            "or more)",
            hint='say who needs what and why, e.g. "route questions in our #ask-eng Slack channel '
            'to the people who can answer them"',
        )


def run_pipeline(
    seed: str,
    level: str,
    as_of: dt.date,
    config: PipelineConfig,
    *,
    runs_root: Path | None = None,
    resume: RunFolder | None = None,
    events: EventSink = ignore,
    cancel: threading.Event | None = None,
    inputs_hash: str | None = None,
    new_seed: bool = True,
) -> PipelineResult:
    """Draft a scenario in stages. With ``runs_root`` every stage's artifact is written to a new run
    folder; with ``resume`` finished stages are read back instead of redone."""
    started = time.perf_counter()
    if config.index is not None or not config.model.generates_text:
        # Research and the scaffold embed the seed: the model's session builds in a thread
        # (onnxruntime releases the interpreter) while the stages read their data.
        from crafter.retrieval.embedding import shared_embedder

        shared_embedder().preload()
    if resume is None and new_seed:  # a redraft's seed was checked when it was first drafted
        _refuse_non_needs(seed)
    run = resume or (RunFolder.create(runs_root, seed) if runs_root is not None else None)
    if run is not None and resume is None:
        run.write_meta(
            {
                "request": {"seed": seed, "level": level, "as_of": as_of.isoformat()},
                "config": config.describe(),
                "status": "running",
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                **owner(),
            }
        )
    elif run is not None:
        run.update_meta(status="running", error=None, **owner())
    ctx = stages.Ctx(
        seed=seed, level=level, as_of=as_of, model=config.model,
        research_model=config.research_model or config.model, events=events,
        cancelled=(cancel.is_set if cancel is not None else (lambda: False)),
    )  # fmt: skip
    records: list[StageRecord] = []

    def step(index: int, name: str, fn: Callable[[], StageRecord]) -> StageRecord:
        if run is not None:
            done = run.load(index, name)
            if done is not None:
                events(
                    StageEvent(
                        name,
                        "finished",
                        "resumed from the run folder",
                        done.input_tokens,
                        done.output_tokens,
                        done.cost_usd,
                        done.seconds,
                    )
                )
                records.append(done)
                return done
        ctx.check_cancel()
        events(StageEvent(name, "started"))
        t0 = time.perf_counter()
        try:
            record = fn()
        except Cancelled:
            raise
        except Exception as exc:
            events(StageEvent(name, "failed", str(exc), seconds=time.perf_counter() - t0))
            if run is not None:
                run.update_meta(status="failed", failed_stage=name, error=str(exc)[:2000])
            raise
        record = dataclasses.replace(record, name=name)  # critique-2, not just critique
        if run is not None:
            run.save(index, record)
        records.append(record)
        events(
            StageEvent(
                name,
                "finished",
                "",
                record.input_tokens,
                record.output_tokens,
                record.cost_usd,
                record.seconds,
            )
        )
        return record

    try:
        if config.index is None:
            why = "research is off: drafting without the reference corpus (no citations)"
            events(StageEvent("frame", "skipped", why))
            events(StageEvent("research", "skipped", why))
            res = Research(docs=[], notes=[])
        else:
            fr = step(1, "frame", lambda: stages.frame(ctx))
            frame = Frame.model_validate(fr.output)
            rr = step(
                2,
                "research",
                lambda: stages.research(
                    ctx,
                    frame,
                    config.index,
                    k=config.k_per_question,
                    max_docs=config.max_docs,
                    exclude=config.exclude_docs,
                ),
            )
            res = Research.model_validate(rr.output)
        corpus_version = config.index.corpus_version if config.index is not None else CORPUS_NONE
        dr = step(3, "draft", lambda: stages.draft(ctx, res))
        out = DraftOutput.model_validate(dr.output["content"])
        dropped = list(dr.output.get("dropped_citations", []))
        key = inputs_hash or ""
        scenario = stages.assemble(ctx, out, res, records, corpus_version, key)
        urls = _known_urls(config.index)
        cr = step(
            4,
            "critique",
            partial(stages.critique, ctx, scenario, urls, config.judge, config.judge_votes),
        )
        for round_no in range(1, config.rounds + 1):
            errors = stages.errors_in(cr)
            if not errors:
                break
            if not config.model.generates_text:
                events(
                    StageEvent(
                        "revise",
                        "skipped",
                        f"{len(errors)} error finding(s) need the interviewer: the scaffold cannot revise",
                    )
                )
                break
            rv = step(
                3 + 2 * round_no,
                f"revise-{round_no}",
                partial(stages.revise, ctx, scenario, errors, res, round_no),
            )
            out = DraftOutput.model_validate(rv.output["content"])
            dropped += rv.output.get("dropped_citations", [])
            scenario = stages.assemble(ctx, out, res, records, corpus_version, key)
            cr = step(
                4 + 2 * round_no,
                f"critique-{round_no}",
                partial(stages.critique, ctx, scenario, urls, config.judge, config.judge_votes),
            )
        # Provenance counts every stage, including the final critique's judge calls.
        scenario = stages.assemble(ctx, out, res, records, corpus_version, key)
    except Cancelled:
        events(StageEvent("run", "failed", "cancelled"))
        if run is not None:
            run.update_meta(status="cancelled")
        raise
    findings = [Finding(**f) for f in cr.output["findings"]]
    if run is not None:
        atomic_write_text(run.path / "scenario.yaml", to_yaml(scenario))
        run.update_meta(
            status="done", finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        )
    return PipelineResult(
        scenario, run, records, findings, sorted(set(dropped)), time.perf_counter() - started
    )


def resume_run(path: Path, config: PipelineConfig, **kwargs: Any) -> PipelineResult:
    """Continue the run in ``path`` from its last finished stage."""
    run = RunFolder.open(path)
    meta = run.read_meta()
    req = meta["request"]
    return run_pipeline(
        req["seed"], req["level"], dt.date.fromisoformat(req["as_of"]), config, resume=run, **kwargs
    )
