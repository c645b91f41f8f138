"""A semantic diff of two scenario versions: what changed in meaning, not in YAML layout.

Items in each list are matched by their identity (a hook's id, a rubric row's signal, a data
source's name); items whose id changed but whose text is much the same are paired as a change
with a rename rather than shown as one removal and one addition. Order alone is not a change,
but it is noted. Rendering produces styled segments so a terminal can colour them and a pipe
gets ``[-deleted-]{+inserted+}`` markers instead.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from crafter.domain.scenario import Scenario

# Top-level fields shown first, then list sections, then review and provenance.
SCALAR_FIELDS: tuple[str, ...] = ("id", "title", "seed", "level", "as_of", "premise")
META_FIELDS: tuple[tuple[str, str], ...] = (
    ("review", "status"),
    ("review", "reviewer"),
    ("review", "notes"),
    ("provenance", "model"),
    ("provenance", "prompt_version"),
    ("provenance", "corpus_version"),
)


@dataclass(frozen=True)
class _Section:
    name: str
    key: str | None  # the field that identifies an item; None: matched by content
    text: str  # the field that says what the item is (shown, and used to pair renames)


SECTIONS: tuple[_Section, ...] = (
    _Section("hooks", "id", "detail"),
    _Section("questions", "id", "question"),
    _Section("rubric", "signal", "signal"),
    _Section("decisions", "id", "decision"),
    _Section("context", "id", "text"),
    _Section("data", "name", "description"),
    _Section("constraints", "name", "value"),
    _Section("traps", None, "generic_answer"),
    _Section("references", "id", "title"),
)
# Two items with different ids are the same item reworded when their texts are this similar.
RENAME_SIMILARITY = 0.6


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Item:
    key: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "item": self.data}


@dataclass(frozen=True)
class ItemChange:
    key: str
    changes: tuple[FieldChange, ...]
    old_key: str | None = None  # set when the item was renamed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "changes": [c.to_dict() for c in self.changes]}
        if self.old_key is not None:
            out["old_key"] = self.old_key
        return out


@dataclass(frozen=True)
class SectionDiff:
    name: str
    added: tuple[Item, ...] = ()
    removed: tuple[Item, ...] = ()
    changed: tuple[ItemChange, ...] = ()
    reordered: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.reordered)

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added" if self.added else "",
            f"{len(self.removed)} removed" if self.removed else "",
            f"{len(self.changed)} changed" if self.changed else "",
            "reordered" if self.reordered else "",
        ]
        return ", ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [i.to_dict() for i in self.added],
            "removed": [i.to_dict() for i in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "reordered": self.reordered,
        }


@dataclass(frozen=True)
class ScenarioDiff:
    fields: tuple[FieldChange, ...] = ()
    sections: tuple[SectionDiff, ...] = ()
    meta: tuple[FieldChange, ...] = ()

    @property
    def identical(self) -> bool:
        """True when nothing a reader would notice changed (provenance timestamps aside)."""
        return not self.fields and not self.meta and all(s.empty for s in self.sections)

    def section(self, name: str) -> SectionDiff:
        for s in self.sections:
            if s.name == name:
                return s
        return SectionDiff(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "fields": [c.to_dict() for c in self.fields],
            "sections": {s.name: s.to_dict() for s in self.sections if not s.empty},
            "meta": [c.to_dict() for c in self.meta],
        }


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    keys = list(old) + [k for k in new if k not in old]
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower().split(), b.lower().split()).ratio()


def _item_key(spec: _Section, data: dict[str, Any]) -> str:
    if spec.key is not None:
        return str(data[spec.key])
    text = str(data[spec.text])
    return text if len(text) <= 60 else text[:57] + "..."


def _diff_section(
    spec: _Section, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> SectionDiff:
    old_left = list(range(len(old)))
    new_left = list(range(len(new)))
    pairs: list[tuple[int, int]] = []

    def take(i: int, j: int) -> None:
        pairs.append((i, j))
        old_left.remove(i)
        new_left.remove(j)

    if spec.key is not None:
        new_by_key = {str(d[spec.key]): j for j, d in enumerate(new)}
        for i, d in enumerate(old):
            j = new_by_key.get(str(d[spec.key]))
            if j is not None and j in new_left:
                take(i, j)
    else:
        for i, d in enumerate(old):
            for j in new_left:
                if new[j] == d:
                    take(i, j)
                    break
    # Pair what is left by text similarity, best pairs first: a reworded or renamed item.
    candidates = sorted(
        (
            (_similarity(str(old[i][spec.text]), str(new[j][spec.text])), i, j)
            for i in old_left
            for j in new_left
        ),
        reverse=True,
    )
    for score, i, j in candidates:
        if score < RENAME_SIMILARITY:
            break
        if i in old_left and j in new_left:
            take(i, j)

    changed = []
    for i, j in sorted(pairs, key=lambda p: p[1]):
        changes = _field_changes(old[i], new[j])
        old_key, new_key = _item_key(spec, old[i]), _item_key(spec, new[j])
        renamed = spec.key is not None and old_key != new_key
        if changes:
            changes = tuple(c for c in changes if c.field != spec.key) if renamed else changes
            changed.append(ItemChange(new_key, changes, old_key if renamed else None))
    common_old = [j for i, j in sorted(pairs)]
    reordered = common_old != sorted(common_old)
    return SectionDiff(
        spec.name,
        added=tuple(Item(_item_key(spec, new[j]), new[j]) for j in new_left),
        removed=tuple(Item(_item_key(spec, old[i]), old[i]) for i in old_left),
        changed=tuple(changed),
        reordered=reordered,
    )


def diff_scenarios(old: Scenario, new: Scenario) -> ScenarioDiff:
    """What changed from ``old`` to ``new``: fields, list items, review and provenance."""
    a = old.model_dump(mode="json")
    b = new.model_dump(mode="json")
    fields = tuple(FieldChange(f, a[f], b[f]) for f in SCALAR_FIELDS if a[f] != b[f])
    sections = tuple(_diff_section(spec, a[spec.name], b[spec.name]) for spec in SECTIONS)
    meta = tuple(
        FieldChange(f"{group}.{name}", a[group][name], b[group][name])
        for group, name in META_FIELDS
        if a[group][name] != b[group][name]
    )
    return ScenarioDiff(fields, sections, meta)


# -- rendering --------------------------------------------------------------------------------

Kind = Literal["heading", "add", "remove", "change", "text", "ins", "del", "dim"]


@dataclass(frozen=True)
class Segment:
    kind: Kind
    text: str


@dataclass
class Line:
    segments: list[Segment] = field(default_factory=list)

    def add(self, kind: Kind, text: str) -> Line:
        self.segments.append(Segment(kind, text))
        return self


_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> list[Segment]:
    """``new`` as ``text`` segments, with ``del`` (only in old) and ``ins`` (only in new) runs."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    # (old text, new text, same?) chunks; a lone space between two changes joins them, so a
    # reworded phrase reads as one deletion and one insertion rather than word-by-word noise.
    chunks: list[tuple[str, str, bool]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        chunks.append(("".join(a[i1:i2]), "".join(b[j1:j2]), op == "equal"))
    merged: list[tuple[str, str, bool]] = []
    for n, (o, w, same) in enumerate(chunks):
        bridge = (
            same
            and not o.strip()
            and 0 < n < len(chunks) - 1
            and not chunks[n - 1][2]
            and not chunks[n + 1][2]
        )
        if merged and not merged[-1][2] and (bridge or not same):
            po, pw, _ = merged[-1]
            merged[-1] = (po + o, pw + w, False)
        else:
            merged.append((o, w, same and not bridge))
    out: list[Segment] = []
    for o, w, same in merged:
        if same:
            out.append(Segment("text", o))
            continue
        if o:
            out.append(Segment("del", o))
        if w:
            out.append(Segment("ins", w))
    return out


def _short(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _value_lines(name: str, old: Any, new: Any, indent: str) -> list[Line]:
    """One changed value: a word diff for prose, ``old -> new`` for short values and lists."""
    head = Line().add("text", indent).add("change", f"{name}: ")
    if isinstance(old, list) and isinstance(new, list):
        gone = [v for v in old if v not in new]
        came = [v for v in new if v not in old]
        for v in gone:
            head.add("del", f"-{v}").add("text", " ")
        for v in came:
            head.add("ins", f"+{v}").add("text", " ")
        if not gone and not came:
            head.add("dim", f"reordered {_short(new)}")
        return [head]
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > 40:
        body = Line().add("text", indent + "  ")
        body.segments.extend(word_diff(old, new))
        return [head, body]
    return [head.add("del", _short(old)).add("text", " -> ").add("ins", _short(new))]


def _item_lines(spec: _Section, item: Item, kind: Kind, mark: str) -> Line:
    text = str(item.data.get(spec.text, ""))
    label = item.key if spec.key is None or text == item.key else f"{item.key}: {text}"
    return Line().add("text", "  ").add(kind, f"{mark} {label}")


def render_lines(diff: ScenarioDiff, old_label: str, new_label: str) -> list[Line]:
    """The diff as lines of styled segments, in reading order."""
    lines = [Line().add("heading", f"--- {old_label}"), Line().add("heading", f"+++ {new_label}")]
    if diff.identical:
        lines.append(Line().add("dim", "no semantic differences"))
        return lines
    for c in diff.fields:
        lines.extend(_value_lines(c.field, c.old, c.new, ""))
    specs = {s.name: s for s in SECTIONS}
    for section in diff.sections:
        if section.empty:
            continue
        spec = specs[section.name]
        lines.append(Line().add("heading", f"{section.name}: {section.summary()}"))
        for item in section.removed:
            lines.append(_item_lines(spec, item, "remove", "-"))
        for item in section.added:
            lines.append(_item_lines(spec, item, "add", "+"))
        for ch in section.changed:
            label = ch.key if ch.old_key is None else f"{ch.key} (was {ch.old_key})"
            lines.append(Line().add("text", "  ").add("change", f"~ {label}"))
            for c in ch.changes:
                lines.extend(_value_lines(c.field, c.old, c.new, "      "))
    if diff.meta:
        lines.append(Line().add("heading", "review and provenance"))
        for c in diff.meta:
            lines.extend(_value_lines(c.field, c.old, c.new, "  "))
    return lines


def render_plain(lines: list[Line]) -> str:
    """Lines as plain text: ``[-deleted-]`` and ``{+inserted+}`` mark word changes."""
    out = []
    for line in lines:
        parts = []
        for seg in line.segments:
            if seg.kind == "del":
                parts.append(f"[-{seg.text}-]")
            elif seg.kind == "ins":
                parts.append(f"{{+{seg.text}+}}")
            else:
                parts.append(seg.text)
        out.append("".join(parts).rstrip())
    return "\n".join(out) + "\n"
