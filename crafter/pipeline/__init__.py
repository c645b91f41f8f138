"""Pipeline: the staged drafting pipeline and batch work over providers, retrieval and evals."""

from crafter.pipeline.draft import DraftRequest, DraftResult, draft_inputs_key, draft_scenario
from crafter.pipeline.events import Cancelled, EventSink, StageEvent
from crafter.pipeline.runs import RunFolder, RunSummary, list_runs
from crafter.pipeline.staged import PipelineConfig, PipelineResult, resume_run, run_pipeline
from crafter.pipeline.worksheet import build_worksheet

__all__ = [
    "Cancelled", "DraftRequest", "DraftResult", "EventSink", "PipelineConfig", "PipelineResult",
    "RunFolder", "RunSummary", "StageEvent", "build_worksheet", "draft_inputs_key", "draft_scenario",
    "list_runs", "resume_run", "run_pipeline",
]  # fmt: skip
