"""Interviewer practice: a person plays the interviewer against a simulated candidate persona.

The candidate is the rehearsal's candidate (same prompt, same personas, one model call per turn);
the person types the interviewer's turns. When the practice ends, ``coverage`` tells which of the
scenario's hooks the person never raised and which rubric signals they never probed, by meaning
and by wording together: the MiniLM cosine between each of the person's turns and each hook (or
each signal's probes and hire anchor), and the share of the item's key terms the turn used. The
thresholds and the probes are data (``crafter/data/practice.yaml``). ``save_practice`` writes the
transcript and the coverage to a run folder.

Nothing here imports textual: the TUI's practice screen only calls these functions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from crafter.domain import Scenario, atomic_write_text
from crafter.domain.scenario import Signal
from crafter.errors import UsageError
from crafter.pipeline.rehearsal import (
    CandidateTurn,
    Persona,
    Turn,
    candidate_messages,
    opening,
    transcript_text,
)
from crafter.pipeline.runs import RunFolder
from crafter.providers import Generation, Message, Provider, Usage
from crafter.resources import package_data

if TYPE_CHECKING:
    import numpy as np

MAX_TURN_CHARS = 3000
END_WORDS = frozenset({"end", "/end", ":end"})
CANDIDATE_MAX_TOKENS = 1500

Embed = Callable[[Sequence[str]], "np.ndarray"]


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cosine: float = Field(ge=0, le=1)
    cosine_with_terms: float = Field(ge=0, le=1)
    overlap: float = Field(ge=0, le=1)
    min_terms: int = Field(ge=1, le=20)
    # A term in at least this share of the items (of three or more) is the scenario's own
    # vocabulary ("item" in a grocery scenario): it tells no item apart, so it is not counted.
    common: float = Field(default=0.5, gt=0, le=1)


class PracticeKnowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    hook: Thresholds
    signal: Thresholds
    probes: dict[Signal, list[Annotated[str, StringConstraints(min_length=1, max_length=300)]]]


@cache
def practice_knowledge() -> PracticeKnowledge:
    path = package_data("practice.yaml")
    try:
        return PracticeKnowledge.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, ValidationError, yaml.YAMLError) as exc:
        raise UsageError(f"{path} is not valid: {exc}") from None


# -- who can play the candidate -------------------------------------------------------------

PLAY_HINT = (
    "set a real model: CRAFTER_MODEL or model in the config file, e.g. anthropic:claude-sonnet-5-5 "
    "(with ANTHROPIC_API_KEY), openai:gpt-5.4-mini (with OPENAI_API_KEY) or "
    "openai-compatible:<model> (with CRAFTER_BASE_URL)"
)


def practice_model_problem(model_id: str) -> str | None:
    """Why ``model_id`` cannot play a candidate (None when it can)."""
    kind = model_id.strip().split(":", 1)[0]
    if kind == "scaffold":
        return (
            "The configured model is the scaffold, which is not a model: it writes no text, so it "
            f"cannot play a candidate. To practise, {PLAY_HINT}."
        )
    if kind == "local":
        return (
            f"The configured model is {model_id}, a 135M-parameter model that cannot hold an "
            f"interview, so it cannot play a candidate. To practise, {PLAY_HINT}."
        )
    return None


# -- the session ---------------------------------------------------------------------------


def is_end(text: str) -> bool:
    """Whether the person typed the command that ends the practice."""
    return text.strip().lower() in END_WORDS


@dataclass
class PracticeSession:
    """One practice: the opening (the premise, as written), then the person's turns and the
    candidate's answers, alternating."""

    scenario: Scenario
    persona: Persona
    model_id: str
    turns: list[Turn] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    started: str = ""

    @classmethod
    def start(cls, scenario: Scenario, persona: Persona, model_id: str) -> PracticeSession:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(
            scenario, persona, model_id, [Turn("interviewer", opening(scenario))], started=now
        )

    @property
    def asked(self) -> list[str]:
        """What the person said: every interviewer turn after the opening."""
        return [t.text for t in self.turns[1:] if t.speaker == "interviewer"]

    @property
    def awaiting_candidate(self) -> bool:
        return self.turns[-1].speaker == "interviewer"

    def say(self, text: str) -> Turn:
        """Add the person's turn; a UsageError for an empty or overlong one."""
        text = text.strip()
        if not text:
            raise UsageError("type a question or a remark for the candidate")
        if len(text) > MAX_TURN_CHARS:
            raise UsageError(f"a turn holds at most {MAX_TURN_CHARS:,} characters")
        turn = Turn("interviewer", text)
        self.turns.append(turn)
        return turn

    def candidate_prompt(self) -> list[Message]:
        return candidate_messages(self.persona, self.turns)

    def add_reply(self, gen: Generation[CandidateTurn]) -> Turn:
        self.usage.add(gen.usage)
        turn = Turn("candidate", gen.value.message)
        self.turns.append(turn)
        return turn

    def reply(self, provider: Provider) -> Turn:
        """Ask the candidate model for its next answer and add it."""
        return self.add_reply(ask_candidate(provider, self.candidate_prompt()))


def ask_candidate(provider: Provider, messages: list[Message]) -> Generation[CandidateTurn]:
    """One candidate answer (a model call: a UI calls it off its own thread)."""
    return provider.generate(messages, CandidateTurn, max_tokens=CANDIDATE_MAX_TOKENS)


# -- coverage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Covered:
    """One hook or signal: raised (probed) or not, and the turn that came closest."""

    kind: Literal["hook", "signal"]
    id: str
    label: str
    raised: bool
    turn: int | None  # 1-based index into the person's turns; None with no turn at all
    cosine: float
    shared: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "id": self.id, "label": self.label, "raised": self.raised,
            "turn": self.turn, "cosine": round(self.cosine, 3), "shared": list(self.shared),
        }  # fmt: skip


@dataclass(frozen=True)
class PracticeReport:
    hooks: list[Covered]
    signals: list[Covered]

    @property
    def unraised_hooks(self) -> list[Covered]:
        return [c for c in self.hooks if not c.raised]

    @property
    def unprobed_signals(self) -> list[Covered]:
        return [c for c in self.signals if not c.raised]

    def lines(self) -> list[str]:
        """The report as plain lines, for a screen or a Markdown file."""
        out = [f"Hooks raised: {len(self.hooks) - len(self.unraised_hooks)}/{len(self.hooks)}"]
        if self.unraised_hooks:
            out.append("Hooks never raised:")
            out += [f"- {c.id}: {c.label}" for c in self.unraised_hooks]
        out.append(
            f"Signals probed: {len(self.signals) - len(self.unprobed_signals)}/{len(self.signals)}"
        )
        if self.unprobed_signals:
            out.append("Signals never probed:")
            out += [f"- {c.label}" for c in self.unprobed_signals]
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "knowledge": practice_knowledge().version,
            "hooks": [c.as_json() for c in self.hooks],
            "signals": [c.as_json() for c in self.signals],
        }


def _terms(text: str) -> set[str]:
    from crafter.evals.pacing import key_terms

    return key_terms(text)


def _default_embed(texts: Sequence[str]) -> np.ndarray:
    from crafter.retrieval.embedding import shared_embedder

    return shared_embedder().embed(list(texts))


def _judge(
    kind: Literal["hook", "signal"],
    item_id: str,
    label: str,
    texts: list[str],
    terms: set[str],
    asked: list[str],
    asked_terms: list[set[str]],
    sims: Any,
    limits: Thresholds,
) -> Covered:
    """``sims``: (len(asked), len(texts)) cosines between the person's turns and the item's texts."""
    best: tuple[float, int, float, tuple[str, ...]] | None = None
    raised = False
    for i in range(len(asked)):
        cos = float(sims[i].max()) if len(texts) else 0.0
        shared = tuple(sorted(terms & asked_terms[i]))
        share = len(shared) / len(terms) if terms else 0.0
        hit = (
            cos >= limits.cosine
            or (len(shared) >= limits.min_terms and share >= limits.overlap)
            or (len(shared) >= limits.min_terms and cos >= limits.cosine_with_terms)
        )
        score = cos + share
        if hit and not raised:
            raised, best = True, (score, i, cos, shared)
        elif not raised and (best is None or score > best[0]):
            best = (score, i, cos, shared)
    if best is None:
        return Covered(kind, item_id, label, False, None, 0.0, ())
    _, i, cos, shared = best
    return Covered(kind, item_id, label, raised, i + 1, cos, shared)


def _distinctive(term_sets: list[set[str]], limits: Thresholds) -> list[set[str]]:
    """Each item's key terms without those most of the items share."""
    if len(term_sets) < 3:
        return term_sets
    counts: dict[str, int] = {}
    for terms in term_sets:
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
    common = {t for t, n in counts.items() if n / len(term_sets) >= limits.common}
    return [terms - common for terms in term_sets]


def coverage(s: Scenario, asked: Sequence[str], embed: Embed | None = None) -> PracticeReport:
    """Which hooks the person raised and which rubric signals they probed, turn by turn."""
    k = practice_knowledge()
    asked = [a for a in asked if a.strip()]
    hook_texts = [[h.detail, h.decision_forced] for h in s.hooks]
    signal_texts = [
        [*k.probes.get(row.signal, []), f"{row.signal}: {row.hire}"] for row in s.rubric
    ]
    flat = [t for group in hook_texts + signal_texts for t in group]
    if asked:
        import numpy as np

        vectors = (embed or _default_embed)([*asked, *flat])
        sims_all = np.asarray(vectors[: len(asked)]) @ np.asarray(vectors[len(asked) :]).T
    else:
        sims_all = None
    asked_terms = [_terms(a) for a in asked]
    col = 0

    def sims_for(n: int) -> Any:
        nonlocal col
        part = sims_all[:, col : col + n] if sims_all is not None else None
        col += n
        return part

    hook_terms = _distinctive([_terms(f"{h.detail} {h.decision_forced}") for h in s.hooks], k.hook)
    signal_terms = _distinctive([_terms(f"{r.signal} {r.hire}") for r in s.rubric], k.signal)
    hooks = [
        _judge("hook", h.id, h.detail, texts, terms, asked, asked_terms, sims_for(len(texts)),
               k.hook)
        for h, texts, terms in zip(s.hooks, hook_texts, hook_terms, strict=True)
    ]  # fmt: skip
    signals = [
        _judge("signal", row.signal, row.signal, texts, terms, asked, asked_terms,
               sims_for(len(texts)), k.signal)
        for row, texts, terms in zip(s.rubric, signal_texts, signal_terms, strict=True)
    ]  # fmt: skip
    return PracticeReport(hooks, signals)


# -- the run folder ----------------------------------------------------------------------


def practice_markdown(session: PracticeSession, report: PracticeReport | None) -> str:
    s = session.scenario
    lines = [
        f"# Practice: {s.title}",
        "",
        f"Candidate: {session.persona.name} ({session.persona.ref}), played by {session.model_id}",
        "",
        transcript_text(session.turns),
        "",
    ]
    if report is not None:
        lines += ["## Coverage", "", *report.lines(), ""]
    return "\n".join(lines)


def save_practice(
    session: PracticeSession, report: PracticeReport | None, runs_root: Path
) -> RunFolder:
    """Write the transcript (JSON and Markdown) and the coverage to a new run folder."""
    s = session.scenario
    folder = RunFolder.create(runs_root, f"practice {s.id}")
    u = session.usage
    data = {
        "scenario": s.id,
        "persona": session.persona.ref,
        "model": session.model_id,
        "transcript": [t.as_json() for t in session.turns],
        "coverage": report.as_json() if report is not None else None,
        "usage": {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cost_usd": u.cost_usd,
        },
    }
    atomic_write_text(
        folder.path / "transcript.json", json.dumps(data, indent=2, ensure_ascii=False)
    )
    atomic_write_text(folder.path / "transcript.md", practice_markdown(session, report))
    folder.write_meta(
        {
            "kind": "practice",
            "status": "finished",
            "seed": s.seed,
            "scenario": s.id,
            "persona": session.persona.ref,
            "model": session.model_id,
            "started": session.started,
            "ended": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "turns": len(session.asked),
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cost_usd": u.cost_usd,
        }
    )
    return folder
