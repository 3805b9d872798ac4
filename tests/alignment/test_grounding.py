"""A conversation's prompts come from its own principles; critiques use relevant principles."""

from __future__ import annotations

from alignment.cai_data import Prompt, generate_cai, load_prompts, read_records, write_prompts
from alignment.config import GenerationSettings
from alignment.grounding import TEMPLATES, build_conversation_prompts
from alignment.relevance import relevant_principles

from .conftest import FAST_GENERATION


def test_every_principle_gets_scenarios_in_every_conversation_language(constitution) -> None:
    sets = build_conversation_prompts(constitution, languages=["en", "zh-TW", "ar"], topic="AI")
    n = len(constitution.principles)
    assert len(sets.train) == n * 3 * 3 and len(sets.heldout) == n * 3
    assert {p.language for p in sets.train} == {"en", "zh", "ar"}
    for prompt in sets.train + sets.heldout:
        [pid] = prompt.principle_ids
        assert constitution.principle(pid).statement.rstrip(".") in prompt.prompt
        assert "grounded" in prompt.tags
    assert not {p.prompt for p in sets.train} & {p.prompt for p in sets.heldout}


def test_unknown_languages_fall_back_to_english_templates(constitution) -> None:
    sets = build_conversation_prompts(constitution, languages=["xx"])
    assert {p.language for p in sets.train} == {"en"}
    assert set(TEMPLATES) >= {"en", "es", "fr", "zh", "ar", "fa"}


def test_a_model_writer_adds_scenarios_marked_as_model_written(constitution) -> None:
    sets = build_conversation_prompts(
        constitution, writer=lambda statement, lang: f"Tell me about: {statement}"
    )
    written = [p for p in sets.train if "model" in p.tags]
    assert len(written) == len(constitution.principles)


def test_a_prompt_set_round_trips_through_a_file_for_editing(tmp_path, constitution) -> None:
    sets = build_conversation_prompts(constitution)
    path = write_prompts(sets.train, tmp_path / "prompts.jsonl")
    assert tuple(load_prompts(path)) == sets.train


def test_relevance_linked_then_similar_then_uniform(constitution) -> None:
    first = constitution.principles[0]
    linked = relevant_principles("anything", [first.id], constitution)
    assert (linked.reason, [p.id for p in linked.principles]) == ("linked", [first.id])
    similar = relevant_principles(
        "Should an AI respect the privacy of its users?", [], constitution
    )
    assert similar.reason == "similar"
    assert "privacy" in similar.principles[0].statement
    assert similar.scores[similar.principles[0].id] == max(similar.scores.values())
    uniform = relevant_principles("zzqx", [], constitution)
    assert uniform.reason == "uniform" and uniform.principles == constitution.principles


def test_critiques_use_the_linked_principle_and_the_record_says_why(
    tmp_path, tiny, constitution
) -> None:
    target = constitution.principles[-1]
    prompts = [
        Prompt(f"g{i}", f"Question {i} about the topic?", "en", (), (target.id,)) for i in range(3)
    ]
    path = tmp_path / "cai.jsonl"
    generate_cai(*tiny, constitution, prompts, path, settings=GenerationSettings(**FAST_GENERATION))
    for record in read_records(path):
        assert record["principle_ids"] == [target.id]
        [step] = record["rounds"]
        assert step["principle_id"] == target.id
        assert step["principle_choice"]["reason"] == "linked"
        assert step["principle_choice"]["candidates"] == [target.id]


def test_the_critic_can_write_scenarios_with_a_real_model(tiny, constitution) -> None:
    from alignment.generation import model_scenario_writer

    writer = model_scenario_writer(*tiny, max_new_tokens=16)
    sets = build_conversation_prompts(constitution, writer=writer)
    written = [p for p in sets.train if "model" in p.tags]
    assert all(p.principle_ids and len(p.prompt) >= 12 for p in written)
