"""The five drafting stages. Each takes what the previous ones produced and returns a StageRecord."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crafter.domain import Hook, Provenance, Question, Scenario, ScenarioContent, placeholder
from crafter.domain.messages import Message
from crafter.domain.scenario import CATEGORIES, stamp_generated
from crafter.evals.findings import Finding
from crafter.pipeline import exposure_hooks
from crafter.pipeline.events import Cancelled, EventSink, StageEvent
from crafter.pipeline.grounding import (
    build_references,
    documents_block,
    drop_unknown,
    notes_block,
    unknown_citations,
)
from crafter.pipeline.models import (
    DraftOutput,
    FoundDoc,
    Frame,
    Note,
    NoteSet,
    Research,
)
from crafter.pipeline.runs import StageRecord
from crafter.pipeline.worksheet import build_worksheet, scaffold_kit
from crafter.prompts import load_prompt
from crafter.providers import Provider, Usage

MAX_NOTES_PER_DOC = 3


@dataclass
class Ctx:
    """What every stage may read: the request and the providers."""

    seed: str
    level: str
    as_of: dt.date
    model: Provider
    research_model: Provider
    events: EventSink
    cancelled: Callable[[], bool]

    def check_cancel(self) -> None:
        if self.cancelled():
            raise Cancelled()


def _record(
    name: str,
    provider: Provider | None,
    prompt_ref: str,
    usage: Usage,
    started: float,
    output: object,
) -> StageRecord:
    return StageRecord(
        name, provider.model_id if provider else "none", prompt_ref, usage.input_tokens, usage.output_tokens,
        usage.cost_usd, time.perf_counter() - started, output,
    )  # fmt: skip


# -- 1. frame -------------------------------------------------------------------------------------


def frame(ctx: Ctx) -> StageRecord:
    started = time.perf_counter()
    usage = Usage()
    if ctx.research_model.generates_text:
        prompt = load_prompt("frame")
        gen = ctx.research_model.generate(
            prompt.render(seed=ctx.seed, as_of=ctx.as_of.isoformat()), Frame, max_tokens=1500
        )
        usage.add(gen.usage)
        result, ref = gen.value, prompt.ref
    else:
        from crafter.pipeline.facets import seed_facets
        from crafter.retrieval.kinds import detect_kind

        kit = scaffold_kit()
        result = Frame(questions=seed_facets(ctx.seed, detect_kind(ctx.seed)))
        ref = kit.ref
    exposed = exposure_hooks.seed_note(ctx.seed)
    if exposed:
        ctx.events(StageEvent("frame", "progress", exposed))
    return _record("frame", ctx.research_model, ref, usage, started, result.model_dump())


# -- 2. research ----------------------------------------------------------------------------------


def research(
    ctx: Ctx,
    questions: Frame,
    index: object | None,
    *,
    k: int = 4,
    max_docs: int = 8,
    exclude: frozenset[str] = frozenset(),
) -> StageRecord:
    from crafter.retrieval.corpus import DESIGN_QUESTIONS, REPORTED, bullets
    from crafter.retrieval.index import CorpusIndex
    from crafter.retrieval.scoped import ScopedIndex
    from crafter.retrieval.search import SearchHit

    started = time.perf_counter()
    usage = Usage()
    if index is None:
        return _record(
            "research", None, "none", usage, started, Research(docs=[], notes=[]).model_dump()
        )
    assert isinstance(index, CorpusIndex | ScopedIndex)

    def progress(stage: str, done: int, total: int) -> None:
        ctx.events(
            StageEvent(
                "research", "progress", f"building the index: {stage}", done=done, total=total
            )
        )

    index.ensure_built(progress)
    from crafter.retrieval.kinds import detect_kind

    guess = detect_kind(ctx.seed)
    skip = (
        {key for key, meta in index.documents().items() if meta["id"] in exclude}
        if exclude
        else set()
    )
    # One query per facet of the need, plus the seed itself; the union of what they find is
    # then scored for relevance to the seed, and only what clears the floor may ground the draft.
    queries = [" ".join(ctx.seed.split())[:200]] + [
        q.query for q in questions.questions if q.perspective != "need"
    ]
    queries = list(dict.fromkeys(queries))
    found_by: dict[str, set[int]] = {}
    for qi, query in enumerate(queries):
        ctx.check_cancel()
        for key, _score, _cid in index.candidates(query, POOL_PER_QUERY, skip=skip):
            found_by.setdefault(key, set()).add(qi)
        ctx.events(StageEvent("research", "progress", query, done=qi + 1, total=len(queries)))
    pool = sorted(found_by, key=lambda key: (-len(found_by[key]), key))[:MAX_POOL]
    hits = index.search(ctx.seed[:2000], max_docs, need=ctx.seed[:2000], pool=pool)
    floor = _floor()

    def found(hit: SearchHit) -> FoundDoc:
        sections = index.doc_sections(f"{hit.source}:{hit.id}")
        key = f"{hit.source}:{hit.id}"
        return FoundDoc(
            id=hit.id, title=hit.title, org=hit.org, year=hit.year, url=hit.url, source=hit.source,
            snippet=hit.snippet,
            reported=[b[:600] for b in bullets(sections.get(REPORTED, ""))][:8],
            design_questions=[b[:600] for b in bullets(sections.get(DESIGN_QUESTIONS, ""))][:8],
            questions=sorted(found_by.get(key, set())), relevance=hit.relevance,
        )  # fmt: skip

    docs = [found(h) for h in hits if h.relevant]
    nearest = [] if docs else [found(h) for h in hits[:3]]
    if not docs:
        ctx.events(StageEvent("research", "progress", no_close_message(nearest)))
    allowed = {d.id for d in docs}
    ref = "none"
    if ctx.research_model.generates_text and docs:
        prompt = load_prompt("notes")
        gen = ctx.research_model.generate(
            prompt.render(seed=ctx.seed, documents=documents_block(docs)), NoteSet, max_tokens=3000
        )
        usage.add(gen.usage)
        ref = prompt.ref
        notes = [n for n in gen.value.notes if n.doc_id in allowed]
        dropped = len(gen.value.notes) - len(notes)
        if dropped:
            ctx.events(
                StageEvent(
                    "research",
                    "progress",
                    f"dropped {dropped} note(s) citing documents not retrieved",
                )
            )
        notes = _supported_notes(ctx, notes, docs, index)
    else:
        # Without a model, notes are the write-ups' own reported bullets, never our inferences.
        notes = [Note(doc_id=d.id, note=b) for d in docs for b in d.reported[:MAX_NOTES_PER_DOC]]
    return _record(
        "research",
        ctx.research_model,
        ref,
        usage,
        started,
        Research(
            docs=docs, notes=notes, nearest=nearest, floor=floor, kind=guess.name
        ).model_dump(),
    )


POOL_PER_QUERY = 10
MAX_POOL = 30


def _supported_notes(ctx: Ctx, notes: list[Note], docs: list[FoundDoc], index: Any) -> list[Note]:
    """Drop, and report, notes their own document does not support (see pipeline/support.py)."""
    from crafter.pipeline.support import judge

    if not notes:
        return notes
    matrices = {d.id: index.doc_matrix(f"{d.source}:{d.id}") for d in docs}
    verdicts = judge([n.note for n in notes], [n.doc_id for n in notes], matrices)
    kept = [n for n, v in zip(notes, verdicts, strict=True) if v.supported]
    gone = [(n, v) for n, v in zip(notes, verdicts, strict=True) if not v.supported]
    if gone:
        detail = "; ".join(
            f"{n.doc_id} ({v.own:.2f}"
            + (f", closer to {v.other_id}" if v.other_id and v.best_other > v.own else "")
            + ")"
            for n, v in gone[:5]
        )
        ctx.events(
            StageEvent(
                "research",
                "progress",
                f"dropped {len(gone)} note(s) their document does not support: {detail}",
            )
        )
    return kept


def supported_refs(ctx: Ctx, out: DraftOutput, res: Research, stage: str) -> DraftOutput:
    """A hook keeps a citation only when the cited document's reported facts or notes support
    its detail; an unsupported citation is removed (the hook stays) and reported."""
    from crafter.pipeline.support import judge
    from crafter.retrieval.embedding import shared_embedder

    pairs = [(h, ref) for h in out.hooks for ref in h.refs]
    if not pairs:
        return out
    texts_by_doc = {
        d.id: [*d.reported, d.snippet, *(n.note for n in res.notes if n.doc_id == d.id)]
        for d in res.docs
    }
    matrices = {
        doc_id: shared_embedder().embed([t[:2000] for t in texts if t])
        for doc_id, texts in texts_by_doc.items()
        if any(texts)
    }
    verdicts = judge([h.detail for h, _ in pairs], [r for _, r in pairs], matrices)
    bad = {(h.id, r) for (h, r), v in zip(pairs, verdicts, strict=True) if not v.supported}
    if not bad:
        return out
    ctx.events(
        StageEvent(
            stage,
            "progress",
            f"removed {len(bad)} citation(s) their document does not support: "
            + ", ".join(f"{h} -> {r}" for h, r in sorted(bad)[:5]),
        )
    )
    hooks = [
        h.model_copy(update={"refs": [r for r in h.refs if (h.id, r) not in bad]})
        for h in out.hooks
    ]
    return out.model_copy(update={"hooks": hooks})


def _floor() -> float:
    from crafter.retrieval.relevance import load_model

    return load_model().floor


def no_close_message(nearest: list[FoundDoc]) -> str:
    """What research says when nothing clears the relevance floor."""
    names = "; ".join(f"{d.title} ({d.org}, {d.year})" for d in nearest) or "none"
    return (
        "no close industry write-up for this need in the corpus; the nearest are: "
        f"{names}. The draft cites none of them."
    )


# -- 3. draft -------------------------------------------------------------------------------------


def _allowed(res: Research) -> set[str]:
    return {d.id for d in res.docs}


def model_draft(
    ctx: Ctx, messages: list[Message], res: Research, usage: Usage, stage: str = "draft"
) -> tuple[DraftOutput, list[str]]:
    """Generate, then make sure every citation is a retrieved document (one re-ask, then drop)."""
    gen = ctx.model.generate(messages, DraftOutput)
    usage.add(gen.usage)
    out = gen.value
    allowed = _allowed(res)
    check = unknown_citations(out, allowed)
    if check.ok:
        return supported_refs(ctx, _only_known_urls(ctx, out, res, stage), res, stage), []
    ctx.events(
        StageEvent(
            stage, "progress", f"unknown citation(s) {', '.join(check.unknown)}: asking again"
        )
    )
    retry = [
        *messages,
        Message("assistant", out.model_dump_json()[:12000]),
        Message(
            "user",
            f"These ids are not among the research documents: {', '.join(check.unknown)}. Cite only these ids: "
            f"{', '.join(sorted(allowed)) or '(none: leave refs empty)'}. Reply with the whole corrected JSON.",
        ),
    ]
    gen = ctx.model.generate(retry, DraftOutput)
    usage.add(gen.usage)
    out = gen.value
    still = unknown_citations(out, allowed)
    if still.unknown:
        ctx.events(
            StageEvent(stage, "progress", f"dropped unknown citation(s) {', '.join(still.unknown)}")
        )
    out = _only_known_urls(ctx, drop_unknown(out, allowed), res, stage)
    return supported_refs(ctx, out, res, stage), sorted(set(check.unknown))


def _only_known_urls(ctx: Ctx, out: DraftOutput, res: Research, stage: str) -> DraftOutput:
    """Model-written URLs survive only when the corpus or the research holds them."""
    from crafter.evals.lint import corpus_urls
    from crafter.pipeline.grounding import strip_unknown_urls
    from crafter.retrieval.corpus import normalize_url

    known = {*corpus_urls(), *(normalize_url(d.url) for d in res.docs)}
    out, removed = strip_unknown_urls(out, known)
    if removed:
        ctx.events(
            StageEvent(
                stage,
                "progress",
                f"removed {len(removed)} URL(s) the corpus does not hold: "
                + ", ".join(sorted(set(removed))[:5]),
            )
        )
    return out


def draft(ctx: Ctx, res: Research) -> StageRecord:
    started = time.perf_counter()
    usage = Usage()
    if ctx.model.generates_text:
        prompt = load_prompt("draft")
        messages = prompt.render(
            seed=ctx.seed,
            level=ctx.level,
            as_of=ctx.as_of.isoformat(),
            notes=notes_block(res.docs, res.notes, nothing_close=res.found_nothing_close),
            exposure=exposure_hooks.draft_instruction(ctx.seed),
        )
        out, dropped = model_draft(ctx, messages, res, usage)
        ref = prompt.ref
    else:
        out, dropped, ref = scaffold_draft(ctx, res), [], scaffold_kit().ref
    return _record(
        "draft",
        ctx.model,
        ref,
        usage,
        started,
        {"content": out.model_dump(mode="json"), "dropped_citations": dropped},
    )


_CATEGORY_WORDS = [
    ("scale", r"latency|millisecond|\bms\b|qps|per second|throughput|scale|real[- ]time|budget"),
    ("data", r"label|data|cold[- ]start|sparse|history|logs|ground truth|annotat"),
    ("errors", r"false|error|cost|chargeback|miss|wrong|harm|penalt"),
    ("policy", r"human|override|review|policy|privacy|consent|regulat|legal|appeal|fair"),
    ("people", r"stakeholder|team|merchant|driver|seller|customer support|agent"),
    ("product", r"user|customer|product|experience|engagement|conversion"),
    ("operations", r"monitor|drift|retrain|deploy|rollout|incident"),
]


def _category(text: str) -> str:
    low = text.lower()
    for cat, rx in _CATEGORY_WORDS:
        if re.search(rx, low):
            return cat
    return "domain"


def scaffold_draft(ctx: Ctx, res: Research) -> DraftOutput:
    """The worksheet, plus hooks proposed from the retrieved documents' hook material."""
    from crafter.retrieval.kinds import detect_kind

    sheet = build_worksheet(ctx.seed, ctx.level, res.kind or detect_kind(ctx.seed).name)
    kit = scaffold_kit().raw
    hooks = list(sheet.hooks)
    questions = list(sheet.questions)
    used: set[str] = {h.category for h in hooks}
    for d in res.docs:
        if len(hooks) >= 12:
            break
        note = next((n.note for n in res.notes if n.doc_id == d.id), "")
        if not note:
            continue
        cat = _category(note)
        # The decision comes from the document's own design questions (ours, not the company's),
        # so it names what this peculiarity forces rather than a generic placeholder.
        decision = next(iter(d.design_questions), "") or kit["hooks"].get(cat, {}).get("decision")
        if not decision:
            continue
        hooks.append(
            Hook(
                id=f"h{len(hooks) + 1}",
                detail=f"Seen at {d.org} ({d.year}): {note[:900]} "
                + placeholder("does this hold for us? restate it with our own facts or drop it"),
                decision_forced=(decision[:1].upper() + decision[1:])[:1500],
                category=cat if cat in CATEGORIES else "domain",
                refs=[d.id],
            )
        )
        if cat not in used and cat in kit["questions"]:
            used.add(cat)
            for item in kit["questions"][cat]:
                questions.append(
                    Question(
                        id=f"q{len(questions) + 1}", question=item["q"], why_good=item["why"],
                        answer=placeholder("your prepared answer, with this company's real numbers"),
                        hooks=[hooks[-1].id],
                    )
                )  # fmt: skip
    content = sheet.model_copy(update={"hooks": hooks[:20], "questions": questions[:30]})
    return DraftOutput(**content.model_dump(), reference_reasons=[])


# -- assembling a Scenario ------------------------------------------------------------------------


def assemble(
    ctx: Ctx,
    out: DraftOutput,
    res: Research,
    records: list[StageRecord],
    corpus_version: str,
    inputs_hash: str,
) -> Scenario:
    from crafter.domain import slugify
    from crafter.providers.pricing import price_table

    content = ScenarioContent.model_validate(out.model_dump(exclude={"reference_reasons"}))
    costs = [r.cost_usd for r in records]
    uses_model = any(r.input_tokens or r.output_tokens for r in records)
    provenance = Provenance(
        generator="crafter.pipeline" if ctx.model.generates_text else "crafter.scaffold",
        model=ctx.model.model_id,
        prompt_version="+".join(
            dict.fromkeys(r.prompt_version for r in records if r.prompt_version != "none")
        )[:200],
        corpus_version=corpus_version,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        cost_usd=None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6),
        price_as_of=price_table().as_of if uses_model else None,
        inputs_hash=inputs_hash,
    )
    scenario = Scenario(
        id=slugify(content.title if ctx.model.generates_text else ctx.seed),
        seed=ctx.seed,
        as_of=ctx.as_of,
        level=ctx.level,
        references=build_references(out, res.docs, res.notes),
        provenance=provenance,
        **content.model_dump(),
    )
    return stamp_generated(scenario)


# -- 4. critique and 5. revise -------------------------------------------------------------------


def critique(
    ctx: Ctx, scenario: Scenario, known_urls: frozenset[str], judge: Provider | None, votes: int = 1
) -> StageRecord:
    from crafter.domain import to_yaml
    from crafter.evals.judges import judge_findings
    from crafter.evals.lint import lint_scenario

    started = time.perf_counter()
    result = lint_scenario(scenario, ctx.as_of, known_urls=known_urls)
    ref = "none"  # the deterministic checks have no prompt; their knowledge is versioned in evals/
    if judge is not None:
        from crafter.evals.judges import JUDGES

        judge_findings(result, to_yaml(scenario), judge, votes=votes, as_of=ctx.as_of)
        ref = "+".join(load_prompt(f"judge_{j}").ref for j in JUDGES)
    findings = [f.as_json() for f in result.findings]
    return _record(
        "critique", judge, ref, Usage(), started, {"findings": findings, "scores": result.scores}
    )


def errors_in(record: StageRecord) -> list[Finding]:
    return [Finding(**f) for f in record.output["findings"] if f["severity"] == "error"]


def revise(
    ctx: Ctx, scenario: Scenario, findings: list[Finding], res: Research, round_no: int
) -> StageRecord:
    started = time.perf_counter()
    usage = Usage()
    prompt = load_prompt("revise")
    current = scenario.model_dump(mode="json", include=set(ScenarioContent.model_fields))
    text = "\n".join(
        f"- [{f.severity} {f.check}] {f.location}: {f.message}"
        + (f" (fix: {f.suggestion})" if f.suggestion else "")
        for f in findings
    )
    messages = prompt.render(
        scenario=json.dumps(current, ensure_ascii=False),
        findings=text,
        notes=notes_block(res.docs, res.notes, nothing_close=res.found_nothing_close),
    )
    out, dropped = model_draft(ctx, messages, res, usage, stage="revise")
    return _record(
        f"revise-{round_no}",
        ctx.model,
        prompt.ref,
        usage,
        started,
        {"content": out.model_dump(mode="json"), "dropped_citations": dropped},
    )
