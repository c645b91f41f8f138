"""Model providers behind one interface: messages + pydantic schema -> validated object + usage."""

from crafter.providers.base import Generation, Message, Provider, Usage
from crafter.providers.batches import (
    BatchBackend,
    BatchItemResult,
    BatchRequest,
    BatchState,
    BatchStatus,
    batch_backend,
    request_id,
)
from crafter.providers.fake import FakeCall, FakeProvider
from crafter.providers.registry import (
    Choice,
    ProviderStatus,
    build_provider,
    parse_model_id,
    provider_statuses,
    resolve_model,
)
from crafter.providers.retry import RetryPolicy

__all__ = [
    "BatchBackend",
    "BatchItemResult",
    "BatchRequest",
    "BatchState",
    "BatchStatus",
    "Choice",
    "FakeCall",
    "FakeProvider",
    "Generation",
    "Message",
    "Provider",
    "ProviderStatus",
    "RetryPolicy",
    "Usage",
    "batch_backend",
    "build_provider",
    "parse_model_id",
    "provider_statuses",
    "request_id",
    "resolve_model",
]
