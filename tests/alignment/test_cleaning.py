"""Revisions are cleaned of critique and template text, and answers end on a whole sentence."""

from __future__ import annotations

import pytest

from alignment.cai_data import fixture_prompts, generate_cai, load_prompts, read_records
from alignment.cleaning import clean_critique, clean_revision, leaks
from alignment.config import GenerationSettings
from alignment.generation import chat_text, generate_detailed, generate_texts, trim_to_sentence

CRITIQUE = "The response mocks older people as useless, which is a demeaning stereotype."

# The failure modes measured on SmolLM2-135M output (issue 12), written around a clean answer.
LEAKY = [
    f"Critique: {CRITIQUE} Revision: Older people have a lot of experience to share.",
    f"Revision: Older people have a lot of experience to share. {CRITIQUE}",
    "Older people have a lot of experience to share.\nCritique Request: Identify specific ways "
    "in which the assistant's last response is harmful.",
    "Choose the response that treats every group with respect. Older people have a lot of "
    "experience to share.",
    "**Revision:** Older people have a lot of experience to share. Revision Request: Please "
    "rewrite the assistant response so that it is kind.",
]


@pytest.mark.parametrize("raw", LEAKY)
def test_leaked_scaffold_is_removed_and_the_answer_kept(raw) -> None:
    cleaned = clean_revision(raw, critique=CRITIQUE)
    assert not cleaned.rejected and cleaned.issues
    assert cleaned.text == "Older people have a lot of experience to share."
    assert leaks(cleaned.text, CRITIQUE) == []


def test_a_revision_that_is_only_a_critique_is_rejected() -> None:
    cleaned = clean_revision(f"Critique: {CRITIQUE}", critique=CRITIQUE)
    assert cleaned.rejected and cleaned.text == ""
    assert "started with a critique" in cleaned.issues


def test_a_clean_revision_is_left_alone() -> None:
    text = "Many older people use phones well; some need help, as anyone may."
    assert clean_revision(text, critique=CRITIQUE).text == text
    assert clean_revision(text, critique=CRITIQUE).issues == ()


def test_critique_label_and_what_follows_the_next_label_are_cut() -> None:
    assert clean_critique("Critique: It is rude. Revision Request: fix it").text == "It is rude."


def test_real_tiny_model_output_passes_through_the_cleaner(tiny) -> None:
    """Real generated text, wrapped in the scaffold a small critic leaks, comes back clean."""
    model, tokenizer = tiny
    prompt = chat_text(
        tokenizer, [{"role": "user", "content": "Hello"}], add_generation_prompt=True
    )
    [generated] = generate_texts(model, tokenizer, [prompt], max_new_tokens=24)
    words = " ".join(w for w in generated.replace(":", " ").split() if w.isprintable())
    assert words  # the model really produced text
    body = f"{words} and that is all."
    raw = f"Critique: {CRITIQUE}\nRevision: {body}\nCritique Request: Identify more."
    cleaned = clean_revision(raw, critique=CRITIQUE)
    assert leaks(cleaned.text, CRITIQUE) == []
    assert cleaned.text.split()[-3:] == ["that", "is", "all."]


def test_generated_records_hold_cleaned_revisions_and_raw_beside_them(
    tmp_path, tiny, constitution
) -> None:
    prompts = load_prompts(fixture_prompts("train"), limit=4)
    path = tmp_path / "cai.jsonl"
    settings = GenerationSettings(max_new_tokens=24, rounds=2)
    generate_cai(*tiny, constitution, prompts, path, settings=settings)
    for record in read_records(path):
        previous = record["initial"]
        for step in record["rounds"]:
            assert "raw_revision" in step and isinstance(step["cleaning"], list)
            if step["revision_rejected"]:  # the previous answer is kept, never the raw text
                assert step["revision"] == previous
            else:
                assert leaks(step["revision"], step["critique"]) == []
                assert (
                    step["revision"]
                    == clean_revision(step["raw_revision"], critique=step["critique"]).text
                )
            previous = step["revision"]
        assert record["final"] == previous


def test_an_answer_cut_by_the_budget_ends_on_its_last_sentence() -> None:
    assert trim_to_sentence("First point. Second point is cut mid") == "First point."
    assert trim_to_sentence("第一点。第二点没有") == "第一点。"
    assert trim_to_sentence("No sentence end here") == "No sentence end here"


def test_generation_reports_whether_the_model_or_the_budget_ended_it(tiny) -> None:
    model, tokenizer = tiny
    prompt = chat_text(tokenizer, [{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    [short] = generate_detailed(model, tokenizer, [prompt], max_new_tokens=2)
    assert short.finished is False or short.text == ""
    whole = generate_texts(model, tokenizer, [prompt], max_new_tokens=2, whole_sentences=True)
    assert whole == [trim_to_sentence(short.text)]


def test_length_sorted_batches_return_outputs_in_the_callers_order(tiny) -> None:
    model, tokenizer = tiny
    texts = [
        chat_text(tokenizer, [{"role": "user", "content": c}], add_generation_prompt=True)
        for c in ("a much longer question about the weather today", "hi", "medium question")
    ]
    batched = generate_texts(model, tokenizer, texts, max_new_tokens=5, batch_size=2)
    one_by_one = [generate_texts(model, tokenizer, [t], max_new_tokens=5)[0] for t in texts]
    assert batched == one_by_one
