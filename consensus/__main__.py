"""Command line: ``python -m consensus <polis-export-dir> --json out.json``.

Accepts a Polis CSV export folder (comments.csv + votes.csv / participants-votes.csv) or a
pol.is API JSON folder (comments.json + votes.json, as shared/data/polis-math). Participants'
``id`` in the output is the Polis pid. When the export carries Polis' own group-id, the summary
line reports the adjusted Rand index of our groups against it. No Django anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Before numpy loads: the command's dense algebra is tiny (two-column projections, Gram
# matrices of ≤ 60 statements) and its heavy sparse products run in its own threads
# (consensus.row_blocks), while OpenBLAS' spinning worker pool cost 0.2-0.4 s of CPU per run.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from consensus.gic import PASS_HANDLING  # noqa: E402
from consensus.matrix import matrix_from_export  # noqa: E402
from consensus.pipeline import (  # noqa: E402
    PROJECTIONS,
    ConsensusConfig,
    ConsensusResult,
    run,
    state_from_export,
)
from consensus.polis_export import PolisExport, PolisFormatError, read_any  # noqa: E402
from consensus.replay import MAX_UPDATES, ReplayError, replay  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m consensus", description=__doc__.splitlines()[0])
    p.add_argument("path", type=Path, help="Polis export folder (CSV) or API JSON folder")
    p.add_argument("--projection", choices=PROJECTIONS, default="pca")
    p.add_argument("--cluster-on", choices=PROJECTIONS, default="pca")
    p.add_argument("--pass-handling", choices=PASS_HANDLING, default="count")
    p.add_argument(
        "--replay",
        action="store_true",
        help="process votes in time order with periodic updates (Polis history)",
    )
    p.add_argument(
        "--replay-every-ms",
        type=int,
        default=600_000,
        help="conversation time between replay updates (default 10 minutes)",
    )
    p.add_argument(
        "--replay-max-updates",
        type=int,
        default=MAX_UPDATES,
        help=f"bound on replay updates (default {MAX_UPDATES}; thinned evenly)",
    )
    p.add_argument("--json", type=Path, required=True, help="where to write the result JSON")
    return p


def _run(export: PolisExport, args: argparse.Namespace, config: ConsensusConfig) -> ConsensusResult:
    if not args.replay:  # one recompute; in-conv follows Polis' sticky rule over the history
        return run(
            matrix_from_export(export),
            config=config,
            state=state_from_export(export, config=config),
        )
    v = export.votes
    return replay(
        [x.pid for x in v],
        [x.tid for x in v],
        [x.vote for x in v],
        [x.timestamp_ms for x in v],
        moderated_out=[c.tid for c in export.comments if c.moderated == -1],
        meta=[c.tid for c in export.comments if c.is_meta],
        every_ms=args.replay_every_ms,
        config=config,
        max_updates=args.replay_max_updates,
    ).result


def _ari_vs_polis(export: PolisExport, data: dict) -> str:
    ours = {p["id"]: p["group"] for p in data["participants"] if p["group"] is not None}
    both = [p for p, g in export.group_ids.items() if g is not None and p in ours]
    if not both:
        return ""
    import numpy as np

    from consensus.clusters import adjusted_rand_index

    ari = adjusted_rand_index(
        np.asarray([export.group_ids[p] for p in both]), np.asarray([ours[p] for p in both])
    )
    return f", ARI vs Polis group-id {ari:.3f} on {len(both)} participants"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = ConsensusConfig(
        projection=args.projection, cluster_on=args.cluster_on, pass_handling=args.pass_handling
    )
    try:
        export = read_any(args.path)
    except PolisFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for note in export.notes:
        print(f"note: {note}", file=sys.stderr)
    start = time.perf_counter()
    try:
        data = _run(export, args, config).to_json()
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    args.json.write_text(json.dumps(data, allow_nan=False), encoding="utf-8")
    sizes = [g["size"] for g in data["groups"]]
    print(
        f"{args.path.name}: {data['meta']['n_participants']} participants, "
        f"k={data['meta']['k']} sizes={sizes}, {elapsed:.2f}s{_ari_vs_polis(export, data)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
