"""``scaffold``: no model. The pipeline builds a worksheet instead of asking a model."""

from __future__ import annotations

from collections.abc import Sequence

from crafter.errors import ProviderError
from crafter.providers.base import Generation, Message, T


class ScaffoldProvider:
    """Marks the no-model path; ``generates_text`` is False so stages build worksheets."""

    model_id = "scaffold"
    generates_text = False

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        raise ProviderError("the scaffold does not call a model; the pipeline builds its worksheet")
