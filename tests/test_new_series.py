"""data.scaler_scope: one set of scaler statistics for every series (global), and forecasting a series the run
never saw: warmed on its own rows from `forecast --data`, allowed only where its scaling needs no statistics of
its own (scope global, or scaler none), refused by name elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

import seqcast.prepare as prepare
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.data import Dataset, Parts, Series
from seqcast.errors import DataError
from seqcast.intervals import scale_of
from seqcast.pipeline import train_run
from seqcast.prepare import Scaler, new_series_ok
from seqcast.run import read_preprocess
from seqcast.transforms import Transform

assert keras.__version__  # imported for its failure, not its use

STEPS = 3  # forecast steps, = evaluate.horizon: the intervals are calibrated for as many


def invoke(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def words(res: Result) -> str:
    """The output with every run of whitespace made one space (rich wraps long error lines)."""
    return " ".join(res.output.split())


# ---------------------------------------------------------------- the statistics


def ramp_dataset(rng: np.random.Generator) -> tuple[Dataset, list[Parts]]:
    """Three series of different lengths, levels and spreads, two columns; training parts of 30, 9 and 51 rows."""
    lengths, ends = (40, 12, 60), (30, 9, 51)
    series = [
        Series(f"s{i}", np.arange(n), rng.standard_normal((n, 2)) * (i + 1) * 10 + 100 * i)
        for i, n in enumerate(lengths)
    ]
    parts = [Parts(train_end=e, val_end=e + 1, n=n) for e, n in zip(ends, lengths, strict=True)]
    return Dataset(series, ["y"], ["x"], "integer", None, "m.csv"), parts


@pytest.mark.parametrize("block", [1, 7, 1 << 18])
def test_global_statistics_equal_numpy_over_the_pooled_training_parts(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # blocks of 1 and 7 rows: the two-pass sum over every part in blocks; 1 << 18: one block, numpy's own numbers
    monkeypatch.setattr(prepare, "_STAT_ROWS", block)
    ds, parts = ramp_dataset(np.random.default_rng(3))
    pooled = np.concatenate([s.values[: p.train_end] for s, p in zip(ds.series, parts, strict=True)])  # (90, 2)
    std = Scaler.fit("standard", ds, parts, scope="global")
    assert std.scope == "global" and std.center.shape == (3, 2)
    for i in range(3):  # every series shares them
        np.testing.assert_allclose(std.center[i], pooled.mean(axis=0), rtol=1e-14)
        np.testing.assert_allclose(std.scale[i], pooled.std(axis=0), rtol=1e-12)
    if block == 1 << 18:
        assert std.center[0].tolist() == pooled.mean(axis=0).tolist()
        assert std.scale[0].tolist() == pooled.std(axis=0).tolist()
    mm = Scaler.fit("minmax", ds, parts, scope="global")
    assert mm.center.tolist() == [pooled.min(axis=0).tolist()] * 3  # exact: min and max do not round
    assert mm.scale.tolist() == [(pooled.max(axis=0) - pooled.min(axis=0)).tolist()] * 3
    none = Scaler.fit("none", ds, parts, scope="global")
    assert none.center.tolist() == [[0.0, 0.0]] * 3 and none.scale.tolist() == [[1.0, 1.0]] * 3


def test_global_statistics_after_a_log_are_those_of_the_pooled_logs() -> None:
    # a log is per value and comes before the scaler: the global statistics are the pooled logs' (targets only)
    ds, parts = ramp_dataset(np.random.default_rng(4))
    for s in ds.series:
        s.values = np.abs(s.values) + 1.0
    pooled = np.concatenate([s.values[: p.train_end] for s, p in zip(ds.series, parts, strict=True)])
    pooled[:, 0] = np.log(pooled[:, 0])
    std = Scaler.fit("standard", ds, parts, Transform.parse("log", 1), scope="global")
    assert std.center[2].tolist() == pooled.mean(axis=0).tolist()
    assert std.scale[2].tolist() == pooled.std(axis=0).tolist()


def test_series_scope_keeps_each_series_own_statistics() -> None:
    ds, parts = ramp_dataset(np.random.default_rng(3))
    own = Scaler.fit("standard", ds, parts)
    assert own.scope == "series"
    for i, (s, p) in enumerate(zip(ds.series, parts, strict=True)):
        assert own.center[i].tolist() == s.values[: p.train_end].mean(axis=0).tolist()
        assert own.scale[i].tolist() == s.values[: p.train_end].std(axis=0).tolist()


def test_the_global_scope_in_preprocess_json_scales_a_series_it_never_saw() -> None:
    ds, parts = ramp_dataset(np.random.default_rng(3))
    sc = Scaler.fit("standard", ds, parts, scope="global")
    doc = sc.to_json(ds.names, ["y", "x"])
    assert doc["scope"] == "global"
    assert doc["global"] == doc["series"]["s0"] == doc["series"]["s2"]  # each series' entry repeats them
    assert doc["global"]["y"] == {"center": float(sc.center[0, 0]), "scale": float(sc.scale[0, 0])}
    back = Scaler.from_json(doc, ["s2", "new"], ["y", "x"])
    assert back.scope == "global"
    assert back.center.tolist() == [sc.center[0].tolist()] * 2 and back.scale.tolist() == [sc.scale[0].tolist()] * 2
    assert new_series_ok(doc)


def test_per_series_statistics_and_runs_before_the_scope_read_as_before() -> None:
    ds, parts = ramp_dataset(np.random.default_rng(3))
    sc = Scaler.fit("standard", ds, parts)
    doc = sc.to_json(ds.names, ["y", "x"])
    assert doc["scope"] == "series" and "global" not in doc
    old = {k: v for k, v in doc.items() if k != "scope"}  # preprocess.json of a run from before scaler_scope
    back = Scaler.from_json(old, ["s1"], ["y", "x"])
    assert back.scope == "series" and back.center.tolist() == [sc.center[1].tolist()]
    assert not new_series_ok(old) and not new_series_ok(doc)
    # scaler none reads no statistics: a new series is scaled (not at all) as every other
    none = Scaler.fit("none", ds, parts).to_json(ds.names, ["y", "x"])
    assert new_series_ok(none)
    assert Scaler.from_json(none, ["new"], ["y", "x"]).scale.tolist() == [[1.0, 1.0]]


def test_window_norm_is_shift_free_but_not_scale_free_under_a_per_series_scaler() -> None:
    # why window_norm alone does not make a new series forecastable: (x - x_last) / scale keeps the series' scale
    window = np.array([[1.0], [4.0], [2.0]])
    shapes = [(window - c) / s - ((window - c) / s)[-1] for c, s in ((0.0, 1.0), (50.0, 1.0), (0.0, 3.0))]
    np.testing.assert_array_equal(shapes[0], shapes[1])  # another centre: the same normalised window
    assert not np.allclose(shapes[0], shapes[2])  # another scale: another window, the network reads other numbers


def test_damaged_global_statistics_are_named(tmp_path: Path) -> None:
    ds, parts = ramp_dataset(np.random.default_rng(3))
    pre = {
        "targets": ["y"], "features": ["x"], "inputs": ["y", "x"], "mode": "lookback", "kind": "many_to_one",
        "look_back": 4, "horizon": 1, "transform": "none", "series": [],
        "scaler": Scaler.fit("standard", ds, parts, scope="global").to_json(ds.names, ["y", "x"]),
    }  # fmt: skip
    path = tmp_path / "preprocess.json"
    path.write_text(json.dumps(pre))
    assert read_preprocess(path)["scaler"]["scope"] == "global"
    pre["scaler"]["global"]["x"]["scale"] = 0.0
    path.write_text(json.dumps(pre))
    with pytest.raises(DataError, match="scaler statistics for the global scope, column 'x'"):
        read_preprocess(path)


# ---------------------------------------------------------------- end to end


def waves(n: int = 80) -> pd.DataFrame:
    """Three daily series A, B, C of different levels and spreads: smooth waves."""
    days = (np.datetime64("2021-01-01") + np.arange(n)).astype(str)
    t = np.arange(n)
    frames = [
        pd.DataFrame({"series": name, "time": days, "y": np.round(np.sin(0.3 * t + k) * (k + 1) + 5 * k, 6)})
        for k, name in enumerate("ABC")
    ]
    return pd.concat(frames, ignore_index=True)


def project(tmp: Path, **data: Any) -> Path:
    """A tiny project in tmp: data.csv (waves) and cfg.yaml (units [4], epochs 2, one network, transform none)."""
    tmp.mkdir(parents=True, exist_ok=True)
    waves().to_csv(tmp / "data.csv", index=False)
    doc: dict[str, Any] = {
        "data": {"path": "data.csv", "time_column": "time", "series_column": "series", "targets": ["y"],
                 "transform": "none", "split": {"val": 0.15, "test": 0.15}, **data},
        "windows": {"look_back": 6, "num_steps": 5, "streams": 2},
        "model": {"units": [4], "ensemble": 1},
        "training": {"epochs": 2, "batch_size": 8},
        "evaluate": {"horizon": STEPS, "intervals": [80]},
    }  # fmt: skip
    (tmp / "cfg.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp / "cfg.yaml"


@pytest.fixture(scope="module")
def global_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("global")
    return train_run(load_config(project(tmp, scaler_scope="global")), output_dir=tmp / "run").run_dir


@pytest.fixture(scope="module")
def series_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("series")
    return train_run(load_config(project(tmp, transform="window_norm")), output_dir=tmp / "run").run_dir


def with_z(tmp: Path) -> Path:
    """A history of A, B, C and Z, Z's rows exactly B's under a name the run never saw."""
    frame = waves()
    z = frame[frame["series"] == "B"].assign(series="Z")
    pd.concat([frame, z], ignore_index=True).to_csv(tmp / "with_z.csv", index=False)
    return tmp / "with_z.csv"


@pytest.mark.slow
def test_preprocess_json_holds_the_pooled_training_statistics(global_run: Path) -> None:
    pre = json.loads((global_run / "preprocess.json").read_text())
    frame = waves()
    ends = {s["name"]: s["train_end"] for s in pre["series"]}
    pooled = np.concatenate([frame[frame["series"] == n]["y"].to_numpy()[:e] for n, e in ends.items()])
    assert pre["scaler"]["scope"] == "global"
    assert pre["scaler"]["global"]["y"]["center"] == pytest.approx(pooled.mean(), rel=1e-14)
    assert pre["scaler"]["global"]["y"]["scale"] == pytest.approx(pooled.std(), rel=1e-12)
    assert all(pre["scaler"]["series"][n] == pre["scaler"]["global"] for n in "ABC")


@pytest.mark.slow
def test_a_new_series_is_forecast_as_the_same_rows_under_a_known_name(global_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    res = invoke("forecast", "--run", global_run, "--steps", STEPS, "--data", with_z(tmp_path), "--output", out,
                 "--interval", 80)  # fmt: skip
    assert res.exit_code == 0, res.output
    f = pd.read_csv(out)
    assert f["series"].tolist() == [n for n in "ABCZ" for _ in range(STEPS)]
    b, z = f[f["series"] == "B"].reset_index(drop=True), f[f["series"] == "Z"].reset_index(drop=True)
    assert b["time"].tolist() == z["time"].tolist() == ["2021-03-22", "2021-03-23", "2021-03-24"]
    np.testing.assert_allclose(z["y"], b["y"], atol=1e-6)  # one scaling for all: the name changes nothing
    # Z's interval: the conformal quantile times the same scale measured on Z's own history (all its rows)
    cal = json.loads((global_run / "calibration.json").read_text())
    q = np.array(cal["quantiles"]["80"]["y"][:STEPS])
    own = scale_of(waves().query("series == 'B'")[["y"]].to_numpy(), 1)[0]
    np.testing.assert_allclose(z["y_hi_80"] - z["y"], q * own, rtol=1e-9)
    np.testing.assert_allclose(z["y"] - z["y_lo_80"], q * own, rtol=1e-9)
    np.testing.assert_allclose(b["y_hi_80"] - b["y"], q * cal["scales"]["B"][0], rtol=1e-9)


@pytest.mark.slow
def test_a_new_series_warmed_on_its_own_rows_alone(global_run: Path, tmp_path: Path) -> None:
    # the history holds only the new series: what it forecasts depends on its rows alone
    frame = waves()
    frame[frame["series"] == "C"].assign(series="Tank Z").to_csv(tmp_path / "z.csv", index=False)
    frame[frame["series"] == "C"].to_csv(tmp_path / "c.csv", index=False)
    for name in ("z", "c"):
        res = invoke("forecast", "--run", global_run, "--steps", STEPS, "--data", tmp_path / f"{name}.csv",
                     "--output", tmp_path / f"f_{name}.csv")  # fmt: skip
        assert res.exit_code == 0, res.output
    z, c = pd.read_csv(tmp_path / "f_z.csv"), pd.read_csv(tmp_path / "f_c.csv")
    assert z["series"].tolist() == ["Tank Z"] * STEPS
    np.testing.assert_allclose(z["y"], c["y"], atol=1e-6)


@pytest.mark.slow
def test_a_new_series_is_refused_by_name_under_per_series_scaling(series_run: Path, tmp_path: Path) -> None:
    # window_norm with a per-series scaler: windows are still divided by the series' own scale, which Z lacks
    res = invoke("forecast", "--run", series_run, "--steps", STEPS, "--data", with_z(tmp_path))
    assert res.exit_code == 1, res.output
    assert res.stdout == ""
    assert words(res) == (
        f"error: {tmp_path / 'with_z.csv'}: series ['Z'] were not in the training data, so the run has no scaling "
        "for them (data.scaler_scope: series) hint: train with data.scaler_scope: global (one scaling for every "
        "series) to forecast series the run never saw, or leave them out of the history"
    )
    known = invoke("forecast", "--run", series_run, "--steps", STEPS, "--data", series_run.parent / "data.csv")
    assert known.exit_code == 0, known.output  # the run's own series: as before


@pytest.mark.slow
def test_update_refuses_a_new_series_and_points_to_forecast_data(global_run: Path, tmp_path: Path) -> None:
    (tmp_path / "new.csv").write_text("series,time,y\nZ,2021-03-22,1.0\n")
    before = (global_run / "state.npz").read_bytes()
    res = invoke("update", "--run", global_run, "--data", tmp_path / "new.csv")
    assert res.exit_code == 1, res.output
    assert "series ['Z'] is not in the run: it has no state for it" in words(res)
    assert "forecast them with `seqcast forecast --data CSV`" in words(res)
    assert (global_run / "state.npz").read_bytes() == before
    (tmp_path / "new.csv").write_text("series,time,y\nb,2021-03-22,1.0\n")  # 'B' in another case: named
    res = invoke("update", "--run", global_run, "--data", tmp_path / "new.csv")
    assert res.exit_code == 1 and "series ['b'] is not in the run: it has no state for it (did you mean 'B'?)" in words(
        res
    ), res.output
    assert (global_run / "state.npz").read_bytes() == before
    # eight new series: the first five named and how many more (it named five as if they were all)
    (tmp_path / "new.csv").write_text("series,time,y\n" + "".join(f"Z{k},2021-03-22,1.0\n" for k in range(8)))
    res = invoke("update", "--run", global_run, "--data", tmp_path / "new.csv")
    assert res.exit_code == 1, res.output
    assert "series ['Z0', 'Z1', 'Z2', 'Z3', 'Z4'] and 3 more are not in the run" in words(res), res.output
    assert (global_run / "state.npz").read_bytes() == before


@pytest.mark.slow
def test_evaluate_a_global_run(global_run: Path) -> None:
    res = invoke("evaluate", "--run", global_run, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["horizon"] == STEPS and doc["origins"] == 3 * (12 // STEPS)  # 12 test rows per series
    assert np.isfinite(doc["model"]["mase"]) and set(doc["intervals"]) == {"80"}
    assert doc == json.loads((global_run / "metrics.json").read_text())
    # each series' MASE: the overall MASE (one target, as many origins each) is their mean
    assert list(doc["per_series"]) == ["A", "B", "C"]
    for m in ("model", "naive", "seasonal_naive"):
        assert np.mean([v[m] for v in doc["per_series"].values()]) == pytest.approx(doc[m]["mase"], rel=1e-9)
    shown = invoke("evaluate", "--run", global_run)
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in shown.stdout.splitlines() if ln.startswith("│ A ")]
    assert shown.stdout.count("MASE by series") == 1 and rows[0][0] == "A"
    assert float(rows[0][1]) == pytest.approx(doc["per_series"]["A"]["model"], rel=1e-3)


@pytest.mark.slow
def test_stateful_global_run_forecasts_a_new_series(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path, scaler_scope="global"), ["windows.mode=stateful", "model.kind=many_to_many"])
    run = train_run(cfg, output_dir=tmp_path / "run").run_dir
    res = invoke("forecast", "--run", run, "--steps", 5, "--data", with_z(tmp_path), "--output", tmp_path / "f.csv")
    assert res.exit_code == 0, res.output
    f = pd.read_csv(tmp_path / "f.csv")
    np.testing.assert_allclose(f[f["series"] == "Z"]["y"], f[f["series"] == "B"]["y"], atol=1e-6)


# ---------------------------------------------------------------- window-preview


@pytest.mark.parametrize(
    ("data", "scaler", "line"),
    [
        ({"scaler_scope": "global"}, {"kind": "standard", "scope": "global", "new_series": True},
         "scaling: standard, scope global (one set of statistics for every series, fitted on all training parts "
         "together); forecast --data can forecast a series the run never saw"),
        ({"transform": "window_norm"}, {"kind": "standard", "scope": "series", "new_series": False},
         "scaling: standard, scope series (statistics per series, fitted on its own training part); a series the "
         "run never saw cannot be forecast (data.scaler_scope: global would allow it)"),
        ({"scaler": "none"}, {"kind": "none", "scope": "series", "new_series": True},
         "scaling: none, scope series (values as they are, no statistics); forecast --data can forecast a series "
         "the run never saw"),
    ],
)  # fmt: skip
def test_window_preview_shows_the_scaler_scope(
    tmp_path: Path, data: dict[str, Any], scaler: dict[str, Any], line: str
) -> None:
    cfg = project(tmp_path, **data)
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["scaler"] == scaler
    text = invoke("window-preview", cfg, "--limit", 2)
    assert text.exit_code == 0, text.output
    assert line in words(text)


@pytest.mark.slow
def test_new_series_are_said_with_a_level_the_training_never_held_and_a_name_written_otherwise(
    global_run: Path, tmp_path: Path
) -> None:
    frame = waves()
    big = frame[frame["series"] == "C"].assign(series="Big", y=lambda d: d["y"] * 1000)  # C's rows, x1000
    lower = frame[frame["series"] == "A"].assign(series="a")  # the run's 'A', written in lower case
    pd.concat([big, lower], ignore_index=True).to_csv(tmp_path / "new.csv", index=False)
    res = invoke("forecast", "--run", global_run, "--steps", STEPS, "--data", tmp_path / "new.csv")
    assert res.exit_code == 0, res.output
    err = " ".join(res.stderr.split())
    assert (
        "series ['Big', 'a'] are new to the run: forecast from their own rows with the scaling every series shares; "
        "did you mean 'A' for 'a'?"
    ) in err
    assert "series 'Big', target 'y': the rows this forecast starts from reach" in err
    assert "above the highest training value of any series (" in err
    assert "series 'a', target" not in err  # A's rows lie inside the pooled training range


@pytest.mark.slow
def test_new_series_refused_are_all_counted_and_a_name_written_otherwise_is_the_hint(
    series_run: Path, tmp_path: Path
) -> None:
    frame = waves()
    renamed = [frame[frame["series"] == "A"].assign(series=f"Z{k}") for k in range(6)]
    pd.concat([*renamed, frame[frame["series"] == "B"].assign(series=" b ")]).to_csv(tmp_path / "h.csv", index=False)
    res = invoke("forecast", "--run", series_run, "--steps", STEPS, "--data", tmp_path / "h.csv")
    assert res.exit_code == 1, res.output
    assert words(res) == (
        f"error: {tmp_path / 'h.csv'}: series ['Z0', 'Z1', 'Z2', 'Z3', 'Z4'] and 2 more were not in the training "
        "data, so the run has no scaling for them (data.scaler_scope: series) hint: did you mean 'B' for 'b'?"
    )


@pytest.mark.slow
def test_a_constant_new_series_is_told_its_interval_width_is_a_guess(global_run: Path, tmp_path: Path) -> None:
    frame = waves()
    flat = frame[frame["series"] == "A"].assign(series="K", y=4.0)  # constant: no seasonal-naive or naive error
    flat.to_csv(tmp_path / "k.csv", index=False)
    res = invoke("forecast", "--run", global_run, "--steps", STEPS, "--data", tmp_path / "k.csv", "--interval", 80,
                 "--output", tmp_path / "f.csv")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (
        "the intervals of series 'K' are scaled by the mean absolute value of their history: a constant history "
        "gives no spread to scale by, so their width rests on the level alone and their coverage is a guess"
    ) in " ".join(res.stderr.split())
    f = pd.read_csv(tmp_path / "f.csv")
    q = json.loads((global_run / "calibration.json").read_text())["quantiles"]["80"]["y"][:STEPS]
    np.testing.assert_allclose(f["y_hi_80"] - f["y"], np.array(q) * 4.0, rtol=1e-9)  # the mean |value|: 4
    plain = invoke("forecast", "--run", global_run, "--steps", STEPS, "--data", with_z(tmp_path), "--interval", 80)
    assert plain.exit_code == 0 and "are scaled by" not in plain.stderr  # Z (B's rows) has a seasonal-naive error


@pytest.mark.slow
def test_future_features_of_a_new_series_are_measured_against_every_series_range(tmp_path: Path) -> None:
    """A new series' --future values have no training part of their own to leave: they are measured against
    every series' training parts together (x runs 0..3 in each: 3.5 lies outside, 2 inside)."""
    frame = waves().assign(x=lambda d: (d.index % 4).astype(float))
    cfg = project(tmp_path, scaler_scope="global", features=["x"])
    frame.to_csv(tmp_path / "data.csv", index=False)
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    frame[frame["series"] == "B"].assign(series="Z").to_csv(tmp_path / "z.csv", index=False)
    future = tmp_path / "future.csv"
    for x, outside in ((3.5, True), (2.0, False)):
        times = pd.date_range("2021-03-22", periods=STEPS).strftime("%Y-%m-%d")
        pd.DataFrame({"series": "Z", "time": times, "x": x}).to_csv(future, index=False)
        res = invoke("forecast", "--run", run, "--steps", STEPS, "--data", tmp_path / "z.csv", "--future", future)
        assert res.exit_code == 0, res.output
        said = " ".join(res.stderr.split())
        note = (
            "series 'Z': the --future values of 'x' reach 3.5, outside the 0 to 3 of every series' training parts "
            "(a new series): values the network has not seen"
        )
        assert (note in said) == outside, said
