"""Maintainers: write evals/exposure/exemplars_blind.yaml from the labelled blind pair sets.

Each blind set was scored once before anything learned from it (evals/exposure/BLIND-SCORE.txt).
Afterwards its pairs become exemplars, so adding a labelled pair teaches the check without code:
- a near-copy becomes a copy of the index prompt its writer's "published" text matches best;
- a same-domain pair becomes a twist of that prompt;
- a warning that evals/exposure/adjudicated.yaml judged again becomes a copy (judged a near-copy)
  or a twist (judged not one) of the prompt the check named.
The writer's "published" text is matched against the hand-written exemplars alone, so the file
does not depend on itself. Sets scored once but not yet learned from stay out (LEARNED below).

Run: .venv/bin/python tools/exposure_blind_exemplars.py
"""

from __future__ import annotations

from typing import Any

import yaml

from crafter.domain.atomic import atomic_write_text
from crafter.evals import exposure, exposure_model
from crafter.resources import data_dir

FOLDER = data_dir("evals") / "exposure"
LEARNED = tuple(
    f"pairs_blind{n}.yaml" for n in ("", "2", "3", "4", "5", "6", "7", "8", "9")
)  # pairs_blind7-9 joined at the end of the ninth session, after their scores
HEADER = """\
# Exemplars learned from the labelled blind pair sets (written by tools/exposure_blind_exemplars.py;
# do not edit by hand: edit the pair sets or evals/exposure/adjudicated.yaml and run it again).
# Every set here was scored once before it was learned from (BLIND-SCORE.txt). Near-copies are
# copies of the prompt their writer named; same-domain pairs are its twists; warnings judged again
# in adjudicated.yaml are copies or twists of the prompt the check named.
"""


def _cases(name: str) -> list[dict[str, Any]]:
    raw = yaml.safe_load((FOLDER / name).read_text(encoding="utf-8"))
    items = raw.get("pairs") or raw.get("cases") or []
    return [
        {
            "title": str(p.get("title", p.get("scenario_title", ""))),
            "text": str(p.get("text", p.get("scenario_text", ""))),
            "label": str(p["label"]),
            "published": str(p.get("published", "")),
        }
        for p in items
    ]


def _hand_written_index() -> exposure.ExposureIndex:
    """The bundled index judged with the hand-written exemplars only."""

    def hand_written() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        return exposure_model._read_exemplars(exposure_model.exemplars_path(), "exemplars")

    exposure_model.load_exemplars = hand_written  # type: ignore[assignment]
    exposure._DEFAULT.clear()
    return exposure.index_for()


def main() -> None:
    index = _hand_written_index()
    judged = yaml.safe_load((FOLDER / "adjudicated.yaml").read_text(encoding="utf-8"))["judged"]
    verdicts = {(j["scenario_title"], j["scenario_text"]): j for j in judged}
    copies: dict[str, list[str]] = {}
    twists: dict[str, list[str]] = {}
    mapped: dict[str, str | None] = {}

    def prompt_of(published: str) -> str | None:
        if published not in mapped:
            found, _ = index.match(published)
            mapped[published] = found[0].prompt.id if found else None
        return mapped[published]

    for name in LEARNED:
        for c in _cases(name):
            text = f"{c['title'].rstrip('.')}: {c['text']}"
            verdict = verdicts.get((c["title"], c["text"]))
            if c["label"] == "near_copy" and c["published"]:
                pid = prompt_of(c["published"])
                if pid:
                    copies.setdefault(pid, []).append(text)
            elif verdict is not None:
                into = copies if verdict["near_copy"] else twists
                into.setdefault(str(verdict["prompt"]), []).append(text)
            elif c["label"] == "same_domain" and c["published"]:
                pid = prompt_of(c["published"])
                if pid:
                    twists.setdefault(pid, []).append(text)
    cap = exposure_model._MAX_ITEMS
    entries = []
    for pid in sorted(set(copies) | set(twists)):
        entry: dict[str, Any] = {"prompt": pid}
        if copies.get(pid):
            entry["copies"] = sorted(set(copies[pid]))[:cap]
        if twists.get(pid):
            entry["twists"] = sorted(set(twists[pid]))[:cap]
        entries.append(entry)
    body = yaml.safe_dump(
        {"version": 1, "exemplars": entries}, sort_keys=False, allow_unicode=True, width=100
    )
    atomic_write_text(FOLDER / "exemplars_blind.yaml", HEADER + body)
    n_copies = sum(len(e.get("copies", [])) for e in entries)
    n_twists = sum(len(e.get("twists", [])) for e in entries)
    print(f"{len(entries)} prompts, {n_copies} copies, {n_twists} twists -> exemplars_blind.yaml")


if __name__ == "__main__":
    main()
