"""CAI records → SFT / DPO / KTO JSONL files in TRL's standard conversational columns.

Why TRL's own column names (CONVENTIONS habit 7): `datasets.load_dataset("json", ...)` reads the
files and TRL's trainers accept them with no custom collator. Every row also carries
`principle_ids`, `constitution_version` and `constitution_hash`, so any trained behaviour can be
traced back to the principles (and thus the statements and votes) behind it; TRL ignores extra
columns.

- SFT: `prompt` + `completion` (completion-only loss; default) or `messages`.
- DPO: `prompt`, `chosen`, `rejected`. Source "revision": chosen = final revision, rejected =
  initial answer (no judge needed). Source "ai_feedback": the judge's soft label orders the pair
  and is stored as `soft_label`; rows whose label is within `margin` of 0.5 are dropped. The chain
  uses `DEFAULT_PAIR_MARGIN` = 0.1 (keep a pair only when the judge gives the preferred answer
  ≥ 0.6 after averaging both orders): below that, a judge's preference is indistinguishable from
  the position-bias noise measured on the calibration set (docs/alignment.md).
- KTO: `prompt`, `completion`, `label` — final revision True, initial answer False; with
  source "ai_feedback" the judge decides which answer is desirable (same margin rule).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from alignment.config import ConfigError, TrainingError

SFTFormat = Literal["prompt_completion", "messages"]
PreferenceSource = Literal["revision", "ai_feedback"]
DEFAULT_PAIR_MARGIN = 0.1


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _provenance(record: dict[str, Any], *, feedback: bool = False) -> dict[str, Any]:
    ids = [r["principle_id"] for r in record.get("rounds") or []]
    if feedback and record.get("feedback"):
        ids.append(record["feedback"]["principle_id"])
    return {
        "prompt_id": record["prompt_id"],
        "principle_ids": list(dict.fromkeys(ids)),
        "constitution_version": record["constitution_version"],
        "constitution_hash": record["constitution_hash"],
    }


def _usable(record: dict[str, Any]) -> bool:
    return bool(str(record.get("final") or "").strip())


def sft_rows(
    records: Iterable[dict[str, Any]], *, fmt: SFTFormat = "prompt_completion"
) -> list[dict[str, Any]]:
    """(prompt, final revision) rows; records with an empty final answer are skipped."""
    if fmt not in ("prompt_completion", "messages"):
        raise ConfigError(f"SFT format must be 'prompt_completion' or 'messages', got {fmt!r}")
    rows = []
    for record in filter(_usable, records):
        if fmt == "messages":
            row = {"messages": _user(record["prompt"]) + _assistant(record["final"])}
        else:
            row = {"prompt": _user(record["prompt"]), "completion": _assistant(record["final"])}
        rows.append(row | _provenance(record))
    return rows


def _differs(record: dict[str, Any]) -> bool:
    return _usable(record) and record["final"].strip() != str(record.get("initial", "")).strip()


def dpo_rows(
    records: Iterable[dict[str, Any]],
    *,
    source: PreferenceSource = "revision",
    margin: float = 0.0,
) -> list[dict[str, Any]]:
    """Preference pairs; pairs whose two responses are identical are skipped."""
    if source not in ("revision", "ai_feedback"):
        raise ConfigError(f"preference source must be 'revision' or 'ai_feedback', got {source!r}")
    rows = []
    for record in filter(_differs, records):
        final, initial = record["final"], record["initial"]
        row: dict[str, Any] = {"prompt": _user(record["prompt"])}
        if source == "ai_feedback":
            label = (record.get("feedback") or {}).get("soft_label")
            if label is None or abs(label - 0.5) <= margin:
                continue
            better, worse = (final, initial) if label > 0.5 else (initial, final)
            row |= {"soft_label": max(label, 1 - label)}
        else:
            better, worse = final, initial
        row |= {"chosen": _assistant(better), "rejected": _assistant(worse)}
        rows.append(row | _provenance(record, feedback=source == "ai_feedback"))
    return rows


def kto_rows(
    records: Iterable[dict[str, Any]],
    *,
    source: PreferenceSource = "revision",
    margin: float = 0.0,
) -> list[dict[str, Any]]:
    """Unpaired rows: the better answer desirable, the other undesirable (both labels present).

    Better = the final revision (source "revision") or the one the judge prefers beyond
    `margin` (source "ai_feedback"; undecided pairs are dropped).
    """
    rows = []
    for pair in dpo_rows(records, source=source, margin=margin):
        meta = {k: v for k, v in pair.items() if k not in ("chosen", "rejected")}
        for key, label in (("chosen", True), ("rejected", False)):
            rows.append(meta | {"completion": pair[key], "label": label})
    return rows


def preference_summary(records: Sequence[dict[str, Any]], margin: float) -> dict[str, Any]:
    """How many judged pairs there were and how many clear `margin` (for run.json and errors)."""
    labels = [r["feedback"]["soft_label"] for r in records if r.get("feedback") and _differs(r)]
    kept = [x for x in labels if abs(x - 0.5) > margin]
    return {
        "judged": len(labels),
        "kept": len(kept),
        "margin": margin,
        "min_label": min(labels, default=None),
        "max_label": max(labels, default=None),
    }


def write_jsonl(rows: Sequence[dict[str, Any]], path: Path | str) -> str:
    """Write rows atomically (temp file + rename); returns the file's sha256."""
    path = Path(path)
    if not rows:
        raise TrainingError(f"no rows to write to {path} (did generation produce any pairs?)")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the run folder is read by the group
    os.replace(tmp, path)
    return hashlib.sha256(payload).hexdigest()


def file_sha256(path: Path | str) -> str:
    """sha256 of a file's bytes (dataset provenance in run.json)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_jsonl_dataset(path: Path | str) -> Any:
    """The file as a `datasets.Dataset` (the 'train' split of the json builder)."""
    from datasets import load_dataset

    try:
        return load_dataset("json", data_files=str(path), split="train")
    except Exception as exc:  # datasets raises many types; translate once at this boundary
        raise TrainingError(f"cannot read dataset {path}: {exc}") from exc
