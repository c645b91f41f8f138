"""Lint report renderers: text, json, junit, github (workflow commands) and sarif 2.1.0."""

from __future__ import annotations

import json
import re
from xml.sax.saxutils import escape, quoteattr

from crafter import __version__
from crafter.evals.findings import CHECK_IDS, SEVERITY_RANK, FileResult, Finding
from crafter.evals.lint import LintReport

FORMATS = ("text", "json", "junit", "github", "sarif")
_LINE = re.compile(r"line (\d+)")


def finding_line(f: Finding) -> int | None:
    m = _LINE.search(f.location)
    return int(m.group(1)) if m else None


def render(report: LintReport, fmt: str, fail_on: str = "error") -> str:
    return {
        "text": to_text,
        "json": to_json,
        "junit": to_junit,
        "github": to_github,
        "sarif": to_sarif,
    }[fmt](report, fail_on)


def to_text(report: LintReport, fail_on: str = "error") -> str:
    out = []
    for r in report.results:
        for f in r.findings:
            line = _LINE.fullmatch(f.location)
            where = (
                f"{r.path}:{line.group(1)}"
                if line
                else (f"{r.path}:{f.location}" if f.location else r.path)
            )
            out.append(f"{where}: {f.severity} [{f.check}] {f.message}")
            if f.evidence:
                out.append(f"    evidence: {f.evidence}")
            if f.suggestion:
                out.append(f"    fix: {f.suggestion}")
    s = report.as_json()["summary"]
    assert isinstance(s, dict)
    clean = sum(1 for r in report.results if not r.findings)
    out.append(
        f"{s['files']} file(s): {s['errors']} error(s), {s['warnings']} warning(s); {clean} clean"
    )
    return "\n".join(out)


def to_json(report: LintReport, fail_on: str = "error") -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False)


def _fails(f: Finding, fail_on: str) -> bool:
    return fail_on != "never" and SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on]


def _checks_for(r: FileResult) -> list[str]:
    base = list(CHECK_IDS if r.kind == "scenario" else CHECK_IDS[:6])
    return base + sorted({f.check for f in r.findings} - set(base))


def to_junit(report: LintReport, fail_on: str = "error") -> str:
    """One test suite per file, one test case per check; a finding at or above fail-on fails it."""
    suites = []
    total = failures = 0
    for r in report.results:
        cases = []
        suite_failures = 0
        for check in _checks_for(r):
            found = [f for f in r.findings if f.check == check]
            failing = [f for f in found if _fails(f, fail_on)]
            total += 1
            body = ""
            if failing:
                suite_failures += 1
                text = "\n".join(
                    f"{f.location}: {f.message}\n  evidence: {f.evidence}\n  fix: {f.suggestion}"
                    for f in failing
                )
                body = f"<failure message={quoteattr(failing[0].message)} type={quoteattr(failing[0].severity)}>{escape(text)}</failure>"
            elif found:
                body = f"<system-out>{escape(chr(10).join(f'{f.severity}: {f.message}' for f in found))}</system-out>"
            cases.append(
                f"    <testcase classname={quoteattr(r.path)} name={quoteattr(check)}>{body}</testcase>"
            )
        failures += suite_failures
        suites.append(
            f'  <testsuite name={quoteattr(r.path)} tests="{len(cases)}" failures="{suite_failures}">\n'
            + "\n".join(cases)
            + "\n  </testsuite>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="crafter lint" tests="{total}" failures="{failures}">\n'
        + "\n".join(suites)
        + "\n</testsuites>\n"
    )


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def to_github(report: LintReport, fail_on: str = "error") -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on its file and line."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for r in report.results:
        for f in r.findings:
            props = [f"file={_gh_escape(r.path, True)}"]
            line = finding_line(f)
            if line:
                props.append(f"line={line}")
            props.append(f"title={_gh_escape(f'crafter {f.check}', True)}")
            message = f.message + (f" (fix: {f.suggestion})" if f.suggestion else "")
            lines.append(f"::{level[f.severity]} {','.join(props)}::{_gh_escape(message)}")
    lines.append(to_text(report).splitlines()[-1])
    return "\n".join(lines)


def to_sarif(report: LintReport, fail_on: str = "error") -> str:
    level = {"error": "error", "warning": "warning", "info": "note"}
    rule_ids = sorted({f.check for r in report.results for f in r.findings} | set(CHECK_IDS))
    results = []
    for r in report.results:
        for f in r.findings:
            region = {"startLine": finding_line(f)} if finding_line(f) else {}
            loc: dict[str, object] = {"artifactLocation": {"uri": r.path}}
            if region:
                loc["region"] = region
            results.append(
                {
                    "ruleId": f.check,
                    "level": level[f.severity],
                    "message": {
                        "text": f.message + (f" Evidence: {f.evidence}" if f.evidence else "")
                    },
                    "locations": [{"physicalLocation": loc}],
                }
            )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "crafter",
                        "version": __version__,
                        "rules": [{"id": rid, "name": rid} for rid in rule_ids],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2)
