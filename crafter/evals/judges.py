"""LLM judges: specificity, freshness and ML depth, graded by a model with written rubrics.

Each judge is a check that uses a provider. Votes are majority-voted; verdicts are cached by
content hash + judge model + prompt version, so re-running CI on an unchanged library is free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crafter.domain.atomic import atomic_write_text
from crafter.evals.findings import FileResult, Finding
from crafter.prompts import load_prompt
from crafter.providers import Provider

JUDGES = ("specificity", "freshness", "ml_depth")
MAX_TEXT_CHARS = 24_000


class JudgeVerdict(BaseModel):
    """What a judge model returns for one question."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    verdict: Literal["pass", "fail"]
    reasons: list[Annotated[str, StringConstraints(max_length=300)]] = Field(max_length=5)
    evidence: Annotated[str, StringConstraints(max_length=400)]


@dataclass(frozen=True)
class JudgeOutcome:
    judge: str
    verdict: str
    score: float
    reasons: tuple[str, ...]
    evidence: str
    votes: int
    cached: bool


def cache_dir() -> Path:
    from crafter.resources import cache_root

    return cache_root() / "judges"


def _cache_key(
    text: str, judge: str, model_id: str, prompt_ref: str, votes: int, as_of: dt.date
) -> str:
    blob = json.dumps(
        [hashlib.sha256(text.encode()).hexdigest(), judge, model_id, prompt_ref, votes, str(as_of)]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def run_judge(
    judge: str, text: str, provider: Provider, *, votes: int = 1, as_of: dt.date
) -> JudgeOutcome:
    """Ask ``provider`` to grade ``text`` ``votes`` times and take the majority verdict."""
    prompt = load_prompt(f"judge_{judge}")
    key = _cache_key(text, judge, provider.model_id, prompt.ref, votes, as_of)
    path = cache_dir() / f"{key}.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            return JudgeOutcome(
                judge,
                data["verdict"],
                data["score"],
                tuple(data["reasons"]),
                data["evidence"],
                votes,
                True,
            )
        except (ValueError, KeyError):
            pass  # a damaged cache entry is simply recomputed
    messages = prompt.render(text=text[:MAX_TEXT_CHARS], as_of=as_of.isoformat())
    ballots = [
        provider.generate(messages, JudgeVerdict, max_tokens=800).value for _ in range(votes)
    ]
    tally = Counter(b.verdict for b in ballots)
    # Ties go to "fail": a judge that cannot agree has found something worth a look.
    verdict = "fail" if tally["fail"] >= tally["pass"] else "pass"
    winners = [b for b in ballots if b.verdict == verdict]
    outcome = JudgeOutcome(
        judge, verdict, float(statistics.median(b.score for b in ballots)),
        tuple(winners[0].reasons), winners[0].evidence, votes, False,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        path,
        json.dumps(
            {
                "verdict": outcome.verdict,
                "score": outcome.score,
                "reasons": list(outcome.reasons),
                "evidence": outcome.evidence,
            }
        ),
    )
    return outcome


def judge_findings(
    result: FileResult, text: str, provider: Provider, *, votes: int, as_of: dt.date
) -> None:
    """Run every judge on ``text`` and add ``judge.<name>`` findings and scores to ``result``."""
    for judge in JUDGES:
        outcome = run_judge(judge, text, provider, votes=votes, as_of=as_of)
        result.scores[f"judge.{judge}"] = outcome.score
        if outcome.verdict == "fail":
            result.findings.append(
                Finding(
                    f"judge.{judge}",
                    "error" if outcome.score <= 2 else "warning",
                    f"{judge.replace('_', ' ')} judged {outcome.score:g}/5 by {provider.model_id}"
                    + (f": {outcome.reasons[0]}" if outcome.reasons else ""),
                    evidence=outcome.evidence,
                    suggestion="; ".join(outcome.reasons[1:3]),
                )
            )
