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
