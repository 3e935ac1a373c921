"""calibration.json: the conformal intervals' calibration of a run, written by `seqcast train` (intervals.py has
the method and why)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seqcast.evaluate import history_rows, seasonal_naive
from seqcast.intervals import (
    MAX_ORIGINS,
    counts,
    needed,
    needed_for,
    quantiles,
    reaching_jobs,
    scale_basis,
    scaled_errors,
    space_of,
    tails,
    to_space,
)
from seqcast.windows import clear_of_gaps

# Training-part origins per series at most (evenly spread over it): each costs a forecast of `horizon` steps, and
# a long history's training part would cost a multiple of the validation part's time for errors of the same
# kind as its neighbours' (bench/ACCURACY.md: the same coverage as every origin, on the development series)
MAX_TRAINING_ORIGINS = 256


def calibrate(
    run: Any, values: list[np.ndarray], names: list[str], breaks: list[np.ndarray] | None = None
) -> dict[str, Any]:
    """calibration.json of a run: conformal quantiles of the model's and of seasonal naive's scaled errors, from
    every origin whose steps reach into the validation part, pooled with those of the training part (each error
    where its truth lies in the part; intervals.py says why). values[i]: series i (n, inputs) in original units,
    in the run's series order `names`; breaks[i] its Series.breaks: an origin whose history or steps cross one
    gives no error. A level is given when the validation part alone gives the errors it needs (intervals.refused):
    `errors` counts those, `training_errors` the training part's. With evaluate.asymmetric_intervals, `tails`
    holds each bound's own quantile of the signed errors too (intervals.tails), and `asymmetric` is true."""
    cfg, pre = run.cfg, run.pre
    steps, season, targets = cfg.evaluate.horizon, cfg.evaluate.season, pre["targets"]
    space = space_of(pre["transform"])
    split = {s["name"]: (int(s["train_end"]), int(s["val_end"])) for s in pre["series"]}
    bounds = [split[n] for n in names]
    cuts = breaks if breaks is not None else [None] * len(values)
    n_t = len(targets)
    based = [
        scale_basis(to_space(v[:a, :n_t], space), season, b) for v, (a, _), b in zip(values, bounds, cuts, strict=True)
    ]
    scales = np.stack([s for s, _ in based])
    other = {n: bases for n, (_, bases) in zip(names, based, strict=True) if set(bases) != {"seasonal-naive MAE"}}
    history = history_rows(run)
    parts = {"validation": bounds, "training": [(history, a) for a, _ in bounds]}
    limit = {"validation": MAX_ORIGINS, "training": MAX_TRAINING_ORIGINS}
    jobs = {part: reaching_jobs(rows, history, steps, limit[part]) for part, rows in parts.items()}
    skipped: dict[str, int] = {}
    if breaks is not None and any(len(b) for b in breaks):
        skipped["origins_skipped_gaps"] = 0
        for part, rows in parts.items():
            kept = clear_of_gaps(jobs[part], breaks, history, steps, [b for _, b in rows])
            skipped["origins_skipped_gaps"] += len(jobs[part]) - len(kept)
            jobs[part] = kept
    doc: dict[str, Any] = (
        skipped
        | {
            "method": "split conformal: absolute errors scaled per series and target, pooled over the horizon steps "
            "by each step's spread, from the validation and training parts",
            "horizon": steps,
            "space": space,
            "levels": list(cfg.evaluate.intervals),
            "scales": {n: [float(x) for x in s] for n, s in zip(names, scales, strict=True)},
        }
        | ({"scale_bases": other} if other else {})
    )
    asymmetric = cfg.evaluate.asymmetric_intervals
    if asymmetric:
        doc["asymmetric"] = True
        doc["method"] += "; with evaluate.asymmetric_intervals each bound from its own tail of the signed errors"
    if not jobs["validation"]:
        return (
            doc
            | {"errors": [0] * steps, "quantiles": {}, "seasonal_naive": {}, "origins": 0}
            | ({"tails": {"quantiles": {}, "seasonal_naive": {}}} if asymmetric else {})
        )
    model, naive = zip(
        *(_part_errors(run, values, names, jobs[p], parts[p], scales, space) for p in parts), strict=True
    )
    _, model_q = quantiles(np.concatenate(model), targets)  # of the absolute errors
    _, naive_q = quantiles(np.concatenate(naive), targets)
    per_step = [int(np.isfinite(model[0][:, k]).all(axis=-1).sum()) for k in range(steps)]
    errors = counts(model[0])

    def given(vs: list[float | None], need: int) -> list[float | None]:
        """null where the validation part is too short for the level (intervals.refused)"""
        return [v if n >= need else None for v, n in zip(vs, errors, strict=True)]

    for q in (model_q, naive_q):
        for level, per in q.items():
            q[level] = {t: given(vs, needed(int(level))) for t, vs in per.items()}
    if asymmetric:
        doc["tails"] = {}
        for key, signed in (("quantiles", model), ("seasonal_naive", naive)):
            doc["tails"][key] = {
                level: {t: {side: given(vs, needed_for(doc, int(level))) for side, vs in sides.items()}
                        for t, sides in per.items()}
                for level, per in tails(np.concatenate(signed), targets).items()
            }  # fmt: skip
    return doc | {
        "origins": len(jobs["validation"]),
        "errors": errors,
        "step_errors": per_step,
        "training_origins": len(jobs["training"]),
        "training_errors": counts(model[1]),
        "quantiles": model_q,
        "seasonal_naive": naive_q,
    }


def _part_errors(
    run: Any,
    values: list[np.ndarray],
    names: list[str],
    jobs: list[tuple[int, int]],
    bounds: list[tuple[int, int]],
    scales: np.ndarray,
    space: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The model's and seasonal naive's signed scaled errors (truth - forecast; jobs, steps, targets) in `space` from
    the origins `jobs`, each forecast from the rows before it, nan where a step's truth lies outside its part
    bounds[i] = (start, end)."""
    from seqcast import forecast as fc

    steps, season, n_t = run.cfg.evaluate.horizon, run.cfg.evaluate.season, run.n_targets
    if not jobs:
        return np.empty((0, steps, n_t)), np.empty((0, steps, n_t))
    future = fc.known_future(values, jobs, steps, n_t) if run.pre["features"] else None  # from the whole series
    cut = [v[:b] for v, (_, b) in zip(values, bounds, strict=True)]
    pred = fc.forecast_origins(run, cut, names, jobs, steps, future)
    naive = np.stack([seasonal_naive(values[i][:, :n_t], o, steps, season) for i, o in jobs])
    return (
        scaled_errors(pred, values, jobs, bounds, scales, space, signed=True),
        scaled_errors(naive, values, jobs, bounds, scales, space, signed=True),
    )
