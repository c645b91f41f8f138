"""The reference corpus: the whole corpus passes its check; each kind of problem is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter.resources import data_dir
from crafter.retrieval.corpus import load_corpus, normalize_url
from tests.helpers import run_cli

GOOD = """---
id: acme-2024-routing
title: "Routing: how we did it"
org: Acme
year: 2024
url: https://example.com/routing
kind: blog
domains: [nlp, search]
source_list: [test]
---
# Routing

## Problem
Questions need owners.

## Approach
A ranker over people.

## Figures
- 3 teams.

## Reported
- Three teams answer routed questions.

## Design questions
- People dislike being tagged: how often may one expert be asked?
"""


def test_the_whole_corpus_is_clean_and_large_enough() -> None:
    result = load_corpus(data_dir("reference_corpus"))
    assert [p.render() for p in result.problems] == []
    assert len(result.docs) >= 800
    applied_only = [
        d
        for d in result.docs
        if "applied-ml" in d.source_list and "ml-sysdes-atlas" not in d.source_list
    ]
    assert len(applied_only) >= 100
    # Every document keeps what the write-up states apart from what we infer, and has both.
    assert all(d.reported and d.design_questions for d in result.docs)
    assert all(d.checked in ("source", "abstract", "none", "unaudited") for d in result.docs)
    recent = [d for d in result.docs if d.year >= 2024]
    assert len(recent) >= 400


def test_every_id_fits_a_note_and_a_citation(tmp_path: Path) -> None:
    # A scaffold draft's research notes carry the document id as a scenario Ident (at most 80
    # characters): a longer corpus id made `crafter new` fail with a validation traceback.
    import re

    from crafter.pipeline.models import Note

    docs = load_corpus(data_dir("reference_corpus")).docs
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,79}", d.id) for d in docs)
    for d in docs[:50]:
        Note(doc_id=d.id, note="a reported fact")
    long_id = "acme-2024-" + "routing-" * 10 + "x"
    _write(tmp_path, f"{long_id}.md", GOOD.replace("acme-2024-routing", long_id))
    rendered = [p.render() for p in load_corpus(tmp_path).problems]
    assert any("must be 3 to 80" in r for r in rendered), rendered


def test_org_spellings_and_id_years_are_checked(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text('"LinkedIn": ["Linkedin"]\n"Acme": []\n')
    _write(tmp_path, "acme-2024-routing.md", GOOD.replace("org: Acme", "org: Linkedin"))
    _write(tmp_path, "acme-2023-other.md", GOOD.replace("acme-2024-routing", "acme-2023-other"))
    _write(
        tmp_path,
        "acme-2024-third.md",
        GOOD.replace("acme-2024-routing", "acme-2024-third")
        .replace("org: Acme", "org: ACME")
        .replace("https://example.com/routing", "https://example.com/third"),
    )
    rendered = [p.render() for p in load_corpus(tmp_path).problems]
    assert any("'Linkedin' is spelled 'LinkedIn'" in r and ":4:" in r for r in rendered), rendered
    assert any("carries the year 2023 but year is 2024" in r for r in rendered), rendered
    assert any("'ACME' is spelled 'Acme'" in r for r in rendered), rendered


def test_reported_and_design_questions_need_bullets(tmp_path: Path) -> None:
    text = GOOD.replace("- Three teams answer routed questions.", "Three teams answer questions.")
    path = _write(tmp_path, "acme-2024-routing.md", text)
    rendered = [p.render() for p in load_corpus(tmp_path).problems]
    assert any(
        r.startswith(f"{path}:") and "'## Reported' needs '- ' bullets" in r for r in rendered
    )


def test_every_atlas_case_study_is_covered(repo_root: Path) -> None:
    atlas = repo_root.parent / "shared" / "sources" / "ml-sysdes-atlas.json"
    if not atlas.is_file():
        pytest.skip("shared/sources is not beside this checkout")
    docs = load_corpus(data_dir("reference_corpus")).docs
    covered = {normalize_url(u) for d in docs for u in d.urls}
    missing = [
        r["url"] for r in json.loads(atlas.read_text()) if normalize_url(r["url"]) not in covered
    ]
    assert missing == []


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("mutate", "message", "line"),
    [
        (lambda t: t.replace("year: 2024", "year: twenty"), "year must be", 5),
        (lambda t: t.replace("kind: blog\n", "kind: podcast\n"), "kind must be one of", 7),
        (lambda t: t.replace("org: Acme\n", ""), "missing front matter key 'org'", 2),
        (lambda t: t.replace("## Figures\n- 3 teams.\n\n", ""), "missing section '## Figures'", 11),
        (lambda t: t.replace("## Approach", "## Method"), "unknown section '## Method'", 16),
        (
            lambda t: t.replace("url: https://example.com/routing", "url: example.com"),
            "url must be",
            6,
        ),
        (lambda t: t.replace("domains: [nlp, search]", "domains: []"), "domains must be", 8),
        (
            lambda t: t.replace("source_list: [test]", "source_list: [test]\nauthor: me"),
            "unknown front matter key",
            10,
        ),
        (
            lambda t: t.replace("---\n# Routing", "# Routing", 1).replace("---\nid", "id", 1),
            "no front matter",
            1,
        ),
    ],
)
def test_problems_are_reported_with_file_and_line(
    tmp_path: Path, mutate: object, message: str, line: int
) -> None:
    path = _write(tmp_path, "acme-2024-routing.md", mutate(GOOD))  # type: ignore[operator]
    result = load_corpus(tmp_path)
    assert result.docs == []
    rendered = [p.render() for p in result.problems]
    assert any(message in r and r.startswith(f"{path}:{line}:") for r in rendered), rendered


def test_duplicates_and_id_mismatch(tmp_path: Path) -> None:
    _write(tmp_path, "acme-2024-routing.md", GOOD)
    _write(tmp_path, "acme-2024-other.md", GOOD.replace("acme-2024-routing", "acme-2024-other").replace(
        "routing\n", "routing/?utm_source=x\n"))  # fmt: skip
    _write(
        tmp_path,
        "wrong-name.md",
        GOOD.replace("url: https://example.com/routing", "url: https://example.com/b"),
    )
    rendered = [p.render() for p in load_corpus(tmp_path).problems]
    assert any("duplicate url" in r for r in rendered), rendered
    assert any("does not match the file name" in r for r in rendered), rendered


def test_url_normalisation_keeps_meaningful_queries() -> None:
    assert normalize_url("https://www.x.com/a/?gi=12&utm_source=t") == normalize_url(
        "http://x.com/a"
    )
    assert normalize_url("https://x.com/a.html") == normalize_url("https://x.com/a")
    assert normalize_url("https://youtube.com/watch?v=1") != normalize_url(
        "https://youtube.com/watch?v=2"
    )


def test_corpus_check_cli(tmp_path: Path) -> None:
    ok = run_cli("corpus", "check")
    assert ok.returncode == 0 and "0 problem(s)" in ok.stdout
    _write(tmp_path, "acme-2024-routing.md", GOOD.replace("year: 2024", "year: 24"))
    bad = run_cli("corpus", "check", str(tmp_path))
    assert bad.returncode == 1
    assert f"{tmp_path / 'acme-2024-routing.md'}:5: year must be" in bad.stderr
