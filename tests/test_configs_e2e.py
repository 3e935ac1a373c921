"""Every config in configs/ trains end to end, then forecasts and evaluates, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqcast.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
RUN_FILES = (
    "model.keras", "config.yaml", "preprocess.json", "history.csv", "metrics.json", "calibration.json", "state.npz"
)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_trains_forecasts_and_evaluates(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    epochs = [] if config.stem == "quickstart" else ["--set", "training.epochs=2"]  # the README's job runs in full
    res = runner.invoke(app, ["train", str(config), "--quiet", *epochs])
    assert res.exit_code == 0, res.output
    run = tmp_path / "runs" / config.stem
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == sorted(RUN_FILES)
    assert (tmp_path / "runs" / "latest").resolve() == run.resolve()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["origins"] > 0 and set(metrics) >= {"model", "naive", "seasonal_naive", "per_target"}

    res = runner.invoke(app, ["forecast", "--steps", "5", "--output", "fc.csv"])
    assert res.exit_code == 0, res.output
    pre = json.loads((run / "preprocess.json").read_text())
    lines = (tmp_path / "fc.csv").read_text().splitlines()
    assert len(lines) == 1 + 5 * len(pre["series"])
    assert lines[0].split(",")[-len(pre["targets"]) :] == pre["targets"]

    h = json.loads((run / "calibration.json").read_text())["horizon"]
    res = runner.invoke(app, ["forecast", "--steps", str(h), "--interval", "80", "--output", "fi.csv"])
    if "refused" in metrics["intervals"]["80"]:  # too short a validation part: refused by name
        assert res.exit_code == 2 and "data.split.val" in res.output, res.output
    else:
        assert res.exit_code == 0, res.output
        header = (tmp_path / "fi.csv").read_text().splitlines()[0].split(",")
        assert header[-3 * len(pre["targets"]) :][:3] == [
            pre["targets"][0],
            *(pre["targets"][0] + x for x in ("_lo_80", "_hi_80")),
        ]

    res = runner.invoke(app, ["evaluate", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["model"]["mae"] == pytest.approx(metrics["model"]["mae"])
