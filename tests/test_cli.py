"""The CLI as a user runs it: real processes, real exit codes, nothing written on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crafter.domain import is_placeholder, load_scenario
from tests.helpers import SLACK_SEED, run_cli


def test_version_and_help() -> None:
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.startswith("crafter ")
    res = run_cli("--help")
    assert res.returncode == 0
    for cmd in ("draft", "validate", "models"):
        assert cmd in res.stdout


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from crafter.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ['openai', 'anthropic', 'chromadb', 'llama_index', 'xllamacpp', 'textual', 'onnxruntime']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_scaffold_draft_writes_a_valid_worksheet_and_prints_its_path(tmp_path: Path) -> None:
    res = run_cli(
        "draft", SLACK_SEED, "--out", str(tmp_path), "--as-of", "2026-11-01", "--no-research"
    )
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.strip())
    assert path.parent == tmp_path and path.suffix == ".yaml"
    s = load_scenario(path)
    assert s.seed == SLACK_SEED and str(s.as_of) == "2026-11-01"
    assert s.provenance.model == "scaffold" and s.provenance.prompt_version.startswith("scaffold@")
    assert s.references == []  # no research, nothing to cite
    assert "scaffold" in res.stderr and "no API key" in res.stderr
    # The interviewer's gaps are marked, not invented.
    assert all(is_placeholder(q.answer) for q in s.questions)
    assert {r.signal for r in s.rubric} == {
        "problem framing",
        "data",
        "modeling",
        "evaluation",
        "deployment and monitoring",
        "product sense",
    }


def test_seed_from_stdin(tmp_path: Path) -> None:
    res = run_cli("draft", "-", "--out", str(tmp_path), "--no-research", stdin=SLACK_SEED + "\n")
    assert res.returncode == 0, res.stderr
    assert load_scenario(Path(res.stdout.strip())).seed == SLACK_SEED


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["draft", ""], "seed is empty"),
        (["draft", "   \n\t "], "seed is empty"),
        (["draft", "x" * 100_000], "the limit is 4,000"),
        (["draft", SLACK_SEED, "--model", "gpt-9"], "unknown model"),
        (["draft", SLACK_SEED, "--model", "anthropic:claude-sonnet-5-5"], "ANTHROPIC_API_KEY"),
        (["draft", SLACK_SEED, "--model", "openai:gpt-4o"], "OPENAI_API_KEY"),
        (["draft", SLACK_SEED, "--model", "openai-compatible:llama3"], "CRAFTER_BASE_URL"),
        (["draft", SLACK_SEED, "--level", "wizard"], "unknown level"),
        (["draft", SLACK_SEED, "--as-of", "yesterday"], "not a date"),
    ],
)
def test_bad_input_exits_2_with_a_fix_and_writes_nothing(
    tmp_path: Path, args: list[str], expect: str
) -> None:
    out = tmp_path / "out"
    res = run_cli(*args, "--out", str(out))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expect in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists() or not any(out.iterdir())
    assert res.stdout == ""


def test_unwritable_out_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    res = run_cli("draft", SLACK_SEED, "--out", str(blocker / "sub"))
    assert res.returncode == 2
    assert "cannot write to" in res.stderr and "--out" in res.stderr
    assert "Traceback" not in res.stderr
    assert blocker.read_text() == "not a folder"


def test_validate_reports_file_field_and_expectation(tmp_path: Path) -> None:
    res = run_cli("draft", SLACK_SEED, "--out", str(tmp_path), "--no-research")
    good = Path(res.stdout.strip())
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("level: staff", "level: wizard"))
    res = run_cli("validate", str(good), str(bad))
    assert res.returncode == 2
    assert f"ok {good}" in res.stdout
    assert f"{bad}:" in res.stderr and "level" in res.stderr and "'staff'" in res.stderr
    res = run_cli("validate", str(good))
    assert res.returncode == 0
    res = run_cli("validate", str(tmp_path / "missing.yaml"))
    assert res.returncode == 2 and "no such file" in res.stderr


def test_models_lists_every_provider_and_the_default() -> None:
    res = run_cli("models", env={"COLUMNS": "200"})
    assert res.returncode == 0
    for name in ("anthropic", "openai-compatible", "local:smollm2", "scaffold"):
        assert name in res.stdout
    assert "default: scaffold" in res.stdout
    assert "only proves the pipeline" in res.stdout


def test_model_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from crafter.providers import resolve_model

    assert resolve_model().model_id == "scaffold"
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert resolve_model().model_id.startswith("openai:")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert resolve_model().model_id.startswith("anthropic:")
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "local:smollm2"\n')
    monkeypatch.setenv("CRAFTER_CONFIG", str(cfg))
    choice = resolve_model()
    assert choice.model_id == "local:smollm2" and str(cfg) in choice.reason
    monkeypatch.setenv("CRAFTER_MODEL", "openai:gpt-4o")
    assert resolve_model().model_id == "openai:gpt-4o"
    assert resolve_model("scaffold").reason == "--model was given"


def test_a_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('modle = "x"\n')
    res = run_cli(
        "draft", SLACK_SEED, "--out", str(tmp_path / "o"), env={"CRAFTER_CONFIG": str(cfg)}
    )
    assert res.returncode == 2 and "unknown setting" in res.stderr


def test_draft_through_a_compatible_server(tmp_path: Path, fault_server: object) -> None:
    from tests.fakes.openai_server import FaultServer
    from tests.helpers import content_dict

    assert isinstance(fault_server, FaultServer)
    fault_server.push({"status": 500}, {"ok": content_dict()})
    res = run_cli(
        "draft",
        SLACK_SEED,
        "--out",
        str(tmp_path),
        "--model",
        "openai-compatible:test-model",
        "--no-research",
        "--rounds",
        "0",
        "--runs",
        str(tmp_path / "runs"),
        env={"CRAFTER_BASE_URL": fault_server.base_url},
    )
    assert res.returncode == 0, res.stderr
    s = load_scenario(Path(res.stdout.strip()))
    assert s.provenance.model == "openai-compatible:test-model"
    assert s.provenance.prompt_version == "draft@3"
    assert s.provenance.input_tokens == 120
    assert json.loads(json.dumps(fault_server.requests[-1].body))["model"] == "test-model"


def _exit_now_in_child(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, threading, time, atexit\n"
        "from crafter.cli.app import exit_now\n"
        f"out = {str(tmp_path)!r}\n" + body
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_the_fast_exit_waits_for_writers_runs_atexit_and_flushes(tmp_path: Path) -> None:
    res = _exit_now_in_child(
        tmp_path,
        "def write():\n"
        "    time.sleep(0.3)\n"
        "    open(out + '/written', 'w').write('all of it')\n"
        "threading.Thread(target=write).start()\n"
        "atexit.register(lambda: open(out + '/atexit', 'w').write('ran'))\n"
        "sys.stdout.write('buffered, no newline')\n"
        "exit_now(3)\n",
    )
    assert res.returncode == 3
    assert res.stdout == "buffered, no newline"
    assert (tmp_path / "written").read_text() == "all of it"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_the_fast_exit_keeps_sys_exit_semantics(tmp_path: Path) -> None:
    res = _exit_now_in_child(tmp_path, "exit_now('something failed')\n")
    assert res.returncode == 1 and "something failed" in res.stderr
    res = _exit_now_in_child(tmp_path, "exit_now(None)\n")
    assert res.returncode == 0


def test_a_search_ends_without_waiting_for_the_model_it_did_not_need() -> None:
    # The model's session is started at once for a search; an empty query is refused before
    # any use of it, and the process does not wait for the session to be built.
    res = run_cli("search", "   ")
    assert res.returncode == 2 and "query is empty" in res.stderr
    assert "Traceback" not in res.stderr
