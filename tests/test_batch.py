"""``crafter regen``: cache, failures, approved scenarios, journal and resume, the CLI, kill -9."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from crafter.domain import load_scenario, save_scenario
from crafter.domain.library import apply_review, list_scenario_files, open_library, proposal_path
from crafter.domain.locks import lock_is_held
from crafter.errors import ProviderError, UsageError
from crafter.pipeline import DraftRequest, draft_scenario
from crafter.pipeline.batch import RegenOptions, open_regen
from crafter.pipeline.regen_journal import JOURNAL_NAME, LOCK_NAME, Journal
from crafter.pipeline.regen_run import RegenReport
from crafter.providers import FakeProvider, Message
from crafter.providers.scaffold import ScaffoldProvider
from tests.helpers import content_dict, run_cli

MODEL = "openai-compatible:test"
# These tests are about regen's bookkeeping: one model call per scenario, no index.
PLAIN = ("--no-research", "--rounds", "0")
_TEAM = re.compile(r"#team-(\d+)")


def seed(i: int) -> str:
    return (
        f"Route questions asked in our #team-{i} Slack channel to the people who can answer them."
    )


def seed_number(text: str) -> int:
    m = _TEAM.search(text)
    assert m, "every drafting prompt carries its seed"
    return int(m.group(1))


def make_library(root: Path, n: int) -> list[Path]:
    """``n`` scaffold-drafted scenarios, ``s00.yaml`` ... (a model change makes them all stale)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        req = DraftRequest(seed(i), "staff", dt.date(2026, 1, 15))
        path = root / f"s{i:02d}.yaml"
        save_scenario(draft_scenario(req, ScaffoldProvider()).scenario, path)
        paths.append(path)
    return paths


def _answer(messages: Sequence[Message], schema: type[Any]) -> dict[str, Any]:
    n = seed_number(messages[-1].content)
    data = content_dict(seed(n))
    data["title"] = f"Routing for team {n}"
    return data


def fake(**kw: Any) -> FakeProvider:
    return FakeProvider(default=_answer, **kw)


def regen(root: Path, provider: FakeProvider, **options: Any) -> RegenReport:
    options = {"research": False, "rounds": 0, **options}
    with open_regen(root, RegenOptions(**options), provider) as session:
        return session.run()


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in list_scenario_files(root)}


# -- the cache -------------------------------------------------------------------------------


def test_regen_redrafts_stale_scenarios_then_a_second_run_makes_no_calls(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 5)
    ids = {p.name: load_scenario(p).id for p in paths}
    provider = fake()
    report = regen(tmp_path, provider, concurrency=3)
    assert len(provider.calls) == 5
    assert len(report.drafted) == 5 and not report.failed and report.exit_code == 0
    assert report.input_tokens == 5 * provider.tokens_per_call[0]
    for p in paths:
        s = load_scenario(p)
        assert s.provenance.model == "fake:test" and s.title.startswith("Routing for team")
        assert s.id == ids[p.name], "the file keeps its id and name"
        assert s.as_of == dt.date(2026, 1, 15), "the default as-of policy keeps the date"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".yaml") == sorted(ids)

    before = snapshot(tmp_path)
    again = fake()
    report = regen(tmp_path, again, concurrency=3)
    assert again.calls == []
    assert report.plan.count("fresh") == 5 and not report.outcomes
    assert snapshot(tmp_path) == before

    forced = fake()
    regen(tmp_path, forced, force=True)
    assert len(forced.calls) == 5


def test_a_changed_seed_or_model_redrafts_only_what_changed(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 4)
    regen(tmp_path, fake())
    # A person edits one seed: only that scenario is stale.
    s = load_scenario(paths[2])
    save_scenario(
        s.model_copy(update={"seed": seed(2) + " Most questions are about CI."}), paths[2]
    )
    provider = fake()
    report = regen(tmp_path, provider)
    assert len(provider.calls) == 1 and [o.item.path for o in report.drafted] == [paths[2]]
    assert "Most questions are about CI" in load_scenario(paths[2]).seed
    # A different model makes every scenario stale.
    other = fake(model_id="fake:other")
    report = regen(tmp_path, other)
    assert len(other.calls) == 4
    assert all(o.item.reason == "model fake:test -> fake:other" for o in report.outcomes)


def test_dry_run_calls_no_model_and_writes_nothing(tmp_path: Path) -> None:
    make_library(tmp_path, 3)
    before = snapshot(tmp_path)
    provider = fake()
    with open_regen(
        tmp_path, RegenOptions(dry_run=True, research=False, rounds=0), provider
    ) as session:
        plan = session.plan
    assert [i.action for i in plan.items] == ["draft"] * 3
    assert provider.calls == [] and snapshot(tmp_path) == before
    assert not (tmp_path / ".crafter").exists()


def test_only_glob_limits_the_run(tmp_path: Path) -> None:
    make_library(tmp_path, 4)
    (tmp_path / "team-b").mkdir()
    req = DraftRequest(seed(9), "staff", dt.date(2026, 1, 15))
    save_scenario(draft_scenario(req, ScaffoldProvider()).scenario, tmp_path / "team-b" / "x.yaml")
    provider = fake()
    report = regen(tmp_path, provider, only=("s0[12]*",))
    assert sorted(o.item.rel for o in report.outcomes) == ["s01.yaml", "s02.yaml"]
    report = regen(tmp_path, provider, only=("team-b/*",))
    assert [o.item.rel for o in report.outcomes] == ["team-b/x.yaml"]
    assert len(provider.calls) == 3
    with pytest.raises(UsageError, match="matches no scenario"):
        regen(tmp_path, provider, only=("nothing-*",))


# -- failures and bad input ------------------------------------------------------------------


def test_one_invalid_file_is_reported_and_the_others_regenerate(tmp_path: Path) -> None:
    make_library(tmp_path, 3)
    bad = tmp_path / "broken.yaml"
    bad.write_text("id: broken\ntitle: [unclosed\n")
    provider = fake()
    report = regen(tmp_path, provider)
    (invalid,) = [i for i in report.plan.items if i.action == "invalid"]
    assert invalid.rel == "broken.yaml" and "invalid YAML" in invalid.problems[0]
    assert len(report.drafted) == 3 and len(provider.calls) == 3
    assert report.exit_code == 2
    assert bad.read_text() == "id: broken\ntitle: [unclosed\n"


def test_failures_are_isolated_and_a_rerun_retries_only_them(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 4)
    before = paths[1].read_bytes()

    def flaky(messages: Sequence[Message], schema: type[Any]) -> Any:
        if seed_number(messages[-1].content) == 1:
            return ProviderError("openai-compatible:test gave no usable answer after 3 tries")
        return _answer(messages, schema)

    provider = FakeProvider(default=flaky)
    report = regen(tmp_path, provider, concurrency=2)
    assert len(report.drafted) == 3
    (failed,) = report.failed
    assert failed.item.path == paths[1] and "no usable answer" in failed.error
    assert report.exit_code == 1
    assert paths[1].read_bytes() == before, "a failed scenario keeps its old text"

    retry = fake()
    report = regen(tmp_path, retry)
    assert len(retry.calls) == 1 and [o.item.path for o in report.drafted] == [paths[1]]


def test_missing_or_empty_library_and_bad_options_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such library folder"):
        regen(tmp_path / "nope", fake())
    with pytest.raises(UsageError, match="holds no scenario files"):
        regen(tmp_path, fake())
    make_library(tmp_path, 1)
    with pytest.raises(UsageError, match="out of range"):
        regen(tmp_path, fake(), concurrency=65)
    with pytest.raises(UsageError, match="needs a glob"):
        regen(tmp_path, fake(), only=(" ",))


# -- review states ---------------------------------------------------------------------------


def test_approved_scenarios_are_never_overwritten(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 3)
    approved = apply_review(load_scenario(paths[0]), "approved", "ana", "answers checked")
    save_scenario(approved, paths[0])
    before = paths[0].read_bytes()

    report = regen(tmp_path, fake())
    assert paths[0].read_bytes() == before
    proposal = proposal_path(paths[0])
    assert [o.written for o in report.proposed] == [proposal]
    new = load_scenario(proposal)
    assert new.provenance.model == "fake:test" and new.id == approved.id
    # The new text has not been reviewed: no reviewer, and the old approval's notes do not ride
    # along silently into its review.
    assert new.review.model_dump() == {"status": "draft", "reviewer": "", "notes": ""}
    # The proposal is not a scenario of its own, and it satisfies the cache.
    assert proposal not in list_scenario_files(tmp_path)
    again = fake()
    regen(tmp_path, again)
    assert again.calls == []
    assert paths[0].read_bytes() == before


def test_review_state_carries_over_and_retired_scenarios_are_left_alone(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 3)
    save_scenario(apply_review(load_scenario(paths[0]), "reviewed", "bo", "fine"), paths[0])
    save_scenario(apply_review(load_scenario(paths[1]), "retired", None, "dropped"), paths[1])
    retired_before = paths[1].read_bytes()
    provider = fake()
    report = regen(tmp_path, provider)
    assert len(provider.calls) == 2 and report.plan.count("retired") == 1
    s0 = load_scenario(paths[0])
    assert s0.provenance.model == "fake:test"
    assert s0.review.model_dump() == {"status": "reviewed", "reviewer": "bo", "notes": "fine"}
    assert paths[1].read_bytes() == retired_before


# -- journal, resume, lock -------------------------------------------------------------------


def test_an_interrupted_forced_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    make_library(tmp_path, 5)
    regen(tmp_path, fake())
    calls = {"n": 0}
    stopping = threading.Event()

    def interrupted(messages: Sequence[Message], schema: type[Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            # Ctrl-C while this third draft is in flight; the draft finishes only once the main
            # thread has acted on it (synchronised on the event, not on a sleep).
            signal.raise_signal(signal.SIGINT)
            assert stopping.wait(30), "regen did not act on Ctrl-C"
        return _answer(messages, schema)

    # Whatever an earlier test left installed, Ctrl-C here is Python's own KeyboardInterrupt.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        options = RegenOptions(force=True, concurrency=1, research=False, rounds=0)
        with (
            pytest.raises(KeyboardInterrupt),
            open_regen(tmp_path, options, FakeProvider(default=interrupted)) as session,
        ):
            session.run(on_interrupt=lambda _n: stopping.set())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls["n"] == 3, "no draft starts after Ctrl-C"
    record = Journal(open_library(tmp_path)).last_run()
    # The draft in flight at Ctrl-C was finished and kept.
    assert record is not None and not record.finished and len(record.done) == 3
    assert not lock_is_held(tmp_path / ".crafter" / LOCK_NAME), "the lock is released"
    # As if killed after the third file was renamed into place but before it was journalled:
    # the rerun must recognise that file by its bytes and not draft it again.
    journal = tmp_path / ".crafter" / JOURNAL_NAME
    lines = journal.read_text().splitlines(keepends=True)
    last_done = max(n for n, line in enumerate(lines) if '"event": "done"' in line)
    journal.write_text("".join(lines[:last_done] + lines[last_done + 1 :]))

    # The cache alone cannot tell what a --force run finished: the journal can.
    resumed = fake()
    with open_regen(
        tmp_path, RegenOptions(force=True, research=False, rounds=0), resumed
    ) as session:
        assert session.plan.resumed is not None and session.plan.resumed.run == record.run
        report = session.run()
    assert len(resumed.calls) == 2 and len(report.drafted) == 2
    assert [i.reason for i in report.plan.items if i.recovered] == [
        "written by the interrupted run"
    ]
    record = Journal(open_library(tmp_path)).last_run()
    assert record is not None and record.finished and len(record.done) == 5
    done = [e["file"] for e in _journal_events(tmp_path) if e["event"] == "done"]
    assert sorted(done) == [f"s{i:02d}.yaml" for i in range(5)]

    # Finished: the next --force run starts afresh.
    fresh = fake()
    regen(tmp_path, fresh, force=True)
    assert len(fresh.calls) == 5


def test_a_truncated_journal_line_is_skipped(tmp_path: Path) -> None:
    make_library(tmp_path, 2)
    regen(tmp_path, fake())
    journal = tmp_path / ".crafter" / JOURNAL_NAME
    lines = journal.read_text().splitlines()
    # As if killed while writing the end line: the run is unfinished but readable.
    journal.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:10])
    record = Journal(open_library(tmp_path)).last_run()
    assert record is not None and not record.finished and len(record.done) == 2
    regen(tmp_path, fake())
    events = _journal_events(tmp_path)
    assert [e["event"] for e in events[-2:]] == ["resume", "end"]


def test_a_held_lock_refuses_and_is_free_once_its_holder_dies(tmp_path: Path) -> None:
    make_library(tmp_path, 1)
    lock = tmp_path / ".crafter" / LOCK_NAME
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match=rf"another crafter regen \(pid {holder.pid}\)"):
            regen(tmp_path, fake())
    finally:
        holder.kill()  # kill -9: the kernel releases the lock, nothing stale is left
        holder.wait()
    provider = fake()
    regen(tmp_path, provider)
    assert len(provider.calls) == 1 and not lock_is_held(lock)


HOLD_LOCK = """
import sys, time
from crafter.domain.locks import file_lock
with file_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""

RACE = """
import os, sys, time
from pathlib import Path
from crafter.domain.library import open_library
from crafter.pipeline.regen_journal import library_lock
from crafter.errors import UsageError
lib = open_library(Path(sys.argv[1]))
inside = Path(sys.argv[1]) / "inside"
entered = overlaps = 0
deadline = time.monotonic() + 3
while time.monotonic() < deadline:
    try:
        with library_lock(lib):
            try:
                fd = os.open(inside, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                overlaps += 1
                continue
            entered += 1
            os.close(fd)
            os.unlink(inside)
    except UsageError:
        pass
print(entered, overlaps)
"""


def test_two_processes_are_never_inside_the_lock_together(tmp_path: Path) -> None:
    make_library(tmp_path, 1)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [tuple(map(int, p.communicate(timeout=60)[0].split())) for p in procs]
    assert all(overlaps == 0 for _, overlaps in results), results
    assert sum(entered for entered, _ in results) > 50, results


# -- the CLI against a loopback OpenAI-compatible server --------------------------------------


def _server_answers(server: Any, broken: set[int] | None = None) -> None:
    def answer(request: Any) -> dict[str, Any]:
        n = seed_number(_prompt_text(request))
        if broken and n in broken:
            return {"content": "I cannot answer in JSON, sorry."}
        data = content_dict(seed(n))
        data["title"] = f"Routing for team {n}"
        return {"ok": data}

    server.default = answer


def _requested(server: Any) -> Counter[int]:
    return Counter(seed_number(_prompt_text(r)) for r in server.requests)


def _prompt_text(request: Any) -> str:
    # A re-ask ends with the complaint, so look for the seed in the whole conversation.
    return "\n".join(m["content"] for m in request.body["messages"])


def test_cli_regen_twice_second_run_sends_no_requests(tmp_path: Path, fault_server: Any) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 4)
    _server_answers(fault_server)
    env = {"CRAFTER_BASE_URL": fault_server.base_url}
    res = run_cli("regen", str(lib), *PLAIN, "--model", MODEL, "--concurrency", "2", env=env)
    assert res.returncode == 0, res.stderr
    assert len(fault_server.requests) == 4
    assert sorted(res.stdout.split()[1::2]) == sorted(str(p) for p in list_scenario_files(lib))
    assert "4 drafted" in res.stderr and "tokens" in res.stderr
    res = run_cli("regen", str(lib), *PLAIN, "--model", MODEL, env=env)
    assert res.returncode == 0, res.stderr
    assert len(fault_server.requests) == 4, "nothing changed, so no model call"
    assert "4 up to date" in res.stderr
    res = run_cli("regen", str(lib), *PLAIN, "--model", MODEL, "--dry-run", "--force", env=env)
    assert res.returncode == 0 and len(fault_server.requests) == 4
    assert res.stdout.count("draft ") == 4


def test_cli_regen_failure_and_invalid_file_exit_codes(tmp_path: Path, fault_server: Any) -> None:
    lib = tmp_path / "lib"
    paths = make_library(lib, 3)
    (lib / "zz-broken.yaml").write_text("schema_version: 1\nid: zz\n")
    _server_answers(fault_server, broken={1})
    env = {"CRAFTER_BASE_URL": fault_server.base_url}
    res = run_cli("regen", str(lib), *PLAIN, "--model", MODEL, env=env)
    assert res.returncode == 1, res.stderr
    assert "failed   s01.yaml" in res.stderr and "no usable answer" in res.stderr
    assert "invalid  zz-broken.yaml" in res.stderr and "required field is missing" in res.stderr
    assert "2 drafted" in res.stderr and "1 failed" in res.stderr and "1 invalid" in res.stderr
    assert load_scenario(paths[1]).provenance.model == "scaffold"
    # Fixed server: only the failed one is redrafted; the invalid file alone gives exit 2.
    _server_answers(fault_server)
    seen = len(fault_server.requests)
    res = run_cli("regen", str(lib), *PLAIN, "--model", MODEL, env=env)
    assert res.returncode == 2, res.stderr
    assert len(fault_server.requests) == seen + 1
    assert load_scenario(paths[1]).provenance.model == MODEL


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["LIB/nope"], "no such library folder"),
        (["LIB", "--only", "zzz*"], "matches no scenario"),
        (["LIB", "--concurrency", "0"], "out of range"),
        (["LIB", "--model", "gpt-9"], "unknown model"),
        (["LIB"], "drafted with fake:test"),
    ],
)
def test_cli_regen_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, args: list[str], expect: str
) -> None:
    lib = tmp_path / "lib"
    make_library(lib, 2)
    regen(lib, fake())  # now drafted with fake:test; crafter's fallback here is the scaffold
    before = snapshot(lib)
    res = run_cli("regen", *(a.replace("LIB", str(lib)) for a in args), *PLAIN)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expect in res.stderr and "Traceback" not in res.stderr
    assert snapshot(lib) == before


def _journal_events(lib: Path) -> list[dict[str, Any]]:
    journal = lib / ".crafter" / JOURNAL_NAME
    if not journal.exists():
        return []
    out = []
    for line in journal.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        out.append(event)
    return out


def _start_regen(lib: Path, server: Any, concurrency: int, stderr: int) -> subprocess.Popen[str]:
    """`crafter regen` in its own process against the loopback server."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crafter",
            "regen",
            str(lib),
            *PLAIN,
            "--model",
            MODEL,
            "-j",
            str(concurrency),
        ],
        env={**os.environ, "CRAFTER_BASE_URL": server.base_url},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )


def test_kill_9_mid_regen_then_rerun_finishes_each_scenario_once(
    tmp_path: Path, fault_server: Any
) -> None:
    n, concurrency = 12, 3
    lib = tmp_path / "lib"
    make_library(lib, n)
    _server_answers(fault_server)
    # Each call takes a second, so the kill lands well inside the run even on a loaded machine.
    fault_server.latency = 1.0
    log = (tmp_path / "regen.err").open("w")
    proc = _start_regen(lib, fault_server, concurrency, log.fileno())
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sum(e.get("event") == "done" for e in _journal_events(lib)) >= 3:
                break
            if proc.poll() is not None:
                log.close()
                raise AssertionError(
                    f"regen ended (exit {proc.returncode}) before it could be killed: "
                    + (tmp_path / "regen.err").read_text()[-2000:]
                )
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        log.close()
    events = _journal_events(lib)
    assert not any(e.get("event") == "end" for e in events), "the run was cut short"
    finished = [p for p in list_scenario_files(lib) if load_scenario(p).provenance.model == MODEL]
    assert 3 <= len(finished) < n

    fault_server.latency = 0.0
    res = run_cli(
        "regen",
        str(lib),
        *PLAIN,
        "--model",
        MODEL,
        "-j",
        str(concurrency),
        env={"CRAFTER_BASE_URL": fault_server.base_url},
    )
    assert res.returncode == 0, res.stderr
    assert "resuming interrupted run" in res.stderr

    files = list_scenario_files(lib)
    assert [p.name for p in files] == [f"s{i:02d}.yaml" for i in range(n)], "nothing duplicated"
    for p in files:
        s = load_scenario(p)  # every file parses: none half-written
        assert s.provenance.model == MODEL and s.title == f"Routing for team {seed_number(s.seed)}"
    leftovers = [p.name for p in lib.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [] and not lock_is_held(lib / ".crafter" / LOCK_NAME)

    events = _journal_events(lib)
    assert [e["event"] for e in events].count("start") == 1, "the rerun continued the same run"
    done = Counter(e["file"] for e in events if e.get("event") == "done")
    assert max(done.values()) == 1, f"a scenario was drafted twice: {done}"
    # A file renamed into place just before the kill but not yet journalled is recognised by
    # its bytes on the rerun, so the journal still names every scenario exactly once.
    assert sorted(done) == [f"s{i:02d}.yaml" for i in range(n)]
    requested = _requested(fault_server)
    assert set(requested) == set(range(n))
    # Only calls in flight at the kill may be repeated.
    assert sum(requested.values()) <= n + concurrency
    assert events[-1]["event"] == "end"


def test_ctrl_c_keeps_drafts_in_flight_and_a_rerun_resumes(
    tmp_path: Path, fault_server: Any
) -> None:
    n, concurrency = 9, 3
    lib = tmp_path / "lib"
    make_library(lib, n)
    _server_answers(fault_server)
    fault_server.latency = 1.0
    proc = _start_regen(lib, fault_server, concurrency, subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(fault_server.requests) < concurrency and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"waiting for {concurrency} draft(s) in flight" in err and "resume" in err
    drafted = [p for p in list_scenario_files(lib) if load_scenario(p).provenance.model == MODEL]
    assert len(drafted) == concurrency, "the drafts in flight were finished and kept"
    assert not lock_is_held(lib / ".crafter" / LOCK_NAME)

    fault_server.latency = 0.0
    res = run_cli(
        "regen", str(lib), *PLAIN, "--model", MODEL, env={"CRAFTER_BASE_URL": fault_server.base_url}
    )
    assert res.returncode == 0, res.stderr
    assert f"{n - concurrency} drafted" in res.stderr
    assert sorted(_requested(fault_server).elements()) == list(range(n)), "each drafted once"


@pytest.mark.parametrize("presses", [1, 2])
def test_a_hanging_model_after_ctrl_c_does_not_hold_the_exit(
    tmp_path: Path, fault_server: Any, presses: int
) -> None:
    """One Ctrl-C waits for drafts in flight only up to the grace period; a second stops waiting
    at once. Either way the process exits 130 and the lock is free."""
    lib = tmp_path / "lib"
    make_library(lib, 4)
    _server_answers(fault_server)
    fault_server.latency = 8.0  # far longer than the grace period
    env = {
        **os.environ,
        "CRAFTER_BASE_URL": fault_server.base_url,
        "CRAFTER_STOP_GRACE_SECONDS": "1",
    }
    if presses == 2:
        env["CRAFTER_STOP_GRACE_SECONDS"] = "60"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crafter", "regen", str(lib), *PLAIN, "--model", MODEL, "-j", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(fault_server.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    if presses == 2:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while "stopping" not in line and line:
            line = proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 6, "the exit waited for the hanging model"
    assert not lock_is_held(lib / ".crafter" / LOCK_NAME)


def test_the_call_timeout_is_configurable_for_slow_servers(
    tmp_path: Path, fault_server: Any
) -> None:
    """A server slower than the timeout fails with a message saying how to raise it; raising it
    (flag, environment or config file) lets the same slow server draft."""
    _server_answers(fault_server)
    fault_server.latency = 2.0
    env = {"CRAFTER_BASE_URL": fault_server.base_url}
    args = ("draft", seed(3), "--model", MODEL, *PLAIN, "--out", str(tmp_path / "out"),
            "--runs", str(tmp_path / "runs"))  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text("timeout = 1\n")
    slow = run_cli(*args, env={**env, "CRAFTER_CONFIG": str(config)})
    assert slow.returncode == 1 and "no byte from the server for 1s" in slow.stderr
    assert "CRAFTER_TIMEOUT" in slow.stderr
    assert run_cli("--timeout", "10", *args, env=env).returncode == 0
    assert run_cli(*args, env={**env, "CRAFTER_TIMEOUT": "10"}).returncode == 0
    bad = run_cli(*args, env={**env, "CRAFTER_TIMEOUT": "soon"})
    assert bad.returncode == 2 and "positive number of seconds" in bad.stderr


def test_requests_in_flight_never_exceed_the_concurrency(tmp_path: Path) -> None:
    # More drafts are worked on than the concurrency (one is checked and written while the next
    # one's request waits), but the model never sees more than `concurrency` requests at once.
    make_library(tmp_path, 10)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(messages: Sequence[Message], schema: type[Any]) -> Any:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return _answer(messages, schema)

    report = regen(tmp_path, FakeProvider(default=slow), concurrency=3)
    assert len(report.drafted) == 10 and not report.failed
    assert state["peak"] == 3


def test_after_ctrl_c_a_draft_waiting_for_a_slot_sends_nothing() -> None:
    from crafter.pipeline.request_gate import NotSent, RequestGate

    gate = RequestGate(1)
    sent: list[str] = []
    with gate:
        waiter_result: list[str] = []

        def waiter() -> None:
            try:
                with gate:
                    sent.append("late")
            except NotSent:
                waiter_result.append("not sent")

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)
        assert t.is_alive() and not sent  # the waiter is held at the gate
        gate.close()  # Ctrl-C while the first request is still in flight
    t.join(5)
    assert waiter_result == ["not sent"] and sent == []


# -- answers already paid for ------------------------------------------------------------------


def test_an_answer_paid_for_is_kept_when_its_file_cannot_be_written_and_reused_by_the_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between a model's answer and its file regen still lints and writes: a crash there (here,
    # a write that fails) must not cost the answer. The rerun drafts from the kept answers and
    # sends no request; a run that ends empties the store.
    import crafter.domain.atomic as atomic
    import crafter.pipeline.regen_run as batch

    make_library(tmp_path, 3)
    real_write = atomic.atomic_write_text

    def failing(path: Path, text: str, **kw: Any) -> None:
        if path.suffix == ".yaml" and ".crafter" not in path.parts:
            raise OSError(28, "No space left on device")
        real_write(path, text, **kw)

    monkeypatch.setattr(batch, "atomic_write_text", failing)
    first = fake()
    report = regen(tmp_path, first, concurrency=2)
    assert len(first.calls) == 3 and len(report.failed) == 3
    kept = list((tmp_path / ".crafter" / "answers").glob("*.json"))
    assert len(kept) == 3

    monkeypatch.setattr(batch, "atomic_write_text", real_write)
    again = fake()
    report = regen(tmp_path, again, concurrency=2)
    assert again.calls == [] and len(report.drafted) == 3 and not report.failed
    for p in list_scenario_files(tmp_path):
        assert load_scenario(p).title.startswith("Routing for team")
    assert not list((tmp_path / ".crafter" / "answers").glob("*.json"))


def test_a_kept_answer_that_no_longer_parses_is_asked_again(tmp_path: Path) -> None:
    from crafter.domain.scenario import ScenarioContent
    from crafter.pipeline.kept_answers import KeepingProvider, KeptAnswers

    kept = KeptAnswers(tmp_path)
    inner = fake()
    messages = [Message("user", seed(7))]
    key = KeptAnswers.key(inner.model_id, messages, ScenarioContent, None)
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / f"{key}.json").write_text('{"value": {"title": 3}')
    got = KeepingProvider(inner, kept).generate(messages, ScenarioContent)
    assert len(inner.calls) == 1 and got.value.title == "Routing for team 7"
    again = KeepingProvider(fake(), kept).generate(messages, ScenarioContent)
    assert again.value == got.value


def test_clearing_kept_answers_also_removes_a_write_a_kill_cut_short(tmp_path: Path) -> None:
    from crafter.pipeline.kept_answers import KeptAnswers

    kept = KeptAnswers(tmp_path)
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "a.json").write_text("{}")
    (tmp_path / "answers" / ".b.json.x1y2.tmp").write_text("{")
    kept.clear()
    assert list((tmp_path / "answers").iterdir()) == []
