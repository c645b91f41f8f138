"""The TUI's saved stylesheet rules: the second start parses no CSS and draws the same frame; a
corrupt, foreign or tampered cache file is ignored without running anything."""

from __future__ import annotations

import asyncio
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from crafter_tui import css_cache
from crafter_tui.app import create_app
from textual.css.stylesheet import Stylesheet

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CRAFTER_CACHE_DIR", str(folder))
    monkeypatch.delenv("CRAFTER_PARSE_CACHE", raising=False)
    return folder


async def first_frame(tmp_path: Path) -> tuple[int, str, int]:
    """Start the app, wait for its first frame and for the cache to be saved; return how many
    rules it loaded, what it drew and how often it parsed CSS."""
    parsed = [0]
    original = Stylesheet._parse_rules

    def counting(self: Stylesheet, css: str, *args: Any, **kwargs: Any) -> Any:
        if not any(key[0] == css for key in self._parse_cache.keys()):  # noqa: SIM118 (an LRUCache)
            parsed[0] += 1
        return original(self, css, *args, **kwargs)

    Stylesheet._parse_rules = counting  # type: ignore[method-assign]
    try:
        app = create_app(tmp_path / "lib", statuses=list, default_model="scaffold")
        async with app.run_test(size=(80, 24)) as pilot:
            picker = app.screen.query_one("#model-picker")
            while app.painted_at is None or picker.model_id is None:  # type: ignore[attr-defined]
                await asyncio.sleep(0.005)
            await pilot.pause(0.1)
            # The SVG's element ids are unique per export; what is drawn is the rest.
            screen = re.sub(r"terminal-\d+", "terminal", app.export_screenshot())
            loaded = app._css_loaded
    finally:
        Stylesheet._parse_rules = original  # type: ignore[method-assign]
    return loaded, screen, parsed[0]


async def test_the_second_start_parses_no_css_and_draws_the_same(
    tmp_path: Path, cache_dir: Path
) -> None:
    loaded, screen, parsed = await first_frame(tmp_path)
    assert loaded == 0 and parsed > 10
    assert list((cache_dir / "tui").glob("css-*.pickle"))
    loaded_again, screen_again, parsed_again = await first_frame(tmp_path)
    assert loaded_again >= parsed
    assert parsed_again == 0
    assert screen_again == screen


async def test_the_cache_can_be_turned_off(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAFTER_PARSE_CACHE", "0")
    await first_frame(tmp_path)
    assert not (cache_dir / "tui").exists()


class Tamper:
    """Pickles as a call to os.system: what a tampered cache file could try."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("kind", ["tampered", "corrupt", "foreign", "dunder"])
async def test_a_bad_cache_file_is_ignored_and_runs_nothing(
    tmp_path: Path, cache_dir: Path, kind: str
) -> None:
    _, screen, _ = await first_frame(tmp_path)
    [path] = (cache_dir / "tui").glob("css-*.pickle")
    marker = tmp_path / "ran"
    if kind == "tampered":
        data = pickle.dumps([(("a",), [Tamper(marker)])])
    elif kind == "corrupt":
        data = path.read_bytes()[:5000]
    elif kind == "foreign":
        data = pickle.dumps([(("a",), [Path("/etc/passwd")])])
    else:  # getattr reaching for an allowed class's dunder, the first step of a gadget chain
        name = b"__init__"
        data = (
            b"\x80\x04cbuiltins\ngetattr\nctextual.color\nColor\nX"
            + len(name).to_bytes(4, "little")
            + name
            + b"\x86R."
        )
    path.write_bytes(data)
    loaded, screen_again, parsed = await first_frame(tmp_path)
    assert loaded == 0 and parsed > 10
    assert not marker.exists()
    assert screen_again == screen


def test_the_unpickler_refuses_what_is_not_textual_css() -> None:
    import io

    with pytest.raises(css_cache.RefusedCache):
        css_cache._RulesUnpickler(io.BytesIO(pickle.dumps(Path("x")))).load()
    with pytest.raises(css_cache.RefusedCache):
        css_cache._member(object, "__subclasses__")
    with pytest.raises(css_cache.RefusedCache):
        css_cache._member({"a": 1}, "pop")


def test_importing_the_app_leaves_the_garbage_collector_as_it_was() -> None:
    import gc
    import importlib
    import sys

    import crafter_tui.app

    assert gc.isenabled()
    sys.modules.pop("crafter_tui.app")
    try:
        gc.disable()
        importlib.import_module("crafter_tui.app")
        assert not gc.isenabled()  # held before, still held: the import does not enable it
    finally:
        gc.enable()
        sys.modules["crafter_tui.app"] = crafter_tui.app
