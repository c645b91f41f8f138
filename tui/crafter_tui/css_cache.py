"""Textual's parsed stylesheet rules, kept between runs so the first frame does not parse CSS.

Textual parses every widget's default CSS and the app's own stylesheet on each start: 20-35 ms of
the 0.4 s before the first frame. Within a process it keeps the parsed rules in a cache keyed by
the CSS text itself; this module saves that cache to crafter's cache folder once the first frame
is drawn and fills it back in before the next start. An entry is used only for the same CSS text,
so an edited stylesheet or widget is parsed afresh; the file is keyed by Textual's parser files
(their sizes and times), the Python version and the theme's variables, which the rules depend on.

The file is a pickle, read with an unpickler that builds only Textual's own CSS classes (a
fixed list) and refuses anything else, so a tampered file cannot run code; any problem (missing,
corrupt, refused, a Textual that changed its internals) only means parsing as usual.
``CRAFTER_PARSE_CACHE=0`` turns it off.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

# What the pickled rules are made of (textual 8.x); a name outside this list refuses the file.
_ALLOWED: dict[str, frozenset[str]] = {
    "textual.color": frozenset({"Color"}),
    "textual.css.model": frozenset(
        {
            "CombinatorType",
            "RuleSet",
            "Selector",
            "SelectorSet",
            "SelectorType",
            "_check_class",
            "_check_id",
            "_check_type",
            "_check_universal",
        }
    ),
    "textual.css.scalar": frozenset({"Scalar", "ScalarOffset", "Unit"}),
    "textual.css.styles": frozenset({"Styles"}),
    "textual.geometry": frozenset({"Spacing"}),
    "textual.layouts.horizontal": frozenset({"HorizontalLayout"}),
    "textual.layouts.vertical": frozenset({"VerticalLayout"}),
    "textual.layouts.grid": frozenset({"GridLayout"}),
    "functools": frozenset({"partial"}),
}


class RefusedCache(Exception):
    """The cache file names something other than Textual's CSS classes."""


def _member(owner: Any, name: str) -> Any:
    """``getattr`` as a pickle may call it: a public member of an allowed class (how enum members
    are pickled) or a rules dict's ``get`` and ``__contains__`` (a parsed ``Styles`` holds both),
    never another dunder or a module's contents."""
    if type(owner) is dict and name in ("get", "__contains__"):
        return getattr(owner, name)
    if not isinstance(owner, type) or name.startswith("_"):
        raise RefusedCache(f"getattr({owner!r}, {name!r})")
    allowed = _ALLOWED.get(owner.__module__, frozenset())
    if owner.__name__ not in allowed:
        raise RefusedCache(f"getattr on {owner.__module__}.{owner.__name__}")
    return getattr(owner, name)


class _RulesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name == "getattr":
            return _member
        if name in _ALLOWED.get(module, frozenset()):
            return super().find_class(module, name)
        raise RefusedCache(f"{module}.{name}")


def _enabled() -> bool:
    return os.environ.get("CRAFTER_PARSE_CACHE", "1") != "0"


# The files whose code decides what parsed rules look like; their sizes and times stand in for
# Textual's version (reading ``textual.__version__`` costs 17 ms of package metadata).
_PARSER_FILES = (
    "__init__.py",
    "css/parse.py",
    "css/model.py",
    "css/styles.py",
    "css/_styles_builder.py",
)


def _path(stylesheet: Any) -> Path:
    import hashlib
    import sys

    import textual

    from crafter.resources import cache_root

    root = Path(textual.__file__).parent
    stamps = [
        (name, st.st_size, st.st_mtime_ns)
        for name in _PARSER_FILES
        for st in [(root / name).stat()]
    ]
    variables = sorted((str(k), str(v)) for k, v in stylesheet._variables.items())
    key = repr((str(root), stamps, sys.version, variables)).encode("utf-8")
    return cache_root() / "tui" / f"css-{hashlib.sha256(key).hexdigest()[:32]}.pickle"


def load(stylesheet: Any) -> int:
    """Fill ``stylesheet``'s parse cache from the saved file; the number of entries filled in."""
    if not _enabled():
        return 0
    import gc

    held = gc.isenabled()
    gc.disable()  # thousands of objects that live as long as the app: no collection while built
    try:
        data = _path(stylesheet).read_bytes()
        entries = _RulesUnpickler(io.BytesIO(data)).load()
        cache = stylesheet._parse_cache
        count = 0
        for key, rules in entries:
            if isinstance(key, tuple) and isinstance(rules, list):
                cache[key] = rules
                count += 1
        return count
    except Exception:  # no file, a corrupt or refused one, other internals: parse as usual
        return 0
    finally:
        if held:
            gc.enable()


def save(stylesheet: Any, loaded: int) -> bool:
    """Save ``stylesheet``'s parse cache when it holds entries the file did not; whether it did."""
    if not _enabled():
        return False
    try:
        cache = stylesheet._parse_cache
        keys = list(cache.keys())
        if not keys or len(keys) == loaded:
            return False
        entries = [(key, cache[key]) for key in keys]
        data = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    from crafter.resources import store_cached

    store_cached(_path(stylesheet), data)
    return True
