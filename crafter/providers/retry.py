"""Retry policy shared by the HTTP providers: backoff with jitter that honours Retry-After."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from crafter.errors import ProviderError, redact

log = logging.getLogger("crafter.providers")
R = TypeVar("R")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    # A server asking for a longer wait than this is treated as a failure, not slept through.
    max_retry_after: float = 60.0
    timeout: float = 120.0


def idle_timeout(seconds: float) -> dict[str, float]:
    """Arguments for an SDK's ``Timeout`` whose read limit is ``seconds`` of silence (between
    received bytes, not for the whole call), with short connect and pool limits: a slow model
    that streams or answers late is waited for, a dead address is not."""
    return {"connect": min(15.0, seconds), "read": seconds, "write": 60.0, "pool": 30.0}


class Retryable(Exception):
    """Raised by a provider call that may succeed if tried again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(headers: object) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date) or retry-after-ms headers."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    ms = get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def with_retries(
    call: Callable[[], R],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[R, int]:
    """Run ``call`` until it returns or raises a non-Retryable; returns (result, attempts)."""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return call(), attempt
        except Retryable as exc:
            if attempt == policy.max_attempts:
                raise ProviderError(
                    f"{what} failed after {attempt} attempts: {exc.reason}",
                    hint="the provider may be overloaded or down; try again later or pick "
                    "another model with --model",
                ) from None
            if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
                raise ProviderError(
                    f"{what}: the server asked to wait {exc.retry_after:.0f}s ({exc.reason})",
                    hint="you are rate limited; wait and retry, or raise your provider quota",
                ) from None
            backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            delay = (
                exc.retry_after if exc.retry_after is not None else backoff * random.uniform(0.5, 1)
            )
            log.warning(
                redact(
                    f"{what}: {exc.reason}; retry {attempt}/{policy.max_attempts - 1} in {delay:.1f}s"
                )
            )
            sleep(delay)
    raise AssertionError("unreachable")
