"""evaluate.asymmetric_intervals: each bound from its own tail of the signed errors (intervals.tails); the exact
calibration of a run with it is in test_intervals, beside the symmetric one's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqcast import intervals
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.pipeline import train_run

WriteProject = Callable[..., Path]


def test_each_tail_is_the_conformal_quantile_of_the_signed_ratios_at_its_own_level() -> None:
    # one target, two steps; step 2's errors are twice step 1's, so the spreads are 4.6 and 9.2 and every ratio
    # (-1, 1, 2, ..., 9) / 4.6 comes twice: 20 pooled ratios
    e = np.array([-1.0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    errors = np.stack([e, 2 * e], axis=1)[:, :, None]
    got = intervals.tails(errors, ["y"])
    # 80 %: each tail at 90 %, the ceil(21 x 0.9) = 19th smallest of 20: 9 above; of the negatives (-9 .. -1, 1
    # twice each) the 19th smallest is 1: 1 below
    assert got["80"]["y"]["hi"] == pytest.approx([9.0, 18.0])
    assert got["80"]["y"]["lo"] == pytest.approx([1.0, 2.0])
    # 50 %: each tail at 75 %, the ceil(21 x 0.75) = 16th smallest: 7 above, and -2 below, a lower bound above
    # the forecast, since nine errors in ten were positive
    assert got["50"]["y"]["hi"] == pytest.approx([7.0, 14.0])
    assert got["50"]["y"]["lo"] == pytest.approx([-2.0, -4.0])
    # 95 %: each tail at 97.5 % needs 39 errors, the 21st of 20 does not exist
    assert got["95"]["y"] == {"lo": [None, None], "hi": [None, None]}
    assert [intervals.needed_for({"asymmetric": True}, lv) for lv in (50, 80, 90, 95)] == [3, 9, 19, 39]
    assert [intervals.needed_for({}, lv) for lv in (50, 80, 90, 95)] == [1, 4, 9, 19]


def asymmetric_doc(lo: list[float], hi: list[float]) -> dict[str, Any]:
    per = {"80": {"y": {"lo": lo, "hi": hi}}}
    return {
        "horizon": len(lo),
        "space": "original",
        "asymmetric": True,
        "errors": [50] * len(lo),
        "scales": {"a": [2.0], "b": [0.5]},
        "tails": {"quantiles": per, "seasonal_naive": per},
    }


def test_asymmetric_bands_reach_each_side_by_its_own_tail_times_the_series_scale() -> None:
    doc = asymmetric_doc([0.5, -0.5], [3.0, 4.0])  # step 2: the lower bound lies above the forecast
    pred = np.array([[[10.0], [11.0]], [[1.0], [2.0]]])  # (series a, b; 2 steps; 1 target)
    lo, hi = intervals.bands(doc, pred, ["a", "b"], ["y"], 80)
    np.testing.assert_allclose(lo[:, :, 0], [[10 - 1.0, 11 + 1.0], [1 - 0.25, 2 + 0.25]])
    np.testing.assert_allclose(hi[:, :, 0], [[10 + 6.0, 11 + 8.0], [1 + 1.5, 2 + 2.0]])
    lo_n, _ = intervals.bands(doc, pred, ["a", "b"], ["y"], 80, "seasonal_naive")
    np.testing.assert_allclose(lo_n, lo)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=40, max_size=120),
    st.integers(50, 94),
    st.integers(1, 5),
)
def test_asymmetric_bands_are_ordered_and_monotone_in_the_level(signed: list[float], low: int, more: int) -> None:
    errors = np.array(signed).reshape(-1, 1, 1)
    doc = asymmetric_doc([0.0], [0.0]) | {"errors": [len(signed)]}
    doc["tails"]["quantiles"] = intervals.tails(errors, ["y"])
    high = low + more
    pred = np.array([[[3.0]], [[-7.0]]])
    if intervals.refused(doc, high) is not None:  # too few errors for the wider level's tails
        return
    lo1, hi1 = intervals.bands(doc, pred, ["a", "b"], ["y"], low)
    lo2, hi2 = intervals.bands(doc, pred, ["a", "b"], ["y"], high)
    assert (lo1 <= hi1).all() and (lo2 <= hi2).all()
    assert (lo2 <= lo1).all() and (hi1 <= hi2).all()


def test_too_few_validation_errors_for_both_tails_refuse_a_level_the_symmetric_interval_gives(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_project(
        index_csv(80), data={"split": {"val": 25, "test": 10}}, evaluate={"asymmetric_intervals": True},
        training={"epochs": 1},
    )  # fmt: skip
    res = CliRunner().invoke(app, ["train", str(cfg), "--output-dir", "run"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "no 95 % interval" in said and "each tail a 97.5 % quantile" in said and "data.split.val" in said
    assert "needs at least 39 validation errors; the validation part gives 25" in said
    assert "conformal prediction intervals (asymmetric: each bound from its own tail)" in said  # the table's title
    cal = json.loads((tmp_path / "run" / "calibration.json").read_text())
    assert cal["quantiles"]["95"]["y"][0] is not None  # a symmetric 95 % interval needs 19: it would be given
    assert cal["tails"]["quantiles"]["95"]["y"] == {"lo": [None], "hi": [None]}
    assert cal["tails"]["quantiles"]["90"]["y"]["hi"][0] is not None  # 95 % tails need 19
    ok = CliRunner().invoke(app, ["forecast", "--run", "run", "--steps", "1", "--interval", "80", "--output", "f.csv"])
    assert ok.exit_code == 0, ok.output
    row = pd.read_csv(tmp_path / "f.csv").iloc[0]
    assert row["y_lo_80"] <= row["y_hi_80"]
    bad = CliRunner().invoke(app, ["forecast", "--run", "run", "--steps", "1", "--interval", "95", "--output", "g.csv"])
    assert bad.exit_code == 2, bad.output
    assert "data.split.val" in bad.output and "at least 39 validation errors" in " ".join(bad.output.split())
    assert not (tmp_path / "g.csv").exists()
    assert keras.saving.load_model(tmp_path / "run" / "model.keras", safe_mode=True) is not None


def test_the_backtest_scores_the_asymmetric_bands_the_forecast_writes(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_project(index_csv(80), evaluate={"horizon": 2, "asymmetric_intervals": True}, training={"epochs": 1})
    train_run(load_config(cfg), output_dir=tmp_path / "run")
    cal = json.loads((tmp_path / "run" / "calibration.json").read_text())
    res = CliRunner().invoke(app, ["forecast", "--steps", "2", "--interval", "80", "--output", "f.csv"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "f.csv")
    pred = out["y"].to_numpy()[None, :, None]
    lo, hi = intervals.bands(cal, pred, [""], ["y"], 80)
    np.testing.assert_allclose(out["y_lo_80"], lo[0, :, 0], rtol=1e-6)
    np.testing.assert_allclose(out["y_hi_80"], hi[0, :, 0], rtol=1e-6)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["intervals"]["80"]) >= {"coverage", "width", "score", "seasonal_naive"}
    assert metrics["intervals"]["80"]["asymmetric"] is True  # the shape is in metrics.json, beside the scores
    shown = CliRunner().invoke(app, ["evaluate", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["intervals"]["80"]["asymmetric"] is True


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("no tails", "has no valid 'tails' ('quantiles' and 'seasonal_naive'), which 'asymmetric' needs"),
        ("null", "has no valid 'tails' 'quantiles' for level '80'"),
        ("lost", "has no 'tails' 'seasonal_naive' for level 80, one of its 'levels'"),
        ("flag", "has no valid 'asymmetric' (true or false)"),
        ("other level", "calibration.json has no 'tails' 'quantiles' for level 70"),  # not in 'levels': a KeyError
    ],
)
def test_a_damaged_asymmetric_calibration_is_named_and_nothing_changes(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path, damage: str, said: str
) -> None:
    cfg = write_project(
        index_csv(80), data={"split": {"val": 20, "test": 10}}, evaluate={"asymmetric_intervals": True},
        training={"epochs": 1},
    )  # fmt: skip
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    doc = json.loads((run / "calibration.json").read_text())
    if damage == "no tails":
        del doc["tails"]
    elif damage == "null":
        doc["tails"]["quantiles"]["80"]["y"]["lo"][0] = None
    elif damage == "lost":
        del doc["tails"]["seasonal_naive"]["80"]
    elif damage == "other level":  # a level forecast may ask for, not one of evaluate.intervals
        del doc["tails"]["quantiles"]["70"]
    else:
        doc["asymmetric"] = "yes"
    (run / "calibration.json").write_text(json.dumps(doc))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    level = "70" if damage == "other level" else "80"
    res = CliRunner().invoke(app, ["forecast", "--run", str(run), "--steps", "1", "--interval", level])
    assert res.exit_code == 1, res.output
    assert "calibration.json" in res.output and said in " ".join(res.output.split())
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_bad_asymmetric_intervals_value_names_the_key(write_project: WriteProject, tmp_path: Path) -> None:
    cfg = write_project(evaluate={"asymmetric_intervals": "sometimes"})
    res = CliRunner().invoke(app, ["train", str(cfg), "--output-dir", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert "evaluate.asymmetric_intervals" in res.output
    assert not (tmp_path / "run").exists()
