"""Console helpers: results go to stdout, everything else (progress, notes, errors) to stderr."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import TYPE_CHECKING

from crafter.errors import CrafterError, UsageError, redact

if TYPE_CHECKING:
    from rich.console import Console


def err_console() -> Console:
    from rich.console import Console

    # markup=False: text from files, models and exceptions is data; a "[/x]" in it must print as
    # it is. The few styled lines pass markup=True and escape what they interpolate.
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def out_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, markup=False)


def note(message: str) -> None:
    err_console().print(redact(message), markup=False)


def print_error(exc: CrafterError) -> None:
    from rich.markup import escape

    console = err_console()
    console.print(f"[bold red]error:[/] {escape(redact(exc.message))}", markup=True)
    if exc.hint:
        console.print(f"  [dim]hint:[/] {escape(redact(exc.hint))}", markup=True)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("crafter")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


def parse_date(value: str | None, flag: str) -> dt.date | None:
    """An ISO date (or ``today``, as crafter.toml accepts) from an option, or a UsageError
    naming the flag."""
    if value is None:
        return None
    if value.strip().lower() == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{flag} {value!r} is not a date", hint="use YYYY-MM-DD (e.g. 2026-01-31) or today"
        ) from None
