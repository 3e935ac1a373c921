"""The state a run keeps (state.npz): `seqcast update` over new rows equals a forecast from the whole history,
forecast reads no history, the README's plain-Keras recipe works, and bad updates change nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from seqcast import forecast as fc
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.pipeline import train_run
from seqcast.run import load_run

ROOT = Path(__file__).resolve().parent.parent
HELD = 5  # rows of every series held out at train time and given to update


def waves(path: Path, n: int = 80, offset: float = 3.0, features: bool = False) -> pd.DataFrame:
    """Three daily series (A, B, C): smooth waves, positive (offset), one feature column when asked."""
    rows = []
    for k, name in enumerate("ABC"):
        days = np.datetime64("2021-01-01") + np.arange(n)
        for t in range(n):
            row = {"series": name, "time": str(days[t]), "y": round(float(np.sin(0.3 * t + k) + offset), 6)}
            if features:
                row["x"] = round(float(np.cos(0.2 * t + k)), 6)
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


def config(tmp: Path, csv: Path, **sections: dict[str, Any]) -> Path:
    doc: dict[str, Any] = {
        "data": {"path": str(csv), "time_column": "time", "series_column": "series", "targets": ["y"],
                 "transform": "none", "split": {"val": 0.15, "test": 0.15}},
        "windows": {"look_back": 6, "num_steps": 5, "streams": 2},
        "model": {"units": [4, 3], "ensemble": 1},
        "training": {"epochs": 1, "batch_size": 8},
        "evaluate": {"horizon": 3},
    }  # fmt: skip
    for key, value in sections.items():
        doc[key] = {**doc.get(key, {}), **value}
    path = tmp / "cfg.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def held_and_full(tmp: Path, features: bool = False) -> tuple[Path, Path]:
    full = waves(tmp / "full.csv", features=features)
    full.drop(full.groupby("series").tail(HELD).index).to_csv(tmp / "held.csv", index=False)
    return tmp / "held.csv", tmp / "full.csv"


CASES = {
    "stateful m2m, difference": ({"mode": "stateful"}, {"kind": "many_to_many"}, "difference"),
    "stateful m2m, log+seasonal": ({"mode": "stateful"}, {"kind": "many_to_many"}, "log+seasonal"),
    "look-back m2o, seasonal+difference": ({}, {"kind": "many_to_one"}, "seasonal+difference"),
    "look-back m2m, window_norm": ({}, {"kind": "many_to_many"}, "window_norm"),
    "encoder_decoder, log": ({"horizon": 3}, {"kind": "encoder_decoder"}, "log"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_update_then_forecast_equals_a_forecast_from_the_whole_history(case: str, tmp_path: Path) -> None:
    windows, model, transform = CASES[case]
    held, full = held_and_full(tmp_path)
    cfg = config(tmp_path, held, windows=windows, model=model, data={"transform": transform},
                 evaluate={"season": 7, "horizon": 3})  # fmt: skip
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(full), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["rows_added"] == 3 * HELD and doc["rows_skipped"] == 3 * (80 - HELD)
    assert doc["series"]["A"] == {"added": HELD, "skipped": 80 - HELD, "last_time": "2021-03-21"}
    opened = load_run(run)
    from_state = fc.forecast(opened, 9)[2]
    from_history = fc.forecast(opened, 9, data=full)[2]
    np.testing.assert_allclose(from_state, from_history, atol=1e-5, rtol=0)
    assert np.abs(from_state - fc.forecast(opened, 9, data=held)[2]).max() > 1e-3  # the update did move it


@pytest.mark.parametrize("mode", ["stateful", "lookback"])
def test_update_with_features_equals_the_whole_history(tmp_path: Path, mode: str) -> None:
    """data.features are read one row ahead (lead.py): a stateful state.npz stops a row early, a look-back one keeps
    the tail; both forecasts read the first --future row as the last known row's next features."""
    held, full = held_and_full(tmp_path, features=True)
    cfg = config(tmp_path, held, windows={"mode": mode}, model={"kind": "many_to_many"},
                 data={"features": ["x"], "transform": "difference"})  # fmt: skip
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(full)])
    assert res.exit_code == 0, res.output
    future = pd.DataFrame(
        [
            {"series": s, "time": str(np.datetime64("2021-03-22") + np.timedelta64(d, "D")), "x": 0.1 * d}
            for s in "ABC"
            for d in range(4)
        ]
    )
    future.to_csv(tmp_path / "future.csv", index=False)
    opened = load_run(run)
    a = fc.forecast(opened, 4, future=tmp_path / "future.csv")[2]
    b = fc.forecast(opened, 4, data=full, future=tmp_path / "future.csv")[2]
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    future.loc[future.time == "2021-03-22", "x"] = 5.0  # the first step's feature: step 1 reads it
    future.to_csv(tmp_path / "future.csv", index=False)
    moved = np.abs(fc.forecast(opened, 4, future=tmp_path / "future.csv")[2] - a)
    assert moved[:, 0].min() > 1e-5


def test_update_with_past_features_static_and_series_id_equals_the_whole_history(tmp_path: Path) -> None:
    held, full = held_and_full(tmp_path, features=True)
    for path in (held, full):  # a static column: one size per series
        frame = pd.read_csv(path)
        frame["size"] = frame["series"].map({"A": 1.0, "B": 2.0, "C": 5.0})
        frame.to_csv(path, index=False)
    data = {"past_features": ["x"], "static": ["size"], "series_id": True, "transform": "window_norm"}
    cfg = config(tmp_path, held, windows={"horizon": 3}, model={"kind": "many_to_one"}, data=data)
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(full)])
    assert res.exit_code == 0, res.output
    opened = load_run(run)
    assert opened.pre["inputs"] == ["y", "x", "size", "series=A", "series=B", "series=C"]
    a = fc.forecast(opened, 3)[2]  # from state.npz: no --future (past-only and static inputs)
    b = fc.forecast(opened, 3, data=full)[2]
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    assert np.abs(a - fc.forecast(opened, 3, data=held)[2]).max() > 1e-3  # the update did move it


def test_forecast_reads_no_history_once_the_run_keeps_its_state(tmp_path: Path) -> None:
    held, _ = held_and_full(tmp_path)
    run = train_run(load_config(config(tmp_path, held)), output_dir=tmp_path / "run").run_dir
    before = fc.forecast(load_run(run), 4)[2]
    held.rename(tmp_path / "gone.csv")  # the data file is gone: the forecast must not need it
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "4", "--output", str(tmp_path / "f.csv")])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(pd.read_csv(tmp_path / "f.csv")["y"].to_numpy().reshape(3, 4), before[..., 0])


def test_state_npz_holds_what_the_readme_says(tmp_path: Path) -> None:
    held, _ = held_and_full(tmp_path)
    cfg = config(tmp_path, held, windows={"mode": "stateful"}, model={"kind": "many_to_many", "units": [5, 2]})
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    st = np.load(run / "state.npz")
    assert st["series"].tolist() == ["A", "B", "C"] and st["rows_seen"].tolist() == [80 - HELD] * 3
    assert st["last_time"][0] == np.datetime64("2021-03-16")
    assert [st[f"layer{k}_{s}"].shape for k in (0, 1) for s in "hc"] == [(3, 5), (3, 5), (3, 2), (3, 2)]
    assert st["tail"].shape == (3, 1, 1) and st["answer"].shape == (3, 1, 1)
    np.testing.assert_allclose(st["tail"][:, -1, 0], pd.read_csv(held).groupby("series")["y"].last().to_numpy())


# ---------------------------------------------------------------------------------------------
# gaps, skipped rows and the log


def index_frame(n: int, start: int = 0) -> pd.DataFrame:
    """Two yearly series whose value is their time index: y = year - 2000."""
    return pd.DataFrame([{"s": s, "year": 2000 + t, "y": float(t)} for s in "PQ" for t in range(start, n)])


def index_run(tmp: Path, missing: str, seed: int = 0, mode: str = "lookback", feature: bool = False) -> Path:
    """A run on index_frame(40); `feature`: with a known-ahead input x, a copy of y."""
    frame = index_frame(40)
    (frame.assign(x=frame["y"]) if feature else frame).to_csv(tmp / "data.csv", index=False)
    (tmp / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "data.csv", "time_column": "year", "series_column": "s", "targets": ["y"],
                 "features": ["x"] if feature else [], "transform": "none", "missing": missing},
        "windows": {"mode": mode, "look_back": 4, "num_steps": 5, "streams": 2}, "model": {"units": [3], "ensemble": 1},
        "training": {"epochs": 1, "seed": seed},
    }))  # fmt: skip
    return train_run(load_config(tmp / "cfg.yaml"), output_dir=tmp / "run").run_dir


def test_a_gap_is_interpolated_as_in_training_and_the_log_counts_every_update(tmp_path: Path) -> None:
    run = index_run(tmp_path, "interpolate")
    index_frame(46, start=43).to_csv(tmp_path / "new.csv", index=False)  # 2040-2042 missing: a gap of three
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"]["P"] == {"added": 6, "skipped": 0, "last_time": "2045"}
    assert [n for n in json.loads(res.stdout)["notes"] if "filled" in n] == [
        f"series {s!r}: 3 missing timestamp(s) (first 2040) after its last known row filled from it (data.missing: "
        "interpolate)"
        for s in "PQ"
    ]  # as training names the rows it fills
    st = np.load(run / "state.npz")
    np.testing.assert_array_equal(st["tail"][:, :, 0], [[42, 43, 44, 45]] * 2)  # y = index: interpolated exactly
    assert st["rows_seen"].tolist() == [46, 46] and st["tail_times"][0].tolist() == [2042, 2043, 2044, 2045]
    kept = (run / "state.npz").read_bytes()
    again = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    assert again.exit_code == 0 and "0 new rows, 6 already known" in again.output, again.output
    assert "as it was (no new rows)" in again.output and "advanced" not in again.output, again.output
    assert {k: v.tolist() for k, v in np.load(run / "state.npz").items()} == {
        k: v.tolist() for k, v in np.load(io.BytesIO(kept)).items()
    }  # the same arrays
    log = pd.read_csv(run / "updates.csv")
    assert log["rows_added"].tolist() == [12, 0] and log["rows_skipped"].tolist() == [0, 6]
    assert json.loads(log["series"][0]) == {"P": 6, "Q": 6}
    index_frame(51, start=47).query("year != 2048").to_csv(tmp_path / "gaps.csv", index=False)  # 2046, 2048 missing
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "gaps.csv"), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["series"]["P"]["added"] == 5, res.output  # 2046 to 2050
    notes = json.loads(res.stdout)["notes"]  # the gap before the new rows, and the one among them (the read's note)
    assert "series 'P': 1 missing timestamp(s) (first 2046) after its last known row filled from it" in " ".join(notes)
    assert "gaps.csv: 1 missing timestamp(s) of series 'P' at a step of 1 (first: 2048); data.missing: interpolate" in (
        notes
    ), notes


def test_two_new_rows_around_a_holiday_are_business_days_with_a_gap_not_another_frequency(tmp_path: Path) -> None:
    """Business days to Thursday 2024-02-29; new rows Friday 03-01 and Tuesday 03-05 (Monday a holiday): two rows
    two business days apart, read alone, are a step of 2B, and were refused as another frequency; counted from
    the series' last known row, which they go on from, they are business days with Monday missing (ffilled)."""
    days = pd.bdate_range("2024-01-01", "2024-02-29")
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "y": np.arange(len(days), dtype=float)}).to_csv(
        tmp_path / "data.csv", index=False
    )
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "data.csv", "time_column": "date", "targets": ["y"], "transform": "none", "missing": "ffill"},
        "windows": {"look_back": 4}, "model": {"units": [3], "ensemble": 1}, "training": {"epochs": 1},
    }))  # fmt: skip
    run = train_run(load_config(tmp_path / "cfg.yaml"), output_dir=tmp_path / "run").run_dir
    (tmp_path / "new.csv").write_text("date,y\n2024-03-01,100\n2024-03-05,102\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["series"][""] == {"added": 3, "skipped": 0, "last_time": "2024-03-05"}
    assert doc["notes"] == [
        "new.csv: 1 missing timestamp(s) at frequency B (business days, Monday to Friday) (first: 2024-03-04); "
        "data.missing: ffill"
    ]
    np.testing.assert_array_equal(np.load(run / "state.npz")["tail"][0, -3:, 0], [100, 100, 102])
    (tmp_path / "later.csv").write_text("date,y\n2024-03-15,105\n2024-03-19,107\n")  # after a gap, Monday 18th too:
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "later.csv"), "--json"])
    assert res.exit_code == 0, res.output  # two rows are one gap, no frequency of their own ('a step of 4D')
    assert json.loads(res.stdout)["series"][""] == {"added": 10, "skipped": 0, "last_time": "2024-03-19"}


@pytest.mark.parametrize("how", ["ffill", "interpolate"])
def test_a_blank_in_the_first_new_row_is_filled_from_the_last_known_row_and_its_known_values_kept(
    tmp_path: Path, how: str
) -> None:
    """The first new row's y is known (99) and its feature x blank: x is filled from the run's last row (39; with
    interpolate, halfway to the next row's 50), y kept, nothing dropped. (Read as a series of its own, the row
    was an edge with nothing before it: dropped, and then filled as a gap, y too.)"""
    run = index_run(tmp_path, how, feature=True)  # x = y = year - 2000
    (tmp_path / "new.csv").write_text("s,year,y,x\nP,2040,99,\nP,2041,51,50\nQ,2040,40,40\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["series"]["P"]["added"] == 2 and not [n for n in doc.get("notes", []) if "dropped" in n], doc
    st = np.load(run / "state.npz")
    tail = dict(zip(st["series"].tolist(), st["tail"], strict=True))["P"]
    x_2040 = 39.0 if how == "ffill" else 44.5  # the run's last x (2039: 39), carried or halfway to 50
    np.testing.assert_array_equal(tail[-2:], [[99.0, x_2040], [51.0, 50.0]])


def test_a_file_with_a_header_and_no_rows_is_an_update_that_adds_nothing(tmp_path: Path) -> None:
    """A file a job fills later: nothing new yet, as the reference says (0 added, logged), not an error; a header
    without a column of the run is still refused, naming it, and logs nothing."""
    run = index_run(tmp_path, "error")
    kept = (run / "state.npz").read_bytes()
    (tmp_path / "new.csv").write_text("s,year,y\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["rows_added"], doc["rows_skipped"], doc["series"]) == (0, 0, {})
    assert doc["notes"] == ["new.csv has a header but no rows: nothing to add"]
    assert (run / "state.npz").read_bytes() == kept
    assert pd.read_csv(run / "updates.csv")["rows_added"].tolist() == [0]
    (tmp_path / "new.csv").write_text("s,year\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    assert res.exit_code == 1 and "the new rows have no column 'y' (data.targets of the run)" in res.output, res.output
    assert (run / "state.npz").read_bytes() == kept and len(pd.read_csv(run / "updates.csv")) == 1


def test_a_folders_empty_file_adds_nothing_and_its_other_files_are_read(tmp_path: Path) -> None:
    """Today's file, a header with no rows yet, beside yesterday's: the update reads yesterday's rows."""
    run = index_run(tmp_path, "error")
    (tmp_path / "new").mkdir()
    index_frame(42, start=40).to_csv(tmp_path / "new" / "a.csv", index=False)
    (tmp_path / "new" / "b.csv").write_text("s,year,y\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows_added"] == 4  # 2040 and 2041 of P and Q


def test_new_rows_with_another_kind_of_time_are_refused_not_a_crash(tmp_path: Path) -> None:
    """Dates for a run on years: refused by name as before the grid check (which compared a year with a date)."""
    run = index_run(tmp_path, "error")
    kept = (run / "state.npz").read_bytes()
    (tmp_path / "new.csv").write_text("s,year,y\nP,2040-01-01,40\nP,2041-01-01,41\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    assert res.exit_code == 1 and res.output.count("error:") == 1, res.output
    assert "DTypePromotionError" not in res.output and "new.csv" in res.output, res.output
    assert (run / "state.npz").read_bytes() == kept


def test_the_log_writes_series_names_as_they_are(tmp_path: Path) -> None:
    """updates.csv is read in spreadsheets: 'Zürich (€)', not '"Z\\u00fcrich (\\u20ac)"'."""
    from seqcast.update import _log

    _log(tmp_path / "updates.csv", {"rows_added": 2, "rows_skipped": 0, "series": {"Zürich (€)": {"added": 2}}})
    text = (tmp_path / "updates.csv").read_text(encoding="utf-8")
    assert text.splitlines()[1].endswith(',2,0,"{""Zürich (€)"": 2}"')
    assert json.loads(pd.read_csv(tmp_path / "updates.csv")["series"][0]) == {"Zürich (€)": 2}


def test_a_gap_among_a_few_new_rows_is_a_gap_on_the_runs_grid(tmp_path: Path) -> None:
    """2040, 2042, 2043: yearly with 2041 missing (interpolated as in training), not a step of 2 inferred from the
    first two rows; the same rows with data.missing: error name the missing year."""
    rows = "s,year,y\n" + "".join(f"{s},{t},{t - 2000}\n" for s in "PQ" for t in (2040, 2042, 2043))
    (tmp_path / "new.csv").write_text(rows)
    run = index_run(tmp_path, "interpolate")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(np.load(run / "state.npz")["tail"][:, :, 0], [[40, 41, 42, 43]] * 2)
    (tmp_path / "strict").mkdir()
    strict = index_run(tmp_path / "strict", "error")
    res = CliRunner().invoke(app, ["update", "--run", str(strict), "--data", str(tmp_path / "new.csv")])
    assert res.exit_code == 1 and "missing timestamp" in res.output and "2041" in res.output, res.output
    hint = " ".join(res.output.split())  # the run's data.missing can only change by training again
    assert "hint: send the missing rows, or train the run again with data.missing:" in hint, res.output
    assert "series 'P': 1 missing timestamp(s)" in hint and "also series 'Q' (1, first 2041)" in hint, res.output


def test_a_forecast_plot_from_the_state_draws_the_history_before_it_from_the_data_file(tmp_path: Path) -> None:
    """A stateful run keeps one row per series; its forecast's plot draws the rows before it from the data file,
    and says so when the file cannot give them (updated since, or gone), drawing the series update did not reach
    from the file still."""
    from seqcast import history, state

    run_dir = index_run(tmp_path, "error", mode="stateful")
    run = load_run(run_dir)
    ds = state.dataset(run, state.load(run))
    assert [len(s) for s in ds.series] == [1, 1]
    shown, why = history.plot_history(run, ds, 10)
    assert why is None
    for s in shown.series:  # y = year - 2000: the last ten rows of the file, the state's own last
        assert s.times.tolist() == list(range(2030, 2040)) and s.values[:, 0].tolist() == list(range(30, 40))
    new = index_frame(42, start=40)
    for updated in ("P", "Q"):  # P alone first: Q's history is still the file's
        new[new["s"] == updated].to_csv(tmp_path / "new.csv", index=False)
        res = CliRunner().invoke(app, ["update", "--run", str(run_dir), "--data", str(tmp_path / "new.csv")])
        assert res.exit_code == 0, res.output
        run = load_run(run_dir)
        ds = state.dataset(run, state.load(run))
        shown, why = history.plot_history(run, ds, 10)
        assert why is not None and "the run's data file ends before them (updated since)" in why
        assert [s.times.tolist() for s in shown.series] == [[2041]] + (
            [[2041]] if updated == "Q" else [list(range(2030, 2040))]
        )
        assert ("of series ['P']" in why) == (updated == "P"), why
    (tmp_path / "data.csv").unlink()
    res = CliRunner().invoke(app, ["forecast", "--run", str(run_dir), "--steps", 2, "--plot", tmp_path / "p.png"])
    assert res.exit_code == 0 and (tmp_path / "p.png").stat().st_size > 0, res.output
    said = " ".join(res.output.split())
    assert "the plot draws only the rows state.npz keeps, since the run's data file cannot be read" in said
    assert "pass --data with the series' history" in said


def test_a_hole_among_rows_already_known_does_not_stop_an_update(tmp_path: Path) -> None:
    """An export that overlaps the known rows and has a hole there (data.missing: error): the known rows are
    skipped, hole and all; a hole among the new rows is still refused, by its timestamp."""
    run = index_run(tmp_path, "error")
    frame = index_frame(46, start=30)
    frame[frame["year"] != 2033].to_csv(tmp_path / "new.csv", index=False)  # 2033: known, and missing here
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"]["P"] == {"added": 6, "skipped": 9, "last_time": "2045"}
    np.testing.assert_array_equal(np.load(run / "state.npz")["tail"][:, :, 0], [[42, 43, 44, 45]] * 2)
    blank = index_frame(47, start=44)  # a blank in a known row (2044): skipped; the note says so, not "dropped"
    blank.loc[blank["year"] == 2044, "y"] = np.nan
    blank.to_csv(tmp_path / "blank.csv", index=False)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "blank.csv"), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["notes"] == [
        f"blank.csv: 1 row(s) of series {s!r} with missing values skipped with the rows already known" for s in "PQ"
    ], res.output
    kept = snapshot(run)
    frame = index_frame(50, start=30)
    frame.loc[frame["year"] == 2047, "y"] = np.nan  # a new row's value missing
    frame[frame["year"] != 2033].to_csv(tmp_path / "new.csv", index=False)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    said = " ".join(res.output.split())  # named by its line: P's 17th row (2047; 2033 left out), after the header
    assert (
        res.exit_code == 1
        and "missing, NaN or infinite values in column(s) ['y'] of series 'P' at line(s) [18]" in said
    )
    frame = index_frame(50, start=30)
    frame[~frame["year"].isin([2033, 2047])].to_csv(tmp_path / "new.csv", index=False)  # a new row missing
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    said = " ".join(res.output.split())
    assert (
        res.exit_code == 1
        and "series 'P': 1 missing timestamp(s) between its last known row (2046) and the new "
        "rows, first 2047; also series 'Q' (1, first 2047)"
        in said
    ), said
    (tmp_path / "new.csv").write_text("s,year,y\nP,2047,\n")  # the one new row of P, its value missing
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "['y']" in said and "line(s) [2]" in said, said
    assert "after dropping" not in said, said  # data.missing: error drops nothing
    assert snapshot(run) == kept


def test_new_rows_in_any_order_are_read_in_time_order_as_training_reads_them(tmp_path: Path) -> None:
    run = index_run(tmp_path, "error")
    (tmp_path / "new.csv").write_text("s,year,y\nP,2041,41\nQ,2040,40\nP,2040,40\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    st = np.load(run / "state.npz")
    np.testing.assert_array_equal(st["tail"][:, :, 0], [[38, 39, 40, 41], [37, 38, 39, 40]])
    assert st["last_time"].tolist() == [2041, 2040]


def test_day_first_dates_are_read_so_in_training_and_in_new_rows_whose_days_are_all_under_13(tmp_path: Path) -> None:
    """dd.mm.yyyy: training reads 13.01.2020 and after as day-first and writes the format into config.yaml, so
    that new rows dated 10.02 to 12.02 (which month-first would also read, as October to December 2) are
    February's, and so are the forecast's timestamps."""
    days = np.datetime64("2020-01-01") + np.arange(40)  # to 09.02.2020
    text = "".join(f"{pd.Timestamp(d):%d.%m.%Y},{i}\n" for i, d in enumerate(days))
    (tmp_path / "data.csv").write_text("Datum,y\n" + text)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "data.csv", "time_column": "Datum", "targets": ["y"], "transform": "none"},
        "windows": {"look_back": 4}, "model": {"units": [3], "ensemble": 1}, "training": {"epochs": 1},
    }))  # fmt: skip
    run = train_run(load_config(tmp_path / "cfg.yaml"), output_dir=tmp_path / "run").run_dir
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["time_format"] == "%d.%m.%Y"
    assert json.loads((run / "preprocess.json").read_text())["series"][0]["last"] == "2020-02-09"
    (tmp_path / "new.csv").write_text("Datum,y\n10.02.2020,40\n11.02.2020,41\n12.02.2020,42\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"][""] == {"added": 3, "skipped": 0, "last_time": "2020-02-12"}
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "2", "--output", "-"])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(io.StringIO(res.stdout))["Datum"].tolist() == ["2020-02-13", "2020-02-14"]
    # the forecast's ISO dates, given back as new rows, are read too (they were refused: not '%d.%m.%Y')
    (tmp_path / "iso.csv").write_text("Datum,y\n2020-02-13,43\n2020-02-14,44\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "iso.csv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"][""] == {"added": 2, "skipped": 0, "last_time": "2020-02-14"}
    (tmp_path / "mixed.csv").write_text("Datum,y\n15.02.2020,45\n2020-02-16,46\n")  # one file, one format
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "mixed.csv")])
    assert res.exit_code == 1 and "does not follow data.time_format '%d.%m.%Y'" in res.output, res.output


def test_new_rows_and_future_rows_in_day_first_dates_are_read_on_the_runs_monthly_step(tmp_path: Path) -> None:
    """A run trained on ISO monthly dates; new rows and --future rows written dd/mm/yyyy (Excel's), whose days are
    all 01, read month-first as well (January 2 to 4, daily). The run's step picks the reading: March to May."""
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    (tmp_path / "données").mkdir()  # and config.yaml writes the path as it is, not "donn\xE9es"
    pd.DataFrame({"date": months.strftime("%Y-%m-%d"), "y": np.arange(30.0), "x": np.arange(30.0)}).to_csv(
        tmp_path / "données" / "data.csv", index=False
    )
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "données/data.csv", "time_column": "date", "targets": ["y"], "features": ["x"],
                 "transform": "none"},
        "windows": {"look_back": 4}, "model": {"units": [3], "ensemble": 1}, "training": {"epochs": 1},
    }))  # fmt: skip
    run = train_run(load_config(tmp_path / "cfg.yaml"), output_dir=tmp_path / "run").run_dir
    assert f"path: {tmp_path / 'données' / 'data.csv'}" in (run / "config.yaml").read_text(encoding="utf-8")
    (tmp_path / "fut.csv").write_text("date,x\n01/07/2022,30\n01/08/2022,31\n01/09/2022,32\n")
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "3", "--future", str(tmp_path / "fut.csv"),
                                   "--output", "-"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pd.read_csv(io.StringIO(res.stdout))["date"].tolist() == ["2022-07-01", "2022-08-01", "2022-09-01"]
    (tmp_path / "one.csv").write_text("date,x\n01.07.2022,30\n")  # one row: its nearness to the run's end decides
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "1", "--future", str(tmp_path / "one.csv"),
                                   "--output", "-"])  # fmt: skip
    assert res.exit_code == 0 and "RuntimeWarning" not in res.stderr, res.output
    assert pd.read_csv(io.StringIO(res.stdout))["date"].tolist() == ["2022-07-01"]
    for one in ("01/07/2022", "01.07.2022"):  # a monthly update of one row, slashes and dots
        (tmp_path / "new.csv").write_text(f"date,y,x\n{one},30,30\n")
        shutil.copytree(run, tmp_path / "once", dirs_exist_ok=True)
        res = CliRunner().invoke(app, ["update", "--run", str(tmp_path / "once"), "--data", str(tmp_path / "new.csv"),
                                       "--json"])  # fmt: skip
        assert res.exit_code == 0 and "RuntimeWarning" not in res.stderr, res.output
        assert json.loads(res.stdout)["series"][""] == {"added": 1, "skipped": 0, "last_time": "2022-07-01"}, one
    (tmp_path / "new.csv").write_text("date,y,x\n01/07/2022,30,30\n01/08/2022,31,31\n01/09/2022,32,32\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"][""] == {"added": 3, "skipped": 0, "last_time": "2022-09-01"}


# ---------------------------------------------------------------------------------------------
# bad updates: one message naming the fault, the run unchanged


def snapshot(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}


@pytest.mark.parametrize(
    ("name", "rows", "words"),
    [
        ("unknown series", "s,year,y\nZ,2040,1\n", ("['Z']", "not in the run")),
        ("another frequency", "s,year,y\nP,2042,1\nP,2044,2\nP,2046,3\n", ("step of 2", "step of 1")),
        ("a gap with missing: error", "s,year,y\nP,2043,1\n", ("series 'P'", "missing timestamp", "2040")),
        ("a new row off the grid", "s,year,y\nP,2040.5,1\n", ("new.csv",)),
        (
            "a duplicate row",
            "s,year,y\nP,2040,1\nP,2041,2\nP,2041,2\n",
            ("duplicate timestamp 2041", "keep one row per"),
        ),
        ("past float32", "s,year,y\nP,2040,1e308\n", ("new.csv", "series 'P'", "1e+308", "not finite", "kept as")),
    ],
)
def test_bad_new_rows_are_named_and_change_nothing(
    tmp_path: Path, name: str, rows: str, words: tuple[str, ...]
) -> None:
    run = index_run(tmp_path, "error")
    (tmp_path / "new.csv").write_text(rows)
    before = snapshot(run)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    assert res.exit_code == 1, (name, res.output)
    assert all(w in res.output for w in words), (name, res.output)
    assert "Warning" not in res.output, res.output  # numpy's overflow warnings stay out of the message
    assert snapshot(run) == before


@pytest.mark.parametrize("mode", ["lookback", "stateful"])
def test_a_target_the_log_cannot_read_is_refused_by_update_and_the_state_kept(tmp_path: Path, mode: str) -> None:
    """A 0 among the new rows of a log run: refused naming the series, column, value and time (it was taken, and
    every later forecast and update then refused the state as not finite)."""
    frame = index_frame(40)
    frame["y"] += 1.0
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "data.csv", "time_column": "year", "series_column": "s", "targets": ["y"], "transform": "log"},
        "windows": {"mode": mode, "look_back": 4, "num_steps": 5, "streams": 2}, "model": {"units": [3], "ensemble": 1},
        "training": {"epochs": 1},
    }))  # fmt: skip
    run = train_run(load_config(tmp_path / "cfg.yaml"), output_dir=tmp_path / "run").run_dir
    (tmp_path / "new.csv").write_text("s,year,y\nP,2040,41\nP,2041,0\nQ,2040,41\n")
    before = snapshot(run)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "new.csv" in said, said
    assert "series 'P': y is 0 at 2041, which the run's transform (log) cannot read; the state is kept" in said, said
    assert snapshot(run) == before
    ok = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "2", "--output", str(tmp_path / "f.csv")])
    assert ok.exit_code == 0, ok.output


def test_the_state_and_its_log_line_are_written_together(tmp_path: Path) -> None:
    """updates.csv that cannot be written (a folder of that name) fails the update naming it, and state.npz is not
    advanced without its log line (it was: the state was written first, on its own); a log line the user edited
    into another encoding is kept byte for byte, not decoded (it failed with a UnicodeDecodeError naming no file)."""
    run = index_run(tmp_path, "error")
    (tmp_path / "new.csv").write_text("s,year,y\nP,2040,40\nQ,2040,40\n")
    (run / "updates.csv").mkdir()
    before = snapshot(run)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    assert res.exit_code == 1 and "updates.csv" in res.output and "folder" in res.output, res.output
    assert snapshot(run) == before  # state.npz as it was
    (run / "updates.csv").rmdir()
    edited = b'updated_at,rows_added,rows_skipped,series\n2026-01-01T00:00:00Z,0,0,"{}" K\xe4se\n'
    (run / "updates.csv").write_bytes(edited)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    assert res.exit_code == 0, res.output
    log = (run / "updates.csv").read_bytes()
    assert log.startswith(edited) and log[len(edited) :].count(b"\n") == 1 and b',2,0,"{""P"": 1' in log


def test_an_update_while_another_command_writes_the_run_names_it(tmp_path: Path) -> None:
    from seqcast import rundir

    run = index_run(tmp_path, "error")
    (tmp_path / "new.csv").write_text("s,year,y\nP,2040,40\n")
    before = snapshot(run)
    for holder in ("train", "update"):
        with rundir.lock(run, holder):
            res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
        assert res.exit_code == 1, res.output
        assert f"another seqcast {holder} (process " in res.output and "--output-dir" not in res.output, res.output
        assert snapshot(run) == before


@pytest.mark.parametrize("fault", ["another run", "damaged", "not a zip", "objects", "missing", "not finite"])
def test_a_bad_state_npz_is_named_and_changes_nothing(tmp_path: Path, fault: str) -> None:
    run = index_run(tmp_path, "error")
    path = run / "state.npz"
    if fault == "another run":
        (tmp_path / "o").mkdir()
        other = index_run(tmp_path / "o", "error", seed=1)
        path.write_bytes((other / "state.npz").read_bytes())
    elif fault == "damaged":
        path.write_bytes(path.read_bytes()[:300])
    elif fault == "not a zip":
        path.write_text("garbage\n")  # numpy reads that as a pickle, and its message advises allow_pickle=True
    elif fault == "objects":
        np.savez(path, tail=np.array([{"a": 1}], dtype=object))
    elif fault == "missing":
        path.unlink()
    else:
        st = dict(np.load(path))
        st["tail"] = st["tail"] * np.nan
        np.savez(path, **st)
    index_frame(41, start=40).to_csv(tmp_path / "new.csv", index=False)
    before = snapshot(run)
    commands = [["update", "--data", str(tmp_path / "new.csv")]]
    if fault != "missing":  # a run without state.npz (written before runs kept it) forecasts from its data file
        commands.append(["forecast", "--steps", "2"])
    for args in commands:
        res = CliRunner().invoke(app, [*args, "--run", str(run)])
        assert res.exit_code == 1, (fault, args, res.output)
        assert "state.npz" in res.output, res.output
        assert "allow_pickle" not in res.output and "pickled" not in res.output, res.output
        assert ("--data" in res.output) == (args[0] == "forecast"), res.output  # update cannot take a history
        assert snapshot(run) == before
    if fault == "not a zip":
        assert "state.npz is damaged: it is no .npz archive" in res.output, res.output
    if fault == "objects":
        assert "holds Python objects, which seqcast never loads" in res.output, res.output
    if fault == "missing":
        res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--run", str(run)])
        assert res.exit_code == 0, res.output
        assert "the run has no state.npz: this forecast starts from its data file, read again" in res.stderr


def test_a_stateful_run_given_a_look_back_runs_state_npz_is_told_it_is_another_runs(tmp_path: Path) -> None:
    """A look-back run's state.npz lacks a stateful run's arrays: the message says whose it is, not what it lacks."""
    run = index_run(tmp_path, "error", mode="stateful")
    (tmp_path / "o").mkdir()
    (run / "state.npz").write_bytes((index_run(tmp_path / "o", "error") / "state.npz").read_bytes())
    res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--run", str(run)])
    assert res.exit_code == 1 and "state.npz belongs to another run" in " ".join(res.output.split()), res.output


def test_a_run_that_update_advanced_does_not_forecast_from_its_data_file_without_its_state(tmp_path: Path) -> None:
    """state.npz lost (a partial copy) after an update: the data file ends before the updated rows, so a forecast
    from it is refused, not started a step behind; --data still forecasts. A log of updates that added nothing
    leaves the data file the history."""
    run = index_run(tmp_path, "error")
    index_frame(42, start=40).to_csv(tmp_path / "new.csv", index=False)  # 2040 and 2041
    shutil.copytree(run, tmp_path / "run.bak")  # its state.npz is put back after each case
    for added in (0, 4):
        data = tmp_path / ("new.csv" if added else "data.csv")  # rows already known: 0 added
        res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(data)])
        assert res.exit_code == 0, res.output
        (run / "state.npz").unlink()
        res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--run", str(run), "--output", "-"])
        said = " ".join(res.stderr.split())
        if added:
            assert res.exit_code == 1, res.output
            assert (
                "the run has no state.npz, but its updates.csv logs 4 row(s) that seqcast update added to series"
                in said
            )
            assert "['P', 'Q'] since training, which the run's data file ends before" in said
            assert "hint: put the run's state.npz back, or forecast with --data CSV" in said
        else:
            assert res.exit_code == 0 and "this forecast starts from its data file" in said, res.output
        shutil.copy(tmp_path / "run.bak" / "state.npz", run / "state.npz")
    (run / "state.npz").unlink()
    index_frame(42).to_csv(tmp_path / "all.csv", index=False)
    res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--run", str(run), "--data", str(tmp_path / "all.csv"),
                                   "--output", "-"])  # fmt: skip
    assert res.exit_code == 0 and pd.read_csv(io.StringIO(res.stdout))["year"].tolist() == [2042, 2043] * 2
    index_frame(41).to_csv(tmp_path / "data.csv", index=False)  # grown by 2040 only: 2041 is still missing
    res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--run", str(run), "--output", "-"])
    assert res.exit_code == 1 and "which the run's data file ends before" in " ".join(res.stderr.split())
    index_frame(42).to_csv(tmp_path / "data.csv", index=False)  # grown by every updated row: it is the history
    res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--run", str(run), "--output", "-"])
    assert res.exit_code == 0 and pd.read_csv(io.StringIO(res.stdout))["year"].tolist() == [2042, 2043] * 2


def test_update_with_a_series_the_run_never_saw_names_it_even_with_a_gap(tmp_path: Path) -> None:
    """A new series whose rows have a gap (data.missing: error): it is refused as a series the run has no state
    for, pointing to forecast --data, not for its gap, which no setting of the run could fill."""
    run = index_run(tmp_path, "error")
    (tmp_path / "new.csv").write_text("s,year,y\nP,2040,40\nZ,2040,1\nZ,2041,1\nZ,2043,2\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv")])
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "series ['Z'] is not in the run" in said and "missing timestamp" not in said


@pytest.mark.parametrize("missing", ["error", "interpolate", "ffill", "drop"])
def test_a_blank_in_a_row_already_known_is_skipped_with_it_in_every_mode(tmp_path: Path, missing: str) -> None:
    """An export overlapping the known rows, 2038 blank: skipped as every known row is, and said so, whatever
    data.missing; it was counted and noted as filled, dropped or skipped depending on the mode."""
    run = index_run(tmp_path, missing)
    frame = index_frame(42, start=37)
    frame.loc[frame["year"] == 2038, "y"] = np.nan
    frame.to_csv(tmp_path / "new.csv", index=False)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["series"]["P"] == {"added": 2, "skipped": 2, "last_time": "2041"}
    assert doc["notes"] == [
        f"new.csv: 1 row(s) of series {s!r} with missing values skipped with the rows already known" for s in "PQ"
    ]


def test_update_does_not_note_the_gaps_it_fills_among_rows_already_known(tmp_path: Path) -> None:
    """An export of the whole history with 2033 missing, and two new rows (interpolate): the note says nothing of
    2033, a row update skips as known; it said '1 missing timestamp(s) ... (first: 2033)'."""
    run = index_run(tmp_path, "interpolate")
    index_frame(42).query("year != 2033").to_csv(tmp_path / "new.csv", index=False)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "new.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["rows_added"] == 4 and not [n for n in doc.get("notes", []) if "2033" in n], doc


# ---------------------------------------------------------------------------------------------
# the README's recipe: set the states of model.keras in plain Keras from state.npz


def readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- state-recipe -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no state recipe"
    return match.group(1)


def test_the_readme_recipe_predicts_what_seqcast_does_after_an_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_data").mkdir()
    tanks = pd.read_csv(ROOT / "sample_data" / "tanks.csv")
    last = tanks.groupby("tank").tail(1)
    tanks.drop(last.index).to_csv(tmp_path / "sample_data" / "tanks.csv", index=False)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tanks_stateful.yaml").write_text((ROOT / "configs" / "tanks_stateful.yaml").read_text())
    cfg = load_config(tmp_path / "configs" / "tanks_stateful.yaml", ["training.epochs=1", "model.ensemble=2"])
    train_run(cfg, output_dir=tmp_path / "runs" / "tanks_stateful")
    last.to_csv(tmp_path / "next_row.csv", index=False)  # the next row of every tank arrives
    scope: dict[str, Any] = {}
    exec(compile(readme_recipe(), "README.md", "exec"), scope)  # noqa: S102 - the README's own code, run as is
    res = CliRunner().invoke(app, ["update", "--run", "runs/tanks_stateful", "--data", "next_row.csv"])
    assert res.exit_code == 0, res.output
    head = next(line for line in res.output.splitlines() if "added" in line)  # the data's name for its series, as
    assert head.split()[:3] == ["┃", "tank", "┃"], head  # forecast's table calls them
    seqcast = fc.forecast(load_run(tmp_path / "runs" / "tanks_stateful"), 1)[2][:, 0]
    np.testing.assert_allclose(scope["next_value"], seqcast, atol=1e-5, rtol=0)
    assert isinstance(scope["model"], keras.Model)


LOOK_BACK_KINDS = [("many_to_one", "none"), ("many_to_many", "window_norm"), ("encoder_decoder", "window_norm")]


@pytest.mark.parametrize(("kind", "transform"), LOOK_BACK_KINDS)
def test_a_look_back_runs_state_holds_what_keras_holds_after_its_last_window(
    tmp_path: Path, kind: str, transform: str
) -> None:
    import keras

    from seqcast import state
    from seqcast.history import history_dataset
    from seqcast.transforms import normalise_window

    held, full = held_and_full(tmp_path)
    windows = {"horizon": 3} if kind == "encoder_decoder" else {}
    cfg = config(tmp_path, held, model={"kind": kind, "units": [5, 2]}, data={"transform": transform}, windows=windows)
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    st = np.load(run / "state.npz")
    x = st["tail_units"][:, -6:].astype(np.float32)  # look_back 6
    if transform == "window_norm":
        x = normalise_window(x)[0]
    model = keras.saving.load_model(run / "model.keras")
    rnns = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.RNN)]
    assert len(rnns) == (4 if kind == "encoder_decoder" else 2)
    h: Any = x
    for k, layer in enumerate(rnns):
        if kind == "encoder_decoder" and k == 2:  # the decoder reads the encoder's last output, horizon times
            h = np.repeat(np.asarray(h)[:, -1:], 3, axis=1)
        clone = type(layer).from_config(layer.get_config() | {"return_sequences": True, "return_state": True})
        clone.build(h.shape)
        clone.set_weights(layer.get_weights())
        h, *states = clone(h)  # Keras's own LSTM from zero states: the sequence, h and c
        for name, value in zip("hc", states, strict=True):
            np.testing.assert_allclose(st[f"layer{k}_{name}"], np.asarray(value), atol=1e-5, rtol=0)
    assert st["layer0_h"].shape == (3, 5) and st["layer1_c"].shape == (3, 2)
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(full)])
    assert res.exit_code == 0, res.output
    after = dict(np.load(run / "state.npz"))
    opened = load_run(run)
    rebuilt = state.build(opened, history_dataset(opened, full))
    keys = [f"layer{k}_{s}" for k in range(len(rnns)) for s in "hc"]
    assert sorted(k for k in after if k.startswith("layer")) == sorted(keys)
    for key in keys:  # the update recomputes them from its new window
        np.testing.assert_allclose(after[key], rebuilt[key], atol=1e-6, rtol=0)
        assert np.abs(after[key] - st[key]).max() > 1e-4


def test_a_tails_gaps_are_found_on_the_runs_grid() -> None:
    """state.dataset gives each tail the breaks that data.missing: drop left in it, so a forecast from the state
    says what a forecast from the history says of a window across a gap."""
    from seqcast.state import _breaks
    from seqcast.timeaxis import Freq

    hours = np.array(["2024-01-01T00", "2024-01-01T01", "2024-01-01T03"], dtype="datetime64[ns]")
    assert _breaks(hours, Freq("fixed", 3_600 * 10**9), "datetime").tolist() == [2]
    months = np.array(["2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"], dtype="datetime64[ns]")
    assert _breaks(months, Freq("month", 1, "start"), "datetime").tolist() == [2]
    assert _breaks(np.array([2000, 2001, 2002]), Freq("integer", 1), "integer").tolist() == []
    assert _breaks(np.array([0, 1, 5]), None, "none").tolist() == []


def hourly_run(tmp: Path, rows: list[str], zoned: str = "") -> Path:
    """A run on one hourly series of local clock times (or with UTC offsets `zoned`) whose value is its hour index."""
    (tmp / "h.csv").write_text("time,y\n" + "".join(f"{t}{zoned},{k % 24}\n" for k, t in enumerate(rows)))
    (tmp / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "h.csv", "time_column": "time", "targets": ["y"], "transform": "none"},
        "windows": {"look_back": 4}, "model": {"units": [3], "ensemble": 1}, "training": {"epochs": 1},
        "evaluate": {"intervals": []},
    }))  # fmt: skip
    return train_run(load_config(tmp / "cfg.yaml"), output_dir=tmp / "run").run_dir


def hours(start: str, n: int) -> list[str]:
    first = np.datetime64(start, "h")
    return [str(first + np.timedelta64(k, "h")).replace("T", " ") + ":00" for k in range(n)]


def test_an_update_file_that_sends_a_known_row_twice_is_read_and_a_new_duplicate_named_in_utc(tmp_path: Path) -> None:
    """A re-sent export repeats the last known row (twice): those rows are known, so they are skipped with the
    others, where the update used to fail on a duplicate it would have skipped anyway. A duplicate among the new
    rows is still refused, and with UTC offsets its time is said in UTC, as every time update names."""
    run = hourly_run(tmp_path, hours("2024-03-01T00", 60), zoned="+00:00")
    last = hours("2024-03-01T00", 60)[-1]
    new = [last, last, *hours("2024-03-03T12", 2)]
    (tmp_path / "again.csv").write_text("time,y\n" + "".join(f"{t}+00:00,1\n" for t in new))
    doc = json.loads(CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "again.csv"),
                                              "--json"]).stdout)  # fmt: skip
    assert doc["series"][""]["added"] == 2 and doc["series"][""]["skipped"] == 1, doc  # one known timestamp
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    (tmp_path / "twice.csv").write_text("time,y\n2024-03-03T10:00-04:00,1\n2024-03-03T10:00-04:00,2\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "twice.csv")])
    assert res.exit_code == 1, res.output
    assert "duplicate timestamp 2024-03-03 14:00 UTC at lines 2 and 3" in " ".join(res.output.split()), res.output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_update_and_forecast_data_give_the_daylight_saving_hint_as_train_does(tmp_path: Path) -> None:
    """Local clock times: the spring-forward hour missing from an update file, and the autumn hour repeated in a
    --data history, get train's daylight-saving hint, where update and forecast gave their generic hints."""
    run = hourly_run(tmp_path, hours("2024-03-08T00", 48))  # up to 2024-03-09 23:00, naive local times
    (tmp_path / "spring.csv").write_text("time,y\n" + "".join(
        f"2024-03-10 {h:02d}:00,{h}\n" for h in (0, 1, 3, 4)))  # fmt: skip
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "spring.csv")])
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "first 2024-03-10 02:00" in said and "daylight-saving change" in said, said
    autumn = hours("2024-11-02T00", 26)
    autumn = autumn[:26] + ["2024-11-03 01:00"] + hours("2024-11-03T02", 3)
    (tmp_path / "autumn.csv").write_text("time,y\n" + "".join(f"{t},1\n" for t in autumn))
    res = CliRunner().invoke(
        app, ["forecast", "--run", str(run), "--steps", "2", "--data", str(tmp_path / "autumn.csv")]
    )
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "duplicate timestamp 2024-11-03 01:00" in said, said
    assert "daylight-saving change" in said and "keep one row per timestamp" not in said, said


def test_the_update_log_gets_a_line_of_its_own_after_a_last_line_without_a_line_break(tmp_path: Path) -> None:
    from seqcast.update import _log

    log = tmp_path / "updates.csv"
    doc = {"rows_added": 2, "rows_skipped": 1, "series": {"A": {"added": 2, "skipped": 1}}}
    _log(log, doc)
    log.write_bytes(log.read_bytes().rstrip(b"\n"))  # saved by an editor that drops the last line break
    _log(log, doc)
    rows = list(csv.reader(io.StringIO(log.read_text())))
    assert rows[0] == ["updated_at", "rows_added", "rows_skipped", "series"] and len(rows) == 3
    assert [r[1:] for r in rows[1:]] == [["2", "1", '{"A": 2}']] * 2


def test_a_new_row_a_stateful_model_would_mask_is_refused_as_training_refuses_it(tmp_path: Path) -> None:
    """data.scaler none: a value of -10000 is the padding mark in model units, which model.keras's Masking layer
    skips while the numpy engine read it. Training refused such a row; update and forecast --data took it, and
    their forecasts were not plain Keras's. Now refused too, naming the series, and the run left as it was."""
    index_frame(40).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({
        "data": {"path": "data.csv", "time_column": "year", "series_column": "s", "targets": ["y"],
                 "transform": "none", "scaler": "none"},
        "windows": {"mode": "stateful", "num_steps": 5, "streams": 2}, "model": {"units": [3], "ensemble": 1},
        "training": {"epochs": 1}, "evaluate": {"intervals": []},
    }))  # fmt: skip
    run = train_run(load_config(tmp_path / "cfg.yaml"), output_dir=tmp_path / "run").run_dir
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    (tmp_path / "pad.csv").write_text("s,year,y\nP,2040,-10000\nQ,2040,40\n")
    res = CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "pad.csv")])
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "series 'P' has a row whose every input is -10000" in said, said
    assert "Masking layer would skip it" in said
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    history = index_frame(41)
    history.loc[history["year"] == 2040, "y"] = -10000.0
    history.to_csv(tmp_path / "h.csv", index=False)
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "2", "--data", str(tmp_path / "h.csv")])
    assert res.exit_code == 1 and "series 'P' has a row whose every input is -10000" in " ".join(res.output.split())


def test_a_known_row_sent_again_with_another_value_is_said_and_skipped(tmp_path: Path) -> None:
    """A revised value for a time the run already holds is skipped like every known row, but no longer without a
    word: the note names the series, how many rows and the first time. The same values again say nothing."""
    run = index_run(tmp_path, "error")
    same = "s,year,y\nP,2038,38\nP,2039,39\nP,2040,40\n"
    (tmp_path / "same.csv").write_text(same)
    doc = json.loads(CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "same.csv"),
                                              "--json"]).stdout)  # fmt: skip
    assert doc["series"]["P"] == {"added": 1, "skipped": 2, "last_time": "2040"} and not doc.get("notes"), doc
    (tmp_path / "revised.csv").write_text("s,year,y\nP,2039,39\nP,2040,41.5\nP,2041,41\n")
    doc = json.loads(CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "revised.csv"),
                                              "--json"]).stdout)  # fmt: skip
    assert doc["series"]["P"]["added"] == 1 and doc["notes"] == [
        "revised.csv: series 'P': 1 row(s) already known hold other values than the run keeps (first 2040): "
        "skipped, as every known row is; train again to learn from revised values"
    ], doc


def test_a_known_time_sent_twice_with_two_values_is_said(tmp_path: Path) -> None:
    """A re-sent export that repeats a known year with a revised value: the copies are skipped with the known rows
    (one time, counted once), and the note says they differ, where the revision was lost without a word."""
    run = index_run(tmp_path, "error")
    (tmp_path / "twice.csv").write_text("s,year,y\nP,2038,38\nP,2039,39\nP,2039,41.5\nP,2040,40\n")
    doc = json.loads(CliRunner().invoke(app, ["update", "--run", str(run), "--data", str(tmp_path / "twice.csv"),
                                              "--json"]).stdout)  # fmt: skip
    assert doc["series"]["P"] == {"added": 1, "skipped": 2, "last_time": "2040"}, doc
    assert doc["notes"] == [
        "twice.csv: rows of series 'P' at 2039, a time already known, appear more than once with different values: "
        "skipped with the known rows"
    ], doc
