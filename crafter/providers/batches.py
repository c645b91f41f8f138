"""Batch APIs (OpenAI Batch, Anthropic Message Batches): submit many calls, poll, collect.

Batches cost about half the live price and finish within 24 hours. This layer only talks to the
provider; which requests to send, the journal and resuming belong to the caller. Each item's
request body comes from the live provider's own builder, so a batch asks exactly what a live call
would, and each answer is parsed by the live provider's own parser into a ``RawReply``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from crafter.errors import CrafterError, ProviderError, UsageError, redact
from crafter.providers.anthropic_messages import AnthropicProvider
from crafter.providers.base import Message, Provider
from crafter.providers.openai_chat import OpenAIChatProvider
from crafter.providers.retry import Retryable, RetryPolicy, parse_retry_after, with_retries
from crafter.providers.structured import RawReply

if TYPE_CHECKING:
    import anthropic
    import openai

__all__ = [
    "AnthropicBatchBackend",
    "BatchBackend",
    "BatchItemResult",
    "BatchRequest",
    "BatchState",
    "BatchStatus",
    "OpenAIBatchBackend",
    "batch_backend",
    "request_id",
]

log = logging.getLogger("crafter.providers.batches")
R = TypeVar("R")

BatchState = Literal["in_progress", "ended", "failed", "cancelled", "expired"]

# Anthropic's rule for custom_id; OpenAI accepts any string, so one rule serves both.
CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BATCH_PRICE_FACTOR = 0.5

_OPENAI_STATES: Mapping[str, BatchState] = {
    "validating": "in_progress",
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "cancelling": "in_progress",
    "completed": "ended",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}
# Error codes OpenAI writes for items it never ran, as the short reasons callers match on.
_OPENAI_ITEM_CODES: Mapping[str, str] = {"batch_expired": "expired", "batch_cancelled": "cancelled"}


@dataclass(frozen=True)
class BatchRequest:
    """One call in a batch: ``body`` comes from ``BatchBackend.request``."""

    custom_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class BatchStatus:
    """Where a batch is. ``ended``: results can be collected; ``failed`` counts lost items."""

    batch_id: str
    state: BatchState
    total: int
    succeeded: int
    failed: int
    detail: str = ""


@dataclass(frozen=True)
class BatchItemResult:
    """One item's answer (``reply``), or why there is none (``error``)."""

    custom_id: str
    reply: RawReply | None
    error: str = ""


class BatchBackend(Protocol):
    provider_name: str
    model_id: str
    price_factor: float

    def request(
        self, convo: Sequence[Message], schema: type[BaseModel], limit: int
    ) -> dict[str, Any]: ...

    def submit(
        self, requests: Sequence[BatchRequest], *, description: str = "", token: str | None = None
    ) -> str: ...

    def find_submission(self, token: str) -> str | None:
        """The batch a ``submit`` with ``token`` created, if the provider can tell (else None)."""
        ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str) -> list[BatchItemResult]: ...

    def cancel(self, batch_id: str) -> None: ...


def request_id(body: dict[str, Any]) -> str:
    """A stable custom_id for ``body``: the same request always gets the same id."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "r" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:63]


def batch_backend(provider: Provider) -> BatchBackend:
    """The batch API behind ``provider``; a UsageError for providers that have none."""
    kind = provider.model_id.split(":", 1)[0]
    if kind in ("openai", "openai-compatible") and isinstance(provider, OpenAIChatProvider):
        return OpenAIBatchBackend(provider)
    if kind == "anthropic" and isinstance(provider, AnthropicProvider):
        return AnthropicBatchBackend(provider)
    raise UsageError(
        f"{provider.model_id} has no batch API",
        hint="batch mode works with anthropic:*, openai:* and openai-compatible servers that "
        "implement /v1/batches (such as vLLM); run without it for this model",
    )


def _check_requests(requests: Sequence[BatchRequest], max_requests: int) -> None:
    if not requests:
        raise ValueError("a batch needs at least one request")
    seen: set[str] = set()
    for req in requests:
        if not CUSTOM_ID.match(req.custom_id):
            raise ValueError(f"custom_id {req.custom_id!r} does not match {CUSTOM_ID.pattern}")
        if req.custom_id in seen:
            raise ValueError(f"custom_id {req.custom_id!r} appears twice in one batch")
        seen.add(req.custom_id)
    if len(requests) > max_requests:
        raise UsageError(
            f"{len(requests)} requests do not fit in one batch (the limit is {max_requests})",
            hint="regenerate fewer scenarios per run",
        )


def _brief(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class _Backend:
    """Shared by both backends: error translation, key scrubbing and retries."""

    provider_name: str
    model_id: str
    price_factor: float = BATCH_PRICE_FACTOR
    _sdk_base_error: str

    def __init__(
        self, model_id: str, policy: RetryPolicy, *, secret: str | None, key_var: str
    ) -> None:
        self.model_id = model_id
        self.policy = policy
        self._secret = secret
        self._key_var = key_var

    def _sdk(self) -> ModuleType:  # pragma: no cover - overridden
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        """Text from the provider, safe to show: the key removed even if it is not key-shaped."""
        if self._secret and len(self._secret) >= 4:
            text = text.replace(self._secret, "<key redacted>")
        return redact(text)

    def _call(self, what: str, call: Callable[[], R], *, not_found: tuple[str, str]) -> R:
        """Run one API call with the provider's retry policy, SDK errors made ours.

        ``not_found`` is the (message, hint) of the UsageError a 404 means for this call.
        """

        def attempt() -> R:
            try:
                return call()
            except CrafterError:
                raise
            except Exception as exc:
                ours = self._translate(exc, what, not_found)
                if ours is exc:
                    raise  # not an API failure: a bug, keep its traceback
                raise ours from None

        result, _ = with_retries(attempt, self.policy, what=f"{self.model_id} batch {what}")
        return result

    def _translate(self, exc: Exception, what: str, not_found: tuple[str, str]) -> Exception:
        sdk = self._sdk()
        who = self.model_id
        if isinstance(exc, sdk.RateLimitError):
            return Retryable("rate limited (HTTP 429)", parse_retry_after(exc.response.headers))
        if isinstance(exc, sdk.APITimeoutError):
            return Retryable(f"no answer within {self.policy.timeout:.0f}s")
        if isinstance(exc, sdk.APIConnectionError):
            return Retryable(f"connection failed: {type(exc.__cause__ or exc).__name__}")
        if isinstance(exc, sdk.AuthenticationError):
            return UsageError(
                f"{who}: the API key was rejected (HTTP 401)",
                hint=f"check the key in {self._key_var}",
            )
        if isinstance(exc, sdk.PermissionDeniedError):
            return UsageError(
                f"{who}: this key may not use the batch API (HTTP 403)",
                hint=f"check the key in {self._key_var} and its project's permissions",
            )
        if isinstance(exc, sdk.NotFoundError):
            return UsageError(f"{who}: {not_found[0]} (HTTP 404)", hint=not_found[1])
        if isinstance(exc, sdk.APIStatusError):
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                return Retryable(
                    f"server error (HTTP {exc.status_code})",
                    parse_retry_after(exc.response.headers),
                )
            return ProviderError(
                self._scrub(
                    f"{who}: batch {what} rejected (HTTP {exc.status_code}): {_brief(str(exc))}"
                )
            )
        # A stream cut mid-download surfaces as the HTTP library's own error (httpx or httpx2,
        # depending on the SDK version); checked by module so neither needs importing here.
        if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore"):
            return Retryable(f"transfer failed: {type(exc).__name__}")
        if isinstance(exc, ValueError):
            # The SDKs raise ValueError/JSONDecodeError when a 200 body is not JSON.
            return Retryable(f"unreadable response body ({type(exc).__name__})")
        if isinstance(exc, getattr(sdk, self._sdk_base_error)):
            return ProviderError(self._scrub(f"{who}: batch {what} failed: {_brief(str(exc))}"))
        return exc

    def _unknown_batch(self, batch_id: str) -> tuple[str, str]:
        return (
            f"batch {batch_id} is unknown to the provider",
            "it may have been submitted with another API key, project or base URL, or deleted; "
            "submit the requests again",
        )


class OpenAIBatchBackend(_Backend):
    """The OpenAI Batch API (also served by OpenAI-compatible servers such as vLLM)."""

    provider_name = "openai"
    _sdk_base_error = "OpenAIError"
    endpoint: Literal["/v1/chat/completions"] = "/v1/chat/completions"
    max_requests = 50_000
    max_bytes = 200 * 1024 * 1024

    def __init__(self, provider: OpenAIChatProvider) -> None:
        super().__init__(
            provider.model_id,
            provider.policy,
            secret=provider._api_key,
            key_var="OPENAI_API_KEY" if provider.strict else "CRAFTER_API_KEY",
        )
        self.provider = provider

    def _sdk(self) -> ModuleType:
        import openai

        return openai

    @property
    def _client(self) -> openai.OpenAI:
        return self.provider.client

    def request(
        self, convo: Sequence[Message], schema: type[BaseModel], limit: int
    ) -> dict[str, Any]:
        return self.provider.request_body(convo, schema, limit)

    def jsonl(self, requests: Sequence[BatchRequest]) -> bytes:
        """The input file: one request per line, as the Batch API expects."""
        lines = [
            json.dumps(
                {"custom_id": r.custom_id, "method": "POST", "url": self.endpoint, "body": r.body},
                ensure_ascii=False,
            )
            for r in requests
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def submit(
        self, requests: Sequence[BatchRequest], *, description: str = "", token: str | None = None
    ) -> str:
        """Upload the requests and create the batch. ``token`` tags it so that a caller killed
        before it could record the batch id finds it again (``find_submission``)."""
        _check_requests(requests, self.max_requests)
        data = self.jsonl(requests)
        if len(data) > self.max_bytes:
            raise UsageError(
                f"the batch file is {len(data) / 1e6:.0f} MB; the limit is {self.max_bytes / 1e6:.0f} MB",
                hint="regenerate fewer scenarios per run",
            )
        client = self._client
        no_api = (
            "this server has no batch API",
            "OpenAI-compatible servers need /v1/files and /v1/batches (vLLM has them); "
            "run without batch mode for this server",
        )
        upload = self._call(
            "upload",
            lambda: client.files.create(file=("crafter-batch.jsonl", data), purpose="batch"),
            not_found=no_api,
        )
        # A create that timed out may still have made the batch. The token lets a retry find
        # and adopt it instead of paying for the same requests twice.
        token = token or uuid.uuid4().hex
        metadata = {"crafter_submission": token}
        if description:
            metadata["description"] = description[:512]
        tried = False

        def create() -> str:
            nonlocal tried
            if tried:
                found = self.find_submission(token)
                if found:
                    log.info("adopted batch %s created by an earlier attempt", found)
                    return found
            tried = True
            batch = client.batches.create(
                input_file_id=upload.id,
                endpoint=self.endpoint,
                completion_window="24h",
                metadata=metadata,
            )
            return batch.id

        return self._call("submit", create, not_found=no_api)

    def find_submission(self, token: str) -> str | None:
        """The batch an earlier attempt created with ``token``, if the server lists it."""
        try:
            page = self._client.batches.list(limit=100)
        except Exception as exc:
            # Best effort: some compatible servers cannot list batches; then create again.
            log.warning("could not list batches to check for a duplicate: %s", type(exc).__name__)
            return None
        for batch in page.data:
            if (batch.metadata or {}).get("crafter_submission") == token:
                return batch.id
        return None

    def status(self, batch_id: str) -> BatchStatus:
        batch = self._retrieve(batch_id)
        counts = batch.request_counts
        detail: str = batch.status
        errors = batch.errors.data if batch.errors and batch.errors.data else []
        if errors:
            detail += ": " + "; ".join(
                f"{e.code or 'error'}"
                + (f" (line {e.line})" if e.line is not None else "")
                + f": {e.message or ''}"
                for e in errors[:5]
            )
        return BatchStatus(
            batch_id=batch.id,
            # An unknown new status keeps the caller polling rather than giving up.
            state=_OPENAI_STATES.get(batch.status, "in_progress"),
            total=counts.total if counts else 0,
            succeeded=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            detail=self._scrub(_brief(detail, 500)),
        )

    def _retrieve(self, batch_id: str) -> openai.types.Batch:
        client = self._client
        return self._call(
            "status",
            lambda: client.batches.retrieve(batch_id),
            not_found=self._unknown_batch(batch_id),
        )

    def results(self, batch_id: str) -> list[BatchItemResult]:
        batch = self._retrieve(batch_id)
        if _OPENAI_STATES.get(batch.status) not in ("ended", "expired", "cancelled", "failed"):
            raise ProviderError(
                f"{self.model_id}: batch {batch_id} has not ended yet ({batch.status})",
                hint="poll its status until it has ended, then collect",
            )
        found: dict[str, BatchItemResult] = {}
        # Answers first: an id in both files keeps its answer.
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            text = self._download(batch_id, file_id)
            for item in self._parse_lines(text):
                if item.custom_id not in found or found[item.custom_id].reply is None:
                    found[item.custom_id] = item
        return list(found.values())

    def _download(self, batch_id: str, file_id: str) -> str:
        client = self._client
        return self._call(
            "download",
            lambda: client.files.content(file_id).text,
            not_found=(
                f"the results file {file_id} of batch {batch_id} is gone",
                "batch files expire after 30 days; submit the requests again",
            ),
        )

    def _parse_lines(self, text: str) -> list[BatchItemResult]:
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                log.warning("skipped unreadable line %d of a batch results file", n)
                continue
            if isinstance(data, dict) and isinstance(data.get("custom_id"), str):
                items.append(self._item(data))
            else:
                log.warning("skipped line %d of a batch results file: no custom_id", n)
        return items

    def _item(self, line: dict[str, Any]) -> BatchItemResult:
        cid: str = line["custom_id"]
        error = line.get("error")
        if isinstance(error, dict) and error:
            code = str(error.get("code") or "error")
            if code in _OPENAI_ITEM_CODES:
                return BatchItemResult(cid, None, _OPENAI_ITEM_CODES[code])
            return BatchItemResult(
                cid, None, self._scrub(f"{code}: {_brief(str(error.get('message') or ''))}")
            )
        response = line.get("response")
        response = response if isinstance(response, dict) else {}
        status = response.get("status_code")
        body = response.get("body")
        if status == 200 and isinstance(body, dict):
            try:
                return BatchItemResult(cid, self.provider.reply_from_body(body))
            except ProviderError as exc:
                return BatchItemResult(cid, None, exc.message)
        message = ""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = str(body["error"].get("message") or "")
        elif body is not None:
            message = str(body)
        return BatchItemResult(cid, None, self._scrub(f"HTTP {status}: {_brief(message)}"))

    def cancel(self, batch_id: str) -> None:
        client = self._client
        self._call(
            "cancel",
            lambda: client.batches.cancel(batch_id),
            not_found=self._unknown_batch(batch_id),
        )


class AnthropicBatchBackend(_Backend):
    """Anthropic Message Batches."""

    provider_name = "anthropic"
    _sdk_base_error = "AnthropicError"
    max_requests = 100_000

    def __init__(self, provider: AnthropicProvider) -> None:
        super().__init__(
            provider.model_id,
            provider.policy,
            secret=provider._api_key,
            key_var="ANTHROPIC_API_KEY",
        )
        self.provider = provider

    def _sdk(self) -> ModuleType:
        import anthropic

        return anthropic

    @property
    def _client(self) -> anthropic.Anthropic:
        return self.provider.client

    def request(
        self, convo: Sequence[Message], schema: type[BaseModel], limit: int
    ) -> dict[str, Any]:
        return self.provider.request_params(convo, schema, limit)

    def submit(
        self, requests: Sequence[BatchRequest], *, description: str = "", token: str | None = None
    ) -> str:
        """Submit ``requests``; Message Batches keep no metadata, so ``description`` and
        ``token`` are unused."""
        _check_requests(requests, self.max_requests)
        items: list[Any] = [{"custom_id": r.custom_id, "params": r.body} for r in requests]
        client = self._client
        batch = self._call(
            "submit",
            lambda: client.messages.batches.create(requests=items),
            not_found=(
                "this server has no Message Batches API",
                "check ANTHROPIC_BASE_URL, or run without batch mode",
            ),
        )
        return batch.id

    def find_submission(self, token: str) -> str | None:
        """Message Batches carry no metadata to find a batch by: never found."""
        return None

    def _retrieve(self, batch_id: str) -> anthropic.types.messages.MessageBatch:
        client = self._client
        return self._call(
            "status",
            lambda: client.messages.batches.retrieve(batch_id),
            not_found=self._unknown_batch(batch_id),
        )

    def status(self, batch_id: str) -> BatchStatus:
        batch = self._retrieve(batch_id)
        c = batch.request_counts
        detail: str = batch.processing_status
        if batch.cancel_initiated_at is not None:
            detail += " (cancel requested)"
        return BatchStatus(
            batch_id=batch.id,
            state="ended" if batch.processing_status == "ended" else "in_progress",
            total=c.processing + c.succeeded + c.errored + c.canceled + c.expired,
            succeeded=c.succeeded,
            failed=c.errored + c.canceled + c.expired,
            detail=detail,
        )

    def results(self, batch_id: str) -> list[BatchItemResult]:
        batch = self._retrieve(batch_id)
        if batch.processing_status != "ended":
            raise ProviderError(
                f"{self.model_id}: batch {batch_id} has not ended yet ({batch.processing_status})",
                hint="poll its status until it has ended, then collect",
            )
        client = self._client

        def fetch() -> list[dict[str, Any]]:
            # The results stream is read whole inside one attempt: a cut stream is fetched again.
            return [
                line.to_dict(warnings=False) for line in client.messages.batches.results(batch_id)
            ]

        lines = self._call(
            "download",
            fetch,
            not_found=(
                f"the results of batch {batch_id} are gone",
                "Message Batch results are kept for 29 days; submit the requests again",
            ),
        )
        return [self._item(line) for line in lines if isinstance(line.get("custom_id"), str)]

    def _item(self, line: dict[str, Any]) -> BatchItemResult:
        cid: str = line["custom_id"]
        result = line.get("result")
        result = result if isinstance(result, dict) else {}
        kind = result.get("type")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            return BatchItemResult(cid, self.provider.reply_from_message(result["message"]))
        if kind == "errored":
            outer = result.get("error")
            inner = outer.get("error") if isinstance(outer, dict) else None
            inner = inner if isinstance(inner, dict) else {}
            etype = str(inner.get("type") or "error")
            message = _brief(str(inner.get("message") or ""))
            return BatchItemResult(cid, None, self._scrub(f"errored: {etype} {message}".strip()))
        if kind == "canceled":
            return BatchItemResult(cid, None, "cancelled")
        if kind == "expired":
            return BatchItemResult(cid, None, "expired")
        return BatchItemResult(cid, None, f"unknown result type {kind!r}")

    def cancel(self, batch_id: str) -> None:
        client = self._client
        self._call(
            "cancel",
            lambda: client.messages.batches.cancel(batch_id),
            not_found=self._unknown_batch(batch_id),
        )
