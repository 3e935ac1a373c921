"""Forecast and evaluate: the autoregressive loops, timestamps, metrics and the CLI's error exits.

Run directories here are made by hand from a model with random weights (no training needed to
check that the forecast runs the saved model the way a plain Keras loop would).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from seqcast import evaluate, forecast, history
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.errors import ConfigError, DataError
from seqcast.run import Run, load_run

# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(autouse=True)
def _chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # --output files and runs/latest stay inside the test's folder


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def wave_csv(path: Path, lengths: list[int], targets: list[str], features: list[str] = (), offset: float = 0.0) -> Path:
    """Daily series named A, B, ... of the given lengths; every column a different smooth wave (plus offset)."""
    rows = []
    for k, n in enumerate(lengths):
        days = np.datetime64("2021-01-01") + np.arange(n)
        for t in range(n):
            vals = [
                round(float(np.sin(0.3 * t + k + j) + 0.1 * j + offset), 6) for j in range(len(targets) + len(features))
            ]
            rows.append([chr(65 + k), str(days[t]), *vals])
    return write_csv(path, ["series", "time", *targets, *features], rows)


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def make_run(tmp: Path, config: Path, seed: int = 0, overrides: list[str] | None = None) -> Path:
    """A complete run directory around an untrained model with random (non-zero bias) weights."""
    import keras

    from seqcast.files import write_json
    from seqcast.model import build_model
    from seqcast.pipeline import prepare

    cfg = load_config(config, overrides)
    prep = prepare(cfg)
    model = build_model(cfg, len(prep.ds.inputs), prep.n_targets, batch_size=prep.plan.batch_size)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    run = tmp / "run"
    run.mkdir()
    model.save(run / "model.keras")
    assert isinstance(keras.saving.load_model(run / "model.keras"), keras.Model)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    write_json(run / "preprocess.json", prep.preprocess_doc())
    (run / "history.csv").write_text("epoch,loss,val_loss,seconds\n")
    write_json(run / "metrics.json", {})
    return run


def series_values(csv_path: Path, columns: list[str]) -> dict[str, np.ndarray]:
    """{series: (n, columns) float64} in file order."""
    out: dict[str, list[list[float]]] = {}
    with csv_path.open() as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["series"], []).append([float(row[c]) for c in columns])
    return {k: np.asarray(v) for k, v in out.items()}


def keras_reset(model: Any) -> None:
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


def config_doc(data: Path, targets: list[str], **sections: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "data": {
            "path": str(data),
            "time_column": "time",
            "series_column": "series",
            "targets": targets,
            "split": {"val": 0.1, "test": 0.2},
            "scaler": "none",
            "transform": "none",
        },
        "windows": {"look_back": 6, "horizon": 2, "num_steps": 5, "streams": 2},
        "model": {"cell": "lstm", "units": [4, 3], "ensemble": 1},
        "training": {"epochs": 2, "batch_size": 8},
    }
    for key, value in sections.items():
        doc[key].update(value)
    return doc


# ---------------------------------------------------------------------------------------------
# (a) the forecast equals a plain Keras loop on the saved model


def keras_lookback_loop(model: Any, history: np.ndarray, steps: int, look_back: int, last_only: bool) -> np.ndarray:
    """Slide a window of look_back rows over its own predictions (targets-only inputs)."""
    window, preds = history[-look_back:], []
    while len(preds) < steps:
        y = np.asarray(model(window[None].astype(np.float32)))[0]  # (horizon or look_back, targets)
        y = y[-1:] if last_only else y
        preds.extend(y)
        window = np.concatenate([window, y])[-look_back:]
    return np.asarray(preds[:steps])


def keras_stateful_loop(model: Any, history: np.ndarray, steps: int) -> np.ndarray:
    """Reset, warm on the whole history, feed back every prediction; the batch is filled with copies."""
    batch = model.inputs[0].shape[0]
    keras_reset(model)
    x = np.repeat(history[None].astype(np.float32), batch, axis=0)  # (batch, time, inputs)
    preds = []
    for _ in range(steps):
        y = np.asarray(model(x))[0, -1]  # (targets,) the next step
        preds.append(y)
        x = np.repeat(y[None, None].astype(np.float32), batch, axis=0)
    return np.asarray(preds)


CASES = [
    # (id, windows, model, lengths, targets)
    ("lookback-m2o-1series-1target", {"mode": "lookback"}, {"kind": "many_to_one"}, [40], ["a"]),
    ("lookback-m2o-3series-2targets", {"mode": "lookback"}, {"kind": "many_to_one"}, [40, 46, 52], ["a", "b"]),
    ("lookback-encdec-2series-2targets", {"mode": "lookback"}, {"kind": "encoder_decoder"}, [40, 44], ["a", "b"]),
    ("lookback-m2m-2series-1target", {"mode": "lookback"}, {"kind": "many_to_many", "cell": "gru"}, [40, 44], ["a"]),
    ("stateful-m2m-1series-1target", {"mode": "stateful"}, {"kind": "many_to_many"}, [50], ["a"]),
    (
        "stateful-m2m-3series-2targets",
        {"mode": "stateful"},
        {"kind": "many_to_many", "cell": "simple_rnn"},
        [50, 62, 57],  # different lengths: the shorter ones are padded and masked
        ["a", "b"],
    ),
]


@pytest.mark.parametrize(("windows", "model", "lengths", "targets"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forecast_equals_plain_keras_loop(
    tmp_path: Path, windows: dict[str, Any], model: dict[str, Any], lengths: list[int], targets: list[str]
) -> None:
    import keras

    data = wave_csv(tmp_path / "data.csv", lengths, targets)
    config = write_config(tmp_path / "c.yaml", config_doc(data, targets, windows=windows, model=model))
    run_dir = make_run(tmp_path, config, seed=len(lengths))
    steps = 7  # not a multiple of the horizon (2)

    frame, ds, pred, _ = forecast.forecast(load_run(run_dir), steps)

    km = keras.saving.load_model(run_dir / "model.keras")
    hist = series_values(data, targets)
    assert pred.shape == (len(lengths), steps, len(targets))
    for i, name in enumerate(sorted(hist)):
        if windows["mode"] == "stateful":
            want = keras_stateful_loop(km, hist[name], steps)
        else:
            want = keras_lookback_loop(km, hist[name], steps, 6, last_only=model["kind"] == "many_to_many")
        np.testing.assert_allclose(pred[i], want, rtol=1e-5, atol=1e-5, err_msg=f"series {name}")
    assert list(frame.columns) == ["series", "time", *targets]
    assert len(frame) == steps * len(lengths)
    np.testing.assert_array_equal(np.stack([frame[t] for t in targets], 1), pred.reshape(-1, len(targets)))


def test_a_forecast_from_the_state_imports_neither_pandas_nor_tensorflow(tmp_path: Path) -> None:
    """The production path (train once, then update and forecast): numpy, the engine and the csv module only;
    pandas' import alone cost as long as 1,000 steps of three networks for 64 series."""
    data = wave_csv(tmp_path / "data.csv", [40, 44], ["a"])
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", config_doc(data, ["a"])))
    code = (
        "import sys\nfrom seqcast.cli import main\n"
        f"sys.argv = ['seqcast', 'forecast', '--run', {str(run_dir)!r}, '--steps', '5', '--output', "
        f"{str(tmp_path / 'f.csv')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted(m for m in ('pandas', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    assert (tmp_path / "f.csv").read_text().splitlines()[0] == "series,time,a"


@pytest.mark.parametrize(("kind", "step"), [("many_to_one", "window_norm"), ("many_to_many", "window_norm"),
                                           ("many_to_one", "window_mean"), ("many_to_one", "window_trend"),
                                           ("many_to_many", "window_trend")])  # fmt: skip
def test_window_norm_forecast_equals_keras_loop_on_normalised_windows(tmp_path: Path, kind: str, step: str) -> None:
    """transform window_norm (window_mean, window_trend): every window minus its last row (its mean, the line
    through its last row at its least-squares slope) goes in, the prediction plus that reference one step on
    comes out."""
    import keras

    data = wave_csv(tmp_path / "data.csv", [40, 44], ["a"])
    doc = config_doc(data, ["a"], model={"kind": kind})
    doc["data"]["transform"] = step
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc), seed=5)
    pred = forecast.forecast(load_run(run_dir), 5).pred

    km = keras.saving.load_model(run_dir / "model.keras")
    for i, values in enumerate(series_values(data, ["a"]).values()):
        window, preds = values[-6:], []
        while len(preds) < 5:
            last = window.mean(axis=0, keepdims=True) if step == "window_mean" else window[-1:]
            slope = np.polyfit(np.arange(6.0), window[:, 0], 1)[0] if step == "window_trend" else 0.0
            line = last + slope * (np.arange(6.0) - 5)[:, None]  # the reference of each row of the window
            y = np.asarray(km((window - line)[None].astype(np.float32)))[0]  # (horizon or look_back, 1)
            y = y[-1:] if kind == "many_to_many" else y  # the rows after the window's last: k = 1 (, 2)
            y = y + last + slope * np.arange(1.0, len(y) + 1)[:, None]
            preds.extend(y)
            window = np.concatenate([window, y])[-6:]
        np.testing.assert_allclose(pred[i], np.asarray(preds[:5]), rtol=1e-5, atol=1e-5)


def test_forecast_with_known_future_features_equals_keras_loop(tmp_path: Path) -> None:
    """Look-back model with a feature, read one row ahead (lead.py): the last known row holds the first future
    value, and each new window row is (the prediction, the feature value of the step after it)."""
    import keras

    data = wave_csv(tmp_path / "data.csv", [40, 45], ["a"], ["f"])
    doc = config_doc(data, ["a"], model={"kind": "many_to_one"})
    doc["data"]["features"] = ["f"]
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))
    steps, hist = 5, series_values(data, ["a", "f"])
    future_rows, fut = [], {}
    for name, values in hist.items():
        last = np.datetime64("2021-01-01") + np.timedelta64(len(values) - 1, "D")
        fut[name] = np.round(np.cos(np.arange(steps) + len(name)), 4)
        future_rows += [[name, str(last + np.timedelta64(1 + k, "D")), fut[name][k]] for k in range(steps)]
    future_csv = write_csv(tmp_path / "future.csv", ["series", "time", "f"], future_rows)

    res = CliRunner().invoke(
        app,
        ["forecast", "--run", str(run_dir), "--steps", str(steps), "--future", str(future_csv), "--output", "o.csv"],
    )
    assert res.exit_code == 0, res.output

    km = keras.saving.load_model(run_dir / "model.keras")
    got = series_values(Path("o.csv"), ["a"])
    for name, values in hist.items():
        led = np.column_stack([values[:, 0], np.concatenate([values[1:, 1], fut[name][:1]])])  # row t: a(t), f(t+1)
        window, preds, k = led[-6:], [], 1
        while len(preds) < steps:
            y = np.asarray(km(window[None].astype(np.float32)))[0, :, 0]  # (horizon,)
            f = np.concatenate([fut[name], np.repeat(fut[name][-1:], 3)])[k : k + len(y)]
            window = np.concatenate([window, np.column_stack([y, f])])[-6:]
            preds.extend(y)
            k += len(y)
        np.testing.assert_allclose(got[name][:, 0], np.asarray(preds[:steps]), rtol=1e-5, atol=1e-5)


def test_forecast_difference_transform_integrates_back_to_levels(tmp_path: Path) -> None:
    """With transform difference and a standard scaler, a Keras loop on scaled differences, integrated and
    unscaled by hand, gives the same levels."""
    import keras

    data = wave_csv(tmp_path / "data.csv", [50], ["a"])
    doc = config_doc(data, ["a"], windows={"mode": "stateful"}, model={"kind": "many_to_many"})
    doc["data"] |= {"scaler": "standard", "transform": "difference"}
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))
    pre = json.loads((run_dir / "preprocess.json").read_text())
    stats = pre["scaler"]["series"]["A"]["a"]
    pred = forecast.forecast(load_run(run_dir), 4).pred

    values = series_values(data, ["a"])["A"]
    scaled = (values - stats["center"]) / stats["scale"]
    diffs = keras_stateful_loop(keras.saving.load_model(run_dir / "model.keras"), np.diff(scaled, axis=0), 4)
    want = (scaled[-1] + np.cumsum(diffs, axis=0)) * stats["scale"] + stats["center"]
    np.testing.assert_allclose(pred[0], want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# (b) timestamps continue each series' frequency

FREQS = [
    ("month-start", ["2020-10-01", "2020-11-01", "2020-12-01"], ["2021-01-01", "2021-02-01", "2021-03-01"]),
    ("month-end", ["2020-09-30", "2020-10-31", "2020-11-30"], ["2020-12-31", "2021-01-31", "2021-02-28"]),
    ("weekly", ["2020-12-20", "2020-12-27", "2021-01-03"], ["2021-01-10", "2021-01-17", "2021-01-24"]),
    ("daily", ["2020-02-26", "2020-02-27", "2020-02-28"], ["2020-02-29", "2020-03-01", "2020-03-02"]),
    (
        "hourly",
        ["2021-03-01 21:00", "2021-03-01 22:00", "2021-03-01 23:00"],
        ["2021-03-02", "2021-03-02 01:00", "2021-03-02 02:00"],
    ),
    ("years", ["2017", "2018", "2019"], ["2020", "2021", "2022"]),
]


def _history_times(last3: list[str], n: int) -> list[str]:
    """n timestamps ending with last3, at the step those three show (built backwards)."""
    import pandas as pd

    if last3[0].isdigit():
        return [str(int(last3[-1]) - n + 1 + k) for k in range(n)]
    t = pd.to_datetime(last3)
    if t[-1].is_month_end and t[-1].day != t[-2].day:
        idx = pd.date_range(end=t[-1], periods=n, freq="ME")
    elif t[-1].day == 1 and t[-2].day == 1 and (t[-1] - t[-2]).days > 7:
        idx = pd.date_range(end=t[-1], periods=n, freq="MS")
    else:
        idx = pd.date_range(end=t[-1], periods=n, freq=t[-1] - t[-2])
    fmt = "%Y-%m-%d %H:%M" if (t.hour != 0).any() else "%Y-%m-%d"
    return [s.strftime(fmt) for s in idx]


@pytest.mark.parametrize(("last3", "expected"), [f[1:] for f in FREQS], ids=[f[0] for f in FREQS])
def test_forecast_timestamps_continue_the_frequency(tmp_path: Path, last3: list[str], expected: list[str]) -> None:
    from seqcast import timeaxis
    from seqcast.pipeline import prepare

    times = _history_times(last3, 30)
    assert times[-3:] == last3
    rows = [[s, t, float(k + 10 * (s == "B"))] for s in ("A", "B") for k, t in enumerate(times)]
    data = write_csv(tmp_path / "d.csv", ["series", "time", "a"], rows)
    cfg = load_config(write_config(tmp_path / "c.yaml", config_doc(data, ["a"])))
    prep = prepare(cfg)
    pre = json.loads(json.dumps(prep.preprocess_doc()))  # as preprocess.json stores it
    run = Run(tmp_path, cfg, pre, model=None)  # type: ignore[arg-type]

    feats, future_times = history.read_future(run, prep.ds, None, 3)

    assert feats is None
    for t in future_times:
        assert [timeaxis.fmt(x, prep.ds.time_kind) for x in t] == expected
    frame = forecast.forecast_frame(run, prep.ds, future_times, np.zeros((2, 3, 1)))
    assert list(frame.columns) == ["series", "time", "a"]
    assert frame["series"].tolist() == ["A"] * 3 + ["B"] * 3
    one = forecast.forecast_frame(run, prep.ds, [t[:1] for t in future_times], np.zeros((2, 1, 1)))
    written = one.to_csv().splitlines()[1].split(",")[1]  # one step: a midnight of an hourly run keeps its time
    assert written == ("2021-03-02 00:00:00" if last3[0].endswith(":00") else expected[0])  # else: dates, years


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([f"{y}-{m:02d}-01" for y in (2019, 2020) for m in range(1, 13)], ["2021-01-01", "2021-02-01"]),
        ([str(y) for y in range(1990, 2014)], ["2014", "2015"]),
    ],
    ids=["month-start", "years"],
)
def test_forecast_command_writes_continued_timestamps(tmp_path: Path, times: list[str], expected: list[str]) -> None:
    rows = [[t, float(np.sin(k))] for k, t in enumerate(times)]
    data = write_csv(tmp_path / "d.csv", ["time", "a"], rows)
    doc = config_doc(data, ["a"], windows={"look_back": 4})
    del doc["data"]["series_column"]
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))

    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "2", "--output", "fc.csv"])

    assert res.exit_code == 0, res.output
    lines = (tmp_path / "fc.csv").read_text().splitlines()
    assert lines[0] == "time,a"
    assert [line.split(",")[0] for line in lines[1:]] == expected


def test_forecast_without_time_column_numbers_the_steps(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", ["a"], [[float(np.sin(k))] for k in range(30)])
    doc = config_doc(data, ["a"], windows={"look_back": 4})
    del doc["data"]["series_column"], doc["data"]["time_column"]
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))

    frame = forecast.forecast(load_run(run_dir), 3).frame

    assert list(frame.columns) == ["step", "a"]
    steps = frame["step"]
    assert np.array_equal(np.diff(steps), [1, 1]) and steps[0] > 0


# ---------------------------------------------------------------------------------------------
# (c) a predictor that repeats its last input makes both loops the naive forecast


@pytest.mark.parametrize("window_step", ["", "window_norm"])
@pytest.mark.parametrize("horizon", [1, 3])
def test_rolling_forecast_with_repeat_last_is_naive(horizon: int, window_step: str) -> None:
    rng = np.random.default_rng(0)
    window = rng.normal(size=(3, 5, 3)) * 10  # (batch, look_back, inputs): 2 targets and 1 feature
    future = rng.normal(size=(3, 7, 1))
    calls: list[tuple[int, ...]] = []

    def repeat_last(x: np.ndarray) -> np.ndarray:
        calls.append(x.shape)
        return np.repeat(x[:, -1:, :2], horizon, axis=1)

    got = forecast.rolling_forecast(repeat_last, window, 7, 2, future, window_step)

    want = np.stack([evaluate.naive(w[:, :2], origin=5, horizon=7) for w in window])
    np.testing.assert_array_equal(got, want)
    assert calls == [(3, 5, 3)] * -(-7 // horizon)


@pytest.mark.parametrize("horizon", [1, 2])
def test_rolling_forecast_with_window_trend_and_a_silent_network_continues_the_line(horizon: int) -> None:
    """window_trend: a network that answers 0 forecasts the window's line (a drift, as Holt's linear trend)."""
    window = np.stack([3 + 2 * np.arange(5.0), np.full(5, 4.0)], axis=1)[None]  # a target on a line, a feature

    def silent(x: np.ndarray) -> np.ndarray:
        assert not x[:, :, 0].any()  # the target's line taken away, every step
        return np.zeros((1, horizon, 1))

    got = forecast.rolling_forecast(silent, window, 6, 1, np.full((1, 6, 1), 4.0), "window_trend")
    np.testing.assert_allclose(got[0, :, 0], 3 + 2 * np.arange(5.0, 11.0))


def test_rolling_forecast_slides_the_window_over_its_predictions() -> None:
    """A predictor answering 'last + 1' walks up by one per step: the window really moves."""
    window = np.arange(4.0).reshape(1, 4, 1)
    seen: list[list[float]] = []

    def plus_one(x: np.ndarray) -> np.ndarray:
        seen.append(x[0, :, 0].tolist())
        return x[:, -1:] + 1

    got = forecast.rolling_forecast(plus_one, window, 3, 1)
    assert got[0, :, 0].tolist() == [4.0, 5.0, 6.0]
    assert seen == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]


@pytest.mark.parametrize("per_step", [True, False], ids=["many_to_many", "horizon_block"])
def test_stateful_forecast_with_repeat_last_is_naive(per_step: bool) -> None:
    rng = np.random.default_rng(1)
    history = rng.normal(size=(2, 9, 2))  # (batch, time, inputs): 1 target, 1 feature
    mask = np.ones((2, 9), dtype=bool)
    mask[1, :3] = False  # row 1 is a shorter series, padded on the left
    history[1, :3] = 99.0
    future = rng.normal(size=(2, 6, 1))
    fed: list[np.ndarray] = []

    def repeat_input(x: np.ndarray, m: np.ndarray | None) -> np.ndarray:
        fed.append(x)
        return x[:, :, :1] if per_step else np.repeat(x[:, -1:, :1], 2, axis=1)

    got = forecast.stateful_forecast(repeat_input, history, 6, 1, future, mask)

    want = np.stack([evaluate.naive(h[:, :1], origin=9, horizon=6) for h in history])
    np.testing.assert_array_equal(got, want)
    assert fed[0] is history
    # the fed-back rows carry the future feature of the step they stand for
    np.testing.assert_array_equal(fed[1][:, 0, 1], future[:, 0, 0])
    assert len(fed) == (6 if per_step else 3)


# ---------------------------------------------------------------------------------------------
# (d) metrics and origins against hand-computed values


def test_origins_start_at_the_test_part_one_every_horizon_last_short_block_dropped() -> None:
    assert evaluate.origins(8, 12, 2).tolist() == [8, 10]
    assert evaluate.origins(7, 12, 2).tolist() == [7, 9]  # [11, 12) is shorter than 2: dropped
    assert evaluate.origins(7, 12, 5).tolist() == [7]
    assert evaluate.origins(7, 12, 6).tolist() == []
    assert evaluate.origins(0, 5, 1).tolist() == [0, 1, 2, 3, 4]


def test_baselines_by_hand() -> None:
    y = np.arange(1.0, 13.0)[:, None]  # 1..12
    assert evaluate.naive(y, 7, 3)[:, 0].tolist() == [7, 7, 7]
    assert evaluate.seasonal_naive(y, 7, 2, 2)[:, 0].tolist() == [6, 7]
    assert evaluate.seasonal_naive(y, 7, 5, 2)[:, 0].tolist() == [6, 7, 6, 7, 6]
    assert evaluate.seasonal_naive(y, 7, 2, 3)[:, 0].tolist() == [5, 6]
    np.testing.assert_allclose(evaluate.mase_scale(y[:7], 2), [2.0])
    np.testing.assert_allclose(evaluate.mase_scale(np.array([[1.0], [4.0], [2.0]]), 1), [2.5])


def test_scores_by_hand() -> None:
    pred = np.array([[2.0], [1.0]])
    true = np.array([[1.0], [3.0]])
    s = evaluate.scores(pred, true, np.array([2.0]))
    assert s["mae"] == pytest.approx(1.5)
    assert s["rmse"] == pytest.approx(np.sqrt(2.5))
    assert s["smape"] == pytest.approx(100 * (2 * 1 / 3 + 2 * 2 / 4) / 2)
    assert s["mase"] == pytest.approx(0.75)


def test_mase_by_series_by_hand() -> None:
    """Origins of A, B, A (2 steps, 2 targets); B's second target has no scale (NaN): its MASE is its first's."""
    from seqcast.metrics import by_series

    true = np.zeros((3, 2, 2))
    model = np.array([[[1, 2], [3, 4]], [[2, 9], [4, 9]], [[5, 6], [7, 8]]], dtype=float)
    scale = np.array([[[1.0, 2.0]], [[2.0, np.nan]], [[1.0, 2.0]]])
    got = by_series({"model": model, "naive": -model}, true, scale, ["A", "B", "A"])
    a = np.mean([1, 1, 3, 2, 5, 3, 7, 4])  # |error| / scale over A's two origins, steps and targets
    assert got == {"A": {"model": a, "naive": a}, "B": {"model": 1.5, "naive": 1.5}}
    assert list(got) == ["A", "B"]
    nan = by_series({"model": model[1:2]}, true[1:2], np.full((1, 1, 2), np.nan), ["B"])
    assert np.isnan(nan["B"]["model"])  # no scale at all: NaN (metrics.json: null), no warning


def test_backtest_by_hand_on_one_to_twelve() -> None:
    """Values 1..12 (target b = 2a), test part from row 7, horizon 2, season 2."""
    a = np.arange(1.0, 13.0)
    series = np.column_stack([a, 2 * a, np.full(12, 5.0)])  # targets a, b and a feature
    offset = np.array([[0.5], [-1.0]])  # the model misses by +0.5 at step 1 and -1 at step 2
    asked: list[list[tuple[int, int]]] = []

    def model_forecast(jobs: list[tuple[int, int]]) -> np.ndarray:
        asked.append(jobs)
        return np.stack([series[o : o + 2, :2] + offset for _, o in jobs])

    doc = evaluate.backtest([series], [7], horizon=2, season=2, targets=["a", "b"], model_forecast=model_forecast)

    assert asked == [[(0, 7), (0, 9)]]
    assert (doc["horizon"], doc["origins"]) == (2, 2)
    # a: naive from 7 -> [7, 7] vs [8, 9], from 9 -> [9, 9] vs [10, 11]: errors 1, 2, 1, 2
    # a: seasonal naive from 7 -> [6, 7], from 9 -> [8, 9]: errors 2 everywhere; MASE scale |a[t] - a[t-2]| = 2
    na = doc["per_target"]["a"]["naive"]
    assert na["mae"] == pytest.approx(1.5)
    assert na["rmse"] == pytest.approx(np.sqrt(2.5))
    assert na["smape"] == pytest.approx(100 * np.mean([2 / 15, 4 / 16, 2 / 19, 4 / 20]))
    assert na["mase"] == pytest.approx(0.75)
    sn = doc["per_target"]["a"]["seasonal_naive"]
    assert (sn["mae"], sn["rmse"], sn["mase"]) == pytest.approx((2.0, 2.0, 1.0))
    m = doc["per_target"]["a"]["model"]
    assert m["mae"] == pytest.approx(0.75)
    assert m["rmse"] == pytest.approx(np.sqrt(0.625))
    assert m["mase"] == pytest.approx(0.375)
    assert m["smape"] == pytest.approx(100 * np.mean([1 / 16.5, 2 / 17, 1 / 20.5, 2 / 21]))
    # b = 2a: absolute errors double, the MASE scale doubles, sMAPE is unchanged
    nb = doc["per_target"]["b"]["naive"]
    assert (nb["mae"], nb["mase"], nb["smape"]) == pytest.approx((3.0, 0.75, na["smape"]))
    # overall = mean over targets
    assert doc["naive"]["mae"] == pytest.approx(2.25)
    assert doc["model"]["mae"] == pytest.approx(0.75)  # the model's misses do not scale with the target
    assert doc["per_target"]["b"]["model"]["mase"] == pytest.approx(0.75 / 4)
    assert doc["model"]["mase"] == pytest.approx((0.375 + 0.75 / 4) / 2)
    assert doc["seasonal_naive"]["mase"] == pytest.approx(1.0)
    assert doc["by_step"]["naive"]["mae"] == pytest.approx([1.5, 3.0])
    assert doc["by_step"]["model"]["mae"] == pytest.approx([0.5, 1.0])
    assert doc["best"] == "model"
    assert json.loads(json.dumps(doc)) == doc


def test_backtest_several_series_with_their_own_test_starts() -> None:
    s1 = np.arange(10.0)[:, None]
    s2 = np.arange(100.0, 107.0)[:, None]
    jobs_seen: list[tuple[int, int]] = []

    def model_forecast(jobs: list[tuple[int, int]]) -> np.ndarray:
        jobs_seen.extend(jobs)
        return np.stack([np.zeros((3, 1)) for _ in jobs])

    doc = evaluate.backtest([s1, s2], [4, 3], horizon=3, season=1, targets=["y"], model_forecast=model_forecast)
    assert jobs_seen == [(0, 4), (0, 7), (1, 3)]
    assert doc["origins"] == 3
    # naive from every origin misses by 1, 2, 3 on a unit-step line
    assert doc["naive"]["mae"] == pytest.approx(2.0)
    assert doc["naive"]["mase"] == pytest.approx(2.0)


def test_mase_scales_by_the_history_before_the_test_part_only() -> None:
    """Steps of 1 before the test part, of 10 in it: the MASE scale is 1 (the history's naive MAE), so naive's
    errors of 10, 20 score 15, not 15 over a scale the test part has inflated."""
    y = np.array([0.0, 1, 2, 3, 4, 5, 6, 16, 26])[:, None]
    doc = evaluate.backtest([y], [7], 2, 1, ["y"], lambda jobs: np.stack([y[o : o + 2] for _, o in jobs]))
    assert doc["origins"] == 1
    assert doc["naive"]["mae"] == 15.0 and doc["naive"]["mase"] == 15.0
    assert doc["model"]["mase"] == 0.0


def test_the_best_method_is_chosen_by_mase_not_by_mae_across_targets_of_other_sizes() -> None:
    """Target a steps by 10, b by 1 (MASE scales 10 and 1). Naive misses each by one step: MAE (10 + 1) / 2, MASE 1.
    The model is exact on a and misses b by 3: MAE 1.5, the lowest, but MASE (0 + 3) / 2 = 1.5: naive is best."""
    t = np.arange(10.0)
    series = np.column_stack([10 * t, t])

    def model_forecast(jobs: list[tuple[int, int]]) -> np.ndarray:
        return np.stack([series[o : o + 1] + [0.0, 3.0] for _, o in jobs])

    doc = evaluate.backtest([series], [8], 1, 1, ["a", "b"], model_forecast)
    assert (doc["model"]["mae"], doc["model"]["mase"]) == (1.5, 1.5)
    assert (doc["naive"]["mae"], doc["naive"]["mase"]) == (5.5, 1.0)
    assert doc["best"] == "naive"  # seasonal naive (season 1) ties with naive: the first of them


def test_backtest_without_a_full_block_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="evaluate.horizon=5") as caught:
        evaluate.backtest([np.arange(10.0)[:, None]], [7], 5, 1, ["y"], lambda jobs: np.zeros((len(jobs), 5, 1)))
    assert caught.value.where == "evaluate.horizon"


def test_backtest_run_uses_the_test_split_of_the_run(tmp_path: Path) -> None:
    """A 40-row series with a 10-row test part and horizon 3: origins 30, 33, 36 (39 is too short)."""
    rows = [[str(np.datetime64("2021-01-01") + np.timedelta64(k, "D")), float(k)] for k in range(40)]
    data = write_csv(tmp_path / "d.csv", ["time", "a"], rows)
    doc = config_doc(data, ["a"], windows={"look_back": 4})
    del doc["data"]["series_column"]
    doc["data"]["split"] = {"val": 5, "test": 10}
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))

    metrics = evaluate.backtest_run(run_dir, horizon=3)

    assert metrics["origins"] == 3
    assert metrics["naive"]["mae"] == pytest.approx(2.0)  # errors 1, 2, 3 on a unit-step line
    assert metrics["seasonal_naive"]["mae"] == pytest.approx(2.0)  # season 1 = naive
    assert metrics["naive"]["mase"] == pytest.approx(2.0)
    run = load_run(run_dir)
    values = np.arange(40.0)[:, None]
    by_hand = [forecast.forecast_histories(run, [values[:o]], [""], 3)[0] for o in (30, 33, 36)]
    errors = np.abs(np.stack(by_hand) - np.stack([values[o : o + 3] for o in (30, 33, 36)]))
    assert metrics["model"]["mae"] == pytest.approx(float(errors.mean()))


# ---------------------------------------------------------------------------------------------
# (d2) backtests in one pass: every origin forecast as if its history were the whole file

ORIGIN_CASES = [
    # (id, windows, model, transform, features, lengths)
    ("stateful-m2m-difference-feature", {"mode": "stateful"}, {"kind": "many_to_many"}, "difference", ["f"], [50, 62]),
    ("stateful-m2o-gru", {"mode": "stateful"}, {"kind": "many_to_one", "cell": "gru"}, "none", [], [48, 41]),
    ("lookback-m2o-window_norm", {"mode": "lookback"}, {"kind": "many_to_one"}, "window_norm", [], [40, 46]),
    ("lookback-encdec-difference", {"mode": "lookback"}, {"kind": "encoder_decoder"}, "difference", ["f"], [40]),
    ("lookback-m2m-simple_rnn", {"mode": "lookback"}, {"kind": "many_to_many", "cell": "simple_rnn"}, "none", [], [44]),
    (
        "lookback-m2o-log+seasonal-feature",
        {"mode": "lookback"},
        {"kind": "many_to_one"},
        "log+seasonal",
        ["f"],
        [44, 50],
    ),
    (
        "stateful-m2m-seasonal+difference",
        {"mode": "stateful"},
        {"kind": "many_to_many"},
        "seasonal+difference",
        [],
        [52],
    ),
    ("lookback-encdec-log+window_norm", {"mode": "lookback"}, {"kind": "encoder_decoder"}, "log+window_norm", [], [40]),
    ("lookback-m2o-window_mean-feature", {"mode": "lookback"}, {"kind": "many_to_one"}, "window_mean", ["f"], [40, 44]),
    (
        "lookback-m2o-log+seasonal_mean",
        {"mode": "lookback"},
        {"kind": "many_to_one"},
        "log+seasonal_mean",
        [],
        [44, 50],
    ),
    (
        "stateful-m2m-seasonal_mean+difference",
        {"mode": "stateful"},
        {"kind": "many_to_many"},
        "seasonal_mean+difference",
        ["f"],
        [52],
    ),
    (
        "lookback-m2o-log+deseason+window_norm",
        {"mode": "lookback"},
        {"kind": "many_to_one"},
        "log+deseason+window_norm",
        ["f"],
        [44, 50],
    ),
    ("stateful-m2o-deseason", {"mode": "stateful"}, {"kind": "many_to_one"}, "deseason", [], [52]),
    (
        "lookback-m2m-window_trend-feature",
        {"mode": "lookback"},
        {"kind": "many_to_many"},
        "window_trend",
        ["f"],
        [40, 44],
    ),
]


@pytest.mark.parametrize(
    ("windows", "model", "transform", "features", "lengths"),
    [c[1:] for c in ORIGIN_CASES],
    ids=[c[0] for c in ORIGIN_CASES],
)
def test_forecast_origins_equal_a_forecast_from_each_truncated_history(
    tmp_path: Path,
    windows: dict[str, Any],
    model: dict[str, Any],
    transform: str,
    features: list[str],
    lengths: list[int],
) -> None:
    """One pass over each series with its states kept at the origins (stateful), or every origin's window in one
    batch (look-back), answers what forecasting each origin's history on its own answers."""
    data = wave_csv(tmp_path / "data.csv", lengths, ["a"], features, offset=3.0)  # positive: a log applies
    doc = config_doc(data, ["a"], windows=windows, model=model)
    doc["data"] |= {"features": features, "scaler": "standard", "transform": transform}
    doc["evaluate"] = {"season": 4}  # the seasonal step's lag
    run = load_run(make_run(tmp_path, write_config(tmp_path / "c.yaml", doc), seed=2))
    values = list(series_values(data, ["a", *features]).values())
    names = ["A", "B"][: len(lengths)]
    steps = 5
    early = (12, 13, 17) if run.steps.lost < 8 else (14, 15, 19)  # seasonal_mean, deseason: two seasons (8 rows)
    jobs = [(i, o) for i, v in enumerate(values) for o in (*early, len(v) - steps, len(v) - 2)]
    fut = [values[i][o : o + steps, 1:] for i, o in jobs] if features else None
    if fut is not None:  # the last origins run past the file: their future feature rows are made up
        fut = [np.concatenate([f, np.full((steps - len(f), len(features)), 0.25)]) for f in fut]

    got = forecast.forecast_origins(run, values, names, jobs, steps, fut)

    assert got.shape == (len(jobs), steps, 1)
    for j, (i, o) in enumerate(jobs):
        alone = forecast.forecast_histories(run, [values[i][:o]], [names[i]], steps, [fut[j]] if fut else None)
        np.testing.assert_allclose(got[j], alone[0], rtol=1e-5, atol=1e-5, err_msg=f"series {names[i]}, origin {o}")


def test_log_seasonal_forecast_equals_a_plain_keras_loop_on_seasonal_changes_of_logs(tmp_path: Path) -> None:
    """transform log+seasonal, standard scaler: log, scale, subtract the value a season before, run the Keras model
    (window by window), then add back the value a season before, unscale and exp, all by hand."""
    import keras

    data = wave_csv(tmp_path / "data.csv", [40], ["a"], offset=3.0)
    doc = config_doc(data, ["a"], model={"kind": "many_to_one"})
    doc["data"] |= {"scaler": "standard", "transform": "log+seasonal"}
    doc["evaluate"] = {"season": 4}
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc), seed=3)
    stats = json.loads((run_dir / "preprocess.json").read_text())["scaler"]["series"]["A"]["a"]
    pred = forecast.forecast(load_run(run_dir), 9).pred

    km = keras.saving.load_model(run_dir / "model.keras")
    scaled = list((np.log(series_values(data, ["a"])["A"][:, 0]) - stats["center"]) / stats["scale"])
    while len(scaled) < 40 + 9:
        changes = np.array(scaled[4:]) - np.array(scaled[:-4])  # the seasonal changes so far
        y = np.asarray(km(changes[-6:][None, :, None].astype(np.float32)))[0, :, 0]  # (horizon,)
        for v in y:
            scaled.append(v + scaled[-4])
    want = np.exp(np.array(scaled[40:49]) * stats["scale"] + stats["center"])
    np.testing.assert_allclose(pred[0, :, 0], want, rtol=1e-5)


def test_log_transform_refuses_a_history_with_values_of_zero_or_below(tmp_path: Path) -> None:
    data = wave_csv(tmp_path / "data.csv", [40], ["a"], offset=3.0)
    doc = config_doc(data, ["a"])
    doc["data"] |= {"scaler": "standard", "transform": "log"}
    run = load_run(make_run(tmp_path, write_config(tmp_path / "c.yaml", doc)))
    values = list(series_values(data, ["a"]).values())
    values[0][38, 0] = -1.0  # in the last window: a look-back model reads only those rows
    with pytest.raises(DataError) as err:
        forecast.forecast_histories(run, values, ["A"], 3)
    assert err.value.message == (
        "series 'A', column 'a' has -1 at row 39 of the series: the run's transform (log) reads only values above 0"
    )
    values[0][38, 0], values[0][2, 0] = 3.5, 0.0  # before the last window: not read, no fault
    assert forecast.forecast_histories(run, values, ["A"], 3).shape == (1, 3, 1)
    # evaluate backtests the run's data file: the error names it
    import pandas as pd

    frame = pd.read_csv(data)
    frame.loc[36, "a"] = 0.0  # A's test part (rows 33 to 40)
    frame.to_csv(data, index=False)
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run.path)])
    assert res.exit_code == 1, res.output
    assert " ".join(res.stderr.split()).startswith(
        f"error: {data}: series 'A', column 'a' has 0 at row 37 of the series: the run's transform (log) reads only "
        "values above 0 hint: correct that value, or use a run trained without log"
    ), res.stderr


def test_stateful_origins_equal_a_plain_keras_loop_on_each_truncated_history(tmp_path: Path) -> None:
    import keras

    data = wave_csv(tmp_path / "data.csv", [40, 52], ["a"])
    doc = config_doc(data, ["a"], windows={"mode": "stateful"}, model={"kind": "many_to_many"})
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc), seed=4)
    values = list(series_values(data, ["a"]).values())
    jobs = [(0, 3), (1, 3), (0, 39), (1, 30), (1, 51)]

    got = forecast.forecast_origins(load_run(run_dir), values, ["A", "B"], jobs, 6)

    km = keras.saving.load_model(run_dir / "model.keras")
    for j, (i, o) in enumerate(jobs):
        np.testing.assert_allclose(got[j], keras_stateful_loop(km, values[i][:o], 6), rtol=1e-5, atol=1e-5)


def test_a_long_stateful_backtest_holds_no_history_per_origin(tmp_path: Path) -> None:
    """20,000 rows and 400 origins: the peak while forecasting every origin stays far below one scaled copy of
    the history per origin (400 x 20,000 x 8 bytes = 64 MB) or one state per row (20,000 x 14 x 4 = 1.1 MB)."""
    import tracemalloc

    data = wave_csv(tmp_path / "data.csv", [20_000], ["a"])
    doc = config_doc(data, ["a"], windows={"mode": "stateful", "num_steps": 50}, model={"kind": "many_to_many"})
    run = load_run(make_run(tmp_path, write_config(tmp_path / "c.yaml", doc)))
    values = list(series_values(data, ["a"]).values())
    jobs = [(0, int(o)) for o in np.linspace(100, 19_990, 400)]
    tracemalloc.start()
    try:
        got = forecast.forecast_origins(run, values, ["A"], jobs, 10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.shape == (400, 10, 1)
    assert peak < 1.0e6, f"peak {peak / 1e6:.2f} MB"


def test_a_history_too_short_for_the_model_names_the_series(tmp_path: Path) -> None:
    data = wave_csv(tmp_path / "data.csv", [40], ["a"])
    run = load_run(make_run(tmp_path, write_config(tmp_path / "c.yaml", config_doc(data, ["a"]))))
    values = list(series_values(data, ["a"]).values())
    with pytest.raises(
        DataError,
        match=r"series 'A' has 5 rows before the forecast origin; the model needs at least 6 \(windows.look_back=6\)",
    ):
        forecast.forecast_origins(run, values, ["A"], [(0, 5)], 3)
    with pytest.raises(DataError, match=r"^the series has 1 row before the forecast origin"):  # a file of one series
        forecast.forecast_origins(run, values, [""], [(0, 1)], 3)


# ---------------------------------------------------------------------------------------------
# (e) CLI errors


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_forecast_steps_must_be_positive(steps: str) -> None:
    res = CliRunner().invoke(app, ["forecast", "--steps", steps, "--run", "nowhere"])
    assert res.exit_code == 2
    assert "--steps" in res.stderr
    assert "Traceback" not in res.output


def test_forecast_without_future_for_features_names_the_columns(tmp_path: Path) -> None:
    data = wave_csv(tmp_path / "data.csv", [40], ["a"], ["temp", "price"])
    doc = config_doc(data, ["a"])
    doc["data"]["features"] = ["temp", "price"]
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))

    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "3", "--output", "fc.csv"])

    assert res.exit_code == 2  # the option left out: a usage error
    assert "temp" in res.stderr and "price" in res.stderr and "--future" in res.stderr
    assert "Traceback" not in res.output
    assert not (tmp_path / "fc.csv").exists()


def test_forecast_future_missing_a_step_names_the_timestamp(tmp_path: Path) -> None:
    data = wave_csv(tmp_path / "data.csv", [40], ["a"], ["f"])
    doc = config_doc(data, ["a"])
    doc["data"]["features"] = ["f"]
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", doc))
    # history ends 2021-02-09; the future file has only the first of the 3 steps asked for
    future = write_csv(tmp_path / "future.csv", ["series", "time", "f"], [["A", "2021-02-10", 0.5]])

    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "3", "--future", str(future)])

    assert res.exit_code == 1
    assert "2021-02-11" in res.stderr and "future.csv" in res.stderr


def test_forecast_without_a_run_says_how_to_make_one() -> None:
    res = CliRunner().invoke(app, ["forecast", "--steps", "3"])
    assert res.exit_code == 2
    assert "seqcast train" in res.stderr


def test_forecast_of_a_series_unknown_to_the_run_is_a_data_error(tmp_path: Path) -> None:
    data = wave_csv(tmp_path / "data.csv", [40], ["a"])
    per_series = config_doc(data, ["a"])
    per_series["data"]["scaler"] = "standard"  # per-series statistics: scaler none or scope global would allow B
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", per_series))
    other = wave_csv(tmp_path / "other.csv", [40, 40], ["a"])  # series A and B; the run knows only A

    with pytest.raises(DataError, match="'B'"):
        forecast.forecast(load_run(run_dir), 2, data=other)


def test_forecast_plot_has_a_panel_per_series_and_target(tmp_path: Path) -> None:
    import matplotlib.image

    data = wave_csv(tmp_path / "d.csv", [40, 40, 40, 40], ["a", "b"])
    run_dir = make_run(tmp_path, write_config(tmp_path / "c.yaml", config_doc(data, ["a", "b"])))
    (tmp_path / "forecast.png").write_bytes(b"old")  # replaced only by a complete new file

    (tmp_path / "mine.csv").write_text("a,b\n1,2\n")  # a file of the user's: replaced, and said to be
    args = ["forecast", "--run", str(run_dir), "--steps", "5", "--plot", "forecast.png", "--output", "mine.csv"]
    from seqcast import console

    waits: list[str] = []  # seconds for millions of rows, or a plot that reads the data file: shown as under way
    real_busy = console.busy
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(console, "busy", lambda message: waits.append(message) or real_busy(message))
        res = CliRunner().invoke(app, args)
    assert waits == ["forecasting 5 steps", "writing the table and the plot"]

    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "plot written to forecast.png, replacing the file that was there" in said
    assert "wrote 20 rows to mine.csv, replacing the file that was there" in said
    again = CliRunner().invoke(app, [*args[:-2], "--output", "new.csv"])
    assert "wrote 20 rows to new.csv" in again.output and "new.csv, replacing" not in again.output
    png = tmp_path / "forecast.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(png).shape
    assert height > width  # 4 series x 2 targets: a 2 x 2 grid of series, each a column of 2 panels: 4 rows, 2 columns


def test_a_forecast_table_too_large_is_refused_as_a_usage_error() -> None:
    from seqcast.errors import ConfigError
    from seqcast.forecast import check_steps

    check_steps(100_000, 100)  # 10,000,000 rows: the limit itself is fine
    with pytest.raises(ConfigError) as caught:
        check_steps(100_000, 101)
    assert caught.value.exit_code == 2 and caught.value.where == "--steps"
    assert "100,000 steps x 101 series = 10,100,000 rows, more than seqcast writes" in caught.value.message


def test_known_future_reads_each_origins_feature_rows_and_repeats_the_last_past_the_end() -> None:
    """Series of 6 rows: target column then a feature equal to 10 x the row; origins 2 and 5, 3 steps."""
    rows = np.arange(6, dtype=np.float64)
    values = [np.stack([rows, 10 * rows], axis=1)]
    got = forecast.known_future(values, [(0, 2), (0, 5)], steps=3, n_targets=1)
    assert [g[:, 0].tolist() for g in got] == [[20.0, 30.0, 40.0], [50.0, 50.0, 50.0]]
    assert all(g.shape == (3, 1) for g in got)
