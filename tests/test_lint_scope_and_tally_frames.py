"""Frames learned from the thirteenth blind set's misses (seen after its one score), each tested on
text written here: rounds kept to one stage in new wordings, pages whose prompt sits under an
intro line, tallies of terms, and the answer key a page names as the interviewer's."""

from __future__ import annotations

import datetime as dt

import pytest

from crafter.evals.findings import Finding
from crafter.evals.lint import lint_text

DAY = dt.date(2026, 11, 1)

PROMPT = (
    "A regional bus operator runs 900 buses on 140 routes. Riders complain that the app's arrival "
    "times are wrong by 6 minutes on average at rush hour; GPS pings come every 30 seconds but "
    "a fifth of buses have broken units. Design how we predict arrivals at each stop."
)


def _found(text: str, check: str, path: str = "q.md") -> list[Finding]:
    return [f for f in lint_text(text, DAY, path).findings if f.check == check]


def _warns(text: str, check: str) -> bool:
    return any(f.severity in ("error", "warning") for f in _found(text, check))


@pytest.mark.parametrize(
    "scope",
    [
        "How the hour runs: after the prompt, move straight to the loss function and stay there.",
        "How I'll spend the time: all of it on the offline evaluation setup.",
        "We agreed to anchor all scores on one topic: how the candidate builds the labels.",
        "Reminder that this round is scoped to serving latency for every candidate.",
        "I'm not going to discuss the product goal, the data sources or how it is deployed.",
        "I'm going to skip the product framing, the model choice and the rollout.",
        "Labels, evaluation and monitoring are not covered in this round, nor anywhere in the loop.",
        "Anything about the data, the evaluation or the rollout doesn't count toward the score.",
    ],
)
def test_a_round_kept_to_one_stage_in_new_words_is_a_coverage_finding(scope: str) -> None:
    text = f"# Bus arrivals (ML design, Senior, owns it end to end)\n\n{PROMPT}\n\n{scope}\n"
    assert _warns(text, "coverage"), scope


def test_a_candidate_who_stays_on_one_thing_is_a_rubric_line_not_a_scope() -> None:
    text = (
        f"# Bus arrivals (ML design)\n\n{PROMPT}\n\nRubric:\n- Strong: asks which stops matter "
        "most and how late riders tolerate.\n- Weak candidates go straight to a model name and stay "
        "there.\n"
    )
    assert not _warns(text, "coverage")


@pytest.mark.parametrize(
    "note",
    [
        "The end-to-end design (framing, data, evaluation, launch) happens in Round 2 with "
        "another interviewer; here we go deep on the model only.",
        "This round is scoped to serving because the role is on the inference platform team; "
        "the model only matters as something to serve.",
    ],
)
def test_a_deep_dive_scoped_openly_is_not_a_coverage_finding(note: str) -> None:
    text = f"# Bus arrivals: model deep dive\n\n{note}\n\n{PROMPT}\n"
    assert not _warns(text, "coverage"), note


def test_out_of_scope_llms_is_about_a_technique_not_a_stage() -> None:
    text = f"# Bus arrivals\n\n{PROMPT}\n\nAnswer key:\n- Out of scope: large language models.\n"
    assert not _warns(text, "coverage")


def test_a_terse_answer_key_is_not_a_round_kept_in_one_stage() -> None:
    text = (
        f"# Bus arrivals\n\n{PROMPT} Which history should we learn from?\n\n"
        "Answer key:\nNo single answer; good sessions weigh the broken units against history.\n"
    )
    assert not _warns(text, "coverage")


def test_a_quoted_prompt_is_bare_even_with_a_timing_line_after_it() -> None:
    text = (
        "# Prompt card: ML design\n\n**Company snapshot (small talk):** Founded in 2011, about "
        "900 staff in four offices, Series C in 2022.\n\n**Read to the candidate:**\n\n"
        "> We want to use machine learning to keep members engaged. How would you design it?\n\n"
        "**Timing:** 5 min intro, 40 min design, 10 min questions\n"
    )
    found = _found(text, "vagueness")
    assert found and found[0].severity == "error", found
    assert "keep members engaged" in found[0].message


def test_a_prompt_under_an_intro_line_below_its_heading_is_read() -> None:
    text = (
        "# Running the ML design round\n\n## The question\nEvery round here uses one prompt:\n\n"
        "> **Design a recommendation feed.**\n\nWe give no further detail on purpose.\n\n"
        "## Feedback\nSubmit within one business day.\n"
    )
    found = _found(text, "vagueness")
    assert found and "Design a recommendation feed." in found[0].message, found


def test_just_do_a_quoted_prompt_in_a_thread_is_the_prompt() -> None:
    text = (
        "#loop-ml (exported)\n\n[09:02] ana: can you take the ML design slot tomorrow?\n"
        '[09:03] ben: sure, which question?\n[09:03] ana: just do "build a ranking engine", the '
        "usual\n[09:04] ben: any details for them?\n[09:05] ana: nah keep it open. 60 min, link "
        "in the invite\n"
    )
    found = _found(text, "vagueness")
    assert found and found[0].severity == "error", found


@pytest.mark.parametrize(
    "tally",
    [
        "Scoring sheet: +1 for each term the candidate uses correctly; 10+ is a strong hire.",
        "+1 per tool they bring up unprompted, I'll add them up at the end.",
        "Score the breadth row by counting **distinct techniques the candidate mentions**.",
    ],
)
def test_a_point_per_term_or_a_count_of_techniques_is_a_buzzword_finding(tally: str) -> None:
    text = f"# Bus arrivals\n\n{PROMPT}\n\nRubric:\n{tally}\n"
    assert _warns(text, "buzzword"), tally


def test_a_point_per_decision_tied_to_the_scenario_is_not_a_tally() -> None:
    text = (
        f"# Bus arrivals\n\n{PROMPT}\n\nRubric:\nOne point for each decision tied to the broken "
        "GPS units or the rush-hour error, with the reason it fits.\n"
    )
    assert not _warns(text, "buzzword")


def test_an_interviewer_answer_key_heading_starts_the_answer_side() -> None:
    text = (
        f"Bus arrivals\n\nSituation:\n{PROMPT}\n\nInterviewer answer key:\n- Split the data into "
        "train and test.\n- Handle missing values.\n- Do feature engineering.\n- Tune "
        "hyperparameters with cross-validation.\n- Watch for overfitting.\n- Monitor for data "
        "drift.\n\nHire if the candidate hits most of these.\n"
    )
    assert _warns(text, "buzzword")


def _vague(text: str) -> list[Finding]:
    return [f for f in _found(text, "vagueness") if f.severity == "error"]


def test_a_prompt_in_a_table_cell_with_a_withholding_reply_is_vague() -> None:
    text = (
        "**Prompt card: shop recommendations**\n\n| Field | Value |\n|---|---|\n| Level | Senior |\n"
        '| Duration | 45 min |\n| Prompt | "We run a shop. Design recommendations for it." |\n'
        '| If asked | About scale or catalogue, say "make reasonable assumptions." |\n'
    )
    found = _vague(text)
    assert found and "We run a shop. Design recommendations for it." in found[0].message, found


def test_a_prompt_said_in_a_transcript_line_and_then_withheld_is_vague() -> None:
    text = (
        "[Transcript, auto-generated]\n00:00:40 Ines: So, the question for today. Design a system "
        "that recommends podcasts.\n00:00:52 Candidate: Where does it show up, and for how many "
        "listeners?\n00:01:03 Ines: Whatever you think makes sense, it's your design.\n"
    )
    found = _vague(text)
    assert found and "recommends podcasts" in found[0].message, found


def test_a_bold_prompt_label_alone_on_its_line_heads_the_prompt_below() -> None:
    text = (
        "**[Doc] ML design prompt (draft)**\n\n---\n\n**Prompt:**\n\nDesign a content moderation "
        "system for our forum.\n\n**Follow-ups (pick any):**\n- What would you optimise for?\n- How "
        "would you get labels?\n\nComment: should we add the volume and the number of moderators? "
        "Reply: no, keep it open.\n"
    )
    found = _vague(text)
    assert found and "content moderation system for our forum" in found[0].message, found


def test_the_reply_to_a_question_is_not_taken_for_the_quoted_prompt() -> None:
    text = (
        "**#ml-interviewers** thread\n\n**lee** 10:02\nwhat do you ask?\n\n**ana** 10:04\nno users, "
        'no volume. if they ask I say "assume whatever you think is reasonable".\n\n**lee** 10:09\n'
        'so the prompt is just "design a support chatbot"?\n\n**ana** 10:09\nyep\n'
    )
    found = _vague(text)
    assert found and "design a support chatbot" in found[0].message, found


def test_company_trivia_beside_a_bare_prompt_gives_the_candidate_nothing() -> None:
    text = (
        "# Prompt card\n\n**About us:** Founded in 1998, headquartered in Leeds, about 2,400 "
        "employees, publicly traded since 2015.\n\n**Read to the candidate:**\n\n> Use machine "
        "learning to improve our customer experience. How would you design it?\n"
    )
    assert _vague(text), _found(text, "vagueness")


def test_trivia_that_also_names_the_problem_data_still_counts() -> None:
    text = (
        "# Prompt card\n\nFounded in 1998, we now handle 4,800 warranty claims a week from 40 "
        "dealers; claim photos and repair invoices are our data, and payouts must happen within "
        "48 hours.\n\nDesign how claims should be triaged and paid.\n"
    )
    assert not _vague(text), _found(text, "vagueness")


@pytest.mark.parametrize(
    "ask",
    [
        "Point out that exact counts do not fit in memory, then ask the candidate to invent a "
        "fixed-memory structure for them and prove its error bound on the board.",
        "For the dedup step, have them work out the false positive rate of their filter and derive "
        "the optimal k from memory.",
    ],
)
def test_an_ambush_told_as_inventing_a_structure_is_a_rederive_finding(ask: str) -> None:
    text = f"# Bus arrivals (ML design)\n\n{PROMPT}\n\n{ask}\n"
    assert _warns(text, "rederive"), ask


def test_inventory_is_not_inventing() -> None:
    text = (
        f"# Bus arrivals (ML design)\n\n{PROMPT} Depot inventory feeds and gradient-boosted "
        "models are what we run today; spare-part inventory is tracked per depot.\n"
    )
    assert not _warns(text, "rederive")


@pytest.mark.parametrize(
    "key",
    [
        "Expected design: 5-gram models per language with Kneser-Ney smoothing, served in the IDE "
        "for code completion.",
        "Expected: train an in-house pointer-generator network and report ROUGE on a held-out set.",
        "Owner extraction with rules over a dependency parse of each sentence.",
        "Run Mahout's item-based collaborative filtering job nightly; that is the model.",
        "The acoustic model is triphone HMMs with GMM emission densities, trained per accent.",
        "We want an intent classifier over 120 intents, slot extraction for dates and order ids, "
        "and a dialog state machine per intent.",
    ],
)
def test_approaches_past_their_era_in_new_forms_are_stale(key: str) -> None:
    text = f"# Bus arrivals (ML design)\n\n{PROMPT}\n\nAnswer key:\n- {key}\n"
    assert _warns(text, "staleness"), key


def test_an_n_gram_keyboard_on_a_feature_phone_is_not_code_completion() -> None:
    text = (
        f"# Predictive text (ML design)\n\n{PROMPT}\n\nAnswer key:\n- A pruned 3-gram model fits "
        "the 4 MB flash and 512 KB of RAM on the feature phone, offline.\n"
    )
    assert not any(
        f.severity in ("error", "warning") and "code completion" in f.message
        for f in _found(text, "staleness")
    )


def test_do_not_discuss_the_candidate_in_public_is_etiquette_not_a_scope() -> None:
    text = (
        f"# Bus arrivals (ML design)\n\n{PROMPT}\n\n## After the interview\n- Do not discuss the "
        "candidate in public channels.\n- Submit feedback within one business day.\n"
    )
    assert not _warns(text, "coverage")


def test_an_unindexed_reference_is_an_error_from_a_model_and_a_warning_from_a_person() -> None:
    import yaml

    from crafter.domain.scenario import Scenario
    from crafter.evals.scenario_checks import grounding
    from crafter.resources import data_dir

    path = data_dir("evals") / "cases" / "scenario-good-dating-message-nudge.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["references"] = [
        {
            "id": "ref-pilot",
            "title": "Our nudge pilot, spring 2026",
            "org": "Trust team",
            "year": 2026,
            "url": "https://intranet.example/pilots/nudge-2026",
            "why_relevant": "What the pilot measured on our own users.",
        }
    ]
    for hook in raw["hooks"]:
        hook["refs"] = []
    raw["provenance"].update(generator="hand-written", model="none")
    by_hand = [
        f for f in grounding(Scenario.model_validate(raw), frozenset()) if "ref-pilot" in f.message
    ]
    assert [f.severity for f in by_hand] == ["warning"], by_hand
    raw["provenance"].update(generator="crafter.pipeline", model="claude-sonnet-4-5")
    drafted = [
        f for f in grounding(Scenario.model_validate(raw), frozenset()) if "ref-pilot" in f.message
    ]
    assert [f.severity for f in drafted] == ["error"] and "fabricated" in drafted[0].message
