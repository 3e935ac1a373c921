"""A forecast that starts from levels the training part never held says so (seqcast.levels): preprocess.json
records each target's training range, and a transform that keeps the level (`none`, `log`, `deseason`) gets a
note."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from seqcast.cli import app
from seqcast.levels import outside_training_range, range_notes

runner = CliRunner()
WriteProject = Callable[..., Path]


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def train(
    write_project: WriteProject,
    monkeypatch: pytest.MonkeyPatch,
    transform: str,
    mode: str = "lookback",
    season: int = 1,
) -> Path:
    """A run on the index series 0 .. 39 (split val 4, test 8: training rows 0 .. 27); its run directory. Train
    says at the end whether the test part (32 .. 39) leaves the training range: only when the level is kept."""
    windows = {"look_back": 5, "horizon": 1} if mode == "lookback" else {"mode": "stateful", "num_steps": 4}
    cfg = write_project(
        data={"transform": transform, "split": {"val": 4, "test": 8}},
        windows=windows,
        training={"epochs": 1},
        evaluate={"horizon": 2, "season": season},
    )
    monkeypatch.chdir(cfg.parent)
    res = invoke("train", cfg, "--json", "--quiet")
    assert res.exit_code == 0, res.output
    said = "the series, target 'y': the test part's values reach 39, above the highest training value (27) by 44%"
    assert (said in " ".join(res.stderr.split())) == (transform in ("none", "log", "deseason"))
    return Path(json.loads(res.stdout)["run_dir"])


@pytest.mark.slow
def test_preprocess_json_keeps_each_targets_training_range(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = train(write_project, monkeypatch, "none")
    (doc,) = json.loads((run / "preprocess.json").read_text())["series"]
    assert (doc["train_end"], doc["train_range"]) == (28, [[0.0, 27.0]])


@pytest.mark.slow
def test_a_forecast_from_levels_above_the_training_range_says_how_far(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch, index_csv: Callable[..., str]
) -> None:
    run = train(write_project, monkeypatch, "none")
    # from the state: the last 5 rows are 35 .. 39, above 27 by 12 / 27 of the range
    res = invoke("forecast", "--run", run, "--steps", "2", "--output", "-")
    assert res.exit_code == 0, res.output
    err = " ".join(res.stderr.split())
    assert (
        "the series, target 'y': the rows this forecast starts from reach 39, above the highest training value (27) "
        "by 44% of the training range" in err
    )
    assert "data.transform none keeps the level" in err and "window_norm" in err
    assert res.stdout.splitlines()[0] == "year,y" and len(res.stdout.splitlines()) == 3  # the forecast is made

    # a history whose last 5 rows lie inside 0 .. 27 (a series falling back from 40 to 20): nothing to say
    falling = "year,y\n" + "".join(f"{2000 + i},{40 - i}\n" for i in range(21))
    (run.parent / "falling.csv").write_text(falling)
    res = invoke("forecast", "--run", run, "--steps", "2", "--data", run.parent / "falling.csv", "--output", "-")
    assert res.exit_code == 0, res.output
    assert "training value" not in res.stderr

    # below the range: the last rows reach -9, 9 below 0 (33 %)
    below = "year,y\n" + "".join(f"{2000 + i},{10 - i}\n" for i in range(20))
    (run.parent / "below.csv").write_text(below)
    res = invoke("forecast", "--run", run, "--steps", "2", "--data", run.parent / "below.csv", "--output", "-")
    assert res.exit_code == 0, res.output
    assert "reach -9, below the lowest training value (0) by 33% of the training range" in " ".join(res.stderr.split())


@pytest.mark.slow
def test_a_stateful_forecast_reads_its_last_row(write_project: WriteProject, monkeypatch: pytest.MonkeyPatch) -> None:
    run = train(write_project, monkeypatch, "none", mode="stateful")
    res = invoke("forecast", "--run", run, "--steps", "2", "--output", "-")
    assert res.exit_code == 0, res.output
    assert "reach 39, above the highest training value (27) by 44%" in " ".join(res.stderr.split())


@pytest.mark.slow
@pytest.mark.parametrize("transform", ["window_norm", "difference"])
def test_a_level_free_transform_has_no_range_to_leave(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch, transform: str
) -> None:
    run = train(write_project, monkeypatch, transform)
    res = invoke("forecast", "--run", run, "--steps", "2", "--output", "-")
    assert res.exit_code == 0, res.output
    assert "training value" not in res.stderr and "keeps the level" not in res.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("transform", "kept"), [("deseason", True), ("deseason+window_norm", False)])
def test_deseason_keeps_the_level_until_a_level_free_step_removes_it(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch, transform: str, kept: bool
) -> None:
    """deseason takes the season away and leaves the level, so its forecast has a range to leave; window_norm after
    it has none."""
    run = train(write_project, monkeypatch, transform, season=2)
    res = invoke("forecast", "--run", run, "--steps", "2", "--output", "-")
    assert res.exit_code == 0, res.output
    err = " ".join(res.stderr.split())
    assert ("reach 39, above the highest training value (27) by 44%" in err) == kept
    assert (f"data.transform {transform} keeps the level" in err) == kept


def test_a_target_constant_in_training_gets_a_distance_not_a_percentage() -> None:
    from types import SimpleNamespace

    import numpy as np

    from seqcast.levels import outside_training_range

    run = SimpleNamespace(
        steps=SimpleNamespace(keeps_level=True),
        pre={"series": [{"name": "", "train_range": [[5.0, 5.0]]}], "targets": ["y"], "mode": "lookback",
             "transform": "none"},
    )  # fmt: skip
    rows = [("the series", "", np.array([[5.0], [7.5]]))]
    notes = outside_training_range(run, rows, "the test part's values")  # type: ignore[arg-type]
    assert notes[0] == (
        "the series, target 'y': the test part's values reach 7.5, above the highest training value (5) by 2.5 "
        "(a constant there)"
    )


# ---------------------------------------------------------------------------------------------
# the arithmetic of the notes, on a run of the index series whose training part held 0 .. 27


def index_run(mode: str = "lookback", transform: str = "none") -> Any:
    from types import SimpleNamespace

    from seqcast.transforms import Transform

    pre = {
        "mode": mode, "look_back": 5, "transform": transform, "targets": ["y"],
        "series": [{"name": "", "train_range": [[0.0, 27.0]]}],
    }  # fmt: skip
    return SimpleNamespace(pre=pre, steps=Transform.parse(transform, 1))


def starts_from(*values: float) -> Any:
    from types import SimpleNamespace

    series = SimpleNamespace(label="the series", name="", values=np.array(values)[:, None])
    return SimpleNamespace(series=[series])


def test_rows_on_the_edges_of_the_training_range_are_inside_it() -> None:
    assert range_notes(index_run(), starts_from(0.0, 10.0, 20.0, 26.0, 27.0)) == []


def test_a_look_back_model_is_told_of_every_row_of_its_window_a_stateful_one_of_its_last() -> None:
    rows = starts_from(30.0, 31.0, 20.0, 21.0, 22.0)  # 31 is 4 above 27: 4 / 27 = 15 % of the training range
    (note, why) = range_notes(index_run(), rows)
    assert note == (
        "the series, target 'y': the rows this forecast starts from reach 31, above the highest training value (27) "
        "by 15% of the training range"
    )
    assert why.startswith("data.transform none keeps the level")
    assert range_notes(index_run("stateful"), rows) == []  # it starts from 22 alone
    assert range_notes(index_run(transform="difference"), rows) == []  # a level-free transform has no range


def test_rows_leaving_both_edges_are_said_at_the_farther_one() -> None:
    (note, _) = range_notes(index_run(), starts_from(-10.0, 5.0, 10.0, 20.0, 28.0))  # 10 below, 1 above
    assert "reach -10, below the lowest training value (0) by 37% of the training range" in note


def test_a_level_just_past_the_range_is_said_as_less_than_one_percent_not_zero() -> None:
    (note, _) = range_notes(index_run(), starts_from(27.1, 20.0))  # 0.1 above 27: 0.4 % of the training range
    assert note.endswith("reach 27.1, above the highest training value (27) by less than 1% of the training range")
    (note, _) = range_notes(index_run(), starts_from(27.2, 20.0))  # 0.74 %: rounds to 1 %, said so
    assert note.endswith("by 1% of the training range"), note


def test_a_level_past_the_range_by_less_than_four_digits_show_is_written_with_more() -> None:
    (note, _) = range_notes(index_run(), starts_from(27.0004, 20.0))  # 27.0004 and 27 are both "27" at 4 digits
    assert "reach 27.0004, above the highest training value (27) by less than 1%" in note, note


def test_a_series_the_run_never_saw_is_measured_against_every_series_range() -> None:
    from types import SimpleNamespace

    run = SimpleNamespace(
        steps=SimpleNamespace(keeps_level=True),
        pre={"series": [{"name": "A", "train_range": [[0.0, 10.0], None]},
                        {"name": "B", "train_range": [[5.0, 27.0], [1.0, 2.0]]}],
             "targets": ["y", "z"], "mode": "lookback", "transform": "none"},
    )  # fmt: skip
    rows = [
        ("series 'A'", "A", np.array([[12.0, 0.0]])),  # its own range: 2 above 10; z has none of its own
        ("series 'N'", "N", np.array([[20.0, 3.0]])),  # new: inside 0 .. 27 for y, 1 above 1 .. 2 for z
    ]
    notes = outside_training_range(run, rows, "the rows this forecast starts from")  # type: ignore[arg-type]
    assert notes[:2] == [
        "series 'A', target 'y': the rows this forecast starts from reach 12, above the highest training value (10) "
        "by 20% of the training range",
        "series 'N', target 'z': the rows this forecast starts from reach 3, above the highest training value of any "
        "series (2) by 100% of the training range",
    ]
    assert len(notes) == 3 and notes[2].startswith("data.transform none keeps the level")
