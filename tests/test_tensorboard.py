"""training.tensorboard: true writes Keras TensorBoard event files into the run directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqcast.cli import app


@pytest.mark.slow
def test_tensorboard_logs_in_run_directory(
    write_project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_project(training={"batch_size": 8, "epochs": 2, "tensorboard": True}, output={"dir": "run"})
    res = CliRunner().invoke(app, ["train", str(cfg), "--quiet"])
    assert res.exit_code == 0, res.output
    logs = tmp_path / "run" / "logs"
    for part in ("train", "validation"):
        events = list((logs / part).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0, f"no {part} events in {logs}"
    again = CliRunner().invoke(app, ["train", str(cfg), "--quiet", "--overwrite"])  # logs are the run's own
    assert again.exit_code == 0, again.output
    assert list((logs / "train").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_each_network_and_refit_logs_into_a_folder_of_its_own(
    write_project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ensemble with training.refit made four fits, whose event files all went to logs/train: TensorBoard drew
    one curve whose steps went 0, 1, 0, 1, ... They are named as the checkpoint's folders are."""
    monkeypatch.chdir(tmp_path)
    cfg = write_project(
        training={"batch_size": 8, "epochs": 2, "tensorboard": True, "refit": True},
        model={"ensemble": 2},
        output={"dir": "run"},
    )
    res = CliRunner().invoke(app, ["train", str(cfg), "--quiet"])
    assert res.exit_code == 0, res.output
    logs = tmp_path / "run" / "logs"
    made = sorted(str(p.parent.relative_to(logs)) for p in logs.rglob("events.out.tfevents.*"))
    assert made == [
        "member-0-refit/train",
        "member-0/train",
        "member-0/validation",
        "member-1-refit/train",
        "member-1/train",
        "member-1/validation",
    ]


def test_a_logs_folder_the_user_put_into_a_run_without_tensorboard_is_kept(
    write_project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_project(training={"epochs": 1}, output={"dir": "run"})
    assert CliRunner().invoke(app, ["train", str(cfg), "--quiet"]).exit_code == 0
    (tmp_path / "run" / "logs").mkdir()
    (tmp_path / "run" / "logs" / "mine.txt").write_text("notes")
    res = CliRunner().invoke(app, ["train", str(cfg), "--quiet", "--overwrite"])
    assert res.exit_code == 2, res.output
    assert "holds files seqcast did not write (logs)" in " ".join(res.output.split())
    assert (tmp_path / "run" / "logs" / "mine.txt").read_text() == "notes"


def test_a_run_written_to_runs_itself_can_be_overwritten(
    write_project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--output-dir runs: runs/latest is then a link inside the run, to the run; it is the run's own, not a file of
    the user's that --overwrite would refuse to delete."""
    monkeypatch.chdir(tmp_path)
    cfg = write_project(training={"epochs": 1})
    assert CliRunner().invoke(app, ["train", str(cfg), "--quiet", "--output-dir", "runs"]).exit_code == 0
    assert (tmp_path / "runs" / "latest").resolve() == (tmp_path / "runs").resolve()
    res = CliRunner().invoke(app, ["train", str(cfg), "--quiet", "--output-dir", "runs", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "runs" / "latest").resolve() == (tmp_path / "runs").resolve()
