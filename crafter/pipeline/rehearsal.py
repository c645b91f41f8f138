"""Rehearsal: simulated interviews of a scenario, one per candidate persona, graded on its rubric.

An interviewer model plays the scenario (the opening is the premise, read out as written; on_ask
facts only when asked; hooks pushed; traps' follow-ups used), a candidate model plays a persona
kept as data under ``prompts/personas/``, and a grader model scores the persona on every rubric
signal from the candidate's words alone, quoting them. Quotes are checked against the transcript:
one that the candidate never said is dropped, and a hire-or-better level with no real quote is
capped at lean hire.

Every call goes through a content-addressed cache (the key covers the scenario's content digest,
its id, the persona and its version, the prompt versions, the models and the call's messages), so
a rerun of an unchanged scenario makes no call, and a rehearsal cut short by a provider fault
resumes without asking again what was already answered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from crafter.domain import Scenario, atomic_write_text, content_digest
from crafter.domain.scenario import SIGNALS, Signal
from crafter.errors import UsageError
from crafter.prompts import load_prompt
from crafter.providers import Message, Provider, Usage
from crafter.resources import data_dir

LEVELS = ("no_hire", "lean_hire", "hire", "strong_hire")
Level = Literal["no_hire", "lean_hire", "hire", "strong_hire"]
RANK = {level: i for i, level in enumerate(LEVELS)}
DEFAULT_TURNS = 6
PROMPTS = ("rehearse_interviewer", "rehearse_candidate", "rehearse_grader")

_Say = Annotated[str, StringConstraints(min_length=1, max_length=3000, strip_whitespace=True)]
_Quote = Annotated[str, StringConstraints(min_length=1, max_length=400, strip_whitespace=True)]
_Reason = Annotated[str, StringConstraints(max_length=600, strip_whitespace=True)]
_Id = Annotated[str, StringConstraints(max_length=80)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InterviewerTurn(_Strict):
    message: _Say
    revealed: list[_Id] = Field(default_factory=list, max_length=6)
    hook: _Id | None = None
    trap: int | None = Field(default=None, ge=1, le=15)
    done: bool = False


class CandidateTurn(_Strict):
    message: _Say


class SignalScore(_Strict):
    signal: Signal
    level: Level
    evidence: list[_Quote] = Field(default_factory=list, max_length=3)
    reason: _Reason = ""


class GraderReport(_Strict):
    scores: list[SignalScore] = Field(min_length=1, max_length=len(SIGNALS))


# -- personas ------------------------------------------------------------------------------------


class Persona(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
    version: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    role: Literal["strong", "smooth", "neglect"]
    neglects: list[Signal] = Field(default_factory=list, max_length=len(SIGNALS))
    corner: Signal | None = None
    brief: Annotated[str, StringConstraints(min_length=1, max_length=2000)]

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


@cache
def load_personas() -> tuple[Persona, ...]:
    """The personas under prompts/personas/, strong and smooth talker first."""
    out = []
    for path in sorted((data_dir("prompts") / "personas").glob("*.yaml")):
        try:
            out.append(Persona.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))))
        except (ValidationError, yaml.YAMLError) as exc:
            raise UsageError(f"persona file {path} is not valid: {exc}") from None
    order = {"strong": 0, "smooth": 1, "neglect": 2}
    return tuple(sorted(out, key=lambda p: (order[p.role], p.id)))


def pick_personas(ids: list[str] | None) -> tuple[Persona, ...]:
    known = load_personas()
    if not ids:
        return known
    by_id = {p.id: p for p in known}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise UsageError(
            f"unknown persona(s) {', '.join(unknown)}", hint=f"known: {', '.join(by_id)}"
        )
    return tuple(p for p in known if p.id in ids)


# -- what each role sees ---------------------------------------------------------------------


def opening(s: Scenario) -> str:
    """The interviewer's first message: the premise and the upfront facts, as written."""
    upfront = [c.text for c in s.context if c.reveal == "upfront"]
    return s.premise + ("\n\n" + "\n".join(f"- {t}" for t in upfront) if upfront else "")


def interviewer_brief(s: Scenario) -> str:
    lines = [f"Title: {s.title}", "", "Premise (already read to the candidate):", s.premise, ""]
    held = [c for c in s.context if c.reveal == "on_ask"]
    if held:
        lines.append("Facts you hold, to reveal only when asked (id: fact):")
        lines += [f"- {c.id}: {c.text}" for c in held]
    lines.append("Hooks to push on (id: detail -> the decision it forces):")
    lines += [f"- {h.id}: {h.detail} -> {h.decision_forced}" for h in s.hooks]
    if s.questions:
        lines.append("Good questions and your prepared answers:")
        lines += [f"- {q.question} -> {q.answer}" for q in s.questions]
    if s.traps:
        lines.append("Traps (number: generic answer -> your follow-up):")
        lines += [f"- {i}: {t.generic_answer} -> {t.follow_up}" for i, t in enumerate(s.traps, 1)]
    return "\n".join(lines)


def rubric_text(s: Scenario) -> str:
    return "\n".join(
        f"- {r.signal}: no_hire: {r.no_hire} | lean_hire: {r.lean_hire} | hire: {r.hire} | "
        f"strong_hire: {r.strong_hire}"
        for r in s.rubric
    )


@dataclass
class Turn:
    speaker: Literal["interviewer", "candidate"]
    text: str
    revealed: list[str] = field(default_factory=list)
    hook: str | None = None
    trap: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker, "text": self.text, "revealed": self.revealed,
            "hook": self.hook, "trap": self.trap,
        }  # fmt: skip


def transcript_text(turns: list[Turn], *, you: str | None = None) -> str:
    names: dict[str, str] = {"interviewer": "Interviewer", "candidate": "Candidate"}
    if you:
        names[you] = "You"
    return "\n\n".join(f"{names[t.speaker]}: {t.text}" for t in turns)


def candidate_messages(persona: Persona, turns: list[Turn]) -> list[Message]:
    """The candidate prompt: the persona and the conversation so far, as the candidate hears it."""
    return load_prompt("rehearse_candidate").render(
        persona_id=persona.id,
        persona_name=persona.name,
        brief=persona.brief,
        transcript=transcript_text(turns, you="candidate"),
    )


def candidate_words(turns: list[Turn]) -> str:
    """What the grader sees: the candidate's answers, numbered, nothing the interviewer said."""
    said = [t.text for t in turns if t.speaker == "candidate"]
    return "\n\n".join(f"[answer {i}] {text}" for i, text in enumerate(said, 1))


# -- cache ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Roles:
    interviewer: Provider
    candidate: Provider
    grader: Provider

    @property
    def models(self) -> dict[str, str]:
        return {
            "interviewer": self.interviewer.model_id,
            "candidate": self.candidate.model_id,
            "grader": self.grader.model_id,
        }


def rehearsal_key(s: Scenario, persona: Persona, roles: Roles, turns: int) -> str:
    """What a persona's rehearsal depends on: content, scenario, persona, prompts and models."""
    prompts = [load_prompt(p).ref for p in PROMPTS]
    blob = json.dumps([content_digest(s), s.id, persona.ref, prompts, roles.models, turns])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class CallLog:
    """Tokens and calls of one persona's rehearsal, cached calls included."""

    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    live: int = 0


class CallCache:
    """One JSON file per answered call, under ``<root>/<rehearsal key>/``."""

    def __init__(self, root: Path, key: str) -> None:
        self.dir = Path(root) / key

    def _path(self, n: int, role: str, messages: list[Message]) -> Path:
        blob = json.dumps([role, [(m.role, m.content) for m in messages]], ensure_ascii=False)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:24]
        return self.dir / f"{n:02d}-{role}-{digest}.json"

    def call(
        self,
        n: int,
        role: str,
        provider: Provider,
        messages: list[Message],
        schema: type[Any],
        log: CallLog,
        max_tokens: int,
    ) -> Any:
        path = self._path(n, role, messages)
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                value = schema.model_validate(data["value"])
                log.usage.add(Usage(**data["usage"]))
                log.calls += 1
                return value
            except (ValueError, KeyError, TypeError, ValidationError):
                pass  # a damaged entry is asked again
        gen = provider.generate(messages, schema, max_tokens=max_tokens)
        log.usage.add(gen.usage)
        log.calls += 1
        log.live += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        usage = {
            "input_tokens": gen.usage.input_tokens,
            "output_tokens": gen.usage.output_tokens,
            "cost_usd": gen.usage.cost_usd,
        }
        # Not fsynced: an entry a machine crash empties is damaged, so asked again (above).
        atomic_write_text(
            path,
            json.dumps({"value": gen.value.model_dump(mode="json"), "usage": usage}),
            durable=False,
        )
        return gen.value


# -- one persona -----------------------------------------------------------------------------


@dataclass
class PersonaRun:
    scenario_id: str
    persona: str
    status: Literal["ok", "failed"]
    turns: list[Turn] = field(default_factory=list)
    scores: dict[str, SignalScore] = field(default_factory=dict)
    log: CallLog = field(default_factory=CallLog)
    error: str = ""
    cached: bool = False

    def level(self, signal: str) -> int:
        score = self.scores.get(signal)
        return RANK[score.level] if score else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario_id,
            "persona": self.persona,
            "status": self.status,
            "error": self.error,
            "transcript": [t.as_json() for t in self.turns],
            "scores": {k: v.model_dump(mode="json") for k, v in self.scores.items()},
            "usage": {
                "input_tokens": self.log.usage.input_tokens,
                "output_tokens": self.log.usage.output_tokens,
                "cost_usd": self.log.usage.cost_usd,
                "calls": self.log.calls,
            },
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> PersonaRun:
        u = data["usage"]
        return PersonaRun(
            data["scenario"], data["persona"], data["status"],
            [Turn(**t) for t in data["transcript"]],
            {k: SignalScore.model_validate(v) for k, v in data["scores"].items()},
            CallLog(Usage(u["input_tokens"], u["output_tokens"], u["cost_usd"]), u["calls"], 0),
            data.get("error", ""), cached=True,
        )  # fmt: skip


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[\"'“”‘’]", "", text).lower().split())


def checked_scores(s: Scenario, report: GraderReport, said: str) -> dict[str, SignalScore]:
    """One score per rubric signal: quotes the candidate never said are dropped, a level of hire
    or better without a real quote is capped at lean hire, a signal left out is no hire."""
    heard = _norm(said)
    given = {sc.signal: sc for sc in report.scores}
    out: dict[str, SignalScore] = {}
    for row in s.rubric:
        sc = given.get(row.signal)
        if sc is None:
            out[row.signal] = SignalScore(
                signal=row.signal, level="no_hire", reason="the grader gave no score"
            )
            continue
        quotes = [q for q in sc.evidence if _norm(q) and _norm(q) in heard]
        level, reason = sc.level, sc.reason
        if RANK[level] >= RANK["hire"] and not quotes:
            level = "lean_hire"
            reason = f"capped at lean hire: no quote the candidate said. {reason}"[:600]
        out[row.signal] = SignalScore(
            signal=row.signal, level=level, evidence=quotes, reason=reason
        )
    return out


def rehearse_persona(
    s: Scenario,
    persona: Persona,
    roles: Roles,
    cache_root: Path,
    *,
    turns: int = DEFAULT_TURNS,
    on_call: Callable[[], None] | None = None,
) -> PersonaRun:
    """Play and grade one persona; a provider failure returns a failed run (never raises it)."""
    from crafter.errors import CrafterError

    key = rehearsal_key(s, persona, roles, turns)
    calls = CallCache(cache_root, key)
    result_path = calls.dir / "result.json"
    if result_path.is_file():
        try:
            return PersonaRun.from_json(json.loads(result_path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, ValidationError):
            pass
    run = PersonaRun(s.id, persona.id, "ok")
    run.turns.append(Turn("interviewer", opening(s)))
    held = {c.id for c in s.context if c.reveal == "on_ask"}
    hooks = {h.id for h in s.hooks}
    iv, grade = load_prompt(PROMPTS[0]), load_prompt(PROMPTS[2])
    brief = interviewer_brief(s)
    n = 0

    def ask(role: str, provider: Provider, messages: list[Message], schema: type[Any]) -> Any:
        nonlocal n
        n += 1
        value = calls.call(n, role, provider, messages, schema, run.log, 1500)
        if on_call is not None:
            on_call()
        return value

    try:
        for t in range(turns):
            answer: CandidateTurn = ask(
                "candidate", roles.candidate, candidate_messages(persona, run.turns), CandidateTurn
            )
            run.turns.append(Turn("candidate", answer.message))
            if t == turns - 1:
                break
            move: InterviewerTurn = ask(
                "interviewer",
                roles.interviewer,
                iv.render(scenario=brief, transcript=transcript_text(run.turns)),
                InterviewerTurn,
            )
            run.turns.append(
                Turn(
                    "interviewer",
                    move.message,
                    [r for r in move.revealed if r in held],
                    move.hook if move.hook in hooks else None,
                    move.trap if move.trap and move.trap <= len(s.traps) else None,
                )
            )
            if move.done:
                break
        said = candidate_words(run.turns)
        report: GraderReport = ask(
            "grader",
            roles.grader,
            grade.render(rubric=rubric_text(s), candidate=said),
            GraderReport,
        )
        run.scores = checked_scores(s, report, said)
    except CrafterError as exc:
        run.status, run.error = "failed", exc.message
        return run
    calls.dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(result_path, json.dumps(run.as_json(), ensure_ascii=False))
    return run
