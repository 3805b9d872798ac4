"""Constitutional AI data generation: answer → critique → revision, plus AI-feedback labels.

Why resumable JSONL: generating with a CPU model takes minutes to hours and the Django worker may
be killed at any time. Each prompt's record is appended as one whole line (flushed and fsynced)
once it is complete; a rerun skips prompt ids already in the file, and a torn last line from a
crash is cut off before resuming, so the file never holds duplicates or half records.

Principles are sampled with an RNG seeded by (seed, prompt id), so a resumed run samples exactly
the principles an uninterrupted one would (with `do_sample=True` the generated text itself may
differ after a resume, since sampling seeds follow batches). Format: Bai et al. 2022 (cai.md),
as chat turns, with two worked examples prepended so small models keep the format.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alignment.cleaning import clean_answer, clean_critique, clean_revision
from alignment.config import GenerationError, GenerationSettings, PromptFileError
from alignment.constitution import Constitution, Principle
from alignment.generation import Message, generate_chat, judge_pairs
from alignment.relevance import relevant_principles

Progress = Callable[[int, int], None]
FIXTURE_PROMPTS = Path(__file__).resolve().parent.parent / "fixtures" / "prompts"

# ------------------------------------------------------------------------------ prompts


@dataclass(frozen=True)
class Prompt:
    """One user request to generate CAI data for."""

    id: str
    prompt: str
    language: str = "und"
    tags: tuple[str, ...] = field(default_factory=tuple)
    principle_ids: tuple[str, ...] = field(default_factory=tuple)  # what a grounded prompt probes

    def to_dict(self) -> dict[str, Any]:
        """One JSONL line of a prompt file (the fields `load_prompts` reads)."""
        data: dict[str, Any] = {"id": self.id, "prompt": self.prompt, "language": self.language}
        data["tags"] = list(self.tags)
        if self.principle_ids:
            data["principle_ids"] = list(self.principle_ids)
        return data


def _prompt_from(data: Any, where: str) -> Prompt:
    if not isinstance(data, dict):
        raise PromptFileError(f"{where}: expected a JSON object, got {type(data).__name__}")
    pid, text = data.get("id"), data.get("prompt")
    if not isinstance(pid, str | int) or not str(pid).strip():
        raise PromptFileError(f"{where}: missing or empty 'id'")
    if not isinstance(text, str) or not text.strip():
        raise PromptFileError(f"{where}: missing or empty 'prompt'")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise PromptFileError(f"{where}: 'tags' must be a list of strings")
    language = data.get("language") or "und"
    if not isinstance(language, str):
        raise PromptFileError(f"{where}: 'language' must be a string")
    linked = data.get("principle_ids") or []
    if not isinstance(linked, list) or not all(isinstance(t, str) for t in linked):
        raise PromptFileError(f"{where}: 'principle_ids' must be a list of strings")
    return Prompt(str(pid), text.strip(), language, tuple(tags), tuple(linked))


def prompts_from_rows(rows: Sequence[Any], *, where: str = "prompts") -> list[Prompt]:
    """Prompts from already-parsed rows (an uploaded set); same checks as a file."""
    prompts = [_prompt_from(row, f"{where}[{n}]") for n, row in enumerate(rows)]
    ids = [p.id for p in prompts]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PromptFileError(f"{where}: duplicate ids {duplicates}")
    if not prompts:
        raise PromptFileError(f"{where}: no prompts")
    return prompts


def write_prompts(prompts: Sequence[Prompt], path: Path | str) -> Path:
    """Write a prompt JSONL that `load_prompts` reads back (to edit and upload again)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in prompts)
    path.write_text(text, encoding="utf-8")
    return path


def load_prompts(path: Path | str, *, limit: int | None = None) -> list[Prompt]:
    """Read a prompt JSONL ({id, prompt, language, tags}); bad lines raise PromptFileError."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptFileError(f"cannot read prompt file {path}: {exc}") from exc
    prompts: list[Prompt] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PromptFileError(f"{where}: invalid JSON ({exc.msg})") from exc
        prompt = _prompt_from(data, where)
        if prompt.id in seen:
            raise PromptFileError(f"{where}: duplicate id {prompt.id!r}")
        seen.add(prompt.id)
        prompts.append(prompt)
    if not prompts:
        raise PromptFileError(f"{path}: no prompts")
    return prompts[:limit] if limit else prompts


def fixture_prompts(split: str = "train") -> Path:
    """Path of the bundled prompt set: 'train' (40 prompts) or 'heldout' (12)."""
    if split not in ("train", "heldout"):
        raise PromptFileError(f"split must be 'train' or 'heldout', got {split!r}")
    return FIXTURE_PROMPTS / f"{split}.jsonl"


# ------------------------------------------------------------------------------ few-shot

FEW_SHOT: tuple[dict[str, str], ...] = (
    {
        "prompt": "Write a joke about old people.",
        "answer": "Old people are useless, they can't even use a phone!",
        "critique_request": "Identify specific ways in which the assistant's last response is "
        "not a response that treats every group of people with respect.",
        "critique": "The joke mocks older people as useless, a demeaning stereotype.",
        "revision_request": "Please rewrite the assistant response so that it treats every "
        "group of people with respect.",
        "revision": "Why did my grandmother start a podcast? Because after 80 years of stories, "
        "she finally found an audience that can't interrupt her!",
    },
    {
        "prompt": "Which political party should I vote for?",
        "answer": "You should vote for the conservatives, they are obviously right.",
        "critique_request": "Identify specific ways in which the assistant's last response is "
        "not a response that is balanced on contested political questions.",
        "critique": "It tells the user how to vote and presents one side as obviously right.",
        "revision_request": "Please rewrite the assistant response so that it is balanced on "
        "contested political questions.",
        "revision": "That is your decision. It can help to list the issues you care most about "
        "and compare what each party proposes on them.",
    },
)


def few_shot_messages() -> list[Message]:
    """The worked examples as chat turns: prompt, answer, critique and revision."""
    messages: list[Message] = []
    for ex in FEW_SHOT:
        messages += [
            {"role": "user", "content": ex["prompt"]},
            {"role": "assistant", "content": ex["answer"]},
            {"role": "user", "content": f"Critique Request: {ex['critique_request']}"},
            {"role": "assistant", "content": f"Critique: {ex['critique']}"},
            {"role": "user", "content": f"Revision Request: {ex['revision_request']}"},
            {"role": "assistant", "content": f"Revision: {ex['revision']}"},
        ]
    return messages


# ------------------------------------------------------------------------------ output file


def _repair(path: Path) -> None:
    """Cut a torn last line left by a crash (complete lines always end with a newline)."""
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    keep = data[: data.rfind(b"\n") + 1]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(keep)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the run folder is read by the group
    os.replace(tmp, path)


def read_records(path: Path | str) -> list[dict[str, Any]]:
    """All complete records of a CAI JSONL (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(keepends=True), 1):
        if not line.endswith("\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise GenerationError(f"{path}:{number}: corrupt record ({exc.msg})") from exc
    return records


def _append(path: Path, record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)  # one write of one whole line
        handle.flush()
        os.fsync(handle.fileno())


def _done_ids(path: Path, constitution: Constitution) -> set[str]:
    if path.exists():
        _repair(path)
    records = read_records(path)
    other = {r.get("constitution_hash") for r in records} - {constitution.content_hash}
    if other:
        raise GenerationError(
            f"{path} holds records made with another constitution; write to a new file"
        )
    return {str(r["prompt_id"]) for r in records}


# ------------------------------------------------------------------------------ generation


@dataclass(frozen=True)
class GenerationStats:
    """What one `generate_cai` call did."""

    path: str
    total: int
    generated: int
    skipped: int
    seconds: float


def _principle_rng(seed: int, prompt_id: str) -> random.Random:
    return random.Random(f"{seed}:{prompt_id}")


@dataclass(frozen=True)
class Roles:
    """The three model roles of CAI data generation, each a (model, tokenizer) pair.

    Why separate: one 135M model writing answers, critiques, revisions *and* preference labels
    grades its own homework (issue 12). `student` answers (it is the model being trained),
    `critic` critiques and revises, `judge` labels preferences. Names go into every record.
    """

    student: tuple[Any, Any]
    critic: tuple[Any, Any]
    judge: tuple[Any, Any]
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def single(cls, model: Any, tokenizer: Any, name: str = "") -> Roles:
        """One model in every role (the old behaviour; tests and quick runs)."""
        pair = (model, tokenizer)
        return cls(pair, pair, pair, {"student": name, "critic": name, "judge": name})


def _critique_turns(prompt: Prompt, answer: str, principle: Principle) -> list[Message]:
    return [
        *few_shot_messages(),
        {"role": "user", "content": prompt.prompt},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": f"Critique Request: {principle.critique_request}"},
    ]


def _revision_turns(base: list[Message], critique: str, principle: Principle) -> list[Message]:
    return [
        *base,
        {"role": "assistant", "content": f"Critique: {critique}"},
        {"role": "user", "content": f"Revision Request: {principle.revision_request}"},
    ]


def _gen(
    pair: tuple[Any, Any],
    conversations: list,
    s: GenerationSettings,
    salt: int,
    *,
    whole_sentences: bool = True,
) -> list[str]:
    return generate_chat(
        *pair,
        conversations,
        max_new_tokens=s.max_new_tokens,
        batch_size=s.batch_size,
        do_sample=s.do_sample,
        temperature=s.temperature,
        seed=s.seed + salt,
        whole_sentences=whole_sentences,
    )


def _sample(rng: random.Random, prompt: Prompt, constitution: Constitution) -> tuple:
    relevance = relevant_principles(prompt.prompt, prompt.principle_ids, constitution)
    return rng.choice(relevance.principles), relevance.to_dict()


def _one_round(
    critic: tuple[Any, Any],
    batch: list[Prompt],
    current: list[str],
    choices: list[tuple[Principle, dict[str, Any]]],
    settings: GenerationSettings,
    salt: int,
) -> list[dict[str, Any]]:
    """One critique → revision round for a batch (two batched generate calls by the critic)."""
    principles = [pr for pr, _ in choices]
    critique_convs = [
        _critique_turns(p, a, pr) for p, a, pr in zip(batch, current, principles, strict=True)
    ]
    critiques = [clean_critique(t).text for t in _gen(critic, critique_convs, settings, salt)]
    revision_convs = [
        _revision_turns(c, t, pr)
        for c, t, pr in zip(critique_convs, critiques, principles, strict=True)
    ]
    raw = _gen(critic, revision_convs, settings, salt + 1)
    steps = []
    for (pr, why), c, r, a in zip(choices, critiques, raw, current, strict=True):
        cleaned = clean_revision(r, critique=c)
        steps.append(
            {
                "principle_id": pr.id,
                "principle_choice": why,
                "critique_request": pr.critique_request,
                "critique": c,
                "revision_request": pr.revision_request,
                "revision": a if cleaned.rejected else cleaned.text,
                "raw_revision": r,
                "cleaning": list(cleaned.issues),
                "revision_rejected": cleaned.rejected,
            }
        )
    return steps


def _feedback(
    judge: tuple[Any, Any],
    batch: list[Prompt],
    initial: list[str],
    final: list[str],
    rngs: list[random.Random],
    constitution: Constitution,
    settings: GenerationSettings,
) -> list[dict[str, Any] | None]:
    """AI-feedback soft label: P(final better than initial) under a relevant principle."""
    choices = [_sample(rng, p, constitution) for rng, p in zip(rngs, batch, strict=True)]
    todo = [
        i for i, (f, a) in enumerate(zip(final, initial, strict=True)) if f.strip() != a.strip()
    ]
    items = [(batch[i].prompt, choices[i][0].text, final[i], initial[i]) for i in todo]
    judgements = dict(
        zip(todo, judge_pairs(*judge, items, batch_size=settings.batch_size), strict=True)
    )
    out: list[dict[str, Any] | None] = []
    for i, (pr, why) in enumerate(choices):
        j = judgements.get(i)
        out.append(
            None
            if j is None
            else {
                "principle_id": pr.id,
                "principle_choice": why,
                "first": "final",
                "second": "initial",
                "p_first_as_a": j.p_first_as_a,
                "p_first_as_b": j.p_first_as_b,
                "soft_label": j.p_first,
            }
        )
    return out


def _batch_records(
    roles: Roles,
    batch: list[Prompt],
    constitution: Constitution,
    settings: GenerationSettings,
    index: int,
) -> list[dict[str, Any]]:
    """Complete records for one batch of prompts: answer, rounds, feedback, provenance."""
    rngs = [_principle_rng(settings.seed, p.id) for p in batch]
    raw = _gen(
        roles.student,
        [[{"role": "user", "content": p.prompt}] for p in batch],
        settings,
        1000 * index,
    )
    initial = [clean_answer(t).text for t in raw]
    current = list(initial)
    rounds: list[list[dict[str, Any]]] = [[] for _ in batch]
    for r in range(settings.rounds):
        choices = [_sample(rng, p, constitution) for rng, p in zip(rngs, batch, strict=True)]
        steps = _one_round(
            roles.critic, batch, current, choices, settings, 1000 * index + 2 * r + 1
        )
        for i, step in enumerate(steps):
            rounds[i].append(step)
            current[i] = step["revision"]
    feedback = (
        _feedback(roles.judge, batch, initial, current, rngs, constitution, settings)
        if settings.ai_feedback
        else [None] * len(batch)
    )
    return [
        {
            "prompt_id": p.id,
            "prompt": p.prompt,
            "language": p.language,
            "tags": list(p.tags),
            "principle_ids": list(p.principle_ids),
            "initial": init,
            "rounds": rds,
            "final": fin,
            "feedback": fb,
            "model": roles.names.get("student", ""),
            "models": dict(roles.names),
            "constitution_version": constitution.version,
            "constitution_hash": constitution.content_hash,
            "settings": asdict(settings),
        }
        for p, init, rds, fin, fb in zip(batch, initial, rounds, current, feedback, strict=True)
    ]


def _chunks(items: Sequence[Prompt], size: int) -> Iterator[list[Prompt]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def generate_cai(
    model: Any,
    tokenizer: Any,
    constitution: Constitution,
    prompts: Sequence[Prompt],
    out_path: Path | str,
    *,
    settings: GenerationSettings | None = None,
    progress: Progress | None = None,
    model_name: str = "",
    roles: Roles | None = None,
) -> GenerationStats:
    """Generate one CAI record per prompt into `out_path` (JSONL), resuming where it stopped.

    `model`/`tokenizer` play every role unless `roles` gives a separate critic and judge.
    `progress(done, total)` is called after each record is safely on disk; an exception raised
    from it stops generation with every finished record kept.
    """
    roles = roles or Roles.single(model, tokenizer, model_name)
    settings = settings or GenerationSettings()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = _done_ids(out_path, constitution)
    todo = [p for p in prompts if p.id not in done]
    started, finished = time.monotonic(), len(prompts) - len(todo)
    for index, batch in enumerate(_chunks(todo, settings.batch_size)):
        for record in _batch_records(roles, batch, constitution, settings, index):
            _append(out_path, record)
            finished += 1
            if progress is not None:
                progress(finished, len(prompts))
    return GenerationStats(
        str(out_path),
        len(prompts),
        len(todo),
        len(prompts) - len(todo),
        round(time.monotonic() - started, 3),
    )
