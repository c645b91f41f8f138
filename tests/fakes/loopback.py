"""A real HTTP server on 127.0.0.1 that answers from a script of actions, one per request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""  # the body as sent (multipart uploads are not JSON)


@dataclass
class Action:
    """What to do with one request: a status, headers, a body, or a delay before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # A streamed answer: these pieces go out one by one (chunked encoding), ``gap`` seconds apart;
    # ``stall_after`` pieces, the server then goes quiet for ``stall`` seconds.
    chunks: list[bytes] | None = None
    gap: float = 0.0
    stall_after: int | None = None
    stall: float = 0.0


class LoopbackServer:
    """Subclasses turn their own script entries into Actions via ``make_action``."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.default: Any = None
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.latency = 0.0

    # -- scripting -------------------------------------------------------------------------
    def push(self, *entries: Any) -> None:
        with self._lock:
            self.script.extend(entries)

    def make_action(self, entry: Any, request: Recorded) -> Action:  # pragma: no cover - abstract
        raise NotImplementedError

    def _next(self, request: Recorded) -> Action:
        with self._lock:
            self.requests.append(request)
            entry = self.script.pop(0) if self.script else self.default
        if entry is None:
            return Action(500, b'{"error": {"message": "script exhausted"}}')
        if callable(entry) and not isinstance(entry, Action):
            entry = entry(request)
        return entry if isinstance(entry, Action) else self.make_action(entry, request)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out in two writes: with Nagle on, the body waits for
            # the client's delayed ACK of the headers (about 40 ms a call). Real API servers
            # answer without that stall, and so must a fake that benchmarks measure against.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                rec = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    raw,
                )
                action = owner._next(rec)
                delay = action.delay + owner.latency
                if delay:
                    time.sleep(delay)
                if action.chunks is not None:
                    self._stream(action)
                    return
                try:
                    self.send_response(action.status)
                    headers = {"content-type": "application/json"}
                    headers.update({k.lower(): v for k, v in action.headers.items()})
                    headers["content-length"] = str(len(action.body))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(action.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer

            def _stream(self, action: Action) -> None:
                try:
                    self.send_response(action.status)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for n, piece in enumerate(action.chunks or []):
                        if n and action.gap:
                            time.sleep(action.gap)
                        if action.stall_after is not None and n == action.stall_after:
                            time.sleep(action.stall)
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST
            do_DELETE = do_POST

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def json_action(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Action:
    return Action(status, json.dumps(payload).encode(), headers or {})


Responder = Callable[[Recorded], Any]
