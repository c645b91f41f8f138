from __future__ import annotations

from typing import Any

import pytest

from crafter.domain import ScenarioContent
from crafter.prompts import PromptError, load_prompt, parse_template
from crafter.providers.schema import output_schema


def _walk(node: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            out.extend(_walk(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_walk(v))
    return out


def test_strict_schema_requires_everything_and_has_no_lengths() -> None:
    schema = output_schema(ScenarioContent, strict=True, keep_lengths=False)
    objects = [n for n in _walk(schema) if isinstance(n.get("properties"), dict)]
    assert objects
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert set(obj["required"]) == set(obj["properties"])
    assert not any("maxLength" in n for n in _walk(schema))
    assert "title" in schema["properties"]  # a property called title survives annotation stripping


def test_compact_schema_tightens_bounds_but_keeps_minimums() -> None:
    schema = output_schema(
        ScenarioContent, strict=False, keep_lengths=True, max_string=100, max_items=1
    )
    strings = [n for n in _walk(schema) if n.get("type") == "string" and "pattern" not in n]
    assert strings and all(n["maxLength"] <= 100 for n in strings)
    arrays = [n for n in _walk(schema) if n.get("type") == "array"]
    assert all(n["maxItems"] >= n.get("minItems", 0) for n in arrays)


def test_draft_prompt_renders_and_refuses_missing_variables() -> None:
    prompt = load_prompt("draft")
    assert prompt.variables == {"seed", "level", "as_of", "notes", "exposure"}
    messages = prompt.render(
        seed="S", level="staff", as_of="2026-01-01", notes="(none)", exposure="(none)"
    )
    assert [m.role for m in messages] == ["system", "user"]
    assert "<seed>\nS\n</seed>" in messages[1].content
    with pytest.raises(PromptError, match="missing variable"):
        prompt.render(seed="S", level="staff", notes="")
    with pytest.raises(PromptError, match="unknown variable"):
        prompt.render(seed="S", level="staff", as_of="x", notes="", exposure="", extra="y")


def test_every_prompt_file_parses_and_has_a_version() -> None:
    from crafter.resources import data_dir

    for path in data_dir("prompts").glob("*.md"):
        template = load_prompt(path.stem)
        assert template.version and template.sections, path


def test_template_without_front_matter_is_an_error() -> None:
    with pytest.raises(PromptError, match="front matter"):
        parse_template("## user\nhello", "x.md")
