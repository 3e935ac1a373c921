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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from seqcast import engine, rundir, timeaxis
from seqcast.config import Config, validate
from seqcast.data import Dataset, Scaler
from seqcast.errors import DataError
from seqcast.timeaxis import Freq

Predict = Callable[[np.ndarray], np.ndarray]


def rolling_forecast(
    predict: Predict,
    window: np.ndarray,
    steps: int,
    n_targets: int,
    future: np.ndarray | None = None,
    normalise: bool = False,
) -> np.ndarray:
    """Slide a window over its own predictions.

    predict: (batch, look_back, inputs) -> (batch, horizon, n_targets); window: (batch, look_back, inputs);
    future: (batch, steps, inputs - n_targets) known future features. Returns (batch, steps, n_targets).
    With normalise, every window has its last row subtracted before predict and added back after.
    """
    b, look_back, n_in = window.shape
    buf = np.asarray(window, dtype=np.float64)
    out: list[np.ndarray] = []
    done = 0
    while done < steps:
        x = buf[:, -look_back:]
        if normalise:
            last = x[:, -1:, :]  # (batch, 1, inputs)
            y = predict(x - last) + last[:, :, :n_targets]
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
        return np.zeros((b, h, 0))
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
) -> np.ndarray:
    """Warm the states on the history, then feed every prediction back.

    run_model(x, mask) continues the states (fresh, zero states before the history);
    history: (batch, time, inputs), mask False where a shorter series is padded on the left.
    A many_to_many model answers every step (per_step: one step fed back at a time); a many_to_one
    model answers a block of horizon steps (the block is fed back whole).
    """
    b, t, n_in = history.shape
    y = run_model(history, mask)  # (batch, time or horizon, n_targets)
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


@dataclass
class Run:
    """A trained run: its config, preprocessing and the model as numpy layers."""

    path: Path
    cfg: Config
    pre: dict[str, Any]
    model: engine.NumpyModel

    @property
    def freq(self) -> Freq | None:
        return Freq.parse(self.pre["frequency"])

    @property
    def n_targets(self) -> int:
        return len(self.pre["targets"])

    def scaler(self, names: list[str]) -> Scaler:
        return Scaler.from_json(self.pre["scaler"], names, self.pre["inputs"])


def load_run(path: Path | None) -> Run:
    """Open a complete run directory (default runs/latest)."""
    import json

    p = rundir.resolve_run(path)
    raw = yaml.safe_load((p / "config.yaml").read_text())
    cfg = validate(raw, source=str(p / "config.yaml"), base_dir=p)
    pre = json.loads((p / "preprocess.json").read_text())
    return Run(p, cfg, pre, engine.load(p / "model.keras"))


def forecast_histories(
    run: Run,
    histories: list[np.ndarray],
    names: list[str],
    steps: int,
    future: list[np.ndarray] | None = None,
    series_batch: int = 4096,
) -> np.ndarray:
    """Forecast `steps` rows after each history (n_i, inputs) in original units: (series, steps, n_targets).

    Series are forecast `series_batch` at a time, so memory stays bounded for any number of series.
    """
    if len(histories) > series_batch:
        parts = [
            _forecast_batch(
                run,
                histories[a : a + series_batch],
                names[a : a + series_batch],
                steps,
                future[a : a + series_batch] if future else None,
            )
            for a in range(0, len(histories), series_batch)
        ]
        return np.concatenate(parts)
    return _forecast_batch(run, histories, names, steps, future)


def _forecast_batch(
    run: Run, histories: list[np.ndarray], names: list[str], steps: int, future: list[np.ndarray] | None
) -> np.ndarray:
    n_t, transform = run.n_targets, run.pre["transform"]
    scaler = run.scaler(names)
    model = run.model
    look_back = run.pre["look_back"]
    stateful_like = run.pre["mode"] == "stateful"
    # a look-back many_to_many model was trained on look_back steps from zero states: its window slides
    # (one step at a time, the last output is the next step), and window_norm applies to it as well
    last_step_only = run.pre["kind"] == "many_to_many"
    # Working units: scaled levels; differences for `difference` (integrated back at the end).
    scaled = [scaler.transform(i, h) for i, h in enumerate(histories)]
    fut = (
        [scaler.transform(i, np.column_stack([np.zeros((len(f), n_t)), f]))[:, n_t:] for i, f in enumerate(future)]
        if future
        else None
    )
    if transform == "difference":
        last_level = np.stack([s[-1, :n_t] for s in scaled])  # (series, n_targets)
        if fut is not None:
            fut = [np.diff(np.concatenate([s[-1:, n_t:], f]), axis=0) for s, f in zip(scaled, fut, strict=True)]
        work = [np.diff(s, axis=0) for s in scaled]
    else:
        work = scaled
    fut_arr = np.stack(fut) if fut else None
    if stateful_like:
        span = max(len(w) for w in work)  # the whole known history, shorter series padded and masked
        hist, mask = _left_pad(work, span)

        def run_model(x: np.ndarray, m: np.ndarray | None) -> np.ndarray:
            return model(x, mask=m)

        model.reset(len(work))
        per_step = run.pre["kind"] == "many_to_many"
        pred = stateful_forecast(run_model, hist, steps, n_t, fut_arr, mask if not mask.all() else None, per_step)
    else:
        if min(len(w) for w in work) < look_back:
            short = names[int(np.argmin([len(w) for w in work]))]
            raise DataError(f"series {short!r} has fewer rows than windows.look_back={look_back}")
        window = np.stack([w[-look_back:] for w in work])

        def predict(x: np.ndarray) -> np.ndarray:
            model.reset(x.shape[0])
            y = model(x)
            return y[:, -1:] if last_step_only else y

        pred = rolling_forecast(predict, window, steps, n_t, fut_arr, normalise=transform == "window_norm")
    if transform == "difference":
        pred = last_level[:, None, :] + np.cumsum(pred, axis=1)
    return np.stack([scaler.inverse(i, pred[i], n_t) for i in range(len(histories))])


def _left_pad(arrays: list[np.ndarray], span: int) -> tuple[np.ndarray, np.ndarray]:
    """(batch, span, inputs) with each array's last `span` rows right-aligned, and the mask of real rows."""
    n_in = arrays[0].shape[1]
    out = np.zeros((len(arrays), span, n_in))
    mask = np.zeros((len(arrays), span), dtype=bool)
    for i, a in enumerate(arrays):
        a = a[-span:]
        out[i, span - len(a) :] = a
        mask[i, span - len(a) :] = True
    return out, mask


def history_dataset(run: Run, data: Path | None) -> Dataset:
    """The series to forecast from: --data, or the training file of the run."""
    from seqcast.data import load_dataset

    dcfg = run.cfg.data.model_copy()
    if data is not None:
        dcfg.path = data.absolute()
    ds = load_dataset(dcfg)
    known = set(run.pre["scaler"]["series"])
    unknown = [n for n in ds.names if n not in known]
    if unknown:
        raise DataError(
            f"series {unknown[:5]} were not in the training data, so the run has no scaling for them",
            where=str(dcfg.path),
        )
    return ds


def read_future(
    run: Run, ds: Dataset, path: Path | None, steps: int
) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
    """(future feature rows per series (steps, features) or None, future timestamps per series)."""
    freq = run.freq
    if freq is None and ds.time_kind == "datetime":
        raise DataError("the run does not know the series' frequency, so it cannot continue the timestamps")
    times = [timeaxis.future(s.times[-1], freq or Freq("integer", 1), steps) for s in ds.series]
    feats = run.pre["features"]
    if not feats:
        return None, times
    if path is None:
        raise DataError(
            f"the model also takes the features {feats}: their future values are needed",
            hint=f"pass --future CSV with columns {run.cfg.data.time_column or 'step'}, {', '.join(feats)}"
            + (f" and {run.cfg.data.series_column}" if run.cfg.data.series_column else ""),
        )
    from seqcast.data import load_dataset

    fcfg = run.cfg.data.model_copy(
        update={"path": path.absolute(), "targets": feats, "features": [], "missing": "error"}
    )
    fut = load_dataset(fcfg)
    by_name = {s.name: s for s in fut.series}
    out = []
    for s, want in zip(ds.series, times, strict=True):
        f = by_name.get(s.name)
        have = {} if f is None else {t: k for k, t in enumerate(f.times.tolist())}
        rows = [have.get(t) for t in want.tolist()]
        if None in rows:
            first = want[rows.index(None)]
            raise DataError(
                f"no future values of {feats}{' for series ' + repr(s.name) if s.name else ''} at "
                f"{timeaxis.fmt(first, ds.time_kind)} (the forecast needs {steps} steps)",
                where=str(path),
            )
        assert f is not None
        out.append(f.values[np.asarray(rows, dtype=np.int64)])
    return out, times


def forecast_frame(run: Run, ds: Dataset, times: list[np.ndarray], pred: np.ndarray) -> Any:
    """The forecast table: series column (if any), time column (or step), one column per target."""
    import pandas as pd

    cfg = run.cfg.data
    frames = []
    for i, s in enumerate(ds.series):
        cols: dict[str, Any] = {}
        if cfg.series_column:
            cols[cfg.series_column] = s.name
        cols[cfg.time_column or "step"] = times[i]
        for j, t in enumerate(run.pre["targets"]):
            cols[t] = pred[i, :, j]
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def forecast(
    run: Run, steps: int, data: Path | None = None, future: Path | None = None
) -> tuple[Any, Dataset, np.ndarray]:
    """(forecast table, history, predictions (series, steps, targets)) for every series."""
    ds = history_dataset(run, data)
    fut, times = read_future(run, ds, future, steps)
    hist = [s.values for s in ds.series]
    pred = forecast_histories(run, hist, ds.names, steps, fut)
    return forecast_frame(run, ds, times, pred), ds, pred


def write_table(frame: Any, path: Path) -> None:
    """CSV or parquet by suffix, written atomically."""
    import io

    if path.suffix.lower() in {".parquet", ".pq"}:
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        rundir.atomic_write(path, buf.getvalue())
    else:
        rundir.atomic_write(path, frame.to_csv(index=False).encode())


def plot_forecast(
    run: Run, ds: Dataset, times: list[np.ndarray], pred: np.ndarray, path: Path, tail: int = 200
) -> None:
    """History (last `tail` rows) and forecast per series and target, small multiples."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = run.pre["targets"]
    k, m = len(ds.series), len(targets)
    cols = min(3, int(np.ceil(np.sqrt(k))))  # 4 series: 2 x 2, not 3 + 1
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows * m, cols, figsize=(4.2 * cols, 2.4 * rows * m), squeeze=False)
    for i, s in enumerate(ds.series):
        r, c = divmod(i, cols)
        for j, t in enumerate(targets):
            ax = axes[r * m + j, c]
            ax.plot(s.times[-tail:], s.values[-tail:, j], color="black", lw=0.9, label="history")
            ax.plot(
                np.concatenate([s.times[-1:], times[i]]),
                np.concatenate([s.values[-1:, j], pred[i, :, j]]),
                color="tab:blue",
                lw=1.4,
                label="forecast",
            )
            ax.set_title(f"{s.name + ': ' if s.name else ''}{t}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", labelrotation=25)  # every panel keeps its dates (autofmt_xdate hides them)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    for extra in range(k, rows * cols):
        r, c = divmod(extra, cols)
        for j in range(m):
            axes[r * m + j, c].axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    rundir.atomic_write(path, buf.getvalue())


def forecast_command(
    *, run: Path | None, steps: int, data: Path | None, future: Path | None, output: Path | None, plot: Path | None
) -> None:
    """seqcast forecast: compute, show the first rows, write the file and the plot."""
    from seqcast import console

    r = load_run(run)
    frame, ds, pred = forecast(r, steps, data, future)
    if output is not None:
        write_table(frame, output)
    if plot is not None:
        times = [timeaxis.future(s.times[-1], r.freq or Freq("integer", 1), steps) for s in ds.series]
        plot_forecast(r, ds, times, pred, plot)
    console.forecast_table(frame, r, steps, output, plot)
