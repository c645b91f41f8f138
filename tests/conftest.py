"""Test isolation: no network beyond loopback, no real keys or user config, fake-friendly env."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if not (isinstance(address, tuple) and address):
        return isinstance(address, str | bytes)  # an AF_UNIX path is local
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]

# Subprocesses started by tests inherit these; keys from a developer's shell never reach a test.
for _var in (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "CRAFTER_API_KEY",
    "CRAFTER_MODEL",
    "CRAFTER_BASE_URL",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
):
    os.environ.pop(_var, None)
os.environ["HF_HUB_OFFLINE"] = "1"
# Nothing a test runs may write to the developer's own index, cache or config.
_SCRATCH = tempfile.mkdtemp(prefix="crafter-tests-")
os.environ["CRAFTER_INDEX_DIR"] = os.path.join(_SCRATCH, "index")
os.environ["CRAFTER_CACHE_DIR"] = os.path.join(_SCRATCH, "cache")
os.environ["ANONYMIZED_TELEMETRY"] = "False"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runapi", action="store_true", help="run tests that call paid APIs")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runapi"):
        return
    skip = pytest.mark.skip(reason="calls a paid API: pass --runapi and set the key")
    for item in items:
        if "paid" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path_factory.mktemp("cfg") / "config.toml"
    monkeypatch.setenv("CRAFTER_CONFIG", str(cfg))


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def fault_server() -> Iterator[object]:
    from tests.fakes.openai_server import FaultServer

    server = FaultServer()
    with server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[object]:
    from tests.fakes.anthropic_server import AnthropicServer

    server = AnthropicServer()
    with server:
        yield server


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The whole reference corpus indexed once per test session (about a minute on 2 cores)."""
    from crafter.retrieval.index import CorpusIndex

    # The same folder subprocesses use by default, so CLI tests that research reuse this build.
    idx = CorpusIndex(Path(os.environ["CRAFTER_INDEX_DIR"]))
    idx.sync()
    return idx
