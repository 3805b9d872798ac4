"""Benchmarks: ``python -m consensus.bench [--scale small|5m|50m]``.

* ``small``: the shared Polis conversations (shared/data/polis), ours vs red-dwarf in one
  process — run time (best of ``--repeat``), speed ratio, and ARI against Polis' own group-id
  for ours (stateless), ours (replay) and red-dwarf. red-dwarf gets the votes as a list of dicts
  built straight from the CSV, deduplicated last-vote-wins; the CSV already uses red-dwarf's
  sign (agree = +1), so nothing is negated. red-dwarf is only a comparison here; the pipeline
  never imports it.
* ``corpus``: every conversation of shared/data/polis with Polis groups, *whole process*: wall
  and CPU seconds of a fresh ``python -m consensus <folder> --json out.json`` (start-up, CSV
  parsing, JSON writing included) beside a fresh red-dwarf process doing the same job the
  natural way for it (pandas ``read_csv`` of votes.csv, or of participants-votes.csv melted
  when there is no votes.csv, last vote wins, ``run_pipeline``, JSON of the clusters), plus the
  in-process figures and the ARI of ours (stateless and replay) and red-dwarf's.
* ``5m-real`` / ``50m-real``: like ``5m`` / ``50m`` but resampled from the real conversations
  (:func:`consensus.synthetic.realistic_conversation`): votes per participant and per
  statement, vote mix, group split and per-group rates drawn from shared/data/polis.
* ``5m`` / ``50m``: synthetic planted groups (:mod:`consensus.synthetic`), 100k × 2,000 × 5M and
  1M × 10,000 × 50M. The matrix is generated in one subprocess and saved; a fresh subprocess
  loads it and runs the full recompute, so its peak RSS (``ru_maxrss``) is the matrix plus the
  pipeline. Reports wall and CPU time (``process_time``: the honest figure on a shared machine),
  time per stage, peak RSS and the ARI of our groups against the planted ones.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SCALES = {
    "5m": (100_000, 2_000, 5_000_000),
    "50m": (1_000_000, 10_000, 50_000_000),
    "5m-real": (100_000, 2_000, 5_000_000),
    "50m-real": (1_000_000, 10_000, 50_000_000),
}
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "polis"
CONVERSATIONS = ("15-per-hour-seattle", "scoop-hivemind.ubi", "vtaiwan.uberx")


def _best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall and best CPU (``process_time``, all threads) seconds of ``repeat`` calls."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best, best_cpu, out


def _ari(truth: dict[int, int | None], ours: dict[int, int]) -> float:
    from sklearn.metrics import adjusted_rand_score

    both = [p for p, g in truth.items() if g is not None and p in ours]
    return float(adjusted_rand_score([truth[p] for p in both], [ours[p] for p in both]))


# --------------------------------------------------------------------------- shared data


def reddwarf_votes(export: Any) -> list[dict[str, Any]]:
    """red-dwarf's vote dicts from the CSV export, last vote wins (no sign flip: CSV is +1)."""
    return [
        {
            "participant_id": v.pid,
            "statement_id": v.tid,
            "vote": v.vote,
            "modified": v.timestamp_ms or 0,
        }
        for v in export.latest_votes()
    ]


def _run_reddwarf(export: Any) -> dict[int, int]:
    from reddwarf.implementations.polis import run_pipeline

    mod_out = [c.tid for c in export.comments if c.moderated == -1]
    result = run_pipeline(
        votes=reddwarf_votes(export), mod_out_statement_ids=mod_out, random_state=0
    )
    df = result.participants_df
    clustered = df[df["cluster_id"].notna()]
    return {int(p): int(g) for p, g in zip(clustered.index, clustered["cluster_id"], strict=True)}


def _groups(data: dict[str, Any]) -> dict[int, int]:
    return {p["id"]: p["group"] for p in data["participants"] if p["group"] is not None}


def bench_conversation(
    folder: Path, *, repeat: int = 3, replay_ms: int | None = 600_000
) -> dict[str, Any]:
    """Timing and ARI vs Polis for one shared conversation (see module docstring)."""
    from consensus.matrix import matrix_from_export
    from consensus.pipeline import run, state_from_export
    from consensus.polis_export import read_polis_export

    export = read_polis_export(folder)
    ours_s, ours_cpu, ours = _best_of(
        lambda: run(matrix_from_export(export), state=state_from_export(export)).to_json(), repeat
    )
    rd_s, rd_cpu, rd = _best_of(lambda: _run_reddwarf(export), repeat)
    row = {
        "conversation": folder.name,
        "ours_s": ours_s,
        "reddwarf_s": rd_s,
        "speedup": rd_s / ours_s,
        "ours_cpu_s": ours_cpu,
        "reddwarf_cpu_s": rd_cpu,
        "speedup_cpu": rd_cpu / ours_cpu,
        "ari_ours": _ari(export.group_ids, _groups(ours)),
        "ari_reddwarf": _ari(export.group_ids, rd),
    }
    if replay_ms:
        row.update(_bench_replay(export, replay_ms))
    return row


def _bench_replay(export: Any, every_ms: int) -> dict[str, Any]:
    from consensus.replay import replay

    v = export.votes
    start = time.perf_counter()
    out = replay(
        [x.pid for x in v],
        [x.tid for x in v],
        [x.vote for x in v],
        [x.timestamp_ms for x in v],
        moderated_out=[c.tid for c in export.comments if c.moderated == -1],
        meta=[c.tid for c in export.comments if c.is_meta],
        every_ms=every_ms,
    )
    return {
        "replay_s": time.perf_counter() - start,
        "replay_updates": out.n_updates,
        "ari_replay": _ari(export.group_ids, _groups(out.result.to_json())),
    }


def bench_small(
    data_dir: Path, *, repeat: int = 3, replay_ms: int | None = 600_000
) -> list[dict[str, Any]]:
    return [
        bench_conversation(data_dir / name, repeat=repeat, replay_ms=replay_ms)
        for name in CONVERSATIONS
    ]


# --------------------------------------------------------------------------- synthetic


def _save(path: Path, n: int, m: int, votes: int, seed: int, realistic: bool = False) -> None:
    from consensus.synthetic import planted_conversation, realistic_conversation

    if realistic:
        conv = realistic_conversation(n, m, votes, profile=_real_profile(), random_state=seed)
    else:
        conv = planted_conversation(n, m, votes, random_state=seed)
    c = conv.matrix.codes
    np.savez(
        path,
        data=c.data,
        indices=c.indices,
        indptr=c.indptr,
        shape=np.array(c.shape),
        planted=conv.planted,
    )


def _load_and_run(path: Path) -> dict[str, Any]:
    import scipy.sparse as sp
    from sklearn.metrics import adjusted_rand_score

    from consensus.matrix import VoteMatrix
    from consensus.pipeline import run

    z = np.load(path)
    n, m = (int(x) for x in z["shape"])
    codes = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(n, m))
    matrix = VoteMatrix(codes, np.arange(n), np.arange(m), np.zeros(m, bool), np.zeros(m, bool))
    loaded_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    result = run(matrix)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    placed = result.group_of >= 0
    return {
        "n_participants": n,
        "n_statements": m,
        "n_votes": matrix.n_votes,
        "run_s": total,
        "run_cpu_s": cpu,
        "timings": result.timings,
        "k": result.k,
        "ari_planted": float(adjusted_rand_score(z["planted"][placed], result.group_of[placed])),
        "rss_after_load_mib": loaded_mib,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **_shape(matrix),
    }


def _shape(matrix: Any) -> dict[str, Any]:
    """How the synthetic votes are distributed (to compare with the real conversations)."""
    per_row = matrix.votes_per_participant()
    mix = np.bincount(matrix.codes.data, minlength=4)[1:] / max(matrix.n_votes, 1)
    return {
        "share_under_7_votes": float((per_row < 7).mean()),
        "votes_per_participant_p50_p99_max": [
            float(np.percentile(per_row, 50)),
            float(np.percentile(per_row, 99)),
            int(per_row.max()),
        ],
        "mix_disagree_pass_agree": [round(float(x), 3) for x in mix],
    }


def _real_profile(data_dir: Path = DEFAULT_DATA) -> Any:
    from consensus.polis_export import read_polis_export
    from consensus.synthetic import profile_from_exports

    folders = sorted(p for p in data_dir.iterdir() if (p / "participants-votes.csv").is_file())
    return profile_from_exports([read_polis_export(p) for p in folders])


def bench_synthetic(scale: str, *, seed: int = 0) -> dict[str, Any]:
    """Generate in one subprocess, run in a fresh one (clean peak RSS)."""
    n, m, votes = SCALES[scale]
    realistic = str(int(scale.endswith("-real")))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "matrix.npz"
        _child(["--_save", str(path), str(n), str(m), str(votes), str(seed), realistic])
        report = json.loads(_child(["--_run", str(path)]))
        return {"scale": scale, "realistic": realistic == "1", **report}


# --------------------------------------------------------------------------- whole process


def _timed_child(args: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one fresh Python process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def reddwarf_process(folder: Path, out: Path) -> None:
    """What a red-dwarf user runs on a local export: pandas CSV → run_pipeline → JSON."""
    import pandas as pd
    from reddwarf.implementations.polis import run_pipeline

    comments = pd.read_csv(folder / "comments.csv")
    if (folder / "votes.csv").is_file():
        votes = pd.read_csv(folder / "votes.csv").sort_values("timestamp", kind="stable")
        votes = votes.rename(
            columns={
                "voter-id": "participant_id",
                "comment-id": "statement_id",
                "timestamp": "modified",
            }
        )
    else:
        wide = pd.read_csv(folder / "participants-votes.csv")
        tids = [c for c in wide.columns if str(c).isdigit()]
        votes = (
            wide.melt(
                id_vars=["participant"], value_vars=tids, var_name="statement_id", value_name="vote"
            )
            .dropna()
            .rename(columns={"participant": "participant_id"})
        )
        votes["statement_id"] = votes["statement_id"].astype(int)
        votes["modified"] = 0
    votes = votes.drop_duplicates(["participant_id", "statement_id"], keep="last")
    records = votes[["participant_id", "statement_id", "vote", "modified"]].to_dict("records")
    mod_out = comments.loc[comments["moderated"] == -1, "comment-id"].tolist()
    result = run_pipeline(votes=records, mod_out_statement_ids=mod_out, random_state=0)
    df = result.participants_df
    clusters = df["cluster_id"].dropna()
    out.write_text(json.dumps({str(p): int(g) for p, g in clusters.items()}))


def bench_whole_process(folder: Path, *, repeat: int = 1) -> dict[str, Any]:
    """Fresh-process wall/CPU seconds, CSV in → JSON out, ours vs red-dwarf (best of repeat)."""
    with tempfile.TemporaryDirectory() as tmp:
        ours = [str(folder), "--json", str(Path(tmp) / "ours.json")]
        rd = ["-m", "consensus.bench", "--_reddwarf", str(folder), str(Path(tmp) / "rd.json")]
        o = min(_timed_child(["-m", "consensus", *ours]) for _ in range(repeat))
        r = min(_timed_child(rd) for _ in range(repeat))
    return {
        "process_s": o[0],
        "process_cpu_s": o[1],
        "reddwarf_process_s": r[0],
        "reddwarf_process_cpu_s": r[1],
        "process_speedup_cpu": r[1] / o[1],
    }


def bench_corpus(
    data_dir: Path, *, repeat: int = 1, replay_ms: int | None = 600_000
) -> list[dict[str, Any]]:
    """bench_conversation + bench_whole_process for every folder with Polis groups."""
    from consensus.polis_export import read_polis_export

    rows = []
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        export = read_polis_export(folder)
        if not any(g is not None for g in export.group_ids.values()):
            continue
        ms = replay_ms if export.has_timestamps else None
        why_no_replay = "not run" if replay_ms is None else "no votes.csv"
        rows.append(
            {
                **bench_conversation(folder, repeat=repeat, replay_ms=ms),
                **bench_whole_process(folder, repeat=repeat),
                **({} if ms else {"replay_note": why_no_replay}),
            }
        )
    return rows


def _child(args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "consensus.bench", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


# --------------------------------------------------------------------------- CLI


def _print_small(rows: list[dict[str, Any]]) -> None:
    print(
        "| conversation | ours s (cpu) | red-dwarf s (cpu) | speed-up wall (cpu) | ARI ours"
        " | ARI replay | ARI red-dwarf |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['conversation']} | {r['ours_s']:.3f} ({r['ours_cpu_s']:.3f}) | "
            f"{r['reddwarf_s']:.3f} ({r['reddwarf_cpu_s']:.3f}) | {r['speedup']:.1f}× "
            f"({r['speedup_cpu']:.1f}×) | {r['ari_ours']:.3f} | "
            f"{r.get('ari_replay', float('nan')):.3f} | {r['ari_reddwarf']:.3f} |"
        )
    for key in ("ari_ours", "ari_replay", "ari_reddwarf"):
        values = [r[key] for r in rows if key in r]
        if values:
            print(f"mean {key}: {np.mean(values):.3f}")


def _print_corpus(rows: list[dict[str, Any]]) -> None:
    print(
        "| conversation | ARI ours | ARI replay | ARI red-dwarf | in-process s ours / rd | "
        "whole process CPU s ours / rd (×) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        replay = f"{r['ari_replay']:.3f}" if "ari_replay" in r else f"— ({r['replay_note']})"
        print(
            f"| {r['conversation']} | {r['ari_ours']:.3f} | {replay} | "
            f"{r['ari_reddwarf']:.3f} | {r['ours_s']:.3f} / {r['reddwarf_s']:.3f} | "
            f"{r['process_cpu_s']:.2f} / {r['reddwarf_process_cpu_s']:.2f} "
            f"({r['process_speedup_cpu']:.1f}×) |"
        )
    for key in ("ari_ours", "ari_replay", "ari_reddwarf"):
        values = [r[key] for r in rows if key in r]
        if values:
            print(f"mean {key}: {np.mean(values):.3f} over {len(values)}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--_save"]:
        n, m, votes, seed = (int(x) for x in argv[2:6])
        _save(Path(argv[1]), n, m, votes, seed, bool(int(argv[6])))
        return 0
    if argv[:1] == ["--_reddwarf"]:
        reddwarf_process(Path(argv[1]), Path(argv[2]))
        return 0
    if argv[:1] == ["--_run"]:
        print(json.dumps(_load_and_run(Path(argv[1]))))
        return 0
    p = argparse.ArgumentParser(prog="python -m consensus.bench")
    p.add_argument("--scale", choices=("small", "corpus", *SCALES), default="small")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-replay", action="store_true")
    args = p.parse_args(argv)
    if args.scale == "small":
        rows = bench_small(
            args.data, repeat=args.repeat, replay_ms=None if args.no_replay else 600_000
        )
        _print_small(rows)
        print(json.dumps(rows))
    elif args.scale == "corpus":
        rows = bench_corpus(
            args.data, repeat=args.repeat, replay_ms=None if args.no_replay else 600_000
        )
        _print_corpus(rows)
        print(json.dumps(rows))
    else:
        print(json.dumps(bench_synthetic(args.scale)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
