"""Stateful series of different lengths: padded and masked, every row trains, and the forecast equals plain Keras
fed the same padded batch by hand."""

from __future__ import annotations

import json
from pathlib import Path

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from seqcast.cli import app
from seqcast.windows import PAD_VALUE

runner = CliRunner()
LONG, SHORT = 70, 41


def panel_csv() -> str:
    """Two hourly series of different lengths; value = a daily-like wave on the time index, one per series."""
    lines = ["time,tank,level,temp"]
    for name, n, phase in (("long", LONG, 0.0), ("short", SHORT, 1.3)):
        for t in range(n):
            stamp = np.datetime64("2024-01-01T00:00") + np.timedelta64(t, "h")
            level = 50 + 10 * np.sin(t / 3 + phase) + 0.1 * t
            temp = 20 + 3 * np.cos(t / 5 + phase)
            lines.append(f"{str(stamp).replace('T', ' ')},{name},{level:.4f},{temp:.4f}")
    return "\n".join(lines) + "\n"


def project(tmp_path: Path, kind: str = "many_to_many") -> Path:
    (tmp_path / "panel.csv").write_text(panel_csv())
    cfg = {
        "data": {
            "path": "panel.csv",
            "time_column": "time",
            "series_column": "tank",
            "targets": ["level", "temp"],
            "transform": "none",
            "split": {"val": 0.1, "test": 0.2},
        },
        "windows": {"mode": "stateful", "num_steps": 6, "streams": 1, "horizon": 1},
        "model": {"kind": kind, "units": [5, 3], "ensemble": 1},
        "training": {"epochs": 3, "learning_rate": 0.01},
        "evaluate": {"horizon": 2, "intervals": []},
        "output": {"dir": str(tmp_path / "run")},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def invoke(*args: object) -> object:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_preview_trains_every_row(tmp_path: Path) -> None:
    cfg = project(tmp_path)
    doc = json.loads(invoke("window-preview", cfg, "--json", "--limit", 1000).stdout)  # type: ignore[attr-defined]
    # training parts: 49 and 29 rows (70 and 41 minus 10 % and 20 %, rounded); 48 and 28 inputs with a next step
    train = {s["name"]: s["train"][1] for s in doc["series"]}
    assert train == {"long": 49, "short": 29}
    assert doc["padding"]["dropped"] == 0
    assert doc["padding"]["rows"] == {"long": 0, "short": 20}  # 8 chunks of 6: 48 slots each
    for name in ("long", "short"):
        rows = [r for r in doc["rows"] if r["series"] == name]
        used = sorted(t for r in rows for t in range(r["start"], r["end"]))
        assert used == list(range(train[name] - 1))  # every training row but the last (it is only a target)
        assert sum(r["padding"] for r in rows) == doc["padding"]["rows"][name]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["many_to_many", "many_to_one"])
def test_forecast_equals_plain_keras_with_the_same_masking(tmp_path: Path, kind: str) -> None:
    cfg = project(tmp_path, kind)
    invoke("train", cfg, "--quiet")
    run = tmp_path / "run"
    steps = 4
    out = tmp_path / "fc.csv"
    invoke("forecast", "--run", run, "--steps", steps, "--data", tmp_path / "panel.csv", "--output", out)
    import pandas as pd

    seqcast_fc = pd.read_csv(out)

    # by hand: plain Keras, the two histories left-padded with PAD_VALUE to one batch, then each answer fed back
    model = keras.saving.load_model(run / "model.keras")
    pre = json.loads((run / "preprocess.json").read_text())
    assert isinstance(model.layers[1], keras.layers.Masking) and model.layers[1].mask_value == PAD_VALUE
    data = pd.read_csv(tmp_path / "panel.csv")
    names, cols = ["long", "short"], pre["inputs"]
    stats = pre["scaler"]["series"]
    center = np.array([[stats[s][c]["center"] for c in cols] for s in names])
    scale = np.array([[stats[s][c]["scale"] for c in cols] for s in names])
    x = np.full((2, LONG, len(cols)), PAD_VALUE, dtype=np.float32)
    for i, (name, n) in enumerate(zip(names, (LONG, SHORT), strict=True)):
        rows = data[data.tank == name][cols].to_numpy()
        x[i, LONG - n :] = (rows - center[i]) / scale[i]
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN):
            layer.reset_state()
    out_k = np.asarray(model(x))[:, -1]  # (2, targets): the next row after each series' history
    preds = []
    for _ in range(steps):
        preds.append(out_k)
        out_k = np.asarray(model(out_k[:, None].astype(np.float32)))[:, -1]
    by_hand = np.stack(preds, axis=1) * scale[:, None] + center[:, None]  # (2, steps, targets), original units

    for i, name in enumerate(names):
        mine = seqcast_fc[seqcast_fc.tank == name][["level", "temp"]].to_numpy()
        np.testing.assert_allclose(mine, by_hand[i], atol=1e-5, rtol=1e-5)
    # and the mask matters: the same batch padded with zeros instead (not masked) answers otherwise for 'short'
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN):
            layer.reset_state()
    unmasked = np.asarray(model(np.where(x == PAD_VALUE, 0.0, x).astype(np.float32)))[:, -1]
    np.testing.assert_allclose(unmasked[0], preds[0][0], atol=1e-6)  # 'long' has no padding
    assert not np.allclose(unmasked[1], preds[0][1], atol=1e-4)


def test_a_real_row_equal_to_the_padding_value_is_refused(tmp_path: Path) -> None:
    cfg = project(tmp_path)
    doc = yaml.safe_load(cfg.read_text())
    doc["data"]["scaler"] = "none"
    cfg.write_text(yaml.safe_dump(doc))
    lines = (tmp_path / "panel.csv").read_text().splitlines()
    head = lines[5].split(",")
    lines[5] = ",".join(head[:2] + [str(PAD_VALUE), str(PAD_VALUE)])  # 'long', row 4: every input is the pad
    (tmp_path / "panel.csv").write_text("\n".join(lines) + "\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    res = runner.invoke(app, ["train", str(cfg), "--quiet"])
    assert res.exit_code == 1
    text = " ".join(res.stderr.split())
    assert "series 'long' has a row (row 5 of the series, from its first) whose every input is -10000.0" in text
    assert "data.scaler" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run directory, nothing else touched


@pytest.mark.slow
def test_evaluate_runs_on_a_padded_stateful_run(tmp_path: Path) -> None:
    cfg = project(tmp_path)
    invoke("train", cfg, "--quiet")
    doc = json.loads(invoke("evaluate", "--run", tmp_path / "run", "--json").stdout)  # type: ignore[attr-defined]
    assert doc["origins"] > 0 and np.isfinite(doc["model"]["mase"])


def test_a_padding_value_in_the_test_part_is_refused_before_the_fit(tmp_path: Path) -> None:
    """The model's Masking layer would skip the row in the backtest too: train refused it only in the training part
    and then failed at the end, after every epoch; now refused before the fit, nothing written."""
    cfg = project(tmp_path)
    doc = yaml.safe_load(cfg.read_text())
    doc["data"]["scaler"] = "none"
    cfg.write_text(yaml.safe_dump(doc))
    lines = (tmp_path / "panel.csv").read_text().splitlines()
    last = max(k for k, line in enumerate(lines) if ",long," in f",{line},")  # 'long''s last row: its test part
    head = lines[last].split(",")
    lines[last] = ",".join(head[:2] + [str(PAD_VALUE), str(PAD_VALUE)])
    (tmp_path / "panel.csv").write_text("\n".join(lines) + "\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    res = runner.invoke(app, ["train", str(cfg), "--quiet"])
    text = " ".join(res.stderr.split())
    assert res.exit_code == 1 and "series 'long' has a row (row" in text and "every input is -10000.0" in text, text
    assert "epoch" not in res.output.lower() and sorted(p.name for p in tmp_path.iterdir()) == before
