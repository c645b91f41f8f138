"""The batch layer (OpenAI Batch, Anthropic Message Batches) against loopback servers, real SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from crafter.errors import ProviderError, UsageError
from crafter.pipeline.models import DraftOutput
from crafter.providers import FakeProvider, Message, RetryPolicy
from crafter.providers.anthropic_messages import AnthropicProvider
from crafter.providers.batches import (
    CUSTOM_ID,
    BatchBackend,
    BatchRequest,
    batch_backend,
    request_id,
)
from crafter.providers.local import LocalProvider
from crafter.providers.openai_chat import OpenAIChatProvider
from crafter.providers.scaffold import ScaffoldProvider
from crafter.providers.structured import RawReply, generate_structured
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.batch_servers import (
    AnthropicBatchServer,
    OpenAIBatchServer,
    cut,
    errored,
    expired,
    ok,
    text,
)
from tests.fakes.openai_server import FaultServer
from tests.helpers import content_dict

pytestmark = pytest.mark.integration

MESSAGES = [Message("system", "You write scenarios."), Message("user", "Seed: route questions")]
SENTINEL = "SENTINEL-not-key-shaped-7d41c9"
POLICY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, timeout=5.0)


class Answer(BaseModel):
    word: str
    n: int


def draft_dict() -> dict[str, Any]:
    return {**content_dict(), "reference_reasons": []}


def openai_provider(
    base_url: str,
    *,
    strict: bool = True,
    api_key: str = "test-key",
    policy: RetryPolicy = POLICY,
    **options: Any,
) -> OpenAIChatProvider:
    return OpenAIChatProvider(
        "openai:gpt-4o-mini" if strict else "openai-compatible:test",
        "gpt-4o-mini" if strict else "test-model",
        api_key=api_key,
        base_url=base_url,
        strict=strict,
        policy=policy,
        **options,
    )


def anthropic_provider(base_url: str, *, api_key: str = "test-key") -> AnthropicProvider:
    return AnthropicProvider(
        "anthropic:claude-sonnet-5-5",
        "claude-sonnet-5-5",
        api_key=api_key,
        base_url=base_url,
        policy=POLICY,
    )


def by_word(body: dict[str, Any]) -> dict[str, Any]:
    """Answer each request according to the word in its last user message."""
    word = body["messages"][-1]["content"]
    if word == "errored":
        return errored("the request was invalid")
    if word == "expired":
        return expired()
    if word == "prose":
        return text("Sure! Here you go.", input_tokens=30, output_tokens=7)
    if word == "cut":
        return cut({"word": word, "n": 1}, input_tokens=40, output_tokens=900)
    return ok({"word": word, "n": len(word)}, input_tokens=11 * len(word), output_tokens=5)


def requests_for(backend: BatchBackend, *words: str) -> list[BatchRequest]:
    out = []
    for word in words:
        body = backend.request([Message("system", "Answer."), Message("user", word)], Answer, 500)
        out.append(BatchRequest(request_id(body), body))
    return out


@pytest.fixture
def openai_batch() -> Iterator[OpenAIBatchServer]:
    server = OpenAIBatchServer(polls=1, answer=by_word)
    with server:
        yield server


@pytest.fixture
def anthropic_batch() -> Iterator[AnthropicBatchServer]:
    server = AnthropicBatchServer(polls=1, answer=by_word)
    with server:
        yield server


Server = OpenAIBatchServer | AnthropicBatchServer


@pytest.fixture(params=["openai", "anthropic"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(kind: str) -> Iterator[Server]:
    srv: Server = (
        OpenAIBatchServer(polls=1, answer=by_word)
        if kind == "openai"
        else AnthropicBatchServer(polls=1, answer=by_word)
    )
    with srv:
        yield srv


def backend_for(server: Server, *, api_key: str = "test-key") -> BatchBackend:
    if isinstance(server, OpenAIBatchServer):
        return batch_backend(openai_provider(server.base_url, api_key=api_key))
    return batch_backend(anthropic_provider(server.url, api_key=api_key))


def batch_paths(server: Server) -> tuple[str, str]:
    """(create path, retrieve path regex) for the server's API."""
    if isinstance(server, OpenAIBatchServer):
        return "/v1/batches", r"/v1/batches/[^/]+"
    return "/v1/messages/batches", r"/v1/messages/batches/[^/]+"


# -- (a) request shapes: a batch asks exactly what a live call asks -----------------------------
@pytest.mark.parametrize(
    "options",
    [
        {"strict": True},
        {"strict": False, "temperature": 0.3, "extra_body": {"repeat_penalty": 1.1}},
    ],
    ids=["openai", "compatible-with-extras"],
)
def test_openai_batch_lines_carry_the_live_request_body(
    fault_server: FaultServer, openai_batch: OpenAIBatchServer, options: dict[str, Any]
) -> None:
    fault_server.push({"ok": draft_dict()})
    openai_provider(fault_server.base_url, **options).generate(
        MESSAGES, DraftOutput, max_tokens=900
    )
    live = fault_server.requests[0].body

    backend = batch_backend(openai_provider(openai_batch.base_url, **options))
    body = backend.request(MESSAGES, DraftOutput, 900)
    assert json.loads(json.dumps(body)) == live
    batch_id = backend.submit([BatchRequest(request_id(body), body)], description="regen lib")

    [line] = openai_batch.input_lines(batch_id)
    assert line == {
        "custom_id": request_id(body),
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": live,
    }
    [upload] = openai_batch.calls("POST", "/v1/files")
    assert b'filename="crafter-batch.jsonl"' in upload.raw
    assert openai_batch.files[openai_batch.batches[batch_id]["input_file_id"]]["purpose"] == "batch"
    create = openai_batch.calls("POST", "/v1/batches")[0].body
    assert create["endpoint"] == "/v1/chat/completions"
    assert create["completion_window"] == "24h"
    assert create["metadata"]["description"] == "regen lib"


def test_anthropic_batch_params_are_the_live_request(
    anthropic_server: AnthropicServer, anthropic_batch: AnthropicBatchServer
) -> None:
    anthropic_server.push({"tool": draft_dict()})
    anthropic_provider(anthropic_server.url).generate(MESSAGES, DraftOutput, max_tokens=4000)
    live = anthropic_server.requests[0].body

    backend = batch_backend(anthropic_provider(anthropic_batch.url))
    params = backend.request(MESSAGES, DraftOutput, 4000)
    assert json.loads(json.dumps(params)) == live
    backend.submit([BatchRequest("item-1", params)])
    sent = anthropic_batch.calls("POST", "/v1/messages/batches")[0].body
    assert sent == {"requests": [{"custom_id": "item-1", "params": live}]}


# -- (b) submit -> in progress -> ended -> results, through the real SDKs ----------------------
def test_round_trip_parses_every_answer(server: Server, kind: str) -> None:
    server.polls = 2  # the status check inside results() is a poll too
    backend = backend_for(server)
    assert (backend.provider_name, backend.price_factor) == (kind, 0.5)
    reqs = requests_for(backend, "alpha", "beta", "prose", "cut")
    batch_id = backend.submit(reqs)

    first = backend.status(batch_id)
    assert (first.batch_id, first.state, first.total) == (batch_id, "in_progress", 4)
    with pytest.raises(ProviderError, match="has not ended"):
        backend.results(batch_id)
    done = backend.status(batch_id)
    assert (done.state, done.total, done.succeeded, done.failed) == ("ended", 4, 4, 0)

    got = {r.custom_id: r for r in backend.results(batch_id)}
    ids = [r.custom_id for r in reqs]
    assert set(got) == set(ids)
    assert got[ids[0]].reply == RawReply('{"word": "alpha", "n": 5}', "stop", 55, 5)
    assert got[ids[1]].reply == RawReply('{"word": "beta", "n": 4}', "stop", 44, 5)
    assert got[ids[2]].reply == RawReply("Sure! Here you go.", "stop", 30, 7)
    cut_reply = got[ids[3]].reply
    assert cut_reply is not None and (cut_reply.finish, cut_reply.output_tokens) == ("length", 900)
    assert all(r.error == "" for r in got.values())


def test_a_batch_stays_in_progress_for_the_configured_polls(server: Server) -> None:
    server.polls = 3
    backend = backend_for(server)
    batch_id = backend.submit(requests_for(backend, "one"))
    states = [backend.status(batch_id).state for _ in range(5)]
    assert states == ["in_progress"] * 3 + ["ended"] * 2


# -- (c) per-item failures come back as errors, the rest succeed -------------------------------
def test_errored_and_expired_items_are_errors_and_the_others_succeed(
    server: Server, kind: str
) -> None:
    backend = backend_for(server)
    reqs = requests_for(backend, "good", "errored", "expired")
    batch_id = backend.submit(reqs)
    backend.status(batch_id)
    status = backend.status(batch_id)
    # OpenAI marks a batch with unfinished items expired; Anthropic's simply ends.
    assert status.state == ("expired" if kind == "openai" else "ended")
    assert (status.total, status.succeeded, status.failed) == (3, 1, 2)
    got = {r.custom_id: r for r in backend.results(batch_id)}
    good, bad, late = (got[r.custom_id] for r in reqs)
    assert good.reply is not None and good.error == ""
    assert bad.reply is None and "the request was invalid" in bad.error
    assert bad.error.startswith(
        "HTTP 400" if kind == "openai" else "errored: invalid_request_error"
    )
    assert (late.reply, late.error) == (None, "expired")


def test_a_batch_with_no_answers_at_all_has_no_output_file(
    openai_batch: OpenAIBatchServer,
) -> None:
    backend = backend_for(openai_batch)
    batch_id = backend.submit(requests_for(backend, "errored"))
    backend.status(batch_id)
    assert backend.status(batch_id).state == "ended"
    assert openai_batch.batches[batch_id]["output_file_id"] is None
    [item] = backend.results(batch_id)
    assert item.reply is None and item.error.startswith("HTTP 400")


def test_cancel_ends_the_batch_with_every_item_cancelled(server: Server, kind: str) -> None:
    server.polls = 5
    backend = backend_for(server)
    batch_id = backend.submit(requests_for(backend, "one", "two"))
    backend.cancel(batch_id)
    status = backend.status(batch_id)
    assert status.state == ("cancelled" if kind == "openai" else "ended")
    assert status.failed == 2
    assert [r.error for r in backend.results(batch_id)] == ["cancelled", "cancelled"]


# -- (d) whole-batch faults --------------------------------------------------------------------
def test_429_with_retry_after_on_submit_is_retried(server: Server) -> None:
    create, _ = batch_paths(server)
    server.fail("POST", create, 429, retry_after="0.3")
    backend = backend_for(server)
    started = time.perf_counter()
    batch_id = backend.submit(requests_for(backend, "one"))
    assert time.perf_counter() - started >= 0.3
    assert len(server.calls("POST", create)) == 2
    assert list(server.batches) == [batch_id]


def test_429_and_500_while_polling_and_collecting_are_retried(server: Server) -> None:
    _, retrieve = batch_paths(server)
    backend = backend_for(server)
    batch_id = backend.submit(requests_for(backend, "one"))
    server.fail("GET", retrieve, 429, retry_after="0")
    assert backend.status(batch_id).state == "in_progress"
    backend.status(batch_id)
    server.fail("GET", r".*/(content|results)", 500)
    [item] = backend.results(batch_id)
    assert item.reply is not None


def test_persistent_server_errors_give_up_with_a_provider_error(server: Server) -> None:
    _, retrieve = batch_paths(server)
    backend = backend_for(server)
    batch_id = backend.submit(requests_for(backend, "one"))
    server.fail("GET", retrieve, 503, times=10)
    with pytest.raises(ProviderError, match="failed after 3 attempts"):
        backend.status(batch_id)


def test_a_rejected_key_is_a_usage_error_that_does_not_repeat_the_key(
    server: Server, kind: str
) -> None:
    server.api_key = "the-right-key"
    backend = backend_for(server, api_key=SENTINEL)
    with pytest.raises(UsageError, match="rejected") as info:
        backend.submit(requests_for(backend, "one"))
    assert ("OPENAI_API_KEY" if kind == "openai" else "ANTHROPIC_API_KEY") in str(info.value)
    assert SENTINEL not in str(info.value)
    # The key was really sent, and the server echoed it back.
    assert any(SENTINEL in "".join(r.headers.values()) for r in server.requests)


def test_a_rejection_that_echoes_the_key_is_scrubbed(server: Server) -> None:
    create, _ = batch_paths(server)
    server.fail("POST", create, 400, message=f"bad request from key {SENTINEL}")
    backend = backend_for(server, api_key=SENTINEL)
    with pytest.raises(ProviderError, match="HTTP 400") as info:
        backend.submit(requests_for(backend, "one"))
    assert SENTINEL not in str(info.value) and "bad request from key" in str(info.value)


def test_an_unknown_batch_is_a_usage_error(server: Server) -> None:
    backend = backend_for(server)
    for call in (backend.status, backend.results, backend.cancel):
        with pytest.raises(UsageError, match="batch nope is unknown to the provider"):
            call("nope")


def test_a_failed_openai_batch_reports_state_failed_with_the_errors(
    openai_batch: OpenAIBatchServer,
) -> None:
    openai_batch.batch_errors = [
        {"code": "invalid_model", "line": 1, "message": "model not available for batch"}
    ]
    backend = backend_for(openai_batch)
    batch_id = backend.submit(requests_for(backend, "one"))
    backend.status(batch_id)
    status = backend.status(batch_id)
    assert status.state == "failed"
    assert "invalid_model (line 1): model not available for batch" in status.detail
    assert backend.results(batch_id) == []


def test_a_create_that_times_out_is_adopted_not_submitted_twice(
    openai_batch: OpenAIBatchServer,
) -> None:
    # The server makes the batch but answers after the client gave up; the retry must find it.
    openai_batch.slow("POST", "/v1/batches", 1.5)
    provider = openai_provider(
        openai_batch.base_url,
        policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, timeout=0.5),
    )
    backend = batch_backend(provider)
    batch_id = backend.submit(requests_for(backend, "one"))
    assert list(openai_batch.batches) == [batch_id]
    assert len(openai_batch.calls("POST", "/v1/batches")) == 1
    assert len(openai_batch.calls("GET", "/v1/batches")) == 1


def test_a_compatible_server_without_a_batch_api_is_a_usage_error(
    openai_batch: OpenAIBatchServer,
) -> None:
    openai_batch.fail("POST", "/v1/files", 404)
    backend = batch_backend(openai_provider(openai_batch.base_url, strict=False))
    with pytest.raises(UsageError, match="no batch API"):
        backend.submit(requests_for(backend, "one"))


def test_submit_rejects_bad_or_duplicate_custom_ids(server: Server) -> None:
    backend = backend_for(server)
    [req] = requests_for(backend, "one")
    with pytest.raises(ValueError, match="does not match"):
        backend.submit([BatchRequest("has space", req.body)])
    with pytest.raises(ValueError, match="appears twice"):
        backend.submit([req, req])
    with pytest.raises(ValueError, match="at least one"):
        backend.submit([])
    assert server.requests == []


# -- (e) which providers have a batch API ------------------------------------------------------
def test_providers_without_a_batch_api_are_refused() -> None:
    for provider in (ScaffoldProvider(), LocalProvider("smollm2"), FakeProvider()):
        with pytest.raises(UsageError, match="has no batch API") as info:
            batch_backend(provider)
        assert info.value.exit_code == 2 and info.value.hint


def test_openai_compatible_servers_use_the_openai_batch_endpoints() -> None:
    backend = batch_backend(openai_provider("http://127.0.0.1:9/v1", strict=False))
    assert (backend.provider_name, backend.model_id) == ("openai", "openai-compatible:test")


# -- (f) request ids ---------------------------------------------------------------------------
def test_request_id_is_stable_distinct_and_valid_for_both_providers() -> None:
    bodies = [
        batch_backend(openai_provider("http://127.0.0.1:9/v1")).request(MESSAGES, DraftOutput, 900),
        batch_backend(anthropic_provider("http://127.0.0.1:9")).request(MESSAGES, DraftOutput, 900),
    ]
    for body in bodies:
        rid = request_id(body)
        assert CUSTOM_ID.match(rid) and len(rid) <= 64
        assert request_id(json.loads(json.dumps(body))) == rid
        assert request_id(dict(reversed(list(body.items())))) == rid
        assert request_id({**body, "max_tokens": 901}) != rid
    assert request_id(bodies[0]) != request_id(bodies[1])


# -- (g) batch prices --------------------------------------------------------------------------
def test_price_factor_scales_the_cost() -> None:
    def send(convo: Any, limit: int) -> RawReply:
        return RawReply('{"word": "x", "n": 1}', "stop", 1_000_000, 1_000_000)

    def cost(model_id: str, factor: float) -> float | None:
        return generate_structured(
            send,
            MESSAGES,
            Answer,
            model_id=model_id,
            max_tokens=10,
            policy=POLICY,
            price_factor=factor,
        ).usage.cost_usd

    full = cost("openai:gpt-4o-mini", 1.0)
    assert full is not None and full == pytest.approx(0.15 + 0.60)
    assert cost("openai:gpt-4o-mini", 0.5) == pytest.approx(full / 2)
    assert cost("openai-compatible:unpriced", 0.5) is None
