"""The intervals' calibration, chosen on validation: the arms compared in bench/ACCURACY.md, on kept runs.

Train once, keeping the run directories (the validation split: each series cut before its test part):

    python bench/bench_accuracy.py --validation --seeds 0 --keep /tmp/val --no-write

then calibrate every kept run several ways on its own validation part (the networks are the same in every arm)
and score each arm's intervals on the run's test part (here: the development series' validation part):

    python bench/calibration_arms.py /tmp/val

Arms: where the origins are (`val`: in the validation part, the old default; `ext`: from horizon - 1 rows
before it, every error whose truth lies in it), one quantile per step or the steps pooled by their spreads
(`+pool`, seqcast.intervals.quantiles), and with the pooled origins a local scale per origin (`local<k>`: the
seasonal-naive MAE of the k seasons before it, at least 8 rows) instead of the series' training-part scale;
the training part's errors (`train+pool`: the origins in the training part, each error where its truth lies in
it; `ext+train+pool`: those pooled with `ext`'s; `max(ext,train)`: the larger quantile of the two), and online
(`+online`, `+recent`): each test origin calibrated on every error known before it (see `online`).
With `bench_accuracy.py --validation --long-test --keep DIR` the kept runs' test stand-in is as long as the test
part (the full split's proportions), over which a network's errors outgrow its validation part's.
`--signed` (after the folder) runs the default arm (`ext+train256+pool`) beside the ones built on the signed errors
only: `signed` (each bound its own tail, evaluate.asymmetric_intervals), `centred` and `centred(val)` (the median
signed error as the centre, of all the pooled errors or of the validation part's).
Prints, per arm and level, the mean coverage minus the level (points), the worst series and the mean MSIS.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from combination_arms import test_forecasts  # this folder is on sys.path when run as a script

from seqcast import forecast as fc
from seqcast import run as runs
from seqcast.evaluate import history_rows, run_dataset
from seqcast.intervals import (
    MAX_ORIGINS,
    _ranked,
    from_space,
    interval_scores,
    scale_of,
    space_of,
    spreads,
    tails,
    to_space,
)

LEVELS = (80, 95)


def per_step(errors: np.ndarray, level: int) -> np.ndarray:
    """One conformal quantile per step and target: (steps, targets), nan where too few."""
    return np.array([[_ranked(np.sort(c[np.isfinite(c)]), level) for c in errors[:, :, j].T] for j in
                     range(errors.shape[2])]).T  # fmt: skip


def pooled(errors: np.ndarray, level: int) -> np.ndarray:
    """The steps pooled by their spreads (as seqcast.intervals.quantiles): (steps, targets)."""
    out = []
    for j in range(errors.shape[2]):
        s = spreads(errors[:, :, j])
        ratio = errors[:, :, j] / s
        out.append(_ranked(np.sort(ratio[np.isfinite(ratio)]), level) * s)
    return np.stack(out, axis=-1)


def signed_pooled(errors: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) offsets (steps, targets) from signed errors (truth - forecast): seqcast.intervals.tails, the
    steps pooled by the spreads of their absolute errors, each tail's conformal quantile at (100 + level) / 2."""
    names = [str(j) for j in range(errors.shape[2])]
    per = tails(errors, names)[str(level)]

    def side(key: str) -> np.ndarray:
        return np.array([[np.nan if v is None else v for v in per[t][key]] for t in names]).T

    return -side("lo"), side("hi")


def centred_pooled(
    errors: np.ndarray, level: int, centre_from: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) offsets: the median of the signed ratios (of `centre_from`'s, default the errors') as the
    centre, then the pooled conformal quantile of the absolute ratios around it."""
    ref = errors if centre_from is None else centre_from
    lo, hi = [], []
    for j in range(errors.shape[2]):
        s = spreads(np.abs(errors[:, :, j]))
        r = errors[:, :, j] / s
        c_r = ref[:, :, j] / s
        c = float(np.median(c_r[np.isfinite(c_r)]))
        d = np.abs(r[np.isfinite(r)] - c)
        q = _ranked(np.sort(d), level)
        lo.append((c - q) * s)
        hi.append((c + q) * s)
    return np.stack(lo, axis=-1), np.stack(hi, axis=-1)


def local_scale(v: np.ndarray, o: int, season: int, rows: int) -> np.ndarray:
    """The seasonal-naive MAE of the `rows` rows before origin o (targets,), nan where 0 or undefined."""
    a = max(season, o - rows)
    s = np.nanmean(np.abs(v[a:o] - v[a - season : o - season]), axis=0) if o > a else np.full(v.shape[1], np.nan)
    return np.where(s > 0, s, np.nan)


def arms(run_dir: Path, signed_only: bool = False) -> dict[str, dict[int, tuple[float, float]]]:
    """{arm: {level: (coverage, MSIS)}} of one kept run, on its test part."""
    run = runs.open_run(run_dir)
    ds = run_dataset(run)
    names, values = ds.names, [s.values for s in ds.series]
    steps, season = run.cfg.evaluate.horizon, run.cfg.evaluate.season
    n_t, features = run.n_targets, run.pre["features"]
    space = space_of(run.pre["transform"])
    split = {s["name"]: (int(s["train_end"]), int(s["val_end"])) for s in run.pre["series"]}
    bounds = [split[n] for n in names]
    sp = [to_space(v[:, :n_t], space) for v in values]
    train_scale = np.stack([scale_of(s[:a], season) for s, (a, _) in zip(sp, bounds, strict=True)])

    def future(jobs: list[tuple[int, int]]) -> list[np.ndarray] | None:
        return fc.known_future(values, jobs, steps, n_t) if features else None

    def validation(
        extended: bool, insample: bool = False, every: int = 1, limit: int = MAX_ORIGINS, signed: bool = False
    ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """(jobs, scaled-free absolute errors in `space`; truth - forecast if signed) of the validation origins, nan
        outside the validation part; insample: the training part's origins instead, nan outside the training part
        (rows the network fitted)."""
        jobs, parts = [], [(max(history_rows(run), season), a) if insample else (a, b) for a, b in bounds]
        for i, (a, b) in enumerate(parts):
            rows = np.arange(max(a - steps + 1 if extended else a, history_rows(run), season), b)[::every]
            if len(rows) > limit:
                rows = rows[np.unique(np.linspace(0, len(rows) - 1, limit).round().astype(np.int64))]
            jobs += [(i, int(o)) for o in rows]
        cut = [v[:b] for v, (_, b) in zip(values, parts, strict=True)]
        pred = to_space(fc.forecast_origins(run, cut, names, jobs, steps, future(jobs)), space)
        true = np.full(pred.shape, np.nan)
        for j, (i, o) in enumerate(jobs):
            lo, hi = max(parts[i][0], o), min(o + steps, parts[i][1])
            true[j, lo - o : hi - o] = sp[i][lo:hi]
        return jobs, true - pred if signed else np.abs(true - pred)

    test, t_pred, t_true, t_mase = test_forecasts(run, names, values)

    def score(q: dict[int, np.ndarray], scale: np.ndarray) -> dict[int, tuple[float, float]]:
        z, out = to_space(t_pred, space), {}
        for lv in LEVELS:
            half = q[lv][None] * scale[:, None, :]
            lo, hi = from_space(z - half, space), from_space(z + half, space)
            s = interval_scores(np.minimum(lo, t_pred), np.maximum(hi, t_pred), t_true, t_mase, lv)
            out[lv] = (s["coverage"], s["score"])
        return out

    def score_bounds(q: dict[int, tuple[np.ndarray, np.ndarray]], scale: np.ndarray) -> dict[int, tuple[float, float]]:
        """score with (lower, upper) offsets per step and target, each added to the forecast in `space`."""
        z, out = to_space(t_pred, space), {}
        for lv in LEVELS:
            lo_q, hi_q = q[lv]
            lo = from_space(z + lo_q[None] * scale[:, None, :], space)
            hi = from_space(z + hi_q[None] * scale[:, None, :], space)
            s = interval_scores(np.minimum(lo, hi), np.maximum(lo, hi), t_true, t_mase, lv)
            out[lv] = (s["coverage"], s["score"])
        return out

    result: dict[str, dict[int, tuple[float, float]]] = {}
    t_scale = train_scale[[i for i, _ in test]]
    if signed_only:
        jobs_v, err_v = validation(True, signed=True)
        jobs_c, err_c = validation(True, insample=True, limit=256, signed=True)
        sv = err_v / train_scale[[i for i, _ in jobs_v]][:, None, :]
        sc = err_c / train_scale[[i for i, _ in jobs_c]][:, None, :]
        both = np.concatenate([sv, sc])
        result["ext+train256+pool"] = score({lv: pooled(np.abs(both), lv) for lv in LEVELS}, t_scale)
        result["signed"] = score_bounds({lv: signed_pooled(both, lv) for lv in LEVELS}, t_scale)
        result["centred"] = score_bounds({lv: centred_pooled(both, lv) for lv in LEVELS}, t_scale)
        result["centred(val)"] = score_bounds({lv: centred_pooled(both, lv, sv) for lv in LEVELS}, t_scale)
        return result
    for extended in (False, True):
        jobs, err = validation(extended)
        scaled = err / train_scale[[i for i, _ in jobs]][:, None, :]
        name = "ext" if extended else "val"
        quantile: Callable[[np.ndarray, int], np.ndarray]
        for suffix, quantile in (("", per_step), ("+pool", pooled)):
            result[name + suffix] = score({lv: quantile(scaled, lv) for lv in LEVELS}, t_scale)
        if extended:
            for k in (1, 2, 4):
                rows = max(k * season, 8)
                v_loc = np.stack([local_scale(sp[i], o, season, rows) for i, o in jobs])
                t_loc = np.stack([local_scale(sp[i], o, season, rows) for i, o in test])
                q = {lv: pooled(err / v_loc[:, None, :], lv) for lv in LEVELS}
                result[f"ext+pool+local{k}"] = score(q, t_loc)
    # In-sample: the training part's errors (the rows the network fitted), alone, pooled with the validation
    # part's, or the larger of the two quantiles (a floor under the validation part's)
    jobs_v, err_v = validation(True)
    jobs_t, err_t = validation(True, insample=True)
    sv = err_v / train_scale[[i for i, _ in jobs_v]][:, None, :]
    st = err_t / train_scale[[i for i, _ in jobs_t]][:, None, :]
    result["train+pool"] = score({lv: pooled(st, lv) for lv in LEVELS}, t_scale)
    result["ext+train+pool"] = score({lv: pooled(np.concatenate([sv, st]), lv) for lv in LEVELS}, t_scale)
    result["max(ext,train)"] = score({lv: np.maximum(pooled(sv, lv), pooled(st, lv)) for lv in LEVELS}, t_scale)
    jobs_h, err_h = validation(True, insample=True, every=steps)  # one origin every horizon rows: a backtest's
    sh = err_h / train_scale[[i for i, _ in jobs_h]][:, None, :]
    result["ext+train/h+pool"] = score({lv: pooled(np.concatenate([sv, sh]), lv) for lv in LEVELS}, t_scale)
    jobs_c, err_c = validation(True, insample=True, limit=256)  # at most 256 origins per series, evenly spread
    sc = err_c / train_scale[[i for i, _ in jobs_c]][:, None, :]
    result["ext+train256+pool"] = score({lv: pooled(np.concatenate([sv, sc]), lv) for lv in LEVELS}, t_scale)
    result.update(online(run, values, names, bounds, sp, train_scale, space, test, (t_pred, t_true, t_mase), future))
    return result


def online(
    run: runs.Run,
    values: list[np.ndarray],
    names: list[str],
    bounds: list[tuple[int, int]],
    sp: list[np.ndarray],
    train_scale: np.ndarray,
    space: str,
    test: list[tuple[int, int]],
    scored: tuple[np.ndarray, np.ndarray, np.ndarray],
    future: Callable[[list[tuple[int, int]]], list[np.ndarray] | None],
) -> dict[str, dict[int, tuple[float, float]]]:
    """The online arms: each test origin calibrated on the errors whose truths are known before it, a forecast
    from every row scored where its truth lies from train_end on (as the calibration scores the validation part):
    `online` takes every row from train_end to the origin, `recent` the last len(validation part) rows before it.
    The test origin at val_end gets the default's calibration (ext+pool) in both."""
    steps = run.cfg.evaluate.horizon
    first = history_rows(run)
    jobs = [(i, o) for i, (a, _) in enumerate(bounds) for o in range(max(a - steps + 1, first), len(values[i]))]
    pred = to_space(fc.forecast_origins(run, values, names, jobs, steps, future(jobs)), space)
    k = np.arange(steps)
    rows = np.array([o for _, o in jobs])[:, None] + k[None, :]  # each error's truth row
    err = np.full(pred.shape, np.nan)
    for j, (i, o) in enumerate(jobs):
        ok = (o + k >= bounds[i][0]) & (o + k < len(values[i]))
        err[j, ok] = np.abs(sp[i][o + k[ok]] - pred[j, ok]) / train_scale[i]
    series = np.array([i for i, _ in jobs])
    t_pred, t_true, t_mase = scored
    z, out = to_space(t_pred, space), {}
    for arm in ("online", "recent"):
        half = np.full((len(LEVELS), *t_pred.shape), np.nan)
        for t, (i, o) in enumerate(test):
            a, b = bounds[i]
            since = a if arm == "online" else max(a, o - (b - a))
            known = (rows[series == i] >= since) & (rows[series == i] < o)
            e = np.where(known[:, :, None], err[series == i], np.nan)
            for m, lv in enumerate(LEVELS):
                half[m, t] = pooled(e, lv) * train_scale[i]
        res = {}
        for m, lv in enumerate(LEVELS):
            lo, hi = from_space(z - half[m], space), from_space(z + half[m], space)
            s = interval_scores(np.minimum(lo, t_pred), np.maximum(hi, t_pred), t_true, t_mase, lv)
            res[lv] = (s["coverage"], s["score"])
        out[f"ext+pool+{arm}"] = res
    return out


def main(folder: Path, signed_only: bool = False) -> None:
    table: dict[str, Any] = {}
    for d in sorted(folder.glob("run-*")):
        if (d / "model.keras").exists():
            table[d.name] = arms(d, signed_only)
            print(d.name, json.dumps(table[d.name]), flush=True)
    for arm in next(iter(table.values())):
        cells = []
        for lv in LEVELS:
            got = [(n, r[arm][lv]) for n, r in table.items() if np.isfinite(r[arm][lv][0])]
            gaps = [100 * (c - lv / 100) for _, (c, _) in got]
            msis = statistics.fmean(s for _, (_, s) in got) if got else float("nan")
            worst = max(gaps, key=abs) if gaps else float("nan")
            mean = statistics.fmean(gaps) if gaps else float("nan")
            cells.append(f"{lv} %: {len(got)} series, gap {mean:+.1f}, worst {worst:+.1f}, MSIS {msis:.3f}")
        print(f"{arm:18s} " + "; ".join(cells))


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--signed" in sys.argv[2:])
