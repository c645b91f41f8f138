"""A seed that reads like no ML need gets a clear message (exit 2), not a scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crafter.resources import data_dir
from crafter.retrieval.kinds import NEED_FLOOR, need_closeness
from tests.helpers import run_cli


def _seeds() -> list[dict[str, str]]:
    out = []
    names = ("realistic_blind.yaml", *(f"realistic_blind{n}.yaml" for n in range(2, 8)))
    for name in names:
        out += yaml.safe_load((data_dir("evals") / "seeds" / name).read_text())["seeds"]
    return out


def test_every_realistic_blind_seed_reads_like_a_need_and_the_bad_ones_do_not() -> None:
    for s in _seeds():
        closeness = need_closeness(s["seed"])
        if s["kind"] == "bad-input":
            assert closeness is None or closeness < NEED_FLOOR, s
        else:
            assert closeness is None or closeness >= NEED_FLOOR, s


@pytest.mark.parametrize(
    "seed", ["zzqxj flurb wibble", "the cat sat on the mat and was happy", "lorem ipsum dolor sit"]
)
def test_a_nonsense_seed_is_refused_with_exit_2_and_no_scenario(tmp_path: Path, seed: str) -> None:
    out = tmp_path / "out"
    result = run_cli("draft", seed, "--out", str(out), "--no-research", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "does not read like a product or user need" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() or not list(out.iterdir())


def test_a_seed_in_a_script_the_embedder_cannot_judge_is_not_refused() -> None:
    assert need_closeness("コールセンターの通話をリアルタイムで文字起こししたい") is None
    assert need_closeness("Queremos predecir qué clientes van a dejar la tarjeta") is not None


def test_a_redraft_does_not_check_its_library_seed_again() -> None:
    # Regen redrafts the library's own seeds: the check (an embedding per draft) is for new ones.
    from crafter.errors import UsageError
    from crafter.pipeline import DraftRequest, draft_scenario
    from crafter.providers.scaffold import ScaffoldProvider

    req = DraftRequest("zzqxj flurb wibble")
    with pytest.raises(UsageError):
        draft_scenario(req, ScaffoldProvider())
    assert draft_scenario(req, ScaffoldProvider(), new_seed=False).scenario.seed
