"""Batched generation, log-prob scoring and position-bias-cancelling (A)/(B) judging."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from alignment.generation import (
    completion_logprobs,
    generate_chat,
    generate_texts,
    judge_pairs,
)


class UniformModel(torch.nn.Module):
    """Every next token equally likely (as nanochat's MockModel): scores are known exactly."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.config = SimpleNamespace(max_position_embeddings=4096)
        self.device = torch.device("cpu")

    def forward(self, input_ids, attention_mask=None, position_ids=None, logits_to_keep=0):  # noqa: ANN001
        """Same keywords as a transformers causal LM; `logits_to_keep` keeps the last k."""
        width = logits_to_keep or input_ids.shape[1]
        return SimpleNamespace(logits=torch.zeros(input_ids.shape[0], width, self.vocab))


def test_uniform_model_scores_are_exact_and_judgements_are_even(tiny) -> None:
    _, tokenizer = tiny
    model = UniformModel(len(tokenizer))
    n = len(tokenizer("hello world", add_special_tokens=False)["input_ids"])
    [score] = completion_logprobs(model, tokenizer, ["Say: "], ["hello world"])
    assert score == pytest.approx(-n * math.log(len(tokenizer)), rel=1e-5)
    [j] = judge_pairs(model, tokenizer, [("Q?", "Choose the response that is kind.", "a", "b")])
    assert j.p_first_as_a == pytest.approx(0.5) and j.p_first == pytest.approx(0.5)


def test_scores_match_a_full_forward_pass(tiny) -> None:
    model, tokenizer = tiny
    prompt_ids = tokenizer("The answer is: ", add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer("(A)", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        logps = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
    expected = sum(float(logps[len(prompt_ids) - 1 + i, t]) for i, t in enumerate(completion_ids))
    scores = completion_logprobs(
        model, tokenizer, ["The answer is: ", "x " * 30], ["(A)", "(B)"], batch_size=2
    )  # padded batch
    assert scores[0] == pytest.approx(expected, abs=1e-4)


def test_judgement_averages_both_orders(tiny) -> None:
    model, tokenizer = tiny
    [j] = judge_pairs(model, tokenizer, [("Q?", "Choose the response that is kind.", "a", "b")])
    assert 0 <= j.p_first_as_a <= 1 and 0 <= j.p_first_as_b <= 1
    assert j.p_first == pytest.approx((j.p_first_as_a + j.p_first_as_b) / 2)
    [swapped] = judge_pairs(
        model, tokenizer, [("Q?", "Choose the response that is kind.", "b", "a")]
    )
    assert swapped.p_first == pytest.approx(1 - j.p_first, abs=1e-6)  # order cancels exactly


def test_left_padded_batches_match_one_by_one_greedy(tiny) -> None:
    model, tokenizer = tiny
    side = tokenizer.padding_side
    convs = [[{"role": "user", "content": t}] for t in ("Hi", "A much longer question here?")]
    batched = generate_chat(model, tokenizer, convs, max_new_tokens=8, batch_size=2)
    single = [generate_chat(model, tokenizer, [c], max_new_tokens=8)[0] for c in convs]
    assert batched == single
    assert tokenizer.padding_side == side  # restored, not leaked to training


def test_progress_reports_done_and_total(tiny) -> None:
    model, tokenizer = tiny
    seen: list[tuple[int, int]] = []
    generate_texts(
        model,
        tokenizer,
        ["a", "b", "c"],
        max_new_tokens=2,
        batch_size=2,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(2, 3), (3, 3)]


def test_sampling_is_seeded(tiny) -> None:
    model, tokenizer = tiny
    kw = {"max_new_tokens": 6, "do_sample": True, "temperature": 1.0}
    assert generate_texts(model, tokenizer, ["x"], seed=3, **kw) == generate_texts(
        model, tokenizer, ["x"], seed=3, **kw
    )


def test_a_garbled_model_rewrite_falls_back_to_the_template(tiny) -> None:
    from alignment.constitution import build_constitution
    from alignment.generation import model_rewriter

    from .conftest import SOURCE, make_consensus_result

    c = build_constitution(
        make_consensus_result(), source=SOURCE, rewriter=model_rewriter(*tiny, max_new_tokens=6)
    )
    assert {p.rewrite for p in c.principles} == {"template"}  # random weights: never well formed
    assert c.params["rewriter"] == "model"


def test_padded_batches_score_exactly_like_single_rows(tiny) -> None:
    """Left padding with mask-following positions and last-logits-only scoring changes nothing."""
    import torch

    from alignment.generation import completion_logprobs

    model, tokenizer = tiny
    prompts = ["Hello there, how are you today?", "Hi", "A longer prompt about privacy and more"]
    completions = ["(A)", "fine thanks", "(B)"]
    batched = completion_logprobs(model, tokenizer, prompts, completions, batch_size=3)
    for prompt, completion, score in zip(prompts, completions, batched, strict=True):
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c = tokenizer(completion, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + c])
        with torch.no_grad():
            logps = torch.log_softmax(model(input_ids=ids).logits.float()[0, :-1], -1)
        reference = logps[len(p) - 1 :].gather(-1, ids[0, len(p) :, None]).sum()
        assert score == pytest.approx(float(reference), abs=1e-4)
