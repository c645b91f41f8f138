"""`crafter lint` as users and CI run it: formats, exit codes, bad files, stdin, the scaffold's gaps."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crafter.evals.findings import CHECK_IDS
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
    assert names == list(CHECK_IDS)
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
    assert data["good.txt"]["findings"] == []
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
