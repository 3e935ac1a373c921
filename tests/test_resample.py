"""data.resample: events onto a regular grid, checked on events whose bins are worked out by hand, the config's
errors by key, empty bins through every data.missing, and a tiny run through train, forecast, update, evaluate
and window-preview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner, Result

from seqcast.cli import app
from seqcast.config import DataConfig
from seqcast.data import load_dataset
from seqcast.errors import DataError
from seqcast.resample import bin_labels, resample
from seqcast.timeaxis import Freq


@pytest.fixture(autouse=True)
def _chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # runs/ and runs/latest stay inside the test's folder


def invoke(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ns(*stamps: str) -> np.ndarray:
    return np.array(stamps, dtype="datetime64[ns]")


def data_cfg(path: Path, **keys: Any) -> DataConfig:
    base: dict[str, Any] = {"path": path, "time_column": "time", "targets": ["y"], "resample": {"freq": "1h"}}
    return DataConfig.model_validate(base | keys)


# ---------------------------------------------------------------------------------------------
# the bins, by hand

EVENTS = ns("2024-01-01T00:10", "2024-01-01T00:20", "2024-01-01T00:50", "2024-01-01T01:00", "2024-01-01T03:59")
VALUES = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan], [5.0, 50.0], [7.0, np.nan]])


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # bins 00:00 (events 1, nan, 3 | 10, 20, nan), 01:00 (5 | 50), 03:00 (7 | nan): NaN is ignored
        ("mean", [[2.0, 15.0], [5.0, 50.0], [7.0, np.nan]]),
        ("sum", [[4.0, 30.0], [5.0, 50.0], [7.0, np.nan]]),
        ("first", [[1.0, 10.0], [5.0, 50.0], [7.0, np.nan]]),
        ("last", [[3.0, 20.0], [5.0, 50.0], [7.0, np.nan]]),
    ],
)
def test_each_aggregation_by_hand_ignores_nan(how: str, expected: list[list[float]]) -> None:
    b = resample(EVENTS, VALUES, Freq.parse("1h"), [how, how])  # type: ignore[arg-type]
    assert b.times.tolist() == ns("2024-01-01T00:00", "2024-01-01T01:00", "2024-01-01T03:00").tolist()
    np.testing.assert_array_equal(b.values, np.array(expected))
    assert b.events.tolist() == [3, 1, 1] and b.first.tolist() == [0, 3, 4]


def test_each_column_its_own_aggregation() -> None:
    b = resample(EVENTS, VALUES, Freq.parse("1h"), ["last", "sum"])  # type: ignore[arg-type]
    np.testing.assert_array_equal(b.values, np.array([[3.0, 30.0], [5.0, 50.0], [7.0, np.nan]]))


def test_first_and_last_skip_a_nan_at_either_end_of_a_bin() -> None:
    """Integer times binned by 10; each value is its time, NaN at the first event of bin 0 and the last of bin 10."""
    times = np.array([0, 3, 7, 10, 14, 18])
    values = np.array([[np.nan], [3.0], [7.0], [10.0], [14.0], [np.nan]])
    first = resample(times, values, Freq.parse(10), ["first"])  # type: ignore[arg-type]
    last = resample(times, values, Freq.parse(10), ["last"])  # type: ignore[arg-type]
    assert first.times.tolist() == last.times.tolist() == [0, 10]
    assert first.values[:, 0].tolist() == [3.0, 10.0] and last.values[:, 0].tolist() == [7.0, 14.0]


@pytest.mark.parametrize(
    ("alias", "times", "labels"),
    [
        ("15min", ["2024-03-05T10:14:59", "2024-03-05T10:15"], ["2024-03-05T10:00", "2024-03-05T10:15"]),
        ("1D", ["2024-03-05T23:59", "2024-03-06T00:00"], ["2024-03-05", "2024-03-06"]),
        ("6h", ["1969-12-31T23:00", "2024-03-05T05:59"], ["1969-12-31T18:00", "2024-03-05T00:00"]),  # before 1970
        ("W", ["2024-03-03T12:00", "2024-03-04", "2024-03-10T23:00"], ["2024-02-26", "2024-03-04", "2024-03-04"]),
        ("MS", ["2024-02-29T23:00", "2024-03-01"], ["2024-02-01", "2024-03-01"]),
        ("ME", ["2024-02-01", "2024-02-29T23:00", "2024-03-01"], ["2024-02-29", "2024-02-29", "2024-03-31"]),
        ("QS", ["2024-03-31", "2024-05-17"], ["2024-01-01", "2024-04-01"]),
        ("YE", ["2023-07-01", "2024-01-01"], ["2023-12-31", "2024-12-31"]),
        # business days: a weekend's events in Friday's bin (pandas' B bins [Friday, Monday))
        (
            "B",
            ["2024-03-08T09:00", "2024-03-09T12:00", "2024-03-10", "2024-03-11T10:00"],
            ["2024-03-08"] * 3 + ["2024-03-11"],
        ),
        ("2B", ["2024-03-08T09:00", "2024-03-11T10:00", "2024-03-12"], ["2024-03-08", "2024-03-08", "2024-03-12"]),
    ],
)
def test_bins_are_aligned_to_the_frequency_and_labelled_by_their_start(
    alias: str, times: list[str], labels: list[str]
) -> None:
    freq = Freq.parse(alias)
    assert freq is not None
    assert bin_labels(ns(*times), freq).tolist() == ns(*labels).tolist()  # 2024-03-04 is a Monday


def test_business_day_bins_become_a_business_day_series(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"  # Thursday to Tuesday, a trade at 10:00 and 15:00 of every day, weekend too
    days = np.arange("2024-03-07", "2024-03-13", dtype="datetime64[D]")
    rows = [f"{d}T{h}:00,{10 * i + (h == 15)}" for i, d in enumerate(days) for h in (10, 15)]
    path.write_text("time,y\n" + "\n".join(rows) + "\n")
    ds = load_dataset(data_cfg(path, resample={"freq": "B", "how": "sum"}))
    s = ds.series[0]
    assert ds.freq == Freq("bday", 1)
    assert s.times.astype("datetime64[D]").astype(str).tolist() == [
        "2024-03-07",
        "2024-03-08",
        "2024-03-11",
        "2024-03-12",
    ]
    # Thursday 0+1, Friday with Saturday and Sunday 10+11+20+21+30+31, Monday 40+41, Tuesday 50+51
    assert s.values[:, 0].tolist() == [1.0, 123.0, 81.0, 101.0]


def test_integer_times_bin_by_an_integer_step() -> None:
    years = np.array([1999, 2000, 2009, 2010, -1], dtype=np.int64)
    assert bin_labels(years, Freq("integer", 10)).tolist() == [1990, 2000, 2000, 2010, -10]


# ---------------------------------------------------------------------------------------------
# load_dataset: resampled before the checks of duplicates, irregular steps and gaps


def quarter_hours(path: Path, hours: int, skip: tuple[int, ...] = ()) -> Path:
    """Events every 15 minutes from 2024-01-01 00:00, value = minutes since then; hours in `skip` have none."""
    rows = [f"2024-01-01T{m // 60:02d}:{m % 60:02d},{m}" for m in range(0, 60 * hours, 15) if m // 60 not in skip]
    path.write_text("time,y\n" + "\n".join(rows) + "\n")
    return path


def test_a_series_whose_value_is_its_minute_becomes_hourly_means(tmp_path: Path) -> None:
    ds = load_dataset(data_cfg(quarter_hours(tmp_path / "q.csv", 6)))
    s = ds.series[0]
    hours = np.datetime64("2024-01-01T00:00", "ns") + np.arange(6) * np.timedelta64(1, "h")
    assert s.times.tolist() == hours.tolist()
    np.testing.assert_array_equal(s.values[:, 0], 60 * np.arange(6) + 22.5)  # mean of 0, 15, 30, 45 past the hour
    assert ds.freq == Freq.parse("1h")
    assert ds.resampled == {"": {"events": 24, "bins": 6, "empty": 0}}
    assert "resampled the series: 24 events -> 6 rows at 1h (mean)" in ds.notes


def test_irregular_events_with_duplicates_are_refused_without_resample_and_binned_with_it(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("time,y\n2024-01-01T00:05,1\n2024-01-01T00:05,3\n2024-01-01T01:40,4\n2024-01-01T02:01,6\n")
    with pytest.raises(DataError, match="duplicate timestamp 2024-01-01 00:05") as err:
        load_dataset(data_cfg(path, resample=None))
    assert "data.resample" in (err.value.hint or "")
    path.write_text("time,y\n2024-01-01T00:05,1\n2024-01-01T01:40,4\n2024-01-01T02:01,6\n")
    with pytest.raises(DataError, match="irregular timestamps") as err:
        load_dataset(data_cfg(path, resample=None))
    assert "data.resample" in (err.value.hint or "")
    path.write_text("time,y\n2024-01-01T00:05,1\n2024-01-01T00:05,3\n2024-01-01T01:40,4\n2024-01-01T02:01,6\n")
    s = load_dataset(data_cfg(path, resample={"freq": "1h", "how": "sum"})).series[0]
    assert s.values[:, 0].tolist() == [4.0, 4.0, 6.0]


@pytest.mark.parametrize(
    ("missing", "hours", "values"),
    [
        # hour 2 has no events: its mean is 142.5 by interpolation, hour 1's by ffill; drop leaves it out
        ("interpolate", [0, 1, 2, 3, 4], [22.5, 82.5, 142.5, 202.5, 262.5]),
        ("ffill", [0, 1, 2, 3, 4], [22.5, 82.5, 82.5, 202.5, 262.5]),
        ("drop", [0, 1, 3, 4], [22.5, 82.5, 202.5, 262.5]),
    ],
)
def test_an_empty_bin_is_a_missing_row_for_data_missing(
    tmp_path: Path, missing: str, hours: list[int], values: list[float]
) -> None:
    ds = load_dataset(data_cfg(quarter_hours(tmp_path / "q.csv", 5, skip=(2,)), missing=missing))
    s = ds.series[0]
    assert s.times.tolist() == [np.datetime64(f"2024-01-01T{h:02d}:00", "ns").tolist() for h in hours]
    assert s.values[:, 0].tolist() == values
    assert ds.resampled[""] == {"events": 16, "bins": 4, "empty": 1}


def test_an_empty_bin_is_named_with_missing_error_even_for_sum(tmp_path: Path) -> None:
    path = quarter_hours(tmp_path / "q.csv", 5, skip=(2,))
    with pytest.raises(DataError, match=r"1 missing timestamp\(s\) at frequency h, first 2024-01-01 02:00"):
        load_dataset(data_cfg(path, resample={"freq": "1h", "how": "sum"}))


def test_series_are_binned_apart_on_one_grid(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text(
        "time,s,y\n2024-01-01T00:59,A,1\n2024-01-01T00:01,B,2\n2024-01-01T00:30,A,3\n2024-01-01T01:10,B,4\n"
    )
    ds = load_dataset(data_cfg(path, series_column="s", resample={"freq": "1h", "how": "last"}))
    assert [(s.name, s.values[:, 0].tolist()) for s in ds.series] == [("A", [1.0]), ("B", [2.0, 4.0])]
    assert ds.freq == Freq.parse("1h")  # known from the config, even for a series of one bin


# ---------------------------------------------------------------------------------------------
# config errors: exit 2, the key named


def project(tmp_path: Path, data: dict[str, Any], csv: str | None = None) -> Path:
    (tmp_path / "e.csv").write_text(csv or "time,y,x\n2024-01-01T00:05,1,2\n")
    doc = {"data": {"path": "e.csv", "time_column": "time", "targets": ["y"], "features": ["x"]} | data}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "cfg.yaml"


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"resample": {"freq": "1x"}}, "data.resample.freq", "'1x' is not a frequency"),
        ({"resample": {"freq": "0h"}}, "data.resample.freq", "'0h' is not a frequency"),
        ({"resample": {"freq": "W-SUN"}}, "data.resample.freq", "weeks from Monday"),
        ({"resample": {"freq": "1h", "how": "median"}}, "data.resample.how", "'median' is not one of mean, sum"),
        ({"resample": {"freq": "1h", "how": {"x": "max"}}}, "data.resample.how", "x: 'max' is not one of"),
        ({"resample": {"freq": "1h", "how": {"z": "sum"}}}, "data.resample.how", "'z' is not a target or feature"),
        ({"resample": {"freq": "1h", "hwo": "sum"}}, "data.resample.hwo", "did you mean 'data.resample.how'"),
        ({"resample": {"how": "sum"}}, "data.resample.freq", "required key is missing"),
        ({"resample": {"freq": "1h"}, "time_column": None}, "data.resample", "it needs data.time_column"),
        ({"resample": {"freq": "1h"}, "time_column": "year"}, "data.resample.freq", "'1h' bins dates"),
        ({"resample": {"freq": 10}}, "data.resample.freq", "10 bins integers, but the time column holds dates"),
    ],
)
def test_a_bad_resample_is_a_config_error_naming_the_key(
    tmp_path: Path, data: dict[str, Any], key: str, words: str
) -> None:
    csv = "time,year,y,x\n2024-01-01T00:05,2000,1,2\n" if data.get("time_column") == "year" else None
    res = invoke("window-preview", project(tmp_path, data, csv))
    assert res.exit_code == 2, (res.stderr, res.exception)
    flat = " ".join(res.stderr.split())
    assert key in flat and words in flat, flat
    assert "Traceback" not in res.output


def test_a_column_list_set_on_the_command_line_is_blamed_for_a_how_it_leaves_unknown(tmp_path: Path) -> None:
    """--set data.features=[xx] (a typo for x) leaves data.resample.how's x no column: the fault is the --set
    value, and the message says so (it blamed data.resample.how in the config file)."""
    cfg = project(tmp_path, {"resample": {"freq": "1h", "how": {"x": "sum"}}})
    res = invoke("window-preview", cfg, "--set", "data.features=[xx]")
    assert res.exit_code == 2, (res.stderr, res.exception)
    flat = " ".join(res.stderr.split())
    assert flat.startswith("error: --set: data.features: 'x' is not a target or feature; the columns are ['y', 'xx']")


# ---------------------------------------------------------------------------------------------
# end to end: window-preview, train, forecast (--data, --future), update, evaluate


def events_csv(path: Path, start: str, hours: int, first_hour: int = 0) -> Path:
    """Series A and B: three events an hour (minutes 5, 25, 45); y = the hour's index plus a small ripple
    (+0, +1, -1: mean = the index), x = 1 per event (sum = 3)."""
    t0 = np.datetime64(start, "m")
    rows = []
    for k, name in enumerate("AB"):
        for h in range(first_hour, first_hour + hours):
            for m, ripple in ((5, 0), (25, 1), (45, -1)):
                y = np.sin(0.5 * h + k) + 0.01 * h + ripple
                rows.append(f"{t0 + np.timedelta64(60 * h + m, 'm')},{name},{y:.6f},1")
    path.write_text("time,series,y,x\n" + "\n".join(rows) + "\n")
    return path


def e2e_config(tmp_path: Path) -> Path:
    doc = {
        "data": {
            "path": "events.csv",
            "time_column": "time",
            "series_column": "series",
            "targets": ["y"],
            "features": ["x"],
            "transform": "none",
            "resample": {"freq": "1h", "how": {"x": "sum"}},
        },
        "windows": {"look_back": 4},
        "model": {"units": [4], "ensemble": 1},
        "training": {"epochs": 2, "batch_size": 16, "early_stopping": {"patience": None}},
    }
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "cfg.yaml"


def test_window_preview_reports_the_resampling(tmp_path: Path) -> None:
    events_csv(tmp_path / "events.csv", "2024-01-01T00:00", 48)
    cfg = e2e_config(tmp_path)
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, (res.stderr, res.exception)
    doc = json.loads(res.stdout)
    assert doc["frequency"] == "h"
    assert doc["resample"] | {"bins": "", "empty_bins": ""} == {
        "freq": "1h",
        "how": {"y": "mean", "x": "sum"},
        "bins": "",
        "empty_bins": "",
        "events": 288,
        "rows": 96,
        "empty": 0,
        "series": {"A": {"events": 144, "bins": 48, "empty": 0}, "B": {"events": 144, "bins": 48, "empty": 0}},
    }
    assert doc["series"][0]["first"] == "2024-01-01 00:00" and doc["series"][0]["last"] == "2024-01-02 23:00"
    assert "resampled series 'A': 144 events -> 48 rows at 1h (y: mean, x: sum)" in doc["notes"]
    text = invoke("window-preview", cfg, "--limit", "2")
    assert text.exit_code == 0, (text.stderr, text.exception)
    assert "resampled to 1h (y: mean, x: sum): 288 events -> 96 rows in 2 series" in " ".join(text.stdout.split())
    assert "resampled series 'A'" in text.stderr


def test_series_too_short_once_resampled_are_a_data_error(tmp_path: Path) -> None:
    """48 hours of events in daily bins: 2 rows a series, fewer than a window needs. The bins, not a key, are what
    is short: exit 1 (the reference's data error), where a look_back too long for the file's rows is exit 2."""
    events_csv(tmp_path / "events.csv", "2024-01-01T00:00", 48)
    res = invoke("window-preview", e2e_config(tmp_path), "--set", "data.resample.freq=1D")
    assert res.exit_code == 1, (res.stderr, res.exception)
    assert "are shorter than windows.look_back + horizon" in " ".join(res.stderr.split()), res.stderr


@pytest.mark.slow
def test_train_forecast_update_evaluate_on_events(tmp_path: Path) -> None:
    from seqcast import forecast as fc
    from seqcast.run import load_run

    events_csv(tmp_path / "events.csv", "2024-01-01T00:00", 48)
    events_csv(tmp_path / "all.csv", "2024-01-01T00:00", 52)  # the same events and four more hours
    # the events of hours 47 (already known: skipped as old) to 51, a file of new events only
    events_csv(tmp_path / "new.csv", "2024-01-01T00:00", 5, first_hour=47)
    cfg = e2e_config(tmp_path)
    res = invoke("train", cfg, "--quiet")
    assert res.exit_code == 0, (res.stderr, res.exception)
    run = tmp_path / "runs" / "cfg"
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["resample"] == {
        "freq": "1h",
        "how": {"x": "sum"},
    }

    # the future features at the grid: events binned as in training (x: two events an hour, summed: 2)
    future = ["time,series,x"] + [f"2024-01-03T{h:02d}:{m:02d},{s},1" for s in "AB" for h in range(4) for m in (10, 40)]
    (tmp_path / "future.csv").write_text("\n".join(future) + "\n")
    res = invoke("forecast", "--steps", "3", "--future", "future.csv", "--output", "f.csv")
    assert res.exit_code == 0, (res.stderr, res.exception)
    rows = [line.split(",")[:2] for line in (tmp_path / "f.csv").read_text().splitlines()]
    assert rows == [["series", "time"]] + [
        [s, f"2024-01-03 {h:02d}:00:00"] for s in "AB" for h in range(3)
    ]  # timestamps continue the hourly grid

    opened = load_run(run)
    ahead = tmp_path / "future.csv"
    from_state = fc.forecast(opened, 3, future=ahead)[2]
    from_data = fc.forecast(opened, 3, data=tmp_path / "events.csv", future=ahead)[2]
    np.testing.assert_allclose(from_state, from_data, atol=1e-5, rtol=0)  # --data is binned as training was

    res = invoke("update", "--data", "new.csv", "--json")
    assert res.exit_code == 0, (res.stderr, res.exception)
    doc = json.loads(res.stdout)
    assert doc["series"]["A"] == {"added": 4, "skipped": 1, "last_time": "2024-01-03 03:00"}
    later = tmp_path / "later.csv"
    later.write_text("time,series,x\n" + "".join(f"2024-01-03T{h:02d}:30,{s},2\n" for s in "AB" for h in range(4, 8)))
    updated = fc.forecast(load_run(run), 3, future=later)[2]
    whole = fc.forecast(load_run(run), 3, data=tmp_path / "all.csv", future=later)[2]
    np.testing.assert_allclose(updated, whole, atol=1e-5, rtol=0)  # update == a forecast from all events
    # a last hour still filling (one event of three): update adds it as it is, and says so (x is a sum)
    partial = events_csv(tmp_path / "partial.csv", "2024-01-01T00:00", 2, first_hour=52)
    partial.write_text(partial.read_text() + "2024-01-03T06:05,A,0.5,1\n2024-01-03T06:05,B,0.5,1\n")
    res = invoke("update", "--data", "partial.csv", "--json")
    assert res.exit_code == 0, (res.stderr, res.exception)
    said = " ".join(json.loads(res.stdout)["notes"])
    assert "partial.csv: resampled series 'A'" in said and "the last new bin holds 1 event(s) against 3" in said
    assert "or send them once the period is over: a bin is added once" in said and "or train once" not in said
    # the future events are summed per bin: one event of 2 an hour is the same x as two events of 1, one of 1 is not
    for value, same in ((2, True), (1, False)):
        one = tmp_path / f"one_{value}.csv"
        one.write_text(
            "time,series,x\n" + "".join(f"2024-01-03T{h:02d}:59,{s},{value}\n" for s in "AB" for h in range(4))
        )
        other = fc.forecast(opened, 3, data=tmp_path / "events.csv", future=one)[2]
        assert np.allclose(other, from_data, atol=1e-6, rtol=0) == same

    res = invoke("evaluate", "--json")
    assert res.exit_code == 0, (res.stderr, res.exception)
    metrics = json.loads(res.stdout)
    assert metrics["origins"] == 2 * round(48 * 0.2)  # the test part of 48 hourly rows per series
    assert metrics["naive"]["mae"] > 0


def test_set_fills_in_a_null_resample(tmp_path: Path) -> None:
    from seqcast.config import load_config

    path = project(tmp_path, {"resample": None})
    cfg = load_config(path, ["data.resample.freq=15min", "data.resample.how={x: sum}"])
    assert cfg.data.resample is not None and (cfg.data.resample.freq, cfg.data.resample.how) == ("15min", {"x": "sum"})


@pytest.mark.parametrize("how", ["sum", "mean"])
def test_a_partial_first_or_last_period_of_a_sum_is_named(tmp_path: Path, how: str) -> None:
    """Daily events from 2024-01-20 to 2024-05-10 binned by month: January (12 days) and May (10) are partial
    periods, against 29-31 days in the others; a sum over them is not the month's total, and the note says so
    (a mean is left alone)."""
    days = np.arange(np.datetime64("2024-01-20"), np.datetime64("2024-05-11"))
    path = tmp_path / "d.csv"
    path.write_text("time,y\n" + "".join(f"{d},1\n" for d in days))
    ds = load_dataset(data_cfg(path, resample={"freq": "MS", "how": how}))
    assert ds.series[0].values[:, 0].tolist() == ([12.0, 29.0, 31.0, 30.0, 10.0] if how == "sum" else [1.0] * 5)
    note = next(n for n in ds.notes if n.startswith("resampled"))
    if how == "mean":
        assert "partial" not in note, note
        return
    assert "the first bin holds 12 event(s) against 29 in the median bin: a partial period" in note, note
    assert "the last bin holds 10 event(s) against 29 in the median bin" in note, note
    assert "or train once the period is over: `update` adds a bin once" in note, note
    assert ds.resampled[""] == {
        "events": 112, "bins": 5, "empty": 0, "first_events": 12, "last_events": 10, "median_events": 29
    }  # fmt: skip


def test_update_names_events_of_bins_the_run_holds_and_a_partial_first_new_bin() -> None:
    """The run's last hourly bin is 05:00. The new file re-sends two events of it (05:30, 05:45), which are not
    added to it: said with their count, where they were dropped without a word. Its first new bin, 06:00, holds
    one event against three in the others (an export that began mid-period): said too, where training's note was
    filtered out; a new bin, not a known one, is the one looked at."""
    import tempfile

    rows = ["2024-01-01T05:30,4", "2024-01-01T05:45,4", "2024-01-01T06:50,1"]
    rows += [f"2024-01-01T{h:02d}:{m:02d},1" for h in (7, 8, 9) for m in (5, 25, 45)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new.csv"
        path.write_text("time,y\n" + "\n".join(rows) + "\n")
        cfg = data_cfg(path, resample={"freq": "1h", "how": "sum"})
        ds = load_dataset(cfg, after={"": np.datetime64("2024-01-01T05:00", "ns")})
        trained = load_dataset(cfg)  # the same rows read for training: no bin is known; 05:00 holds 2 of 3
    note = next(n for n in ds.notes if n.startswith("resampled"))
    assert "12 events -> 5 rows at 1h (sum)" in note, note
    assert "; 2 event(s) fall in the last bin the run already holds: not added" in note, note
    assert "the first new bin holds 1 event(s) against 3 in the median bin" in note, note
    assert "(send every event of its period)" in note and "the last new bin" not in note, note
    assert ds.resampled[""]["known_events"] == 2 and ds.resampled[""]["first_events"] == 1
    plain = next(n for n in trained.notes if n.startswith("resampled"))
    assert plain == "resampled the series: 12 events -> 5 rows at 1h (sum)"  # 2 events of 05:00 are no partial


@pytest.mark.parametrize(("freq", "said"), [("1D", True), ("ME", True), ("6h", True), ("1h", False)])
def test_daily_or_longer_bins_of_times_with_offsets_are_said_to_be_utc_days(
    tmp_path: Path, freq: str, said: bool
) -> None:
    """New York events at 20:00 and 21:00 local time fall in the next UTC day: the bins are UTC days, as the
    times are read in UTC; the note says so for bins of more than an hour, not for hourly ones."""
    path = tmp_path / "d.csv"
    path.write_text("time,y\n2024-03-01T20:00:00-05:00,1\n2024-03-02T08:00:00-05:00,1\n"
                    "2024-03-02T21:00:00-05:00,1\n2024-03-03T09:00:00-05:00,1\n")  # fmt: skip
    ds = load_dataset(data_cfg(path, resample={"freq": freq, "how": "sum"}, missing="interpolate"))
    note = next(n for n in ds.notes if n.startswith("time column"))
    assert ("data.resample's bins are drawn in UTC: a day runs from midnight UTC" in note) == said, note
    if freq == "1D":
        assert ds.series[0].values[:, 0].tolist() == [2.0, 2.0]  # 03-02 and 03-03 UTC, not 1, 2, 1 local


def test_a_single_new_bin_still_filling_gets_one_note_as_the_last() -> None:
    """Known up to 05:00; the file re-sends 04:00 and 05:00 (three events each) and one event of 06:00. The one new
    bin is judged once, as a last bin still filling (it was called first and last, with opposite advice); the
    events of 05:00 are counted as the last known bin's, those of 04:00 are old and not counted."""
    import tempfile

    rows = [f"2024-01-01T{h:02d}:{m:02d},1" for h in (4, 5) for m in (5, 25, 45)] + ["2024-01-01T06:10,1"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new.csv"
        path.write_text("time,y\n" + "\n".join(rows) + "\n")
        cfg = data_cfg(path, resample={"freq": "1h", "how": "sum"})
        ds = load_dataset(cfg, after={"": np.datetime64("2024-01-01T05:00", "ns")})
    note = next(n for n in ds.notes if n.startswith("resampled"))
    assert "; 3 event(s) fall in the last bin the run already holds: not added" in note, note
    assert "the last new bin holds 1 event(s) against 3 in the median bin" in note and "first" not in note, note


def test_a_static_value_that_changes_inside_a_bin_is_refused_before_the_bin_keeps_its_first(tmp_path: Path) -> None:
    """A bin keeps its first event's static value: one that differs in a later event of the bin (line 5, the
    second event of 01:00) was dropped unseen. It is refused naming both lines; a blank cell (line 3) is not a
    value, and an unchanged file bins as before."""
    rows = ["00:10,1,7", "00:40,2,", "01:05,3,7", "01:30,4,7", "02:00,5,7"]
    path = tmp_path / "s.csv"
    path.write_text("time,y,size\n" + "".join(f"2024-01-01T{r}\n" for r in rows))
    cfg = data_cfg(path, static=["size"], missing="interpolate")
    assert load_dataset(cfg).series[0].values[:, 1].tolist() == [7.0, 7.0, 7.0]
    path.write_text(path.read_text().replace("01:30,4,7", "01:30,4,8"))
    with pytest.raises(DataError) as err:
        load_dataset(cfg)
    assert "static column 'size' is not constant: 7 at line 2 (its first event), 8 at line 5" in str(err.value), (
        err.value
    )


def test_a_runs_new_rows_with_another_kind_of_time_are_the_files_fault_not_the_configs(tmp_path: Path) -> None:
    """update, forecast --data and --future read a file for a run (its step given): whole numbers where the run
    binned dates are the file's fault (DataError naming it, exit 1). They were a ConfigError blaming
    data.resample.freq (exit 2), a key the run has fixed. Training on such a file still blames the key."""
    from seqcast.errors import ConfigError

    path = tmp_path / "n.csv"
    path.write_text("time,y\n1,10\n2,11\n3,12\n")
    with pytest.raises(DataError) as err:
        load_dataset(data_cfg(path), step=Freq.parse("1h"))
    assert str(path) in str(err.value)
    assert "times read as whole numbers, but the run was trained on dates, binned at data.resample.freq 1h" in str(
        err.value
    )
    with pytest.raises(ConfigError, match="'1h' bins dates, but the time column holds integers"):
        load_dataset(data_cfg(path))


def test_a_mistyped_year_among_the_events_is_named_by_its_line_and_series(tmp_path: Path) -> None:
    """Hourly bins over events whose last is dated 2042 (for 2024): the grid would dwarf the events. The error
    names the file, the series, the widest gap and the line after it (it named none of them and only said to
    choose a larger data.resample.freq, which a run's own reads cannot change)."""
    path = tmp_path / "e.csv"
    rows = [f"2024-01-01T{h:02d}:30,A,{h}" for h in range(6)] + ["2042-01-01T06:10,A,6", "2024-01-01T00:30,B,0"]
    path.write_text("time,s,y\n" + "\n".join(rows) + "\n")
    cfg = data_cfg(path, series_column="s")
    with pytest.raises(DataError) as err:
        load_dataset(cfg)
    said = str(err.value)
    assert said.startswith(f"{path}: at data.resample.freq 1h the events of series 'A' from 2024-01-01 00:00 to "), said
    assert "the widest gap runs from 2024-01-01 05:30 to 2042-01-01 06:10 (line 8)" in said, said
    assert "check the time at line 8 (a mistyped year does this), or choose a larger data.resample.freq" in said
    with pytest.raises(DataError) as err:  # a run's read: its frequency is fixed, so the hint leaves it out
        load_dataset(cfg, step=Freq.parse("1h"))
    assert str(err.value).endswith("hint: check the time at line 8 (a mistyped year does this)"), err.value


def test_the_widest_gap_of_end_labelled_bins_is_found_by_their_events(tmp_path: Path) -> None:
    """ME bins are labelled by their month's last day, after most of their events: the gap was looked up by the
    label, which named the wrong gap, or crashed with an IndexError for a last event far ahead."""
    path = tmp_path / "m.csv"
    months = [f"{2023 + k // 12}-{k % 12 + 1:02d}-15,{k}" for k in range(15)]
    path.write_text("time,y\n" + "\n".join([*months, "2261-01-15,3"]) + "\n")
    with pytest.raises(DataError) as err:
        load_dataset(data_cfg(path, resample={"freq": "ME"}))
    assert "the widest gap runs from 2024-03-15 to 2261-01-15 (line 17)" in str(err.value), err.value
    path.write_text("time,y\n" + "\n".join(["1700-01-15,3", *months]) + "\n")
    with pytest.raises(DataError) as err:
        load_dataset(data_cfg(path, resample={"freq": "ME"}))
    assert "the widest gap runs from 1700-01-15 to 2023-01-15 (line 3)" in str(err.value), err.value
