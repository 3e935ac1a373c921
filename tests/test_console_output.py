"""The forecast's printed table: values as people read them, a table that fits its terminal; the epoch bar."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from seqcast import console
from seqcast.table import Table, number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (13021.4, "13021"),  # not 1.302e+04: the step-to-step move of a large value shows
        (13023.6, "13024"),
        (99999.6, "99999.6"),  # rounding to 100000 would need a sixth digit: kept
        (123456.7, "123457"),
        (9.6, "9.6"),
        (0.52851, "0.5285"),
        (-13021.4, "-13021"),
        (0.0, "0"),
        (1e16, "1e+16"),
        (1.234e-05, "1.234e-05"),
        (float("nan"), "nan"),
    ],
)
def test_a_value_keeps_the_digits_before_its_point(value: float, text: str) -> None:
    assert number(value) == text


def forecast(targets: list[str], levels: list[int]) -> Table:
    """Two series, two hourly steps; every target's value 10 + the row, its bounds that minus and plus the level."""
    data: dict[str, np.ndarray] = {
        "tank": np.array(["Tank A", "Tank A", "Tank B", "Tank B"], dtype=object),
        "time": np.array(["2024-04-30T00", "2024-04-30T01"] * 2, dtype="datetime64[ns]"),
    }
    for x in targets:
        data[x] = 10.0 + np.arange(4)
        for level in levels:
            data[f"{x}_lo_{level}"], data[f"{x}_hi_{level}"] = data[x] - level, data[x] + level
    return Table(data, fine=("time",))


def printed(monkeypatch: pytest.MonkeyPatch, frame: Table, width: int) -> str:
    buf = io.StringIO()
    monkeypatch.setattr(console, "out", Console(file=buf, width=width))
    console.forecast_table(frame, 2, "f.csv", None)
    return buf.getvalue()


def heads(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("┃")[1:-1]] for line in text.splitlines() if line.startswith("┃")]


def test_a_wide_terminal_shows_every_target_and_level_in_one_table(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(monkeypatch, forecast(["pressure", "temperature"], [80, 95]), 160)
    assert heads(text) == [
        ["tank", "time", "pressure", "pressure 80 %", "pressure 95 %", "temperature", "temperature 80 %",
         "temperature 95 %"],
    ]  # fmt: skip
    assert "│ Tank A │ 2024-04-30 00:00:00 │       10 │     -70 .. 90 │    -85 .. 105 │" in text
    assert "left out" not in text


def test_a_narrow_terminal_gets_a_table_per_target_then_fewer_levels_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """90 columns: the two targets side by side (127) do not fit, one table per target does (75 and 84), with both
    levels; 70: one per target with the 80 % level only (66 at most), and a note names the level left out."""
    frame = forecast(["pressure", "temperature"], [80, 95])
    text = printed(monkeypatch, frame, 90)
    assert heads(text) == [
        ["tank", "time", "pressure", "pressure 80 %", "pressure 95 %"],
        ["tank", "time", "temperature", "temperature 80 %", "temperature 95 %"],
    ]
    assert max(len(line) for line in text.splitlines() if line[:1] in "┏┃┡│└") == 84
    assert "left out" not in text
    text = printed(monkeypatch, frame, 70)
    assert heads(text) == [
        ["tank", "time", "pressure", "pressure 80 %"],
        ["tank", "time", "temperature", "temperature 80 %"],
    ]
    assert max(len(line) for line in text.splitlines() if line[:1] in "┏┃┡│└") <= 70
    note = " ".join(text[text.index("the 95 %") :].split())
    assert note.startswith(
        "the 95 % interval left out of the table, too wide for this terminal (70 columns); the table shows 80 %; "
        "the CSV holds every level"
    )


def test_a_forecast_without_intervals_is_one_table_of_its_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(monkeypatch, forecast(["pressure", "temperature"], []), 80)
    assert heads(text) == [["tank", "time", "pressure", "temperature"]]
    assert "│ Tank B │ 2024-04-30 01:00:00 │       13 │          13 │" in text and "left out" not in text


def test_an_interrupted_training_bar_stays_at_the_epochs_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in epoch 2 of 2: the bar shows 1/2 and 'interrupted in epoch 2', not a whole bar (the loop no
    longer ends the cut-short epoch for the callbacks: the checkpoint keeps epoch 1)."""
    buf = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=buf, width=120))
    bar = console.epoch_progress(2)
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    bar.on_epoch_end(0, {"loss": 0.5})
    bar.on_epoch_begin(1)
    bar.on_train_end({"loss": 0.5, "interrupted": True})
    last = buf.getvalue().splitlines()[-1]
    assert "1/2" in last and "interrupted in epoch 2" in last and "2/2" not in last, last


def test_the_epoch_bar_moves_within_a_long_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch moves the bar (an epoch of a 2M-row series takes minutes); its M/N counts whole epochs."""
    buf = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=buf, width=120))
    bar = console.epoch_progress(2)
    bar.set_params({"epochs": 2, "steps": 4, "verbose": 0})
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(1)
    task = bar.bar.tasks[0]
    assert task.completed == 0.5  # 2 of 4 batches
    bar.on_epoch_end(0, {"loss": 0.5})
    bar.on_epoch_begin(1)
    bar.on_train_batch_end(0)
    assert task.completed == 1.25
    bar.on_epoch_end(1, {"loss": 0.4})
    bar.on_train_end({"loss": 0.4})
    last = buf.getvalue().splitlines()[-1]
    assert "2/2" in last and "stopped early" not in last, last
