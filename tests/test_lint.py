"""`crafter lint` as users and CI run it: formats, exit codes, bad files, stdin, the scaffold's gaps."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from crafter.evals.findings import CHECK_IDS
from crafter.evals.knowledge import FastPattern
from crafter.resources import data_dir
from tests.helpers import SLACK_SEED, run_cli

CASES = data_dir("evals") / "cases"
VAGUE = CASES / "vague-design-recsys.txt"
GOOD = CASES / "good-incident-intake-routing.txt"
GOOD_SCENARIO = CASES / "scenario-good-dating-message-nudge.yaml"
STALE = CASES / "stale-contract-clause-lookup.txt"


def test_clean_files_exit_0_and_findings_exit_1() -> None:
    ok = run_cli("lint", str(GOOD), str(GOOD_SCENARIO), "--as-of", "2026-11-01")
    assert ok.returncode == 0, ok.stdout
    assert "2 file(s): 0 error(s)" in ok.stdout
    bad = run_cli("lint", str(VAGUE), str(GOOD))
    assert bad.returncode == 1
    assert f"{VAGUE}:1: error [vagueness]" in bad.stdout


def test_json_contract() -> None:
    res = run_cli(
        "lint", str(STALE), str(GOOD_SCENARIO), "--format", "json", "--as-of", "2026-11-01"
    )
    data = json.loads(res.stdout)
    assert data["version"] == 1 and data["as_of"] == "2026-11-01"
    assert set(data) == {"version", "as_of", "results", "summary"}
    assert set(data["summary"]) == {"files", "errors", "warnings"}
    first = data["results"][0]
    assert set(first) == {"path", "kind", "findings", "scores"}
    assert first["kind"] == "text" and data["results"][1]["kind"] == "scenario"
    finding = first["findings"][0]
    assert set(finding) == {"check", "severity", "message", "evidence", "location", "suggestion"}
    assert finding["check"] == "staleness" and finding["severity"] == "error"
    assert "agentic search" in finding["suggestion"]


def test_junit_github_and_sarif() -> None:
    junit = run_cli("lint", str(VAGUE), str(GOOD_SCENARIO), "--format", "junit")
    root = ET.fromstring(junit.stdout)
    suites = root.findall("testsuite")
    assert len(suites) == 2
    names = [c.get("name") for c in suites[1].findall("testcase")]
    # Checks that only report (the exposure check's domain info) follow the fixed ones.
    assert names[: len(CHECK_IDS)] == list(CHECK_IDS) and set(names[len(CHECK_IDS) :]) <= {
        "exposure"
    }
    assert suites[0].find("testcase[@name='vagueness']/failure") is not None
    github = run_cli("lint", str(VAGUE), "--format", "github")
    assert github.stdout.startswith(f"::error file={VAGUE},line=1,title=crafter vagueness::")
    sarif = json.loads(run_cli("lint", str(VAGUE), "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "vagueness" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_fail_on_levels(tmp_path: Path) -> None:
    warn_only = CASES / "coverage-parcel-eta-rollout.txt"
    assert run_cli("lint", str(warn_only)).returncode == 0
    assert run_cli("lint", str(warn_only), "--fail-on", "warning").returncode == 1
    assert run_cli("lint", str(VAGUE), "--fail-on", "never").returncode == 0


def test_bad_files_are_reported_and_the_rest_still_linted(tmp_path: Path) -> None:
    (tmp_path / "binary.md").write_bytes(b"\x89PNG\x00\x00binary")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 question".encode("latin-1"))
    (tmp_path / "broken.yaml").write_text("schema_version: 1\ntitle: [unclosed\n")
    (tmp_path / "empty.md").write_text("  \n")
    (tmp_path / "good.txt").write_text(GOOD.read_text())
    (tmp_path / "vague.txt").write_text("Design a fraud detection system.")
    res = run_cli("lint", str(tmp_path), "--format", "json")
    assert res.returncode == 2
    data = {Path(r["path"]).name: r for r in json.loads(res.stdout)["results"]}
    assert set(data) == {
        "binary.md",
        "latin1.txt",
        "broken.yaml",
        "empty.md",
        "good.txt",
        "vague.txt",
    }
    assert "binary" in data["binary.md"]["findings"][0]["message"]
    assert "UTF-8" in data["latin1.txt"]["findings"][0]["message"]
    assert "invalid YAML" in data["broken.yaml"]["findings"][0]["message"]
    assert "empty" in data["empty.md"]["findings"][0]["message"]
    assert [f for f in data["good.txt"]["findings"] if f["severity"] != "info"] == []
    assert data["vague.txt"]["findings"][0]["check"] == "vagueness"
    assert "could not be read" in res.stderr


def test_stdin_and_usage_errors(tmp_path: Path) -> None:
    res = run_cli("lint", "-", stdin="Build a chatbot.")
    assert res.returncode == 1 and "vagueness" in res.stdout
    assert run_cli("lint", str(tmp_path / "nope.md")).returncode == 2
    assert run_cli("lint", str(GOOD), "--format", "xml").returncode == 2
    assert run_cli("lint", str(GOOD), "--as-of", "soon").returncode == 2
    (tmp_path / "image.png").write_bytes(b"x")
    empty = run_cli("lint", str(tmp_path))
    assert empty.returncode == 2 and "no .md" in empty.stderr


def test_scaffold_worksheet_gaps_are_reported(tmp_path: Path) -> None:
    path = run_cli(
        "draft",
        SLACK_SEED,
        "--out",
        str(tmp_path),
        "--no-research",
        "--runs",
        str(tmp_path / "runs"),
    ).stdout.strip()
    res = run_cli("lint", path, "--format", "json")
    assert res.returncode == 1
    findings = json.loads(res.stdout)["results"][0]["findings"]
    vague = [f for f in findings if f["check"] == "vagueness"]
    assert vague and "TODO(interviewer)" in vague[0]["message"]
    assert "(line " in vague[0]["location"]
    # Placeholders are reported once (by vagueness), not again as unanswerable questions.
    assert not [f for f in findings if f["check"] == "answerability"]


@pytest.mark.parametrize(
    ("text", "check"),
    [
        (
            "We would like the candidate to derive the MinHash collision probability on the whiteboard. "
            "A marketplace with 3M listings a day has 20% reposted duplicates.",
            "rederive",
        ),
        (
            "A pharmacy chain gets 35,000 discharge summaries a month. Ideal answer: train a CRF with "
            "hand-crafted features to extract drug names.",
            "staleness",
        ),
    ],
)
def test_single_checks_on_short_texts(text: str, check: str) -> None:
    res = run_cli("lint", "-", "--format", "json", stdin=text)
    checks = {f["check"] for f in json.loads(res.stdout)["results"][0]["findings"]}
    assert check in checks


def test_parallel_lint_gives_the_same_report(tmp_path: Path) -> None:
    import datetime as dt

    from crafter.evals.lint import PARALLEL_MIN_FILES, lint_paths

    sources = [VAGUE, GOOD, GOOD_SCENARIO, STALE]
    for n in range(PARALLEL_MIN_FILES):
        src = sources[n % len(sources)]
        (tmp_path / f"{n:03d}-{src.name}").write_text(src.read_text())
    day = dt.date(2026, 11, 1)
    serial = lint_paths([str(tmp_path)], day, jobs=1).as_json()
    parallel = lint_paths([str(tmp_path)], day, jobs=2).as_json()
    assert parallel == serial
    assert serial["summary"]["files"] == PARALLEL_MIN_FILES  # type: ignore[index]


# -- the fast paths change nothing ------------------------------------------------------------
# Lint reads scenario YAML with its own block-YAML reader and finds words with FastPattern, both
# faster than libyaml and plain re. These tests hold them to the results of the slow paths.

SCENARIO_CASES = sorted(CASES.glob("scenario-*.yaml"))


def _same(a: object, b: object) -> bool:
    # repr tells 1 from True and 1.0, and keeps key order.
    return repr(a) == repr(b)


def _styles(text: str) -> list[str]:
    """The same scenario written the ways people and YAML dumpers write it."""
    from crafter.domain import Scenario
    from crafter.domain.yamlio import to_yaml

    class Indented(yaml.SafeDumper):
        """Sequences indented under their key, as people often write them by hand."""

        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

    data = yaml.safe_load(text)
    out = [text, to_yaml(Scenario.model_validate(data))]
    for width in (30, 72, 4000):
        out.append(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=width))
    out.append(yaml.dump(data, Dumper=Indented, sort_keys=False, allow_unicode=True, indent=4))
    out.append(text.replace("\n    ", "\n        "))  # continuation lines indented deeper
    return out


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=lambda p: p.stem)
def test_block_yaml_reader_reads_what_libyaml_reads(case: Path) -> None:
    from crafter.domain import blockyaml
    from crafter.domain.yamlio import load_with_lines

    for i, text in enumerate(_styles(case.read_text())):
        data, lines = load_with_lines(text)
        fast = blockyaml.load(text)
        assert fast is not None, i  # every one of these styles takes the fast path
        assert _same(fast[0], data), i
        assert fast[1] == lines, i


@pytest.mark.parametrize(
    "text",
    [
        "a: 1 # a comment\n",
        "# a comment\na: 1\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a:\n\tb: 1\n",
        "a: 1\r\nb: 2\r\n",
        "a: 1\na: 2\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "a: >\n  folded\n",
        "a: |+\n  kept\n\n",
        "a: |2\n   indented\n",
        "a:\nb: 1\n",
        "yes: 1\n",
        "a: 1 \n",
        "a: b: c\n",
        'a: "x\\ty"\n',
        "- a\n- b\n",
        "a:\n- - 1\n",
        "\ufeffa: 1\n",
        "a: x\x85y\n",
    ],
)
def test_block_yaml_reader_leaves_other_yaml_to_libyaml(text: str) -> None:
    from crafter.domain import blockyaml

    assert blockyaml.load(text) is None


def test_block_yaml_reader_agrees_with_libyaml_on_random_documents() -> None:
    import random

    from crafter.domain import blockyaml
    from crafter.domain.yamlio import load_with_lines

    rng = random.Random(20261101)
    words = ["data", "model", "p99", "yes", "null", "12", "3.5", "2020-01-02", "a:b", "it's", "x #y",
             '"q"', "-", "- z", "[l]", "'", "''", "é", "—", "::", "#", "?", "TODO(interviewer):"]  # fmt: skip

    def scalar() -> object:
        r = rng.random()
        if r < 0.1:
            return rng.choice([0, 7, 2.5, True, None, ""])
        plain = ["lorem", "ipsum", "dolor", "sit", "amet"]
        text = " ".join(
            rng.choice(words) if rng.random() < 0.08 else rng.choice(plain)
            for _ in range(rng.randint(1, 12))
        )
        return text if r < 0.8 else text.replace(" ", "\n", rng.randint(1, 3))

    def node(depth: int) -> object:
        r = rng.random()
        if depth > 2 or r < 0.5:
            return scalar()
        if r < 0.75:
            return {rng.choice(["id", "text", "why", "refs", "on", "k_2"]): node(depth + 1)
                    for _ in range(rng.randint(1, 4))}  # fmt: skip
        return [node(depth + 1) for _ in range(rng.randint(0, 3))]

    fast_count = 0
    for _ in range(400):
        data = {rng.choice(["id", "title", "hooks", "premise"]): node(0) for _ in range(3)}
        text = yaml.safe_dump(data, sort_keys=False, width=rng.choice([20, 50, 100]))
        lines = text.split("\n")
        j = rng.randrange(len(lines))  # a hand edit: re-indent, or split a line
        lines[j] = rng.choice([" " + lines[j], lines[j].replace(" ", "\n   ", 1), lines[j]])
        text = "\n".join(lines)
        fast = blockyaml.load(text)
        try:
            slow = load_with_lines(text)
        except yaml.YAMLError:
            assert fast is None, text
            continue
        if fast is not None:
            fast_count += 1
            assert _same(fast[0], slow[0]), text
            assert fast[1] == slow[1], text
    assert fast_count > 100


def _deep_findings_scenario(tmp_path: Path) -> tuple[Path, str]:
    from crafter.domain import Scenario
    from crafter.domain.yamlio import to_yaml

    s = Scenario.model_validate(yaml.safe_load(GOOD_SCENARIO.read_text()))
    s.questions[-1].answer = "TBD"
    s.hooks[-1].refs = ["no-such-ref"]
    s.hooks = s.hooks[-2:]
    text = to_yaml(s)
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    return path, text


def _line_of(text: str, start: str, after: str = "") -> int:
    """1-based number of the first line starting with ``start`` after the line ``after``."""
    lines = text.split("\n")
    first = lines.index(after) if after else 0
    return next(i for i in range(first, len(lines)) if lines[i].startswith(start)) + 1


def test_findings_deep_in_a_scenario_point_at_their_lines(tmp_path: Path) -> None:
    import datetime as dt

    from crafter.evals.lint import lint_file

    path, text = _deep_findings_scenario(tmp_path)
    result = lint_file(path, dt.date(2026, 11, 1))
    where = {f.check + ":" + f.location.split(" (")[0]: f.location for f in result.findings}
    answer = f"questions[{len(yaml.safe_load(text)['questions']) - 1}].answer"
    assert where[f"answerability:{answer}"] == (
        f"{answer} (line {_line_of(text, '  answer: TBD')})"
    )
    # A field's line is where its value starts (libyaml's node): for a list, its first item.
    assert where["grounding:hooks[1].refs"] == (
        f"hooks[1].refs (line {_line_of(text, '  - no-such-ref')})"
    )
    assert where["vagueness:hooks"] == f"hooks (line {_line_of(text, '- id:', 'hooks:')})"


def _plain_search(self: FastPattern, text: str) -> re.Match[str] | None:
    """What FastPattern.search must return: re.search, under the knowledge YAML's requires rule."""
    if self.requires and not any(w in text for w in self.requires):
        return None
    return self.rx.search(text)


def test_lint_is_the_same_without_the_fast_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from crafter.domain import blockyaml
    from crafter.evals import text_checks
    from crafter.evals.lint import lint_paths

    files = [*SCENARIO_CASES, VAGUE, GOOD, STALE, *sorted(CASES.glob("rederive-*"))]
    for n, src in enumerate(files):
        for k, text in enumerate(
            _styles(src.read_text()) if src.suffix == ".yaml" else [src.read_text()]
        ):
            (tmp_path / f"{n:02d}-{k}-{src.name}").write_text(text)
    deep, _ = _deep_findings_scenario(tmp_path)
    (tmp_path / "schema-error.yaml").write_text(
        deep.read_text().replace("level: staff", "level: guru")
    )
    days = (dt.date(2026, 11, 1), dt.date(2031, 1, 1))
    fast = [lint_paths([str(tmp_path)], day).as_json() for day in days]
    monkeypatch.setattr(blockyaml, "load", lambda text: None)
    monkeypatch.setattr(FastPattern, "search", _plain_search)
    monkeypatch.setattr(FastPattern, "findall", lambda self, text: (
        [] if self.requires and not any(w in text for w in self.requires) else self.rx.findall(text)
    ))  # fmt: skip
    monkeypatch.setattr(text_checks, "count_numbers", _count_numbers_by_regex)
    assert fast == [lint_paths([str(tmp_path)], day).as_json() for day in days]


def _knowledge_patterns() -> list[FastPattern]:
    from crafter.evals.knowledge import knowledge

    k = knowledge()
    out = [k.history_cues, k.pressure, k.background, k.narrowing, k.checklist]
    extra = (k.counting, k.spoken_prompt, k.withholding, k.scoped_elsewhere, k.task_cues,
             k.not_design_round)  # fmt: skip
    out += [p for p in extra if p is not None]
    for e in k.eras:
        out += [e.patterns] + ([e.with_] if e.with_ else [])
    out += [a.patterns for a in k.algorithms]
    out += [*k.systems, *k.ml, *k.stages.values(), *k.generic]
    return out


def _texts_for(patterns: list[FastPattern], seed: int) -> list[str]:
    import random

    from crafter.evals.text_checks import sentences

    texts = []
    for p in CASES.iterdir():
        low = p.read_text().lower()
        texts += [low, *(s for _, s in sentences(low))]
    rng = random.Random(seed)
    vocab = sorted({w for p in patterns for w in (*p.literals, *p.requires)})
    glue = ["", " ", " ", "\n", "-", "(", ")", ":", "only", "deep", "1", "2019", "$", "x", "s"]
    for _ in range(600):
        words = (rng.choice(vocab + glue) + rng.choice(glue) for _ in range(rng.randint(1, 30)))
        texts.append("".join(words))
    return texts


def test_fast_patterns_find_what_re_finds() -> None:
    patterns = _knowledge_patterns()
    for text in _texts_for(patterns, seed=7):
        for fp in patterns:
            got, want = fp.search(text), _plain_search(fp, text)
            assert (got and (got.span(), got.group(0))) == (
                want and (want.span(), want.group(0))
            ), (fp.pattern, text)
            required = not fp.requires or any(w in text for w in fp.requires)
            assert fp.findall(text) == (fp.rx.findall(text) if required else []), fp.pattern


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"(?i)foo|bar", 0),
        (r"foo|(?i:bar)", 0),
        (r"cat", 2),  # re.IGNORECASE
        (r"[(|]x|y\|z|(a|b)c", 0),
        (r"\bpods?\b|\bs3\b|do(es)? not|min-?hash", 0),
        (r"^\W*deep[- ]dive|(?<=x)yz|\d+ or more", 8),  # re.MULTILINE
        (r"a(?=b)|(?<!c)d|e{2}f|g+h", 0),
        (r"", 0),
    ],
)
def test_fast_pattern_analysis_handles_any_regex(pattern: str, flags: int) -> None:
    fp = FastPattern(pattern, flags)
    for text in ["", "FOO", "xBAR", "cAt", "(x |x y|z ac bc", "pod s3 does not minhash min-hash",
                 "a\n  deep-dive", "xyz 12 or more", "ab cd eef gggh", "d", "Foo bar"]:  # fmt: skip
        got, want = fp.search(text), fp.rx.search(text)
        assert (got and got.span()) == (want and want.span()), (pattern, text)
        assert fp.findall(text) == fp.rx.findall(text)


def _count_numbers_by_regex(text: str) -> int:
    """count_numbers as first written, with two regexes."""
    digits = re.compile(r"\$?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|k|m|b|bn|ms|x|tb|gb|mb)\b)?")
    words = re.compile(
        r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|billion)s?\b"
    )
    year = re.compile(r"^(19|20)\d\d$")
    found = sum(1 for m in digits.finditer(text) if not year.match(m.group(0)))
    return found + len(words.findall(text))


def test_count_numbers_counts_like_the_regexes() -> None:
    import random

    from crafter.evals.text_checks import count_numbers

    rng = random.Random(3)
    atoms = ["one", "ones", "often", "someone", "ten", "tens", "$", "$$", "5", "2019", "20199", "1,5",
             "1.5", " k", "m", "bn", " ", "\n", "_", "é", "٣", "dozen", "sixty", "-", "x", "%"]  # fmt: skip
    texts = [p.read_text().lower() for p in CASES.iterdir()]
    texts += ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 20))) for _ in range(3000)]
    for t in texts:
        assert count_numbers(t) == _count_numbers_by_regex(t), t


def test_interview_logistics_are_not_scenario_numbers() -> None:
    from crafter.evals.text_checks import scenario_numbers

    logistics = (
        "ml system design - round 2 (45 min)\n**level:** l5 / senior\n**time:** 45 minutes\n"
        "1. mentions class imbalance.\n2. uses cross-validation.\nscoring: 1 point each, 7+ = hire.\n"
        "| mentions drift | +2 |\nstrong hire at 9+.\n"
        "spend roughly ten minutes on each part; keep the last five for questions. this one is a classic."
    )
    assert scenario_numbers(logistics) == 0
    facts = "40 stores bake 30 products by 5am; a stockout costs $3 and a leftover loaf $0.40."
    assert scenario_numbers(facts) == 5
    assert scenario_numbers("the last test gave +2% orders") == 1  # a lift is a fact
    assert scenario_numbers(logistics + "\n" + facts) == 5


def test_a_one_line_list_marker_is_logistics_too() -> None:
    from crafter.evals.text_checks import scenario_numbers

    # No newline and no full stop: the marker's ")" alone must let the list-marker rule run.
    assert scenario_numbers("1) mentions drift") == 0


def test_the_cached_corpus_url_list_follows_edits(tmp_path: Path) -> None:
    import os
    import shutil

    from crafter.evals.lint import _builtin_urls

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    src = sorted((Path(__file__).resolve().parent.parent / "reference_corpus").glob("*.md"))[:3]
    for p in src:
        shutil.copy(p, corpus / p.name)
    shutil.copy(src[0].parent / "orgs.yaml", corpus / "orgs.yaml")
    first = _builtin_urls(corpus)
    assert len(first) >= 3 and _builtin_urls(corpus) == first  # the second read is the cache
    doc = corpus / src[0].name
    text = doc.read_text(encoding="utf-8")
    old_url = next(line for line in text.splitlines() if line.startswith("url: "))[5:]
    doc.write_text(text.replace(old_url, "https://example.org/moved-post"), encoding="utf-8")
    st = doc.stat()
    os.utime(doc, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    again = _builtin_urls(corpus)
    assert any("example.org/moved-post" in u for u in again) and again != first


@pytest.mark.parametrize(
    ("answer", "missing"),
    [("Yes.", False), ("11%.", False), ("Never.", False), ("TBD", True), ("ok", True), ("?", True)],
)
def test_a_short_prepared_answer_that_states_a_fact_is_an_answer(
    answer: str, missing: bool
) -> None:
    from crafter.evals.scenario_checks import _missing_answer

    assert _missing_answer(answer) is missing
