"""Business days: daily rows on weekdays only (a market's closes) are a frequency of their own, B, whose grid skips
Saturdays and Sundays: training does not call every weekend two missing rows, and forecasts, `update` and the
preview continue on weekdays. The series' value is its row index, so every row is checked exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from seqcast.cli import app
from seqcast.config import DataConfig
from seqcast.data import load_dataset
from seqcast.timeaxis import Freq

WriteProject = Callable[..., Path]
runner = CliRunner()
FIRST = np.datetime64("2024-01-02", "D")  # a Tuesday


def weekdays(n: int, start: int = 0) -> list[str]:
    """The n business days from the start-th after FIRST, as dates."""
    return [str(d) for d in np.busday_offset(FIRST, np.arange(start, start + n))]


def closes_csv(n: int, skip: tuple[int, ...] = (), start: int = 0) -> str:
    """CSV `date,close` of n business days whose close is the day's index; the days at `skip` are left out."""
    rows = [f"{d},{start + i}" for i, d in enumerate(weekdays(n, start)) if i not in skip]
    return "date,close\n" + "\n".join(rows) + "\n"


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def project(write_project: WriteProject, csv: str, **data: object) -> Path:
    return write_project(
        csv,
        data={"time_column": "date", "targets": ["close"], "split": {"val": 10, "test": 10}, **data},
        windows={"look_back": 5, "horizon": 1},
        training={"epochs": 2, "batch_size": 16},
        evaluate={"horizon": 3, "season": 5, "intervals": [80]},
    )


def test_preview_reads_weekday_rows_as_business_days_without_gaps(write_project: WriteProject) -> None:
    cfg = project(write_project, closes_csv(60))
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["frequency"] == "B" and "gaps" not in doc
    assert doc["series"][0]["rows"] == 60 and doc["series"][0]["last"] == weekdays(1, 59)[0]


def test_a_missing_business_day_is_named_and_a_weekend_is_not(write_project: WriteProject) -> None:
    cfg = project(write_project, closes_csv(60, skip=(12,)))  # a holiday: a weekday without a row
    before = cfg.read_bytes()
    res = invoke("window-preview", cfg)
    assert res.exit_code == 1
    said = " ".join(res.stderr.split())
    assert (
        f"1 missing timestamp(s) at frequency B (business days, Monday to Friday), first {weekdays(1, 12)[0]}" in said
    )
    assert "data.missing" in said and cfg.read_bytes() == before
    ok = project(write_project, closes_csv(60, skip=(12,)), missing="ffill")
    res = invoke("window-preview", ok, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"][0]["rows"] == 60  # the holiday filled, no weekend added


@pytest.mark.slow
def test_train_forecast_and_update_continue_on_weekdays(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = project(write_project, closes_csv(60))
    monkeypatch.chdir(cfg.parent)
    res = invoke("train", cfg, "--json")
    assert res.exit_code == 0, res.output
    run = Path(json.loads(res.stdout)["run_dir"])
    assert json.loads((run / "preprocess.json").read_text())["frequency"] == "B"

    res = invoke("forecast", "--steps", "6", "--output", "-")
    assert res.exit_code == 0, res.output
    assert [line.split(",")[0] for line in res.stdout.splitlines()[1:]] == weekdays(6, 60)  # Monday after Friday

    (cfg.parent / "new.csv").write_text(closes_csv(3, start=60))
    res = invoke("update", "--data", cfg.parent / "new.csv", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["series"][""]["added"] == 3
    res = invoke("forecast", "--steps", "2", "--output", "-")
    assert [line.split(",")[0] for line in res.stdout.splitlines()[1:]] == weekdays(2, 63)

    state = (run / "state.npz").read_bytes()
    day = np.busday_offset(FIRST, 62) + np.timedelta64(1, "D")  # the first weekend day after the rows just added
    while np.is_busday(day):
        day += np.timedelta64(1, "D")
    saturday = str(day)
    (cfg.parent / "weekend.csv").write_text(f"date,close\n{saturday},99\n")
    res = invoke("update", "--data", cfg.parent / "weekend.csv")
    assert res.exit_code == 1
    assert saturday in " ".join(res.stderr.split())
    assert (run / "state.npz").read_bytes() == state  # refused before anything changed
    # a Saturday among weekdays is named as the row off the run's grid (it read as a step of 2D or 3D, naming a
    # weekday), in new rows and in a history alike
    monday = str(np.busday_offset(np.datetime64(saturday), 0, roll="forward"))
    (cfg.parent / "mixed.csv").write_text(f"date,close\n{weekdays(1, 63)[0]},1\n{saturday},2\n{monday},3\n")
    history = cfg.parent / "history.csv"
    history.write_text(closes_csv(63) + f"{saturday},99\n")
    for args in (["update", "--data", cfg.parent / "mixed.csv"], ["forecast", "--steps", "2", "--data", history]):
        res = invoke(*args)
        assert res.exit_code == 1, res.output
        said = " ".join(res.stderr.split())
        grid = "the run's time grid at frequency B (business days, Monday to Friday)"
        if args[0] == "update":  # the grid runs on from the series' last known row, which the message names
            grid = f"the run's time grid (step B, from {weekdays(1, 62)[0]})"
        row = f"{saturday} (line 3)" if args[0] == "update" else saturday  # update names its line too
        assert f"row at {row} is not on {grid}" in said, said
        weekend = "hint: the run's rows are business days, Monday to Friday: leave out the Saturday and Sunday rows"
        assert (weekend in said) == (args[0] == "forecast"), said  # update's hint is the grid's own
        assert (run / "state.npz").read_bytes() == state


@pytest.mark.slow
def test_a_future_file_of_every_calendar_day_is_refused_with_the_weekend_hint(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planner's sheet of known-ahead values has a row for every day; the run's forecasts skip weekends."""
    lines = closes_csv(60).splitlines()
    csv = "\n".join([lines[0] + ",w"] + [f"{row},{i % 5}" for i, row in enumerate(lines[1:])]) + "\n"
    cfg = project(write_project, csv, features=["w"])
    monkeypatch.chdir(cfg.parent)
    res = invoke("train", cfg, "--quiet")
    assert res.exit_code == 0, res.output
    days = np.datetime64(weekdays(1, 60)[0]) + np.arange(7)  # a week of calendar days after the last row
    saturday = days[~np.is_busday(days)][0]
    sheet = cfg.parent / "future.csv"
    sheet.write_text("date,w\n" + "".join(f"{d},{k % 5}\n" for k, d in enumerate(days)))
    res = invoke("forecast", "--steps", "5", "--future", sheet)
    assert res.exit_code == 1
    said = " ".join(res.stderr.split())
    assert f"{sheet}: the row at {saturday} is not on the run's time grid at frequency B" in said, said
    assert "hint: the run's rows are business days, Monday to Friday: leave out the Saturday and Sunday rows" in said
    sheet.write_text("date,w\n" + "".join(f"{d},{k % 5}\n" for k, d in enumerate(days) if np.is_busday(d)))
    res = invoke("forecast", "--steps", "5", "--future", sheet, "--output", "-")
    assert res.exit_code == 0, res.output
    assert [line.split(",")[0] for line in res.stdout.splitlines()[1:]] == weekdays(5, 60)


@pytest.mark.parametrize("new_first", [False, True])
def test_a_series_in_its_first_week_takes_the_business_days_of_the_others(tmp_path: Path, new_first: bool) -> None:
    # 'new' has three weekday rows and no weekend between them: daily or business days alike, whichever comes first
    old = [f"{d},old,{i}" for i, d in enumerate(weekdays(60))]
    new = [f"{d},new,{100 + i}" for i, d in enumerate(weekdays(3, 56))]
    (tmp_path / "t.csv").write_text("date,ticker,close\n" + "\n".join(new + old if new_first else old + new) + "\n")
    cfg = {"path": tmp_path / "t.csv", "time_column": "date", "series_column": "ticker", "targets": ["close"]}
    ds = load_dataset(DataConfig.model_validate(cfg))
    assert ds.freq == Freq("bday", 1)
    by_name = {s.name: s for s in ds.series}
    assert by_name["new"].times.astype("datetime64[D]").astype(str).tolist() == weekdays(3, 56)
    assert by_name["old"].values[:, 0].tolist() == list(range(60)) and len(by_name["old"].breaks) == 0


def test_a_first_week_beside_an_hourly_series_is_still_another_frequency(write_project: WriteProject) -> None:
    hours = [f"2024-01-0{1 + h // 24}T{h % 24:02d}:00,a,{h}" for h in range(48)]
    days = [f"{d}T00:00,b,{i}" for i, d in enumerate(weekdays(3))]
    cfg = project(write_project, "date,s,close\n" + "\n".join(hours + days) + "\n", series_column="s")
    res = invoke("window-preview", cfg)
    assert res.exit_code == 1
    assert "series 'a' has a step of h but series 'b' a step of D" in " ".join(res.stderr.split())
