"""Errors and training configuration for the alignment library.

Why this module is light: the Django layer imports the error types and the config dataclasses
to validate a training request *before* queueing a job, so nothing here imports torch or TRL at
module level. The TRL config objects (`SFTConfig`, `DPOConfig`, `KTOConfig`) are composed on
demand by `to_trl()` (CONVENTIONS habit 7): our dataclass holds the handful of knobs we support,
validated in `__post_init__`, and `extra` passes any other TRL field through unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, overload

# ------------------------------------------------------------------------------------ errors


class AlignmentError(Exception):
    """Base of every error this library raises on purpose.

    `permanent` tells a job runner whether retrying can help.
    """

    permanent: bool = True


class ConfigError(AlignmentError, ValueError):
    """A bad configuration value (raised at construction, before any work starts)."""


class ConstitutionError(AlignmentError):
    """No constitution from this consensus result (empty, no groups, unknown ids, none pass)."""


class ModelLoadError(AlignmentError):
    """A model spec cannot be resolved or loaded offline, or does not fit in memory."""


class PromptFileError(AlignmentError):
    """A prompt JSONL file is malformed; the message names the file and line."""


class GenerationError(AlignmentError):
    """CAI generation could not proceed (e.g. a corrupt output file)."""


class TrainingError(AlignmentError):
    """A training stage failed (bad dataset, trainer error)."""

    permanent = False


# ------------------------------------------------------------------------------------ configs

Method = Literal["dpo", "kto"]
METHODS: tuple[str, ...] = ("dpo", "kto")
Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
ENGINES: tuple[str, ...] = ("auto", "transformers", "vllm")  # generation engines: engines.py


def _help(text: str, default: Any) -> Any:
    if isinstance(default, tuple | Mapping):
        return field(default_factory=lambda: default, metadata={"help": text})
    return field(default=default, metadata={"help": text})


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def cuda_available() -> bool:
    """True when torch sees a CUDA device (imports torch lazily)."""
    import torch

    return torch.cuda.is_available()


@dataclass(frozen=True)
class TrainConfig:
    """Knobs shared by every stage; stage subclasses add their own and pick the TRL class."""

    output_dir: str = _help("Folder for checkpoints and the final model.", "")
    max_steps: int = _help("Optimizer steps (by steps, not epochs: predictable runs).", 20)
    learning_rate: float = _help("Peak learning rate.", 1e-4)
    per_device_train_batch_size: int = _help("Examples per device per step.", 4)
    gradient_accumulation_steps: int = _help("Micro-batches accumulated per optimizer step.", 1)
    max_length: int = _help("Truncate tokenised examples to this many tokens (TRL pitfall 5).", 512)
    save_steps: int = _help("Write a resumable checkpoint every N steps.", 50)
    save_total_limit: int = _help("Keep at most this many checkpoints.", 2)
    logging_steps: int = _help("Report loss every N steps.", 1)
    seed: int = _help("Seed for data order and init of LoRA weights.", 0)
    device: str = _help("'auto' (CUDA if present), 'cpu' or 'cuda'.", "auto")
    use_lora: bool = _help("Train LoRA adapters (merged on save), not all weights.", False)
    lora_r: int = _help("LoRA rank.", 16)
    lora_alpha: int = _help("LoRA alpha.", 32)
    lora_dropout: float = _help("LoRA dropout.", 0.0)
    lora_target_modules: tuple[str, ...] = _help(
        "Module names LoRA wraps.", ("q_proj", "k_proj", "v_proj", "o_proj")
    )
    extra: Mapping[str, Any] = _help("Any other TRL config field, passed through unchanged.", {})

    def __post_init__(self) -> None:
        _require(bool(self.output_dir), "output_dir is required")
        _require(self.max_steps >= 1, f"max_steps must be >= 1, got {self.max_steps}")
        _require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        _require(self.per_device_train_batch_size >= 1, "per_device_train_batch_size must be >= 1")
        _require(self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be >= 1")
        _require(self.max_length >= 16, f"max_length must be >= 16, got {self.max_length}")
        _require(self.save_steps >= 1, "save_steps must be >= 1")
        _require(self.logging_steps >= 1, "logging_steps must be >= 1")
        _require(self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}")
        _require(self.lora_r >= 1, "lora_r must be >= 1")
        _require(0 <= self.lora_dropout < 1, "lora_dropout must be in [0, 1)")
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        object.__setattr__(self, "lora_target_modules", tuple(self.lora_target_modules))

    # The TRL class is chosen by the subclass.
    trl_class_name = "SFTConfig"

    def on_gpu(self) -> bool:
        """Whether this run trains on CUDA (resolves 'auto')."""
        if self.device == "cpu":
            return False
        has_cuda = cuda_available()
        if self.device == "cuda" and not has_cuda:
            raise ConfigError("device='cuda' but no CUDA device is available")
        return has_cuda

    def trl_kwargs(self) -> dict[str, Any]:
        """The TRL/transformers arguments we set; bf16 only on GPU (TRL pitfall 1)."""
        gpu = self.on_gpu()
        return {
            "output_dir": self.output_dir,
            "max_steps": self.max_steps,
            "learning_rate": self.learning_rate,
            "per_device_train_batch_size": self.per_device_train_batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "max_length": self.max_length,
            "save_steps": self.save_steps,
            "save_total_limit": self.save_total_limit,
            "logging_steps": self.logging_steps,
            "seed": self.seed,
            "bf16": gpu,
            "use_cpu": not gpu,
            "gradient_checkpointing": False,  # TRL pitfall 2: slower and pointless for small models
            "report_to": "none",
            "include_num_input_tokens_seen": True,
            "disable_tqdm": True,
        }

    def to_trl(self) -> Any:
        """Build the TRL config object (SFTConfig / DPOConfig / KTOConfig)."""
        import trl

        kwargs = self.trl_kwargs() | dict(self.extra)
        try:
            return getattr(trl, self.trl_class_name)(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid {self.trl_class_name} arguments: {exc}") from exc

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view, for run.json."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["extra"] = dict(self.extra)
        data["lora_target_modules"] = list(self.lora_target_modules)
        return data


@dataclass(frozen=True)
class SFTRunConfig(TrainConfig):
    """Supervised stage on (prompt, final revision)."""

    completion_only_loss: bool = _help("Loss on the completion only (prompt/completion).", True)
    trl_class_name = "SFTConfig"

    def trl_kwargs(self) -> dict[str, Any]:
        return super().trl_kwargs() | {"completion_only_loss": self.completion_only_loss}


@dataclass(frozen=True)
class DPORunConfig(TrainConfig):
    """Direct preference optimisation on (prompt, chosen, rejected)."""

    learning_rate: float = _help("Peak learning rate.", 5e-5)
    beta: float = _help("KL strength of DPO.", 0.1)
    trl_class_name = "DPOConfig"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.beta > 0, f"beta must be > 0, got {self.beta}")

    def trl_kwargs(self) -> dict[str, Any]:
        return super().trl_kwargs() | {"beta": self.beta}


@dataclass(frozen=True)
class KTORunConfig(TrainConfig):
    """KTO on (prompt, completion, label) rows; needs both labels present."""

    learning_rate: float = _help("Peak learning rate.", 5e-5)
    beta: float = _help("KL strength of KTO.", 0.1)
    desirable_weight: float = _help("Loss weight of desirable (label=True) rows.", 1.0)
    undesirable_weight: float = _help("Loss weight of undesirable (label=False) rows.", 1.0)
    trl_class_name = "KTOConfig"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.beta > 0, f"beta must be > 0, got {self.beta}")
        _require(min(self.desirable_weight, self.undesirable_weight) > 0, "KTO weights must be > 0")
        _require(self.per_device_train_batch_size >= 2, "KTO needs a batch size >= 2")

    def trl_kwargs(self) -> dict[str, Any]:
        return super().trl_kwargs() | {
            "beta": self.beta,
            "desirable_weight": self.desirable_weight,
            "undesirable_weight": self.undesirable_weight,
        }


def preference_config_class(method: str) -> type[TrainConfig]:
    """DPORunConfig or KTORunConfig; anything else is a ConfigError listing the valid choices."""
    _require(method in METHODS, f"method must be one of {METHODS}, got {method!r}")
    return DPORunConfig if method == "dpo" else KTORunConfig


@dataclass(frozen=True)
class GenerationSettings:
    """How CAI data is generated."""

    rounds: int = _help("Critique → revision rounds per prompt (Bai et al. use up to 4).", 1)
    max_new_tokens: int = _help("Tokens generated per answer, critique or revision.", 96)
    batch_size: int = _help("Prompts generated together (left padding).", 8)
    do_sample: bool = _help("Sample instead of greedy decoding.", False)
    temperature: float = _help("Sampling temperature (when do_sample).", 0.7)
    seed: int = _help("Seed for principle sampling and sampling.", 0)
    ai_feedback: bool = _help("Also judge (initial, revision) by a principle.", True)
    engine: str = _help(
        "Generation engine: 'auto' (vLLM when a CUDA device and the vllm package are there, "
        "else transformers), 'transformers' or 'vllm' (an error when it cannot run).",
        "auto",
    )

    def __post_init__(self) -> None:
        _require(1 <= self.rounds <= 8, f"rounds must be in 1..8, got {self.rounds}")
        _require(
            self.engine in ENGINES,
            f"engine must be auto, transformers or vllm, not {self.engine!r}",
        )
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")
        _require(self.batch_size >= 1, "batch_size must be >= 1")
        _require(self.temperature > 0, "temperature must be > 0")


@dataclass(frozen=True)
class ChainConfig:
    """Everything `pipeline.run_chain` needs besides the consensus result; defaults run on a CPU."""

    rule: str = _help("Constitution rule: mea, gic, bridging or manual.", "mea")
    circumstances: str = _help(
        "Statements of fact about the voter: exclude (default), flag or keep.", "exclude"
    )
    threshold: float | None = _help("Rule threshold (None: the rule's default).", None)
    statement_ids: tuple[str, ...] = _help("Statement ids for rule='manual'.", ())
    dedup: str = _help("Near-duplicate merge: tfidf, embeddings or none.", "tfidf")
    prompt_set: str = _help(
        "'conversation' (scenarios built from the constitution's own statements, in "
        "`languages`) or 'generic' (the shipped fixtures); a prompts_path overrides it.",
        "conversation",
    )
    languages: tuple[str, ...] = _help(
        "Languages of the conversation prompts (empty: the source's languages, else en).", ()
    )
    topic: str | None = _help("Topic named in conversation prompts (None: the source's).", None)
    model_scenarios: bool = _help(
        "Also let the critic write one scenario per principle and language (tagged 'model').",
        False,
    )
    prompts: tuple[Mapping[str, Any], ...] = _help(
        "An uploaded training prompt set ({id, prompt, language, tags, principle_ids} rows).", ()
    )
    prompts_path: str | None = _help("Training prompts JSONL (overrides prompt_set).", None)
    heldout_path: str | None = _help("Held-out prompts JSONL (overrides prompt_set).", None)
    max_prompts: int | None = _help("Use only the first N training prompts.", None)
    max_heldout: int | None = _help("Use only the first N held-out prompts.", None)
    generation: GenerationSettings = field(
        default_factory=GenerationSettings, metadata={"help": "CAI generation settings."}
    )
    sft_steps: int = _help("SFT optimizer steps.", 20)
    pref_steps: int = _help("DPO/KTO optimizer steps.", 20)
    batch_size: int = _help("Training batch size.", 4)
    max_length: int = _help("Training max_length in tokens.", 384)
    use_lora: bool = _help("Train LoRA adapters.", False)
    device: str = _help("auto, cpu or cuda.", "auto")
    seed: int = _help("Seed for everything.", 0)
    seeds: tuple[int, ...] = _help(
        "Training seeds: one SFT + DPO/KTO training and evaluation per seed on the same data, "
        "aggregated with a t interval (empty: just `seed`). The first is the run's main model.",
        (),
    )
    cache_dir: str | None = _help("Model cache folder (None: ~/.cache/concord/models).", None)
    preference_source: str = _help(
        "Preference pairs: 'auto' (the judge's label when a judge_model is set, else the "
        "revision), 'revision' or 'ai_feedback'.",
        "auto",
    )
    pair_margin: float = _help(
        "Judge-labelled pairs are kept only when |soft_label - 0.5| > this (0.1: >= 0.6).", 0.1
    )
    critic_model: str | None = _help(
        "Model that critiques and revises (None: the student itself).", None
    )
    judge_model: str | None = _help(
        "Model that labels preferences and judges the evaluation (None: the student itself, "
        "which grades its own homework: a warning is recorded).",
        None,
    )
    judge_check: str = _help(
        "Calibrate the judge before generating: 'warn' (record a warning below "
        "min_judge_accuracy), 'refuse' (fail the run) or 'off'.",
        "warn",
    )
    min_judge_accuracy: float = _help(
        "Calibration accuracy (both orders averaged) a judge needs.", 0.75
    )
    calibration_limit: int | None = _help(
        "Use only the first N calibration pairs (None: all; smaller is faster).", None
    )
    heldout_statements: float = _help(
        "Share of the non-constitution statements used for the per-group stance evaluation "
        "(they are never principles).",
        1.0,
    )
    bootstrap: int = _help("Bootstrap resamples for evaluation intervals.", 1000)

    def __post_init__(self) -> None:
        _require(self.sft_steps >= 1 and self.pref_steps >= 1, "steps must be >= 1")
        _require(
            self.preference_source in ("auto", "revision", "ai_feedback"),
            "preference_source must be auto, revision or ai_feedback, "
            f"not {self.preference_source!r}",
        )
        _require(0 <= self.pair_margin < 0.5, "pair_margin must be in [0, 0.5)")
        _require(self.judge_check in ("warn", "refuse", "off"), "judge_check: warn, refuse or off")
        _require(0 <= self.min_judge_accuracy <= 1, "min_judge_accuracy must be in [0, 1]")
        _require(
            self.prompt_set in ("conversation", "generic"),
            f"prompt_set must be conversation or generic, not {self.prompt_set!r}",
        )
        _require(
            self.circumstances in ("exclude", "flag", "keep"),
            f"circumstances must be exclude, flag or keep, not {self.circumstances!r}",
        )
        _require(0 < self.heldout_statements <= 1, "heldout_statements must be in (0, 1]")
        _require(self.bootstrap >= 0, "bootstrap must be >= 0")
        object.__setattr__(self, "languages", tuple(str(x) for x in self.languages))
        object.__setattr__(self, "prompts", tuple(dict(x) for x in self.prompts))
        _require(self.dedup in ("tfidf", "embeddings", "none"), f"bad dedup {self.dedup!r}")
        _require(self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}")
        object.__setattr__(self, "statement_ids", tuple(str(s) for s in self.statement_ids))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        _require(len(set(self.seeds)) == len(self.seeds), f"seeds repeat: {list(self.seeds)}")

    @overload
    def stage_config(
        self, stage: Literal["sft"], output_dir: Path, seed: int | None = None
    ) -> SFTRunConfig: ...
    @overload
    def stage_config(
        self, stage: str, output_dir: Path, seed: int | None = None
    ) -> TrainConfig: ...
    def stage_config(self, stage: str, output_dir: Path, seed: int | None = None) -> TrainConfig:
        """The TrainConfig for 'sft', 'dpo' or 'kto' under this chain's settings.

        `seed` (default: the first training seed) sets data order and LoRA initialisation.
        """
        cls = SFTRunConfig if stage == "sft" else preference_config_class(stage)
        steps = self.sft_steps if stage == "sft" else self.pref_steps
        return cls(
            output_dir=str(output_dir),
            max_steps=steps,
            per_device_train_batch_size=self.batch_size,
            max_length=self.max_length,
            save_steps=max(steps // 2, 1),
            use_lora=self.use_lora,
            device=self.device,
            seed=self.training_seeds()[0] if seed is None else seed,
        )

    def training_seeds(self) -> tuple[int, ...]:
        """The seeds the chain trains with: `seeds`, or just `seed`."""
        return self.seeds or (self.seed,)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view, for run.json."""
        data = dataclasses.asdict(self)
        data["statement_ids"] = list(self.statement_ids)
        data["languages"] = list(self.languages)
        data["prompts"] = [dict(x) for x in self.prompts]
        data["seeds"] = list(self.seeds)
        return data

    def resolved_preference_source(self) -> str:
        """'auto' → the judge's label when a separate judge is set, else the revision."""
        if self.preference_source != "auto":
            return self.preference_source
        return "ai_feedback" if self.judge_model else "revision"
