"""A sentinel API key never appears in output, logs or written files, on success or failure."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.openai_server import FaultServer
from tests.helpers import SLACK_SEED, content_dict, run_cli

SENTINEL = "sk-ant-SENTINEL-5f1c2e9a7b3d4c6e8f0a1b2c3d4e5f60"
OPENAI_SENTINEL = "sk-SENTINEL-openai-0a9b8c7d6e5f4a3b2c1d"


def _files_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def test_anthropic_key_never_leaks(tmp_path: Path, anthropic_server: AnthropicServer) -> None:
    env = {"ANTHROPIC_API_KEY": SENTINEL, "ANTHROPIC_BASE_URL": anthropic_server.url}
    anthropic_server.push({"tool": content_dict()})
    ok = run_cli(
        "-v",
        "draft",
        SLACK_SEED,
        "--out",
        str(tmp_path / "ok"),
        "--no-research",
        "--rounds",
        "0",
        "--runs",
        str(tmp_path / "runs"),
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    anthropic_server.push({"status": 401})
    rejected = run_cli(
        "-v",
        "draft",
        SLACK_SEED,
        "--out",
        str(tmp_path / "bad"),
        "--no-research",
        "--rounds",
        "0",
        "--runs",
        str(tmp_path / "runs"),
        env=env,
    )
    assert rejected.returncode == 2
    anthropic_server.default = {"status": 529, "retry_after": "0"}
    down = run_cli(
        "-v",
        "draft",
        SLACK_SEED,
        "--out",
        str(tmp_path / "down"),
        "--no-research",
        "--rounds",
        "0",
        "--runs",
        str(tmp_path / "runs"),
        env=env,
    )
    assert down.returncode == 1 and "failed after" in down.stderr
    # The key was really used...
    assert any(SENTINEL in "".join(r.headers.values()) for r in anthropic_server.requests)
    # ...and shows up nowhere we write.
    for res in (ok, rejected, down):
        assert SENTINEL not in res.stdout + res.stderr
    assert SENTINEL not in _files_text(tmp_path)


def test_openai_key_never_leaks_even_when_the_server_echoes_it(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    env = {"OPENAI_API_KEY": OPENAI_SENTINEL, "OPENAI_BASE_URL": fault_server.base_url}
    fault_server.push({"status": 400, "message": f"Incorrect API key provided: {OPENAI_SENTINEL}"})
    res = run_cli(
        "-v", "draft", SLACK_SEED, "--out", str(tmp_path), "--model", "openai:gpt-4o-mini", env=env
    )
    assert res.returncode == 1
    assert "HTTP 400" in res.stderr
    assert OPENAI_SENTINEL not in res.stdout + res.stderr
    assert SENTINEL not in _files_text(tmp_path)
