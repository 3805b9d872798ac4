"""Generation engines behind `generation.generate_detailed`: transformers (default) or vLLM.

Why an engine registry instead of a new call signature: CAI generation, scenario writing and the
evaluation's answers all go through `generate_detailed(model, tokenizer, prompts, ...)`. An
engine attached to a loaded model (`attach_engine`) takes over that model's *generation*; the
callers do not change. Scoring (`completion_logprobs`, judging, reward accuracy, the checks)
always stays on the transformers model: it needs exact log-probs of given continuations, which is
what the transformers path computes and tests.

Selection (`select_engine`), from `GenerationSettings.engine`:

- `transformers`: always the batched transformers path (KV cache, left padding).
- `auto` (default): vLLM when a CUDA device is visible **and** the `vllm` package is installed,
  else transformers — so a CPU machine, or a GPU machine without vLLM, never needs it.
- `vllm`: vLLM or a `ConfigError` saying why not (package missing, no CUDA device).

The vLLM engine gets the same token ids the transformers path would feed (our own tokenizer,
`add_special_tokens=False`, cut from the left to the model's context minus the budget), greedy
decoding as `temperature=0`, and reports `finished` from vLLM's `finish_reason == "stop"`.
Untested on a GPU in this repository's sessions so far (none was lent); the CPU tests check the
selection, the error, and the translation to vLLM's documented `LLM.generate` API on a stand-in.
"""

from __future__ import annotations

import importlib.util
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from alignment.config import ENGINES, ConfigError

VLLM_INSTALL = "pip install vllm (Linux with a CUDA GPU; see https://docs.vllm.ai)"


class Engine(Protocol):
    """What `generate_detailed` delegates to: formatted prompts in, (text, finished) pairs out,
    in order (`generate_detailed` makes them `Generated`; engines do not import it back)."""

    name: str

    def generate(
        self,
        tokenizer: Any,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        do_sample: bool,
        temperature: float,
        seed: int,
        max_prompt_tokens: int,
    ) -> list[tuple[str, bool]]: ...


def vllm_installed() -> bool:
    """Whether `import vllm` could work (found on the path; not imported here)."""
    return importlib.util.find_spec("vllm") is not None


def _cuda() -> bool:
    from alignment.config import cuda_available

    return cuda_available()


def select_engine(
    requested: str,
    *,
    device: str | None = None,
    cuda: bool | None = None,
    installed: bool | None = None,
) -> str:
    """'transformers' or 'vllm' for a requested engine; see the module docstring.

    `cuda` and `installed` default to what this machine has (tests pass them explicitly).
    A `device` of 'cpu' rules vLLM out (it is a GPU engine here).
    """
    if requested not in ENGINES:
        raise ConfigError(f"engine must be one of {ENGINES}, got {requested!r}")
    if requested == "transformers":
        return "transformers"
    installed = vllm_installed() if installed is None else installed
    if not installed:
        if requested == "auto":
            return "transformers"
        raise ConfigError(
            f"engine='vllm' but the vllm package is not installed: {VLLM_INSTALL}; "
            "or use engine='auto' (vLLM when available) or 'transformers'"
        )
    cuda = False if device == "cpu" else (_cuda() if cuda is None else cuda)
    if requested == "auto":
        return "vllm" if cuda else "transformers"
    if not cuda:
        raise ConfigError(
            "engine='vllm' needs a CUDA device and none is available"
            + (" (device='cpu')" if device == "cpu" else "")
            + "; use engine='auto' or 'transformers' on this machine"
        )
    return "vllm"


class VLLMEngine:
    """vLLM's offline `LLM` over a model folder, generating from our token ids."""

    name = "vllm"

    def __init__(
        self,
        model_path: Path | str,
        *,
        seed: int = 0,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.5,
        max_model_len: int | None = None,
    ) -> None:
        """Load the folder into vLLM. `gpu_memory_utilization` is kept at 0.5 by default
        because the transformers copy of the same model (used for scoring) shares the GPU."""
        try:
            import vllm
        except ImportError as exc:
            raise ConfigError(
                f"engine='vllm' but the vllm package cannot be imported ({exc}): {VLLM_INSTALL}"
            ) from exc
        self._vllm = vllm
        self.model_path = str(model_path)
        kwargs: dict[str, Any] = {
            "model": self.model_path,
            "tokenizer": self.model_path,
            "seed": seed,
            "dtype": dtype,
            "gpu_memory_utilization": gpu_memory_utilization,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self.llm = vllm.LLM(**kwargs)

    def sampling_params(
        self, *, max_new_tokens: int, do_sample: bool, temperature: float, seed: int
    ) -> Any:
        """Greedy is `temperature=0` in vLLM; special tokens are dropped like `batch_decode`."""
        return self._vllm.SamplingParams(
            max_tokens=max_new_tokens,
            temperature=temperature if do_sample else 0.0,
            seed=seed if do_sample else None,
            skip_special_tokens=True,
        )

    def generate(
        self,
        tokenizer: Any,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        do_sample: bool,
        temperature: float,
        seed: int,
        max_prompt_tokens: int,
    ) -> list[tuple[str, bool]]:
        requests = [
            {
                "prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"][
                    -max_prompt_tokens:
                ]
            }
            for p in prompts
        ]
        params = self.sampling_params(
            max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature, seed=seed
        )
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [(o.outputs[0].text.strip(), o.outputs[0].finish_reason == "stop") for o in outputs]


_ATTACHED: weakref.WeakKeyDictionary[Any, Engine] = weakref.WeakKeyDictionary()


def attach_engine(model: Any, engine: Engine | None) -> None:
    """Route `model`'s generation through `engine` (None detaches: back to transformers)."""
    if engine is None:
        _ATTACHED.pop(model, None)
    else:
        _ATTACHED[model] = engine


def engine_of(model: Any) -> Engine | None:
    """The engine attached to `model`, if any."""
    try:
        return _ATTACHED.get(model)
    except TypeError:  # not weak-referenceable: nothing can be attached to it
        return None


def attach_selected(
    model: Any, model_path: Path | str, requested: str, *, device: str | None, seed: int
) -> str:
    """Select the engine for a loaded model and attach vLLM when chosen; returns the name."""
    name = select_engine(requested, device=device)
    if name == "vllm":
        attach_engine(model, VLLMEngine(model_path, seed=seed))
    return name
