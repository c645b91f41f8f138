"""Prompt templates kept as files in prompts/, each with a version that goes into provenance.

A template file has YAML front matter (``name``, ``version``) and sections headed ``## system``
and ``## user``. ``{{ name }}`` marks a variable; rendering fails on a missing or unused one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import yaml

from crafter.domain.messages import Message
from crafter.resources import data_dir

_VAR = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_SECTION = re.compile(r"^## (system|user)\s*$", re.M)


class PromptError(Exception):
    """A template is malformed or was rendered with the wrong variables."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    sections: tuple[tuple[str, str], ...]

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(v for _, body in self.sections for v in _VAR.findall(body))

    @property
    def ref(self) -> str:
        """``name@version``, as recorded in provenance."""
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> list[Message]:
        missing = self.variables - values.keys()
        if missing:
            raise PromptError(
                f"prompt {self.name}: missing variable(s) {', '.join(sorted(missing))}"
            )
        extra = values.keys() - self.variables
        if extra:
            raise PromptError(f"prompt {self.name}: unknown variable(s) {', '.join(sorted(extra))}")
        return [
            Message(role, _VAR.sub(lambda m: values[m.group(1)], body))  # type: ignore[arg-type]
            for role, body in self.sections
        ]


def parse_template(text: str, source: str) -> PromptTemplate:
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if not match:
        raise PromptError(f"{source}: no front matter with name and version")
    meta = yaml.safe_load(match.group(1)) or {}
    if not meta.get("name") or not meta.get("version"):
        raise PromptError(f"{source}: front matter needs name and version")
    body = text[match.end() :]
    heads = list(_SECTION.finditer(body))
    if not heads:
        raise PromptError(f"{source}: no '## system' or '## user' section")
    sections = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        sections.append((head.group(1), body[head.end() : end].strip()))
    return PromptTemplate(str(meta["name"]), str(meta["version"]), tuple(sections))


@cache
def load_prompt(name: str) -> PromptTemplate:
    path = data_dir("prompts") / f"{name}.md"
    if not path.is_file():
        raise PromptError(f"no prompt named {name!r} in {path.parent}")
    return parse_template(path.read_text(encoding="utf-8"), str(path))
