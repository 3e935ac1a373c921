"""data.transform as steps: each step's forward and inverse, the names, and the candidates of auto."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcast.transforms import SEASONAL_STEPS, Transform, auto_candidates, denormalise, normalise_window


@pytest.mark.parametrize(
    ("name", "season", "parts", "lost"),
    [
        ("none", 1, (False, 0, False, False), 0),
        ("log", 1, (True, 0, False, False), 0),
        ("seasonal", 12, (False, 12, False, False), 12),
        ("log+seasonal+difference", 4, (True, 4, True, False), 5),
        ("log+window_norm", 1, (True, 0, False, True), 0),
        ("difference", 7, (False, 0, True, False), 1),
        ("seasonal_mean", 4, (False, 4, False, False), 8),
        ("log+seasonal_mean+difference", 12, (True, 12, True, False), 25),
        ("deseason", 4, (False, 4, False, False), 8),
        ("log+deseason+window_norm", 12, (True, 12, False, True), 24),
    ],
)
def test_names_parse_into_their_steps_and_back(name: str, season: int, parts: tuple, lost: int) -> None:
    t = Transform.parse(name, season)
    assert (t.log, t.season, t.difference, t.window_step == "window_norm") == parts
    assert t.window_step != "window_mean" and t.per_window == (t.window_step == "window_norm")
    assert t.seasonal_step == next((s for s in SEASONAL_STEPS if s in name.split("+")), "")
    assert t.two_seasons == ("seasonal_mean" in name or "deseason" in name) and t.deseason == ("deseason" in name)
    assert t.name == name and t.lost == lost


@pytest.mark.parametrize(
    ("name", "season", "message"),
    [
        ("bogus", 4, "is not a transform"),
        ("", 4, "is not a transform"),
        (
            "window_norm+log",
            4,
            "in the order log + seasonal + seasonal_mean + deseason + difference + window_norm + window_mean + "
            "window_trend",
        ),
        ("seasonal+seasonal_mean", 4, "seasonal and seasonal_mean are references for one step"),
        ("seasonal_mean+deseason", 4, "seasonal_mean and deseason are references for one step"),
        ("deseason", 1, "needs evaluate.season of 2 or more (it is 1)"),
        ("seasonal_mean", 1, "needs evaluate.season of 2 or more (it is 1)"),
        ("log+log", 4, "each step once"),
        ("difference+window_norm", 4, "difference and window_norm each remove the level"),
        ("window_norm+window_mean", 4, "window_norm and window_mean each remove the level"),
        ("difference+window_mean", 4, "difference and window_mean each remove the level"),
        ("window_norm+window_trend", 4, "window_norm and window_trend each remove the level"),
        ("seasonal", 1, "needs evaluate.season of 2 or more (it is 1)"),
    ],
)
def test_invalid_names_are_refused_with_the_reason(name: str, season: int, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        Transform.parse(name, season)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(
        [
            "seasonal",
            "difference",
            "seasonal+difference",
            "seasonal_mean",
            "seasonal_mean+difference",
            "deseason",
            "deseason+difference",
            "none",
        ]
    ),
    season=st.integers(2, 7),
    steps=st.integers(1, 20),
    seed=st.integers(0, 1000),
)
def test_inverse_undoes_forward_from_the_rows_before_any_origin(name: str, season: int, steps: int, seed: int) -> None:
    """Feeding the true model units of the next `steps` rows back through inverse gives those rows' values, for
    horizons longer than the season too (then it builds on its own reconstructed values)."""
    t = Transform.parse(name, season)
    rng = np.random.default_rng(seed)
    scaled = rng.normal(size=(60, 2)).cumsum(axis=0)  # (rows, targets)
    units = t.forward(scaled)
    assert np.isnan(units[: t.lost]).all() and np.isfinite(units[t.lost :]).all()
    origin = 30
    got = t.inverse(units[None, origin : origin + steps], scaled[None, origin - t.lost : origin])
    np.testing.assert_allclose(got[0], scaled[origin : origin + steps], atol=1e-9)


def test_seasonal_step_makes_seasonal_naive_the_zero_forecast() -> None:
    """A network that predicts zero seasonal changes forecasts the last season again, as seasonal naive does."""
    t = Transform.parse("seasonal", 4)
    history = np.arange(12.0)[:, None] ** 2  # (rows, 1)
    got = t.inverse(np.zeros((1, 10, 1)), history[None, -4:])
    np.testing.assert_array_equal(got[0, :, 0], np.tile(history[-4:, 0], 3)[:10])


def test_seasonal_mean_step_makes_the_mean_of_the_last_two_seasons_the_zero_forecast() -> None:
    """seasonal_mean: a zero forecast is the mean of the same step in the last two seasons, then of the forecast
    season and the season before it."""
    t = Transform.parse("seasonal_mean", 4)
    history = np.arange(12.0)[:, None] ** 2  # the last 8 rows: 16, 25, ..., 121
    got = t.inverse(np.zeros((1, 6, 1)), history[None, -8:])[0, :, 0]
    np.testing.assert_array_equal(got[:4], [(16 + 64) / 2, (25 + 81) / 2, (36 + 100) / 2, (49 + 121) / 2])
    np.testing.assert_array_equal(got[4:], [(got[0] + 64) / 2, (got[1] + 81) / 2])
    units = t.forward(history)
    assert np.isnan(units[:8]).all() and units[8, 0] == 64 - (16 + 0) / 2


def test_deseason_removes_a_fixed_season_and_keeps_the_level() -> None:
    """deseason: a season repeating on a trend leaves the trend (shifted by a constant: the index of two seasons
    is taken around their middle); holding the last deseasonalized value (window_norm's zero forecast) repeats
    the season."""
    t = Transform.parse("deseason", 4)
    season, trend = np.array([1.0, 5.0, 2.0, 8.0]), 0.5 * np.arange(20.0)
    units = t.forward((np.tile(season, 5) + trend)[:, None])[:, 0]
    assert np.isnan(units[:8]).all()
    np.testing.assert_allclose(units[8:], trend[8:] + units[8] - trend[8], atol=1e-12)  # the trend, shifted
    np.testing.assert_allclose(units[8] - trend[8], season.mean() + 0.5 * 1.5, atol=1e-12)  # 0.5 x (4 - 1) / 2
    assert t.keeps_level and not Transform.parse("deseason+window_norm", 4).keeps_level
    history = np.tile(season, 3)[:, None]  # no trend: a constant, the season's mean
    level = t.forward(history)[-1, 0]
    assert level == season.mean()
    got = t.inverse(np.full((1, 6, 1), level), history[None, -8:])[0, :, 0]
    np.testing.assert_allclose(got, np.tile(season, 2)[:6], atol=1e-12)


def test_log_is_taken_of_the_targets_only_and_undone() -> None:
    t = Transform.parse("log", 1)
    values = np.array([[1.0, -3.0], [np.e, 5.0]])  # target, feature
    np.testing.assert_allclose(t.pre(values, 1), [[0.0, -3.0], [1.0, 5.0]])
    np.testing.assert_allclose(t.post(np.array([0.0, 1.0])), [1.0, np.e])


@pytest.mark.parametrize(
    ("mode", "season", "expected"),
    [
        ("lookback", 1, ["none", "window_norm", "window_trend"]),
        ("lookback", 12, ["none", "window_norm", "window_trend", "deseason+window_norm"]),
        ("lookback", 4, ["none", "window_norm", "window_trend", "deseason+window_norm"]),
        ("stateful", 24, ["none", "difference", "seasonal"]),
        ("stateful", 1, ["none", "difference"]),
    ],
)
def test_auto_tries_the_steps_that_apply(mode: str, season: int, expected: list[str]) -> None:
    assert auto_candidates(mode, season) == expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"none": 1.0, "window_norm": 0.5}, "window_norm"),
        ({"none": 0.5, "window_norm": 0.52}, "window_norm"),  # within 5 %: level-free before levels
        ({"none": 0.52, "window_norm": 0.5}, "window_norm"),
        ({"none": 0.5, "difference": 0.524}, "difference"),  # stateful: the same
        ({"none": 0.5, "window_norm": 0.53}, "none"),  # 6 % worse: levels win
        ({"none": 0.5, "window_norm": 0.6, "window_trend": 0.51}, "none"),  # else the simplest within 5 %
        ({"none": 0.6, "window_norm": 0.7, "window_trend": 0.52, "seasonal": 0.5}, "window_trend"),
        ({"none": 0.6, "window_norm": 0.52, "seasonal": 0.5}, "window_norm"),
        ({"none": float("inf"), "window_norm": 0.7}, "window_norm"),  # a diverged candidate never wins
        ({"none": float("inf")}, None),
    ],
)
def test_auto_keeps_the_level_free_or_simplest_candidate_within_a_few_percent_of_the_best(
    scores: dict[str, float], expected: str | None
) -> None:
    from seqcast.select import LEVEL_FREE_FIRST, SIMPLER_WITHIN, pick

    assert SIMPLER_WITHIN == 0.05
    assert LEVEL_FREE_FIRST == ("window_norm", "difference")
    assert pick(scores) == expected


@pytest.mark.parametrize(
    ("scores", "note"),
    [
        ({"none": 0.5, "window_norm": 0.6}, ""),  # the lowest won: nothing to explain
        (
            {"none": 0.5, "window_norm": 0.52},
            "; window_norm within 5% of none's: a tie, the level-free step before levels",
        ),
        (
            {"none": 0.6, "window_norm": 0.51, "window_trend": 0.5},
            "; window_norm within 5% of window_trend's: a tie, the simplest",
        ),
        (
            {"none": 0.51, "window_norm": 0.9, "seasonal": 0.5, "x": float("inf")},
            "; none within 5% of seasonal's: a tie, the simplest",
        ),
    ],
)
def test_the_reason_says_why_a_tie_went_to_a_candidate_that_did_not_score_lowest(
    scores: dict[str, float], note: str
) -> None:
    from seqcast.select import pick, tie_note

    assert tie_note(scores, str(pick(scores))) == note


def test_window_mean_parses_and_normalises_around_the_window_mean() -> None:
    t = Transform.parse("log+window_mean", 4)
    assert (t.log, t.window_step == "window_norm", t.window_step == "window_mean", t.per_window, t.lost, t.name) == (
        True, False, True, True, 0, "log+window_mean"
    )  # fmt: skip
    x = np.arange(24, dtype=np.float32).reshape(2, 4, 3)  # (batch, look_back, inputs)
    shape, ref, slope = normalise_window(x, "window_mean")
    assert slope is None
    np.testing.assert_array_equal(ref, x.mean(axis=1, keepdims=True))
    np.testing.assert_array_equal(shape + ref, x)
    assert shape.dtype == np.float32 and (shape.mean(axis=1) == 0).all()
    shape, ref, _ = normalise_window(x)  # window_norm: the last row
    np.testing.assert_array_equal(ref, x[:, -1:])


def test_window_trend_takes_away_each_window_line_through_its_last_row() -> None:
    t = Transform.parse("deseason+window_trend", 4)
    assert (t.window_step, t.per_window, t.keeps_level, t.lost, t.name) == (
        "window_trend", True, False, 8, "deseason+window_trend"
    )  # fmt: skip
    rng = np.random.default_rng(3)
    steps = np.arange(6.0)
    x = (rng.normal(size=(4, 6, 3)) + 10 + 2.5 * steps[None, :, None]).astype(np.float32)  # (batch, lb, inputs)
    x[:, :, 2] = 7.0  # a static input: passes through (fixed=1)
    shape, level, slope = normalise_window(x, "window_trend", fixed=1)
    assert slope is not None and shape.dtype == np.float32
    want = np.array([[np.polyfit(steps, w[:, j], 1)[0] for j in range(2)] for w in x])  # least squares, per column
    np.testing.assert_allclose(slope[:, 0, :2], want, rtol=1e-6)
    assert (slope[:, 0, 2] == 0).all() and (level[:, 0, 2] == 0).all() and (shape[:, :, 2] == 7).all()
    np.testing.assert_array_equal(level[:, 0, :2], x[:, -1, :2])
    line = x[:, -1:, :2] + slope[:, :, :2] * (steps - 5)[:, None]  # through the last row
    np.testing.assert_allclose(shape[:, :, :2], x[:, :, :2] - line, atol=1e-5)
    assert np.abs(shape[:, -1, :2]).max() == 0  # the line goes through the last row
    ahead = denormalise(np.zeros((4, 3, 2), np.float32), level, slope)  # a network saying 0: the line goes on
    np.testing.assert_allclose(ahead, x[:, -1:, :2] + slope[:, :, :2] * np.arange(1.0, 4)[:, None], rtol=1e-6)
    assert ahead.dtype == np.float32


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-100, 100), min_size=2, max_size=9),
    st.floats(-1e3, 1e3),
    st.floats(-50, 50),
)
def test_window_trend_ignores_any_line_added_to_a_window(values: list[float], a: float, b: float) -> None:
    """What the network sees is the same whatever level and trend the window sits on; that line comes back."""
    x = np.array(values)[None, :, None]
    moved = x + a + b * np.arange(len(values))[None, :, None]
    shape, level, slope = normalise_window(x, "window_trend")
    shape2, level2, slope2 = normalise_window(moved, "window_trend")
    scale = 1 + abs(a) + abs(b) * len(values)
    np.testing.assert_allclose(shape2, shape, atol=1e-9 * scale)
    y = np.array([[[0.5], [-1.0]]])
    np.testing.assert_allclose(
        denormalise(y, level2, slope2) - denormalise(y, level, slope),
        a + b * (len(values) - 1 + np.array([[[1.0], [2.0]]])),
        atol=1e-9 * scale,
    )


def test_the_fixed_inputs_pass_through_the_seasonal_step_and_the_difference_exact() -> None:
    """Transform.fixed: the last inputs (static, series identity) stay as scaled; the others change as before."""
    x = np.array([[1.0, 5.0], [3.0, 5.0], [6.0, 5.0], [10.0, 5.0]])
    out = Transform.parse("seasonal+difference", season=2, fixed=1).forward(x)
    np.testing.assert_array_equal(out[:, 1], [5.0] * 4)
    np.testing.assert_array_equal(out[3:, 0], [(10 - 3) - (6 - 1)])
    np.testing.assert_array_equal(Transform.parse("difference").forward(x)[1:, 1], [0.0] * 3)  # fixed=0: as before


def test_the_safety_net_names_the_backtest_it_scored_and_tells_autos_trial_scores_apart() -> None:
    from types import SimpleNamespace

    from seqcast.select import losing_note

    ev = SimpleNamespace(season=1, horizon=10)
    assert losing_note({}, ev, auto=20) is None  # no validation backtest: no verdict
    assert losing_note({"origins": 2, "model": 0.9, "seasonal_naive": 1.0}, ev, auto=0) is None
    nan = float("nan")  # seasonal naive exact on the training part: no MASE scale, no "MASE nan is worse than nan"
    assert losing_note({"origins": 2, "model": nan, "seasonal_naive": nan}, ev, auto=0) is None
    lost = {"origins": 2, "model": 4.965, "seasonal_naive": 3.599}
    said = losing_note(lost, ev, auto=0)
    assert said is not None and said.startswith("on the validation part (2 origins x horizon 10, as the test part's ")
    assert "(MASE 4.965) is worse than seasonal naive (MASE 3.599, season 1)" in said
    assert "forecasting the last value beats this model" in said and "trial" not in said
    said = losing_note(lost | {"origins": 1}, SimpleNamespace(season=12, horizon=12), auto=5)
    assert said is not None and "(1 origin x horizon 12" in said
    assert "auto's trial scores come from 5-epoch networks" in said  # training.epochs: 5, under BRIEF_EPOCHS
    assert "the value one season earlier" in said


def test_a_candidate_that_fails_is_said_to_and_left_out_of_the_scores(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A diverged trial was shown as 'window_trend inf' and written to preprocess.json as a null score beside a
    'window_trend_why' key, which is no candidate. Its failure is said; the scores hold numbers only."""
    from pathlib import Path

    from test_train import write_config

    from seqcast import select
    from seqcast.config import load_config
    from seqcast.errors import DataError
    from seqcast.pipeline import plan_and_scale

    cfg = load_config(
        write_config(Path(str(tmp_path)), data={"transform": "auto", "features": []}), ["evaluate.season=4"]
    )
    p, scaler = plan_and_scale(cfg, None)

    def score(cfg: object, p: object, scaler: object, candidate: str, *rest: object) -> float:
        if candidate == "window_trend":
            raise DataError("the loss became nan in epoch 1: training diverged")
        return {"none": 0.9, "window_norm": 0.7, "deseason+window_norm": float("inf")}[candidate]

    monkeypatch.setattr(select, "candidate_score", score)
    transform, why, scores = select.choose(cfg, p, scaler)
    assert (transform, scores) == ("window_norm", {"none": 0.9, "window_norm": 0.7})
    assert why.startswith(
        "validation MASE none 0.900 vs window_norm 0.700 vs window_trend failed (the loss became nan in epoch 1: "
        "training diverged) vs deseason+window_norm failed (forecasts not finite); "
    ), why
