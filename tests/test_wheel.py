"""A built wheel carries prompts/ and evals/ data: install it into a throw-away venv and draft."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_wheel_installs_and_drafts_outside_the_checkout(tmp_path: Path, repo_root: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(repo_root),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wheel = next(dist.glob("scenario_crafter-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    # Dependencies come from the test venv's site-packages (offline); crafter itself from the wheel,
    # whose own site-packages entry comes first on sys.path.
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import site; print(site.getsitepackages()[0])"], text=True
        ).strip()
    )
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    crafter = env_dir / "bin" / "crafter"
    version = subprocess.run([str(crafter), "--version"], capture_output=True, text=True, cwd=work)
    assert version.returncode == 0 and version.stdout.startswith("crafter "), version.stderr
    where = subprocess.check_output(
        [
            str(py),
            "-c",
            "import crafter.resources as r; print(r.data_dir('prompts')); print(r.data_dir('evals'))",
        ],
        text=True,
        cwd=work,
    ).split()
    assert all(str(env_dir) in w for w in where), where
    res = subprocess.run(
        [
            str(crafter),
            "draft",
            "Flag risky cash withdrawals at our ATMs",
            "--out",
            str(work / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()).is_file()
    # The reference corpus ships in the wheel too.
    corpus = subprocess.run(
        [str(crafter), "corpus", "check"], capture_output=True, text=True, cwd=work
    )
    assert (
        corpus.returncode == 0 and "0 problem(s)" in corpus.stdout and str(env_dir) in corpus.stdout
    )
