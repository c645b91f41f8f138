"""Deterministic checks and LLM judges over scenarios and question text."""

import os as _os

# The semantic checks multiply small matrices (tens of passages by hundreds of exemplars): a BLAS
# thread pool costs more than it saves there, and on a shared 2-core machine it was 3x slower.
# Set before numpy is first imported; an explicit setting by the user wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
