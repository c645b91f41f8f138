"""``crafter draft``: one structured call to the chosen model, or the scaffold's worksheet."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

from crafter.domain import MAX_SEED_CHARS, Provenance, Scenario, ScenarioContent, slugify
from crafter.domain.scenario import LEVELS
from crafter.errors import UsageError
from crafter.pipeline.worksheet import build_worksheet, scaffold_kit
from crafter.prompts import load_prompt
from crafter.providers import Provider
from crafter.providers.pricing import price_table

CORPUS_VERSION_NONE = "none"


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
                hint='describe the user need, e.g. crafter draft "route '
                'questions in our #ask-eng Slack channel to people who can answer them"',
            )
        if len(seed) > MAX_SEED_CHARS:
            raise UsageError(
                f"the seed is {len(seed):,} characters; the limit is {MAX_SEED_CHARS:,}",
                hint="a seed is the user need in a few sentences; keep background material in a "
                "reference corpus instead",
            )
        if self.level not in LEVELS:
            raise UsageError(
                f"unknown level {self.level!r}", hint=f"use one of: {', '.join(LEVELS)}"
            )
        return DraftRequest(seed, self.level, self.as_of or dt.date.today())


@dataclass(frozen=True)
class DraftResult:
    scenario: Scenario
    seconds: float


def inputs_hash(req: DraftRequest, model_id: str, prompt_ref: str, corpus_version: str) -> str:
    """A content hash of what determines a draft: seed, level, model, prompt versions, corpus.

    The as-of date is left out on purpose: regenerating a library on a new day must not redraft
    every scenario when nothing else changed.
    """
    blob = json.dumps(
        [req.seed.strip(), req.level, model_id, prompt_ref, corpus_version], ensure_ascii=False
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def current_prompt_ref(provider: Provider) -> str:
    """The prompt version(s) a draft with ``provider`` would use now."""
    return load_prompt("draft").ref if provider.generates_text else scaffold_kit().ref


def draft_inputs_key(req: DraftRequest, provider: Provider) -> str:
    """The cache key a draft of ``req`` with ``provider`` would get now (see ``inputs_hash``)."""
    return inputs_hash(
        req.checked(), provider.model_id, current_prompt_ref(provider), CORPUS_VERSION_NONE
    )


def draft_scenario(req: DraftRequest, provider: Provider) -> DraftResult:
    """Draft one scenario for ``req`` with ``provider`` (the scaffold writes a worksheet)."""
    req = req.checked()
    assert req.as_of is not None
    started = time.perf_counter()
    if provider.generates_text:
        prompt = load_prompt("draft")
        messages = prompt.render(seed=req.seed, level=req.level, as_of=req.as_of.isoformat())
        gen = provider.generate(messages, ScenarioContent)
        content, usage, prompt_ref = gen.value, gen.usage, prompt.ref
        generator = "crafter.draft"
    else:
        content = build_worksheet(req.seed, req.level)
        usage = None
        prompt_ref = scaffold_kit().ref
        generator = "crafter.scaffold"
    provenance = Provenance(
        generator=generator,
        model=provider.model_id,
        prompt_version=prompt_ref,
        corpus_version=CORPUS_VERSION_NONE,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cost_usd=usage.cost_usd if usage else 0.0,
        price_as_of=price_table().as_of if usage else None,
        inputs_hash=inputs_hash(req, provider.model_id, prompt_ref, CORPUS_VERSION_NONE),
    )
    scenario = Scenario(
        id=slugify(content.title if provider.generates_text else req.seed),
        seed=req.seed,
        as_of=req.as_of,
        level=req.level,
        provenance=provenance,
        **content.model_dump(),
    )
    return DraftResult(scenario, time.perf_counter() - started)
