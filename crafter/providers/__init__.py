"""Model providers behind one interface: messages + pydantic schema -> validated object + usage."""

from crafter.providers.base import Generation, Message, Provider, Usage
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
    "Choice",
    "FakeCall",
    "FakeProvider",
    "Generation",
    "Message",
    "Provider",
    "ProviderStatus",
    "RetryPolicy",
    "Usage",
    "build_provider",
    "parse_model_id",
    "provider_statuses",
    "resolve_model",
]
