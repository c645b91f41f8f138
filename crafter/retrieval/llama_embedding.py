"""The MiniLM embedder as a llama-index embedding (for its retrievers and node pipelines).

Kept apart from the Chroma wrapper: importing llama_index costs over a second that searching
does not need.
"""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding

from crafter.retrieval.embedding import MODEL_NAME, shared_embedder


class LlamaIndexMiniLM(BaseEmbedding):
    """llama-index's view of :class:`MiniLMEmbedder` (for its retrievers and node pipelines)."""

    model_name: str = MODEL_NAME

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in shared_embedder().embed([query])[0]]

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in shared_embedder().embed([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in shared_embedder().embed(texts)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
