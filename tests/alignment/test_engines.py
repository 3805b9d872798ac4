"""Generation engines: which one runs (transformers / vLLM), the error without vLLM, and that an
attached engine really takes over generation behind the same interface.

No GPU and no vllm package here: vLLM itself is not run by these tests. The stand-in module below
checks our translation to vLLM's documented offline API (`LLM(model=…)`, `SamplingParams`,
`LLM.generate([{"prompt_token_ids": …}], params)` → outputs with `.text` and `.finish_reason`).
"""

from __future__ import annotations

import json
import sys
from types import ModuleType, SimpleNamespace

import pytest

from alignment.config import ChainConfig, ConfigError, GenerationSettings
from alignment.engines import (
    VLLMEngine,
    attach_engine,
    engine_of,
    select_engine,
    vllm_installed,
)
from alignment.generation import Generated, generate_chat, generate_detailed
from alignment.pipeline import run_chain

from .conftest import make_consensus_result


@pytest.mark.parametrize(
    ("requested", "device", "cuda", "installed", "expected"),
    [
        ("transformers", None, True, True, "transformers"),
        ("auto", None, False, False, "transformers"),
        ("auto", None, True, False, "transformers"),  # a GPU without vllm
        ("auto", None, False, True, "transformers"),  # vllm without a GPU
        ("auto", None, True, True, "vllm"),
        ("auto", "cpu", True, True, "transformers"),  # asked for the CPU
        ("vllm", None, True, True, "vllm"),
        ("vllm", "cuda", True, True, "vllm"),
    ],
)
def test_engine_selection(requested, device, cuda, installed, expected) -> None:
    assert select_engine(requested, device=device, cuda=cuda, installed=installed) == expected


def test_asking_for_vllm_where_it_cannot_run_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="vllm package is not installed: pip install vllm"):
        select_engine("vllm", cuda=True, installed=False)
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        select_engine("vllm", cuda=False, installed=True)
    with pytest.raises(ConfigError, match=r"needs a CUDA device.*device='cpu'"):
        select_engine("vllm", device="cpu", cuda=True, installed=True)
    with pytest.raises(ConfigError, match="engine must be one of"):
        select_engine("tgi")
    with pytest.raises(ConfigError, match="engine must be auto, transformers or vllm"):
        GenerationSettings(engine="tgi")


def test_this_machine_without_vllm_uses_transformers() -> None:
    if vllm_installed():
        pytest.skip("vllm is installed here; the stand-in tests below still run")
    assert select_engine("auto") == "transformers"
    with pytest.raises(ConfigError, match="not installed"):
        select_engine("vllm")


def test_vllm_engine_without_the_package_says_how_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` raises ImportError
    with pytest.raises(ConfigError, match="pip install vllm"):
        VLLMEngine(tmp_path)


class Recorder:
    """An engine that records what it is asked and answers with fixed text."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def generate(self, tokenizer, prompts, **kwargs):  # noqa: ANN001, ANN003
        self.calls.append({"prompts": list(prompts)} | kwargs)
        return [(f"answer {i}. And then", False) for i in range(len(prompts))]


def test_an_attached_engine_takes_over_generation_and_detaches(tiny) -> None:
    model, tokenizer = tiny
    conv = [[{"role": "user", "content": "Hello?"}], [{"role": "user", "content": "Hi"}]]
    before = generate_chat(model, tokenizer, conv, max_new_tokens=6)
    engine = Recorder()
    attach_engine(model, engine)
    try:
        assert engine_of(model) is engine
        out = generate_chat(
            model, tokenizer, conv, max_new_tokens=7, do_sample=True, seed=3, whole_sentences=True
        )
    finally:
        attach_engine(model, None)
    assert out == ["answer 0.", "answer 1."]  # unfinished → trimmed to a whole sentence
    [call] = engine.calls
    assert call["max_new_tokens"] == 7 and call["do_sample"] is True and call["seed"] == 3
    assert call["prompts"][0].endswith("<|im_start|>assistant\n")  # the chat template applied
    assert engine_of(model) is None
    assert generate_chat(model, tokenizer, conv, max_new_tokens=6) == before


def _fake_vllm(record: dict) -> ModuleType:
    module = ModuleType("vllm")

    class SamplingParams:
        def __init__(self, **kwargs) -> None:  # noqa: ANN003
            record["params"] = kwargs

    class LLM:
        def __init__(self, **kwargs) -> None:  # noqa: ANN003
            record["llm"] = kwargs

        def generate(self, requests, params, use_tqdm=True):  # noqa: ANN001
            record["requests"] = requests
            return [
                SimpleNamespace(
                    outputs=[
                        SimpleNamespace(text=f" out {i} ", finish_reason="stop" if i else "length")
                    ]
                )
                for i in range(len(requests))
            ]

    module.SamplingParams, module.LLM = SamplingParams, LLM  # type: ignore[attr-defined]
    return module


def test_vllm_engine_feeds_our_token_ids_and_maps_finish_reasons(
    monkeypatch, tiny, tiny_path
) -> None:
    model, tokenizer = tiny
    record: dict = {}
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm(record))
    engine = VLLMEngine(tiny_path, seed=5)
    assert record["llm"]["model"] == str(tiny_path) and record["llm"]["seed"] == 5
    attach_engine(model, engine)
    try:
        out = generate_detailed(model, tokenizer, ["abc def", "x"], max_new_tokens=9)
    finally:
        attach_engine(model, None)
    assert out == [Generated("out 0", False), Generated("out 1", True)]
    assert record["requests"] == [
        {"prompt_token_ids": tokenizer(t, add_special_tokens=False)["input_ids"]}
        for t in ["abc def", "x"]
    ]
    assert record["params"] == {
        "max_tokens": 9,
        "temperature": 0.0,  # greedy
        "seed": None,
        "skip_special_tokens": True,
    }


def test_a_run_asking_for_vllm_on_a_cpu_fails_clearly(tmp_path, model_cache, source) -> None:
    config = ChainConfig(
        device="cpu",
        cache_dir=str(model_cache),
        judge_check="off",
        generation=GenerationSettings(engine="vllm", max_new_tokens=4),
    )
    with pytest.raises(ConfigError, match="vllm"):
        run_chain(
            make_consensus_result(), source=source, model="tiny", out_dir=tmp_path, config=config
        )
    state = json.loads((tmp_path / "run.json").read_text())
    assert state["status"] == "failed" and state["error"]["step"] == "load_model"
