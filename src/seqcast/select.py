"""`data.transform: auto`: choose the transform by a validation backtest.

Recurrent networks cannot extrapolate to a level they never saw, and small series give them little to learn a
season from. Each step of a transform answers one of those (transforms.py): levels (`none`) win on a series that
returns to the same range, `window_norm` (look-back windows) or `difference` (stateful models) on a level shift,
`window_trend` on a trend the network should continue, `deseason` or `seasonal` on a season the network would
otherwise have to learn (it learns what seasonal naive misses), `log` on a swing that grows with the level. No
step is always better.

`auto` therefore decides per data set by a validation backtest (see choose()): every candidate that applies
(auto_candidates: levels, the level-free ones, and with a season the seasonal one) is trained briefly with the
config's own settings, then forecasts evaluate.horizon steps ahead from every origin whose steps reach into the
validation part (from horizon - 1 rows before it, as the intervals are calibrated), from the history before that
origin; every step whose truth lies in the validation part is scored, so each step rests on every validation row.
The one with the lowest mean absolute error, scaled by the training part's in-sample seasonal-naive MAE (MASE), is
chosen; of candidates within SIMPLER_WITHIN of the lowest, the plain level-free step (LEVEL_FREE_FIRST), else the
earliest (simplest). Only the training and validation parts are ever looked at: the test part stays unseen.
Without a validation part, a range rule decides (see choose_by_range()).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import engine
from seqcast.config import Config
from seqcast.data import Dataset, Parts
from seqcast.errors import DataError
from seqcast.evaluate import mase_scale
from seqcast.fit import Note, fit, silent
from seqcast.forecast import forecast_origins, known_future
from seqcast.layout import Plan, first_row, no_validation
from seqcast.prepare import Scaler, build
from seqcast.run import Run
from seqcast.transforms import auto_candidates
from seqcast.windows import clear_of_gaps

Progress = Callable[[int, str], Any]  # (epochs, label) -> a Keras callback that shows them


BRIEF_EPOCHS = 20  # epochs each `auto` candidate trains at most (early stopping as configured)
MAX_ORIGINS = 60  # validation origins scored per series at most (evenly spread over the part)


def out_of_range(ds: Dataset, parts: list[Parts], scaler: Scaler) -> float:
    """How far the validation part leaves the training part's range, in training ranges (0 = inside)."""
    worst = 0.0
    n_t = len(ds.targets)
    for i, (s, p) in enumerate(zip(ds.series, parts, strict=True)):
        if p.val_end <= p.train_end:
            continue
        train = scaler.transform(i, s.values[: p.train_end])[:, :n_t]
        val = scaler.transform(i, s.values[p.train_end : p.val_end])[:, :n_t]
        lo, hi = np.nanmin(train, axis=0), np.nanmax(train, axis=0)
        width = np.maximum(hi - lo, 1e-12)
        excess = np.maximum(np.nanmax(val, axis=0) - hi, 0) + np.maximum(lo - np.nanmin(val, axis=0), 0)
        worst = max(worst, float(np.nan_to_num(excess / width).max()))
    return worst


def choose_by_range(ds: Dataset, parts: list[Parts], scaler: Scaler, mode: str) -> tuple[str, str]:
    """(transform, why) without a validation backtest: level-free when the newest rows leave the older rows' range.

    With a validation part it is compared with the training part; without one, the last fifth of
    the training part with the rest of it.
    """
    if no_validation(parts):
        parts = [Parts(train_end=max(1, (4 * p.train_end) // 5), val_end=p.train_end, n=p.n) for p in parts]
    drift = out_of_range(ds, parts, scaler)
    if drift > 0.05:
        level_free = auto_candidates(mode, 1)[1]  # window_norm, or difference in stateful mode
        return level_free, f"newer values leave the earlier range by {drift:.0%} of it: trend or level shift"
    return "none", f"newer values stay within the earlier range (excess {drift:.0%})"


def validation_jobs(p: Plan, horizon: int) -> tuple[list[tuple[int, int]], int]:
    """([(series, origin)], steps): every origin whose `horizon` steps reach into a series' validation part, from
    horizon - 1 rows before it to its last row (at most MAX_ORIGINS per series, evenly spread), as the intervals
    are calibrated: each step is scored on every validation row. steps = evaluate.horizon."""
    from seqcast.intervals import reaching_jobs

    bounds = [(q.train_end, q.val_end) for q in p.parts]
    # data.missing: drop: no origin whose window (with every candidate's transform rows) or steps cross a gap
    history = (1 if p.cfg.stateful else p.cfg.windows.look_back) + first_row(p.cfg)
    jobs = reaching_jobs(bounds, history, horizon, MAX_ORIGINS)
    return clear_of_gaps(jobs, [s.breaks for s in p.ds.series], history, horizon, [b for _, b in bounds]), horizon


def validation_mase(run: Any, p: Plan, jobs: list[tuple[int, int]], steps: int) -> float:
    """Mean |error| / in-sample seasonal-naive MAE of the training part, over every job, step and target whose
    truth lies in the validation part."""
    ds, n_t = p.ds, len(p.ds.targets)
    season = p.cfg.evaluate.season
    values = [s.values for s in ds.series]
    fut = known_future(values, jobs, steps, n_t) if ds.features else None
    pred = forecast_origins(run, values, ds.names, jobs, steps, fut)
    true = np.full(pred.shape, np.nan)
    for j, (i, o) in enumerate(jobs):
        a, b = max(p.parts[i].train_end, o), min(o + steps, p.parts[i].val_end)
        true[j, a - o : b - o] = values[i][a:b, :n_t]
    scales = []
    for i, q in enumerate(p.parts):
        train = values[i][: q.train_end, :n_t]
        scale = mase_scale(train, season if len(train) > season else 1)
        if not np.isfinite(scale).all():  # a too short or constant part: naive, then unscaled
            scale = np.where(np.isfinite(scale), scale, mase_scale(train, 1))
            scale = np.where(np.isfinite(scale), scale, 1.0)
        scales.append(scale)
    scale = np.stack([scales[i] for i, _ in jobs])[:, None, :]
    err = np.abs(pred - true) / scale
    return float(np.nanmean(err)) if np.isfinite(err).any() else float("inf")


# Networks per trial (seeds seed, seed + 1, ...), their validation MASE averaged. A trial's seed moves a
# candidate's score by up to ~10 % on a noisy series (bench/ACCURACY.md, elnino), but 2 networks changed no
# choice on the development series' validation splits (seed 1: 14 of 14 the same; seed 0: the same geometric
# mean) and made the trials take twice as long: 1 it stays.
TRIAL_NETWORKS = 1


def candidate_score(
    cfg: Config,
    p: Plan,
    scaler: Scaler,
    transform: str,
    jobs: list[tuple[int, int]],
    steps: int,
    progress: list[Any] | None = None,
) -> float:
    """Train `transform` briefly (at most BRIEF_EPOCHS) on the training part; its validation MASE.

    progress: Keras callbacks that show the trial's epochs (none by default).
    """
    brief = cfg.model_copy(deep=True)
    brief.training.epochs = trial_epochs(cfg)
    brief.training.tensorboard = False
    prep = build(replace(p, cfg=brief), scaler, transform, "auto candidate")
    doc = prep.preprocess_doc()
    scores = []
    for k in range(TRIAL_NETWORKS):
        model, _ = fit(prep.seeded(k), callbacks=progress if k == 0 else None)
        run = Run(Path("."), brief, doc, engine.from_keras(model))
        scores.append(validation_mase(run, p, jobs, steps))
    return float(np.mean(scores))


def choose(
    cfg: Config, p: Plan, scaler: Scaler, note: Note = silent, progress: Progress | None = None
) -> tuple[str, str, dict[str, float]]:
    """(transform, why, validation MASE of every candidate) for `auto` (see the module doc).

    Trains each candidate briefly (TensorFlow is imported then). note says which trial runs; progress(epochs,
    label) makes a Keras callback that shows its epochs (both silent by default). Uses the training and
    validation parts only; the test part is never read.
    """
    mode = cfg.windows.mode
    jobs, steps = validation_jobs(p, cfg.evaluate.horizon)
    if not jobs:
        transform, why = choose_by_range(p.ds, p.parts, scaler, mode)
        return transform, why + "; no validation part to backtest on", {}
    scores, failed = dict[str, float](), dict[str, str]()
    candidates = auto_candidates(mode, cfg.evaluate.season)
    epochs = trial_epochs(cfg)
    for k, candidate in enumerate(candidates):
        note(
            f"data.transform auto: trial {k + 1} of {len(candidates)}, {candidate}: at most {epochs} epochs, "
            f"then a backtest from {len(jobs)} validation origins"
        )
        bar = [progress(epochs, f"trial {k + 1}")] if progress is not None else None
        try:
            scores[candidate] = candidate_score(cfg, p, scaler, candidate, jobs, steps, bar)
        except DataError as exc:  # this candidate diverged, say: another one is chosen, and its failure said
            scores[candidate], failed[candidate] = float("inf"), exc.message
    failed |= {k: "forecasts not finite" for k, v in scores.items() if not math.isfinite(v) and k not in failed}
    best = pick(scores)
    shown = " vs ".join(f"{k} {v:.3f}" if k not in failed else f"{k} failed ({failed[k]})" for k, v in scores.items())
    scores = {k: v for k, v in scores.items() if k not in failed}  # preprocess.json's: scores, each a number
    if best is None:
        transform, why = choose_by_range(p.ds, p.parts, scaler, mode)
        return transform, f"{why}; no candidate could be scored on the validation part: {shown}", scores
    shown += tie_note(scores, best)
    return best, f"validation MASE {shown}; {len(jobs)} origins x {steps} steps, {epochs}-epoch trials", scores


# A candidate wins only if it beats every earlier (simpler) one by more than this fraction of the lowest MASE.
# Chosen on the development series' validation parts (bench/ACCURACY.md): with at most a few dozen validation
# origins, candidates within a few percent are a tie, and picking the lowest by a hair picked window_norm over
# levels on a noisy series (test MASE 3.4 against 1.9). 0.02 to 0.1 did equally well there; 0 did worst.
SIMPLER_WITHIN = 0.05

# In a tie the first level-free step goes before levels: a network on levels cannot forecast past the range it
# was trained on, so of two candidates that scored alike on the validation part, the one that does not need the
# future to stay in that range is the safer bet. Chosen on validation with a stand-in test part as long as the
# test part (bench/ACCURACY.md, 2026-12-05): 3 choices of 26 changed, unemp 0.997 -> 0.404 and sunspots 0.830 ->
# 0.836 / 0.806 -> 0.823; geometric mean 0.659 / 0.600 -> 0.615 / 0.601. On the shorter stand-in none changed.
LEVEL_FREE_FIRST = ("window_norm", "difference")


def ties(scores: dict[str, float]) -> list[str]:
    """The candidates whose validation MASE is within SIMPLER_WITHIN of the lowest, in trial order (a diverged
    candidate, scored inf, never is)."""
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    low = min(finite.values(), default=np.inf)
    return [k for k, v in finite.items() if v <= low * (1 + SIMPLER_WITHIN)]


def pick(scores: dict[str, float]) -> str | None:
    """The candidate auto keeps, among the ties(): the level-free step (window_norm, difference) if it is one of
    them, else the first (simplest) of them; None when none could be scored."""
    tied = ties(scores)
    return next((k for k in tied if k in LEVEL_FREE_FIRST), tied[0]) if tied else None


def tie_note(scores: dict[str, float], kept: str) -> str:
    """Why `kept` won when its score is not the lowest ('' when it is): the reason shown and written."""
    tied = ties(scores)
    low = min(tied, key=scores.__getitem__)
    if kept == low:
        return ""
    rule = "the level-free step before levels" if kept in LEVEL_FREE_FIRST and "none" in tied else "the simplest"
    return f"; {kept} within {SIMPLER_WITHIN:.0%} of {low}'s: a tie, {rule}"


def trial_epochs(cfg: Config) -> int:
    """The epochs each `auto` trial trains at most: BRIEF_EPOCHS, or training.epochs when fewer."""
    return min(cfg.training.epochs, BRIEF_EPOCHS)


def losing_note(val: dict[str, Any], evaluate: Any, auto: int) -> str | None:
    """The safety net's words when the network loses to seasonal naive on the validation part's backtest
    (metrics.json `validation`), else None. auto: the epochs of the trials by whose scores the run chose its
    transform, another backtest, which the note tells apart (0: the transform was set)."""
    if not val or not val["model"] > val["seasonal_naive"]:  # NaN (seasonal naive exact: no MASE scale): no verdict
        return None
    season, n = evaluate.season, val["origins"]
    trials = f"; auto's trial scores come from {auto}-epoch networks on every origin reaching into it"
    trials = trials if auto else ""
    return (
        f"on the validation part ({n} origin{'s' if n != 1 else ''} x horizon {evaluate.horizon}, as the test "
        f"part's backtest{trials}) the network (MASE {val['model']:.3f}) is worse than seasonal naive (MASE "
        f"{val['seasonal_naive']:.3f}, season {season}): for these series, forecasting "
        f"{'the last value' if season == 1 else 'the value one season earlier'} beats this model; try another "
        "data.transform, more data, or that forecast"
    )
