"""Scenario YAML load and save; saving is atomic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crafter.domain import blockyaml
from crafter.domain.atomic import atomic_write_text, write_new_text
from crafter.domain.scenario import FIELD_ORDER, Scenario


@dataclass(frozen=True)
class SchemaProblem:
    """One reason a file is not a valid scenario: where, what is wrong, what was expected."""

    path: str
    location: str
    message: str
    line: int | None = None

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.location}: {self.message}"
            if self.location
            else f"{where}: {self.message}"
        )


class ScenarioFileError(Exception):
    """A file that could not be read as a scenario; carries every problem found."""

    def __init__(self, path: Path, problems: list[SchemaProblem]) -> None:
        super().__init__("; ".join(p.render() for p in problems))
        self.path = path
        self.problems = problems


# libyaml's C loader when present: several times faster, same results.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter when present (about 5x faster), with our string style."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Block style for multi-line text keeps long prose readable and diffs small.
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(scenario: Scenario) -> str:
    data = scenario.model_dump(mode="json")
    ordered = {k: data[k] for k in FIELD_ORDER if k in data}
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def save_scenario(scenario: Scenario, path: Path) -> None:
    """Write (or replace) ``path`` atomically."""
    atomic_write_text(Path(path), to_yaml(scenario))


def save_new_scenario(scenario: Scenario, folder: Path) -> Path:
    """Write ``<folder>/<id>.yaml`` without replacing an existing file; returns the path used."""
    return write_new_text(Path(folder) / f"{scenario.id}.yaml", to_yaml(scenario))


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# A scenario is a few hundred nodes a few levels deep. Aliases let a few hundred bytes stand for
# billions of nodes once expanded (a "billion laughs" file), and deep nesting overflows recursion.
MAX_NODES = 200_000
MAX_DEPTH = 64


class YAMLBudgetError(yaml.YAMLError):
    """A YAML document too large once aliases are expanded, or nested too deep."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def check_budget(root: yaml.Node) -> None:
    """Refuse a document whose expanded tree exceeds MAX_NODES nodes or MAX_DEPTH levels.

    Counts every visit, so a node reached through many aliases counts each time: that is the
    size the data would have after construction, validation or dumping.
    """
    visits = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        visits += 1
        if visits > MAX_NODES:
            raise YAMLBudgetError(
                f"more than {MAX_NODES:,} values once aliases are expanded: refusing to expand "
                "(scenario files need no '&anchor'/'*alias')",
                node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise YAMLBudgetError(
                f"nested deeper than {MAX_DEPTH} levels", node.start_mark.line + 1
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _line_index(text: str, root: yaml.Node | None = None) -> dict[tuple[int | str, ...], int]:
    """Map each YAML node path to its 1-based line so schema errors can point at a line.

    Iterative, and a node reached again through an alias is not walked again.
    """
    index: dict[tuple[int | str, ...], int] = {}
    if root is None:
        try:
            root = yaml.compose(text, Loader=_Loader)
            if root is not None:
                check_budget(root)
        except yaml.YAMLError:
            return index
    if root is None:
        return index
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        index[path] = node.start_mark.line + 1
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
                index[(*path, name)] = key.start_mark.line + 1
                stack.append((value, (*path, name)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, i)))
    return index


def load_with_lines(text: str) -> tuple[Any, dict[tuple[int | str, ...], int]]:
    """Parse YAML once into data and a node-path -> line index (raises yaml.YAMLError, including
    YAMLBudgetError for alias bombs and deep nesting)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            check_budget(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, _line_index(text, node) if node is not None else {}


def problems_from_validation(
    path: str,
    err: ValidationError,
    text: str | None = None,
    lines: dict[tuple[int | str, ...], int] | None = None,
) -> list[SchemaProblem]:
    if lines is None:
        lines = _line_index(text) if text else {}
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field (not part of schema_version 1; check its spelling)"
        elif e["type"] == "missing":
            msg = "required field is missing"
        out.append(SchemaProblem(path, _loc(loc), msg, line))
    return out


def parse_scenario_text(text: str, path: str = "<text>") -> Scenario:
    """Parse and validate YAML text; raises ScenarioFileError listing every problem."""
    return parse_scenario_with_lines(text, path)[0]


def parse_scenario_with_lines(
    text: str, path: str = "<text>"
) -> tuple[Scenario, dict[tuple[int | str, ...], int]]:
    """Like ``parse_scenario_text``, also returning the field-path -> line index.

    Plain block YAML (what crafter writes) is read by blockyaml, about three times quicker than
    libyaml's Python constructor; anything else, and any file that fails validation, goes through
    libyaml, which reports every problem with its line."""
    fast = blockyaml.load(text)
    if fast is not None:
        try:
            return Scenario.model_validate(fast[0]), fast[1]
        except ValidationError:
            pass
    try:
        data, lines = load_with_lines(text)
    except RecursionError:
        raise ScenarioFileError(
            Path(path), [SchemaProblem(path, "", "invalid YAML: nested too deep to read")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else getattr(exc, "line", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioFileError(
            Path(path), [SchemaProblem(path, "", f"invalid YAML: {problem}", line)]
        ) from None
    if not isinstance(data, dict):
        what = {type(None): "an empty document", str: "plain text", list: "a list"}.get(
            type(data), f"a single {type(data).__name__} value"
        )
        raise ScenarioFileError(
            Path(path),
            [
                SchemaProblem(
                    path,
                    "",
                    f"not a scenario: the file reads as {what}, not as YAML fields "
                    "(schema_version:, title:, premise:, hooks: ...). A question in prose belongs "
                    "in a .md or .txt file, which `crafter lint` checks",
                )
            ],
        )
    try:
        return Scenario.model_validate(data), lines
    except ValidationError as exc:
        raise ScenarioFileError(
            Path(path), problems_from_validation(path, exc, text, lines)
        ) from None


def load_scenario(path: Path) -> Scenario:
    """Read a scenario YAML file; raises ScenarioFileError for unreadable or invalid files."""
    from crafter.domain.files import FileReadError, read_bounded

    p = Path(path)
    try:
        raw = read_bounded(p)
    except FileReadError as exc:
        raise ScenarioFileError(p, [SchemaProblem(str(p), "", exc.message)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioFileError(p, [SchemaProblem(str(p), "", "not UTF-8 text")]) from None
    return parse_scenario_text(text, str(p))
