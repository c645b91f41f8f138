"""The Anthropic provider's requests and tool-use parsing against a loopback Messages API."""

from __future__ import annotations

import pytest

from crafter.domain import ScenarioContent
from crafter.errors import ProviderError, UsageError
from crafter.providers import Message, RetryPolicy
from crafter.providers.anthropic_messages import AnthropicProvider
from tests.fakes.anthropic_server import AnthropicServer
from tests.helpers import content_dict

MESSAGES = [Message("system", "You write scenarios."), Message("user", "Seed: route questions")]


def provider(server: AnthropicServer) -> AnthropicProvider:
    return AnthropicProvider(
        "anthropic:claude-sonnet-5-5",
        "claude-sonnet-5-5",
        api_key="test-key",
        base_url=server.url,
        policy=RetryPolicy(max_attempts=3, base_delay=0.01, timeout=5.0),
    )


def test_forced_tool_call_is_parsed_and_request_is_well_formed(
    anthropic_server: AnthropicServer,
) -> None:
    anthropic_server.push({"tool": content_dict()})
    gen = provider(anthropic_server).generate(MESSAGES, ScenarioContent, max_tokens=4000)
    assert isinstance(gen.value, ScenarioContent)
    assert (gen.usage.input_tokens, gen.usage.output_tokens) == (200, 90)
    assert gen.usage.cost_usd == pytest.approx((200 * 2 + 90 * 10) / 1e6)
    req = anthropic_server.requests[0]
    assert req.path == "/v1/messages"
    assert "test-key" in (req.headers.get("x-api-key", "") + req.headers.get("authorization", ""))
    body = req.body
    assert body["system"] == "You write scenarios."
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert body["tool_choice"] == {"type": "tool", "name": "submit"}
    assert body["tools"][0]["input_schema"]["additionalProperties"] is False
    assert body["max_tokens"] == 4000


def test_overloaded_is_retried(anthropic_server: AnthropicServer) -> None:
    anthropic_server.push({"status": 529, "retry_after": "0"}, {"tool": content_dict()})
    assert provider(anthropic_server).generate(MESSAGES, ScenarioContent).attempts == 2


def test_text_instead_of_a_tool_call_and_max_tokens_are_reasked(
    anthropic_server: AnthropicServer,
) -> None:
    anthropic_server.push(
        {"text": "I cannot"}, {"max_tokens": {"title": "x"}}, {"tool": content_dict()}
    )
    gen = provider(anthropic_server).generate(MESSAGES, ScenarioContent)
    assert gen.reasks == 2


def test_invalid_tool_input_fails_after_bounded_reasks(anthropic_server: AnthropicServer) -> None:
    anthropic_server.default = {"tool": {"title": "only a title"}}
    with pytest.raises(ProviderError, match="no usable answer after 3 tries"):
        provider(anthropic_server).generate(MESSAGES, ScenarioContent)
    assert len(anthropic_server.requests) == 3


def test_rejected_key(anthropic_server: AnthropicServer) -> None:
    anthropic_server.push({"status": 401})
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        provider(anthropic_server).generate(MESSAGES, ScenarioContent)
