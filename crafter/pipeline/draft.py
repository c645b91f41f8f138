"""The drafting façade: validate a request, run the staged pipeline, return the scenario."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crafter.domain import MAX_SEED_CHARS, Scenario
from crafter.domain.scenario import LEVELS
from crafter.errors import UsageError
from crafter.pipeline.events import EventSink, ignore
from crafter.pipeline.staged import CORPUS_NONE, PipelineConfig, PipelineResult, run_pipeline
from crafter.pipeline.worksheet import scaffold_kit
from crafter.prompts import load_prompt
from crafter.providers import Provider


@dataclass(frozen=True)
class DraftRequest:
    seed: str
    level: str = "staff"
    as_of: dt.date | None = None

    def checked(self) -> DraftRequest:
        """Normalise and validate; raises UsageError saying what to change."""
        seed = self.seed.strip()
        if not seed:
            raise UsageError(
                "the seed is empty",
                hint='describe the user need, e.g. crafter draft "route questions in our #ask-eng '
                'Slack channel to people who can answer them"',
            )
        if len(seed) > MAX_SEED_CHARS:
            raise UsageError(
                f"the seed is {len(seed):,} characters; the limit is {MAX_SEED_CHARS:,}",
                hint="a seed is the user need in a few sentences; keep background material in a "
                "reference corpus instead (crafter index --add)",
            )
        if not _has_words(seed):
            raise UsageError(
                f"the seed {seed[:40]!r} does not describe a need: it has no words to draft from",
                hint='write the user need in a sentence, e.g. "route questions in our #ask-eng '
                'Slack channel to people who can answer them"',
            )
        if self.level not in LEVELS:
            raise UsageError(
                f"unknown level {self.level!r}", hint=f"use one of: {', '.join(LEVELS)}"
            )
        return DraftRequest(seed, self.level, self.as_of or dt.date.today())


def _has_words(seed: str) -> bool:
    """At least two words of two or more letters, or four letters of a script written without
    spaces (Chinese, Japanese, Thai...): 'x', '???' and '...' are not needs."""
    words = [w for w in seed.split() if sum(c.isalpha() for c in w) >= 2]
    if len(words) >= 2:
        return True
    unspaced = sum(1 for c in seed if c.isalpha() and ord(c) >= 0x0E00)
    return unspaced >= 4


@dataclass(frozen=True)
class DraftResult:
    scenario: Scenario
    seconds: float
    pipeline: PipelineResult | None = None


def inputs_hash(req: DraftRequest, model_id: str, prompt_ref: str, corpus_version: str) -> str:
    """A content hash of what determines a draft: seed, level, model, prompt versions, corpus.

    The as-of date is left out on purpose: regenerating a library on a new day must not redraft
    every scenario when nothing else changed.
    """
    blob = json.dumps(
        [req.seed.strip(), req.level, model_id, prompt_ref, corpus_version], ensure_ascii=False
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def current_prompt_ref(provider: Provider, *, research: bool = False, rounds: int = 0) -> str:
    """The prompt versions a draft with ``provider`` would use now."""
    if not provider.generates_text:
        return scaffold_kit().ref
    names = (["frame", "notes"] if research else []) + ["draft"] + (["revise"] if rounds else [])
    return "+".join(load_prompt(n).ref for n in names)


def draft_inputs_key(
    req: DraftRequest,
    provider: Provider,
    index: Any = None,
    rounds: int = 0,
    *,
    corpus_version: str | None = None,
) -> str:
    """The cache key a draft of ``req`` with ``provider`` would get now (see ``inputs_hash``).

    ``corpus_version`` overrides the index's recorded version (a dry run computes what a sync
    would record without running it).
    """
    if index is None:
        corpus = CORPUS_NONE
    else:
        corpus = corpus_version if corpus_version is not None else index.corpus_version
    ref = current_prompt_ref(provider, research=index is not None, rounds=rounds)
    return inputs_hash(req.checked(), provider.model_id, ref, corpus)


def draft_scenario(
    req: DraftRequest,
    provider: Provider,
    *,
    index: Any = None,
    rounds: int = 0,
    research_model: Provider | None = None,
    judge: Provider | None = None,
    runs_root: Path | None = None,
    events: EventSink = ignore,
    cancel: threading.Event | None = None,
    new_seed: bool = True,
) -> DraftResult:
    """Draft one scenario. Without ``index`` research is skipped (one model call, no citations)."""
    req = req.checked()
    assert req.as_of is not None
    config = PipelineConfig(
        model=provider, research_model=research_model, judge=judge, rounds=rounds, index=index
    )
    key = draft_inputs_key(req, provider, index, rounds)
    result = run_pipeline(
        req.seed,
        req.level,
        req.as_of,
        config,
        runs_root=runs_root,
        events=events,
        cancel=cancel,
        inputs_hash=key,
        new_seed=new_seed,
    )
    return DraftResult(result.scenario, result.seconds, result)
