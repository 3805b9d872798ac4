"""Config dataclasses: validation at construction, TRL pitfalls handled in the TRL objects."""

import pytest

from alignment.config import (
    ChainConfig,
    ConfigError,
    DPORunConfig,
    GenerationSettings,
    KTORunConfig,
    SFTRunConfig,
    preference_config_class,
)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (SFTRunConfig, {"output_dir": ""}, "output_dir"),
        (SFTRunConfig, {"output_dir": "x", "max_steps": 0}, "max_steps"),
        (SFTRunConfig, {"output_dir": "x", "learning_rate": -1}, "learning_rate"),
        (SFTRunConfig, {"output_dir": "x", "device": "tpu"}, "device"),
        (SFTRunConfig, {"output_dir": "x", "max_length": 4}, "max_length"),
        (DPORunConfig, {"output_dir": "x", "beta": 0}, "beta"),
        (KTORunConfig, {"output_dir": "x", "per_device_train_batch_size": 1}, "batch size"),
        (KTORunConfig, {"output_dir": "x", "desirable_weight": 0}, "weights"),
        (GenerationSettings, {"rounds": 0}, "rounds"),
        (ChainConfig, {"dedup": "exact"}, "dedup"),
        (ChainConfig, {"preference_source": "votes"}, "preference_source"),
    ],
)
def test_bad_values_fail_at_construction(cls, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)


def test_unknown_method_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"\('dpo', 'kto'\)"):
        preference_config_class("ppo")


def test_trl_config_on_cpu_avoids_the_known_pitfalls(tmp_path) -> None:
    trl_config = DPORunConfig(output_dir=str(tmp_path), device="cpu", max_length=128).to_trl()
    assert type(trl_config).__name__ == "DPOConfig"
    assert trl_config.bf16 is False and trl_config.use_cpu is True  # pitfall 1
    assert trl_config.gradient_checkpointing is False  # pitfall 2
    assert trl_config.max_length == 128  # pitfall 5
    assert trl_config.beta == 0.1


def test_extra_fields_pass_through_and_bad_ones_are_config_errors(tmp_path) -> None:
    cfg = SFTRunConfig(output_dir=str(tmp_path), device="cpu", extra={"warmup_steps": 3})
    assert cfg.to_trl().warmup_steps == 3
    with pytest.raises(ConfigError, match="SFTConfig"):
        SFTRunConfig(output_dir=str(tmp_path), device="cpu", extra={"no_such_field": 1}).to_trl()


def test_to_dict_is_json_safe(tmp_path) -> None:
    import json

    json.dumps(KTORunConfig(output_dir=str(tmp_path), extra={"a": 1}).to_dict())
    json.dumps(ChainConfig().to_dict())
