"""A loopback server speaking the Anthropic Messages API (tool use), with scripted faults."""

from __future__ import annotations

from typing import Any

from tests.fakes.loopback import Action, LoopbackServer, Recorded, json_action


def tool_message(tool_input: Any, stop: str = "tool_use", name: str = "submit") -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": name, "input": tool_input}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 200, "output_tokens": 90},
    }


class AnthropicServer(LoopbackServer):
    """Script entries: ``{"tool": obj}``, ``{"text": str}`` (no tool call), ``{"max_tokens": obj}``,
    ``{"status": 529, "retry_after": "0"}``."""

    def make_action(self, entry: Any, request: Recorded) -> Action:
        if "tool" in entry:
            return json_action(tool_message(entry["tool"]))
        if "max_tokens" in entry:
            return json_action(tool_message(entry["max_tokens"], stop="max_tokens"))
        if "text" in entry:
            msg = tool_message({})
            msg["content"] = [{"type": "text", "text": entry["text"]}]
            msg["stop_reason"] = "end_turn"
            return json_action(msg)
        if "status" in entry:
            headers = {"retry-after": str(entry["retry_after"])} if "retry_after" in entry else {}
            body = {"type": "error", "error": {"type": "overloaded_error", "message": "injected"}}
            return json_action(body, entry["status"], headers)
        raise ValueError(f"unknown script entry {entry!r}")
