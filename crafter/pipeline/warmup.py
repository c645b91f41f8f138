"""Start-up work done in a background thread, so it overlaps with work that waits.

A regen's fixed start-up used to dominate short runs: every drafting thread needed the SDK
(imported on first use, about a second on 2 cores) and, once the first answers came back, the
lint data (the corpus's URLs, the knowledge files, the exposure index). ``warm_provider`` imports
the SDK and builds the client while regen plans; ``warm_lint`` loads the lint data while the first
requests wait for the model. Both only fill caches that the drafting threads would otherwise fill
themselves; a failure here is ignored (the drafting thread meets and reports it).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from crafter.providers import Provider


def _background(name: str, work: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(Exception):
            work()

    # Not a daemon: exit waits for it (an import, bounded) rather than killing it inside an
    # extension module's initialisation.
    thread = threading.Thread(target=run, name=name, daemon=False)
    thread.start()
    return thread


def warm_provider(provider: Provider) -> threading.Thread | None:
    warm = getattr(provider, "warm_up", None)
    if not callable(warm):
        return None
    return _background("crafter-warm-provider", warm)


def _load_lint_data() -> None:
    from crafter.evals.exposure import index_for
    from crafter.evals.knowledge import knowledge
    from crafter.evals.lint import corpus_urls

    knowledge()
    corpus_urls()
    index_for()


def warm_lint() -> threading.Thread:
    # numpy's extension fails when two threads import it at once: import it here first.
    import numpy  # noqa: F401

    return _background("crafter-warm-lint", _load_lint_data)
