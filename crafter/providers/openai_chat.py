"""OpenAI and OpenAI-compatible chat providers (structured outputs by JSON schema).

Live calls go over httpx (openai_http.py); the official SDK's client serves the Batch API."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from crafter.errors import ProviderError
from crafter.providers.base import Generation, Message, T
from crafter.providers.openai_http import ChatTransport, default_base_url
from crafter.providers.retry import Retryable, RetryPolicy, idle_timeout
from crafter.providers.schema import output_schema
from crafter.providers.structured import RawReply, generate_structured

if TYPE_CHECKING:
    import openai

DEFAULT_MAX_TOKENS = 8000


class OpenAIChatProvider:
    """Chat Completions with ``response_format`` json_schema.

    ``strict`` is for api.openai.com (which rejects length keywords); compatible servers such as
    llama.cpp, vLLM and Ollama get the full schema, lengths included, which their grammars enforce.
    """

    generates_text = True

    def __init__(
        self,
        model_id: str,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None = None,
        strict: bool = True,
        policy: RetryPolicy | None = None,
        extra_body: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_string: int | None = None,
        max_items: int | None = None,
        stream: bool = False,
    ) -> None:
        self.model_id = model_id
        # Streamed answers make the timeout an idle limit in practice: a CPU server that takes
        # four minutes to write a draft sends a token every few hundred ms, so only a server that
        # stops sending times out, never one that is still generating.
        self.stream = stream
        self.model = model
        self.strict = strict
        self.policy = policy or RetryPolicy()
        self.extra_body = extra_body or {}
        self.temperature = temperature
        self.max_string = max_string
        self.max_items = max_items
        self._api_key = api_key
        self._base_url = base_url
        self._client: openai.OpenAI | None = None
        self._transport: ChatTransport | None = None
        # Batch runs call one provider from many threads: build the client once.
        self._client_lock = threading.Lock()
        # The response_format per schema, as JSON text (each call gets its own copy).
        self._formats: dict[type[BaseModel], str] = {}

    def server_url(self) -> str:
        """The API's base URL (a subclass may start a server here: see LocalProvider)."""
        return self._base_url or default_base_url()

    @property
    def transport(self) -> ChatTransport:
        """The HTTP client live calls use, built once (batch runs call from many threads)."""
        base_url = self.server_url()
        with self._client_lock:
            if self._transport is None:
                self._transport = ChatTransport(
                    self.model_id, self.model, self._api_key, self.policy.timeout, base_url
                )
            return self._transport

    @property
    def client(self) -> openai.OpenAI:
        """The official SDK's client, for the Batch API (batches.py); live calls do not use it."""
        base_url = self.server_url()
        with self._client_lock:
            if self._client is None:
                import openai  # lazy: the SDK costs import time the CLI's --help must not pay

                # The SDK's own retries are off: ours honour Retry-After, bounded per policy.
                self._client = openai.OpenAI(
                    api_key=self._api_key or "not-needed",
                    base_url=base_url,
                    max_retries=0,
                    timeout=openai.Timeout(**idle_timeout(self.policy.timeout)),
                )
            return self._client

    def warm_up(self) -> None:
        """Import httpx and build the HTTP client now (regen does this in a thread while it
        plans, so the first drafts do not all wait for it at once); a provider that runs its own
        server (the embedded local model) starts it here too."""
        self.transport.client()

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        def send(convo: Sequence[Message], limit: int) -> RawReply:
            return self._send(convo, schema, limit)

        return generate_structured(
            send,
            messages,
            schema,
            model_id=self.model_id,
            max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
            policy=self.policy,
        )

    def _response_format(self, schema: type[BaseModel]) -> dict[str, Any]:
        """The ``response_format`` that asks for JSON matching ``schema``: built once per schema
        (a schema costs about 2 ms to build, on every call of a long rehearsal)."""
        cached = self._formats.get(schema)
        if cached is None:
            cached = json.dumps(self._build_response_format(schema))
            self._formats[schema] = cached
        value: dict[str, Any] = json.loads(cached)
        return value

    def _build_response_format(self, schema: type[BaseModel]) -> dict[str, Any]:
        json_schema = output_schema(
            schema,
            strict=self.strict,
            keep_lengths=not self.strict,
            max_string=self.max_string,
            max_items=self.max_items,
        )
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": self.strict},
        }

    def request_body(
        self, convo: Sequence[Message], schema: type[BaseModel], limit: int
    ) -> dict[str, Any]:
        """The exact JSON body POSTed to /v1/chat/completions (live calls and batch lines alike)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in convo],
            "response_format": self._response_format(schema),
        }
        # api.openai.com wants max_completion_tokens (reasoning models reject max_tokens);
        # compatible servers know max_tokens.
        body["max_completion_tokens" if self.strict else "max_tokens"] = limit
        if self.temperature is not None:
            body["temperature"] = self.temperature
        # The SDK sends extra_body keys at the top level of the JSON; a batch line must do the same.
        body.update(self.extra_body)
        return body

    def reply_from_body(self, body: dict[str, Any]) -> RawReply:
        """Parse a chat.completion JSON object (a live response or a batch output line's body)."""
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProviderError(f"{self.model_id}: the response had no choices")
        choice = choices[0]
        finish = choice.get("finish_reason")
        message = choice.get("message")
        usage = body.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        return RawReply(
            text=(message.get("content") if isinstance(message, dict) else None) or "",
            finish="length"
            if finish == "length"
            else ("stop" if finish in ("stop", None) else "other"),
            input_tokens=usage.get("prompt_tokens") or 0,
            output_tokens=usage.get("completion_tokens") or 0,
        )

    def _send(self, convo: Sequence[Message], schema: type[BaseModel], limit: int) -> RawReply:
        body = self.request_body(convo, schema, limit)
        base_url = self.server_url()
        if self.stream:
            return self._read_stream(base_url, body)
        resp = self.transport.post(base_url, body)
        if not resp.get("choices"):
            raise Retryable("response had no choices")
        return self.reply_from_body(resp)

    def _read_stream(self, base_url: str, body: dict[str, Any]) -> RawReply:
        """Send ``body`` with streaming on and assemble the chunks into one completion body; a
        server that stops sending mid-answer is a retryable idle timeout (see openai_http)."""
        streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
        parts: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        for data in self.transport.stream(base_url, streamed):
            if data.get("object") == "chat.completion" or any(
                isinstance(c, dict) and "message" in c for c in data.get("choices") or []
            ):
                return self.reply_from_body(data)  # one whole completion: streaming ignored
            choices = data.get("choices") or []
            for choice in choices if isinstance(choices, list) else []:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or {}
                if isinstance(delta, dict) and delta.get("content"):
                    parts.append(str(delta["content"]))
                if choice.get("finish_reason"):
                    finish = str(choice["finish_reason"])
            if isinstance(data.get("usage"), dict):
                usage = dict(data["usage"])
        if finish is None and not parts:
            raise Retryable("the stream ended without an answer")
        return self.reply_from_body(
            {
                "choices": [
                    {"message": {"role": "assistant", "content": "".join(parts)},
                     "finish_reason": finish or "stop"}
                ],
                "usage": usage,
            }
        )  # fmt: skip
