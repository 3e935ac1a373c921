"""Prediction intervals: split conformal, per horizon step and target, calibrated on the backtest errors of the
validation part pooled with the training part's.

After training, calibration.calibrate has the model forecast `evaluate.horizon` steps from every origin whose
steps reach into each series' validation part (data the weights never fitted; from `horizon - 1` rows before
it, at most MAX_ORIGINS per series, evenly spread), from the history before it. Each error is kept where its
truth lies inside the validation part, so every step gets one error per validation row. The same is done for
the training part (from the first row the model can forecast from, at most 256 origins per series evenly
spread: calibration.MAX_TRAINING_ORIGINS; each error where its truth lies in the training part), and the two
pools are joined. Errors are taken per horizon step and target, divided by
their series' scale (the in-sample seasonal-naive MAE of the training part, MASE's scale, or where that is 0
or undefined scale_basis's fallback) so that series of different sizes pool.

Why the training part too: the validation part is short (10 % of a series by default, one to six origins on
most yearly and quarterly series), and a calm stretch there gave intervals that the next, longer part of the
series outgrew. On the development series' validation splits with a test stand-in as long as the test part
(bench/ACCURACY.md), the validation part alone covered 11 to 15 points under the 80 % level on average and 5 to
7 under 95 %, with series 37 to 55 points short; pooled with the training part, within a point of both levels
on average, no series more than 7.5 points short at 95 %, and a lower interval score (MSIS) at both levels.
A level is still given only when the validation part alone gives the errors it needs (below): the training
part's errors are in-sample, and a network that fits its training part closely would make them too small.

The errors of all steps pool too (normalised conformal prediction): each step's errors are divided by that
step's spread (their mean, made non-decreasing along the steps), and the level-L quantile of the n pooled
ratios is the ceil((n + 1) L / 100)-th smallest; step k's quantile is that times step k's spread. With
exchangeable ratios a new one falls below it with probability at least L %, whatever their distribution, and
a short validation part (a yearly series' 10 rows) still backs a 95 % interval: a level needs n >= L / (100 -
L) pooled validation errors (4 for 80 %, 19 for 95 %); below that it is refused. Chosen on the development
series' validation parts over one quantile per step (bench/ACCURACY.md): most of those gave too few errors per
step for 95 % at all.

The interval of a forecast f is f -/+ q x scale, in original units. With a log transform the errors are
measured, and the interval built, on the log of the targets, then mapped back with exp: a swing that grows
with the level gets an interval that grows with it, and the bounds stay positive and ordered. The intervals
widen with the step as the errors do. Quantiles are kept for every whole level from 50 to 99
(calibration.json), so `forecast --interval` may ask for any of them.

With `evaluate.asymmetric_intervals: true` each bound comes from its own tail of the signed errors (truth minus
forecast, pooled over the steps by the spreads of their absolute values): the upper bound is f + the
(100 + L) / 2 % conformal quantile of the signed ratios times the spread, the lower one f - the same of their
negatives. Where the errors are one-sided (a tank's pressure, which refills lift by several units and nothing
lowers as fast) the interval reaches far on that side only and stays narrow on the other; it need not contain
the forecast. Each tail at (100 + L) / 2 % needs its own errors, n >= (100 + L) / (100 - L) (9 for 80 %,
39 for 95 %). On the development series' validation parts (bench/ACCURACY.md) it tied the symmetric default on
average and won on the tanks (MSIS at 95 % 18 % lower), so it is a choice, not the default.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqcast.errors import ConfigError, DataError
from seqcast.metrics import NO_SCALE

LEVELS = tuple(range(50, 100))  # whole levels kept in calibration.json
MAX_ORIGINS = 2000  # validation origins per series at most (evenly spread): errors enough, memory bounded


def needed(level: float) -> int:
    """The fewest errors whose conformal quantile at `level` % exists: (n + 1) L / 100 <= n."""
    return math.ceil(level / (100 - level) - 1e-9)


def tail(level: float) -> float:
    """The level of each tail's quantile of an asymmetric interval at `level` %: (100 + level) / 2."""
    return (100 + level) / 2


def needed_for(doc: dict[str, Any], level: float) -> int:
    """The fewest validation errors a calibration gives `level` % with: each tail's, for an asymmetric one."""
    return needed(tail(level) if doc.get("asymmetric") else level)


def conformal_quantile(errors: np.ndarray, level: float) -> float:
    """The ceil((n + 1) level / 100)-th smallest of the finite absolute errors; nan when there are too few."""
    return _ranked(np.sort(np.abs(errors[np.isfinite(errors)])), level)


def _ranked(ascending: np.ndarray, level: float) -> float:
    """conformal_quantile of errors already finite, absolute and sorted."""
    k = math.ceil((len(ascending) + 1) * level / 100 - 1e-9)
    return float(ascending[k - 1]) if 1 <= k <= len(ascending) else float("nan")


def space_of(transform: str) -> str:
    """Where errors are measured: the log of the targets for a log transform, else original units."""
    return "log" if transform.split("+")[0] == "log" else "original"


def to_space(y: np.ndarray, space: str) -> np.ndarray:
    if space != "log":
        return y
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(y > 0, y, np.nan))


def from_space(z: np.ndarray, space: str) -> np.ndarray:
    return np.exp(z) if space == "log" else z


def mase_scale(y: np.ndarray, season: int, breaks: np.ndarray | None = None) -> np.ndarray:
    """In-sample seasonal-naive MAE per column of y (rows before the test part): (targets,). breaks: the series'
    Series.breaks; a pair of rows `season` apart with a gap (data.missing: drop) between them is left out."""
    if len(y) <= season:
        return np.full(y.shape[1], np.nan)
    diff = np.abs(y[season:] - y[:-season])  # (rows - season, targets): row t against row t - season
    if breaks is not None and len(breaks):
        from seqcast.windows import crosses_break

        t = np.arange(season, len(y), dtype=np.int64)
        diff = diff[~crosses_break(breaks, t - season, season + 1)]
        if not len(diff):
            return np.full(y.shape[1], np.nan)
    scale = np.mean(diff, axis=0)
    return np.where(scale > 0, scale, np.nan)


SCALE_BASES = ("seasonal-naive MAE", "naive MAE", "mean absolute value", "1")


def scale_basis(train: np.ndarray, season: int, breaks: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """A series' error scale per target for the intervals (targets,) and what each rests on (SCALE_BASES): the
    mase_scale of its training part; where that is 0 or undefined (a training part no longer than the season) the
    naive (one-step) MAE; where that is too (a constant part) the mean absolute value; else 1."""
    out = np.full(train.shape[1], np.nan)
    basis = [SCALE_BASES[-1]] * train.shape[1]
    candidates = [mase_scale(train, season, breaks), mase_scale(train, 1, breaks)]
    candidates.append(np.nanmean(np.abs(train), axis=0) if len(train) else np.full(train.shape[1], np.nan))
    for name, values in zip(SCALE_BASES, candidates, strict=False):
        take = ~(np.isfinite(out) & (out > 0)) & np.isfinite(values) & (values > 0)
        out = np.where(take, values, out)
        basis = [name if k else b for k, b in zip(take, basis, strict=True)]
    return np.where(np.isfinite(out) & (out > 0), out, 1.0), basis


def scale_of(train: np.ndarray, season: int, breaks: np.ndarray | None = None) -> np.ndarray:
    """A series' error scale per target for the intervals (targets,): scale_basis's scale."""
    return scale_basis(train, season, breaks)[0]


def train_notes(doc: dict[str, Any], levels: list[int], targets: list[str], part: str = "training part") -> list[str]:
    """What `train` says of its calibration.json: each level it cannot give, and each basis other than the
    seasonal-naive MAE that `scale_bases` records (those series' intervals rest on another scale, measured on
    their `part`: a forecast's new series on their history)."""
    notes = [
        f"no {level} % interval: {why}; forecast --interval {level} will refuse it (data.split.val)"
        for level in levels
        if (why := refused(doc, level))
    ]
    by_basis: dict[str, list[str]] = {}
    for name, bases in doc.get("scale_bases", {}).items():
        for target, basis in zip(targets, bases, strict=True):
            who = f"series {name!r}" if name else "the series"
            if basis != SCALE_BASES[0]:
                by_basis.setdefault(basis, []).append(who if len(targets) == 1 else f"{who}, target {target!r}")
    reason = {
        "naive MAE": f"no seasonal-naive error to scale by (a {part} no longer than evaluate.season, or one that "
        "repeats it exactly)",
        "mean absolute value": f"a constant {part} gives no spread to scale by, so their width rests on the level "
        "alone and their coverage is a guess",
        "1": f"a {part} constant at 0, so their width and coverage are a guess",
    }
    return notes + [
        f"the intervals of {', '.join(who[:5])}{f' and {len(who) - 5} more' if len(who) > 5 else ''} are scaled "
        f"by {'the ' + basis + f' of their {part}' if basis != '1' else '1'}: {reason[basis]}"
        for basis, who in by_basis.items()
    ]


def reaching_jobs(
    bounds: list[tuple[int, int]], first: int, steps: int = 1, limit: int = MAX_ORIGINS
) -> list[tuple[int, int]]:
    """(series, origin) for every origin whose `steps` steps reach into a part [start, end) of series i =
    bounds[i] (the validation part: [train_end, val_end)): rows start - steps + 1 to end - 1 with `first` rows
    before them, at most `limit` per series (evenly spread). A series whose part is empty has none."""
    jobs = []
    for i, (a, b) in enumerate(bounds):
        if b <= a:
            continue
        rows = np.arange(max(a - steps + 1, first), b)
        if len(rows) > limit:
            rows = rows[np.unique(np.linspace(0, len(rows) - 1, limit).round().astype(np.int64))]
        jobs += [(i, int(o)) for o in rows]
    return jobs


def scaled_errors(
    pred: np.ndarray,
    values: list[np.ndarray],
    jobs: list[tuple[int, int]],
    bounds: list[tuple[int, int]],
    scales: np.ndarray,
    space: str,
    signed: bool = False,
) -> np.ndarray:
    """|truth - forecast| / scale in `space` ((truth - forecast) / scale if signed), (jobs, steps, targets); nan
    where the step's truth lies outside its series' validation part bounds[i] = (train_end, val_end)."""
    n_j, steps, n_t = pred.shape
    true = np.full(pred.shape, np.nan)
    for j, (i, o) in enumerate(jobs):
        a, b = max(bounds[i][0], o), min(o + steps, bounds[i][1])
        true[j, a - o : b - o] = values[i][a:b, :n_t]
    series = np.array([i for i, _ in jobs], dtype=np.int64)
    with np.errstate(invalid="ignore"):
        diff = (to_space(true, space) - to_space(pred, space)) / scales[series][:, None, :]
    return diff if signed else np.abs(diff)


def spreads(errors: np.ndarray) -> np.ndarray:
    """Each step's spread of (rows, steps) absolute errors: their mean, made non-decreasing along the steps (a
    step without errors takes the one before it's); nan before the first step with errors."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of a step without errors: nan, then filled
        s = np.nanmean(errors, axis=0)
    return np.fmax.accumulate(s)


def counts(errors: np.ndarray) -> list[int]:
    """The errors each step's pooled quantile rests on, of (jobs, steps, targets) errors: every error of all the
    targets, at each step from the first with errors on (the steps before it have no spread: 0)."""
    whole = np.isfinite(errors).all(axis=-1)  # (jobs, steps): an error of every target
    known = np.cumsum(whole.any(axis=0)) > 0
    return [int(whole.sum()) if k else 0 for k in known.tolist()]


def _pooled_ratios(errors: np.ndarray, targets: list[str]) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(how many (job, step) cells have an error of every target, each target's spread per step, and its errors
    divided by them) of (jobs, steps, targets) scaled errors: a zero error over a zero spread is 0, another one
    -/+inf; nan outside the pool."""
    whole = np.isfinite(errors).all(axis=-1)  # (jobs, steps): an error of every target
    spread, ratio = {}, {}
    for j, t in enumerate(targets):
        e = np.where(whole, errors[:, :, j], np.nan)
        spread[t] = spreads(np.abs(e))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio[t] = np.where(spread[t] > 0, e / spread[t], np.where(e == 0, 0.0, np.sign(e) * np.inf))
    return int(whole.sum()), spread, ratio


def _per_step(q: float, spread: np.ndarray) -> list[float | None]:
    """A pooled quantile of the ratios times each step's spread; None where that is not a number."""
    return [float(q * s) if np.isfinite(q * s) else None for s in spread]


def quantiles(errors: np.ndarray, targets: list[str]) -> tuple[list[int], dict[str, dict[str, list[float | None]]]]:
    """(errors each step's quantile rests on, {level: {target: [quantile per step, None where too few]}}) of
    (jobs, steps, targets) absolute scaled errors, pooled over the steps by their spreads."""
    pooled, spread, ratio = _pooled_ratios(np.abs(errors), targets)
    ranked = {t: np.sort(r[np.isfinite(r)]) for t, r in ratio.items()}  # every pooled error once, for all 50 levels
    out: dict[str, dict[str, list[float | None]]] = {}
    for level in LEVELS:
        per: dict[str, list[float | None]] = {}
        for t in targets:
            q = _ranked(ranked[t], level) if len(ranked[t]) == pooled else float("nan")
            per[t] = _per_step(q, spread[t])
        out[str(level)] = per
    return counts(errors), out


def tails(errors: np.ndarray, targets: list[str]) -> dict[str, dict[str, dict[str, list[float | None]]]]:
    """{level: {target: {"lo": [...], "hi": [...]}}} of (jobs, steps, targets) signed scaled errors (truth -
    forecast): how far below and above the forecast each bound of an asymmetric interval lies, per step (the
    lower one above it where even the low tail's errors are positive). The steps pool by the spreads of the
    absolute errors, as in `quantiles`; each tail is the conformal quantile at (100 + level) / 2 % of the signed
    ratios (hi) or of their negatives (lo); None where too few."""
    pooled, spread, ratio = _pooled_ratios(errors, targets)
    ranked = {t: (np.sort(-r[~np.isnan(r)]), np.sort(r[~np.isnan(r)])) for t, r in ratio.items()}
    out: dict[str, dict[str, dict[str, list[float | None]]]] = {}
    for level in LEVELS:
        out[str(level)] = {
            t: {
                side: _per_step(_ranked(r, tail(level)) if len(r) == pooled else float("nan"), spread[t])
                for side, r in zip(("lo", "hi"), ranked[t], strict=True)
            }
            for t in targets
        }
    return out


def refused(doc: dict[str, Any], level: int, steps: int | None = None) -> str | None:
    """Why `level` cannot be given for the first `steps` steps (default: the calibrated horizon), or None."""
    steps = doc["horizon"] if steps is None else steps
    counts = doc["errors"][:steps]
    low = min(counts) if counts else 0
    if low >= needed_for(doc, level):
        return None
    article = "an" if 80 <= level <= 89 else "a"  # an eighty
    what = f"{article} {level} % interval"
    if doc.get("asymmetric"):
        what += f" (evaluate.asymmetric_intervals: each tail a {tail(level):g} % quantile)"
    return f"{what} needs at least {needed_for(doc, level)} validation errors; the validation part gives {low}"


def check_levels(doc: dict[str, Any] | None, levels: Sequence[float], steps: int, run: Path | None = None) -> None:
    """Refuse, naming the key at fault, levels that the run's calibration cannot give for `steps` steps."""
    if not levels:
        return
    if doc is None:
        raise DataError(
            "the run has no calibration.json, which the intervals come from",
            where=None if run is None else str(run),
            hint="forecast without --interval, or train the run again (train writes calibration.json)",
        )
    bad = [lv for lv in levels if not 50 <= lv <= 99 or lv != int(lv)]
    if bad:
        shown = f"{bad[0]:g}" if float(f"{bad[0]:g}") == bad[0] else repr(bad[0])  # 99.99999999999, not 100
        raise ConfigError(f"interval levels are whole percentages from 50 to 99, not {shown}", where="--interval")
    if steps > doc["horizon"]:
        raise ConfigError(
            f"the intervals are calibrated for {doc['horizon']} steps (evaluate.horizon), not {steps}: the "
            "validation errors say nothing about steps further ahead",
            where="--steps",
            hint=f"forecast at most {doc['horizon']} steps with --interval, or train with a larger evaluate.horizon",
        )
    tails = {"'tails' 'quantiles'": doc["tails"]["quantiles"]} if doc.get("asymmetric") else {}
    tables = {"'quantiles'": doc.get("quantiles")} | tails  # (read_calibration checked both; a bare doc has neither)
    for lv in levels:
        why = refused(doc, int(lv), steps)
        if why:
            raise ConfigError(
                why + " in this run",
                where="data.split.val",
                hint="train with a larger validation part, or ask for a lower level",
            )
        lost = next((key for key, table in tables.items() if table is not None and str(int(lv)) not in table), None)
        if lost:  # train writes every level from 50 to 99: a file edited by hand (read_calibration checks its levels)
            file = "calibration.json" if run is None else run / "calibration.json"
            raise DataError(f"calibration.json has no {lost} for level {int(lv)}", where=str(file),
                            hint="train the run again")  # fmt: skip


def bands(
    doc: dict[str, Any], pred: np.ndarray, names: list[str], targets: list[str], level: int, which: str = "quantiles"
) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) in original units around pred (series, steps, targets) of the series `names`. Symmetric: the
    forecast -/+ the quantile, widened to hold the forecast; asymmetric (doc["tails"]): each bound its own tail."""
    steps = pred.shape[1]
    scale = np.array([doc["scales"][n] for n in names])[:, None, :]  # (series, 1, targets)
    z = to_space(pred, doc["space"])

    def offsets(per: dict[str, list[float | None]]) -> np.ndarray:
        return np.array([[np.nan if v is None else v for v in per[t][:steps]] for t in targets]).T[None] * scale

    if doc.get("asymmetric"):
        per = doc["tails"][which][str(level)]
        below = offsets({t: per[t]["lo"] for t in targets})
        above = offsets({t: per[t]["hi"] for t in targets})
        lo, hi = from_space(z - below, doc["space"]), from_space(z + above, doc["space"])
        return np.minimum(lo, hi), np.maximum(lo, hi)
    q = offsets(doc[which][str(level)])
    lo, hi = from_space(z - q, doc["space"]), from_space(z + q, doc["space"])
    return np.minimum(lo, pred), np.maximum(hi, pred)


def interval_scores(lo: np.ndarray, hi: np.ndarray, true: np.ndarray, scale: np.ndarray, level: int) -> dict[str, Any]:
    """Coverage (share of truths inside [lo, hi]), mean width and interval score (MSIS, Gneiting and Raftery's
    interval score as the M4 competition scaled it), width and score divided by the MASE scale."""
    alpha = 1 - level / 100
    lo, hi, true, scale = np.broadcast_arrays(lo, hi, true, scale)
    ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(true)
    if not ok.any():
        return {"coverage": float("nan"), "width": float("nan"), "score": float("nan")}
    coverage = float(np.mean((true[ok] >= lo[ok]) & (true[ok] <= hi[ok])))  # needs no scale: every truth
    scaled = ok & np.isfinite(scale) & (scale > 0)  # width and score: the truths with a MASE scale, and how many
    unscaled = {"unscaled": int(ok.sum() - scaled.sum())} if scaled.sum() < ok.sum() else {}  # they leave out
    if not scaled.any():  # (a series whose seasonal naive is exact before the test part has no scale)
        why = {"width_why": NO_SCALE, "score_why": NO_SCALE}
        return {"coverage": coverage, "width": float("nan"), "score": float("nan")} | unscaled | why
    ok = scaled
    lo, hi, true, scale = lo[ok], hi[ok], true[ok], scale[ok]
    width = hi - lo
    penalty = 2 / alpha * (np.maximum(lo - true, 0) + np.maximum(true - hi, 0))
    score = float(np.mean((width + penalty) / scale))
    return {"coverage": coverage, "width": float(np.mean(width / scale)), "score": score} | unscaled
