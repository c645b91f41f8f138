"""JSON schemas for structured output, shaped for what each backend accepts."""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel

_ANNOTATIONS = ("title", "default", "examples", "description")
# OpenAI's strict mode rejects length keywords; llama.cpp's grammar honours them and needs them.
_LENGTH_KEYS = ("minLength", "maxLength")


def output_schema(
    model: type[BaseModel],
    *,
    strict: bool,
    keep_lengths: bool,
    max_string: int | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """A JSON schema for ``model``: no extra properties anywhere, every property required.

    Requiring every property matches OpenAI's strict mode and keeps a small model from skipping a
    field; defaults are dropped because strict mode forbids them. ``max_string`` and ``max_items``
    tighten the bounds for a small, slow model: the answer stays valid for ``model`` but short.
    Built once per model and options (pydantic takes ~20 ms per call, and regen makes many);
    each caller gets its own copy.
    """
    return copy.deepcopy(_output_schema(model, strict, keep_lengths, max_string, max_items))


@functools.lru_cache(maxsize=64)
def _output_schema(
    model: type[BaseModel],
    strict: bool,
    keep_lengths: bool,
    max_string: int | None,
    max_items: int | None,
) -> dict[str, Any]:
    schema = copy.deepcopy(model.model_json_schema())

    def fix(node: dict[str, Any]) -> None:
        for key in _ANNOTATIONS:
            node.pop(key, None)
        if not keep_lengths:
            for key in _LENGTH_KEYS:
                node.pop(key, None)
        if max_string is not None and node.get("type") == "string" and "pattern" not in node:
            node["maxLength"] = min(node.get("maxLength", max_string), max_string)
        if max_items is not None and node.get("type") == "array":
            node["maxItems"] = max(
                node.get("minItems", 0), min(node.get("maxItems", max_items), max_items)
            )
        if strict and node.get("format") in ("date", "date-time"):
            # Strict mode knows few formats; a pattern says the same thing.
            fmt = node.pop("format")
            node["pattern"] = r"^\d{4}-\d{2}-\d{2}$" if fmt == "date" else r"^\d{4}-\d{2}-\d{2}T"
        props = node.get("properties")
        if isinstance(props, dict):
            node["additionalProperties"] = False
            if strict:
                node["required"] = list(props)
            for sub in props.values():
                fix(sub)
        for key in ("$defs",):
            for sub in node.get(key, {}).values():
                fix(sub)
        if isinstance(node.get("items"), dict):
            fix(node["items"])
        for key in ("anyOf", "allOf", "oneOf"):
            for sub in node.get(key, []):
                fix(sub)

    fix(schema)
    return schema
