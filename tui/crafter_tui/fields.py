"""Field paths (``hooks[2].detail``) to screen places and back, and applying one edit.

The paths are the ones lint findings carry, so a finding can be jumped to. An edit goes through
the pydantic model's own validation on a copy: the scenario on screen is always a valid one.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from crafter.domain import Scenario

# The scenario's sections in reading order; "premise" also holds the title and the level.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("premise", "Premise"),
    ("context", "Context"),
    ("data", "Data"),
    ("constraints", "Constraints"),
    ("hooks", "Hooks"),
    ("questions", "Questions"),
    ("decisions", "Decisions"),
    ("rubric", "Rubric"),
    ("traps", "Traps"),
    ("references", "References"),
)
LIST_SECTIONS = frozenset(name for name, _ in SECTIONS if name != "premise")
PREMISE_FIELDS = ("title", "premise", "level")
# The field whose text names an item in the tree.
_LABEL_FIELD = {
    "context": "text", "data": "name", "constraints": "name", "hooks": "detail",
    "questions": "question", "decisions": "decision", "rubric": "signal",
    "traps": "generic_answer", "references": "title",
}  # fmt: skip
_LOCATION = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?")

Kind = Literal["text", "lines", "choice", "int"]


class EditError(Exception):
    """The edited value is not valid for the field; the message says why."""


@dataclass(frozen=True)
class Target:
    """A place in a scenario: a section, maybe one of its items, maybe one of its fields."""

    section: str
    index: int | None = None
    field: str | None = None

    @property
    def node(self) -> str:
        """The tree node that shows this place."""
        return self.section if self.index is None else f"{self.section}[{self.index}]"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    value: str
    choices: tuple[str, ...] = ()


def parse_location(location: str) -> Target:
    """The place a finding points at; anything not in a section (as_of, seed) is the premise."""
    loc = re.sub(r"\s*\(line \d+\)\s*$", "", location.strip())
    m = _LOCATION.match(loc)
    if m is None:
        return Target("premise")
    name, index, field = m.group(1), m.group(2), m.group(3)
    if name in LIST_SECTIONS:
        return Target(name, int(index) if index is not None else None, field)
    if name in PREMISE_FIELDS:
        return Target("premise", None, name)
    return Target("premise")


def parse_node(node: str) -> Target:
    return parse_location(node)


def item_at(scenario: Scenario, target: Target) -> BaseModel | None:
    """The model a node edits: the scenario itself for the premise, an item, or None."""
    if target.section == "premise":
        return scenario
    if target.index is None:
        return None
    items = getattr(scenario, target.section)
    return items[target.index] if 0 <= target.index < len(items) else None


def label(section: str, item: BaseModel) -> str:
    ident = getattr(item, "id", "")
    text = str(getattr(item, _LABEL_FIELD.get(section, ""), ""))
    return f"{ident}: {text}" if ident and section != "references" else text or ident


def _choices(annotation: Any) -> tuple[str, ...]:
    if typing.get_origin(annotation) is Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return ()


def _kind(annotation: Any) -> Kind:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice"
    if origin is list:
        return "lines"
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(args[0]) if args else "text"
    if annotation is int:
        return "int"
    return "text"


def fields_of(target: Target, item: BaseModel) -> list[FieldSpec]:
    """What the editor shows for ``item``, in the model's field order."""
    model_fields = type(item).model_fields
    names = PREMISE_FIELDS if target.section == "premise" else tuple(model_fields)
    out = []
    for name in names:
        annotation = model_fields[name].annotation
        kind = _kind(annotation)
        value = getattr(item, name)
        text = "\n".join(str(v) for v in value) if kind == "lines" else str(value)
        out.append(FieldSpec(name, kind, text, _choices(annotation)))
    return out


def current_text(scenario: Scenario, target: Target, field: str) -> str | None:
    item = item_at(scenario, target)
    if item is None:
        return None
    for spec in fields_of(target, item):
        if spec.name == field:
            return spec.value
    return None


def apply_edit(scenario: Scenario, target: Target, field: str, raw: str) -> Scenario:
    """A copy of ``scenario`` with ``field`` of the target item set from the editor's text."""
    copy = scenario.model_copy(deep=True)
    item = item_at(copy, target)
    if item is None or field not in type(item).model_fields:
        raise EditError(f"nothing to edit at {target.node}.{field}")
    kind = _kind(type(item).model_fields[field].annotation)
    value: Any = raw
    if kind == "lines":
        value = [line.strip() for line in raw.splitlines() if line.strip()]
    elif kind == "int":
        try:
            value = int(raw.strip())
        except ValueError:
            raise EditError("a whole number is needed") from None
    try:
        setattr(item, field, value)
    except ValidationError as exc:
        raise EditError("; ".join(_message(e) for e in exc.errors())) from None
    return copy


def _message(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())[1:])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
