"""Hostile files: bounded in time and memory, reported per file, never a traceback or a hang."""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from crafter.domain import ScenarioFileError, parse_scenario_text
from crafter.domain.files import FileReadError, read_bounded
from crafter.evals.document import from_text
from crafter.evals.lint import lint_file, lint_text
from tests.helpers import run_cli

DAY = dt.date(2026, 11, 1)
GOOD = (
    Path(__file__).resolve().parents[1]
    / "evals"
    / "cases"
    / "good-drug-interaction-alert-fatigue.md"
)


def alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    names = "abcdefghijklmnop"
    for i in range(1, levels):
        prev, cur = names[i - 1], names[i]
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def deep_mapping(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x: 1\n"


def test_an_alias_bomb_is_refused_quickly_with_a_clear_error(tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text) < 400
    started = time.perf_counter()
    with pytest.raises(ScenarioFileError) as exc:
        parse_scenario_text(text, "bomb.yaml")
    assert "aliases" in str(exc.value)
    assert time.perf_counter() - started < 5
    (tmp_path / "bomb.yaml").write_text("schema_version: 1\n" + text)
    (tmp_path / "ok.md").write_text(GOOD.read_text())
    res = run_cli("lint", str(tmp_path))
    assert res.returncode == 2 and "aliases" in res.stdout and "Traceback" not in res.stderr
    assert "ok.md" not in res.stdout or "error" not in res.stdout.split("ok.md")[1][:20]
    res = run_cli("validate", str(tmp_path / "bomb.yaml"))
    assert res.returncode == 2 and "aliases" in res.stderr


@pytest.mark.parametrize("depth", [80, 600, 3000])
def test_deep_nesting_is_a_per_file_error(tmp_path: Path, depth: int) -> None:
    (tmp_path / "deep.yaml").write_text("schema_version: 1\n" + deep_mapping(depth))
    (tmp_path / "fine.md").write_text(GOOD.read_text())
    res = run_cli("lint", str(tmp_path))
    assert "Traceback" not in res.stderr and "RecursionError" not in res.stdout
    assert "deep.yaml" in res.stdout and ("nested" in res.stdout or "depth" in res.stdout)
    assert "2 file(s)" in res.stdout
    res = run_cli("validate", str(tmp_path / "deep.yaml"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "nested" in res.stderr or "depth" in res.stderr


def test_fifos_and_devices_are_reported_and_skipped(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    folder = tmp_path / "lib"
    folder.mkdir()
    os.mkfifo(folder / "x.yaml")
    (folder / "q.md").write_text(GOOD.read_text())
    with pytest.raises(FileReadError, match="FIFO"):
        read_bounded(fifo)
    for args in (
        ("lint", str(fifo), str(folder)),
        ("validate", str(fifo)),
        ("validate", str(folder)),
        ("lint", "/dev/zero"),
    ):
        res = run_cli(*args)  # run_cli's own timeout would fail the test on a hang
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "not a regular file" in res.stdout + res.stderr
        assert "Traceback" not in res.stderr


def test_a_file_over_the_size_bound_is_skipped_with_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_text("Design a fraud model for our users. " * 200)
    res = run_cli("lint", str(big), env={"CRAFTER_MAX_FILE_MB": "0.001"})
    assert res.returncode == 2 and "skipped: larger than" in res.stdout
    assert run_cli("lint", str(big)).returncode in (0, 1)


def test_text_that_is_not_a_question_is_not_called_clean(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd.txt"
    passwd.write_text(
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin\n"
    )
    result = lint_file(passwd, DAY)
    assert [f.severity for f in result.findings] == ["info"]
    assert "does not look like" in result.findings[0].message
    # A bare prompt is still a question, and still vague.
    assert any(f.check == "vagueness" for f in lint_text("Build a chatbot.", DAY, "q.md").findings)


def test_exported_packets_are_not_linted_as_questions(tmp_path: Path) -> None:
    (tmp_path / "s.interviewer.md").write_text("TODO(interviewer): " * 30)
    (tmp_path / "q.md").write_text(GOOD.read_text())
    res = run_cli("lint", str(tmp_path))
    assert "s.interviewer.md" not in res.stdout and "1 file(s)" in res.stdout
    direct = lint_file(tmp_path / "s.interviewer.md", DAY)
    assert [f.severity for f in direct.findings] == ["info"]


def test_validate_explains_a_prose_file(tmp_path: Path) -> None:
    q = tmp_path / "q.yaml"
    q.write_text("Design a recommender for our shop.\n")
    res = run_cli("validate", str(q))
    assert res.returncode == 2 and "not a scenario" in res.stderr and "got str" not in res.stderr


# -- linear time over adversarial text ------------------------------------------------------------

PREFIX = "Design a fraud detection system for our users and their data.\n"
GENERATORS: dict[str, Callable[[int], str]] = {
    "blank lines": lambda n: "Expected answer\n" + "\n" * n,
    "spaces": lambda n: "design" + " " * n,
    "stars": lambda n: "*" * n,
    "tabs": lambda n: "\t" * n,
    "space-newline": lambda n: " \n" * (n // 2),
    "hash-newline": lambda n: "#\n" * (n // 2),
    "one long word": lambda n: "a" * n,
    "repeated token": lambda n: "model " * (n // 6),
    "punctuation": lambda n: ".,;:!?-_*#>" * (n // 11),
    "mixed whitespace": lambda n: " \t\r\n\f\v" * (n // 6),
    "markers": lambda n: "> * answer\n" * (n // 11),
    # The patterns for a quoted spoken prompt and for points written beside terms.
    "say then spaces": lambda n: 'Say: "' + " " * n,
    "say then stars": lambda n: "prompt:\n" + " *" * (n // 2),
    "quoted points": lambda n: '"x" (1), ' * (n // 9),
    "plus-one tally": lambda n: "+1 a, " * (n // 6),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_lint_time_per_kb_is_bounded_on_adversarial_text(name: str) -> None:
    """64 KB of any of these lints in well under a second when every pattern is linear; the
    super-linear patterns this replaced took minutes on a few KB."""
    text = PREFIX + GENERATORS[name](64 * 1024)
    started = time.perf_counter()
    lint_text(text, DAY, "x.md")
    from_text("x.md", text)
    assert time.perf_counter() - started < 4.0


def test_lint_stays_fast_on_random_repetitions() -> None:
    """A seeded fuzz over repeated mixes of whitespace, markers and words."""
    rng = random.Random(12)
    alphabet = [" ", "\t", "\n", "*", "#", "-", "answer", "design", "a", "?", ".", "|", "> "]
    for _ in range(60):
        unit = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        text = PREFIX + unit * rng.randint(50, 400)
        started = time.perf_counter()
        lint_text(text, DAY, "x.md")
        assert time.perf_counter() - started < 4.0, repr(unit)


def test_markup_in_paths_and_messages_prints_as_text(tmp_path: Path) -> None:
    res = run_cli("lint", "[/x]")
    assert res.returncode == 2 and "[/x]" in res.stderr and "Traceback" not in res.stderr
    q = tmp_path / "q[red].md"
    q.write_text("Build a chatbot.")
    res = run_cli("lint", str(q))
    assert "q[red].md" in res.stdout and "Traceback" not in res.stderr


@pytest.mark.parametrize("seed", ["x", "???", "...", "....", "!!!", "AI"])
def test_seeds_without_words_get_a_clear_message(tmp_path: Path, seed: str) -> None:
    res = run_cli("draft", seed, "--no-research", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "does not describe a need" in res.stderr
    assert "Traceback" not in res.stderr and "pydantic" not in res.stderr
    res = run_cli("new", seed, "--library", str(tmp_path / "lib2"), "--no-research")
    assert res.returncode == 2 and not (tmp_path / "lib2").exists()


def test_a_seed_near_the_limit_drafts_within_the_premise_bound(tmp_path: Path) -> None:
    seed = ("route questions to the experts who can answer them " * 80)[:3950]
    res = run_cli("draft", "-", "--no-research", "--out", str(tmp_path), stdin=seed)
    assert res.returncode == 0, res.stderr
    from crafter.domain import load_scenario

    assert len(load_scenario(Path(res.stdout.strip())).premise) <= 4000


# -- read-only libraries and full disks (root can still write a chmod-ed folder, so these use an
# immutable folder and a tiny tmpfs; skipped where the machine does not allow them) --------------


@pytest.fixture
def immutable(tmp_path: Path) -> Callable[[Path], None]:
    import subprocess

    frozen: list[Path] = []

    def freeze(path: Path) -> None:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        frozen.append(path)

    yield freeze
    for path in frozen:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_a_read_only_library_is_refused_before_any_model_call(
    tmp_path: Path, immutable: Callable[[Path], None], fault_server: object
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    res = run_cli(
        "draft", "Route questions in #ask-eng to experts.", "--no-research", "--out", str(lib)
    )
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.strip())
    (lib / ".crafter").mkdir()
    immutable(lib / ".crafter")
    immutable(lib)
    env = {"CRAFTER_BASE_URL": fault_server.base_url}  # type: ignore[attr-defined]
    model = "openai-compatible:test-model"
    for args in (
        ("regen", str(lib), "--model", model, "--no-research", "--force"),
        (
            "new",
            "Rank support tickets by urgency for our agents.",
            "--library",
            str(lib),
            "--model",
            model,
            "--no-research",
        ),
        ("review", str(path), "--status", "reviewed", "--by", "ana"),
    ):
        res = run_cli(*args, env=env)
        assert res.returncode == 2, (args, res.stderr)
        assert "cannot write" in res.stderr and "Traceback" not in res.stderr
    assert fault_server.requests == []  # type: ignore[attr-defined]


def test_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(disk)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (disk / "filler").write_bytes(b"\0" * 40_000)
        res = run_cli(
            "draft", "Route questions in #ask-eng to experts.", "--no-research",
            "--out", str(disk / "out"), "--runs", str(disk / "runs"),
        )  # fmt: skip
        assert res.returncode == 2, res.stderr
        assert "disk is full" in res.stderr and "Traceback" not in res.stderr
        leftovers = [p.name for p in disk.rglob("*") if p.suffix in (".yaml", ".tmp")]
        assert leftovers == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_reference_whose_title_was_changed_is_reported(tmp_path: Path) -> None:
    # A forged title can misattribute a source: the stored title must be the document's own.
    good = (
        Path(__file__).parent.parent / "evals" / "cases" / "scenario-good-grocery-availability.yaml"
    )
    text = good.read_text(encoding="utf-8")
    clean = lint_file(good, dt.date(2026, 11, 1))
    assert not [f for f in clean.findings if "titled differently" in f.message]
    lines = text.splitlines()
    at = next(
        i
        for i, line in enumerate(lines)
        if line.strip().startswith("title:") and i > text[: text.index("references:")].count("\n")
    )
    lines[at] = lines[at].split("title:")[0] + 'title: "Trusted review by Google Research"'
    forged = tmp_path / "forged.yaml"
    forged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [
        f
        for f in lint_file(forged, dt.date(2026, 11, 1)).findings
        if "titled differently" in f.message
    ]
    assert found and found[0].location.startswith("references[0].title")


def test_config_and_date_messages_say_what_a_setting_takes(tmp_path: Path) -> None:
    from crafter.domain.library import LibraryError, parse_library_config

    with pytest.raises(LibraryError) as err:
        parse_library_config('as_of = "tomorrow"\nlevel = "guru"\n')
    message = str(err.value)
    assert "as_of = 'tomorrow': use keep, today or a date (YYYY-MM-DD)" in message
    assert "level = 'guru': use mid, senior, staff or principal" in message
    assert "literal" not in message and "input is too short" not in message
    # --as-of today works on the command line as it does in crafter.toml.
    res = run_cli("lint", "-", "--as-of", "today", stdin="Design a recommender.")
    assert res.returncode in (0, 1) and "is not a date" not in res.stderr
    bad = run_cli("lint", "-", "--as-of", "tomorrow", stdin="Design a recommender.")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "today" in bad.stderr


def test_corpus_check_reads_a_plain_folder_as_index_add_does(tmp_path: Path) -> None:
    (tmp_path / "acme.md").write_text(
        "# Routing at Acme\n\nOur rotation hands questions to experts.\n"
    )
    (tmp_path / "note.txt").write_text("A plain note about on-call routing.\n")
    res = run_cli("corpus", "check", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "2 documents ok" in res.stdout and "index --add" in res.stderr
