"""Pipeline: drafting stages and batch work over providers, prompts and evals."""

from crafter.pipeline.draft import DraftRequest, DraftResult, draft_inputs_key, draft_scenario
from crafter.pipeline.worksheet import build_worksheet

__all__ = ["DraftRequest", "DraftResult", "build_worksheet", "draft_inputs_key", "draft_scenario"]
