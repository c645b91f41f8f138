"""Maintainers: distil the MiniLM embedder into a static token table for the semantic lint layer.

Each WordPiece token of MiniLM's vocabulary is run through the model on its own ("[CLS] tok
[SEP]", the hidden states mean-pooled), the table is centred, and each token gets a weight from
how often it occurs in the reference corpus (rare words carry meaning, "the" does not). A passage
vector is then the weighted mean of its tokens' rows: thousands of passages a second, no model
run at lint time. Writes ``crafter/data/static_minilm.i8`` (int8 rows) and ``.json`` (per-row
scales, weights, the embedder's sha256 and the table's checksum), verified on load.

Run: ``.venv/bin/python tools/build_static_embeddings.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from crafter.evals.semantic.static import write_table
from crafter.resources import data_dir
from crafter.retrieval.embedding import shared_embedder

BATCH = 256
# SIF weighting: a / (a + p(token)).
SIF_A = 1e-3


def _token_vectors() -> np.ndarray:
    embedder = shared_embedder()
    embedder._load()
    session = embedder._session
    size = embedder._tokenizer.get_vocab_size()
    out = np.zeros((size, 384), dtype=np.float32)
    for start in range(0, size, BATCH):
        ids = np.array([[101, i, 102] for i in range(start, min(size, start + BATCH))], np.int64)
        mask = np.ones_like(ids)
        hidden = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        out[start : start + len(ids)] = hidden.mean(axis=1)
    return out


def _weights(size: int) -> np.ndarray:
    tokenizer = shared_embedder()._tokenizer
    counts: Counter[int] = Counter()
    texts = [
        p.read_text(encoding="utf-8") for p in sorted(data_dir("reference_corpus").rglob("*.md"))
    ]
    for enc in tokenizer.encode_batch(texts):
        counts.update(enc.ids)
    total = sum(counts.values())
    freq = np.array([counts.get(i, 0) for i in range(size)], dtype=np.float64) / total
    return (SIF_A / (SIF_A + freq)).astype(np.float32)


def main() -> None:
    started = time.perf_counter()
    table = _token_vectors()
    table -= table.mean(axis=0, keepdims=True)
    weights = _weights(len(table))
    weights[[0, 100, 101, 102, 103]] = 0.0  # [PAD] [UNK] [CLS] [SEP] [MASK]
    path = write_table(table, weights)
    print(
        f"{len(table)} tokens -> {path} ({path.stat().st_size:,} bytes) "
        f"in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
