"""The exposure check's task frames and twist evidence (evals/exposure/tasks.yaml)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from crafter.domain import placeholder
from crafter.errors import UsageError
from crafter.evals import exposure_frames
from crafter.evals.lint import lint_text
from crafter.resources import data_dir

DAY = dt.date(2026, 11, 1)
CASES = data_dir("evals") / "cases"

# A freight brokerage's ETA question: its wording is closest to the published "Freight pricing"
# and "Freight load matching" prompts, which ask different tasks.
FREIGHT_ETA = """# Arrival estimates for truckload freight

A freight brokerage moves about 6,500 truckloads a day for shippers with 18,000 carriers. Shippers
book dock appointments and a truck more than 2 hours late can lose its slot. GPS pings arrive every
5 to 15 minutes but a fifth of loads go dark for hours.

Prompt: design how we give each shipper an arrival estimate for every inbound load and warn our
operations team early about loads that will miss their appointment.
"""


def _exposure(text: str, path: str = "q.md") -> list[tuple[str, str]]:
    found = lint_text(text, DAY, path).findings
    return [(f.severity, f.message) for f in found if f.check == "exposure"]


def test_tasks_are_read_from_cue_words_and_hyphens_do_not_hide_them() -> None:
    f = exposure_frames.frames()
    assert "eta" in f.tasks_of("Restaurant preparation-time prediction")
    assert "pricing" in f.tasks_of("Freight pricing. Price freight shipments.")
    assert f.tasks_of("Zebra migration corridors") == frozenset()


def test_a_clash_needs_tasks_on_both_sides_and_no_agreement() -> None:
    f = exposure_frames.frames()
    eta, pricing, rank, search = (frozenset({t}) for t in ("eta", "pricing", "rank", "search"))
    assert f.clash(eta, pricing)
    assert not f.clash(eta, frozenset()) and not f.clash(frozenset(), pricing)
    assert not f.clash(rank, search)  # listed as compatible
    assert not f.clash(eta | pricing, pricing)


def test_a_different_task_in_the_same_domain_is_an_info_not_a_copy() -> None:
    found = _exposure(FREIGHT_ETA)
    assert found and all(sev == "info" for sev, _ in found), found
    assert "different task" in found[0][1] and "eta" in found[0][1]


def test_the_same_page_titled_as_a_pricing_question_still_warns() -> None:
    text = FREIGHT_ETA.replace("Arrival estimates for", "Pricing").replace(
        "an arrival estimate for every inbound load", "a price quote for every load"
    )
    assert "warning" in {sev for sev, _ in _exposure(text)}, _exposure(text)


def _copy_scenario(tmp_path: Path, hooks_done: bool) -> Path:
    src = yaml.safe_load((CASES / "scenario-good-dating-message-nudge.yaml").read_text())
    src["title"] = "Video recommendations"
    src["seed"] = "Recommend videos on the homepage of a video-sharing site"
    src["premise"] = "Design the system that recommends videos to users on our site's homepage."
    if not hooks_done:
        src["hooks"][0]["detail"] = placeholder("a detail the published walkthrough misses")
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(src, sort_keys=False))
    return path


def test_a_scenario_with_its_own_hooks_gets_an_info_naming_them(tmp_path: Path) -> None:
    path = _copy_scenario(tmp_path, hooks_done=True)
    found = [
        f for f in lint_text(path.read_text(), DAY, str(path)).findings if f.check == "exposure"
    ]
    assert len(found) == 1 and found[0].severity == "info", found
    assert "Video recommendations" in found[0].message and "its hooks h1" in found[0].message
    assert "published walkthrough wrong here" in found[0].suggestion


def test_one_unfinished_hook_keeps_the_warning(tmp_path: Path) -> None:
    path = _copy_scenario(tmp_path, hooks_done=False)
    found = _exposure(path.read_text(), str(path))
    assert [sev for sev, _ in found] == ["warning"]


def test_a_page_with_a_twist_section_is_set_apart_and_a_short_label_is_not() -> None:
    copy = "Design the recommendation system for a video-sharing site's homepage: which videos each user sees."
    twist = (
        "\n\n**The twist.** Half our viewers share one living-room TV account, uploads are "
        "mostly 3-hour livestream recordings, and the homepage must render from a cache refreshed "
        "every 6 hours.\n"
    )
    assert [sev for sev, _ in _exposure(copy + twist)] == ["info"]
    assert "its section 'the twist'" in _exposure(copy + twist)[0][1]
    assert [sev for sev, _ in _exposure(copy + "\n\nThe twist: none.\n")] == ["warning"]


def test_drafting_does_not_call_a_different_task_a_published_seed() -> None:
    from crafter.evals.exposure import seed_exposure

    eta = seed_exposure("Arrival estimates for freight. Predict when each truckload arrives.")
    assert eta is None or "pricing" not in eta.prompt.title.lower(), eta
    found = seed_exposure("Recommend videos on the homepage of a video-sharing site")
    assert found is not None and "Video" in found.prompt.title


def test_reading_tasks_is_total_and_bounded_on_random_text() -> None:
    import random

    rng = random.Random(20261204)
    alphabet = "abcdefghijklmnopqrstuvwxyz -*.#\n\tÉé0123456789"
    pieces = ["eta", "price", "late", "rank", "-", "twist", "**", "prep-time", "\n\n"]
    f = exposure_frames.frames()
    for _ in range(300):
        text = "".join(
            rng.choice(pieces) if rng.random() < 0.2 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 1500))
        )
        assert f.tasks_of(text) == f.tasks_of(text[:600])
        exposure_frames.seed_title(text)


def test_hostile_text_is_read_in_linear_time() -> None:
    import time

    f = exposure_frames.frames()
    t0 = time.perf_counter()
    for text in ("a" * 200_000, "pre-" * 50_000, "late " * 40_000):
        f.tasks_of(text)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "missing"),
        (b"tasks: [unclosed", "unreadable"),
        (b"\xff\xfe", "unreadable"),
        (b"version: 1\nretarget_at: 0.5\ntasks: {eta: []}\ntwists: {}\n", "malformed"),
        (
            b"version: 1\nretarget_at: 0.5\ntasks: {eta: [eta]}\ncompatible: [[eta, nope]]\n"
            b"twists: {min_hooks: 2, min_words: 20, labels: [twist]}\n",
            "malformed",
        ),
    ],
)
def test_a_missing_or_broken_task_file_is_a_clear_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None, says: str
) -> None:
    target = tmp_path / "tasks.yaml"
    if content is not None:
        target.write_bytes(content)
    monkeypatch.setattr(exposure_frames, "frames_path", lambda: target)
    exposure_frames.frames.cache_clear()
    try:
        with pytest.raises(UsageError) as err:
            exposure_frames.frames()
        assert str(target) in str(err.value) and says in str(err.value)
    finally:
        exposure_frames.frames.cache_clear()


def test_lint_stops_with_the_error_rather_than_skipping_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crafter.evals.lint import lint_paths

    target = tmp_path / "tasks.yaml"
    target.write_text("tasks: [unclosed")
    monkeypatch.setattr(exposure_frames, "frames_path", lambda: target)
    exposure_frames.frames.cache_clear()
    q = tmp_path / "q.md"
    q.write_text("Design the recommendation system for a video site's homepage.")
    try:
        with pytest.raises(UsageError, match=r"tasks\.yaml"):
            lint_paths([str(q)], DAY, cache=False)
    finally:
        exposure_frames.frames.cache_clear()
