"""Prediction intervals: the conformal quantile, the bands, the calibration a run writes, and coverage."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqcast import calibration, evaluate, intervals
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.errors import ConfigError
from seqcast.metrics import NO_SCALE
from seqcast.pipeline import train_run

WriteProject = Callable[..., Path]


# ---------------------------------------------------------------------------------------------
# the arithmetic, exactly


def test_conformal_quantile_is_the_ceil_n_plus_1_level_th_smallest() -> None:
    errors = np.array([5.0, -1.0, 3.0, 9.0, -7.0, 2.0, 4.0, 8.0, 6.0])  # |e| = 1 .. 9
    assert intervals.conformal_quantile(errors, 80) == 8.0  # ceil(10 x 0.8) = 8th
    assert intervals.conformal_quantile(errors, 50) == 5.0  # ceil(10 x 0.5) = 5th
    assert intervals.conformal_quantile(errors, 90) == 9.0  # ceil(10 x 0.9) = 9th
    assert math.isnan(intervals.conformal_quantile(errors, 95))  # ceil(9.5) = 10th of 9: too few
    assert intervals.conformal_quantile(np.array([np.nan, 1.0, 2.0, 3.0, 4.0]), 80) == 4.0  # nan left out


@given(st.integers(50, 99))
def test_a_level_needs_exactly_needed_errors(level: int) -> None:
    n = intervals.needed(level)
    assert math.isfinite(intervals.conformal_quantile(np.arange(1.0, n + 1), level))
    assert math.isnan(intervals.conformal_quantile(np.arange(1.0, n), level))


def test_needed_errors_of_the_usual_levels() -> None:
    assert [intervals.needed(lv) for lv in (50, 80, 90, 95, 99)] == [1, 4, 9, 19, 99]


def test_interval_score_counts_width_and_misses_scaled() -> None:
    lo, hi = np.zeros(4), np.ones(4)
    true = np.array([0.5, 2.0, -1.0, 1.0])  # inside, above by 1, below by 1, on the bound
    got = intervals.interval_scores(lo, hi, true, np.full(4, 2.0), 80)  # alpha 0.2: a miss costs 2 / 0.2 = 10 x
    assert got["coverage"] == 0.5  # the truth on a bound is inside
    assert got["width"] == 0.5
    assert got["score"] == pytest.approx(np.mean([1, 1 + 10, 1 + 10, 1]) / 2)
    # a series whose seasonal naive is exact has no MASE scale (NaN or 0): its truths count in the coverage, which
    # needs none (its intervals are the ones to check), and the width and score say how many they leave out
    got = intervals.interval_scores(lo, hi, true, np.array([np.nan, 0.0, 2.0, 2.0]), 80)
    assert got == pytest.approx({"coverage": 0.5, "width": 0.5, "score": (11 + 1) / 2 / 2, "unscaled": 2})
    got = intervals.interval_scores(lo, hi, true, np.array([2.0, np.nan, np.nan, 2.0]), 80)  # both scaled inside
    assert got["coverage"] == 0.5 and got["score"] == pytest.approx(0.5) and got["unscaled"] == 2
    assert "unscaled" not in intervals.interval_scores(lo, hi, true, np.full(4, 2.0), 80)
    # none with a scale: the coverage on them all
    got = intervals.interval_scores(lo, hi, true, np.full(4, np.nan), 80)
    assert got["coverage"] == 0.5 and np.isnan(got["width"]) and np.isnan(got["score"])
    assert got["width_why"] == got["score_why"] == NO_SCALE  # strict JSON's null with the reason, not "not a number"


def calibration_doc(space: str, q80: list[float], q95: list[float]) -> dict[str, Any]:
    return {
        "horizon": len(q80),
        "space": space,
        "errors": [50] * len(q80),
        "scales": {"a": [2.0], "b": [0.5]},
        "quantiles": {"80": {"y": q80}, "95": {"y": q95}},
    }


@pytest.mark.parametrize("space", ["original", "log"])
def test_bands_are_ordered_monotone_in_the_level_and_scaled_per_series(space: str) -> None:
    doc = calibration_doc(space, [0.5, 1.0, 1.5], [1.0, 2.0, 3.0])
    pred = np.array([[[10.0], [11.0], [12.0]], [[1.0], [2.0], [3.0]]])  # (series a, b; 3 steps; 1 target)
    lo80, hi80 = intervals.bands(doc, pred, ["a", "b"], ["y"], 80)
    lo95, hi95 = intervals.bands(doc, pred, ["a", "b"], ["y"], 95)
    assert (lo95 <= lo80).all() and (lo80 <= pred).all() and (pred <= hi80).all() and (hi80 <= hi95).all()
    if space == "original":  # pred -/+ quantile x the series' scale
        np.testing.assert_allclose(hi80[0, :, 0] - pred[0, :, 0], [1.0, 2.0, 3.0])
        np.testing.assert_allclose(pred[1, :, 0] - lo95[1, :, 0], [0.5, 1.0, 1.5])
    else:  # on the log: a ratio around the forecast, positive bounds
        np.testing.assert_allclose(hi80[0, :, 0] / pred[0, :, 0], np.exp([1.0, 2.0, 3.0]))
        np.testing.assert_allclose(pred[1, :, 0] / lo80[1, :, 0], np.exp([0.25, 0.5, 0.75]))
        assert (lo95 > 0).all()


def test_a_zero_quantile_on_the_log_still_gives_bounds_around_the_forecast() -> None:
    """A forecast that was always right on validation has quantile 0; on the log its bounds are exp(log(x)), which
    misses x by a rounding error (above it for 3, below it for 5): the bounds still hold the forecast."""
    doc = calibration_doc("log", [0.0], [0.0])
    pred = np.array([[[3.0]], [[5.0]]])
    assert np.exp(np.log(3.0)) > 3.0 and np.exp(np.log(5.0)) < 5.0  # what the bounds would be, unclamped
    lo, hi = intervals.bands(doc, pred, ["a", "b"], ["y"], 80)
    assert (lo <= pred).all() and (pred <= hi).all()
    np.testing.assert_allclose(lo, pred, rtol=1e-15)
    np.testing.assert_allclose(hi, pred, rtol=1e-15)


def test_a_level_is_refused_below_exactly_needed_errors_and_given_at_them() -> None:
    doc = {"horizon": 2, "errors": [4, 4]}  # 80 % needs 4 errors (ceil(5 x 0.8) = 4th of 4)
    assert intervals.needed(80) == 4
    assert intervals.refused(doc, 80) is None
    intervals.check_levels(doc, [80], 2)
    doc["errors"] = [4, 3]
    assert intervals.refused(doc, 80, 1) is None  # the first step alone has its 4
    assert (
        intervals.refused(doc, 80) == "an 80 % interval needs at least 4 validation errors; the validation part gives 3"
    )
    with pytest.raises(ConfigError, match="the validation part gives 3 in this run"):
        intervals.check_levels(doc, [80], 2)


def test_scale_is_the_in_sample_seasonal_naive_mae_with_a_fallback_for_constant_history() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0], [6.0, 5.0]])
    np.testing.assert_allclose(intervals.scale_of(train, 1), [(2 + 1 + 4) / 3, 5.0])  # constant: mean |value|
    np.testing.assert_allclose(intervals.scale_of(np.zeros((4, 1)), 1), [1.0])
    scale, basis = intervals.scale_basis(train, 2)
    np.testing.assert_allclose(scale, [(1 + 3) / 2, 5.0])
    assert basis == ["seasonal-naive MAE", "mean absolute value"]
    scale, basis = intervals.scale_basis(train, 4)  # no row a season before another: the one-step naive MAE
    np.testing.assert_allclose(scale, [(2 + 1 + 4) / 3, 5.0])
    assert basis == ["naive MAE", "mean absolute value"]
    assert intervals.scale_basis(np.zeros((4, 1)), 1)[1] == ["1"]


def test_train_names_the_series_whose_intervals_rest_on_another_scale(
    write_project: WriteProject, tmp_path: Path
) -> None:
    """A constant series beside a moving one: its intervals are scaled by its mean absolute value, and train says
    so, naming it; calibration.json records the basis of that series alone."""
    rows = "".join(f"{2000 + i},A,{i % 5}\n{2000 + i},B,7\n" for i in range(60))
    cfg = write_project("year,s,y\n" + rows, data={"series_column": "s"}, training={"epochs": 1})
    res = CliRunner().invoke(app, ["train", str(cfg), "--output-dir", str(tmp_path / "run")])
    said = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "the intervals of series 'B' are scaled by the mean absolute value of their training part" in said, said
    assert "a constant training part gives no spread to scale by" in said and "series 'A' are" not in said, said
    assert "wide" not in said  # the width rests on the level: wide for a large level, narrow for a small one
    cal = json.loads((tmp_path / "run" / "calibration.json").read_text())
    assert cal["scale_bases"] == {"B": ["mean absolute value"]} and cal["scales"]["B"] == [7.0]


def test_steps_pool_by_their_spreads_into_one_quantile() -> None:
    # 10 origins, 2 steps: step 2's errors are twice step 1's; spreads 5.5 and 11, every ratio (1..10) / 5.5 twice
    e = np.arange(1.0, 11.0)
    errors = np.stack([e, 2 * e], axis=1)[:, :, None]
    counts, q = intervals.quantiles(errors, ["y"])
    assert counts == [20, 20]
    assert q["80"]["y"] == pytest.approx([9.0, 18.0])  # ceil(21 x 0.8) = 17th of 20 ratios: 9 / 5.5
    assert q["95"]["y"] == pytest.approx([10.0, 20.0])  # 20th of 20; one step alone (10 errors) has no 95 %
    assert math.isnan(intervals.conformal_quantile(e, 95))
    assert q["99"]["y"] == [None, None]  # 99 % needs 99 errors


def test_validation_origins_reach_into_the_validation_part_from_horizon_minus_1_rows_before() -> None:
    # series 0: validation rows [10, 14), horizon 3: origins 8 to 13; series 1 has no validation part
    assert intervals.reaching_jobs([(10, 14), (12, 12)], first=5, steps=3) == [(0, o) for o in range(8, 14)]
    assert intervals.reaching_jobs([(10, 14)], first=9, steps=3) == [(0, o) for o in range(9, 14)]  # history
    assert intervals.reaching_jobs([(10, 110)], first=0, steps=1, limit=3) == [(0, 10), (0, 60), (0, 109)]


def test_spreads_never_shrink_along_the_steps_and_fill_a_step_without_errors() -> None:
    errors = np.array([[4.0, 1.0, np.nan, 9.0], [2.0, 1.0, np.nan, 5.0]])  # means 3, 1, -, 7
    assert intervals.spreads(errors).tolist() == [3.0, 3.0, 3.0, 7.0]
    assert np.isnan(intervals.spreads(np.array([[np.nan, 1.0]])))[0]  # nothing before the first errors


def test_an_error_of_zero_spread_still_counts_and_gives_a_zero_quantile() -> None:
    counts, q = intervals.quantiles(np.zeros((30, 2, 1)), ["y"])  # a forecast that was always right
    assert counts == [60, 60] and q["95"]["y"] == [0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# a run's calibration


def test_calibration_counts_every_validation_error_per_step_and_nothing_after_the_validation_part(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    # 2 series of 50 rows, split val 10 rows, test 10: validation rows [30, 40); horizon 3, look_back 5
    cfg = write_project(
        index_csv(50, ["A", "B"]),
        data={"series_column": "s", "split": {"val": 10, "test": 10}},
        evaluate={"horizon": 3, "intervals": [50, 80]},
        training={"epochs": 1},
    )
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    doc = json.loads((run / "calibration.json").read_text())
    # origins o in [28, 40): step k's truth, row o + k - 1, is in the validation part for 10 origins per series
    assert doc["step_errors"] == [20, 20, 20] and doc["origins"] == 24 and doc["horizon"] == 3
    assert doc["errors"] == [60, 60, 60]  # each step's quantile rests on the errors of all steps, pooled
    # and on the training part's: origins o in [5, 30) (look_back 5 rows before), step k's truth below row 30
    assert doc["training_origins"] == 50 and doc["training_errors"] == [2 * (25 + 24 + 23)] * 3
    assert doc["levels"] == [50, 80] and doc["space"] == "original"
    assert set(doc["quantiles"]) == {str(lv) for lv in range(50, 100)}
    assert None not in doc["quantiles"]["95"]["y"]  # 60 pooled errors: 95 % needs 19
    # y = the row index: the scale is the training part's seasonal-naive MAE = 1 for both series
    assert doc["scales"] == {"A": [1.0], "B": [1.0]}
    # seasonal naive (season 1) forecasts the last value: its scaled errors at step k are exactly k, so every
    # ratio to its step's spread is 1, and every level's quantile is the spread itself
    assert doc["seasonal_naive"]["80"]["y"] == doc["seasonal_naive"]["95"]["y"] == [1.0, 2.0, 3.0]
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["intervals"]) == {"50", "80"}
    assert metrics["intervals"]["80"]["errors"] == 60 and metrics["intervals"]["80"]["training_errors"] == 144
    assert "asymmetric" not in metrics["intervals"]["80"]  # symmetric: the key is only written when true
    shown = CliRunner().invoke(app, ["evaluate", "--run", str(run)])
    assert "conformal prediction intervals: coverage" in " ".join(shown.stdout.split())
    assert shown.exit_code == 0, shown.output
    header = next(ln for ln in shown.stdout.splitlines() if "val. errors" in ln)
    table = shown.stdout[shown.stdout.index("conformal prediction intervals") :]
    rows = [[c.strip() for c in ln.split("│")[1:5]] for ln in table.splitlines() if " % │" in ln]
    assert [c.strip() for c in header.split("┃")[1:5]] == ["method", "level", "val. errors", "train. errors"]
    assert rows == [  # one row per method and level, as the MASE table's
        ["model", "50 %", "60", "144"],
        ["", "80 %", "60", "144"],
        ["s. naive", "50 %", "", ""],
        ["", "80 %", "", ""],
    ]
    assert metrics["intervals"]["80"]["seasonal_naive"]["coverage"] == 1.0  # error k at step k: on the bound
    assert keras.saving.load_model(run / "model.keras", safe_mode=True) is not None  # plain Keras still loads it


def zero_forecast_run(
    write_project: WriteProject,
    index_csv: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    **evaluate_keys: Any,
) -> tuple[Any, Any]:
    """(run, its dataset) of two index series of 50 rows (validation rows 30-39, horizon 3, look_back 5), trained,
    then forecast as 0 from every origin: each error is its truth, the row index."""
    from seqcast import forecast
    from seqcast.run import open_run

    cfg = write_project(
        index_csv(50, ["A", "B"]),
        data={"series_column": "s", "split": {"val": 10, "test": 10}},
        evaluate={"horizon": 3, **evaluate_keys},
        training={"epochs": 1},
    )
    run = open_run(train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir)
    monkeypatch.setattr(forecast, "forecast_origins", lambda r, v, n, jobs, steps, f=None: np.zeros((len(jobs), 3, 1)))
    return run, evaluate.run_dataset(run)


def origin_truths(origins: range, start: int, end: int) -> np.ndarray:
    """A zero_forecast_run's errors from `origins`: each of 3 steps' truth row, nan outside rows [start, end)."""
    rows = np.array([[o + k for k in range(3)] for o in origins], dtype=np.float64)
    return np.where((rows >= start) & (rows < end), rows, np.nan)[:, :, None]


def test_the_quantiles_pool_the_validation_and_training_parts_errors_exactly(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a forecast of 0 from every origin, each error is its truth, the row index: the quantiles must be those
    of the validation part's errors (rows 30-39, from origins 28-39) and the training part's (rows 5-29, from
    origins 5-29) pooled, for both series, and differ from the validation part's alone."""
    run, ds = zero_forecast_run(write_project, index_csv, tmp_path, monkeypatch)
    assert evaluate.history_rows(run) == 5
    doc = calibration.calibrate(run, [s.values for s in ds.series], ds.names)

    def given(q: dict[str, Any]) -> dict[str, Any]:  # null at the levels 60 validation errors cannot give (99 %)
        return {lv: {t: [v if intervals.needed(int(lv)) <= 60 else None for v in vs] for t, vs in per.items()}
                for lv, per in q.items()}  # fmt: skip

    validation, training = origin_truths(range(28, 40), 30, 40), origin_truths(range(5, 30), 5, 30)
    both = np.concatenate([validation, validation, training, training])  # series A and B alike
    assert doc["quantiles"] == given(intervals.quantiles(both, ["y"])[1])
    assert doc["quantiles"]["98"]["y"][0] is not None and doc["quantiles"]["99"]["y"] == [None] * 3
    alone = intervals.quantiles(np.concatenate([validation, validation]), ["y"])[1]
    assert doc["quantiles"]["80"]["y"] != alone["80"]["y"]
    assert doc["errors"] == [60] * 3 and doc["training_errors"] == [144] * 3
    # a long training part gives at most MAX_TRAINING_ORIGINS origins per series, evenly spread over it
    monkeypatch.setattr(calibration, "MAX_TRAINING_ORIGINS", 5)
    doc = calibration.calibrate(run, [s.values for s in ds.series], ds.names)
    training = origin_truths(range(5, 30, 6), 5, 30)  # origins 5, 11, 17, 23, 29
    assert doc["training_origins"] == 10 and doc["training_errors"] == [2 * (4 * 3 + 1)] * 3
    assert doc["quantiles"] == given(
        intervals.quantiles(np.concatenate([validation, validation, training, training]), ["y"])[1]
    )


def test_a_run_with_asymmetric_intervals_calibrates_each_tail_on_the_signed_errors_exactly(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate.asymmetric_intervals: the errors of the run above are all positive; the tails must be those of the
    validation and training parts' signed errors pooled, and every lower bound lies above the forecast."""
    run, ds = zero_forecast_run(write_project, index_csv, tmp_path, monkeypatch, asymmetric_intervals=True)
    assert run.calibration()["asymmetric"] is True  # what train wrote passes the reader's checks
    doc = calibration.calibrate(run, [s.values for s in ds.series], ds.names)
    validation, training = origin_truths(range(28, 40), 30, 40), origin_truths(range(5, 30), 5, 30)
    both = np.concatenate([validation, validation, training, training])  # series A and B alike
    want = intervals.tails(both, ["y"])
    assert doc["errors"] == [60] * 3 and doc["asymmetric"] is True
    for level in ("50", "80", "95"):  # 60 validation errors: 95 % needs 39 per tail
        assert doc["tails"]["quantiles"][level] == want[level]
        assert all(v is not None and v < 0 for v in want[level]["y"]["lo"])  # above the forecast of 0
    assert doc["tails"]["quantiles"]["97"]["y"]["hi"] == [None] * 3  # 98.5 % tails need 66
    assert doc["quantiles"]["80"] == intervals.quantiles(np.abs(both), ["y"])[1]["80"]  # the symmetric ones too


def test_train_shows_the_calibration_and_the_backtest_as_under_way(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both take seconds on a long series: they run inside the hook that draws a spinner on a terminal."""
    import contextlib
    from collections.abc import Iterator

    from seqcast.pipeline import Hooks

    under_way: list[str] = []
    seen: list[tuple[str, list[str]]] = []

    @contextlib.contextmanager
    def busy(message: str) -> Iterator[None]:
        under_way.append(message)
        try:
            yield
        finally:
            under_way.pop()

    real = calibration.calibrate

    def calibrate(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(("calibrate", list(under_way)))
        return real(*args, **kwargs)

    monkeypatch.setattr(calibration, "calibrate", calibrate)
    from seqcast import state

    real_save = state.save

    def save(*args: Any, **kwargs: Any) -> None:  # the run's files, the data read again: seconds on long series
        seen.append(("state", list(under_way)))
        real_save(*args, **kwargs)

    monkeypatch.setattr(state, "save", save)
    cfg = write_project(index_csv(60), training={"epochs": 1})
    train_run(load_config(cfg), output_dir=tmp_path / "run", hooks=Hooks(busy=busy))
    assert seen == [
        ("state", ["writing the model, and each series' state after its last row"]),
        ("calibrate", ["calibrating the intervals, then the backtest on the test part"]),
    ]
    assert json.loads((tmp_path / "run" / "calibration.json").read_text())["training_errors"]


def test_a_level_with_too_few_validation_errors_is_named_at_train_time_and_refused_at_forecast_time(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_project(index_csv(60), data={"split": {"val": 6, "test": 10}}, training={"epochs": 1})
    res = CliRunner().invoke(app, ["train", str(cfg), "--output-dir", "run"])
    assert res.exit_code == 0, res.output
    assert "no 95 % interval" in res.output and "data.split.val" in res.output
    assert "the validation part gives 6" in res.output
    # said last, after the summary and the scores it qualifies (as the safety net and the range notes are)
    assert res.output.index("no 95 % interval") > res.output.index("conformal prediction intervals")
    table = res.stdout[res.stdout.index("conformal prediction intervals") :]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines() if "│  95 %" in line]
    assert rows == [["", "95 %", "", "", "none", "", ""]]  # the model's; seasonal naive's row of it is left out
    drawn = [line for line in table.splitlines() if line[:1] in "┏┃┡│├└"]
    assert max(map(len, drawn)) <= 80  # the reason under the table, not in a cell that widens it
    assert "95 %: a 95 % interval needs at least 19 validation errors; the validation part gives 6" in table
    cal = json.loads((tmp_path / "run" / "calibration.json").read_text())
    assert cal["errors"] == [6]  # 6 validation errors: a quantile up to 85 %, none (null) from 86 % on
    for q in (cal["quantiles"], cal["seasonal_naive"]):
        assert q["85"]["y"][0] is not None and q["86"]["y"] == [None] and q["95"]["y"] == [None]
    ok = CliRunner().invoke(app, ["forecast", "--run", "run", "--steps", "1", "--interval", "80", "--output", "f.csv"])
    assert ok.exit_code == 0, ok.output
    assert list(pd.read_csv(tmp_path / "f.csv").columns) == ["year", "y", "y_lo_80", "y_hi_80"]
    row = pd.read_csv(tmp_path / "f.csv").iloc[0]  # the table shows the two bounds as one column, "lo .. hi"
    assert "y 80 %" in ok.output and f"{row['y_lo_80']:.4g} .. {row['y_hi_80']:.4g}" in ok.output, ok.output
    bad = CliRunner().invoke(app, ["forecast", "--run", "run", "--steps", "1", "--interval", "95", "--output", "g.csv"])
    assert bad.exit_code == 2, bad.output
    assert "data.split.val" in bad.output and "at least 19 validation errors" in bad.output
    assert not (tmp_path / "g.csv").exists()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--steps", "2", "--interval", "40"], 2, ("--interval", "50 to 99")),
        (["--steps", "2", "--interval", "80.5"], 2, ("--interval: interval levels are whole percentages", "not 80.5")),
        (["--steps", "2", "--interval", "99.99999999999"], 2, ("not 99.99999999999",)),  # not rounded to 100
        (["--steps", "1", "--interval", "80.0", "--output", "-"], 0, ("y_lo_80,y_hi_80",)),  # 80.0 is 80
        (["--steps", "3", "--interval", "80"], 2, ("--steps", "calibrated for 2 steps", "evaluate.horizon")),
    ],
)
def test_forecast_interval_arguments_are_checked(
    write_project: WriteProject,
    index_csv: Callable[..., str],
    tmp_path: Path,
    args: list[str],
    code: int,
    words: tuple[str, ...],
) -> None:
    cfg = write_project(index_csv(60), evaluate={"horizon": 2}, training={"epochs": 1})
    train_run(load_config(cfg), output_dir=tmp_path / "run")
    res = CliRunner().invoke(app, ["forecast", "--run", str(tmp_path / "run"), *args])
    assert res.exit_code == code, res.output
    assert all(w in res.output for w in words), res.output


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("quantile", "level '80'"),
        ("training_errors", "no valid 'training_errors' (a count per step, 1 steps)"),
        ("level", "has no 'quantiles' for level 80, one of its 'levels'"),  # was a KeyError
        ("null", "has a null 'quantiles' quantile for level '80' at a step whose errors suffice"),  # blank bounds
        ("scale", "has no scale for series '', one the run was trained on"),  # another series' scale
        ("key100", "has 'quantiles' for level '100', no whole percentage from 50 to 99"),  # was a ZeroDivisionError
        ("levels", "has no valid 'levels' (whole percentages from 50 to 99)"),  # was a TypeError
        ("other level", "calibration.json has no 'quantiles' for level 70"),  # not in 'levels': was a KeyError
    ],
)
def test_a_damaged_calibration_json_is_named(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, damage: str, said: str
) -> None:
    cfg = write_project(index_csv(60), training={"epochs": 1})
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    doc = json.loads((run / "calibration.json").read_text())
    if damage == "quantile":
        doc["quantiles"]["80"]["y"][0] = -1.0
    elif damage == "level":
        del doc["quantiles"]["80"]
    elif damage == "null":
        doc["quantiles"]["80"]["y"][0] = None
    elif damage == "scale":
        doc["scales"] = {}
    elif damage == "key100":
        doc["quantiles"]["100"] = doc["quantiles"]["80"]
    elif damage == "levels":
        doc["levels"] = None
    elif damage == "other level":  # a level forecast may ask for, not one of evaluate.intervals
        del doc["quantiles"]["70"]
    else:
        doc["training_errors"] = [-1]
    (run / "calibration.json").write_text(json.dumps(doc))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    level = "70" if damage == "other level" else "80"
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "1", "--interval", level])
    assert res.exit_code == 1, res.output
    assert "calibration.json" in res.output and said in " ".join(res.output.split())
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_calibration_json_without_training_errors_still_gives_intervals(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    """A run trained before the training part's errors were pooled has no training_errors: its intervals stand."""
    cfg = write_project(index_csv(60), training={"epochs": 1})
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    doc = json.loads((run / "calibration.json").read_text())
    del doc["training_errors"], doc["training_origins"]
    (run / "calibration.json").write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "1", "--interval", "80", "--output", "-"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "year,y,y_lo_80,y_hi_80"
    shown = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--json"])
    assert shown.exit_code == 0, shown.output
    assert "training_errors" not in json.loads(shown.stdout)["intervals"]["80"]


# ---------------------------------------------------------------------------------------------
# coverage of a known process


def ar1_csv(path: Path, n: int, series: int, phi: float, sigma: float, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(series):
        x = np.zeros(n)
        for t in range(1, n):
            x[t] = phi * x[t - 1] + rng.normal(0, sigma)
        rows += [(s, t, 10 + v) for t, v in enumerate(x)]
    pd.DataFrame(rows, columns=["s", "t", "y"]).to_csv(path, index=False)


def test_intervals_of_an_ar1_hold_their_coverage_and_match_the_true_interval(tmp_path: Path) -> None:
    """x[t] = 0.6 x[t-1] + N(0, 1): the best one-step forecast misses by N(0, 1), so the true 80 % interval is
    -/+ 1.2816 and the 95 % one -/+ 1.96. On 4 series x 1,500 rows the conformal intervals cover the test
    part's one-step truths at their level, within three standard errors of the sampling."""
    ar1_csv(tmp_path / "ar.csv", 1500, 4, 0.6, 1.0)
    (tmp_path / "ar.yaml").write_text(
        "data: {path: ar.csv, series_column: s, time_column: t, targets: [y], transform: none,"
        " split: {val: 0.3, test: 0.3}}\n"
        "windows: {look_back: 8}\nmodel: {units: [8], ensemble: 1}\n"
        "training: {epochs: 8, batch_size: 64, learning_rate: 0.01}\nevaluate: {horizon: 1, intervals: [80, 95]}\n"
    )
    run = train_run(load_config(tmp_path / "ar.yaml"), output_dir=tmp_path / "run").run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    cal = json.loads((run / "calibration.json").read_text())
    n = metrics["origins"]  # one-step errors in the test part, all series
    assert n == 4 * 450
    for level, z in (("80", 1.2816), ("95", 1.96)):
        p = int(level) / 100
        got = metrics["intervals"][level]
        assert abs(got["coverage"] - p) <= 3 * math.sqrt(p * (1 - p) / n), (level, got)
        half = cal["quantiles"][level]["y"][0] * cal["scales"]["0"][0]  # half-width in original units
        assert half == pytest.approx(z, rel=0.12), (level, half)


def test_a_run_without_calibration_json_forecasts_points_and_refuses_intervals_by_name(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    cfg = write_project(index_csv(60), training={"epochs": 1})
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    (run / "calibration.json").unlink()  # a run written before intervals existed
    ok = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "1", "--output", str(tmp_path / "f.csv")])
    assert ok.exit_code == 0, ok.output
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "1", "--interval", "80"])
    assert res.exit_code == 1, res.output
    assert f"{run}: the run has no calibration.json" in res.stderr
    assert "forecast without --interval" in res.stderr
    shown = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--json"])  # its point scores, and every level
    assert shown.exit_code == 0, shown.output  # of evaluate.intervals said refused, where the section was dropped
    doc = json.loads(shown.stdout)
    assert sorted(doc["intervals"]) == ["80", "95"] and doc["model"]["mae"] > 0
    assert all(v == {"refused": "the run has no calibration.json, which the intervals come from (train writes it)"}
               for v in doc["intervals"].values())  # fmt: skip
    assert json.loads((run / "metrics.json").read_text())["intervals"] == doc["intervals"]
    table = CliRunner().invoke(app, ["evaluate", "--run", str(run)])
    assert "the run has no calibration.json" in " ".join(table.output.split()), table.output


def test_evaluate_scores_intervals_within_the_calibrated_steps_and_refuses_beyond(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    cfg = write_project(index_csv(80), evaluate={"horizon": 2}, training={"epochs": 1})
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    short = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--horizon", "1", "--json"])
    assert short.exit_code == 0, short.output
    got = json.loads(short.stdout)["intervals"]["80"]
    assert set(got) == {"coverage", "width", "score", "errors", "training_errors", "seasonal_naive"}
    assert 0 <= got["coverage"] <= 1
    long = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--horizon", "3", "--json"])
    assert long.exit_code == 0, long.output
    assert json.loads(long.stdout)["intervals"]["95"] == {"refused": "calibrated for 2 steps, the backtest has 3"}


def test_a_target_scaled_otherwise_is_named_as_a_target_not_as_a_series() -> None:
    doc = {"horizon": 1, "errors": [100], "scale_bases": {"A": ["seasonal-naive MAE", "1"]}}
    assert intervals.train_notes(doc, [80], ["level", "flow"]) == [
        "the intervals of series 'A', target 'flow' are scaled by 1: a training part constant at 0, so their width "
        "and coverage are a guess"
    ]
