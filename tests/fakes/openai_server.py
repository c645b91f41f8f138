"""A loopback server speaking the OpenAI Chat Completions API, with scripted faults."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.loopback import Action, LoopbackServer, Recorded, json_action


def completion(
    content: str, finish: str = "stop", prompt_tokens: int = 120, completion_tokens: int = 80
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FaultServer(LoopbackServer):
    """Script entries:

    - ``{"ok": obj}``: a completion whose content is ``json.dumps(obj)``;
    - ``{"content": str}``: a completion with this raw content (e.g. not JSON);
    - ``{"length": str}``: a completion cut off with finish_reason=length;
    - ``{"status": 429, "retry_after": "1"}``: an error status, optional Retry-After;
    - ``{"hang": seconds}``: wait before answering (past the client's timeout);
    - ``{"malformed": True}``: HTTP 200 with a body that is not JSON;
    - ``{"stream": obj, "pieces": n, "gap": s}``: ``json.dumps(obj)`` streamed in n pieces, s apart;
    - ``{"stream": obj, "stall_after": k, "stall": s}``: streamed, going quiet for s after k pieces.

    A completion asked for with ``"stream": true`` is sent as server-sent events.
    """

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def make_action(self, entry: Any, request: Recorded) -> Action:
        wants_stream = isinstance(request.body, dict) and request.body.get("stream") is True
        if "stream" in entry:
            return sse_action(
                json.dumps(entry["stream"]), pieces=int(entry.get("pieces", 4)),
                gap=float(entry.get("gap", 0.0)), stall_after=entry.get("stall_after"),
                stall=float(entry.get("stall", 0.0)),
            )  # fmt: skip
        if wants_stream and ("ok" in entry or "content" in entry or "length" in entry):
            text = (
                json.dumps(entry["ok"])
                if "ok" in entry
                else entry.get("content", entry.get("length"))
            )
            return sse_action(text, finish="length" if "length" in entry else "stop")
        if "ok" in entry:
            return json_action(completion(json.dumps(entry["ok"])))
        if "content" in entry:
            return json_action(completion(entry["content"]))
        if "length" in entry:
            return json_action(completion(entry["length"], finish="length"))
        if "status" in entry:
            headers = {"retry-after": str(entry["retry_after"])} if "retry_after" in entry else {}
            body = {
                "error": {"message": entry.get("message", "injected fault"), "type": "server_error"}
            }
            return json_action(body, entry["status"], headers)
        if "hang" in entry:
            return Action(200, json.dumps(completion("{}")).encode(), delay=float(entry["hang"]))
        if "malformed" in entry:
            return Action(200, b"<html>502 Bad Gateway</html>")
        raise ValueError(f"unknown script entry {entry!r}")


def sse_action(
    content: str,
    *,
    pieces: int = 1,
    gap: float = 0.0,
    finish: str = "stop",
    stall_after: int | None = None,
    stall: float = 0.0,
) -> Action:
    """A chat completion as server-sent events: content deltas, the finish reason, usage, DONE."""
    size = max(1, -(-len(content) // max(1, pieces)))
    events: list[dict[str, Any]] = [
        {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000,
         "model": "test-model", "choices": [{"index": 0, "delta": {"content": content[i : i + size]},
                                             "finish_reason": None}]}
        for i in range(0, len(content), size)
    ]  # fmt: skip
    events.append(
        {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000,
         "model": "test-model", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    )  # fmt: skip
    events.append(
        {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000,
         "model": "test-model", "choices": [],
         "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200}}
    )  # fmt: skip
    chunks = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
    return Action(200, chunks=chunks, gap=gap, stall_after=stall_after, stall=stall)
