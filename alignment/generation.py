"""Batched generation, log-prob scoring and (A)/(B) judging with any causal LM.

Why these three in one module: CAI needs the model to (1) answer, critique and revise — batched
generation with left padding over chat-formatted prompts; (2) score fixed continuations — used
both for AI-feedback labels (P("(A)") vs P("(B)")) and for reward accuracy in evaluation; and
(3) judge pairs against a principle in the Bai et al. format, in both orders, because small
models are dominated by position bias (cai.md). A progress callback `(done, total)` lets the
Django worker report progress; raising from it stops the work (that is how tests interrupt).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

Progress = Callable[[int, int], None]
Message = dict[str, str]

# Bai et al. 2022, AI-feedback stage (cai.md); the last line is produced as the assistant turn.
JUDGE_TEMPLATE = (
    "Consider the following conversation between a human and an assistant:\n"
    "Human: {prompt}\n"
    "{principle}\n"
    "Options:\n"
    "(A) {a}\n"
    "(B) {b}\n"
    "Answer with (A) or (B)."
)
JUDGE_ANSWER_PREFIX = "The answer is: "
OPTIONS = ("(A)", "(B)")


def chat_text(tokenizer: Any, messages: Sequence[Message], *, add_generation_prompt: bool) -> str:
    """The chat template applied as text (special tokens included)."""
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
    )


def _max_prompt_tokens(model: Any, max_new_tokens: int) -> int:
    limit = getattr(model.config, "max_position_embeddings", 2048) or 2048
    return max(limit - max_new_tokens, 16)


def _batches(n: int, size: int) -> list[range]:
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


@dataclass(frozen=True)
class Generated:
    """One generated continuation and whether the model ended it (eos) or the budget did."""

    text: str
    finished: bool


# Where a sentence may end, in the scripts the prompt fixtures use (Latin, CJK, Arabic, Devanagari).
_SENTENCE_END = re.compile(r"[.!?。！？؟۔।…](?:[\"'”’)\]]*)(?=\s|$)|[。！？]")


def trim_to_sentence(text: str) -> str:
    """Cut an unfinished answer after its last complete sentence (the whole text if none ends).

    Why: a budget of N new tokens stops mid-word; SFT on such answers teaches the model to stop
    mid-sentence too. Only answers the budget cut (not the model's eos) are trimmed.
    """
    text = text.rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not ends:
        return text
    last = ends[-1]
    if "\n" in text[last:]:  # a finished line (list item, heading) also counts as an end
        last = max(last, text.rfind("\n"))
    return text[:last].rstrip()


def generate_texts(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 96,
    batch_size: int = 8,
    do_sample: bool = False,
    temperature: float = 0.7,
    seed: int = 0,
    progress: Progress | None = None,
    whole_sentences: bool = False,
) -> list[str]:
    """Continue each already-formatted prompt; returns only the new text, special tokens removed.

    `whole_sentences=True` trims an answer the token budget cut to its last complete sentence.
    """
    outputs = generate_detailed(
        model,
        tokenizer,
        prompts,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        do_sample=do_sample,
        temperature=temperature,
        seed=seed,
        progress=progress,
    )
    return [
        trim_to_sentence(o.text) if whole_sentences and not o.finished else o.text for o in outputs
    ]


def generate_detailed(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 96,
    batch_size: int = 8,
    do_sample: bool = False,
    temperature: float = 0.7,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[Generated]:
    """Batched generation (KV cache, left padding), prompts grouped by length.

    Why sort by length: a batch pads every prompt to its longest one, so batching similar
    lengths together wastes fewer positions; outputs come back in the caller's order. A model
    with an engine attached (`engines.attach_engine`, e.g. vLLM) generates through it instead.
    """
    from alignment.engines import engine_of

    engine = engine_of(model)
    if engine is not None:  # e.g. vLLM (engines.py): same inputs, same outputs
        out = engine.generate(
            tokenizer,
            prompts,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            seed=seed,
            max_prompt_tokens=_max_prompt_tokens(model, max_new_tokens),
        )
        if progress is not None:
            progress(len(prompts), len(prompts))
        return [Generated(text, finished) for text, finished in out]

    import torch

    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: lengths[i])
    results: dict[int, Generated] = {}
    for index, rows in enumerate(_batches(len(prompts), batch_size)):
        torch.manual_seed(seed + index)
        ids = [order[i] for i in rows]
        batch = _generate_batch(
            model, tokenizer, [prompts[i] for i in ids], max_new_tokens, do_sample, temperature
        )
        results.update(zip(ids, batch, strict=True))
        if progress is not None:
            progress(len(results), len(prompts))
    return [results[i] for i in range(len(prompts))]


def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
    ids = getattr(model.generation_config, "eos_token_id", None)
    ids = set(ids if isinstance(ids, list | tuple) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def _generate_batch(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    max_new_tokens: int,
    do_sample: bool,
    temperature: float,
) -> list[Generated]:
    import torch

    old_side, old_trunc = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    try:
        batch = tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=_max_prompt_tokens(model, max_new_tokens),
            add_special_tokens=False,
        ).to(model.device)
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = old_side, old_trunc
    sampling = (
        {"do_sample": True, "temperature": temperature}
        if do_sample
        else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    )
    with torch.no_grad():
        out = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            use_cache=True,
            **sampling,
        )  # (B, T + new)
    new_tokens = out[:, batch["input_ids"].shape[1] :]  # (B, new)
    stops = _stop_ids(model, tokenizer)
    finished = [any(int(t) in stops for t in row) for row in new_tokens]
    texts_out = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return [Generated(t.strip(), f) for t, f in zip(texts_out, finished, strict=True)]


def generate_chat(
    model: Any, tokenizer: Any, conversations: Sequence[Sequence[Message]], **kwargs: Any
) -> list[str]:
    """Next assistant turn for each conversation (same keyword arguments as `generate_texts`)."""
    texts = [chat_text(tokenizer, c, add_generation_prompt=True) for c in conversations]
    return generate_texts(model, tokenizer, texts, **kwargs)


# ------------------------------------------------------------------------------ scoring


def completion_logprobs(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    completions: Sequence[str],
    *,
    batch_size: int = 8,
    max_length: int | None = None,
) -> list[float]:
    """Sum of log p(completion tokens | prompt) for each (prompt, completion) text pair.

    Prompt and completion are tokenised separately and concatenated, so the completion's tokens
    are exactly those scored; long prompts are cut from the left.
    """
    limit = max_length or cast(int, getattr(model.config, "max_position_embeddings", 2048))
    pairs = [_pair_ids(tokenizer, p, c, limit) for p, c in zip(prompts, completions, strict=True)]
    scores: list[float] = []
    for rows in _batches(len(pairs), batch_size):
        scores += _score_batch(model, tokenizer, [pairs[i] for i in rows])
    return scores


def _pair_ids(tokenizer: Any, prompt: str, completion: str, limit: int) -> tuple[list[int], int]:
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"][: limit - 1]
    keep = max(limit - len(completion_ids), 1)
    prompt_ids = prompt_ids[-keep:]
    return prompt_ids + completion_ids, len(completion_ids)


def _score_batch(model: Any, tokenizer: Any, rows: list[tuple[list[int], int]]) -> list[float]:
    """Completion log-probs of one batch, left-padded so every completion ends the row.

    Why left padding: the completions ("(A)", an option, an answer) then sit in the last
    positions of every row, so the model computes logits for only those (`logits_to_keep`)
    instead of (B, T, V) — for a 49k vocabulary most of the cost of judging. Position ids
    follow the attention mask, so a padded row scores exactly as it would alone.
    """
    import torch

    width = max(len(ids) for ids, _ in rows)
    keep = max(n for _, n in rows) + 1
    pad = tokenizer.pad_token_id or 0
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in rows])  # (B, T)
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in rows])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (B, T)
    with torch.no_grad():
        logits = model(
            input_ids=input_ids.to(model.device),
            attention_mask=mask.to(model.device),
            position_ids=positions.to(model.device),
            logits_to_keep=keep,
        ).logits.float()  # (B, keep, V): positions T-keep .. T-1
    logps = torch.log_softmax(logits[:, :-1], dim=-1)  # predicts tokens T-keep+1 .. T-1
    targets = input_ids[:, width - keep + 1 :, None].to(logps.device)  # (B, keep-1, 1)
    token_logps = logps.gather(-1, targets)[..., 0]  # (B, keep-1)
    return [float(token_logps[row, keep - 1 - n :].sum()) for row, (_, n) in enumerate(rows)]


# ------------------------------------------------------------------------------ judging


@dataclass(frozen=True)
class Judgement:
    """P(first response better) under one principle, per order and averaged."""

    p_first_as_a: float
    p_first_as_b: float

    @property
    def p_first(self) -> float:
        """Position-bias-cancelling soft label: mean over both orders."""
        return (self.p_first_as_a + self.p_first_as_b) / 2


def judge_prompt(tokenizer: Any, prompt: str, principle: str, a: str, b: str) -> str:
    """Bai et al. comparison prompt as a chat turn, ending with 'The answer is: '."""
    user = JUDGE_TEMPLATE.format(prompt=prompt, principle=principle, a=a, b=b)
    text = chat_text(tokenizer, [{"role": "user", "content": user}], add_generation_prompt=True)
    return text + JUDGE_ANSWER_PREFIX


def _p_a(logp_a: float, logp_b: float) -> float:
    top = max(logp_a, logp_b)
    ea, eb = math.exp(logp_a - top), math.exp(logp_b - top)
    return ea / (ea + eb)


def judge_pairs(
    model: Any,
    tokenizer: Any,
    items: Sequence[tuple[str, str, str, str]],
    *,
    batch_size: int = 8,
    max_length: int | None = None,
) -> list[Judgement]:
    """For (prompt, principle, first, second): normalised P('(A)') vs P('(B)'), both orders."""
    texts = []
    for prompt, principle, first, second in items:
        texts += [
            judge_prompt(tokenizer, prompt, principle, first, second),
            judge_prompt(tokenizer, prompt, principle, second, first),
        ]
    prompts = [t for t in texts for _ in OPTIONS]
    options = [o for _ in texts for o in OPTIONS]
    logps = completion_logprobs(
        model, tokenizer, prompts, options, batch_size=batch_size, max_length=max_length
    )
    out = []
    for i in range(len(items)):
        a1, b1, a2, b2 = logps[4 * i : 4 * i + 4]
        out.append(Judgement(p_first_as_a=_p_a(a1, b1), p_first_as_b=1 - _p_a(a2, b2)))
    return out


# ------------------------------------------------------------------------------ model rewrite

REWRITE_EXAMPLES = (
    (
        "AI should respect the privacy of its users.",
        "Choose the response that best respects the privacy of the user.",
    ),
    (
        "It is important that AI does not take sides on contested political questions.",
        "Choose the response that is most balanced on contested political questions.",
    ),
)
REWRITE_INSTRUCTION = (
    "Rewrite the statement as a principle for judging an AI assistant's responses. "
    "Start with 'Choose the response that'. Keep its meaning. Statement: "
)


def model_rewriter(model: Any, tokenizer: Any, *, max_new_tokens: int = 48) -> Callable[[str], str]:
    """A statement → principle rewriter backed by a model (few-shot, greedy, first line only).

    The constitution builder keeps the template rewrite when the output does not start with
    'Choose the response that', and records which one it used.
    """

    def rewrite(statement: str) -> str:
        messages: list[Message] = []
        for source, target in REWRITE_EXAMPLES:
            messages += [
                {"role": "user", "content": REWRITE_INSTRUCTION + source},
                {"role": "assistant", "content": target},
            ]
        messages.append({"role": "user", "content": REWRITE_INSTRUCTION + statement})
        text = generate_chat(model, tokenizer, [messages], max_new_tokens=max_new_tokens)[0]
        return text.splitlines()[0].strip() if text else ""

    return rewrite


SCENARIO_INSTRUCTION = (
    "Write one realistic request that a user might send to an AI assistant, in the language "
    "'{language}', where the assistant's answer should follow this view: \"{statement}\". "
    "Write only the request."
)


def model_scenario_writer(
    model: Any, tokenizer: Any, *, max_new_tokens: int = 64
) -> Callable[[str, str], str]:
    """A (statement, language) → user request writer backed by a model (greedy, first line).

    Used by `grounding.build_conversation_prompts(writer=...)`; its prompts are tagged `model`.
    """

    def write(statement: str, language: str) -> str:
        user = SCENARIO_INSTRUCTION.format(language=language, statement=statement)
        text = generate_chat(
            model, tokenizer, [[{"role": "user", "content": user}]], max_new_tokens=max_new_tokens
        )[0]
        return text.splitlines()[0].strip().strip('"') if text else ""

    return write


# ------------------------------------------------------------------------------ throughput


def generation_throughput(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[Sequence[Message]],
    *,
    batch_size: int = 8,
    max_new_tokens: int = 64,
) -> dict[str, float]:
    """Greedy tokens/s over the conversations (generated non-pad tokens / wall time)."""
    import time

    import torch

    texts = [chat_text(tokenizer, c, add_generation_prompt=True) for c in conversations]
    tokens, started = 0, time.perf_counter()
    for rows in _batches(len(texts), batch_size):
        old_side = tokenizer.padding_side
        tokenizer.padding_side = "left"
        batch = tokenizer(
            [texts[i] for i in rows], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(model.device)
        tokenizer.padding_side = old_side
        with torch.no_grad():
            out = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )  # (B, T + new)
        new = out[:, batch["input_ids"].shape[1] :]  # (B, new)
        tokens += int((new != tokenizer.pad_token_id).sum())
    seconds = time.perf_counter() - started
    return {
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
        "batch_size": batch_size,
        "prompts": len(texts),
        "max_new_tokens": max_new_tokens,
    }
