"""data.features are read one row ahead (lead.py): the input row of time t holds the targets of t and the known
features of t + 1, the time its output forecasts; past_features and static columns never are. Exact on series whose
values are their time index, then end to end: a forecast's first step reads the first --future row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from seqcast import forecast as fc
from seqcast.config import load_config
from seqcast.data import Dataset, Series
from seqcast.lead import ahead, columns, lead, of_run, origins
from seqcast.pipeline import train_run
from seqcast.prepare import Scaler, model_arrays
from seqcast.run import load_run
from seqcast.transforms import Transform


def test_lead_moves_the_columns_one_row_up_and_the_last_row_takes_the_next_values() -> None:
    rows = np.column_stack([np.arange(4.0), 10 + np.arange(4.0), 20 + np.arange(4.0)])
    assert lead(rows, [1]).tolist() == [[0, 11, 20], [1, 12, 21], [2, 13, 22], [3, 13, 23]]
    assert lead(rows, [1, 2], np.array([14.0, 24.0]))[-1].tolist() == [3, 14, 24]
    assert lead(rows, []) is rows
    assert rows[0].tolist() == [0, 10, 20]  # a copy: the caller's rows are left as they were
    future = np.column_stack([10 + np.arange(4.0, 7.0), 20 + np.arange(4.0, 7.0)])  # inputs after 1 target
    assert ahead(future, [1], 1).tolist() == [[15, 24], [16, 25], [16, 26]]


def test_origins_lead_each_series_and_give_an_origin_at_the_end_its_first_future_row() -> None:
    values = [np.column_stack([np.arange(5.0), 10 + np.arange(5.0)])]
    jobs = [(0, 3), (0, 5)]  # a backtest origin inside the series, and a forecast from its end
    future = [np.array([[13.0], [14.0]]), np.array([[15.0], [16.0]])]
    led, fut = origins(values, jobs, future, [1], 1)
    assert led[0][:, 1].tolist() == [11, 12, 13, 14, 15]  # row 4 reads the end's first future row
    assert [f[:, 0].tolist() for f in fut] == [[14, 14], [16, 16]]
    assert origins(values, jobs, future, [], 1) == (values, future)


def test_model_arrays_lead_the_features_and_leave_past_features_and_static_columns() -> None:
    pos = np.arange(6.0)
    series = Series("s", np.arange(6), np.column_stack([pos, 100 + pos, 200 + pos, np.full(6, 7.0)]))
    ds = Dataset([series], ["y"], ["f", "p", "z"], "integer", None, "memory", past=["p"], static=["z"])
    cols = columns(1, ds.features, ds.past, ds.static)
    assert cols == [1]
    scaler = Scaler("none", np.zeros((1, 4)), np.ones((1, 4)))
    _, arrays = model_arrays(ds, scaler, Transform())
    assert arrays[0].tolist() == [[t, 101 + t if t < 5 else 105, 200 + t, 7] for t in range(6)]
    assert of_run({"targets": ["y"], "features": ["f", "p", "z"], "past_features": ["p"], "static": ["z"]}) == []
    pre = {
        "targets": ["y"],
        "features": ["f", "p", "z"],
        "past_features": ["p"],
        "static": ["z"],
        "features_lead": True,
    }
    assert of_run(pre) == [1]


def wave_project(tmp: Path, stateful: bool) -> tuple[Path, Path]:
    """A series whose target follows its feature at the same time (y = 2 x + a small wave): a feature known
    ahead that explains its own step."""
    t = np.arange(160)
    x = (t % 7 == 3).astype(float)  # a weekly flag
    y = 2 * x + 0.2 * np.sin(0.3 * t)
    days = np.datetime64("2021-01-01") + t
    (tmp / "data.csv").write_text(
        "time,y,x\n" + "".join(f"{d},{a:.6f},{b}\n" for d, a, b in zip(days, y, x, strict=True))
    )
    doc = {
        "data": {"path": "data.csv", "time_column": "time", "targets": ["y"], "features": ["x"],
                 "transform": "none", "split": {"val": 0.15, "test": 0.15}},
        "windows": {"mode": "stateful", "num_steps": 10, "streams": 2} if stateful else {"look_back": 8},
        "model": {"units": [8], "ensemble": 1, "kind": "many_to_many" if stateful else "many_to_one"},
        "training": {"epochs": 30, "batch_size": 16, "learning_rate": 0.01},
        "evaluate": {"horizon": 3, "intervals": [80]},
    }  # fmt: skip
    (tmp / "cfg.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp / "cfg.yaml", tmp / "data.csv"


def future_file(path: Path, flags: list[float]) -> Path:
    last = np.datetime64("2021-01-01") + np.timedelta64(159, "D")
    path.write_text("time,x\n" + "".join(f"{last + np.timedelta64(1 + k, 'D')},{f}\n" for k, f in enumerate(flags)))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("stateful", [False, True])
def test_the_first_forecast_step_reads_the_first_future_row(tmp_path: Path, stateful: bool) -> None:
    cfg, data = wave_project(tmp_path, stateful)
    run_dir = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    run = load_run(run_dir)
    assert run.pre["features_lead"] is True
    off = future_file(tmp_path / "off.csv", [0, 0, 0])
    on = future_file(tmp_path / "on.csv", [1, 0, 0])
    last_on = future_file(tmp_path / "last.csv", [0, 0, 1])
    for data_arg in (None, data):  # from state.npz, and from the whole history
        base = fc.forecast(run, 3, data_arg, off)[2][0, :, 0]
        flag = fc.forecast(run, 3, data_arg, on)[2][0, :, 0]
        assert flag[0] - base[0] > 0.5  # the flag of step 1 acts on step 1 (y = 2 x: about 2 higher)
        late = fc.forecast(run, 3, data_arg, last_on)[2][0, :, 0]
        np.testing.assert_allclose(late[:2], base[:2], atol=1e-6)  # the flag of step 3 reaches no step before it
        assert late[2] - base[2] > 0.5  # and acts on step 3

    # a run from before features_lead read each row's features with its own targets: forecast as it was trained
    pre = json.loads((run_dir / "preprocess.json").read_text())
    del pre["features_lead"]
    (run_dir / "preprocess.json").write_text(json.dumps(pre))
    old = load_run(run_dir)
    a = fc.forecast(old, 3, data, off)[2][0, :, 0]
    b = fc.forecast(old, 3, data, on)[2][0, :, 0]
    assert a[0] == pytest.approx(b[0], abs=1e-6) and abs(a[1] - b[1]) > 1e-4  # step 1's flag acts on step 2 there


def test_model_arrays_lead_across_their_blocks_of_rows() -> None:
    n = (1 << 16) + 5  # model_arrays fills a series 65,536 rows at a time: the lead crosses the block's end
    pos = np.arange(float(n))
    ds = Dataset([Series("s", np.arange(n), np.column_stack([pos, -pos]))], ["y"], ["f"], "integer", None, "memory")
    _, arrays = model_arrays(ds, Scaler("none", np.zeros((1, 2)), np.ones((1, 2))), Transform.parse("difference", 1))
    np.testing.assert_array_equal(arrays[0][1:, 0], np.ones(n - 1))
    # the led feature -(t + 1), differenced: -1 at every row but the last, whose lead is its own value (0 change)
    np.testing.assert_array_equal(arrays[0][1:-1, 1], -np.ones(n - 2))
    assert arrays[0][-1, 1] == 0


def test_window_preview_says_whether_features_are_read_one_row_ahead(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seqcast.cli import app

    cfg, _ = wave_project(tmp_path, stateful=False)
    res = CliRunner().invoke(app, ["window-preview", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["features_lead"] is True
    res = CliRunner().invoke(app, ["window-preview", str(cfg)])
    assert "features ['x'] (known ahead: row t holds their values at t + 1" in " ".join(res.stdout.split())
    res = CliRunner().invoke(app, ["window-preview", str(cfg), "--json", "--set", "data.past_features=[x]",
                                   "--set", "data.features=[]", "--set", "windows.horizon=3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["features_lead"] is False  # past_features are never read ahead


@pytest.mark.slow
def test_a_direct_head_needs_and_reads_the_future_rows_of_each_blocks_first_step_only(tmp_path: Path) -> None:
    """windows.horizon 3: the model answers steps 1-3 from step 1's features, and steps 4-6 from a window that
    holds those of steps 2-4. So a 3-step forecast needs the first --future row only, a 6-step one the first
    four; the rows after are read by nothing. They were demanded all the same (a blank in one refused), and a
    value in them was dropped without a word: now not demanded, and the note says which steps' values are unused."""
    from typer.testing import CliRunner

    from seqcast.cli import app
    from seqcast.history import read_steps

    cfg, _ = wave_project(tmp_path, stateful=False)
    doc = yaml.safe_load(cfg.read_text())
    doc["windows"]["horizon"] = 3
    doc["training"]["epochs"] = 3
    cfg.write_text(yaml.safe_dump(doc))
    run_dir = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    run = load_run(run_dir)
    assert [read_steps(run, n) for n in (1, 2, 3, 4, 6, 7)] == [1, 1, 1, 4, 4, 7]
    full = future_file(tmp_path / "full.csv", [0, 1, 1, 0, 1, 1])
    first = future_file(tmp_path / "first.csv", [0])
    np.testing.assert_array_equal(fc.forecast(run, 3, None, full)[2], fc.forecast(run, 3, None, first)[2])
    four = future_file(tmp_path / "four.csv", [0, 1, 1, 0])
    np.testing.assert_array_equal(fc.forecast(run, 6, None, full)[2], fc.forecast(run, 6, None, four)[2])
    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "6", "--future", str(first)])
    said = " ".join(res.output.split())  # step 2 is read by steps 4-6: refused, naming it
    assert res.exit_code == 1 and "at 2021-06-11 (the forecast reads 4 steps' values, from 2021-06-10)" in said, said
    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "6", "--future", str(full)])
    said = " ".join(res.output.split())
    assert res.exit_code == 0 and "the --future values of steps 5-6 do not change this forecast" in said, said
    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "6", "--future", str(four)])
    assert res.exit_code == 0 and "do not change this forecast" not in res.output  # no values given there: no note


def test_future_values_outside_the_training_range_are_noted(tmp_path: Path) -> None:
    """The weekly flag x is 0 or 1 in training: a --future value of 1000 (a price in cents for one in euros) is
    forecast all the same, and a note names the series, the column, the value and the range; 0 and 1 say nothing.
    preprocess.json keeps the range of each known-ahead feature per series (feature_range)."""
    from typer.testing import CliRunner

    from seqcast.cli import app

    cfg, _ = wave_project(tmp_path, stateful=False)
    doc = yaml.safe_load(cfg.read_text())
    doc["training"]["epochs"] = 1
    cfg.write_text(yaml.safe_dump(doc))
    run_dir = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    pre = json.loads((run_dir / "preprocess.json").read_text())
    assert pre["series"][0]["feature_range"] == {"x": [0.0, 1.0]}
    inside = future_file(tmp_path / "in.csv", [0, 1, 0])
    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "3", "--future", str(inside)])
    assert res.exit_code == 0 and "outside" not in res.output, res.output
    big = future_file(tmp_path / "big.csv", [0, 1000, 0])
    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", "3", "--future", str(big)])
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert "the series: the --future values of 'x' reach 1000, outside the 0 to 1 of its training part" in said


def test_without_a_time_column_the_future_files_kth_row_is_step_k(tmp_path: Path) -> None:
    """A run without data.time_column counts its rows 0, 1, ...: the forecast's steps continue them (160, 161,
    162), and a --future file's k-th row is step k, as the reference says (its rows were matched to positions 0,
    1, 2 and never reached step 160: no such file could work, and the hint asked for a `step` column)."""
    cfg, data = wave_project(tmp_path, stateful=False)
    doc = yaml.safe_load(cfg.read_text())
    del doc["data"]["time_column"]
    doc["training"]["epochs"] = 2
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    rows = [ln.split(",") for ln in data.read_text().splitlines()[1:]]
    data.write_text("y,x\n" + "".join(f"{y},{x}\n" for _, y, x in rows))
    run = load_run(train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir)
    flags = [1.0, 0.0, 1.0]
    (tmp_path / "f.csv").write_text("x\n" + "".join(f"{f}\n" for f in flags))
    res = fc.forecast(run, 3, data, tmp_path / "f.csv")
    got = res.pred
    assert np.asarray(res.frame.data["step"]).tolist() == [160, 161, 162]
    history = np.array([[float(y), float(x)] for _, y, x in rows])
    want = fc.forecast_histories(run, [history], [""], 3, [np.array(flags)[:, None]])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    (tmp_path / "f.csv").write_text("x\n1\n0\n")
    with pytest.raises(Exception, match=r"no future values of \['x'\] at 162 .* its rows run from 160 to 161"):
        fc.forecast(run, 3, data, tmp_path / "f.csv")
    (tmp_path / "f.csv").write_text("x\n1\nNA\n0\n1\n")  # step 161's blank: not the next row's value, silently
    with pytest.raises(Exception, match=r"no future values of \['x'\] at 161 "):
        fc.forecast(run, 3, data, tmp_path / "f.csv")
