"""Persona-faithful canned candidates, a scripted interviewer and a keyword grader, at the
provider seam: the responder takes (messages, schema) and returns what a model would."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from crafter.domain import Scenario
from crafter.evals.pacing import key_terms
from crafter.pipeline.rehearsal import CandidateTurn, GraderReport, InterviewerTurn
from crafter.providers import Message

GENERIC = (
    "I would train a neural network with softmax and cross-entropy. I would tune "
    "hyperparameters with a grid search. I would watch false positives and false negatives. "
    "I would handle class imbalance, label noise and overfitting. I would monitor drift."
)


def _role(messages: Sequence[Message]) -> str:
    system = messages[0].content
    if system.startswith("You are the interviewer"):
        return "interviewer"
    if system.startswith("You are playing a candidate"):
        return "candidate"
    return "grader"


def _persona(messages: Sequence[Message]) -> str:
    m = re.search(r"^Persona: ([a-z0-9-]+)", messages[0].content, re.M)
    assert m, "the candidate prompt names its persona"
    return m.group(1)


def candidate_says(s: Scenario, persona: str, turn: int) -> str:
    rows = {r.signal: r for r in s.rubric}
    if persona == "strong":
        row = s.rubric[turn % len(s.rubric)]
        q = s.questions[turn % len(s.questions)].question
        return f"{q} Given that, {row.hire} {row.strong_hire}"
    if persona == "smooth-talker":
        return GENERIC
    if persona == "one-corner":
        m = rows["modeling"]
        return f"The model is what matters. {m.hire} {m.strong_hire}"
    if persona == "off-track":
        m, e = rows["modeling"], rows["evaluation"]
        return f"I would optimise homepage click-through instead. {m.hire} {e.hire}"
    raise AssertionError(persona)


def _share(anchor: str, heard: set[str]) -> float:
    terms = key_terms(anchor)
    return len(terms & heard) / len(terms) if terms else 0.0


def grade(s: Scenario, said: str) -> dict[str, Any]:
    """A keyword grader: the highest level whose anchor's key terms the candidate mostly used,
    with the sentence that shares most of them as the quote."""
    heard = key_terms(said)
    sentences = [x.strip() for x in re.split(r"(?<=[.?!])\s+|\n+", said) if x.strip()]
    sentences = [re.sub(r"^\[answer \d+\]\s*", "", x) for x in sentences]
    scores = []
    for row in s.rubric:
        level = "no_hire"
        anchor = row.no_hire
        for name in ("strong_hire", "hire", "lean_hire"):
            if _share(getattr(row, name), heard) >= 0.6:
                level, anchor = name, getattr(row, name)
                break
        terms = key_terms(anchor)
        best = max(sentences, key=lambda x: len(key_terms(x) & terms), default="")
        scores.append(
            {
                "signal": row.signal,
                "level": level,
                "evidence": [best[:300]] if best else [],
                "reason": f"matched the {level} anchor",
            }
        )
    return {"scores": scores}


def responder(s: Scenario) -> Callable[[Sequence[Message], type[BaseModel]], Any]:
    def respond(messages: Sequence[Message], schema: type[BaseModel]) -> Any:
        role = _role(messages)
        user = messages[-1].content
        if role == "candidate":
            assert schema is CandidateTurn
            turn = user.count("\n\nYou: ") + (1 if "\nYou: " in user[:1] else 0)
            return {"message": candidate_says(s, _persona(messages), turn)}
        if role == "interviewer":
            assert schema is InterviewerTurn
            k = user.count("Interviewer: ") - 1
            hook = s.hooks[k % len(s.hooks)]
            held = [c.id for c in s.context if c.reveal == "on_ask"]
            last = user.rsplit("Candidate: ", 1)[-1]
            revealed = [held[k % len(held)]] if held and "?" in last else []
            return {
                "message": f"Here is a detail: {hook.detail} What would you decide?",
                "revealed": revealed,
                "hook": hook.id,
                "done": False,
            }
        assert schema is GraderReport
        m = re.search(r"<candidate>\n(.*)\n</candidate>", user, re.S)
        assert m
        return grade(s, m.group(1))

    return respond
