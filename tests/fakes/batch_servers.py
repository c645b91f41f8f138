"""Loopback servers speaking the OpenAI Batch API and Anthropic Message Batches, for the real SDKs.

A batch reports "in progress" for ``polls`` status requests, then ends; each request's answer
comes from ``answer(body)``, which returns one of the specs built by ``ok``, ``text``, ``cut``,
``errored`` or ``expired``. Faults: ``fail(method, path, status, ...)`` answers matching requests
with an error (``times`` of them), ``slow(...)`` handles them normally but answers late,
``batch_errors`` makes every new OpenAI batch fail validation, ``api_key`` turns on a 401 for
any other key. Unknown batch ids get a 404. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.anthropic_server import tool_message
from tests.fakes.loopback import Action, LoopbackServer, Recorded, json_action
from tests.fakes.openai_server import completion

Answer = dict[str, Any]
AnswerFn = Callable[[dict[str, Any]], Answer]


def ok(obj: Any, *, input_tokens: int = 100, output_tokens: int = 50) -> Answer:
    """A structured answer: JSON content (OpenAI) or the forced tool call's input (Anthropic)."""
    return {"kind": "ok", "obj": obj, "input_tokens": input_tokens, "output_tokens": output_tokens}


def text(content: str, *, input_tokens: int = 100, output_tokens: int = 50) -> Answer:
    """Plain text where JSON (or a tool call) was asked for."""
    return {
        "kind": "text",
        "text": content,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }


def cut(obj: Any, *, input_tokens: int = 100, output_tokens: int = 50) -> Answer:
    """An answer stopped by the output token limit."""
    return {
        "kind": "length",
        "obj": obj,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }


def errored(
    message: str = "injected item error", *, status: int = 400, kind: str = "invalid_request_error"
) -> Answer:
    """The item's request failed at the provider."""
    return {"kind": "errored", "message": message, "status": status, "type": kind}


def expired() -> Answer:
    """The batch's window closed before this item ran."""
    return {"kind": "expired"}


@dataclass
class Fault:
    method: str
    path: str  # a regex matched against the whole path, query string excluded
    status: int | None = 500  # None: handle normally, only late (see ``delay``)
    retry_after: str | None = None
    message: str = "injected fault"
    times: int = 1
    delay: float = 0.0


def _now_iso(offset_hours: float = 0.0) -> str:
    moment = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=offset_hours)
    return moment.isoformat().replace("+00:00", "Z")


class _BatchServer(LoopbackServer):
    """Routing, faults and auth shared by both fakes; subclasses implement ``handle``."""

    def __init__(
        self, *, polls: int = 1, answer: AnswerFn | None = None, api_key: str | None = None
    ) -> None:
        super().__init__()
        self.polls = polls
        self.answer: AnswerFn = answer or (lambda body: ok({"answer": 42}))
        self.api_key = api_key
        self.faults: list[Fault] = []
        self.default = self._route
        self._state = threading.RLock()
        self._ids = itertools.count(1)

    # -- scripting -------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        retry_after: str | None = None,
        message: str = "injected fault",
        times: int = 1,
    ) -> None:
        self.faults.append(Fault(method, path, status, retry_after, message, times))

    def slow(self, method: str, path: str, delay: float, *, times: int = 1) -> None:
        self.faults.append(Fault(method, path, None, times=times, delay=delay))

    def calls(self, method: str, path: str) -> list[Recorded]:
        """Recorded requests whose method and path (a regex, query excluded) match."""
        return [
            r
            for r in self.requests
            if r.method == method and re.fullmatch(path, urlsplit(r.path).path)
        ]

    # -- plumbing --------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._state:
            for fault in self.faults:
                if fault.method == method and re.fullmatch(fault.path, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _route(self, request: Recorded) -> Action:
        path = urlsplit(request.path).path
        fault = self._take_fault(request.method, path)
        if fault is not None and fault.status is not None:
            headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            return json_action(self.error_body(fault.status, fault.message), fault.status, headers)
        presented = self.presented_key(request)
        if self.api_key is not None and presented != self.api_key:
            # Like the real APIs, echo what was presented: the client must not repeat it.
            return json_action(self.error_body(401, f"invalid API key: {presented}"), 401)
        with self._state:
            action = self.handle(request.method, path, request)
        if fault is not None:
            action.delay = fault.delay
        return action

    def not_found(self, what: str) -> Action:
        return json_action(self.error_body(404, f"{what} not found"), 404)

    # -- per API ---------------------------------------------------------------------------
    def presented_key(self, request: Recorded) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def handle(self, method: str, path: str, request: Recorded) -> Action:  # pragma: no cover
        raise NotImplementedError


class OpenAIBatchServer(_BatchServer):
    """/v1/files (multipart upload, content) and /v1/batches (create, list, retrieve, cancel)."""

    def __init__(
        self, *, polls: int = 1, answer: AnswerFn | None = None, api_key: str | None = None
    ) -> None:
        super().__init__(polls=polls, answer=answer, api_key=api_key)
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_errors: list[dict[str, Any]] | None = None

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def input_lines(self, batch_id: str) -> list[dict[str, Any]]:
        """The JSONL lines of the file a batch was created from."""
        data = self.files[self.batches[batch_id]["input_file_id"]]["data"]
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]

    def presented_key(self, request: Recorded) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {401: "invalid_request_error", 429: "rate_limit_error"}.get(status, "server_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def handle(self, method: str, path: str, request: Recorded) -> Action:
        if (method, path) == ("POST", "/v1/files"):
            return self._upload(request)
        m = re.fullmatch(r"/v1/files/([^/]+)/content", path)
        if method == "GET" and m:
            file = self.files.get(m[1])
            if file is None:
                return self.not_found(f"file {m[1]}")
            return Action(200, file["data"], {"content-type": "application/octet-stream"})
        if (method, path) == ("POST", "/v1/batches"):
            return self._create(request.body)
        if (method, path) == ("GET", "/v1/batches"):
            data = [self._public(b) for b in reversed(self.batches.values())]
            return json_action({"object": "list", "data": data, "has_more": False})
        m = re.fullmatch(r"/v1/batches/([^/]+)(/cancel)?", path)
        if m:
            batch = self.batches.get(m[1])
            if batch is None:
                return self.not_found(f"batch {m[1]}")
            if method == "POST" and m[2]:
                if batch["status"] in ("validating", "in_progress", "finalizing"):
                    batch["status"] = "cancelling"
                    batch["cancelling_at"] = 1_762_000_100
                return json_action(self._public(batch))
            if method == "GET" and not m[2]:
                self._advance(batch)
                return json_action(self._public(batch))
        return self.not_found(f"{method} {path}")

    def _upload(self, request: Recorded) -> Action:
        ctype = request.headers.get("content-type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.raw
        )
        fields: dict[str, Any] = {}
        filename = ""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                filename = str(part.get_filename())
            fields[str(name)] = part.get_payload(decode=True)
        if "file" not in fields:
            return json_action(self.error_body(400, "no file in the upload"), 400)
        file_id = self._new_id("file-")
        self.files[file_id] = {
            "data": fields["file"],
            "filename": filename,
            "purpose": (fields.get("purpose") or b"").decode(),
        }
        return json_action(self._file_object(file_id))

    def _file_object(self, file_id: str) -> dict[str, Any]:
        f = self.files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(f["data"]),
            "created_at": 1_762_000_000,
            "filename": f["filename"],
            "purpose": f["purpose"],
            "status": "processed",
        }

    def _create(self, body: dict[str, Any]) -> Action:
        file_id = body.get("input_file_id")
        if file_id not in self.files:
            return json_action(self.error_body(400, f"no such file {file_id}"), 400)
        batch_id = self._new_id("batch_")
        count = len(
            [line for line in self.files[file_id]["data"].decode().splitlines() if line.strip()]
        )
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body.get("endpoint"),
            "input_file_id": file_id,
            "completion_window": body.get("completion_window"),
            "metadata": body.get("metadata"),
            "status": "validating",
            "created_at": 1_762_000_000,
            "request_counts": {"total": count, "completed": 0, "failed": 0},
            "errors": None,
            "output_file_id": None,
            "error_file_id": None,
            "polls_left": self.polls,
        }
        return json_action(self._public(self.batches[batch_id]))

    @staticmethod
    def _public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k != "polls_left"}

    def _advance(self, batch: dict[str, Any]) -> None:
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return
        if batch["status"] == "cancelling":
            self._finish(batch, cancelled=True)
        elif batch["polls_left"] > 0:
            batch["polls_left"] -= 1
            batch["status"] = "in_progress"
        else:
            self._finish(batch, cancelled=False)

    def _finish(self, batch: dict[str, Any], *, cancelled: bool) -> None:
        if self.batch_errors is not None and not cancelled:
            batch.update(
                status="failed",
                failed_at=1_762_000_200,
                errors={"object": "list", "data": self.batch_errors},
            )
            return
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for n, line in enumerate(self.input_lines(batch["id"]), 1):
            cid = line["custom_id"]
            head = {"id": f"batch_req_{n}", "custom_id": cid}
            if cancelled:
                errors.append(
                    {
                        **head,
                        "response": None,
                        "error": {"code": "batch_cancelled", "message": "cancelled"},
                    }
                )
                continue
            spec = self.answer(line["body"])
            if spec["kind"] == "expired":
                errors.append(
                    {
                        **head,
                        "response": None,
                        "error": {
                            "code": "batch_expired",
                            "message": "This request could not be executed before the "
                            "completion window expired.",
                        },
                    }
                )
            elif spec["kind"] == "errored":
                body = self.error_body(spec["status"], spec["message"])
                body["error"]["type"] = spec["type"]
                errors.append(
                    {
                        **head,
                        "response": {
                            "status_code": spec["status"],
                            "request_id": f"req_{n}",
                            "body": body,
                        },
                        "error": None,
                    }
                )
            else:
                content = spec["text"] if spec["kind"] == "text" else json.dumps(spec["obj"])
                reply = completion(
                    content,
                    finish="length" if spec["kind"] == "length" else "stop",
                    prompt_tokens=spec["input_tokens"],
                    completion_tokens=spec["output_tokens"],
                )
                outputs.append(
                    {
                        **head,
                        "response": {"status_code": 200, "request_id": f"req_{n}", "body": reply},
                        "error": None,
                    }
                )
        for key, lines in (("output_file_id", outputs), ("error_file_id", errors)):
            if lines:
                file_id = self._new_id("file-")
                data = "".join(json.dumps(line) + "\n" for line in lines).encode()
                self.files[file_id] = {
                    "data": data,
                    "filename": "batch_output.jsonl",
                    "purpose": "batch_output",
                }
                batch[key] = file_id
        expired_any = any(e["error"] and e["error"]["code"] == "batch_expired" for e in errors)
        batch["status"] = "cancelled" if cancelled else ("expired" if expired_any else "completed")
        batch["request_counts"] = {
            "total": len(outputs) + len(errors),
            "completed": len(outputs),
            "failed": len(errors),
        }


class AnthropicBatchServer(_BatchServer):
    """/v1/messages/batches: create, retrieve, cancel, results (JSONL at ``results_url``)."""

    def __init__(
        self, *, polls: int = 1, answer: AnswerFn | None = None, api_key: str | None = None
    ) -> None:
        super().__init__(polls=polls, answer=answer, api_key=api_key)
        self.batches: dict[str, dict[str, Any]] = {}

    def presented_key(self, request: Recorded) -> str:
        return request.headers.get("x-api-key", "")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def handle(self, method: str, path: str, request: Recorded) -> Action:
        if (method, path) == ("POST", "/v1/messages/batches"):
            return self._create(request.body)
        m = re.fullmatch(r"/v1/messages/batches/([^/]+)(/cancel|/results)?", path)
        if not m:
            return self.not_found(f"{method} {path}")
        batch = self.batches.get(m[1])
        if batch is None:
            return self.not_found(f"batch {m[1]}")
        if method == "GET" and m[2] is None:
            self._advance(batch)
            return json_action(self._public(batch))
        if method == "POST" and m[2] == "/cancel":
            if batch["processing_status"] == "in_progress":
                batch["processing_status"] = "canceling"
                batch["cancel_initiated_at"] = _now_iso(0.1)
            return json_action(self._public(batch))
        if method == "GET" and m[2] == "/results":
            if batch["processing_status"] != "ended":
                return json_action(self.error_body(400, "batch has not ended"), 400)
            data = "".join(json.dumps(line) + "\n" for line in batch["results"]).encode()
            return Action(200, data, {"content-type": "application/binary"})
        return self.not_found(f"{method} {path}")

    def _create(self, body: dict[str, Any]) -> Action:
        requests = body.get("requests") or []
        if not requests:
            return json_action(self.error_body(400, "requests: empty"), 400)
        batch_id = self._new_id("msgbatch_")
        self.batches[batch_id] = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {
                "processing": len(requests),
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": _now_iso(),
            "expires_at": _now_iso(24),
            "ended_at": None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
            "requests": requests,
            "results": [],
            "polls_left": self.polls,
        }
        return json_action(self._public(self.batches[batch_id]))

    @staticmethod
    def _public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k not in ("polls_left", "requests", "results")}

    def _advance(self, batch: dict[str, Any]) -> None:
        if batch["processing_status"] == "ended":
            return
        if batch["processing_status"] == "in_progress" and batch["polls_left"] > 0:
            batch["polls_left"] -= 1
            return
        cancelled = batch["processing_status"] == "canceling"
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        for req in batch["requests"]:
            result = {"type": "canceled"} if cancelled else self._result(req["params"])
            counts[result["type"]] += 1
            batch["results"].append({"custom_id": req["custom_id"], "result": result})
        batch.update(
            processing_status="ended",
            request_counts=counts,
            ended_at=_now_iso(1),
            # The SDK fetches results from this URL, so it must lead back here.
            results_url=f"{self.url}/v1/messages/batches/{batch['id']}/results",
        )

    def _result(self, params: dict[str, Any]) -> dict[str, Any]:
        spec = self.answer(params)
        if spec["kind"] == "expired":
            return {"type": "expired"}
        if spec["kind"] == "errored":
            error = self.error_body(spec["status"], spec["message"])
            error["error"]["type"] = spec["type"]
            return {"type": "errored", "error": error}
        if spec["kind"] == "text":
            message = tool_message({}, stop="end_turn")
            message["content"] = [{"type": "text", "text": spec["text"]}]
        else:
            stop = "max_tokens" if spec["kind"] == "length" else "tool_use"
            message = tool_message(spec["obj"], stop=stop)
        message["usage"] = {
            "input_tokens": spec["input_tokens"],
            "output_tokens": spec["output_tokens"],
        }
        return {"type": "succeeded", "message": message}
