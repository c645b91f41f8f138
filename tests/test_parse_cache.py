"""The parse cache for bundled data files: keyed by the inputs, rebuilt when corrupt, optional."""

from __future__ import annotations

from pathlib import Path

import pytest

from crafter.resources import cached_parse


def test_an_entry_is_reused_rebuilt_when_corrupt_and_keyed_by_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAFTER_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def build() -> dict[str, list[int]]:
        calls.append(1)
        return {"a": [1, 2]}

    assert cached_parse("t", [b"file", b"code"], build) == {"a": [1, 2]}
    assert cached_parse("t", [b"file", b"code"], build) == {"a": [1, 2]}
    assert len(calls) == 1
    (entry,) = (tmp_path / "parsed").iterdir()
    entry.write_bytes(b"{not json")
    assert cached_parse("t", [b"file", b"code"], build) == {"a": [1, 2]}
    assert len(calls) == 2
    cached_parse("t", [b"file", b"code, edited"], build)  # new inputs, new entry
    assert len(calls) == 3
    monkeypatch.setenv("CRAFTER_PARSE_CACHE", "0")
    cached_parse("t", [b"file", b"code"], build)
    assert len(calls) == 4


def test_the_bundled_exposure_index_reads_the_same_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crafter.evals import exposure_data, exposure_model

    monkeypatch.setenv("CRAFTER_CACHE_DIR", str(tmp_path))
    lists, exemplars = [], []
    for _ in range(2):  # the first parses and stores, the second reads the entry
        exposure_data.bundled_list.cache_clear()
        exposure_model.load_exemplars.cache_clear()
        lists.append(exposure_data.bundled_list())
        exemplars.append(exposure_model.load_exemplars())
    # The prompt list and the two exemplar files (hand-written and learned from blind sets).
    assert len(list((tmp_path / "parsed").iterdir())) == 3
    assert lists[0] == lists[1] and exemplars[0] == exemplars[1]
    exposure_data.bundled_list.cache_clear()
    exposure_model.load_exemplars.cache_clear()
