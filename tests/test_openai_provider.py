"""The OpenAI-compatible provider against a real loopback server, over its httpx transport."""

from __future__ import annotations

import time

import pytest

from crafter.domain import ScenarioContent
from crafter.errors import ProviderError, UsageError
from crafter.providers import Message, RetryPolicy
from crafter.providers.openai_chat import OpenAIChatProvider
from tests.fakes.openai_server import FaultServer
from tests.helpers import content_dict

MESSAGES = [Message("system", "You write scenarios."), Message("user", "Seed: route questions")]


def provider(
    server: FaultServer,
    *,
    strict: bool = False,
    timeout: float = 5.0,
    stream: bool = False,
    attempts: int = 4,
) -> OpenAIChatProvider:
    return OpenAIChatProvider(
        "openai-compatible:test" if not strict else "openai:gpt-4o-mini",
        "test-model",
        api_key="test-key",
        base_url=server.base_url,
        strict=strict,
        policy=RetryPolicy(max_attempts=attempts, base_delay=0.01, max_delay=0.05, timeout=timeout),
        stream=stream,
    )


def test_success_returns_validated_object_usage_and_sends_the_schema(
    fault_server: FaultServer,
) -> None:
    fault_server.push({"ok": content_dict()})
    gen = provider(fault_server).generate(MESSAGES, ScenarioContent, max_tokens=900)
    assert isinstance(gen.value, ScenarioContent)
    assert (gen.usage.input_tokens, gen.usage.output_tokens) == (120, 80)
    assert gen.attempts == 1 and gen.reasks == 0
    body = fault_server.requests[0].body
    assert body["max_tokens"] == 900
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_strict_openai_requests_use_max_completion_tokens_and_a_price(
    fault_server: FaultServer,
) -> None:
    fault_server.push({"ok": content_dict()})
    gen = provider(fault_server, strict=True).generate(MESSAGES, ScenarioContent)
    body = fault_server.requests[0].body
    assert "max_completion_tokens" in body and "max_tokens" not in body
    assert body["response_format"]["json_schema"]["strict"] is True
    assert gen.usage.cost_usd is not None and gen.usage.cost_usd > 0


def test_429_honours_retry_after(fault_server: FaultServer) -> None:
    fault_server.push({"status": 429, "retry_after": "1"}, {"ok": content_dict()})
    started = time.perf_counter()
    gen = provider(fault_server).generate(MESSAGES, ScenarioContent)
    assert time.perf_counter() - started >= 0.95
    assert gen.attempts == 2


def test_a_retry_after_beyond_the_bound_fails_fast_with_a_clear_error(
    fault_server: FaultServer,
) -> None:
    fault_server.push({"status": 429, "retry_after": "3600"})
    with pytest.raises(ProviderError, match="asked to wait 3600s"):
        provider(fault_server).generate(MESSAGES, ScenarioContent)
    assert len(fault_server.requests) == 1


def test_server_errors_are_retried_then_recover(fault_server: FaultServer) -> None:
    fault_server.push({"status": 500}, {"status": 503}, {"ok": content_dict()})
    gen = provider(fault_server).generate(MESSAGES, ScenarioContent)
    assert gen.attempts == 3


def test_persistent_server_errors_give_up_after_the_bound(fault_server: FaultServer) -> None:
    fault_server.default = {"status": 500}
    with pytest.raises(ProviderError, match="failed after 4 attempts"):
        provider(fault_server).generate(MESSAGES, ScenarioContent)
    assert len(fault_server.requests) == 4


def test_a_hang_past_the_timeout_is_retried(fault_server: FaultServer) -> None:
    fault_server.push({"hang": 2.0}, {"ok": content_dict()})
    started = time.perf_counter()
    gen = provider(fault_server, timeout=0.5).generate(MESSAGES, ScenarioContent)
    assert gen.attempts == 2
    assert time.perf_counter() - started < 2.0


def test_a_malformed_body_is_retried(fault_server: FaultServer) -> None:
    fault_server.push({"malformed": True}, {"ok": content_dict()})
    assert provider(fault_server).generate(MESSAGES, ScenarioContent).attempts == 2


def test_invalid_json_content_is_reasked_with_the_reason(fault_server: FaultServer) -> None:
    fault_server.push({"content": "Sure! Here is your scenario: {"}, {"ok": content_dict()})
    gen = provider(fault_server).generate(MESSAGES, ScenarioContent)
    assert gen.reasks == 1
    reask = fault_server.requests[1].body["messages"]
    assert reask[-1]["role"] == "user" and "not valid JSON" in reask[-1]["content"]


def test_schema_violations_are_reasked_with_the_problems(fault_server: FaultServer) -> None:
    bad = content_dict()
    bad["hooks"] = []
    bad["surprise"] = 1
    fault_server.push({"ok": bad}, {"ok": content_dict()})
    gen = provider(fault_server).generate(MESSAGES, ScenarioContent)
    assert gen.reasks == 1
    feedback = fault_server.requests[1].body["messages"][-1]["content"]
    assert "hooks" in feedback and "surprise" in feedback


def test_length_cutoffs_are_reasked_then_fail_clearly(fault_server: FaultServer) -> None:
    fault_server.push({"length": '{"title": "cut'}, {"ok": content_dict()})
    assert provider(fault_server).generate(MESSAGES, ScenarioContent).reasks == 1
    fault_server.default = {"length": '{"title": "cut'}
    with pytest.raises(ProviderError, match="cut off"):
        provider(fault_server).generate(MESSAGES, ScenarioContent)


def test_a_rejected_key_is_a_usage_error(fault_server: FaultServer) -> None:
    fault_server.push({"status": 401, "message": "bad key"})
    with pytest.raises(UsageError, match="rejected"):
        provider(fault_server).generate(MESSAGES, ScenarioContent)


def test_an_unreachable_server_fails_with_a_clear_error() -> None:
    p = OpenAIChatProvider(
        "openai-compatible:test",
        "m",
        api_key=None,
        base_url="http://127.0.0.1:9/v1",
        strict=False,
        policy=RetryPolicy(max_attempts=2, base_delay=0.01, timeout=1.0),
    )
    with pytest.raises(ProviderError, match="connection failed"):
        p.generate(MESSAGES, ScenarioContent)


# -- streaming: the timeout is an idle limit ----------------------------------------------------


def test_a_slow_stream_longer_than_the_timeout_still_succeeds(fault_server: FaultServer) -> None:
    # Six pieces 0.4 s apart: 2 s in all, four times the 0.5 s limit, but never 0.5 s silent.
    fault_server.push({"stream": content_dict(), "pieces": 6, "gap": 0.4})
    started = time.perf_counter()
    gen = provider(fault_server, timeout=0.5, stream=True).generate(MESSAGES, ScenarioContent)
    assert time.perf_counter() - started >= 2.0
    assert gen.attempts == 1 and isinstance(gen.value, ScenarioContent)
    assert (gen.usage.input_tokens, gen.usage.output_tokens) == (120, 80)
    body = fault_server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_a_stream_that_goes_quiet_is_retried_then_reported(fault_server: FaultServer) -> None:
    quiet = {"stream": content_dict(), "pieces": 4, "stall_after": 2, "stall": 1.5}
    fault_server.push(quiet, {"ok": content_dict()})
    gen = provider(fault_server, timeout=0.5, stream=True).generate(MESSAGES, ScenarioContent)
    assert gen.attempts == 2  # the stalled stream was dropped and asked again
    fault_server.push(quiet, quiet)
    with pytest.raises(ProviderError, match="stopped sending"):
        provider(fault_server, timeout=0.5, stream=True, attempts=2).generate(
            MESSAGES, ScenarioContent
        )


def test_a_server_that_ignores_stream_is_read_whole(fault_server: FaultServer) -> None:
    import json

    from tests.fakes.loopback import json_action
    from tests.fakes.openai_server import completion

    fault_server.push(lambda _request: json_action(completion(json.dumps(content_dict()))))
    gen = provider(fault_server, stream=True).generate(MESSAGES, ScenarioContent)
    assert gen.attempts == 1 and isinstance(gen.value, ScenarioContent)


def test_compatible_servers_stream_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from crafter.providers import build_provider

    monkeypatch.setenv("CRAFTER_BASE_URL", "http://127.0.0.1:9/v1")
    assert build_provider("openai-compatible:m").stream is True  # type: ignore[attr-defined]
    monkeypatch.setenv("CRAFTER_STREAM", "0")
    assert build_provider("openai-compatible:m").stream is False  # type: ignore[attr-defined]


# -- the transport: headers, error bodies, events mid-stream -------------------------------------


def test_requests_carry_the_key_and_the_sdk_environment_headers(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-123")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-9")
    fault_server.push({"ok": content_dict()})
    provider(fault_server).generate(MESSAGES, ScenarioContent)
    headers = fault_server.requests[0].headers
    assert headers["authorization"] == "Bearer test-key"
    assert (headers["openai-organization"], headers["openai-project"]) == ("org-123", "proj-9")
    assert headers["user-agent"].startswith("crafter/")


def test_a_rejected_request_quotes_the_servers_message_as_plain_text(
    fault_server: FaultServer,
) -> None:
    fault_server.push({"status": 400, "message": "[bold]max_tokens[/bold] is too\nlarge " * 30})
    with pytest.raises(ProviderError) as caught:
        provider(fault_server).generate(MESSAGES, ScenarioContent)
    message = caught.value.message
    assert "request rejected (HTTP 400): [bold]max_tokens[/bold] is too large" in message
    assert "\n" not in message and len(message) < 400  # one line, shortened
    assert len(fault_server.requests) == 1  # a 4xx is not retried


def test_not_found_and_conflict_map_as_the_api_means_them(fault_server: FaultServer) -> None:
    fault_server.push({"status": 404})
    with pytest.raises(UsageError, match="does not know model 'test-model'"):
        provider(fault_server).generate(MESSAGES, ScenarioContent)
    fault_server.push({"status": 409}, {"ok": content_dict()})
    assert provider(fault_server).generate(MESSAGES, ScenarioContent).attempts == 2


def test_an_error_event_in_the_middle_of_a_stream_is_retried(fault_server: FaultServer) -> None:
    from tests.fakes.loopback import Action

    broken = Action(200, headers={"content-type": "text/event-stream"}, chunks=[
        b": keep-alive\n\n",
        b'data: {"choices": [{"index": 0, "delta": {"content": "{\\"ti"}}]}\n\n',
        b'data: {"error": {"message": "the model crashed"}}\n\n',
    ])  # fmt: skip
    fault_server.push(lambda _request: broken, {"ok": content_dict()})
    gen = provider(fault_server, stream=True).generate(MESSAGES, ScenarioContent)
    assert gen.attempts == 2 and isinstance(gen.value, ScenarioContent)


def test_a_stream_cut_before_any_answer_is_retried(fault_server: FaultServer) -> None:
    from tests.fakes.loopback import Action

    empty = Action(200, headers={"content-type": "text/event-stream"}, chunks=[b"data: [DONE]\n\n"])
    fault_server.push(lambda _request: empty, {"ok": content_dict()})
    assert provider(fault_server, stream=True).generate(MESSAGES, ScenarioContent).attempts == 2


def test_live_calls_do_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from crafter.providers.openai_chat import OpenAIChatProvider\n"
        "p = OpenAIChatProvider('openai-compatible:m', 'm', api_key=None,"
        " base_url='http://127.0.0.1:9/v1', strict=False)\n"
        "p.warm_up()\n"
        "print('openai' in sys.modules, 'httpx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
