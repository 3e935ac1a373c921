"""Forecasts of several transforms averaged, against each alone: the arms of bench/ACCURACY.md, on kept runs.

Train each transform once per series, keeping the run directories (the validation split: each series cut before
its test part, so the "test part" below is the development series' validation part):

    python bench/bench_accuracy.py --validation --seeds 0 --no-anchors --no-write --keep /tmp/k0 \
        --set data.transform=none
    (the same with window_norm into /tmp/k1, deseason+window_norm into /tmp/k2)

then score every run's own test-part backtest and the per-origin mean and median of the runs' forecasts:

    python bench/combination_arms.py /tmp/k0 /tmp/k1 /tmp/k2

Every arm's forecasts come from the same networks on the same origins (seqcast.evaluate.origins, MASE scaled as
metrics.json scales it); a series where a transform does not apply (no season) combines the ones that do.
Prints MASE per series and arm, and the geometric mean of each arm over the series.
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

import numpy as np

from seqcast import forecast as fc
from seqcast import run as runs
from seqcast.evaluate import mase_scale, origins, run_dataset


def test_forecasts(
    run: runs.Run, names: list[str], values: list[np.ndarray]
) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray, np.ndarray]:
    """(jobs, forecasts, truths, MASE scale) of a run's test-part backtest on its data (names, values): jobs as
    [(series, origin)], the arrays (origins, horizon, targets), the scale broadcast to their shape."""
    steps, season, n_t = run.cfg.evaluate.horizon, run.cfg.evaluate.season, run.n_targets
    ends = {s["name"]: int(s["val_end"]) for s in run.pre["series"]}
    jobs = [(i, o) for i, n in enumerate(names) for o in origins(ends[n], len(values[i]), steps)]
    fut = [values[i][o : o + steps, n_t:] for i, o in jobs] if run.pre["features"] else None
    pred = np.asarray(fc.forecast_origins(run, values, names, jobs, steps, fut), dtype=np.float64)
    true = np.stack([values[i][o : o + steps, :n_t] for i, o in jobs])
    scale = np.stack([mase_scale(values[i][: ends[names[i]], :n_t], season) for i, _ in jobs])[:, None, :]
    return jobs, pred, true, np.broadcast_to(scale, true.shape)


def kept_forecasts(run_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """test_forecasts of a kept run directory on its data file: (forecasts, truths, MASE scale)."""
    run = runs.open_run(run_dir)
    ds = run_dataset(run)
    _, pred, true, scale = test_forecasts(run, ds.names, [s.values for s in ds.series])
    return pred, true, scale


def mase(pred: np.ndarray, true: np.ndarray, scale: np.ndarray) -> float:
    return float(np.nanmean(np.abs(pred - true) / scale))


def main(folders: list[Path]) -> None:
    series = sorted({p.name.removeprefix("run-").rsplit("-", 1)[0] for f in folders for p in f.glob("run-*")})
    table: dict[str, dict[str, float]] = {}
    for name in series:
        got = {}
        for f in folders:
            kept = sorted(f.glob(f"run-{name}-*"))
            if kept:
                got[f.name] = kept_forecasts(kept[0])
        if not got:
            continue
        _, true, scale = next(iter(got.values()))
        preds = {k: v[0] for k, v in got.items()}
        row = {k: mase(p, true, scale) for k, p in preds.items()}
        keys = list(preds)
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                row[f"mean({keys[a]},{keys[b]})"] = mase((preds[keys[a]] + preds[keys[b]]) / 2, true, scale)
        if len(keys) > 2:
            stack = np.stack(list(preds.values()))
            row["mean(all)"] = mase(stack.mean(axis=0), true, scale)
            row["median(all)"] = mase(np.median(stack, axis=0), true, scale)
        table[name] = row
        print(name, " ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    arms = sorted({k for row in table.values() for k in row})
    for arm in arms:
        vals = [row[arm] for row in table.values() if arm in row]
        print(f"geometric mean {arm}: {math.exp(statistics.fmean(math.log(v) for v in vals)):.3f} ({len(vals)} series)")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
