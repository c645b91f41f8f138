"""Blind grading of research on realistic seeds (issue: research that knows when it found nothing).

Two steps, so that grading is done by someone who did not build the retriever:

    dump   run `crafter search` (top 5) and the scaffold's research for every seed of
           evals/seeds/realistic_blind.yaml; write the (seed, document) pairs that have no grade
           yet to a file for a grader, each with the document's title, org, year and problem.
    score  read the grades (evals/seeds/realistic_blind_grades.yaml: seed id -> doc id -> 0/1/2)
           and print success@5 (a 2 in the top 5), the mean top-1 grade and the share of 0s, for
           search and for the scaffold's cited documents; ungraded pairs are counted and listed.

Run: .venv/bin/python benchmarks/research_grading.py dump OUT.json [--index DIR] [--set NAME]
     .venv/bin/python benchmarks/research_grading.py score [--cv] [--index DIR] [--set NAME]

``--set NAME`` reads evals/seeds/NAME.yaml and NAME_grades.yaml instead. The relevance model is
fitted on realistic_blind..realistic_blind6 (their honest figures are the SCORE-ONCE files and the
notes of the sessions that graded them; use ``--cv`` for a cross-validated figure now);
realistic_blind7 was graded after and never fitted on.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from crafter.pipeline.draft import DraftRequest, draft_scenario
from crafter.providers.scaffold import ScaffoldProvider
from crafter.resources import data_dir
from crafter.retrieval.index import CorpusIndex

SEEDS = data_dir("evals") / "seeds" / "realistic_blind.yaml"
GRADES = data_dir("evals") / "seeds" / "realistic_blind_grades.yaml"
FITTED_ON_THIS_SET = [True]  # the relevance model was fitted on the first set's grades


def use_set(name: str) -> None:
    global SEEDS, GRADES
    SEEDS = data_dir("evals") / "seeds" / f"{name}.yaml"
    GRADES = data_dir("evals") / "seeds" / f"{name}_grades.yaml"
    # Since the eighth session the relevance model is fitted on the first six sets' grades
    # (tools/fit_relevance.py); realistic_blind7 was graded after and never fitted on.
    FITTED_ON_THIS_SET[0] = name == "realistic_blind" or name in (
        f"realistic_blind{n}" for n in range(2, 7)
    )


AS_OF = dt.date(2026, 12, 1)


def _seeds() -> list[dict[str, str]]:
    # bad-input seeds are for the refusal tests, not for grading research.
    return [s for s in yaml.safe_load(SEEDS.read_text())["seeds"] if s["kind"] != "bad-input"]


def _grades() -> dict[str, dict[str, int]]:
    if not GRADES.exists():
        return {}
    raw = yaml.safe_load(GRADES.read_text()) or {}
    return {
        str(k): {str(d): int(g) for d, g in v.items()} for k, v in raw.get("grades", {}).items()
    }


def results(index: Any, cv: bool = False) -> dict[str, dict[str, list[str]]]:
    """Seed id -> {"search": top-5 ids, "search_grounded": those above the floor, "scaffold":
    cited ids}. With ``cv`` each seed is ranked by a relevance model fitted on the other fold's
    seeds only (tools/fit_relevance.py), so no seed is scored by a model that saw its grades."""
    if not cv:
        return _results(index, _seeds())
    import crafter.retrieval.relevance as relevance

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from fit_relevance import fitted_model, fold_of, graded_features

    shipped = relevance.load_model
    out: dict[str, dict[str, list[str]]] = {}
    try:
        for fold in (0, 1):
            x, y, _ = graded_features(index, only_fold=1 - fold)
            model = fitted_model(x, y)
            relevance.load_model = lambda model=model: model  # type: ignore[misc]
            out.update(_results(index, [s for s in _seeds() if fold_of(s["id"]) == fold]))
    finally:
        relevance.load_model = shipped
    return out


def _results(index: Any, seeds: list[dict[str, str]]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    with tempfile.TemporaryDirectory() as runs:
        for s in seeds:
            hits = index.search(s["seed"], 5)
            grounded = [h.id for h in hits if getattr(h, "relevant", True)]
            draft = draft_scenario(
                DraftRequest(s["seed"], as_of=AS_OF),
                ScaffoldProvider(),
                index=index,
                runs_root=Path(runs),
            )
            out[s["id"]] = {
                "search": [h.id for h in hits],
                "search_grounded": grounded,
                "scaffold": [r.id for r in draft.scenario.references],
            }
    return out


def dump(target: Path, index: Any) -> None:
    grades = _grades()
    docs = {meta["id"]: meta for meta in index.documents().values()}
    seeds = {s["id"]: s for s in _seeds()}
    pairs = []
    seen: set[tuple[str, str]] = set()
    merged: list[tuple[str, dict[str, list[str]]]] = [*results(index).items()]
    if FITTED_ON_THIS_SET[0]:
        merged.extend(results(index, cv=True).items())
    for sid, got in merged:
        for doc_id in dict.fromkeys(got["search"] + got["scaffold"]):
            if doc_id in grades.get(sid, {}) or (sid, doc_id) in seen:
                continue
            seen.add((sid, doc_id))
            meta = docs[doc_id]
            problem = index.doc_sections(f"{meta['source']}:{doc_id}").get("Problem", "")
            pairs.append(
                {
                    "seed_id": sid,
                    "seed": seeds[sid]["seed"],
                    "doc_id": doc_id,
                    "title": meta["title"],
                    "org": meta["org"],
                    "year": meta["year"],
                    "problem": problem[:600],
                }
            )
    target.write_text(json.dumps(pairs, indent=1, ensure_ascii=False))
    print(f"{len(pairs)} ungraded pairs written to {target}")


def _metrics(ranked: dict[str, list[str]], grades: dict[str, dict[str, int]]) -> str:
    ungraded = 0
    success = top1 = zeros = shown = 0
    empty = 0
    for sid, ids in ranked.items():
        g = [grades.get(sid, {}).get(i) for i in ids]
        ungraded += sum(x is None for x in g)
        vals = [x for x in g if x is not None]
        if not ids:
            empty += 1
            continue
        success += any(x == 2 for x in vals)
        top1 += g[0] or 0
        zeros += sum(x == 0 for x in vals)
        shown += len(vals)
    n = len(ranked)
    return (
        f"success@5 {success / n:.2f}  mean top-1 {top1 / max(1, n - empty):.2f}  "
        f"0-graded {zeros / max(1, shown):.0%} of {shown}  seeds with nothing cited {empty}  "
        f"ungraded {ungraded}"
    )


def score(index: Any, cv: bool = False) -> None:
    grades = _grades()
    got = results(index, cv=cv)
    print("cross-validated relevance models (fold by seed)" if cv else "the shipped model")
    print(f"{len(got)} seeds, {sum(len(v) for v in grades.values())} graded pairs")
    print("search (top 5):           ", _metrics({k: v["search"] for k, v in got.items()}, grades))
    print(
        "search (above the floor): ",
        _metrics({k: v["search_grounded"] for k, v in got.items()}, grades),
    )
    print(
        "scaffold cited documents: ", _metrics({k: v["scaffold"] for k, v in got.items()}, grades)
    )


def main() -> None:
    args = sys.argv[1:]
    folder = Path(args[args.index("--index") + 1]) if "--index" in args else None
    if "--set" in args:
        use_set(args[args.index("--set") + 1])
        if "--cv" in args and not FITTED_ON_THIS_SET[0]:
            sys.exit("--cv is for the set the relevance model was fitted on")
    with tempfile.TemporaryDirectory() as tmp:
        index = CorpusIndex(folder or Path(tmp) / "index")
        index.ensure_built()
        if args and args[0] == "dump":
            dump(Path(args[1]), index)
        elif args and args[0] == "score":
            score(index, cv="--cv" in args)
        else:
            print(__doc__)
            sys.exit(2)


if __name__ == "__main__":
    main()
