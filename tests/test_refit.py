"""training.refit: the kept network trains again on the training and validation parts together, for the epochs
early stopping kept; the validation scores and the intervals' calibration stay those of the first network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pytest
from test_train import write_config
from typer.testing import CliRunner

from seqcast import pipeline
from seqcast import run as runs
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.evaluate import backtest_run
from seqcast.layout import plan, refit_plan

SPLIT = {"val": 12, "test": 10}  # rows of each of the two 80-row series


@pytest.fixture(autouse=True)
def _chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _config(tmp: Path, *, split: dict[str, int] = SPLIT, **sections: dict[str, Any]) -> Any:
    """The tiny config of test_train with this split, no scaling and training.refit on (unless given)."""
    data = {"split": split, "scaler": "none"} | sections.pop("data", {})
    training = {"refit": True} | sections.pop("training", {})
    return load_config(write_config(tmp, data=data, training=training, **sections))


@pytest.mark.parametrize("mode", ["lookback", "stateful"])
def test_the_refit_layout_is_the_split_without_a_validation_part(tmp_path: Path, mode: str) -> None:
    extra: dict[str, Any] = {"windows": {"mode": mode}}
    if mode == "stateful":
        extra["model"] = {"kind": "many_to_many"}
    joined = refit_plan(plan(_config(tmp_path, **extra)))
    without = plan(_config(tmp_path, split={"val": 0, "test": 10}, **extra))

    assert [(q.train_end, q.val_end, q.n) for q in joined.parts] == [(70, 70, 80)] * 2
    assert [(q.train_end, q.val_end, q.n) for q in without.parts] == [(70, 70, 80)] * 2
    if mode == "lookback":
        assert len(joined.train) == len(without.train) > len(plan(_config(tmp_path, **extra)).train)
        np.testing.assert_array_equal(joined.train.starts, without.train.starts)
        np.testing.assert_array_equal(joined.train.series, without.train.series)
        assert joined.val is not None and len(joined.val) == 0
    else:
        assert joined.train == without.train
    np.testing.assert_array_equal(joined.test.starts, without.test.starts)  # the test part is untouched


def test_refit_epochs_are_the_epoch_early_stopping_kept() -> None:
    cfg = load_config(write_config(Path("."), training={"early_stopping": {"patience": 20}}))
    rows = [{"loss": 4.0, "val_loss": v} for v in (3.0, 1.0, 2.0, 5.0)]
    assert pipeline.refit_epochs(cfg, rows) == 2
    no_val = [{"loss": v, "val_loss": float("nan")} for v in (3.0, 2.0, 1.0, 4.0)]
    assert pipeline.refit_epochs(cfg, no_val) == 3  # early stopping watched the loss
    cfg.training.early_stopping.patience = None  # off: the network is the last epoch's
    assert pipeline.refit_epochs(cfg, rows) == 4


def _weights(run: Path) -> list[np.ndarray]:
    return keras.saving.load_model(run / "model.keras", safe_mode=True).get_weights()


def test_a_refit_run_keeps_the_network_of_the_joined_split_and_judges_the_first(tmp_path: Path) -> None:
    refit = pipeline.train_run(_config(tmp_path), output_dir=tmp_path / "refit")
    cfg_off = _config(tmp_path, training={"refit": False})
    first = pipeline.train_run(cfg_off, output_dir=tmp_path / "first")
    # the network a run with no validation part trains, on the same rows for the same epochs (scaler none:
    # the scaling does not depend on the split either)
    joined = pipeline.train_run(_config(tmp_path, split={"val": 0, "test": 10}), output_dir=tmp_path / "joined")

    pre = json.loads((refit.run_dir / "preprocess.json").read_text())
    assert pre["refit"] == {"epochs": 4, "rows_added": 24} == refit.refit
    assert "refit" not in json.loads((first.run_dir / "preprocess.json").read_text()) and first.refit is None
    for got, want in zip(_weights(refit.run_dir), _weights(joined.run_dir), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(refit.run_dir), _weights(first.run_dir), strict=True))

    # judged on the validation part by the first network: the same scores and calibration as without refit
    assert refit.metrics["validation"] == first.metrics["validation"]
    for name in ("calibration.json",):
        assert (refit.run_dir / name).read_text() == (first.run_dir / name).read_text()
    assert refit.metrics["model"] != first.metrics["model"]  # the test part: another network
    timeless = [[{k: v for k, v in r.items() if k != "seconds"} for r in res.rows] for res in (refit, first)]
    assert timeless[0] == timeless[1]  # history.csv: the first fit's epochs

    # evaluate keeps the validation scores train wrote: the kept network has seen the validation part
    opened = runs.open_run(refit.run_dir)
    in_sample = backtest_run(opened, judged=opened)["validation"]
    assert in_sample["model"] != refit.metrics["validation"]["model"]
    res = CliRunner().invoke(app, ["evaluate", "--run", str(refit.run_dir), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["validation"] == refit.metrics["validation"]
    assert json.loads((refit.run_dir / "metrics.json").read_text())["validation"] == refit.metrics["validation"]
    assert backtest_run(opened, horizon=2)["validation"] == {}  # another horizon: no stored scores, none computed


def test_an_ensemble_refits_every_member_and_train_says_so(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        data={"split": SPLIT, "scaler": "none"},
        model={"ensemble": 2},
        training={"epochs": 3, "early_stopping": {"patience": 1}, "refit": True},
    )
    res = CliRunner().invoke(app, ["train", str(config), "--output-dir", "out"])
    assert res.exit_code == 0, res.output
    rows = [r for r in (tmp_path / "out" / "history.csv").read_text().splitlines()[1:]]
    pre = json.loads((tmp_path / "out" / "preprocess.json").read_text())
    want = []
    for k in "01":  # each member's best epoch by val_loss
        own = [r.split(",") for r in rows if r.split(",")[4] == k]
        want.append(int(min(own, key=lambda r: float(r[2]))[0]))
    assert pre["refit"] == {"epochs": want, "rows_added": 24}
    assert "training.refit: each network is trained again on the training and validation parts" in res.output
    summary = " ".join(res.output.split())
    assert (
        f"│ refit │ {want[0]}, {want[1]} epochs again on the training and validation parts (24 more rows): model.keras"
        in summary
    )
    assert "the validation scores and intervals are the first fit's (training.refit)" in summary


def test_refit_off_or_without_a_validation_part_trains_once(tmp_path: Path) -> None:
    res = pipeline.train_run(_config(tmp_path, split={"val": 0, "test": 10}), output_dir=tmp_path / "a")
    assert res.refit is None and "refit" not in json.loads((res.run_dir / "preprocess.json").read_text())
    config = write_config(tmp_path, data={"split": SPLIT})  # look-back: on by default
    off = ["--set", "training.refit=false"]
    out = CliRunner().invoke(app, ["train", str(config), "--output-dir", "b", "--json", *off])
    assert out.exit_code == 0, out.output
    assert "refit" not in json.loads(out.stdout) and "training.refit" not in out.stderr
    on = CliRunner().invoke(app, ["train", str(config), "--output-dir", "c", "--json"])
    assert on.exit_code == 0, on.output
    assert json.loads(on.stdout)["refit"]["rows_added"] == 24 and "training.refit" in on.stderr


def test_window_preview_says_what_the_refit_adds(tmp_path: Path) -> None:
    config = write_config(tmp_path, data={"split": SPLIT}, training={"refit": True})
    res = CliRunner().invoke(app, ["window-preview", str(config), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["refit"] == {"rows": 24}  # two series' 12 validation rows
    text = CliRunner().invoke(app, ["window-preview", str(config)])
    assert "training and validation parts together (24 more rows)" in " ".join(text.output.split())
    off = CliRunner().invoke(app, ["window-preview", str(config), "--json", "--set", "training.refit=false"])
    assert json.loads(off.stdout)["refit"] is None


def test_refit_is_on_for_look_back_off_for_stateful_by_default_and_a_stateful_model_refits_when_asked(
    tmp_path: Path,
) -> None:
    stateful = {"windows": {"mode": "stateful"}, "model": {"kind": "many_to_many"}}
    assert load_config(write_config(tmp_path)).training.refit is True
    assert load_config(write_config(tmp_path, training={"refit": False})).training.refit is False
    assert load_config(write_config(tmp_path, **stateful)).training.refit is False
    on = _config(tmp_path, **stateful)
    assert on.training.refit is True
    res = pipeline.train_run(on, output_dir=tmp_path / "stateful")
    assert res.refit == {"epochs": 4, "rows_added": 24}
    model = keras.saving.load_model(res.run_dir / "model.keras", safe_mode=True)
    assert tuple(model.inputs[0].shape) == (4, None, 2)  # the training batch: 2 series x 2 streams
