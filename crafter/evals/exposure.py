"""The exposure check: is the candidate-facing part a near-copy of a widely published prompt?

Meaning and wording together. The candidate-facing probe (a scenario's title, seed and the opening
of its premise; a prose question's opening) is compared with every prompt in the index, and with
each prompt's exemplars: near-copies that disguise the same problem and twists that keep the
domain but change the problem (``evals/exposure/exemplars.yaml``). Eight features of each leading
prompt (see ``exposure_model.py``: closeness to its copies against its twists, the share of copies
among the nearest exemplars, shared content words and word 2/3-grams) go into a logistic model
fitted on ``evals/exposure/calibration*.yaml`` (``benchmarks/exposure.py --calibrate``); its
weights and thresholds are in ``evals/exposure/rule.yaml``. Vectors come from the static MiniLM
table, so a probe costs microseconds and no model runs while linting.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from crafter.evals import exposure_model
from crafter.evals.exposure_data import ExposureList, PublishedPrompt, combine
from crafter.evals.findings import FileResult, Finding

if TYPE_CHECKING:
    import numpy as np

    from crafter.domain import Scenario
    from crafter.evals.document import LintDoc

CHECK = "exposure"
PROBE_WORDS = 48
_PROBE_CHARS = 1_200
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = """a an the and or of to in on for with by from at as is are be been being it its this that
    these those we our you your they their them he she his her i me my us which who whom what when
    where why how can could should would will shall may might must do does did done has have had
    not no nor so such than then there here into onto over under about across per each every any
    all some most more many much few other another very also just only both either neither via
    design designing build building create creating develop system systems make using use used
    based end ml machine learning model models approach solution walk through describe explain
    let lets want need needs given like new own one two"""
_STOP = frozenset(_STOP_WORDS.split())
_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ed", "es", "s", "ly")
FIX = (
    "twist the product context (a particular company, users and constraints the published "
    "version lacks), add hooks that make the published walkthrough wrong here (data that does "
    "not exist, a latency or policy limit, an error cost that flips the usual metric), or pick "
    "an adjacent need the walkthroughs do not cover"
)


@cache
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_tokens(text: str) -> list[str]:
    """Lowercased, stemmed content words of the first ``_PROBE_CHARS`` characters (linear)."""
    return [_stem(w[:30]) for w in _WORD.findall(text[:_PROBE_CHARS].lower()) if w not in _STOP]


def shingles(tokens: Sequence[str]) -> set[str]:
    grams = {f"{a} {b}" for a, b in itertools.pairwise(tokens)}
    grams |= {f"{a} {b} {c}" for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)}
    return grams


def probe_of(title: str, *parts: str) -> str:
    """The candidate-facing opening that is compared: the title, then the first words."""
    words = " ".join(p for p in (title, *parts) if p)[: _PROBE_CHARS * 2].split()
    return " ".join(words[:PROBE_WORDS])


def scenario_probe(s: Scenario) -> str:
    return probe_of(s.title.rstrip(".") + ".", s.seed.rstrip(".") + ".", s.premise)


def doc_probe(doc: LintDoc) -> str:
    if doc.scenario is not None:
        return scenario_probe(doc.scenario)
    return probe_of("", *[s.text for s in doc.segments if s.part == "prompt"][:6])


def rule() -> exposure_model.Model:
    """The calibrated model and thresholds (``evals/exposure/rule.yaml``)."""
    return exposure_model.model()


@dataclass(frozen=True)
class Match:
    prompt: PublishedPrompt
    chance: float
    cos: float  # static cosine to the prompt's closest positive (its text or a copy)
    words: float
    shingles: float
    explained: float
    at: int = -1  # the prompt's position in its index


_BATCH = 64  # probes whose similarities are computed in one matrix product


class ExposureIndex:
    """Published prompts with their word weights, shingles and (lazily) their vectors."""

    def __init__(
        self,
        prompts: Sequence[PublishedPrompt],
        notes: Sequence[str] = (),
        files: Sequence[str] = (),
    ) -> None:
        import numpy as np

        self.prompts = tuple(prompts)
        self.notes = tuple(notes)
        # The team's list files: data for this check, not questions to lint.
        self.files = frozenset(files)
        toks = [content_tokens(p.text) for p in self.prompts]
        vocab: dict[str, int] = {}
        for t in toks:
            for w in set(t):
                vocab.setdefault(w, len(vocab))
        self.vocab = vocab
        df = np.zeros(len(vocab))
        for t in toks:
            for w in set(t):
                df[vocab[w]] += 1
        n = max(1, len(self.prompts))
        idf = np.log((n + 1) / (df + 1)) + 1.0
        # Word x prompt weights, so a probe's words select contiguous rows.
        self._weights = np.zeros((len(vocab), len(self.prompts)), dtype=np.float32)
        for j, t in enumerate(toks):
            for w in set(t):
                self._weights[vocab[w], j] = idf[vocab[w]]
        self._totals = np.clip(self._weights.sum(axis=0), 1e-9, None)
        self._idf = {w: float(idf[i]) for w, i in vocab.items()}
        self._unknown_idf = float(np.log(n + 1) + 1.0)
        self._grams = [shingles(t) for t in toks]
        self._table: exposure_model.ExemplarTable | None = None
        self._tasks: list[frozenset[str]] | None = None
        self.by_domain: dict[str, int] = {}
        for p in self.prompts:
            self.by_domain[p.domain] = self.by_domain.get(p.domain, 0) + 1

    def __len__(self) -> int:
        return len(self.prompts)

    @functools.cached_property
    def identity(self) -> str:
        """A digest of the prompts (the lint result cache keys on it)."""
        import hashlib

        return hashlib.sha256("\n".join(p.text for p in self.prompts).encode()).hexdigest()[:16]

    def words(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per prompt: the IDF-weighted share of its content words found in ``tokens``, and the
        share of ``tokens``' own content it explains (low when the probe adds specifics)."""
        import numpy as np

        unique = set(tokens)
        rows = sorted({self.vocab[w] for w in unique if w in self.vocab})
        if not rows or not self.prompts:
            zero = np.zeros(len(self.prompts), dtype=np.float32)
            return zero, zero
        shared = self._weights[rows].sum(axis=0)
        mine = sum(self._idf.get(w, self._unknown_idf) for w in unique)
        return np.asarray(shared / self._totals), np.asarray(shared / max(mine, 1e-9))

    def grams(self, tokens: Sequence[str], which: Sequence[int]) -> list[float]:
        mine = shingles(tokens)
        return [len(self._grams[j] & mine) / max(1, len(self._grams[j])) for j in which]

    def tasks(self, j: int) -> frozenset[str]:
        """The tasks prompt ``j`` asks for (from its title and gist; see exposure_frames)."""
        if self._tasks is None:
            from crafter.evals.exposure_frames import frames

            f = frames()
            self._tasks = [f.tasks_of(f"{p.title}. {p.gist}") for p in self.prompts]
        return self._tasks[j]

    def table(self) -> exposure_model.ExemplarTable:
        if self._table is None:
            self._table = exposure_model.ExemplarTable(
                [p.id for p in self.prompts], [p.text for p in self.prompts]
            )
        return self._table

    def match(self, probe: str, *, top: int = 3) -> tuple[list[Match], float]:
        """The best matches for ``probe`` (by near-copy chance), and its cosine to the nearest
        exemplar or prompt of all (what the same-domain info looks at)."""
        return self.match_many([probe], top=top)[0]

    def match_many(self, probes: Sequence[str], *, top: int = 3) -> list[tuple[list[Match], float]]:
        """``match`` for each of ``probes``, their similarities computed together (in slices
        of _BATCH, so memory stays bounded whatever the batch)."""
        if not self.prompts:
            return [([], -1.0) for _ in probes]
        out: list[tuple[list[Match], float]] = []
        table = self.table()
        for start in range(0, len(probes), _BATCH):
            part = probes[start : start + _BATCH]
            sims = table.similarities_many(part)
            out += [self._match(probe, sims[i], top) for i, probe in enumerate(part)]
        return out

    def _match(self, probe: str, sims: np.ndarray, top: int) -> tuple[list[Match], float]:
        import numpy as np

        model = rule()
        table = self.table()
        tokens = content_tokens(probe)
        words, explained = self.words(tokens)
        feats, nearest = table.features(sims, words, explained)
        # Shingles only for the prompts that can matter (sets are the costly part).
        k = min(len(self.prompts), max(top, 12))
        lead = np.argpartition(-(feats[:, 0] + words), k - 1)[:k]
        feats[lead, 6] = self.grams(tokens, [int(j) for j in lead])
        chance = dict(zip(lead.tolist(), model.chances(feats[lead]).tolist(), strict=True))
        best = sorted(chance, key=lambda j: -chance[j])[:top]
        return [
            Match(
                self.prompts[j], chance[j], float(feats[j, 0]), float(words[j]),
                float(feats[j, 6]), float(explained[j]), int(j),
            )
            for j in best
        ], nearest  # fmt: skip


_DEFAULT: dict[tuple[str, ...], ExposureIndex] = {}
_ACTIVE: list[ExposureIndex | None] = []


def index_for(lists: Sequence[ExposureList] = ()) -> ExposureIndex:
    """The bundled index plus a team's lists (built once per set of lists in a process)."""
    key = tuple(f"{lst.path}@{lst.version}" for lst in lists)
    if key not in _DEFAULT:
        prompts, notes = combine(lists)
        _DEFAULT[key] = ExposureIndex(prompts, notes, [lst.path for lst in lists])
    return _DEFAULT[key]


def active() -> ExposureIndex | None:
    """The index the current lint run uses (None: the check is off); the bundled one by default."""
    return _ACTIVE[-1] if _ACTIVE else index_for()


class using:  # used as a context manager: ``with exposure.using(index):``
    """Make ``index`` (or None: no exposure check) the one lint uses inside the block.

    A module-level setting rather than an argument, so forked lint workers inherit it."""

    def __init__(self, index: ExposureIndex | None) -> None:
        self.index = index

    def __enter__(self) -> ExposureIndex | None:
        _ACTIVE.append(self.index)
        return self.index

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.pop()


def _sources(p: PublishedPrompt) -> str:
    shown = "; ".join(p.where[:3]) + ("; ..." if len(p.where) > 3 else "")
    return f"{p.count} source(s)" + (f": {shown}" if shown else "")


_TOP = 6  # matches looked at: a clashing leader can hand the warning to the next that agrees


@dataclass(frozen=True)
class Verdict:
    """What the check concludes about one probe: ``warning`` (a near-copy of ``match``),
    ``twisted`` (close to it, but the scenario carries its own twists), ``other-task`` (the
    closest by wording asks a different task in the same domain), ``domain`` or ``none``."""

    kind: str
    match: Match | None = None
    note: str = ""


def judge(
    index: ExposureIndex, matches: list[Match], nearest: float, title: str = "", twists: str = ""
) -> Verdict:
    """The check's decision from a probe's matches, its title (whose task is compared with each
    prompt's) and its own twists (see exposure_frames). Lint and the benchmark both use it."""
    from crafter.evals.exposure_frames import frames

    r, f = rule(), frames()
    if matches and matches[0].chance >= r.warn_at:
        mine = f.tasks_of(title)
        lead = matches[0]
        chosen: Match | None = lead
        if f.clash(mine, index.tasks(lead.at)):
            chosen = next(
                (
                    m
                    for m in matches[1:]
                    if m.chance >= f.retarget_at and not f.clash(mine, index.tasks(m.at))
                ),
                None,
            )
        if chosen is None:
            asks = ", ".join(sorted(mine))
            theirs = ", ".join(sorted(index.tasks(lead.at)))
            return Verdict("other-task", lead, f"this asks for {asks}; it asks for {theirs}")
        if twists:
            return Verdict("twisted", chosen, twists)
        return Verdict("warning", chosen)
    if matches and nearest >= r.domain_cos:
        return Verdict("domain", max(matches, key=lambda m: m.cos))
    return Verdict("none")


def check(doc: LintDoc, index: ExposureIndex | None = None) -> list[Finding]:
    """Findings of the exposure check for one document."""
    index = index if index is not None else active()
    if index is None:
        return []
    probe = doc_probe(doc)
    if not probe.strip():
        return []
    matches, nearest = index.match(probe, top=_TOP)
    return _findings(index, probe, _location(doc), matches, nearest, *_frame(doc))


def _frame(doc: LintDoc) -> tuple[str, str]:
    from crafter.evals.exposure_frames import title_of, twists_of

    return title_of(doc), twists_of(doc)


@dataclass
class _Waiting:
    result: FileResult
    probe: str
    location: str
    title: str
    twists: str


_WAITING: list[list[_Waiting]] = []


def defer(result: FileResult, doc: LintDoc) -> bool:
    """Inside ``batched()``: note ``doc``'s check for the batch and return True (its findings
    are added to ``result`` when the batch ends); outside, False."""
    index = active()
    if not _WAITING or index is None:
        return False
    probe = doc_probe(doc)
    if probe.strip():
        _WAITING[-1].append(_Waiting(result, probe, _location(doc), *_frame(doc)))
    return True


def locate(result: FileResult, line: int | None) -> None:
    """Give a deferred check of ``result`` its YAML line (known only after the scenario's
    other findings are placed)."""
    if _WAITING and line:
        for w in _WAITING[-1]:
            if w.result is result:
                w.location = f"{w.location} (line {line})"


class batched:  # used as a context manager: ``with exposure.batched():``
    """Checks deferred inside the block are matched together when it ends (one matrix product
    a batch instead of one a file) and their findings appended to their results."""

    def __enter__(self) -> None:
        _WAITING.append([])

    def __exit__(self, exc_type: object, *exc: object) -> None:
        waiting = _WAITING.pop()
        index = active()
        if exc_type is not None or index is None or not waiting:
            return
        matched = index.match_many([w.probe for w in waiting], top=_TOP)
        for w, (matches, nearest) in zip(waiting, matched, strict=True):
            w.result.findings += _findings(
                index, w.probe, w.location, matches, nearest, w.title, w.twists
            )


def _findings(
    index: ExposureIndex,
    probe: str,
    location: str,
    matches: list[Match],
    nearest: float,
    title: str = "",
    twists: str = "",
) -> list[Finding]:
    v = judge(index, matches, nearest, title, twists)
    if v.match is None:
        return []
    m, p = v.match, v.match.prompt
    evidence = (
        f"{probe[:140]} ~ {p.gist[:140]} (similarity {m.cos:.2f}, "
        f"shared wording {m.words:.2f}, chance {m.chance:.2f})"
    )
    if v.kind == "warning":
        return [
            Finding(
                CHECK, "warning",
                f"near-copy of a widely published prompt: {p.title!r} ({_sources(p)}); "
                "candidates may have rehearsed its published walkthrough",
                evidence=evidence, location=location, suggestion=FIX,
            )
        ]  # fmt: skip
    if v.kind == "twisted":
        return [
            Finding(
                CHECK, "info",
                f"close to a widely published prompt, {p.title!r} ({_sources(p)}), but "
                f"{v.note} set it apart",
                evidence=evidence, location=location,
                suggestion="check that they make the published walkthrough wrong here, not just "
                "longer: a candidate reciting it should miss what they force",
            )
        ]  # fmt: skip
    if v.kind == "other-task":
        return [
            Finding(
                CHECK, "info",
                f"shares its wording with a widely published prompt, {p.title!r} "
                f"({p.count} source(s)), but asks a different task ({v.note}): not a copy",
                evidence=evidence, location=location,
                suggestion="keep the task explicit in the prompt; if a candidate starts "
                "reciting the published walkthrough, ask what it gets wrong here",
            )
        ]  # fmt: skip
    return [
        Finding(
            CHECK, "info",
            f"shares its domain ({p.domain}) with {index.by_domain.get(p.domain, 1)} published "
            f"prompt(s); nearest: {p.title!r} ({p.count} source(s)), not a copy",
            evidence=f"similarity {nearest:.2f}", location=location,
            suggestion="keep the specifics that set it apart; if a candidate starts reciting "
            f"the published walkthrough, probe what differs here. To go further: {FIX}",
        )
    ]  # fmt: skip


def _location(doc: LintDoc) -> str:
    """Where an exposure finding points: a scenario's title, or a page's first prompt line."""
    return "title" if doc.scenario is not None else _first_prompt_line(doc)


def _first_prompt_line(doc: LintDoc) -> str:
    for seg in doc.segments:
        if seg.part == "prompt":
            return seg.location
    return ""


def seed_exposure(seed: str, index: ExposureIndex | None = None) -> Match | None:
    """The published prompt ``seed`` is a near-copy of, if any (for drafting)."""
    from crafter.evals.exposure_frames import seed_title

    index = index if index is not None else index_for()
    matches, nearest = index.match(probe_of(seed), top=_TOP)
    v = judge(index, matches, nearest, seed_title(seed))
    return v.match if v.kind == "warning" else None


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))
