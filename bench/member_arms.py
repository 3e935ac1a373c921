"""The median of an ensemble's networks against their mean (issue #14 names the median): an arm on validation.

Train once, keeping the run directories (the validation split: each series cut before its test part, so the
"test part" below is the development series' validation part):

    python bench/bench_accuracy.py --validation --seeds 0 --no-anchors --no-write --keep DIR

then train every kept run again from its own config.yaml (the same seed and rows: the same networks, op
determinism on), keeping the networks that model.merge averages into model.keras, and score on the run's test
part: each network alone, the mean and the median of their forecasts (each network fed its own forecasts back),
and the merged model (the default: the mean of the networks' outputs, that mean fed back at each step):

    python bench/member_arms.py DIR

The merged model's MASE equals the kept run's (a check that the networks are the same). Prints MASE per series
and arm and the geometric mean of each arm.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from combination_arms import mase, test_forecasts  # this folder is on sys.path when run as a script

from seqcast import engine, pipeline
from seqcast import model as models
from seqcast import run as runs
from seqcast.config import load_config
from seqcast.evaluate import run_dataset


def networks(run_dir: Path, out: Path) -> tuple[runs.Run, list[Any]]:
    """(the run trained again from run_dir's config.yaml into out, the networks its model.keras averages)."""
    caught: list[Any] = []
    merge = models.merge

    def keeping(members: list[Any], *args: Any, **kwargs: Any) -> Any:
        caught[:] = members
        return merge(members, *args, **kwargs)

    models.merge = keeping
    try:
        cfg = load_config(run_dir / "config.yaml")
        pipeline.train_run(cfg, output_dir=out)
    finally:
        models.merge = merge
    return runs.open_run(out), caught


def arms(run_dir: Path, tmp: Path) -> dict[str, float]:
    """{arm: MASE on the run's test part} of one kept run."""
    run, members = networks(run_dir, tmp / run_dir.name)
    ds = run_dataset(run)
    names, values = ds.names, [s.values for s in ds.series]
    _, merged, true, scale = test_forecasts(run, names, values)
    row = {"kept run": json.loads((run_dir / "metrics.json").read_text())["model"]["mase"]}
    row["merged (default)"] = mase(merged, true, scale)
    preds = []
    for k, member in enumerate(members):
        alone = runs.Run(run.path, run.cfg, run.pre, engine.from_keras(member))
        preds.append(test_forecasts(alone, names, values)[1])
        row[f"network {k}"] = mase(preds[-1], true, scale)
    stack = np.stack(preds)
    row["mean of networks"] = mase(stack.mean(axis=0), true, scale)
    row["median of networks"] = mase(np.median(stack, axis=0), true, scale)
    return row


def main(folder: Path, only: str = "run-") -> None:
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run_dir in sorted(folder.glob(f"{only}*")):
            table[run_dir.name] = row = arms(run_dir, Path(tmp))
            print(run_dir.name, " | ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    for arm in next(iter(table.values())):
        vals = [row[arm] for row in table.values()]
        print(f"geometric mean {arm}: {math.exp(statistics.fmean(math.log(v) for v in vals)):.3f} ({len(vals)} runs)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:])  # a second argument: only the runs whose names start with it
