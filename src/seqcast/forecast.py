"""Autoregressive multi-step forecasts in original units, with real timestamps.

Two pure loops take any predictor, so a "repeat the last value" predictor tests them without
TensorFlow:
  rolling_forecast:  look-back models; the window slides over its own predictions (blocks of horizon).
  stateful_forecast: stateful / many_to_many models; states warmed on the history, then every
                     prediction is fed back as the next input.
The run's model.keras is executed by seqcast.engine (numpy), batch = number of series.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from seqcast import engine, lead
from seqcast.data import Dataset
from seqcast.errors import ConfigError, DataError, located
from seqcast.layout import positive_rows
from seqcast.run import Run
from seqcast.table import Table
from seqcast.transforms import denormalise, normalise_window

Predict = Callable[[np.ndarray], np.ndarray]


def rolling_forecast(
    predict: Predict,
    window: np.ndarray,
    steps: int,
    n_targets: int,
    future: np.ndarray | None = None,
    window_step: str = "",
    fixed: int = 0,
) -> np.ndarray:
    """Slide a window over its own predictions.

    predict: (batch, look_back, inputs) -> (batch, horizon, n_targets); window: (batch, look_back, inputs);
    future: (batch, steps, inputs - n_targets) known future features. Returns (batch, steps, n_targets).
    With a window_step (transforms.WINDOW_STEPS), every window has its reference (its last row, its mean, or the
    line of its trend) subtracted before predict and added back after (normalise_window, denormalise); the last
    `fixed` inputs (static, series identity) are left as they are.
    """
    b, look_back, n_in = window.shape
    buf = np.asarray(window)  # its own dtype: float32 model units stay float32
    out: list[np.ndarray] = []
    done = 0
    while done < steps:
        x = buf[:, -look_back:]
        if window_step:
            shape, level, slope = normalise_window(x, window_step, fixed)
            y = denormalise(predict(shape), level, slope)
        else:
            y = predict(x)
        h = y.shape[1]
        feats = _future_rows(future, done, h, b, n_in - n_targets, buf)
        buf = np.concatenate([buf, np.concatenate([y, feats], axis=2)], axis=1)[:, -look_back:]
        out.append(y[:, : steps - done])
        done += h
    return np.concatenate(out, axis=1)


def _future_rows(future: np.ndarray | None, at: int, h: int, b: int, n_feat: int, buf: np.ndarray) -> np.ndarray:
    if n_feat == 0:
        return np.zeros((b, h, 0), buf.dtype)
    assert future is not None
    rows = future[:, at : at + h]
    if rows.shape[1] < h:  # past the last step asked for: rows that only feed unused predictions
        pad = np.repeat(
            buf[:, -1:, buf.shape[2] - n_feat :] if rows.shape[1] == 0 else rows[:, -1:], h - rows.shape[1], 1
        )
        rows = np.concatenate([rows, pad], axis=1)
    return rows


def stateful_forecast(
    run_model: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
    history: np.ndarray,
    steps: int,
    n_targets: int,
    future: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    per_step: bool | None = None,
    answered: np.ndarray | None = None,
) -> np.ndarray:
    """Warm the states on the history, then feed every prediction back.

    run_model(x, mask) continues the states (fresh, zero states before the history);
    history: (batch, time, inputs), mask False where a shorter series is padded on the left.
    A many_to_many model answers every step (per_step: one step fed back at a time); a many_to_one
    model answers a block of horizon steps (the block is fed back whole). answered: the model's answer to the
    history when it has run already (a saved state, state.py): the history is then not run again.
    """
    b, t, n_in = history.shape
    y = run_model(history, mask) if answered is None else answered  # (batch, time or horizon, n_targets)
    if per_step is None:  # guess from the shapes; callers that know the model kind say it
        per_step = y.shape[1] == t and t > 1 or (t == 1 and y.shape[1] == 1)
    out: list[np.ndarray] = []
    done = 0
    while True:
        block = y[:, -1:] if per_step else y  # predictions of the next step(s)
        out.append(block[:, : steps - done])
        done += block.shape[1]
        if done >= steps:
            break
        feats = _future_rows(future, done - block.shape[1], block.shape[1], b, n_in - n_targets, history)
        y = run_model(np.concatenate([block, feats], axis=2), None)
    return np.concatenate(out, axis=1)


def forecast_histories(
    run: Run,
    histories: list[np.ndarray],
    names: list[str],
    steps: int,
    future: list[np.ndarray] | None = None,
    series_batch: int = 4096,
) -> np.ndarray:
    """Forecast `steps` rows after each history (n_i, inputs) in original units: (series, steps, n_targets)."""
    jobs = [(i, len(h)) for i, h in enumerate(histories)]
    return forecast_origins(run, histories, names, jobs, steps, future, batch=series_batch)


def known_future(values: list[np.ndarray], jobs: list[tuple[int, int]], steps: int, n_targets: int) -> list[np.ndarray]:
    """The known future features of every job (series i, origin o) of a backtest: rows o .. o + steps of series i's
    feature columns, the last row repeated past the series' end (steps whose truth is not scored)."""
    out = []
    for i, o in jobs:
        f = values[i][o : o + steps, n_targets:]
        out.append(np.concatenate([f, np.repeat(f[-1:], steps - len(f), axis=0)]) if len(f) < steps else f)
    return out


def forecast_origins(
    run: Run,
    values: list[np.ndarray],
    names: list[str],
    jobs: list[tuple[int, int]],
    steps: int,
    future: list[np.ndarray] | None = None,
    batch: int = 4096,
) -> np.ndarray:
    """Forecast `steps` rows after every origin, in original units: (jobs, steps, n_targets).

    values[i]: series i (n_i, inputs) in original units; job (i, o) forecasts rows o, o + 1, ... of series i
    from values[i][:o] alone; future[j]: (steps, features) known future features of job j, original units.
    A backtest's origins cost what one pass over each history costs, plus the forecasts:
      look-back models: each origin's window, all origins `batch` at a time, one model call per step;
      stateful and many_to_many models: every series is warmed once over its history (NumpyModel.warm),
      the states are kept at the origins only, and every origin is forecast from its snapshot, `batch`
      origins at a time. Memory: origins x state size, never history x state size.
    """
    n_t, tf = run.n_targets, run.steps
    values, future = lead.origins(values, jobs, future, lead.of_run(run.pre), n_t)  # features one row ahead
    first = tf.lost  # rows at the start of a series without model units (seasonal step, difference)
    stateful = run.pre["mode"] == "stateful"
    need = 1 if stateful else run.pre["look_back"]  # model-unit rows before an origin
    series = np.array([i for i, _ in jobs], dtype=np.int64)
    origin = np.array([o for _, o in jobs], dtype=np.int64)
    short = np.flatnonzero(origin - first < need)
    if len(short):
        why = f"windows.look_back={need}" if not stateful else "one row to start from"
        if first:
            why += f", plus {first}: data.transform {tf.name} leaves the first {first} row(s) without model units"
        raise DataError(
            f"{f'series {name!r}' if (name := names[int(series[short[0]])]) else 'the series'} has "
            f"{(n := int(origin[short[0]]))} row{'s' * (n != 1)} before the forecast origin; "
            f"the model needs at least {need + first} ({why})"
        )
    scaler = run.scaler(names)
    # model units (float32, what the network reads) of the rows each series' origins need: all rows before the
    # last origin for a stateful model, the windows of the first to the last origin for a look-back model
    ids, which = np.unique(series, return_inverse=True)
    lo, hi = np.full(len(ids), np.iinfo(np.int64).max), np.zeros(len(ids), np.int64)
    np.minimum.at(lo, which, origin - need - first)
    np.maximum.at(hi, which, origin)
    if stateful:
        lo[:] = 0
    if tf.log:
        positive_rows(values, zip(ids.tolist(), lo.tolist(), hi.tolist(), strict=True), run.pre["targets"], names)

    with np.errstate(over="ignore", invalid="ignore"):  # a value past float32's range: refused just below
        units = {
            i: run.units(scaler, i, values[i][a:b]).astype(np.float32)
            for i, a, b in zip(ids.tolist(), lo.tolist(), hi.tolist(), strict=True)
        }
    huge = [names[i] for i, u in units.items() if np.isinf(u).any()]  # NaN: rows the transform leaves without units
    if huge:
        raise DataError(f"series {huge[0]!r} has values too large for the model's float32 units once scaled",
                        hint="correct those rows; values far beyond the training data's need a new run")  # fmt: skip
    start = dict(zip(ids.tolist(), lo.tolist(), strict=True))  # the row of values[i] that is units[i][0]
    before = [(i, values[i][o - first : o]) for i, o in jobs]  # the rows the transform reads before each origin
    fut = _future_units(run, scaler, before, future) if future is not None and run.pre["features"] else None
    pred = np.empty((len(jobs), steps, n_t), np.float32)
    with engine.one_blas_thread():
        if stateful:
            _stateful_origins(run, units, series, origin - first, steps, fut, pred, batch)
        else:
            _lookback_origins(run, units, start, series, origin, steps, fut, pred, batch)
    return _to_original(run, scaler, before, pred)


def _future_units(run: Run, scaler: Any, before: list[tuple[int, np.ndarray]], future: list[np.ndarray]) -> np.ndarray:
    """Model units (jobs, steps, features) of known future features; before[j] = (series i, its original rows
    just before job j's origin, at least the transform's `lost` of them), which the transform reads first."""
    n_t, first = run.n_targets, run.steps.lost
    no_targets = [np.column_stack([np.zeros((len(f), n_t)), f]) for f in future]
    out = np.stack([
        run.units(scaler, i, np.concatenate([rows[len(rows) - first :], f]))[first:, n_t:]
        for (i, rows), f in zip(before, no_targets, strict=True)
    ]).astype(np.float32)  # fmt: skip
    past = [run.pre["features"].index(c) for c in run.pre.get("past_features", [])]
    out[:, :, past] = np.nan  # known up to the origin only, even where a backtest has them: never read ahead
    return out


def _to_original(run: Run, scaler: Any, before: list[tuple[int, np.ndarray]], pred: np.ndarray) -> np.ndarray:
    """pred (jobs, steps, targets) in model units back to original units: the seasonal step and the difference
    undone from the scaled rows just before each origin (before, as in _future_units), then the scaling."""
    tf, n_t, first = run.steps, run.n_targets, run.steps.lost
    out = pred.astype(np.float64)
    if first:
        rows = [scaler.transform(i, tf.pre(r[len(r) - first :], n_t))[:, :n_t] for i, r in before]
        out = tf.inverse(out, np.stack(rows))
    series = np.array([i for i, _ in before], dtype=np.int64)
    return tf.post(out * scaler.scale[series, None, :n_t] + scaler.center[series, None, :n_t])


def _lookback_origins(
    run: Run,
    units: dict[int, np.ndarray],
    start: dict[int, int],
    series: np.ndarray,
    origin: np.ndarray,
    steps: int,
    fut: np.ndarray | None,
    pred: np.ndarray,
    batch: int,
) -> None:
    """pred[j] = the rolling forecast from the look_back model-unit rows before origin j, `batch` origins at a time."""
    model, n_t, look_back = run.model, run.n_targets, run.pre["look_back"]
    last_step_only = run.pre["kind"] == "many_to_many"  # a look-back many_to_many model: its last output is next

    def predict(x: np.ndarray) -> np.ndarray:
        model.reset(x.shape[0])  # every window starts from zero states, as in training
        y = model(x)
        return y[:, -1:] if last_step_only else y

    for a in range(0, len(series), batch):
        b = min(a + batch, len(series))
        pairs = zip(series[a:b].tolist(), origin[a:b].tolist(), strict=True)
        window = np.stack([units[i][o - start[i] - look_back : o - start[i]] for i, o in pairs])  # (origins, lb, in)
        f = fut[a:b] if fut is not None else None
        pred[a:b] = rolling_forecast(predict, window, steps, n_t, f, run.steps.window_step, run.steps.fixed)


def _stateful_origins(
    run: Run,
    units: dict[int, np.ndarray],
    series: np.ndarray,
    known: np.ndarray,
    steps: int,
    fut: np.ndarray | None,
    pred: np.ndarray,
    batch: int,
) -> None:
    """pred[j] = the forecast after the first known[j] model-unit rows of series[j]'s units.

    The series are warmed `batch` at a time, left-aligned from zero states (a shorter series' padding comes
    after its own rows and is never read), keeping each origin's states after all but its last known row;
    then every origin runs that row from its snapshot and feeds its predictions back.
    """
    model, n_t = run.model, run.n_targets
    per_step = run.pre["kind"] == "many_to_many"
    first = run.steps.lost
    names = sorted(units)
    for a in range(0, len(names), batch):
        group = names[a : a + batch]
        pos = {i: r for r, i in enumerate(group)}
        mine = np.flatnonzero(np.isin(series, group))
        span = int(known[mine].max()) - 1
        x = np.zeros((len(group), span, units[group[0]].shape[1]), np.float32)
        for r, i in enumerate(group):
            rows = units[i][first : first + span]
            x[r, : len(rows)] = rows
        rows_of = np.array([pos[int(i)] for i in series[mine]], dtype=np.int64)
        snaps = model.warm(x, rows_of, known[mine] - 1)
        for c in range(0, len(mine), batch):
            jobs = mine[c : c + batch]
            model.states = [tuple(s[c : c + batch] for s in layer) for layer in snaps]
            last = np.stack([units[int(series[j])][first + known[j] - 1] for j in jobs])[:, None]  # (jobs, 1, inputs)
            f = fut[jobs] if fut is not None else None
            pred[jobs] = stateful_forecast(lambda x, m: model(x, mask=m), last, steps, n_t, f, None, per_step)


def forecast_from_state(run: Run, st: Any, steps: int, future: list[np.ndarray] | None = None) -> np.ndarray:
    """(series, steps, targets) in original units from the saved state; equal to a forecast from the whole
    history (forecast.forecast_histories) up to float32 rounding."""
    from seqcast import state

    names = st["series"].tolist()
    tail = list(st["tail"])
    if not state.stateful(run):  # a look-back forecast reads only its window: the tail is the history
        return forecast_histories(run, tail, names, steps, future)
    scaler = run.scaler(names)
    cols, n_t = lead.of_run(run.pre), run.n_targets
    if cols and future is not None:  # the state stops before the last row, which reads the first --future row
        tail, future = lead.origins(tail, [(i, len(t)) for i, t in enumerate(tail)], future, cols, n_t)
    before = list(enumerate(tail))
    fut = _future_units(run, scaler, before, future) if future is not None and run.pre["features"] else None
    last = np.stack([run.units(scaler, i, t)[-1:] for i, t in before]).astype(np.float32) if cols else None
    model = run.model
    model.states = state.layer_states(run, st)
    per_step = run.pre["kind"] == "many_to_many"
    with engine.one_blas_thread():
        pred = stateful_forecast(
            lambda x, m: model(x, mask=m), st["tail_units"][:, -1:] if last is None else last, steps, n_t, fut,
            None, per_step, st["answer"] if last is None else None,
        )  # fmt: skip
    return _to_original(run, scaler, before, pred)


Bands = dict[int, tuple[np.ndarray, np.ndarray]]  # level -> (lo, hi), each (series, steps, targets)


def forecast_bands(run: Run, names: list[str], pred: np.ndarray, levels: list[int], ds: Dataset | None = None) -> Bands:
    """The conformal intervals of pred (series, steps, targets) at each level, in original units (intervals.py).

    A series the run never saw (in ds, the history) has no scale in calibration.json: it gets the same measure
    of its own history, the in-sample seasonal-naive MAE (intervals.scale_of) of all its rows.
    """
    from seqcast import intervals

    cal = run.calibration()
    intervals.check_levels(cal, levels, pred.shape[1], run.path)
    if cal is None or not levels:
        return {}
    new = [i for i, n in enumerate(names) if n not in cal["scales"]]
    if new:
        if ds is None:
            raise DataError(f"series {names[new[0]]!r} has no interval scale in the run's calibration.json")
        season, n_t, space, t = run.cfg.evaluate.season, run.n_targets, cal["space"], run.pre["targets"]
        own = {names[i]: intervals.scale_basis(intervals.to_space(ds.series[i].values[:, :n_t], space), season)
               for i in new}  # fmt: skip
        cal = cal | {"scales": cal["scales"] | {n: v.tolist() for n, (v, _) in own.items()}}
        ds.notes += intervals.train_notes({"scale_bases": {n: b for n, (_, b) in own.items()}}, [], t, "history")
    return {lv: intervals.bands(cal, pred, names, run.pre["targets"], lv) for lv in levels}


def forecast_frame(
    run: Run, ds: Dataset, times: list[np.ndarray], pred: np.ndarray, bands: Bands | None = None
) -> Table:
    """The forecast table: series column (if any), time column (or step), one column per target, each followed by
    `<target>_lo_<level>` and `<target>_hi_<level>` for every interval level; series after series."""
    cfg, n = run.cfg.data, pred.shape[1]
    cols: dict[str, np.ndarray] = {}
    if cfg.series_column:
        cols[cfg.series_column] = np.repeat(np.array([s.name for s in ds.series], dtype=object), n)
    cols[cfg.time_column or "step"] = np.concatenate(times) if times else np.empty(0, np.int64)
    for j, t in enumerate(run.pre["targets"]):
        cols[t] = pred[:, :, j].astype(np.float64).reshape(-1)
        for level, (lo, hi) in sorted((bands or {}).items()):
            cols[f"{t}_lo_{level}"] = lo[:, :, j].astype(np.float64).reshape(-1)
            cols[f"{t}_hi_{level}"] = hi[:, :, j].astype(np.float64).reshape(-1)
    sub_daily = run.freq is not None and run.freq.sub_daily
    time = (cfg.time_column,) if cfg.time_column else ()
    return Table(cols, utc=time if run.pre.get("time_utc") else (), fine=time if sub_daily else ())


class Forecast(NamedTuple):
    """What `seqcast forecast` computes: the table, the history it started from, and the predictions (series,
    steps, targets) with their bands (forecast_bands; empty without interval levels)."""

    frame: Table
    ds: Dataset
    pred: np.ndarray
    bands: Bands


def forecast(
    run: Run, steps: int, data: Path | None = None, future: Path | None = None, levels: list[float] | None = None
) -> Forecast:
    """The forecast of every series; with interval levels, the table holds each level's bounds."""
    from seqcast import history, intervals, state

    asked = sorted(set(levels or []))
    intervals.check_levels(run.calibration() if asked else None, asked, steps, run.path)  # before any work
    whole = [int(lv) for lv in asked]  # whole percentages (--interval reads 80.0 as 80, and refuses 80.5)
    saved = state.load(run) if data is None and (run.path / state.FILE).exists() else None
    ds = state.dataset(run, saved) if saved is not None else history.history_dataset(run, data)
    if data is None and saved is None:
        state.refuse_if_updated(run, ds)
        ds.notes.append(f"the run has no {state.FILE}: this forecast starts from its data file, read again")
    check_steps(steps, len(ds.series))
    if state.stateful(run):  # its states would run across the gaps data.missing: drop left in --data
        from seqcast.layout import refuse_gaps

        refuse_gaps(ds)
    fut, times = history.read_future(run, ds, future, steps)
    if saved is not None:  # from the state kept in the run: no history read
        pred = forecast_from_state(run, saved, steps, fut)
    else:
        try:
            pred = forecast_histories(run, [s.values for s in ds.series], ds.names, steps, fut)
        except DataError as exc:  # a series too short, or values the transform cannot read: in this file
            raise located(exc, str(data or run.cfg.data.path)) from None
    bands = forecast_bands(run, ds.names, pred, whole, ds) if whole else {}
    return Forecast(forecast_frame(run, ds, times, pred, bands), ds, pred, bands)


def gap_notes(run: Run, ds: Dataset) -> list[str]:
    """The series whose window for this forecast (look_back rows and the transform's before them) crosses a gap
    that data.missing: drop left in the history: the forecast reads them as they are, and says so."""
    from seqcast import state
    from seqcast.layout import end_gap_notes

    return [] if state.stateful(run) else end_gap_notes(ds, int(run.pre["look_back"]) + run.steps.lost)


MAX_STEPS = 100_000  # an autoregressive forecast further ahead feeds back 100,000 of its own guesses


MAX_ROWS = 10_000_000  # series x steps: the forecast table's rows


def check_steps(steps: int, n_series: int) -> None:
    """Refuse (exit 2, a limit of the option), before any allocation, a forecast too long or too large to compute and
    write in reasonable time."""
    if steps > MAX_STEPS:
        raise ConfigError(f"{steps:,} steps is more than seqcast forecasts ({MAX_STEPS:,})", where="--steps")
    if steps * n_series > MAX_ROWS:
        raise ConfigError(
            f"{steps:,} steps x {n_series:,} series = {steps * n_series:,} rows, more than seqcast writes in one "
            f"forecast ({MAX_ROWS:,})",
            where="--steps",
            hint="forecast fewer steps, or fewer series at a time with --data",
        )
