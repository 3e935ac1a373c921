"""Ctrl-C and SIGTERM stop training with a checkpoint; --resume ends exactly where an uninterrupted run does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "quickstart.yaml"
SETTINGS = [
    "--set",
    "training.epochs=5",
    "--set",
    "training.early_stopping.patience=2",
    "--set",
    "model.units=[8]",
    "--set",
    "model.ensemble=1",
]


def _train(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "seqcast", "train", str(CONFIG), "-q", "--output-dir", str(out), *SETTINGS, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _weights(run: Path) -> list[np.ndarray]:
    import keras

    return keras.saving.load_model(run / "model.keras").get_weights()


def _interrupt_after_epoch(out: Path, sig: int, epoch: int) -> subprocess.CompletedProcess[str]:
    """Start training, wait until the checkpoint holds `epoch` epochs, send `sig`, wait for the exit."""
    cmd = [sys.executable, "-m", "seqcast", "train", str(CONFIG), "-q", "--output-dir", str(out), *SETTINGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = out.parent / f".{out.name}.checkpoint" / "state.json"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state.exists() and json.loads(state.read_text())["epochs_done"] >= epoch:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "training ended before it could be interrupted"
        os.kill(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_keeps_checkpoint_and_resume_matches_uninterrupted(tmp_path: Path, sig: int) -> None:
    full = _train(tmp_path / "full")
    assert full.returncode == 0, full.stderr

    out = tmp_path / "part"
    (tmp_path / "keep.txt").write_text("the user's file")
    # after epoch 1 at least two more epochs run (early stopping's patience is 2): the signal lands in training,
    # never in the backtest that follows it
    stopped = _interrupt_after_epoch(out, sig, epoch=1)
    assert stopped.returncode == 130, stopped.stderr
    assert "training interrupted" in stopped.stderr and "--resume" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert not out.exists(), "an interrupted run must leave no run directory"
    checkpoint = tmp_path / ".part.checkpoint"
    assert (checkpoint / "model.keras").exists()
    assert (tmp_path / "keep.txt").read_text() == "the user's file"
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name], "no half-written run folder"

    resumed = _train(out, "--resume", str(checkpoint))
    assert resumed.returncode == 0, resumed.stderr
    assert not checkpoint.exists(), "a completed run removes its checkpoint"
    for a, b in zip(_weights(tmp_path / "full"), _weights(out), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (out / "history.csv").read_text().splitlines()[0] == "epoch,loss,val_loss,seconds"
    full_hist = [r.split(",")[:3] for r in (tmp_path / "full" / "history.csv").read_text().splitlines()]
    part_hist = [r.split(",")[:3] for r in (out / "history.csv").read_text().splitlines()]
    assert full_hist == part_hist


def test_resume_from_a_folder_that_is_no_checkpoint_is_a_usage_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seqcast.cli import app

    res = CliRunner().invoke(
        app, ["train", str(CONFIG), "--resume", str(tmp_path), "--output-dir", str(tmp_path / "r")]
    )
    assert res.exit_code == 2
    assert "not a seqcast checkpoint" in res.output
