"""SFT and DPO/KTO training as thin functions over TRL's trainers (no loop of our own).

Why this shape (CONVENTIONS habit 7, anti-pattern 1): load dataset → build trainer → `train()` →
save, one function per stage. The TRL pitfalls from cai.md are handled here once:
(1) bf16 only on GPU, `use_cpu` otherwise (in `TrainConfig.trl_kwargs`); (2) gradient
checkpointing off; (3) each stage loads its model from the previous stage's *saved folder* and
DPO/KTO get that folder's weights as an explicit `ref_model` (with LoRA the adapter-disabled
model is the reference); (5) `max_length` always set.

Resumability (habit 9): checkpoints every `save_steps` hold weights, optimizer, scheduler and RNG
state (transformers' `Trainer`); the full config is written as `run_config.json` beside them; a
rerun with the same `output_dir` resumes from the last checkpoint. The final model (LoRA merged)
is saved to `<output_dir>/model`, the folder the next stage loads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignment.config import (
    ConfigError,
    KTORunConfig,
    SFTRunConfig,
    TrainConfig,
    TrainingError,
    preference_config_class,
)
from alignment.datasets_io import load_jsonl_dataset
from alignment.modeling import check_fits, load_tokenizer, make_group_readable

TrainProgress = Callable[[int, int, dict[str, Any]], None]
MODEL_SUBDIR = "model"
RUN_CONFIG = "run_config.json"


@dataclass(frozen=True)
class TrainResult:
    """Where the trained model is and how training went (JSON-safe via `to_dict`)."""

    stage: str
    output_dir: str
    model_dir: str
    metrics: dict[str, Any]
    resumed_from: str | None = None
    log_history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "output_dir": self.output_dir,
            "model_dir": self.model_dir,
            "metrics": self.metrics,
            "resumed_from": self.resumed_from,
        }


def _progress_callback(progress: TrainProgress) -> Any:
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        """Forwards every log event (loss, learning rate, …) to the user callback."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            progress(int(state.global_step), int(state.max_steps), dict(logs or {}))

    return ProgressCallback()


def last_checkpoint(output_dir: Path | str) -> str | None:
    """The newest `checkpoint-N` folder in `output_dir`, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    path = Path(output_dir)
    return get_last_checkpoint(str(path)) if path.is_dir() else None


def load_trainable(path: Path | str, config: TrainConfig) -> Any:
    """Model weights for training: float32 on CPU, bf16 on GPU, after a fit check."""
    import torch
    from transformers import AutoModelForCausalLM

    gpu = config.on_gpu()
    device = "cuda" if gpu else "cpu"
    check_fits(
        Path(path),
        device=device,
        dtype="bfloat16" if gpu else "float32",
        training="lora" if config.use_lora else "full",
    )
    dtype = torch.bfloat16 if gpu else torch.float32
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)


def _peft_config(config: TrainConfig) -> Any:
    if not config.use_lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        task_type="CAUSAL_LM",
        target_modules=list(config.lora_target_modules),
    )


def _write_run_config(
    config: TrainConfig, stage: str, model_path: Path | str, dataset_path: Path | str
) -> None:
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "stage": stage,
        "model_path": str(model_path),
        "dataset_path": str(dataset_path),
        "config": config.to_dict(),
    }
    (out / RUN_CONFIG).write_text(json.dumps(meta, indent=2))


def _metrics(
    trainer: Any, output: Any, seconds: float, start_step: int, start_tokens: int
) -> dict[str, Any]:
    """Figures over the whole stage, honest after a resume.

    Why not Trainer's own: resumed at its last step, `train()` reports `training_loss` 0.0 and a
    runtime of milliseconds against the *total* token count (2.3e9 tokens/s in issue 12). So the
    loss is the mean of every logged loss (the log history is restored from the checkpoint),
    and throughput counts only the tokens and steps this call trained, over its own runtime.
    """
    state = trainer.state
    losses = [e["loss"] for e in state.log_history if "loss" in e]
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    runtime = float(output.metrics.get("train_runtime", seconds))
    steps_now = int(state.global_step) - start_step
    tokens_now = tokens - start_tokens
    return {
        "steps": int(state.global_step),
        "max_steps": int(state.max_steps),
        "steps_this_run": steps_now,
        "resumed_at_step": start_step or None,
        "train_loss": float(sum(losses) / len(losses)) if losses else None,
        "final_loss": float(losses[-1]) if losses else None,
        "first_loss": float(losses[0]) if losses else None,
        "runtime_s": round(runtime, 3),
        "tokens_seen": tokens,
        "tokens_this_run": tokens_now,
        "tokens_per_s": round(tokens_now / runtime, 1)
        if runtime > 0 and tokens_now > 0 and steps_now > 0
        else None,
        "steps_per_s": round(steps_now / runtime, 4) if runtime > 0 and steps_now > 0 else None,
    }


def _checkpoint_position(checkpoint: str | None) -> tuple[int, int]:
    """(global step, tokens seen) stored in a checkpoint's trainer_state.json ((0, 0) if none)."""
    if not checkpoint:
        return 0, 0
    try:
        data = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return 0, 0
    return int(data.get("global_step") or 0), int(data.get("num_input_tokens_seen") or 0)


def _run(trainer: Any, stage: str, config: TrainConfig, resume: bool) -> TrainResult:
    """train() (resuming if a checkpoint exists) → merge LoRA → save model + tokenizer."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # logs go to the progress callback, not stdout
    checkpoint = last_checkpoint(config.output_dir) if resume else None
    start_step, start_tokens = _checkpoint_position(checkpoint)
    started = time.monotonic()
    try:
        output = trainer.train(resume_from_checkpoint=checkpoint)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise TrainingError(f"{stage} training failed: {exc}") from exc
    model = trainer.model
    if config.use_lora:
        model = model.merge_and_unload()
    model_dir = Path(config.output_dir) / MODEL_SUBDIR
    model.save_pretrained(model_dir)
    trainer.processing_class.save_pretrained(model_dir)
    make_group_readable(Path(config.output_dir))
    return TrainResult(
        stage,
        config.output_dir,
        str(model_dir),
        _metrics(trainer, output, time.monotonic() - started, start_step, start_tokens),
        checkpoint,
        list(trainer.state.log_history),
    )


def train_sft(
    model_path: Path | str,
    dataset_path: Path | str,
    config: SFTRunConfig,
    *,
    progress: TrainProgress | None = None,
    resume: bool = True,
) -> TrainResult:
    """Supervised fine-tuning on an SFT JSONL (prompt/completion or messages)."""
    from trl import SFTTrainer

    if not isinstance(config, SFTRunConfig):
        raise ConfigError("train_sft needs an SFTRunConfig")
    _write_run_config(config, "sft", model_path, dataset_path)
    trainer = SFTTrainer(
        model=load_trainable(model_path, config),
        args=config.to_trl(),
        train_dataset=load_jsonl_dataset(dataset_path),
        processing_class=load_tokenizer(Path(model_path)),
        peft_config=_peft_config(config),
        callbacks=[_progress_callback(progress)] if progress else None,
    )
    return _run(trainer, "sft", config, resume)


def train_preference(
    model_path: Path | str,
    dataset_path: Path | str,
    config: TrainConfig,
    *,
    method: str = "dpo",
    progress: TrainProgress | None = None,
    resume: bool = True,
) -> TrainResult:
    """DPO or KTO from a saved (SFT) model folder; the same folder is the reference model."""
    import trl

    expected = preference_config_class(method)
    if not isinstance(config, expected):
        raise ConfigError(f"method {method!r} needs a {expected.__name__}")
    dataset = load_jsonl_dataset(dataset_path)
    if isinstance(config, KTORunConfig) and len(set(dataset["label"])) < 2:
        raise TrainingError("KTO needs both desirable and undesirable rows")
    _write_run_config(config, method, model_path, dataset_path)
    trainer_cls = trl.DPOTrainer if method == "dpo" else trl.KTOTrainer
    reference = None if config.use_lora else load_trainable(model_path, config)
    trainer = trainer_cls(
        model=load_trainable(model_path, config),
        ref_model=reference,
        args=config.to_trl(),
        train_dataset=dataset,
        processing_class=load_tokenizer(Path(model_path)),
        peft_config=_peft_config(config),
        callbacks=[_progress_callback(progress)] if progress else None,
    )
    return _run(trainer, method, config, resume)
