"""POST /chat/completions over httpx, with the OpenAI API's errors mapped to crafter's.

Live chat calls go straight over httpx (the transport the openai SDK itself uses), not through the
SDK: importing the SDK costs 0.6-0.9 s on 2 cores (its type modules alone about 0.5 s), and every
first request of a regen waited for it. The wire body was already ours (``request_body``, sent
verbatim through ``extra_body``), so what the SDK added on this path was its transport and its
exception classes; both are here. The SDK is still used where it does more, the Batch API
(batches.py). Importing httpx after crafter's own modules costs about 0.09 s.

Status codes map as they did through the SDK: 429, 408, 409 and 5xx are retryable (honouring
Retry-After), 401 and 404 are usage errors, any other 4xx is a rejected request; a timeout or a
broken connection is retryable, and so is a 200 whose body is not JSON.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from crafter.errors import ProviderError, UsageError
from crafter.providers.retry import Retryable, idle_timeout, parse_retry_after

if TYPE_CHECKING:
    import httpx

OPENAI_BASE_URL = "https://api.openai.com/v1"
# A bound on what is read of an error body (its message is quoted in the error, shortened).
ERROR_BODY_LIMIT = 64_000


def import_httpx() -> ModuleType:
    """httpx, imported without its command-line client: ``httpx/__init__`` imports ``httpx._main``
    (rich's syntax highlighting, pygments, click), about 55 ms of the package's 90 ms, and falls
    back to a stub when that import fails. crafter never runs httpx's CLI, so the module is marked
    absent before the first import; a process that imported httpx already keeps what it has."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    import httpx

    return httpx


def default_base_url() -> str:
    """Where api.openai.com calls go: OPENAI_BASE_URL when set (as the SDK reads it)."""
    return (os.environ.get("OPENAI_BASE_URL") or "").strip() or OPENAI_BASE_URL


class ChatTransport:
    """One pooled HTTP client per provider, shared by every drafting thread."""

    def __init__(
        self, model_id: str, model: str, api_key: str | None, timeout: float, base_url: str
    ) -> None:
        self.model_id = model_id
        # Redirects are not followed, so a client for an http:// URL never opens a TLS connection.
        self._plain_http = base_url.lower().startswith("http://")
        self.model = model
        self.timeout = timeout
        self._api_key = api_key
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        from crafter import __version__

        headers = {"Content-Type": "application/json", "User-Agent": f"crafter/{__version__}"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        # The SDK's own environment variables for an organisation or project, honoured likewise.
        for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"),
                            ("OPENAI_PROJECT_ID", "OpenAI-Project")):  # fmt: skip
            value = (os.environ.get(env) or "").strip()
            if value:
                headers[header] = value
        return headers

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                httpx = import_httpx()
                self._client = httpx.Client(
                    headers=self.headers(),
                    # A plain-HTTP URL (a local server) makes no TLS connection: skip loading the
                    # certificate store (about 60 ms of CPU when the first request is waiting).
                    verify=not self._plain_http,
                    timeout=httpx.Timeout(**idle_timeout(self.timeout)),
                    # Regen runs many threads on one provider: keep a connection per thread.
                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                    follow_redirects=False,
                )
            return self._client

    def post(self, base_url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` and return the completion JSON object."""
        httpx = import_httpx()

        url = _completions_url(base_url)
        try:
            resp = self.client().post(url, content=json.dumps(body))
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.TransportError as exc:
            raise Retryable(f"connection failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            self.raise_for_status(resp.status_code, resp.headers, resp.text[:ERROR_BODY_LIMIT])
        return self._json_object(resp.content)

    def stream(self, base_url: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST ``body`` with streaming on; yields each server-sent chunk as a JSON object. A
        server that ignores ``stream`` and answers with one JSON completion yields that alone."""
        httpx = import_httpx()

        url = _completions_url(base_url)
        try:
            # Until the response's headers arrive, a timeout means no byte came at all.
            resp = self.client().send(
                self.client().build_request("POST", url, content=json.dumps(body)), stream=True
            )
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.TransportError as exc:
            raise Retryable(f"connection failed: {type(exc).__name__}") from None
        try:
            if resp.status_code != 200:
                self.raise_for_status(resp.status_code, resp.headers, _head_text(resp))
            if "json" in resp.headers.get("content-type", ""):
                yield self._json_object(resp.read())
                return
            yield from _server_sent_events(resp.iter_lines())
        except httpx.TimeoutException:
            raise Retryable(
                f"the server stopped sending for {self.timeout:.0f}s in the middle of an "
                "answer (raise the limit with --timeout, CRAFTER_TIMEOUT or timeout in the config "
                "file)"
            ) from None
        except httpx.TransportError as exc:
            raise Retryable(f"the stream broke: {type(exc).__name__}") from None
        finally:
            resp.close()

    def _timed_out(self) -> Retryable:
        return Retryable(
            f"no byte from the server for {self.timeout:.0f}s (raise it with "
            "--timeout, CRAFTER_TIMEOUT or timeout in the config file)"
        )

    @staticmethod
    def _json_object(raw: bytes) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except ValueError as exc:  # a 200 whose body is not JSON (a proxy's page, a cut body)
            raise Retryable(f"unreadable response body ({type(exc).__name__})") from None
        if not isinstance(value, dict):
            raise Retryable("unreadable response body (not a JSON object)")
        return value

    def raise_for_status(self, status: int, headers: httpx.Headers, text: str) -> None:
        """Raise the error a non-200 answer means (see the module's docstring)."""
        wait = parse_retry_after(headers)
        if status == 429:
            raise Retryable("rate limited (HTTP 429)", wait)
        if status == 401:
            raise UsageError(
                f"{self.model_id}: the API key was rejected (HTTP 401)",
                hint="check the key in OPENAI_API_KEY (or CRAFTER_API_KEY for a compatible server)",
            )
        if status == 404:
            raise UsageError(
                f"{self.model_id}: the server does not know model {self.model!r} (HTTP 404)",
                hint="run `crafter models` and check the model name",
            )
        if status in (408, 409) or status >= 500:
            raise Retryable(f"server error (HTTP {status})" if status >= 500 else
                            f"HTTP {status}", wait)  # fmt: skip
        raise ProviderError(
            f"{self.model_id}: request rejected (HTTP {status}): {error_message(text)}"
        )


def _completions_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


def error_message(text: str) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body itself; shortened."""
    message = text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(error, str):
            message = error
    message = " ".join(message.split())
    return message if len(message) < 300 else message[:300] + "..."


def _head_text(resp: httpx.Response) -> str:
    """The first ERROR_BODY_LIMIT bytes of a streamed response's body, as text (an error body is
    quoted, shortened, and a hostile server could send without end)."""
    head = bytearray()
    for piece in resp.iter_bytes():
        head += piece
        if len(head) >= ERROR_BODY_LIMIT:
            break
    return bytes(head[:ERROR_BODY_LIMIT]).decode("utf-8", errors="replace")


def _server_sent_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of an SSE stream's ``data:`` lines, up to ``[DONE]``. A data line that
    is not a JSON object is skipped (comments and keep-alives too); an ``error`` event raises."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        if not isinstance(chunk, dict):
            continue
        if chunk.get("error"):
            raise Retryable(f"the server reported an error mid-answer: {error_message(data)}")
        yield chunk
