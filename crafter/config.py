"""User configuration: environment variables over an optional TOML file.

The file is ``$CRAFTER_CONFIG`` or ``<user config dir>/crafter/config.toml`` and may hold
``model``, ``base_url`` (an OpenAI-compatible server) and ``level``. Keys never live there: they
are read from the environment only, so they cannot end up in a file crafter writes.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from crafter.errors import UsageError

_KEYS = {"model", "base_url", "level", "chroma_url", "timeout"}


@dataclass(frozen=True)
class Config:
    model: str | None = None
    base_url: str | None = None
    level: str | None = None
    # A Chroma server that holds the index's vectors (a team's shared index).
    chroma_url: str | None = None
    # Seconds without a byte from a model server before a call is given up (see providers).
    timeout: float | None = None
    path: Path | None = None


def config_path() -> Path:
    env = os.environ.get("CRAFTER_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("crafter")) / "config.toml"


def load_config() -> Config:
    path = config_path()
    if not path.is_file():
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read config file {path}: {exc}", hint="fix or remove the file"
        ) from None
    section = raw.get("crafter", raw)
    unknown = set(section) - _KEYS
    if unknown:
        raise UsageError(
            f"{path}: unknown setting(s) {', '.join(sorted(unknown))}",
            hint=f"known settings: {', '.join(sorted(_KEYS))}",
        )
    return Config(
        model=section.get("model"),
        base_url=section.get("base_url"),
        level=section.get("level"),
        chroma_url=section.get("chroma_url"),
        timeout=_seconds(section.get("timeout"), path),
        path=path,
    )


def _seconds(value: object, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(
            f"{path}: timeout must be a positive number of seconds, got {value!r}",
            hint="e.g. timeout = 600 for a model served on a CPU",
        )
    return float(value)
