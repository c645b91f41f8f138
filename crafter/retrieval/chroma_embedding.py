"""The MiniLM embedder as a Chroma embedding function, registered so collections reopen offline.
Imports chromadb: load lazily."""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from crafter.retrieval.embedding import MODEL_NAME, shared_embedder


@register_embedding_function
class CrafterMiniLM(EmbeddingFunction[Documents]):
    """Chroma's view of :class:`MiniLMEmbedder`."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(shared_embedder().embed(list(input)))

    @staticmethod
    def name() -> str:
        return "crafter-minilm-int8"

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> CrafterMiniLM:
        return CrafterMiniLM()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine", "ip", "l2"]
