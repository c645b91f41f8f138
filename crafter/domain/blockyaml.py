"""A fast reader for the plain block-style YAML that scenario files are written in.

Even with libyaml, PyYAML builds a Python mark, event and node for every token and constructs
values in Python: about 2 ms for an 11 KB scenario, most of a lint. Scenario files use a small,
regular part of YAML (block mappings and sequences; plain, single-quoted and ``|`` scalars).
``load`` reads that part directly, noting each node's line, in about a third of the time, and
returns None for anything else so the caller uses libyaml: the results are the same either way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

NodePath = tuple[int | str, ...]

# Characters YAML does not allow, or that this reader leaves to libyaml: tabs, CR and the other
# line breaks, a byte order mark.
_UNSUPPORTED_CHAR = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_ASCII_OK = bytes([0x0A, *range(0x20, 0x7F)])  # the same rule for ASCII text, as bytes


def _supported_chars(text: str) -> bool:
    # Deleting the allowed bytes is a tight C loop, ten times quicker than the regex scan.
    if text.isascii():
        return not text.encode("ascii").translate(None, _ASCII_OK)
    return _UNSUPPORTED_CHAR.search(text) is None


_MAX_KEY = 100  # libyaml reads longer simple keys differently
_KEY = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_]{0,99}):(?: +|$)")
# A plain scalar cannot start with these; in the middle, ": " and " #" would end it.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")

_TYPED = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp"))
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _resolvers() -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    """PyYAML's implicit resolvers by first character, with the wildcard ones appended."""
    table = yaml.resolver.Resolver.yaml_implicit_resolvers
    wildcard = table.get(None, [])
    return {first: tuple(rules + wildcard) for first, rules in table.items() if first is not None}


_RESOLVERS = _resolvers()
_WILDCARD = tuple(yaml.resolver.Resolver.yaml_implicit_resolvers.get(None, []))


# Scenarios nest a few levels; deeper documents go to libyaml, whose loader bounds the depth.
_MAX_DEPTH = 48


class _Unsupported(Exception):
    """The text uses YAML this reader leaves to libyaml."""


def _resolve(value: str) -> Any:
    """A plain scalar's value, typed the way PyYAML's SafeLoader types it."""
    for tag, rx in _RESOLVERS.get(value[:1], _WILDCARD):
        if rx.match(value):
            if tag not in _TYPED:
                raise _Unsupported
            node = yaml.ScalarNode(tag, value)
            return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
    return value


_known_keys: dict[str, bool] = {}


def _key_ok(key: str) -> bool:
    """Whether ``key`` is a plain ASCII name that reads as a string (``yes``, ``null`` and the
    like do not); memoised, as a scenario repeats a few dozen names."""
    ok = _known_keys.get(key)
    if ok is None:
        ok = len(key) <= _MAX_KEY and key.isascii() and key.isidentifier()
        ok = ok and isinstance(_resolve(key), str)
        if len(_known_keys) < 4096:  # bounded: odd files may use any names
            _known_keys[key] = ok
    return ok


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _one_line_plain(rest: str, nxt: str | None, deeper: str) -> bool:
    """Whether ``rest`` is a whole plain scalar: no indicator, comment or mapping value in it,
    and the next line (``nxt``, None at the end) does not continue it."""
    return (
        bool(rest)
        and rest[0] not in _INDICATORS
        and (nxt is None or (bool(nxt) and not nxt.startswith(deeper)))
        and ": " not in rest
        and " #" not in rest
        and rest[-1] != ":"
    )


class _Reader:
    """Reads the lines top down; ``index`` gets each node's line, as yamlio's line index has it
    (a key's line is where its value starts)."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.n = len(self.lines)
        self.i = 0
        self.index: dict[NodePath, int] = {}

    def skip_blank(self) -> None:
        while self.i < self.n and not self.lines[self.i]:
            self.i += 1

    def document(self) -> dict[str, Any]:
        self.skip_blank()
        if self.i >= self.n or not _KEY.match(self.lines[self.i]) or self.lines[self.i][0] == " ":
            raise _Unsupported
        self.index[()] = self.i + 1
        data = self.mapping(0, ())
        self.skip_blank()
        if self.i < self.n:
            raise _Unsupported
        return data

    def mapping(self, ind: int, path: NodePath, head: str | None = None) -> dict[str, Any]:
        if len(path) > _MAX_DEPTH:
            raise _Unsupported  # libyaml's path reports the depth as a per-file error
        """A block mapping with keys at column ``ind``; ``head`` is the rest of a "- key: ..."
        line that opens it inside a sequence."""
        out: dict[str, Any] = {}
        lines, n, index = self.lines, self.n, self.index
        pad = " " * ind
        deeper = pad + " "  # how a continuation line of a value starts
        i = self.i
        while True:
            if head is not None:
                line, head, at = head, None, 0
            else:
                while i < n and not lines[i]:
                    i += 1
                if i >= n:
                    break
                line = lines[i]
                if not line.startswith(pad):
                    break  # less indented: the enclosing block goes on
                if line[ind] == " ":
                    raise _Unsupported
                at = ind
            # "key:" then a space or the end of the line; str methods are quicker than a regex.
            colon = line.find(":", at)
            key = line[at:colon]
            if (
                colon < 0
                or line[colon + 1 : colon + 2] not in ("", " ")
                or not (_known_keys.get(key) or _key_ok(key))
            ):
                raise _Unsupported  # not a key line, or a key such as yes/null/true
            if key in out:
                raise _Unsupported  # a duplicate key
            rest = line[colon + 2 :]
            if rest[:1] == " ":
                rest = rest.lstrip(" ")
            kpath = (*path, key)
            if _one_line_plain(rest, lines[i + 1] if i + 1 < n else None, deeper):
                # The common case, read here without the calls below.
                index[kpath] = i + 1
                out[key] = _resolve(rest) if _WILDCARD or rest[0] in _RESOLVERS else rest
                i += 1
                continue
            self.i = i
            if rest:
                out[key] = self.inline(rest, ind, kpath)
            else:
                self.i += 1
                out[key] = self.nested(ind, kpath)
            i = self.i
        self.i = i
        return out

    def nested(self, ind: int, path: NodePath) -> Any:
        """The value of a key whose line ends at the colon: a block mapping or sequence."""
        self.skip_blank()
        if self.i >= self.n:
            raise _Unsupported
        line = self.lines[self.i]
        col = _indent(line)
        self.index[path] = self.i + 1
        if line.startswith("- ", col) and col >= ind:
            return self.sequence(col, path, indentless=col == ind)
        if col > ind and _KEY.match(line):
            return self.mapping(col, path)
        raise _Unsupported  # an empty value, or a scalar on the next line

    def sequence(self, ind: int, path: NodePath, indentless: bool) -> list[Any]:
        if len(path) > _MAX_DEPTH:
            raise _Unsupported
        out: list[Any] = []
        lines, n, index = self.lines, self.n, self.index
        dash = " " * ind + "- "  # how each item's line starts
        deeper = " " * (ind + 1)
        i = self.i
        while True:
            while i < n and not lines[i]:
                i += 1
            if i >= n:
                break
            line = lines[i]
            if not line.startswith(dash):
                col = _indent(line)
                if col < ind or (col == ind and indentless):
                    break  # the parent mapping goes on
                raise _Unsupported
            rest = line[ind + 2 :]
            start = ind + 2
            if rest[:1] == " ":
                start += _indent(rest)
                rest = rest.lstrip(" ")
            item: NodePath = (*path, len(out))
            index[item] = i + 1
            self.i = i
            if _KEY.match(rest):
                # "- key: value" opens a mapping whose keys sit at the column of the first one.
                out.append(self.mapping(start, item, head=rest))
            elif _one_line_plain(rest, lines[i + 1] if i + 1 < n else None, deeper):
                out.append(_resolve(rest) if _WILDCARD or rest[0] in _RESOLVERS else rest)
                self.i += 1
            elif rest[:1] == "-":
                raise _Unsupported
            else:
                out.append(self.inline(rest, ind, item))
            i = self.i
        self.i = i
        return out

    def inline(self, rest: str, ind: int, path: NodePath) -> Any:
        """A value that starts on the current line; ``ind`` is the enclosing block's indent."""
        self.index[path] = self.i + 1
        first = rest[0]
        if rest == "[]" or rest == "{}":
            self.i += 1
            return [] if rest == "[]" else {}
        if rest == "|" or rest == "|-":
            return self.literal(ind, keep_break=rest == "|")
        if first == "'":
            return self.single_quoted(rest, ind)
        if first == '"':
            body = rest[1:-1]
            if len(rest) < 2 or rest[-1] != '"' or '"' in body or "\\" in body:
                raise _Unsupported
            self.i += 1
            return body
        if first in _INDICATORS:
            raise _Unsupported
        return _resolve(self.plain(rest, ind))

    def continuation(self, ind: int) -> tuple[int, str] | None:
        """(blank lines skipped, text) of the next line if it continues a scalar, else None."""
        j = self.i + 1
        while j < self.n and not self.lines[j]:
            j += 1
        if j >= self.n:
            return None
        line = self.lines[j]
        if not line.startswith(" " * (ind + 1)):
            return None  # indented no deeper than the block: the scalar has ended
        col = _indent(line)
        blanks = j - self.i - 1
        self.i = j
        return blanks, line[col:]

    def plain(self, text: str, ind: int) -> str:
        parts = [text]
        while True:
            if ": " in text or " #" in text or text[-1] == ":":
                raise _Unsupported  # a mapping value or a comment inside the scalar
            nxt = self.continuation(ind)
            if nxt is None:
                self.i += 1
                return "".join(parts)
            blanks, text = nxt
            if text[0] == "#":
                raise _Unsupported  # a comment line ends the scalar
            # Line folding: one break becomes a space, each blank line a newline.
            parts.append("\n" * blanks if blanks else " ")
            parts.append(text)

    def single_quoted(self, text: str, ind: int) -> str:
        parts = []
        text = text[1:]
        while True:
            end = -1
            pos = text.find("'")
            while pos >= 0:
                if text[pos + 1 : pos + 2] != "'":
                    end = pos
                    break
                pos = text.find("'", pos + 2)
            if end >= 0:
                if end != len(text) - 1:
                    raise _Unsupported  # text after the closing quote
                parts.append(text[:end].replace("''", "'"))
                self.i += 1
                return "".join(parts)
            parts.append(text.replace("''", "'"))
            nxt = self.continuation(ind)
            if nxt is None:
                raise _Unsupported
            blanks, text = nxt
            parts.append("\n" * blanks if blanks else " ")

    def literal(self, ind: int, keep_break: bool) -> str:
        """A ``|`` or ``|-`` block: lines as written, less the block's indentation."""
        first = self.i + 1
        if first >= self.n or not self.lines[first]:
            raise _Unsupported  # empty, or leading blank lines
        block = _indent(self.lines[first])
        if block <= ind:
            raise _Unsupported
        body = []
        last = first
        j = first
        while j < self.n:
            line = self.lines[j]
            if line:
                if _indent(line) < block:
                    break
                last = j
            body.append(line[block:])
            j += 1
        self.i = last + 1
        text = "\n".join(body[: last - first + 1])
        # Clipping keeps the final line break, if the file has one after the last line.
        return text + "\n" if keep_break and last + 1 < self.n else text


def load(text: str) -> tuple[dict[str, Any], dict[NodePath, int]] | None:
    """(mapping, node path -> 1-based line) for a block-style YAML mapping, or None when the text
    uses YAML this reader does not handle (parse it with libyaml then)."""
    if (
        not _supported_chars(text)
        # Trailing spaces change meaning with the scalar style; document markers end a document.
        or " \n" in text
        or text.endswith(" ")
        or text.startswith(("---", "..."))
        or "\n---" in text
        or "\n..." in text
    ):
        return None
    reader = _Reader(text)
    try:
        return reader.document(), reader.index
    except (_Unsupported, IndexError, RecursionError):
        return None
