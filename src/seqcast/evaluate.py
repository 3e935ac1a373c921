"""Rolling-origin backtest on the test split: the model against naive and seasonal-naive forecasts.

Origins: the start of each series' test part, then one every `horizon` steps; a last block
shorter than `horizon` is dropped. From each origin every method forecasts `horizon` steps
from all data before it. MASE divides by the in-sample seasonal-naive MAE (season m) of
everything before the test part. Metrics are pure numpy functions over (origins, horizon) arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqcast import files
from seqcast.errors import ConfigError, DataError, listed, located, some
from seqcast.intervals import mase_scale  # MASE's scale
from seqcast.metrics import METRICS, NO_SCALE, by_series, scores
from seqcast.windows import backtest_origins as origins
from seqcast.windows import clear_of_gaps

Doc = dict[str, Any]  # a backtest's document, as metrics.json holds it


def history_rows(run: Any) -> int:
    """Rows before an origin that a backtest reads: the model's window (look_back, or the last row of a stateful
    model) with the rows its transform needs first, or the season seasonal naive repeats, whichever is longer."""
    need = 1 if run.pre["mode"] == "stateful" else int(run.pre["look_back"])
    return max(need + run.steps.lost, run.cfg.evaluate.season)


def naive(y: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """The last value before origin, repeated: (horizon, targets)."""
    return np.repeat(y[origin - 1 : origin], horizon, axis=0)


def seasonal_naive(y: np.ndarray, origin: int, horizon: int, season: int) -> np.ndarray:
    """The value one season before each step, reusing the last season for long horizons: (horizon, targets)."""
    h = np.arange(horizon)
    return y[origin - season + (h % season)]


def backtest(
    series: list[np.ndarray],
    test_starts: list[int],
    horizon: int,
    season: int,
    targets: list[str],
    model_forecast: Any,
    calibration: dict[str, Any] | None = None,
    names: list[str] | None = None,
    breaks: list[np.ndarray] | None = None,
    history: int = 0,
    keep: dict[str, Any] | None = None,
    horizon_from: str = "evaluate.horizon",
) -> dict[str, Any]:
    """Score model_forecast(jobs) against the baselines.

    series: each (n, inputs) in original units, targets first; jobs = [(series index, origin)];
    model_forecast answers (jobs, horizon, targets). With a calibration (calibration.json) and the series'
    names, `intervals` scores the model's and seasonal naive's conformal intervals at each of its levels.
    breaks: each series' Series.breaks (data.missing: drop); an origin whose `history` rows before it or whose
    horizon block cross one is not scored (counted in origins_skipped_gaps). keep: filled with what was scored
    (jobs, true, scale, each method's forecasts and the model's interval bands per level), for evaluate --plot.
    horizon_from: what set the horizon, as an error names it (evaluate --horizon, or the config key).
    """
    n_t = len(targets)
    jobs = [
        (i, int(o))
        for i, (s, t0) in enumerate(zip(series, test_starts, strict=True))
        for o in origins(t0, len(s), horizon)
    ]
    gappy = breaks is not None and any(len(b) for b in breaks)
    skipped = 0
    if gappy:
        assert breaks is not None
        before = len(jobs)
        jobs = clear_of_gaps(jobs, breaks, history, horizon)
        skipped = before - len(jobs)
    trained = horizon_from.startswith("--")  # evaluate's option: the config's keys are the trained run's
    if not jobs and not skipped:  # an option or key too large for the data: a usage or config error
        raise ConfigError(
            f"the test part is shorter than {horizon_from}={horizon} in every series (the longest has "
            f"{(n := max(len(s) - t0 for s, t0 in zip(series, test_starts, strict=True)))} row{'s' * (n != 1)}): "
            "no backtest origin",
            where=horizon_from,
            hint=f"lower {horizon_from}, or train again with a larger data.split.test"
            if trained
            else f"raise data.split.test or lower {horizon_from}",
        )
    if not jobs:
        raise DataError(
            f"every backtest origin ({skipped}) has a gap that data.missing: drop left in its {history} rows "
            f"of history or its {horizon} steps: no origin to score",
            hint=f"lower {horizon_from}, or train again with data.missing: interpolate or ffill"
            if trained
            else f"set data.missing to interpolate or ffill, or lower {horizon_from} or windows.look_back",
        )
    if any(o - season < 0 for _, o in jobs):
        raise DataError(f"evaluate.season={season} is longer than the history before the test part")
    methods = {
        "model": np.asarray(model_forecast(jobs), dtype=np.float64),
        "naive": np.stack([naive(series[i][:, :n_t], o, horizon) for i, o in jobs]),
        "seasonal_naive": np.stack([seasonal_naive(series[i][:, :n_t], o, horizon, season) for i, o in jobs]),
    }
    true = np.stack([series[i][o : o + horizon, :n_t] for i, o in jobs])  # (jobs, horizon, targets)
    cuts = breaks if gappy and breaks is not None else [None] * len(series)  # no pair across a gap in MASE's scale
    per_series = np.stack(
        [mase_scale(s[:t0, :n_t], season, b) for s, t0, b in zip(series, test_starts, cuts, strict=True)]
    )
    scale = per_series[[i for i, _ in jobs]][:, None, :]  # (jobs, 1, targets): one pass over each history
    doc: dict[str, Any] = {"horizon": horizon, "origins": len(jobs), "season": season}
    if gappy:
        doc["origins_skipped_gaps"] = skipped
    per_target: dict[str, dict[str, Any]] = {t: {} for t in targets}
    for name, pred in methods.items():
        per = {t: scores(pred[..., j], true[..., j], scale[..., j]) for j, t in enumerate(targets)}
        for t in targets:
            per_target[t][name] = per[t]
        # overall = mean over targets; a target without a MASE scale (constant history) is left out of MASE
        doc[name] = {
            m: float(np.nanmean([per[t][m] for t in targets]))
            if any(np.isfinite(per[t][m]) for t in targets)
            else float("nan")
            for m in METRICS
        }
        if not np.isfinite(doc[name]["mase"]):
            doc[name]["mase_why"] = NO_SCALE
    doc["per_target"] = per_target
    doc["by_step"] = {
        name: {"mae": [float(v) for v in np.mean(np.abs(pred - true), axis=(0, 2))]} for name, pred in methods.items()
    }
    doc["best"] = min(methods, key=lambda k: doc[k]["mase"] if np.isfinite(doc[k]["mase"]) else doc[k]["mae"])
    if keep is not None:
        keep.update(jobs=jobs, true=true, scale=scale, bands={}, **methods)
    of = [names[i] for i, _ in jobs] if names is not None else []  # each origin's series
    if names is not None and len(names) > 1:  # which series a method loses on
        doc["per_series"] = by_series(methods, true, scale, of)
    if calibration is not None and names is not None:
        doc["intervals"] = interval_doc(calibration, methods, true, scale, of, targets, keep)
    return doc


def interval_doc(
    cal: dict[str, Any],
    methods: dict[str, np.ndarray],
    true: np.ndarray,
    scale: np.ndarray,
    names: list[str],
    targets: list[str],
    keep: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per level of the calibration: coverage, mean width and interval score (MSIS) of the model's intervals
    on these origins, and the same of seasonal naive's, built the same way; a level the calibration cannot
    give over this horizon is {"refused": why}. keep["bands"] gets the model's (lo, hi) per level given."""
    from seqcast import intervals

    h = true.shape[1]
    out: dict[str, Any] = {}
    for level in cal.get("levels", []):
        why = "" if h <= cal["horizon"] else f"calibrated for {cal['horizon']} steps, the backtest has {h}"
        why = why or intervals.refused(cal, level, h) or ""
        if why:
            out[str(level)] = {"refused": why}
            continue
        full = np.broadcast_to(scale, true.shape)
        lo, hi = intervals.bands(cal, methods["model"], names, targets, level)
        if keep is not None:
            keep["bands"][level] = (lo, hi)
        entry = intervals.interval_scores(lo, hi, true, full, level) | {"errors": min(cal["errors"][:h])}
        if "training_errors" in cal:  # pooled with the validation part's (older runs have none)
            entry["training_errors"] = min(cal["training_errors"][:h])
        if cal.get("asymmetric"):  # each bound from its own tail (evaluate.asymmetric_intervals)
            entry["asymmetric"] = True
        lo, hi = intervals.bands(cal, methods["seasonal_naive"], names, targets, level, "seasonal_naive")
        out[str(level)] = entry | {"seasonal_naive": intervals.interval_scores(lo, hi, true, full, level)}
    return out


def run_values(run: Any) -> tuple[list[str], list[np.ndarray]]:
    """(names, values) of the run's data file as it is now, every series one the run knows."""
    ds = run_dataset(run)
    return ds.names, [s.values for s in ds.series]


def run_dataset(run: Any) -> Any:
    """The run's data file as it is now (a data.Dataset), every series one the run knows."""
    from seqcast.data import load_dataset

    cfg = run.cfg
    try:
        ds = load_dataset(cfg.data, run.pre.get("series_ids"))
    except DataError as exc:
        if not Path(cfg.data.path).exists():  # moved since training: the config to edit is the run's own
            exc.hint = f"put it back, or set data.path in {Path(run.path) / 'config.yaml'} to where it is now"
        raise
    split = {s["name"]: int(s["val_end"]) for s in run.pre["series"]}
    unknown = [n for n in ds.names if n not in split]
    if unknown:
        raise DataError(
            f"series {some(unknown)} {'is' if len(unknown) == 1 else 'are'} in the data but not in the run: it has no "
            f"test split or scaling for {'it' if len(unknown) == 1 else 'them'}",
            where=str(cfg.data.path),
            hint="train a new run on the data as it is now",
        )
    if run.pre["mode"] == "stateful":  # its states would run across the gaps data.missing: drop left
        from seqcast.layout import refuse_gaps

        refuse_gaps(ds)
    return ds


def unscored(names: list[str], vals: list[np.ndarray], ends: dict[str, int], doc: Doc, key: str) -> list[str]:
    """Notes naming the series the backtest `doc` left out of its scores: a test part (from ends[name], the
    validation part's end) shorter than the horizon, where no origin fits; or one whose every origin crosses a row
    data.missing: drop removed (doc's per_series, of two series or more, names those scored)."""
    horizon, scored = doc["horizon"], doc.get("per_series")
    short = [(n, len(v) - ends[n]) for n, v in zip(names, vals, strict=True) if len(v) - ends[n] < horizon]
    gaps = [n for n in names if scored is not None and n not in scored and n not in dict(short)]
    notes = [f"{len(gaps)} series left out of the backtest's scores: every origin in their test part crosses a row "
             f"that data.missing: drop removed: {listed(gaps)}"] if gaps else []  # fmt: skip
    if not short or len(short) == len(names):
        return notes
    rows = lambda k: f"{k} row{'s' * (k != 1)}" if k > 0 else "none: the data ends before it"  # noqa: E731
    shown = listed([f"{n!r} ({rows(k)})" for n, k in short], quote=False)
    return notes + [f"{len(short)} series left out of the backtest's scores: their test part is shorter than "
                    f"{key}={horizon}, so no origin fits in it: {shown}"]  # fmt: skip


def backtest_run(
    run_dir: Path | Any,
    horizon: int | None = None,
    data: tuple[list[str], list[np.ndarray]] | None = None,
    calibration: dict[str, Any] | None = None,
    breaks: list[np.ndarray] | None = None,
    judged: Any = None,
    keep: dict[str, Any] | None = None,
    horizon_from: str = "evaluate.horizon",
) -> dict[str, Any]:
    """Backtest a (possibly still staging) run directory, or an open run.Run, on its data's test split; data:
    (names, values) already read (run_values) and breaks their Series.breaks; calibration: the run's
    calibration.json unless given; judged: the run.Run whose validation part is scored (train passes the network
    of a training.refit run that never saw it). A refit run's kept model has trained on its validation part: without
    `judged` its validation scores are read from metrics.json as train wrote them, never recomputed. keep: as
    backtest's, for the test part; horizon_from: what set `horizon`, as an error names it (evaluate's --horizon)."""
    from seqcast import forecast as fc
    from seqcast import run as runs

    run = runs.open_run(run_dir) if isinstance(run_dir, Path) else run_dir
    cfg = run.cfg
    h = horizon or cfg.evaluate.horizon
    if data is None:
        ds = run_dataset(run)
        data, breaks = (ds.names, [s.values for s in ds.series]), [s.breaks for s in ds.series]
    names, values = data
    split = {s["name"]: int(s["val_end"]) for s in run.pre["series"]}
    test_starts = [split[n] for n in names]
    n_t = run.n_targets

    def model_forecast(jobs: list[tuple[int, int]]) -> np.ndarray:
        fut = fc.known_future(values, jobs, h, n_t) if run.pre["features"] else None
        try:
            return fc.forecast_origins(run, values, names, jobs, h, fut)
        except DataError as exc:  # a value the run's transform cannot read: in its data file
            raise located(exc, str(cfg.data.path)) from None

    cal = calibration if calibration is not None else run.calibration()
    doc = backtest(
        values, test_starts, h, cfg.evaluate.season, run.pre["targets"], model_forecast, cal, names,
        breaks, history_rows(run), keep, horizon_from if horizon is not None else "evaluate.horizon",
    )  # fmt: skip
    if cal is None and cfg.evaluate.intervals:  # train writes calibration.json: gone, its levels are said refused
        why = "the run has no calibration.json, which the intervals come from (train writes it)"
        doc["intervals"] = {str(level): {"refused": why} for level in cfg.evaluate.intervals}  # calibration's order
    if judged is None and run.pre.get("refit"):
        doc["validation"] = _stored_validation(run, h)
    else:
        doc["validation"] = _validation(judged or run, values, names, h, breaks)
    return doc


def _stored_validation(run: Any, h: int) -> dict[str, Any]:
    """A refit run's validation scores as train wrote them (metrics.json), at the run's own horizon; {} at another
    horizon or when they are gone: the kept network has trained on the validation part."""
    import json

    path = run.path / "metrics.json"
    if h != run.cfg.evaluate.horizon or not path.exists():
        return {}
    try:
        return dict(json.loads(path.read_text()).get("validation") or {})
    except (OSError, ValueError):
        return {}


def _validation(
    run: Any, values: list[np.ndarray], names: list[str], h: int, breaks: list[np.ndarray] | None = None
) -> dict[str, Any]:
    """The same backtest on the validation part (each series cut at its end): the model against seasonal naive
    where the choices of the run were made. {} when no series' validation part holds a whole horizon."""
    from seqcast import forecast as fc

    bounds = {s["name"]: (int(s["train_end"]), int(s["val_end"])) for s in run.pre["series"]}
    cut = [v[: bounds[n][1]] for n, v in zip(names, values, strict=True)]
    starts = [bounds[n][0] for n in names]
    if not any(len(c) - s >= h for c, s in zip(cut, starts, strict=True)):
        return {}
    n_t = run.n_targets

    def model_forecast(jobs: list[tuple[int, int]]) -> np.ndarray:
        fut = fc.known_future(cut, jobs, h, n_t) if run.pre["features"] else None
        return fc.forecast_origins(run, cut, names, jobs, h, fut)

    try:
        doc = backtest(
            cut, starts, h, run.cfg.evaluate.season, run.pre["targets"], model_forecast, breaks=breaks,
            history=history_rows(run),
        )  # fmt: skip
    except DataError:  # too short a history before the validation part (season, look_back): no verdict
        return {}
    kept = {m: doc[m]["mase"] for m in ("model", "naive", "seasonal_naive")}
    return {"origins": doc["origins"]} | kept | {f"{m}_why": NO_SCALE for m, v in kept.items() if not np.isfinite(v)}


def data_changes(run: Any, ds: Any) -> list[str]:
    """How the run's data file differs from what the run was trained on (preprocess.json's rows, first and last
    timestamps, values_sha256, or the training ranges of a run from before it), series by series; [] when it does
    not."""
    from seqcast import timeaxis
    from seqcast.prepare import train_range, values_sha256

    now = {s.name: s for s in ds.series}
    said = []
    for doc in run.pre["series"]:
        s, who = now.get(doc["name"]), f"series {doc['name']!r}" if doc["name"] else "the series"
        if s is None:
            said.append(f"{who} is no longer in it")
            continue
        fine = ds.freq is not None and ds.freq.sub_daily
        first, last = (timeaxis.fmt(s.times[k], ds.time_kind, fine) for k in (0, -1))
        ends = ((s.times[0], doc["first"]), (s.times[-1], doc["last"]))  # in either form: runs from before, too
        if len(s) != doc["rows"] or not all(timeaxis.same(t, ds.time_kind, said_t) for t, said_t in ends):
            said.append(
                f"{who} had {doc['rows']} rows ({doc['first']} to {doc['last']}), now {len(s)} ({first} to {last})"
            )
            continue
        was = doc.get("train_range")
        if "values_sha256" in doc:
            if values_sha256(s.values) != doc["values_sha256"]:
                said.append(f"{who} has other values")
        elif was is not None and not all(map(_same, was, train_range(s.values[: doc["train_end"], : len(was)]))):
            said.append(f"{who} has other values in its training part")  # a run from before values_sha256
    return said


def from_first_trained(run: Any, ds: Any) -> list[str]:
    """Cut from each series of a changed data file the rows before its first timestamp as trained (rows added at
    its start), so that the run's split positions (preprocess.json's train_end and val_end, counted from that row)
    fall on the rows they fell on in training, and the test part holds none the model trained on; a note says
    what was cut. A series whose first trained timestamp is no longer in the file is refused: its split cannot be
    placed."""
    from seqcast import timeaxis, timeparse
    from seqcast.data import Series

    if ds.time_kind == "none":  # rows are positions: nothing to place them by
        return []
    first = {d["name"]: d["first"] for d in run.pre["series"]}
    cut = []
    for j, s in enumerate(ds.series):
        if s.name not in first or timeaxis.same(s.times[0], ds.time_kind, first[s.name]):
            continue
        try:
            at = timeparse.parse_times(np.array([first[s.name]]))[0][0].astype(s.times.dtype)
            k = int(np.searchsorted(s.times, at))
        except (ValueError, TypeError):  # a form parse_times does not read back (a time zone): row by row
            k = next((r for r in range(len(s)) if timeaxis.same(s.times[r], ds.time_kind, first[s.name])), len(s))
        if k >= len(s) or not timeaxis.same(s.times[k], ds.time_kind, first[s.name]):
            raise DataError(
                f"{s.label} no longer holds its first row as trained ({first[s.name]}), from which the run counts "
                "its training, validation and test parts: the test part cannot be placed",
                where=ds.source,
                hint="evaluate a data file that holds the rows the run was trained on, or train again",
            )
        b = s.breaks[s.breaks > k] - k
        ds.series[j] = Series(s.name, s.times[k:], s.values[k:], b)
        cut.append(f"{s.label}: {k}")
    return (
        [
            "rows before a series' first timestamp as trained are left out, so that its test part is the one the run "
            f"kept apart ({', '.join(cut[:5])}{' and more' if len(cut) > 5 else ''} rows)"
        ]
        if cut
        else []
    )


def _same(was: list[float] | None, now: list[float] | None) -> bool:
    if was is None or now is None:
        return was is None and now is None
    return bool(np.allclose(was, now, rtol=1e-9, atol=0))


def evaluate(
    run_dir: Path | None, horizon: int | None = None, draw: Any = None
) -> tuple[dict[str, Any], bool, tuple[int, int], list[str]]:
    """(the backtest document, whether it was written to the run's metrics.json, (the series `draw` drew, the
    series in the data), notes) for --run (default runs/latest).

    Only a backtest at the run's own evaluate.horizon replaces metrics.json; another --horizon is returned only,
    and so is a backtest of a data file that has changed since training (a note says how).
    draw(run, dataset, kept) -> series drawn (evaluate --plot: plot.plot_backtest) gets what the backtest kept
    (backtest's `keep`); the plot and metrics.json are written together, or neither is.
    """
    from seqcast import run as runs
    from seqcast import rundir

    opened = runs.open_run(rundir.resolve_run(run_dir))
    if horizon is not None:  # past-only inputs: a direct forecast of at most windows.horizon steps
        from seqcast.history import check_direct

        check_direct(opened, horizon, where="--horizon")
    ds = run_dataset(opened)
    changed = data_changes(opened, ds)
    notes = []
    if changed:
        shown = "; ".join(changed[:3]) + (f"; and {len(changed) - 3} more series" if len(changed) > 3 else "")
        notes.append(
            f"the data file {opened.cfg.data.path} has changed since the run was trained ({shown}): the backtest "
            "scores it as it is now, and the run's metrics.json is kept as train wrote it"
        )
        notes += from_first_trained(opened, ds)
    keep: dict[str, Any] = {}
    data = (ds.names, [s.values for s in ds.series])
    key = "evaluate.horizon" if horizon is None else "--horizon"
    try:
        doc = backtest_run(opened, horizon, data, breaks=[s.breaks for s in ds.series], keep=keep, horizon_from=key)
    except (ConfigError, DataError) as exc:  # no origin, say: the changed data file may be why
        if changed:
            exc.hint = f"{exc.hint + '; ' if exc.hint else ''}the data file has changed since training ({shown})"
        raise
    ends = {s["name"]: int(s["val_end"]) for s in opened.pre["series"]}
    notes += unscored(*data, ends, doc, key)
    own = doc["horizon"] == opened.cfg.evaluate.horizon and not changed
    with files.together():  # the plot and metrics.json, or neither
        drawn = draw(opened, ds, keep) if draw is not None else 0
        if own:
            files.write_json(opened.path / "metrics.json", doc)
    return doc, own, (drawn, len(ds.series)), notes
