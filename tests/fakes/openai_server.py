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
    - ``{"malformed": True}``: HTTP 200 with a body that is not JSON.
    """

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def make_action(self, entry: Any, request: Recorded) -> Action:
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
