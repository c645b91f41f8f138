"""OpenAI and OpenAI-compatible chat providers (official SDK, structured outputs by JSON schema)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from crafter.errors import ProviderError, UsageError
from crafter.providers.base import Generation, Message, T
from crafter.providers.retry import Retryable, RetryPolicy, idle_timeout, parse_retry_after
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
        # Batch runs call one provider from many threads: build the client once.
        self._client_lock = threading.Lock()
        # The response_format per schema, as JSON text (each call gets its own copy).
        self._formats: dict[type[BaseModel], str] = {}

    @property
    def client(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                import openai  # lazy: the SDK costs import time the CLI's --help must not pay

                # The SDK's own retries are off: ours honour Retry-After, bounded per policy.
                self._client = openai.OpenAI(
                    api_key=self._api_key or "not-needed",
                    base_url=self._base_url,
                    max_retries=0,
                    timeout=openai.Timeout(**idle_timeout(self.policy.timeout)),
                )
            return self._client

    def warm_up(self) -> None:
        """Import the SDK and build the client now (regen does this in a thread while it plans,
        so the first drafts do not all wait for it at once)."""
        self.client  # noqa: B018

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
        import openai

        body = self.request_body(convo, schema, limit)
        try:
            # Everything goes through extra_body, which the SDK sends verbatim (merged over its
            # own fields): the wire body is exactly request_body(), so batch lines cannot drift.
            # The messages too: the SDK's type-driven transform of a conversation costs about
            # 5 ms of CPU per call and, for role + content strings, changes nothing.
            if self.stream:
                return self._read_stream(body)
            resp = self.client.chat.completions.create(
                model=body["model"], messages=[], extra_body=body
            )
        except openai.RateLimitError as exc:
            raise Retryable(
                "rate limited (HTTP 429)", parse_retry_after(exc.response.headers)
            ) from None
        except openai.APITimeoutError:
            raise Retryable(
                f"no byte from the server for {self.policy.timeout:.0f}s (raise it with "
                "--timeout, CRAFTER_TIMEOUT or timeout in the config file)"
            ) from None
        except openai.APIConnectionError as exc:
            raise Retryable(f"connection failed: {type(exc.__cause__ or exc).__name__}") from None
        except openai.InternalServerError as exc:
            raise Retryable(
                f"server error (HTTP {exc.status_code})", parse_retry_after(exc.response.headers)
            ) from None
        except openai.AuthenticationError:
            raise UsageError(
                f"{self.model_id}: the API key was rejected (HTTP 401)",
                hint="check the key in OPENAI_API_KEY (or CRAFTER_API_KEY for a compatible server)",
            ) from None
        except openai.NotFoundError:
            raise UsageError(
                f"{self.model_id}: the server does not know model {self.model!r} (HTTP 404)",
                hint="run `crafter models` and check the model name",
            ) from None
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                raise Retryable(
                    f"HTTP {exc.status_code}", parse_retry_after(exc.response.headers)
                ) from None
            raise ProviderError(
                f"{self.model_id}: request rejected (HTTP {exc.status_code}): {_brief(exc)}"
            ) from None
        except ValueError as exc:
            # The SDK raises ValueError/JSONDecodeError when a 200 body is not JSON at all.
            raise Retryable(f"unreadable response body ({type(exc).__name__})") from None
        if not getattr(resp, "choices", None):
            raise Retryable("response had no choices")
        return self.reply_from_body(resp.to_dict(warnings=False))

    def _read_stream(self, body: dict[str, Any]) -> RawReply:
        """Send ``body`` with streaming on and assemble the chunks into one completion body.
        Errors while connecting surface as the SDK's (handled by the caller); a server that
        stops sending mid-answer is a retryable idle timeout."""
        import httpx
        import openai

        streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
        stream = self.client.chat.completions.create(
            model=body["model"], messages=[], extra_body=streamed, stream=True
        )
        parts: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        if "json" in stream.response.headers.get("content-type", ""):
            # A server that ignores "stream": true answers with one JSON completion.
            try:
                whole = json.loads(stream.response.read())
            finally:
                stream.close()
            return self.reply_from_body(whole if isinstance(whole, dict) else {})
        try:
            for chunk in stream:
                data: dict[str, Any] = chunk.to_dict(warnings=False)
                choices: list[dict[str, Any]] = data.get("choices") or []
                for choice in choices:
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        parts.append(str(delta["content"]))
                    if choice.get("finish_reason"):
                        finish = str(choice["finish_reason"])
                if data.get("usage"):
                    usage = dict(data["usage"])
        except (httpx.TimeoutException, openai.APITimeoutError):
            raise Retryable(
                f"the server stopped sending for {self.policy.timeout:.0f}s in the middle of an "
                "answer (raise the limit with --timeout, CRAFTER_TIMEOUT or timeout in the config "
                "file)"
            ) from None
        except (httpx.TransportError, openai.APIConnectionError) as exc:
            raise Retryable(f"the stream broke: {type(exc).__name__}") from None
        finally:
            stream.close()
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


def _brief(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."
