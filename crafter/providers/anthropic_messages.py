"""Anthropic Messages API provider: structured output through a forced tool call."""

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
    import anthropic

DEFAULT_MAX_TOKENS = 8000
TOOL_NAME = "submit"


class AnthropicProvider:
    generates_text = True

    def __init__(
        self,
        model_id: str,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.model_id = model_id
        self.model = model
        self.policy = policy or RetryPolicy()
        self._api_key = api_key
        self._base_url = base_url
        self._client: anthropic.Anthropic | None = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> anthropic.Anthropic:
        with self._client_lock:
            if self._client is None:
                import anthropic

                self._client = anthropic.Anthropic(
                    api_key=self._api_key,
                    base_url=self._base_url,
                    max_retries=0,
                    timeout=anthropic.Timeout(**idle_timeout(self.policy.timeout)),
                )
            return self._client

    def warm_up(self) -> None:
        """Import the SDK and build the client now (see OpenAIChatProvider.warm_up)."""
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

    def request_params(
        self, convo: Sequence[Message], schema: type[BaseModel], limit: int
    ) -> dict[str, Any]:
        """The Messages API parameters for one call (live ``messages.create`` and batch items)."""
        tool = {
            "name": TOOL_NAME,
            "description": f"Submit the {schema.__name__} as structured data.",
            "input_schema": output_schema(schema, strict=False, keep_lengths=True),
        }
        system = "\n\n".join(m.content for m in convo if m.role == "system")
        turns = [{"role": m.role, "content": m.content} for m in convo if m.role != "system"]
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": limit,
            "messages": turns,
            "tools": [tool],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
        }
        if system:
            params["system"] = system
        return params

    def reply_from_message(self, message: dict[str, Any]) -> RawReply:
        """Parse a Message JSON object: the forced tool call's input becomes the JSON text."""
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        for block in blocks:
            if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
                text = json.dumps(block.get("input"))
                break
        else:
            # No tool call: keep any prose so the re-ask can quote what the model said.
            text = "".join(str(b.get("text") or "") for b in blocks)
        usage = message.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        return RawReply(
            text=text,
            finish="length" if message.get("stop_reason") == "max_tokens" else "stop",
            input_tokens=usage.get("input_tokens") or 0,
            output_tokens=usage.get("output_tokens") or 0,
        )

    def _send(self, convo: Sequence[Message], schema: type[BaseModel], limit: int) -> RawReply:
        import anthropic

        try:
            resp = self.client.messages.create(**self.request_params(convo, schema, limit))
        except anthropic.RateLimitError as exc:
            raise Retryable(
                "rate limited (HTTP 429)", parse_retry_after(exc.response.headers)
            ) from None
        except anthropic.APITimeoutError:
            raise Retryable(
                f"no byte from the server for {self.policy.timeout:.0f}s (raise it with "
                "--timeout, CRAFTER_TIMEOUT or timeout in the config file)"
            ) from None
        except anthropic.APIConnectionError as exc:
            raise Retryable(f"connection failed: {type(exc.__cause__ or exc).__name__}") from None
        except anthropic.AuthenticationError:
            raise UsageError(
                f"{self.model_id}: the API key was rejected (HTTP 401)",
                hint="check the key in ANTHROPIC_API_KEY",
            ) from None
        except anthropic.NotFoundError:
            raise UsageError(
                f"{self.model_id}: unknown model {self.model!r} (HTTP 404)",
                hint="run `crafter models` and check the model name",
            ) from None
        except anthropic.APIStatusError as exc:
            # 529 is Anthropic's "overloaded"; 5xx and 408/409 are worth another try.
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                raise Retryable(
                    f"HTTP {exc.status_code}", parse_retry_after(exc.response.headers)
                ) from None
            raise ProviderError(
                f"{self.model_id}: request rejected (HTTP {exc.status_code})"
            ) from None
        except ValueError as exc:
            raise Retryable(f"unreadable response body ({type(exc).__name__})") from None
        return self.reply_from_message(resp.to_dict(warnings=False))
