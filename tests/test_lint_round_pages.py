"""Interview pages as teams write them: a guide around a one-line prompt, a coding round that says
so, metadata lines, and rubrics that score vocabulary in forms the first rules missed."""

from __future__ import annotations

import datetime as dt

import pytest

from crafter.evals.findings import Finding
from crafter.evals.lint import lint_text

DAY = dt.date(2026, 11, 1)


def _found(text: str, check: str) -> list[Finding]:
    return [f for f in lint_text(text, DAY, "q.md").findings if f.check == check]


GUIDE = """# Loop guide: churn round (ML design, 45 minutes)

Before the call, read the resume and check the scorecard template works. Welcome the candidate,
explain there is one open question and ten minutes at the end for theirs.

**Prompt:** "Design a churn prediction model."

If they ask who the customers are or what data we keep, reply "whatever you think is sensible".

**Scoring:** problem framing 30, modelling 30, evaluation 20, communication 20.
"""


def test_a_guide_around_a_one_line_prompt_that_withholds_the_rest_is_vague() -> None:
    found = _found(GUIDE, "vagueness")
    assert found and found[0].severity == "error"
    assert '"Design a churn prediction model."' in found[0].message  # the page's own capitals
    assert "whatever you think" in found[0].message


def test_a_short_quoted_prompt_with_facts_for_the_asking_is_not_withheld() -> None:
    text = GUIDE.replace(
        'reply "whatever you think is sensible"',
        "give them: 2.1M paying households, monthly billing, 14 months of usage logs, a retention "
        "team that can call 3,000 households a week",
    )
    assert not any("withholds" in f.message for f in _found(text, "vagueness"))


def test_a_page_that_says_it_is_a_coding_round_gets_the_coding_note_not_a_vagueness_error() -> None:
    text = (
        "Coding round (not ML design), 45 min. Implement a trie with insert(word) and "
        "top_k(prefix, k) returning the k most frequent completions. We look at tests, complexity "
        "and edge cases (empty prefix, k of zero)."
    )
    found = _found(text, "vagueness")
    assert found and all(f.severity == "info" for f in found)
    assert "another kind of round" in found[0].message


def test_an_interviewer_name_line_does_not_end_the_prompt() -> None:
    text = """# Search relevance round

Interviewer: Tomasz (search infra). Level: staff.

Prompt given to the candidate:
> Our parts marketplace serves 9M searches a day across 40M listings from 12k sellers. Buyers
> type part numbers with typos, and sellers stuff titles with compatible models. Conversions
> from search fell 8% this year. Design the ranking that wins them back under 150 ms p99.

Follow-ups: how do you get labels, and how do you stop title stuffing paying off?
"""
    assert not _found(text, "vagueness")


@pytest.mark.parametrize(
    "rubric",
    [
        'Award points: "feature store" (1), "two-tower" (1), "cold start" (1). Hire at 3.',
        "Points: +1 embeddings, +1 reranker, +1 knowledge graph, +1 RAG. Hire at 3.",
        "Scorecard (1 point each): names a vector database; names a reranker; cites a paper.",
        "Tick what you hear. 6+ checks = hire, 8+ = strong hire.",
        "Strong hire: very fluent with the vocabulary; covered everything we listed.",
        "Interviewers tally the concepts above; 7 of 9 is the staff bar.",
        "Vocabulary check: 10+ ticks strong hire, 6-9 hire, fewer is no hire.",
        "Give credit for each of the following phrases the candidate says unprompted.",
        "Strong hire: references three or more companies' approaches to substitution.",
    ],
)
def test_rubrics_that_score_vocabulary_are_buzzword_findings(rubric: str) -> None:
    text = (
        "Design grocery substitutions for our delivery app: 600 stores, 30% of orders have an "
        "out-of-stock item, shoppers pick a replacement in under a minute, and customers reject "
        f"one in five of today's picks.\n\nRubric\n{rubric}\n"
    )
    found = _found(text, "buzzword")
    # The counting rule, which quotes what it matched, not only the rubric detector's judgement.
    assert found and "grades by how many" in found[0].message, (rubric, found)


def test_a_rubric_of_decisions_is_not_a_buzzword_finding() -> None:
    text = (
        "Design grocery substitutions for our delivery app: 600 stores, 30% of orders have an "
        "out-of-stock item, shoppers pick a replacement in under a minute, and customers reject "
        "one in five of today's picks.\n\nRubric\n"
        "Hire: sets the acceptance target from the one-in-five rejection rate and says how the "
        "shopper's minute bounds the candidates shown. Strong hire: also handles stores whose "
        "stock feed lags by an hour and explains what a rejected substitution costs us.\n"
    )
    assert not _found(text, "buzzword")


NARROW = """# Payments fraud round (ML design, 45 minutes)

A wallet app approves 1.2M transfers a day; fraud costs $300k a month and approvals must take
under 300 ms. Every question below is the whole interview.

1. What loss would you train the model with?
2. How would you regularize it so it does not overfit to last quarter's rings?
3. Would a focal loss help at a 0.2% fraud rate, or class weights?
4. How would you tune the hyperparameters in a day of compute?
5. Who signs off on the launch?
"""


def test_a_list_of_questions_kept_in_one_stage_is_a_coverage_finding() -> None:
    found = _found(NARROW, "coverage")
    assert found and "modeling" in found[0].message


def test_a_deep_dive_scoped_because_another_round_covers_the_design_is_not() -> None:
    scoped = NARROW.replace(
        "Every question below is the whole interview.",
        "Our loop has a separate ML system design round for the end-to-end design; this round "
        "goes deep on the model because the role owns it, and the candidate is told so.",
    )
    assert not _found(scoped, "coverage")
    # "No other round covers the rest" is the opposite of a reason.
    lonely = NARROW.replace(
        "Every question below is the whole interview.",
        "No other round in our loop covers the rest of the design.",
    )
    assert _found(lonely, "coverage")


def test_a_round_kept_on_one_thing_for_its_whole_length_is_a_coverage_finding() -> None:
    text = (
        "Ranking round for our travel search: 4M searches a day, 600k hotels, 200 ms budget. "
        "We stay on the offline metrics for the full 45 minutes; the model and the serving are "
        "assumed. Which metric would you report, and how would you compute it by hand from the "
        "click logs we give you?"
    )
    assert _found(text, "coverage")


def test_a_hook_ref_naming_the_scenarios_own_fact_is_a_warning_that_says_so() -> None:
    import yaml

    from crafter.domain import Scenario
    from crafter.evals.scenario_checks import grounding
    from crafter.resources import data_dir

    good = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"
    s = Scenario.model_validate(yaml.safe_load(good.read_text()))
    s.hooks[0].refs = [s.context[0].id]
    s.hooks[1].refs = ["no-such-source"]
    found = {f.location: f for f in grounding(s, frozenset())}
    own, missing = found["hooks[0].refs"], found["hooks[1].refs"]
    assert own.severity == "warning" and "this scenario's own content" in own.message
    assert missing.severity == "error" and "not in references" in missing.message


def test_a_maths_round_that_says_so_gets_no_rederive_finding() -> None:
    text = (
        "# Quant research, round 2: maths & statistics round (45 min)\n\n"
        "This is the maths round, not the design round; candidates are told in the invite.\n\n"
        "- Derive the gradient of softmax followed by cross-entropy with respect to the logits.\n"
        "- Prove that the OLS estimator is unbiased under the usual assumptions.\n"
        "- Work out the variance of the difference of two sample means.\n"
    )
    assert not _found(text, "rederive")


def test_a_design_that_only_uses_a_technique_is_not_an_ambush() -> None:
    text = (
        "Design related-listing search for our rental marketplace: 3M listings, 20M searches a "
        "day, results in 150 ms. Listings are embedded nightly and an approximate nearest "
        "neighbour index returns 200 candidates for a reranker trained on bookings. Hosts edit "
        "listings constantly and a stale vector shows yesterday's price. How would you keep "
        "the candidates fresh, and how would you know the reranker still helps?"
    )
    assert not _found(text, "rederive")


def test_an_answer_key_that_calls_gans_the_state_of_the_art_for_product_images_is_stale() -> None:
    text = (
        "Design generated lifestyle photos for our furniture ads: 40k products, each needs five "
        "on-brand scenes a season, and legal reviews every image.\n\nExpected answer\n"
        "A StyleGAN trained on our catalogue is the state of the art for photorealistic product "
        "scenes; the candidate should pick it and explain the discriminator.\n"
    )
    found = _found(text, "staleness")
    assert found and "GANs" in found[0].message


def test_an_old_method_named_as_a_baseline_after_e_g_is_not_stale() -> None:
    text = (
        "Route support emails for our bank to 14 queues; 30k emails a day, 9,000 labelled.\n\n"
        "Expected answer\nA good candidate first ships a cheap baseline, e.g. TF-IDF features "
        "with a logistic regression, purely to have a number to beat, then moves to a small "
        "fine-tuned encoder or an LLM with the queue descriptions.\n"
    )
    assert not any("TF-IDF" in f.message for f in _found(text, "staleness"))


def test_a_scenario_whose_rubric_scores_one_signal_is_a_coverage_finding() -> None:
    import yaml

    from crafter.domain import Scenario
    from crafter.evals.lint import lint_scenario
    from crafter.resources import data_dir

    good = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"
    s = Scenario.model_validate(yaml.safe_load(good.read_text()))
    assert len({row.signal for row in s.rubric}) > 1
    assert not [f for f in lint_scenario(s, DAY).findings if f.check == "coverage"]
    s.rubric = [row for row in s.rubric if row.signal == s.rubric[0].signal][:1]
    found = [f for f in lint_scenario(s, DAY).findings if f.check == "coverage"]
    assert found and "one signal only" in found[0].message and found[0].location == "rubric"


def test_a_few_terse_no_hire_cells_are_a_warning_and_yes_no_cells_an_error() -> None:
    import yaml

    from crafter.domain import Scenario
    from crafter.evals.lint import lint_scenario
    from crafter.resources import data_dir

    good = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"
    base = Scenario.model_validate(yaml.safe_load(good.read_text()))
    while len(base.rubric) < 4:
        base.rubric.append(base.rubric[0].model_copy())
    terse = base.model_copy(deep=True)
    for row in terse.rubric[:3]:
        row.no_hire = "Accuracy."
    found = [f for f in lint_scenario(terse, DAY).findings if "one-word" in f.message]
    assert found and found[0].severity == "warning"
    broken = base.model_copy(deep=True)
    for row in broken.rubric[:3]:
        row.no_hire, row.hire = "No", "Yes"
    found = [f for f in lint_scenario(broken, DAY).findings if "one-word" in f.message]
    assert found and found[0].severity == "error"


SOP_PAGE = """Runbook RB-17: running the applied ML design loop (rev. 4)

1. Book a 60-minute slot; the first 5 minutes are introductions.
2. Open the shared doc and paste the problem.

Problem to paste: "Design a recommendation system."

3. Take notes for 45 minutes; leave 10 minutes for their questions.
4. Submit feedback in the ATS within 48 hours, scoring each of the 4 areas from 1 to 4.
"""

SOP_WITH_FACTS = SOP_PAGE.replace(
    "3. Take notes",
    "Then read out to the candidate: we are a regional grocer with 1.8M loyalty members, "
    "purchase history for 3 years, and the app home screen shows 12 slots.\n\n3. Take notes",
)

PRIVATE_NUMBERS = """## Question (read to the candidate)

Build a system that flags risky insurance claims.

## Our numbers (DO NOT SHARE)

190k claims a year, 2.5% referred to investigators, a referral costs $140 of adjuster time, and
decisions are due within 48 hours of first notice.
"""


def test_a_bare_quoted_prompt_inside_a_runbook_is_vague_despite_the_runbooks_numbers() -> None:
    found = _found(SOP_PAGE, "vagueness")
    assert found and found[0].severity == "error"
    assert '"Design a recommendation system."' in found[0].message


def test_the_same_runbook_that_reads_the_candidate_facts_is_not_vague() -> None:
    assert not [f for f in _found(SOP_WITH_FACTS, "vagueness") if f.severity != "info"]


def test_numbers_under_a_do_not_share_heading_do_not_make_the_prompt_concrete() -> None:
    found = _found(PRIVATE_NUMBERS, "vagueness")
    assert found and found[0].severity in ("error", "warning")
    shared = PRIVATE_NUMBERS.replace(" (DO NOT SHARE)", " (share when asked)")
    assert not [f for f in _found(shared, "vagueness") if f.severity != "info"]


def test_giving_the_candidate_minutes_is_logistics_not_a_scenario_number() -> None:
    from crafter.evals.text_checks import scenario_numbers

    assert scenario_numbers("give the candidate 40 minutes to sketch it.") == 0
    assert scenario_numbers("allow 20 minutes for the deep dive.") == 0
    assert scenario_numbers("the model must answer within 40 ms for 3m users.") == 2


# A concrete prompt to put rubric lines under.
CATALOGUE = (
    "Design the search ranking for a spare-parts catalogue of 2M SKUs used by 9,000 contractor "
    "firms; p95 under 300 ms.\n\n"
)


@pytest.mark.parametrize(
    "line",
    [
        "Strong hire: names TF-IDF, BM25, ColBERT and SPLADE.",
        "Outcome: strong hire, mentioned LoRA, DPO, RLHF, MoE and guardrails.",
        'honestly I pass anyone who says "data lake", "feature store", "canary" and "rollback"',
    ],
)
def test_a_verdict_for_saying_a_list_of_names_is_buzzword(line: str) -> None:
    page = CATALOGUE + line + "\n"
    found = _found(page, "buzzword")
    assert found and "list of names" in found[0].message


@pytest.mark.parametrize(
    "line",
    [
        "Strong hire: chooses between BM25, ColBERT and SPLADE given the 300 ms budget.",
        "No credit for naming BM25, ColBERT and SPLADE without a reason.",
        "Hire: the candidate can name any retrieval model, open or commercial, and then says why.",
    ],
)
def test_a_list_tied_to_a_reason_or_refused_credit_is_not_buzzword(line: str) -> None:
    from crafter.evals.buzzword import _credit_for_a_name_list
    from crafter.evals.document import from_text

    page = CATALOGUE + "Rubric\n\n" + line + "\n"
    assert _credit_for_a_name_list(from_text("q.md", page)) is None


def test_a_chat_export_is_linted_not_skipped_as_not_a_question() -> None:
    thread = (
        "#ml-loop (export)\n\nmk  09:12\nhow do we grade the route-optimisation question for the "
        'couriers?\n\nts  09:14\nI pass anyone who says "graph neural network", "reinforcement '
        'learning", "digital twin" and "real-time"\n\nmk  09:15\nok\n'
    )
    result = lint_text(thread, DAY, "thread.txt")
    assert not [f for f in result.findings if f.check == "input"]
    assert [f for f in result.findings if f.check == "buzzword"]


DEEP_DIVE = """# Round 4: ranking evaluation deep dive (45 min)

Read to the candidate at the start: "This round is only about evaluating a ranker, because the
loop's other rounds cover the end-to-end design."

A marketplace ranker orders 40 results per query for 3M daily searches; a new model is ready.
How would you decide offline and online whether it ships?
"""


def test_a_deep_dive_told_to_the_candidate_with_a_reason_is_openly_scoped() -> None:
    assert not _found(DEEP_DIVE, "coverage")
    unexplained = DEEP_DIVE.replace(
        ", because the\nloop's other rounds cover the end-to-end design", ""
    )
    assert _found(unexplained.replace("only about", "entirely about"), "coverage")


def test_putting_the_whole_time_on_one_slice_is_a_coverage_finding() -> None:
    page = (
        "ML system design (full loop): a telecom operator with 22M prepaid subscribers wants to "
        "pick whom to target with 200k retention offers a month. Design the system.\n\n"
        "Interviewer notes. Use the whole time on feature engineering: recency, tenure, handset age.\n"
    )
    assert _found(page, "coverage")


ROUND = (
    "# ML system design (end to end): shift recommendations\n\n"
    "An app for shift work has 8M workers and 250k employers; 400k shifts are posted a day. Design "
    "the recommendation system end to end.\n\n"
)


@pytest.mark.parametrize(
    "plan",
    [
        "After the prompt, say: \"Let's focus on how you'd measure it.\" Then spend\nthe full "
        "interview on offline metrics.",
        "Tell the candidate we will assume a ranker exists and focus on the launch experiment.",
        "Ask the candidate to design the inside of the ranker for the full 45 minutes.",
    ],
)
def test_a_full_round_narrowed_in_other_words_is_a_coverage_finding(plan: str) -> None:
    assert _found(ROUND + "Interviewer script\n\n" + plan + "\n", "coverage")


def test_a_schedule_naming_another_deep_dive_and_a_design_plus_evaluation_ask_are_not() -> None:
    schedule = ROUND + "Today: 10:30 ML design (this round), 12:30 project deep dive (Sam).\n"
    assert not _found(schedule, "coverage")
    ask = (
        "A podcast app has 2M episodes. Design the search system and how you'd judge whether it "
        "got better, for listeners who remember a phrase but not the show.\n"
    )
    assert not [f for f in _found(ask, "coverage") if f.severity == "warning"]


def test_an_infrastructure_round_with_no_ml_decision_is_ml_clothing_not_also_coverage() -> None:
    page = (
        "ML system design: design the labelling platform for our data science teams: project "
        "setup, task distribution to annotators, the annotation UI backend, review queues, payouts "
        "and an audit log, for 2,000 annotators and 5M tasks a month. Discuss queues, sharding and "
        "retries.\n"
    )
    found = lint_text(page, DAY, "q.md").findings
    assert [f for f in found if f.check == "ml-clothing" and f.severity == "warning"]
    assert not [f for f in found if f.check == "coverage" and f.severity == "warning"]


TALLY = """# Scoring sheet: parcel sorting vision

Prompt: a depot sorts 300k parcels a night with 14 camera gantries; labels are torn or wet in 2% of
cases and a missort costs a day of delay. Design the system that reads each label and routes it.

Tick what you hear:
  __ OCR transformer        __ YOLO
  __ active learning        __ synthetic data
  __ edge TPU               __ "human in the loop"
  __ confidence threshold   __ drift

0-3 no hire / 4-5 lean hire / 6-7 hire / 8 strong hire
"""

REASONING_CHECKLIST = TALLY.replace(
    """  __ OCR transformer        __ YOLO
  __ active learning        __ synthetic data
  __ edge TPU               __ "human in the loop"
  __ confidence threshold   __ drift""",
    """- sets the read-confidence threshold from the cost of a missort versus a manual read
- plans for torn and wet labels with a fallback that does not stop the belt
- estimates the manual-read load the threshold creates at 300k parcels a night
- decides what to log so misreads become training data within a week
- checks each gantry's camera drift against a per-gantry baseline
- says how a new label layout from a carrier is rolled out safely""",
)


def test_a_checklist_of_names_scored_against_a_count_scale_is_buzzword() -> None:
    found = _found(TALLY, "buzzword")
    assert found and "terms heard" in found[0].message
    from crafter.evals.buzzword import _tally_of_names
    from crafter.evals.document import from_text

    assert _tally_of_names(from_text("q.md", REASONING_CHECKLIST)) is None


def test_a_level_granted_for_citing_papers_is_buzzword() -> None:
    page = (
        "Calibration notes. The question: a utility with 3.2M smart meters picks 2,500 premises a "
        "month to inspect for theft at 120 euros a visit.\n\nWe agreed that candidates who cite "
        "recent papers (e.g. by title or by model name) are upgraded by one level.\n"
    )
    assert _found(page, "buzzword")


def test_adjective_soup_is_vague_and_a_concrete_prompt_with_two_of_them_is_not() -> None:
    soup = (
        "ML design prompt (v2)\n\nDesign a scalable, real-time, intelligent, future-proof and "
        "enterprise-grade AI platform that turns our data into actionable insights.\n"
    )
    found = _found(soup, "vagueness")
    assert found and "adjective soup" in found[0].message
    concrete = (
        "Design a scalable, real-time fraud score for a card issuer: 6M transactions a day, a "
        "120 ms authorisation budget, chargebacks 45 days late, and 0.1% fraud.\n"
    )
    assert not [f for f in _found(concrete, "vagueness") if "adjective" in f.message]


def test_a_quoted_prompt_left_as_your_choice_is_withheld() -> None:
    page = (
        'Prompt to candidate:\n  "Design a similarity search system."\n\n'
        '  (Leave it open. If asked what is searched, say "your choice".)\n\n'
        "Main segment (20-35 min): discuss approximate nearest neighbour indexes.\n"
    )
    found = _found(page, "vagueness")
    assert found and found[0].severity == "error"


@pytest.mark.parametrize(
    "key",
    [
        "Expected answer: naive Bayes over bag-of-words unigrams, the best content model here.",
        "Expected answer: run LDA on the comments each week and report the top themes.",
        "Expected answer: a GMM-UBM with i-vector extraction and PLDA scoring per customer.",
    ],
)
def test_old_text_and_speaker_methods_as_the_expected_answer_are_stale(key: str) -> None:
    page = (
        "Design the system for a bank's support channel: 7M customers, 90k calls and 40k "
        "written comments a day, results within a day, consent required.\n\n" + key + "\n"
    )
    assert _found(page, "staleness")


def test_a_rubric_whose_rows_all_score_one_stage_is_a_coverage_finding() -> None:
    page = (
        "End-to-end ML design: chest X-ray triage for 30 hospitals, 4,000 films a day, a "
        "radiologist must see urgent films within 30 minutes.\n\nRubric\n\n"
        "- Labels: how the labelling guideline handles ambiguous films\n"
        "- Labels: agreement between annotators and adjudication\n"
        "- Labels: sampling which films to annotate next\n"
        "- Labels: label noise from report-derived annotations\n"
        "- Labels: the annotation tool and its queues\n"
    )
    assert _found(page, "coverage")
    mixed = page.replace(
        "- Labels: the annotation tool and its queues", "- Serving: latency of the triage model"
    ).replace("- Labels: label noise", "- Evaluation: recall on urgent films and label noise")
    assert not [f for f in _found(mixed, "coverage") if f.severity == "warning"]


ROUND_PROMPT = (
    "> A freight broker books 9,000 truckloads a week. Shippers complain that quoted pickup windows"
    " are missed on one load in five. Design an end-to-end ML system that predicts which loads will"
    " miss their window early enough for dispatch to act.\n"
)

LEFT_OUT_PAGES = [
    # A committee note that says what the round never covered.
    "# Debrief: freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Notes\n\nThe whole"
    " conversation was about the carrier ID join. The notes contain nothing on labels, the model,"
    " offline evaluation or rollout, and the rating was accepted.\n",
    # Every signal scored from one narrow discussion.
    "# Plan for the freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Plan\n\nAfter the"
    " prompt we go through the feature SQL in detail. I will rate framing, data, modelling,"
    " evaluation and deployment from the SQL discussion.\n",
    # An instruction that keeps the candidate away from the other stages.
    "# Guide: freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Run of show\n\nAfter five"
    " minutes, ask for the exact loss. Do not move on to the data, evaluation or the launch plan;"
    " if they try, redirect them back to the loss.\n",
]


@pytest.mark.parametrize("page", LEFT_OUT_PAGES)
def test_a_round_that_says_it_leaves_stages_out_is_a_coverage_finding(page: str) -> None:
    found = _found(page, "coverage")
    assert found and found[0].severity == "warning"


STAGE_RUBRIC = (
    "# Freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Rubric\n\n"
    "| Signal | No hire | Hire | Strong hire |\n| --- | --- | --- | --- |\n"
    "| Framing | Not discussed | Names the dispatch decision | Prices a missed window against an early call |\n"
    "| Data | Not discussed | Late scans as labels | Handles carriers that never send scans |\n"
    "| Deployment & monitoring | Not discussed | Batch scores every hour | Watches lane drift and alert fatigue |\n"
    "\nA weak answer never mentions evaluation or monitoring; a strong one plans both.\n"
)


def test_a_rubric_whose_weak_cells_say_not_discussed_is_not_a_coverage_finding() -> None:
    assert _found(STAGE_RUBRIC, "coverage") == []


NAME_REWARD_PAGES = [
    "# Debrief: parcel damage round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Guidance\n\n"
    "Going forward we reward familiarity with named industry systems and papers.\n",
    "# Guide: parcel damage round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Hire bar\n\n"
    "A strong hire cites at least one paper for every component they draw.\n",
    "# Guide: parcel damage round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Hire bar\n\n"
    "The candidate should bring up the known approaches from the literature; the more the better.\n",
]


@pytest.mark.parametrize("page", NAME_REWARD_PAGES)
def test_grading_that_rewards_citing_references_is_a_buzzword_finding(page: str) -> None:
    found = _found(page, "buzzword")
    assert found and found[0].severity == "warning"
    # Said by the rule, with the sentence as evidence (not only by the document model).
    assert "naming references" in found[0].message or "how many" in found[0].message
    assert found[0].evidence and "document model" not in found[0].message


def test_a_rubric_that_asks_why_a_cited_approach_fits_is_not_a_buzzword_finding() -> None:
    page = (
        "# Guide: freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Hire bar\n\n"
        "A strong hire may cite a paper, but explains why its approach fits a one-in-five miss"
        " rate and what it costs dispatch.\n"
    )
    assert _found(page, "buzzword") == []


def test_a_quoted_question_name_whose_sentence_gives_the_specifics_is_not_vague() -> None:
    page = (
        "#interview-notes (export)\n\n[10:02] omar: sat in on the ML design round. Question was the\n"
        '        "parcel rerouting" one: 2.1M parcels a day, 14 hubs, reroutes decided within\n'
        "        90 seconds of a missed scan, drivers on fixed shifts, design the whole system.\n"
        "[10:04] lena: how did it go?\n[10:05] omar: the candidate spent the round on features.\n"
    )
    assert not [f for f in _found(page, "vagueness") if f.severity == "error"]


def test_a_quote_the_candidate_may_not_say_is_not_the_prompt() -> None:
    page = (
        "TOKENIZER ROUND\nLevel: senior   Duration: 50 min\n\nPrompt\n"
        "  A grocery marketplace in four countries gets queries in mixed scripts, some without\n"
        "  spaces, with brand names and slang. We need a tokenizer for product search.\n\n"
        "Notes\n"
        '  - The candidate may not say "use an off-the-shelf tokenizer". We want the reasoning.\n'
        "  - Hire bar: a sound plan for scripts without spaces.\n"
    )
    assert not [f for f in _found(page, "vagueness") if "hears only" in f.message]


HEADED_BARE = """# Panel round 3: ML design

**When:** Tuesday 10:00-10:45 (45 minutes), room 4B, meeting ID 551 208 9931
**Panel:** two interviewers, feedback due in 24 hours

## Prompt (read to the candidate)

> Design a fraud model for our store.

## Running the round

- 5 minutes of introductions, 35 of design, 5 for their questions.
- Scores 1-4 on framing, data, modelling, evaluation and deployment.
"""


def test_a_one_line_prompt_under_its_own_heading_is_vague_whatever_the_logistics_hold() -> None:
    found = _found(HEADED_BARE, "vagueness")
    assert found and found[0].severity == "error"
    assert "Design a fraud model for our store." in found[0].message


def test_a_headed_prompt_with_its_specifics_is_not_vague() -> None:
    rich = HEADED_BARE.replace(
        "> Design a fraud model for our store.",
        "> Our store takes 40,000 card orders a day; chargebacks arrive 30-60 days later and cost"
        " $25 each on top of the loss. Design the model that decides which orders to hold for review.",
    )
    assert not [f for f in _found(rich, "vagueness") if f.severity == "error"]


def test_a_round_on_model_serving_decisions_is_not_system_design_in_ml_clothing() -> None:
    page = (
        "# ML design: on-device dictation model\n\nA notes app runs a 300M-parameter speech model on"
        " phones with 4 GB of memory; 30% of users are on devices older than four years.\n\n"
        "Questions:\n- How would you quantize the model to int8, and what accuracy loss is acceptable?\n"
        "- Would you distill a smaller student, and how would you measure it against the teacher?\n"
        "- How do you size the KV cache and the batching of audio frames for throughput?\n"
        "- What is your fallback when the device is too slow, and how is it cached?\n"
    )
    assert _found(page, "ml-clothing") == []


BARE_SHAPES = [
    # A label and the prompt on one line, the rest about running the round.
    "**Design question: similar items**\n\n*Prompt:* Design a system to find similar items for our"
    " users.\n\n*Part 1 (10 min):* Let the candidate choose what items are.\n\n*Scoring:* 1-4 on"
    " each signal; feedback within 24 hours.\n",
    # A title that says "prompt card", then the heading over what is read out.
    "# Prompt card: churn\n\n**Time:** 45 minutes (5 intro / 35 design / 5 questions), interviewers: 1 lead + 1 shadow\n\n## Read this"
    " to the candidate\n\n> We'd like you to design a churn model. Take it wherever you like.\n\n"
    "## Interviewer only\n\n- Assumes 2M subscribers and a 3% monthly churn rate.\n",
    # A colleague's instruction in a thread.
    "#ml-loop (export)\n\n[9:02] ana: can you take the 11am ML round? the usual one\n[9:03] ben:"
    " sure, what's the question?\n[9:03] ana: just ask them to design a recommender for our"
    " shoppers. whatever they pick, dig in and see how they think\n[9:04] ben: ok, scorecard as usual?\n",
]


@pytest.mark.parametrize("page", BARE_SHAPES)
def test_a_bare_prompt_named_by_the_page_layout_is_vague(page: str) -> None:
    found = _found(page, "vagueness")
    assert found and found[0].severity == "error"


def test_a_labelled_prompt_that_names_its_specifics_without_numbers_is_not_vague() -> None:
    page = (
        "*Prompt:* Our support assistant must answer in Thai, Vietnamese and Indonesian, and the"
        " tokenizer wastes context on Thai, which has no spaces. Design how we would fix it.\n\n"
        "*Scoring:* 1-4 on each signal.\n"
    )
    assert not [f for f in _found(page, "vagueness") if "prompt section" in f.message]


NARROW_PAGES = [
    "# Plan: freight round\n\n## Prompt\n\n"
    + ROUND_PROMPT
    + "\n## Running it\n\nFocus exclusively on"
    " the model. Skip labels (ops defined them), skip deployment (the platform team owns it), skip"
    " evaluation.\n",
    "# Notes: freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Scope\n\nThe group agreed the"
    " round only probes online experimentation: the randomisation unit, the metric, the duration.\n",
    "# Email: freight round\n\n## Prompt\n\n"
    + ROUND_PROMPT
    + "\n## Ask\n\nI don't want to spend time"
    " on labels, latency or A/B testing; we've all heard those answers.\n",
]


@pytest.mark.parametrize("page", NARROW_PAGES)
def test_more_ways_a_round_is_kept_in_one_corner(page: str) -> None:
    found = _found(page, "coverage")
    assert found and found[0].severity == "warning"


OPEN_PAGES = [
    # A follow-up deep dive to an end-to-end round.
    "# Round 2 of 2: data deep dive (follow-up to yesterday's end-to-end design round)\n\n## Prompt\n\n"
    + ROUND_PROMPT
    + "\n## Plan\n\nSpend the whole hour on the labels: late scans, missing carriers, skip nothing.\n",
    # A round kept to the stage the role owns, saying so.
    "# Inference engineer loop\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Scope\n\nServing only, by"
    " design, because serving is the job: batching, quantisation and the latency budget.\n",
    # Words that narrow something other than the round.
    "# Freight round\n\n## Prompt\n\n"
    + ROUND_PROMPT
    + " Dispatchers only cover the top 200 lanes by"
    " hand today.\n\n## Notes\n\nCandidates sometimes skip labels and evaluation; ask about both.\n",
]


@pytest.mark.parametrize("page", OPEN_PAGES)
def test_rounds_scoped_openly_or_narrowing_something_else_are_not_coverage_findings(
    page: str,
) -> None:
    assert _found(page, "coverage") == []


UNNAMED_AMBUSHES = [
    "# Ranking round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Part 3\n\nSay: we want to optimise a"
    " list metric directly. The candidate should arrive, unaided, at the pairwise gradients and"
    " write the update for one pair.\n",
    "# Email to the panel\n\n"
    + ROUND_PROMPT
    + "\nFor the design slot, have the candidate implement"
    " the subword vocabulary learner from scratch in the shared editor.\n",
    "# Headline round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Key section\n\nAsk where the"
    " exploration bonus comes from, and have them prove that the regret grows at most"
    " logarithmically.\n",
]


@pytest.mark.parametrize("page", UNNAMED_AMBUSHES)
def test_an_ambush_without_the_techniques_name_is_a_rederive_finding(page: str) -> None:
    found = _found(page, "rederive")
    assert found and found[0].severity == "warning"


def test_working_out_a_business_number_is_not_an_ambush() -> None:
    page = (
        "# Freight round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Follow-ups\n\nHave the candidate"
        " work out, on the board, what a missed window costs against an early call to dispatch.\n"
    )
    assert _found(page, "rederive") == []


STALE_PAGES = [
    "# Support assistant round\n\n## Prompt\n\n"
    + ROUND_PROMPT
    + "\n## Expected design\n\nAn intent"
    " classifier routes each message, slot filling extracts the load number, a dialogue state"
    " tracker keeps the turn, and templated replies answer the shipper's assistant questions.\n",
    "# Contract round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Constraint\n\nThe language model can"
    " only see 4,096 tokens at a time, so the design must split each contract and merge the parts.\n",
    "# Recap round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Expected answer\n\nThe dispatch call"
    " recap is built with TextRank over the transcript sentences; an LLM summary is a weakness.\n",
]


@pytest.mark.parametrize("page", STALE_PAGES)
def test_designs_of_an_earlier_era_are_staleness_findings(page: str) -> None:
    found = _found(page, "staleness")
    assert found and found[0].severity in ("warning", "error")  # an error where modern is barred


def test_a_request_size_in_tokens_is_not_a_small_context_window() -> None:
    page = (
        "# Code completion round\n\n## Prompt\n\n" + ROUND_PROMPT + "\n## Facts on ask\n\nRequests"
        " carry about 2k tokens of context (the open file and retrieved snippets) to the model.\n"
    )
    assert _found(page, "staleness") == []


COUNTED_NAMES = [
    "# Debrief\n\n" + ROUND_PROMPT + '\nFeedback: "Very strong on modeling. Candidate name-checked'
    ' all the right things: transformers, gradient boosting, focal loss, graph networks and RLHF."\n',
    "# Guide\n\n" + ROUND_PROMPT + "\nListen for: MinHash, SimHash, perceptual hashes, HNSW, FAISS,"
    " union-find. The more of these the candidate works into the answer, the stronger the signal.\n",
    "# Rubric\n\n" + ROUND_PROMPT + "\nphrases: late scans, carrier pings, dwell time, lane drift,"
    " hours of service, ETA quantiles, alert fatigue, backtesting\ngrading: strong = 6+ of the"
    " phrases, hire = 4-5, no hire = <4\n",
]


@pytest.mark.parametrize("page", COUNTED_NAMES)
def test_more_ways_a_page_credits_names_said(page: str) -> None:
    found = _found(page, "buzzword")
    assert found and found[0].severity == "warning"
    assert "document model" not in found[0].message


def test_a_one_line_prompt_has_no_rubric_to_call_buzzword() -> None:
    page = (
        "Design spam filtering for a 3M-member knitting forum where 40% of the spam now comes from"
        " aged accounts bought from real members, so account age no longer separates spammers.\n"
    )
    assert _found(page, "buzzword") == []


def test_a_config_service_for_prompts_is_system_design_in_ml_clothing() -> None:
    page = (
        '#platform-questions\n\n"Prompt template service. 30 product teams call LLMs with'
        " templates kept in code. Build a service where teams store templates, version them and"
        ' fetch them at runtime: ~2,500 templates, ~18k fetches/s at peak. Design it."\n\n'
        "What I'll probe:\n 1. immutable versions and aliases like prod and canary\n 2. client SDK"
        " with a local cache, TTL vs push invalidation, last-known-good on outage\n 3. rollout by"
        " percentage\n 4. capacity: 18k rps should mostly be cache hits\n"
    )
    found = _found(page, "ml-clothing")
    assert found and found[0].severity == "warning"


def test_an_answer_key_that_says_not_to_dismiss_a_current_approach_keeps_it_open() -> None:
    page = (
        "# Junk filter for an air-gapped mail appliance\n\n## Prompt\n\n"
        + ROUND_PROMPT
        + "\n## Answer key\n\nGradient-boosted trees fit the 2 ms budget on the appliance's CPU."
        " If a candidate proposes a small transformer, don't dismiss it: ask them to estimate"
        " throughput on the box.\n"
    )
    assert not [f for f in _found(page, "staleness") if f.severity == "error"]


MORE_BARE_SHAPES = [
    # The heading and the prompt in one paragraph, dates and times around it.
    "VIRTUAL ONSITE: ML DESIGN ROUND\nDate: Tue 8 Dec 2026, 15:30-16:15 CET\nInterviewer: R. Okafor\n\n"
    "Question:\n  Design a model that predicts demand.\n\nNotes:\n  - Share the prompt in the doc"
    " at 15:32.\n  - Leave 5 minutes at the end for questions.\n",
    # A direct message handing over a quoted prompt.
    'DM, 2026-11-30 16:12\n\nJonah: for the ML design slot on weds, just give them "build us a'
    ' chatbot"\nJonah: it is the 60-min slot, room 4, you and a shadow\nAmira: for what though?\n'
    "Jonah: let them pick\n",
]


@pytest.mark.parametrize("page", MORE_BARE_SHAPES)
def test_more_layouts_of_a_bare_prompt_are_vague(page: str) -> None:
    found = _found(page, "vagueness")
    assert found and found[0].severity == "error"


def test_what_a_candidate_says_in_a_thread_is_not_the_prompt() -> None:
    page = (
        "rb 14:20\nthe round is the churn one from the doc, with the usage logs and 2M accounts\n\n"
        'rb 14:24\nif they also say "uplift modelling" it is a strong hire\n'
    )
    assert not [f for f in _found(page, "vagueness") if "hears only" in f.message]
