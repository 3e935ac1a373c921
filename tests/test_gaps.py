"""data.missing: drop: no window crosses a dropped row, and what the gaps cost is counted and said.

The series' value is its time index (year - 2000), so a window that crossed a gap would show a jump in its values;
every window and backtest origin is compared with a brute-force enumeration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from seqcast import dataset, evaluate
from seqcast.cli import app
from seqcast.config import DataConfig, load_config
from seqcast.data import load_dataset
from seqcast.intervals import mase_scale
from seqcast.layout import plan
from seqcast.prepare import build, plan_and_scale
from seqcast.windows import WindowShape, clear_of_gaps, crosses_break, lookback_windows

WriteProject = Callable[..., Path]
runner = CliRunner()


def gappy_csv(n: int, dropped: tuple[int, ...] = (), empty: tuple[int, ...] = (), series: tuple[str, ...] = ()) -> str:
    """CSV `year[,s],y` of years 2000 .. 2000 + n - 1 whose y is the time index (year - 2000); the years at the
    indices `dropped` are left out of the file, those at `empty` have no value."""

    def row(i: int) -> str:
        return f"{2000 + i},{'' if i in empty else i}"

    keep = [i for i in range(n) if i not in dropped]
    if not series:
        return "year,y\n" + "".join(row(i) + "\n" for i in keep)
    return "year,s,y\n" + "".join(f"{row(i).replace(',', f',{s},', 1)}\n" for s in series for i in keep)


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def brute(shape: WindowShape, first: int, lo: int, hi: int, stride: int, breaks: list[int]) -> tuple[list[int], int]:
    """(starts of the windows kept, windows lost) from the definitions alone: every stride-th start whose inputs
    begin at or after `first`, whose targets end by `hi` and reach `lo` (all of them, or the last of many_to_many),
    then without those whose rows [p - first, p + span) hold a row b that does not follow b - 1."""
    base = []
    for p in range(first, hi):
        if p + shape.span > hi:
            continue
        if (p + shape.span - 1 if shape.many_to_many else p + shape.target_offset) < lo:
            continue
        base.append(p)
    base = base[::stride]
    kept = [p for p in base if not any(p - first < b < p + shape.span for b in breaks)]
    return kept, len(base) - len(kept)


# ---------------------------------------------------------------- where the gaps are


def test_breaks_are_the_rows_after_dropped_timestamps_and_dropped_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(gappy_csv(20, dropped=(5, 6), empty=(12,)))
    ds = load_dataset(DataConfig(path=path, time_column="year", targets=["y"], missing="drop"))
    (s,) = ds.series
    assert s.values[:, 0].tolist() == [*range(5), *range(7, 12), *range(13, 20)]
    assert s.breaks.tolist() == [5, 10] and s.breaks.dtype == np.int64
    assert ds.gap(0, 5) == "between 2004 and 2007 (rows 4 and 5)"
    assert ds.gap(0, 10) == "between 2011 and 2013 (rows 9 and 10)"


def test_without_a_time_column_a_dropped_row_is_a_break_too(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("y\n0\n1\nNA\n3\n4\n")
    (s,) = load_dataset(DataConfig(path=path, targets=["y"], missing="drop")).series
    assert s.values[:, 0].tolist() == [0, 1, 3, 4] and s.breaks.tolist() == [2]


@pytest.mark.parametrize("how", ["interpolate", "ffill"])
def test_filled_gaps_leave_no_break(tmp_path: Path, how: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(gappy_csv(20, dropped=(5, 6), empty=(12,)))
    (s,) = load_dataset(DataConfig(path=path, time_column="year", targets=["y"], missing=how)).series
    assert len(s) == 20 and s.breaks.tolist() == []


def test_each_series_keeps_its_own_breaks(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(gappy_csv(10, series=("A", "B")) + "2010,A,10\n2012,A,12\n2010,B,\n2011,B,11\n")
    ds = load_dataset(DataConfig(path=path, time_column="year", series_column="s", targets=["y"], missing="drop"))
    assert [s.breaks.tolist() for s in ds.series] == [[11], [10]]


# ---------------------------------------------------------------- look-back windows


def test_training_windows_of_a_gappy_series_exact(write_project: WriteProject) -> None:
    # rows 0-9 hold years 0-9, rows 10-17 years 12-19 (10 and 11 missing), rows 18-26 years 21-29 (20 empty)
    cfg = write_project(
        gappy_csv(30, dropped=(10, 11), empty=(20,)),
        data={"missing": "drop", "split": {"val": 0, "test": 4}},
        windows={"look_back": 3, "horizon": 1},
    )
    p = plan(load_config(cfg))
    win = p.train
    assert p.ds.series[0].breaks.tolist() == [10, 18]
    assert win.starts.tolist() == [0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 18, 19]  # span 4 inside [0, 23)
    assert win.starts.tolist() == brute(win.shape, 0, 0, 23, 1, [10, 18])[0]
    assert win.lost.tolist() == [6] and len(win) == 14
    assert win.firsts.tolist() == [0, 10, 18] and win.counts.tolist() == [7, 5, 2]
    assert win.series_of_range.tolist() == [0, 0, 0] and win.offsets.tolist() == [0, 7, 12]
    assert [win.input_range(k) for k in (6, 7, 13)] == [(6, 9), (10, 13), (19, 22)]
    assert [win.target_range(k) for k in (6, 7, 13)] == [(9, 10), (13, 14), (22, 23)]
    assert repr(win) == (
        "LookbackWindows(14 windows, 6 crossing a break left out, look_back=3, "
        "s0:(0, 3)->(3, 4), s0:(1, 4)->(4, 5), s0:(2, 5)->(5, 6), ...)"
    )
    years = p.ds.series[0].values[:, 0]
    for p0 in win.starts:  # every window's years are consecutive: no window spans a gap
        assert years[p0 : p0 + 4].tolist() == list(range(int(years[p0]), int(years[p0]) + 4))
    assert p.ds.notes[-1] == "6 training window(s) crossing a dropped row were left out"


def test_a_transform_needs_its_rows_after_a_break_as_after_a_series_start(write_project: WriteProject) -> None:
    """With difference, row p's model units read row p - 1: a window may start one row after a break at the
    earliest, as it starts at row 1 of a series."""
    cfg = write_project(
        gappy_csv(20, dropped=(10,)),
        data={"missing": "drop", "split": {"val": 0, "test": 0}, "transform": "difference"},
        windows={"look_back": 3, "horizon": 1},
    )
    win = plan(load_config(cfg)).train
    assert win.starts.tolist() == [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15]  # break at 10; rows [0, 19)
    assert win.starts.tolist() == brute(win.shape, 1, 0, 19, 1, [10])[0]


def test_windows_of_several_series_are_in_series_order(write_project: WriteProject) -> None:
    csv = gappy_csv(12, series=("A", "B", "C"))
    lines = csv.splitlines()
    csv = "\n".join(line for line in lines if line not in ("2005,A,5", "2002,C,2", "2008,C,8")) + "\n"
    cfg = write_project(
        csv,
        data={"series_column": "s", "missing": "drop", "split": {"val": 0, "test": 0}},
        windows={"look_back": 2, "horizon": 1, "stride": 2},
    )
    win = plan(load_config(cfg)).train
    want = [(0, p) for p in brute(win.shape, 0, 0, 11, 2, [5])[0]]
    want += [(1, p) for p in brute(win.shape, 0, 0, 12, 2, [])[0]]
    want += [(2, p) for p in brute(win.shape, 0, 0, 10, 2, [2, 7])[0]]
    assert list(zip(win.series.tolist(), win.starts.tolist(), strict=True)) == want
    series, starts = win.locate(np.arange(len(win)))
    assert list(zip(series.tolist(), starts.tolist(), strict=True)) == want
    assert win.lost.tolist() == [1, 0, 2]


@st.composite
def gap_case(draw: st.DrawFn) -> tuple[WindowShape, list[int], list[tuple[int, int]], int, list[list[int]]]:
    shape = WindowShape(draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.booleans()))
    firsts, bounds, breaks = [], [], []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 60))
        lo = draw(st.integers(0, n))
        hi = draw(st.integers(lo, n))
        firsts.append(draw(st.integers(0, 2)))
        bounds.append((lo, hi))
        breaks.append(sorted(draw(st.sets(st.integers(1, n - 1), max_size=8))) if n > 1 else [])
    return shape, firsts, bounds, draw(st.integers(1, 5)), breaks


@settings(max_examples=300, deadline=None)
@given(gap_case())
def test_gappy_windows_are_exactly_the_brute_force_windows_in_order(
    case: tuple[WindowShape, list[int], list[tuple[int, int]], int, list[list[int]]],
) -> None:
    shape, firsts, bounds, stride, breaks = case
    win = lookback_windows(shape, firsts, bounds, stride, [np.array(b, dtype=np.int64) for b in breaks])
    want, lost = [], []
    for i, (f, (lo, hi)) in enumerate(zip(firsts, bounds, strict=True)):
        kept, k = brute(shape, f, lo, hi, stride, breaks[i])
        want += [(i, p) for p in kept]
        lost.append(k)
    series, starts = win.locate(np.arange(len(win), dtype=np.int64))
    assert list(zip(series.tolist(), starts.tolist(), strict=True)) == want
    assert list(zip(win.series.tolist(), win.starts.tolist(), strict=True)) == want
    assert win.lost.tolist() == lost and len(win) == len(want)
    for k, (_, p) in enumerate(want):
        assert win.input_range(k) == (p, p + shape.look_back)
        assert win.target_range(k) == (p + shape.target_offset, p + shape.span)
    for i, b in enumerate(breaks):  # in time-index terms: a window's rows and its transform's are consecutive
        time = np.arange(bounds[i][1] + 1) + np.searchsorted(
            np.array(b, dtype=np.int64), np.arange(bounds[i][1] + 1), "right"
        )
        for s, p in want:
            if s == i:
                assert time[p + shape.span - 1] - time[p - firsts[i]] == shape.span - 1 + firsts[i]
    # with no break at all, the ranges are one per series, as before gaps existed
    plain = lookback_windows(shape, firsts, bounds, stride)
    assert len(plain.counts) == len(firsts) and plain.lost.tolist() == [0] * len(firsts)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 40), max_size=6, unique=True).map(sorted),
    st.lists(st.integers(-5, 45), max_size=10),
    st.integers(1, 8),
)
def test_crosses_break_is_the_definition(breaks: list[int], starts: list[int], length: int) -> None:
    got = crosses_break(np.array(breaks, dtype=np.int64), np.array(starts, dtype=np.int64), length)
    assert got.tolist() == [any(p < b < p + length for b in breaks) for p in starts]


def test_clear_of_gaps_keeps_the_origins_whose_history_and_steps_cross_nothing() -> None:
    jobs = [(0, o) for o in range(3, 12)] + [(1, 5)]
    breaks = [np.array([7], dtype=np.int64), np.zeros(0, dtype=np.int64)]
    # history 2, steps 2: rows [o - 2, o + 2) must not hold 7 past their first row: o - 2 < 7 < o + 2
    assert clear_of_gaps(jobs, breaks, 2, 2) == [(0, 3), (0, 4), (0, 5), (0, 9), (0, 10), (0, 11), (1, 5)]
    # with ends, the steps stop at the end of the part: origin 6's rows [4, 8) end at 7, and hold no row past 7
    assert (0, 6) in clear_of_gaps(jobs, breaks, 2, 2, ends=[7, 10])


# ---------------------------------------------------------------- the tf.data pipeline


def test_the_tf_data_batches_hold_exactly_the_windows_that_cross_no_gap(write_project: WriteProject) -> None:
    cfg = write_project(
        gappy_csv(40, dropped=(10, 11), empty=(25,), series=("A", "B")),
        data={"series_column": "s", "missing": "drop", "scaler": "none", "split": {"val": 0, "test": 0}},
        windows={"look_back": 4, "horizon": 2},
    )
    p, scaler = plan_and_scale(load_config(cfg))
    prep = build(p, scaler, "none", "test")
    win = p.train
    assert [s.breaks.tolist() for s in p.ds.series] == [[10, 23], [10, 23]]
    for shuffle in (False, True):
        got = [(x.numpy(), y.numpy()) for x, y in dataset.window_dataset(prep, win, 5, shuffle, 3)]
        x = np.concatenate([b[0] for b in got])[:, :, 0]  # (windows, look_back): the years of the inputs
        y = np.concatenate([b[1] for b in got])[:, :, 0]  # (windows, horizon)
        assert len(x) == len(win) == 2 * len(brute(win.shape, 0, 0, 37, 1, [10, 23])[0])
        assert (x == x[:, :1] + np.arange(4)).all()  # consecutive years: no gap inside the inputs
        assert (y == x[:, -1:] + 1 + np.arange(2)).all()  # the targets are the next two years
        years = p.ds.series[0].values[:, 0]
        want = sorted(2 * [int(years[q]) for q in brute(win.shape, 0, 0, 37, 1, [10, 23])[0]])
        assert sorted(x[:, 0].astype(int).tolist()) == want
        if not shuffle:  # in window order: series A's, then series B's
            assert x[:, 0].astype(int).tolist() == want[::2] + want[::2]


# ---------------------------------------------------------------- window-preview and refusals


def test_window_preview_json_and_text_count_the_windows_left_out(write_project: WriteProject) -> None:
    cfg = write_project(
        gappy_csv(30, dropped=(10, 11), empty=(20,)),
        data={"missing": "drop", "split": {"val": 0, "test": 4}},
        windows={"look_back": 3, "horizon": 1},
    )
    res = invoke("window-preview", cfg, "--json", "--limit", "100")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["gaps"] == {
        "how": "data.missing: drop; a window never crosses a dropped row: those that would are left out",
        "breaks": 2,
        "windows_lost": 6,
        "val_windows_lost": 0,
        "series": {
            "": {
                "breaks": 2,
                "windows_lost": 6,
                "val_windows_lost": 0,
                "first": "between 2009 and 2012 (rows 9 and 10)",
            }
        },
    }
    assert doc["windows"] == 14
    assert [r["start"] for r in doc["rows"]] == [0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 18, 19]
    assert doc["notes"] == [
        "2 missing timestamp(s) at a step of 1 (first: 2010, 2011); data.missing: drop",
        "dropped 1 row(s) with missing values",
        "6 training window(s) crossing a dropped row were left out",
        "no validation part (data.split.val): train calibrates no prediction interval, and forecast --interval "
        "will refuse every level",
    ]
    res = invoke("window-preview", cfg)
    assert res.exit_code == 0, res.output
    assert "6 training window(s) crossing a dropped row were left out" in res.stderr
    assert "(14 windows, 2 batches, shuffled each epoch; 6 windows crossing a dropped row were left out)" in " ".join(
        res.stdout.split()
    )


def test_no_gap_no_gaps_key(write_project: WriteProject, index_csv: Callable[..., str]) -> None:
    res = invoke("window-preview", write_project(index_csv(40), data={"missing": "drop"}), "--json")
    assert res.exit_code == 0 and "gaps" not in json.loads(res.stdout)


def test_a_forecast_window_across_the_last_gap_is_said(write_project: WriteProject) -> None:
    cfg = write_project(gappy_csv(40, dropped=(38,)), data={"missing": "drop"}, windows={"look_back": 3})
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["notes"][-1] == (
        "the last 3 rows of the series, the window a forecast from the end of the data reads, cross the gap between "
        "2037 and 2039 (rows 37 and 38): forecasts start from them as they are"
    )


@pytest.mark.parametrize("command", ["window-preview", "train"])
def test_stateful_mode_refuses_gaps_naming_the_series_and_the_first_gap(
    write_project: WriteProject, command: str
) -> None:
    cfg = write_project(
        gappy_csv(40, dropped=(10, 11, 30), series=("A", "B")),
        data={"series_column": "s", "missing": "drop"},
        windows={"mode": "stateful", "num_steps": 4, "streams": 1},
    )
    res = invoke(command, cfg, *(["--quiet"] if command == "train" else []))
    assert res.exit_code == 1, res.output
    assert res.stdout == "" and res.stderr.count("error:") == 1 and "Traceback" not in res.output
    assert " ".join(res.stderr.split()) == (
        f"error: {cfg.parent / 'data.csv'}: data.missing: drop left 2 gap(s) in series 'A', the first between 2009 "
        "and 2012 (rows 9 and 10): a stateful model carries its states from each row to the next, across a gap "
        "too hint: set data.missing to interpolate or ffill, or use windows.mode: lookback (its windows leave the "
        "gaps out)"
    )
    assert not (cfg.parent / "runs").exists()


def test_stateful_mode_without_an_actual_gap_is_fine(write_project: WriteProject) -> None:
    cfg = write_project(
        gappy_csv(40), data={"missing": "drop"}, windows={"mode": "stateful", "num_steps": 4, "streams": 1}
    )
    assert invoke("window-preview", cfg, "--json").exit_code == 0


def test_train_refuses_a_backtest_whose_every_origin_crosses_a_gap(write_project: WriteProject) -> None:
    cfg = write_project(
        gappy_csv(40, dropped=(35, 38)),
        data={"missing": "drop", "split": {"val": 0, "test": 4}},
        windows={"look_back": 3},
        evaluate={"horizon": 2},
    )
    res = invoke("train", cfg, "--quiet")
    assert res.exit_code == 1, res.output
    assert "every one of the 2 backtest origins has a gap that data.missing: drop left" in " ".join(res.stderr.split())


def test_the_backtest_check_counts_the_rows_the_transform_reads_before_the_window(write_project: WriteProject) -> None:
    """difference reads the row before a 3-row window: the one origin, 38, reads rows 34 .. 37, across the break at
    row 35 (year 35 dropped), so train would have no origin to score; without the difference it has one."""
    from seqcast.layout import check_backtest

    def check(transform: str) -> None:
        cfg = write_project(
            gappy_csv(41, dropped=(35,)),
            data={"missing": "drop", "transform": transform, "split": {"val": 4, "test": 2}},
            windows={"look_back": 3},
            evaluate={"horizon": 2},
        )
        p = plan(load_config(cfg))
        assert p.ds.series[0].breaks.tolist() == [35] and p.parts[0].val_end == 38
        check_backtest(p.cfg, p.ds, p.parts)

    check("none")
    with pytest.raises(evaluate.DataError, match="every one of the 1 backtest origins has a gap .* in its 4 rows"):
        check("difference")


def test_validation_windows_left_out_are_said_when_no_training_window_is(write_project: WriteProject) -> None:
    """The break at row 36 (year 36 dropped) lies in the validation part [30, 38): no training window reaches it;
    of the validation windows (targets 30 .. 37, starts 27 .. 34) those starting at 33 and 34 cross it."""
    cfg = write_project(
        gappy_csv(41, dropped=(36,)),
        data={"missing": "drop", "split": {"val": 8, "test": 2}},
        windows={"look_back": 3},
    )
    p = plan(load_config(cfg))
    assert (int(p.train.lost.sum()), p.val is not None and int(p.val.lost.sum())) == (0, 2)
    assert p.ds.notes[-1] == "0 training window(s) crossing a dropped row were left out, and 2 validation window(s)"


def test_the_history_of_a_backtest_origin_holds_the_rows_its_transform_reads() -> None:
    from types import SimpleNamespace

    from seqcast.transforms import Transform

    def run(mode: str, transform: str, season: int) -> SimpleNamespace:
        cfg = SimpleNamespace(evaluate=SimpleNamespace(season=season))
        return SimpleNamespace(pre={"mode": mode, "look_back": 5}, steps=Transform.parse(transform, season), cfg=cfg)

    assert evaluate.history_rows(run("lookback", "none", 1)) == 5
    assert evaluate.history_rows(run("lookback", "seasonal+difference", 4)) == 5 + 4 + 1
    assert evaluate.history_rows(run("stateful", "difference", 1)) == 1 + 1
    assert evaluate.history_rows(run("lookback", "none", 12)) == 12  # seasonal naive reads a season back


# ---------------------------------------------------------------- the backtest


def test_backtest_skips_the_origins_whose_window_or_steps_cross_a_gap() -> None:
    """A forecaster that continues the time index is exact wherever no gap is crossed: MAE 0 says no crossing
    origin was scored; without the breaks it is not."""
    years = np.array([*range(10), *range(12, 30)], dtype=np.float64)[:, None]  # break at row 10
    breaks = [np.array([10], dtype=np.int64)]

    def model_forecast(jobs: list[tuple[int, int]]) -> np.ndarray:
        return np.stack([years[o - 1] + 1 + np.arange(3)[:, None] for _, o in jobs])

    doc = evaluate.backtest([years], [4], 3, 1, ["y"], model_forecast, breaks=breaks, history=4)
    # origins 4, 7, 10, ..., 25; rows [o - 4, o + 3) hold row 10 past their first for o = 10 and 13
    assert doc["origins"] == 6 and doc["origins_skipped_gaps"] == 2
    assert doc["model"]["mae"] == 0.0
    assert evaluate.backtest([years], [4], 3, 1, ["y"], model_forecast)["model"]["mae"] > 0
    assert "origins_skipped_gaps" not in evaluate.backtest([years[:9]], [4], 3, 1, ["y"], model_forecast)


def test_mase_scale_leaves_out_the_pairs_across_a_gap() -> None:
    years = np.array([*range(10), *range(12, 30)], dtype=np.float64)[:, None]  # break at row 10
    assert mase_scale(years, 1, np.array([10])).tolist() == [1.0]  # every step of one year: 1
    assert mase_scale(years, 3, np.array([10])).tolist() == [3.0]
    assert mase_scale(years, 1).tolist() == [29 / 27]  # row 10 against row 9: 3 years apart


def test_backtest_with_every_origin_across_a_gap_says_so() -> None:
    years = np.arange(12, dtype=np.float64)[:, None]
    with pytest.raises(evaluate.DataError, match="every backtest origin \\(2\\) has a gap"):
        evaluate.backtest(
            [years], [6], 3, 1, ["y"], lambda jobs: np.zeros((len(jobs), 3, 1)),
            breaks=[np.array([7, 10], dtype=np.int64)], history=2,
        )  # fmt: skip


def test_validation_origins_of_auto_skip_the_gaps(write_project: WriteProject) -> None:
    from seqcast.select import validation_jobs

    cfg = write_project(
        gappy_csv(40, dropped=(30,)),
        data={"missing": "drop", "split": {"val": 8, "test": 4}},
        windows={"look_back": 3},
    )
    p = plan(load_config(cfg))
    jobs, steps = validation_jobs(p, 2)
    assert steps == 2 and p.ds.series[0].breaks.tolist() == [30]
    # val rows [27, 35): origins 26 to 34 reach into it; rows [o - 3, min(o + 2, 35)) must not hold row 30 past
    # their first: o - 3 < 30 < o + 2
    assert [o for _, o in jobs] == [26, 27, 28, 33, 34]


def test_calibration_keeps_an_origin_whose_steps_leave_the_validation_part_only_to_cross_a_gap(
    write_project: WriteProject, tmp_path: Path
) -> None:
    """The break at row 41 (year 41 dropped) lies in the test part [40, 50). Validation origin 39 reads rows 34 .. 38
    and its first step's truth, row 39, the last of the validation part [30, 40): its steps past row 39 give no
    error anyway, so the gap behind them costs nothing and every validation row gives each step one error."""
    from seqcast.pipeline import train_run

    cfg = write_project(
        gappy_csv(51, dropped=(41,)),
        data={"missing": "drop", "split": {"val": 10, "test": 10}},
        evaluate={"horizon": 3},
        training={"epochs": 1},
    )
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    doc = json.loads((run / "calibration.json").read_text())
    assert doc["origins_skipped_gaps"] == 0 and doc["origins"] == 12  # origins 28 .. 39
    assert doc["step_errors"] == [10, 10, 10]


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_train_evaluate_preview_and_forecast_on_dropped_rows(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rows 0-14 hold years 0-14, rows 15-48 years 16-49, rows 49-57 years 51-59: breaks at rows 15 and 49
    cfg = write_project(
        gappy_csv(60, dropped=(15,), empty=(50,)),
        data={"missing": "drop", "split": {"val": 8, "test": 10}},
        windows={"look_back": 3, "horizon": 1},
        training={"epochs": 2, "batch_size": 8},
        evaluate={"horizon": 2},
    )
    monkeypatch.chdir(cfg.parent)
    res = invoke("train", cfg, "--json")
    assert res.exit_code == 0, res.output
    assert "3 training window(s) crossing a dropped row were left out" in res.stderr
    metrics = json.loads(res.stdout)["metrics"]
    # test rows [48, 58), origins 48, 50, 52, 54, 56; rows [o - 3, o + 2) cross row 49 for o = 48 and 50
    assert (metrics["origins"], metrics["origins_skipped_gaps"]) == (3, 2)
    run = Path(json.loads(res.stdout)["run_dir"])
    assert json.loads((run / "metrics.json").read_text())["origins_skipped_gaps"] == 2
    cal = json.loads((run / "calibration.json").read_text())
    # validation rows [40, 48) cross no break; training origins o in [3, 40) whose rows [o - 3, o + 2) hold rows 14
    # and 15 (the break at 15) are skipped: o = 14 .. 17
    assert cal["origins_skipped_gaps"] == 4 and cal["training_origins"] == 37 - 4

    res = invoke("evaluate", "--json")
    assert res.exit_code == 0, res.output
    doc: dict[str, Any] = json.loads(res.stdout)
    assert (doc["origins"], doc["origins_skipped_gaps"]) == (3, 2)
    res = invoke("evaluate")
    assert "3 origins x horizon 2 (season 1); 2 origins whose rows cross a dropped row were skipped" in " ".join(
        res.stdout.split()
    )

    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.output
    gaps = json.loads(res.stdout)["gaps"]
    assert (gaps["breaks"], gaps["windows_lost"], gaps["val_windows_lost"]) == (2, 3, 0)

    res = invoke("forecast", "--steps", "2", "--output", "-")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "year,y" and len(res.stdout.splitlines()) == 3
    (cfg.parent / "late.csv").write_text(gappy_csv(60, dropped=(58,)))
    res = invoke("forecast", "--steps", "2", "--data", cfg.parent / "late.csv", "--output", "-")
    assert res.exit_code == 0, res.output
    assert [line.split(",")[0] for line in res.stdout.splitlines()[1:]] == ["2060", "2061"]
    assert (
        "the last 3 rows of the series, the window a forecast from the end of the data reads, cross the gap "
        "between 2057 and 2059 (rows 57 and 58)"
    ) in " ".join(res.stderr.split())

    # update: new rows with one dropped are taken, and the gap is said (the windows read across it for a while)
    state = (Path("runs/latest") / "state.npz").read_bytes()
    (cfg.parent / "new.csv").write_text("year,y\n2060,60\n2061,61\n2063,63\n2064,64\n")
    res = invoke("update", "--data", cfg.parent / "new.csv", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["series"][""] == {"added": 4, "skipped": 0, "dropped": 1, "last_time": "2064"}
    note = (
        "the series: data.missing: drop left 1 missing row(s) among the new rows, the first at 2062: forecasts read "
        "windows across the gap until 3 rows have come after it"
    )
    assert doc["notes"] == [note] and note in " ".join(res.stderr.split())
    assert (Path("runs/latest") / "state.npz").read_bytes() != state
    res = invoke("forecast", "--steps", "2", "--output", "-")  # from the state: its window says the gap, too
    assert res.exit_code == 0, res.output
    assert (
        "the last 3 rows of the series, the window a forecast from the end of the data reads, cross the gap "
        "between 2061 and 2063 (rows 59 and 60)"  # 58 rows trained on (one year dropped, one empty), 4 new
    ) in " ".join(res.stderr.split())
    (cfg.parent / "last.csv").write_text("year,y\n2065,65\n2066,\n")  # a last row without its value: said
    res = invoke("update", "--data", cfg.parent / "last.csv", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["series"][""]["added"] == 1 and doc["notes"] == ["last.csv: dropped 1 row(s) with missing values"]


@pytest.mark.slow
def test_a_stateful_run_refuses_gaps_in_update_forecast_and_evaluate(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_project(
        gappy_csv(40),
        data={"missing": "drop"},
        windows={"mode": "stateful", "num_steps": 4, "streams": 1},
        training={"epochs": 1},
    )
    monkeypatch.chdir(cfg.parent)
    assert invoke("train", cfg, "--quiet").exit_code == 0
    new = cfg.parent / "new.csv"
    new.write_text("year,y\n2040,40\n2041,41\n2043,43\n2044,44\n")
    res = invoke("update", "--data", new)
    assert res.exit_code == 1, res.output
    assert " ".join(res.stderr.split()) == (
        f"error: {new}: the series: data.missing: drop would leave 1 missing row(s) in the new rows, the first at "
        "2042: a stateful model carries its states from each row to the next, across a gap too hint: send the "
        "missing rows; a run trained with data.missing: interpolate or ffill would fill them (this run's "
        "config.yaml holds the setting it was trained with)"
    )
    later = cfg.parent / "later.csv"
    later.write_text(gappy_csv(44, dropped=(41,)))
    res = invoke("forecast", "--steps", "2", "--data", later)
    assert res.exit_code == 1 and "drop left 1 gap(s) in the series, the first between 2040 and 2042" in " ".join(
        res.stderr.split()
    )
    (cfg.parent / "data.csv").write_text(gappy_csv(40, dropped=(20,)))  # the run's data file, changed since
    res = invoke("evaluate")
    assert res.exit_code == 1 and "drop left 1 gap(s) in the series" in " ".join(res.stderr.split())


def test_a_series_whose_every_origin_crosses_a_gap_is_named_as_left_out() -> None:
    """A backtest of three series scoring one: 'B' has test rows enough, but every origin crosses a dropped row
    (it is not in per_series); 'C' has too few test rows. Each is named with its own reason."""
    values = [np.zeros((20, 1)), np.zeros((20, 1)), np.zeros((14, 1))]
    doc = {"horizon": 3, "per_series": {"A": {}}}
    notes = evaluate.unscored(["A", "B", "C"], values, {"A": 12, "B": 12, "C": 12}, doc, "evaluate.horizon")
    assert notes == [
        "1 series left out of the backtest's scores: every origin in their test part crosses a row that "
        "data.missing: drop removed: 'B'",
        "1 series left out of the backtest's scores: their test part is shorter than evaluate.horizon=3, so no "
        "origin fits in it: 'C' (2 rows)",
    ]
    assert evaluate.unscored(["A"], values[:1], {"A": 12}, {"horizon": 3}, "evaluate.horizon") == []
