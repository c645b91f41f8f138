"""A team-shared index: a real `chroma run` server on 127.0.0.1, indexed and searched over HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crafter.resources import data_dir
from crafter.retrieval.index import CorpusIndex

pytestmark = pytest.mark.integration

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(CHROMA),
            "run",
            "--path",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("chroma server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_index_and_search_through_a_chroma_server(tmp_path: Path, chroma_server: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in ("stripe-2023-built-stripe-radar", "uber-2022-deepeta-uber-predicts-arrival-times"):
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", corpus)
    idx = CorpusIndex(tmp_path / "local", chroma_url=chroma_server, corpus_dir=corpus)
    assert idx.sync().added == 2
    assert not (tmp_path / "local" / "chroma").exists()  # vectors live on the server
    assert (
        idx.search("how long until the driver arrives", 1)[0].id
        == "uber-2022-deepeta-uber-predicts-arrival-times"
    )
    # A second machine with its own local folder reaches the same vectors through the server.
    other = CorpusIndex(tmp_path / "other", chroma_url=chroma_server, corpus_dir=corpus)
    assert other.dense_ranking("card fraud")[0].startswith("corpus:stripe-2023-built-stripe-radar#")
    rebuilt = CorpusIndex(tmp_path / "local", chroma_url=chroma_server, corpus_dir=corpus).sync(
        rebuild=True
    )
    assert rebuilt.added == 2


def _start_server(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chroma server did not start")
            time.sleep(0.2)


def test_the_server_is_a_first_class_index_location(tmp_path: Path) -> None:
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    import os

    from tests.helpers import run_cli

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in ("stripe-2023-built-stripe-radar", "uber-2022-deepeta-uber-predicts-arrival-times"):
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", corpus)
    proc, url = _start_server(tmp_path / "srv")
    env = {"CRAFTER_CORPUS_DIR": str(corpus), "CRAFTER_INDEX_DIR": str(tmp_path / "idx")}
    try:
        # The environment variable is enough for every command; the index records the server.
        built = run_cli("index", env={**env, "CRAFTER_CHROMA_URL": url})
        assert built.returncode == 0, built.stderr
        assert not (tmp_path / "idx" / "chroma").exists()
        # Opened later without any setting, it searches the server, not an empty local store.
        idx = CorpusIndex(tmp_path / "idx", corpus_dir=corpus)
        assert "CRAFTER_CHROMA_URL" not in os.environ
        assert idx.dense_ranking("card fraud")[0].startswith("corpus:stripe-2023")
        assert idx.chroma_url == url
        drafted = run_cli(
            "draft", "Score card payments for fraud within 100 ms.", "--out", str(tmp_path / "out"),
            "--runs", str(tmp_path / "runs"), env=env,
        )  # fmt: skip
        assert drafted.returncode == 0, drafted.stderr
    finally:
        proc.kill()
        proc.wait()
    # The server is down: every command says so and how to fix it, with no traceback.
    for args in (("index",), ("search", "card fraud")):
        res = run_cli(*args, env=env)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "chroma run" in res.stderr and "Traceback" not in res.stderr
        assert "--rebuild" not in res.stderr
