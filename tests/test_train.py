"""Training: stateful batches and resets, every kind and cell, --set, seeds, and the run directory."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from seqcast import callbacks, checkpoint, dataset, pipeline
from seqcast import fit as fitting
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.errors import ConfigError
from seqcast.layout import state_shapes
from seqcast.model import recurrent_layers
from seqcast.rundir import MARKER, RUN_FILES
from seqcast.windows import PAD_VALUE


@pytest.fixture(autouse=True)
def _chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # runs/ and runs/latest stay inside the test's folder


def sine_csv(path: Path, rows: int = 80) -> Path:
    """Two daily series A and B: y a sine, x a shifted cosine (a feature)."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "series", "y", "x"])
        for k, name in enumerate("AB"):
            for t in range(rows):
                day = np.datetime64("2022-01-01") + np.timedelta64(t, "D")
                w.writerow([str(day), name, round(np.sin(0.4 * t + k), 6), round(np.cos(0.4 * t + 2 * k), 6)])
    return path


def write_config(tmp: Path, **sections: dict[str, Any]) -> Path:
    """A tiny config (units 4, a few epochs) on sine.csv, sections updated from the keyword arguments."""
    doc: dict[str, dict[str, Any]] = {
        "data": {
            "path": str(sine_csv(tmp / "sine.csv")),
            "time_column": "time",
            "series_column": "series",
            "targets": ["y"],
            "features": ["x"],
            "scaler": "standard",
            "transform": "none",
        },
        "windows": {"look_back": 8, "horizon": 2, "num_steps": 8, "streams": 2},
        "model": {"units": [4], "cell": "lstm", "ensemble": 1},
        "training": {"epochs": 4, "batch_size": 16, "learning_rate": 0.02, "early_stopping": {"patience": None}},
    }
    for key, value in sections.items():
        doc[key].update(value)
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def stateful_cfg(tmp: Path, cell: str = "lstm", **training: Any) -> Any:
    return load_config(
        write_config(tmp, windows={"mode": "stateful"}, model={"kind": "many_to_many", "cell": cell}, training=training)
    )


# ---------------------------------------------------------------------------------------------
# (a) stateful training: chunks continue each other, states reset when configured


def test_stateful_chunks_equal_the_stateless_model_on_the_whole_sequence(tmp_path: Path) -> None:
    from seqcast.model import build_model, reset_states
    from seqcast.windows import stateful_arrays

    prep = pipeline.prepare(stateful_cfg(tmp_path))
    model, rows = fitting.fit(prep)
    assert len(rows) == 4
    lay = prep.plan.train
    B, n_t = lay.batch_size, prep.n_targets
    assert (B, lay.batches) == (4, 4)  # 2 series x 2 streams; 4 chunks of 8 steps per stream, padding included

    x, _, w = stateful_arrays(lay, prep.arrays, n_t)  # (batches * B, num_steps, inputs), batch-major
    chunks = x.reshape(lay.batches, B, lay.num_steps, -1)
    whole = np.concatenate(list(chunks), axis=1)  # (B, batches * num_steps, inputs): row r's chunks in order
    pads = [int((np.concatenate([w.reshape(lay.batches, B, -1)[k, r] for k in range(lay.batches)]) == 0).sum())
            for r in range(B)]  # fmt: skip
    for r in range(B):  # row r of batch k+1 continues row r of batch k: one contiguous stretch of its series
        series, stream = lay.locate(r)
        start = lay.first[series] + stream * lay.chunks * lay.num_steps + pads[r]
        assert (whole[r, : pads[r]] == PAD_VALUE).all()
        np.testing.assert_array_equal(
            whole[r, pads[r] :], prep.arrays[series][start : start + whole.shape[1] - pads[r]]
        )
    assert sum(pads) == sum(lay.padded) > 0  # the series are padded, the padding at the start of stream 0

    reset_states(model)
    fed_in_chunks = np.concatenate([np.asarray(model(c.astype(np.float32))) for c in chunks], axis=1)
    stateless = build_model(prep.cfg, len(prep.ds.inputs), n_t, stateful=False)
    stateless.set_weights(model.get_weights())
    assert fed_in_chunks.shape == (B, lay.batches * lay.num_steps, n_t)
    for r in range(B):  # the masked padding leaves the states at zero: as if the row began at its first real row
        at_once = np.asarray(stateless(whole[r : r + 1, pads[r] :].astype(np.float32)))[0]
        np.testing.assert_allclose(fed_in_chunks[r, pads[r] :], at_once, atol=1e-5, rtol=1e-5)
    # and without the reset the states of the last call would leak in
    leaked = np.asarray(model(chunks[-1].astype(np.float32)))
    assert not np.allclose(leaked, fed_in_chunks[:, -lay.num_steps :], atol=1e-4)


class StateProbe(keras.callbacks.Callback):
    """Records whether every recurrent state is zero at each callback point."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, int, bool]] = []

    def _zero(self) -> bool:
        from seqcast.model import recurrent_layers

        states = [np.asarray(s) for layer in recurrent_layers(self.model) for s in layer.states]
        assert states, "a stateful model has state variables"
        return all(not s.any() for s in states)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.log.append(("epoch_begin", epoch, self._zero()))

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self.log.append(("batch_begin", batch, self._zero()))

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.log.append(("batch_end", batch, self._zero()))

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.log.append(("epoch_end", epoch, self._zero()))


def probe_fit(tmp: Path, monkeypatch: pytest.MonkeyPatch, policy: str) -> list[tuple[str, int, bool]]:
    """Fit a stateful model with a StateProbe placed after seqcast's own callbacks."""
    probe = StateProbe()  # fit runs extra callbacks after its own
    fitting.fit(pipeline.prepare(stateful_cfg(tmp, cell="gru", epochs=2, reset_states=policy)), callbacks=[probe])
    return probe.log


def zero_at(log: list[tuple[str, int, bool]], event: str) -> list[bool]:
    return [z for e, _, z in log if e == event]


def test_states_are_zero_at_each_epoch_start_and_carry_between_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = probe_fit(tmp_path, monkeypatch, "epoch")
    assert zero_at(log, "epoch_begin") == [True, True]  # reset by seqcast's callback ...
    assert zero_at(log, "epoch_end") == [False, False]  # ... although the epoch left non-zero states behind
    assert zero_at(log, "batch_end") == [False] * 8  # 4 batches of each of 2 epochs
    assert zero_at(log, "batch_begin") == [True, False, False, False] * 2  # carried within an epoch


def test_reset_states_batch_zeroes_before_every_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = probe_fit(tmp_path, monkeypatch, "batch")
    assert zero_at(log, "batch_begin") == [True] * 8
    assert zero_at(log, "batch_end") == [False] * 8


def test_reset_states_never_carries_states_into_the_next_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = probe_fit(tmp_path, monkeypatch, "never")
    assert zero_at(log, "epoch_begin") == [True, False]  # only the start of training is zero


@pytest.mark.parametrize("kind", ["many_to_many", "many_to_one"])
def test_stateful_val_loss_is_the_keras_model_warmed_on_the_training_tail(tmp_path: Path, kind: str) -> None:
    """val_loss (numpy engine, states kept only where needed) equals plain Keras: reset, run the warm-up rows,
    then score the validation part (many_to_one: the horizon after the warm-up and after each further chunk)."""
    from seqcast.model import build_model, reset_states

    cfg = load_config(
        write_config(
            tmp_path,
            data={"split": {"val": 0.3, "test": 0.1}},  # room for two chunks and a horizon after the warm-up
            windows={"mode": "stateful", "streams": 1},
            model={"kind": kind},
        )
    )
    prep = pipeline.prepare(cfg)
    warm, x, y = dataset.stateful_validation_data(prep)
    model = build_model(cfg, 2, 1, batch_size=warm.shape[0])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    made = callbacks.make_callbacks(prep, [], tmp_path, checkpoint.Session())
    check = next(c for c in made if isinstance(c, callbacks.StatefulValidation))
    check.set_model(model)
    logs: dict[str, float] = {}
    check.on_epoch_end(0, logs)

    reset_states(model)
    out = np.asarray(model(warm))
    n_t, lay = 1, prep.plan.train
    if kind == "many_to_many":
        pred = np.concatenate([out[:, -1:], np.asarray(model(x))], axis=1)
        want = float(np.mean((pred - y) ** 2))
    else:
        tail = np.concatenate([warm, x], axis=1)
        preds, trues, pos = [out], [tail[:, warm.shape[1] : warm.shape[1] + lay.target_len, :n_t]], lay.num_steps
        while warm.shape[1] + pos + lay.target_len <= tail.shape[1]:
            preds.append(np.asarray(model(x[:, pos - lay.num_steps : pos])))
            trues.append(tail[:, warm.shape[1] + pos : warm.shape[1] + pos + lay.target_len, :n_t])
            pos += lay.num_steps
        want = float(np.mean((np.concatenate(preds, 1) - np.concatenate(trues, 1)) ** 2))
    assert logs["val_loss"] == pytest.approx(want, rel=1e-5)


# ---------------------------------------------------------------------------------------------
# (b) every kind and cell trains, and the loss goes down

KINDS = [
    ("many_to_one", "lookback"),
    ("many_to_many", "lookback"),
    ("many_to_many", "stateful"),
    ("encoder_decoder", "lookback"),
]


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize(("kind", "mode"), KINDS, ids=[f"{k}-{m}" for k, m in KINDS])
def test_tiny_model_trains_and_loss_decreases(tmp_path: Path, kind: str, mode: str, cell: str) -> None:
    cfg = load_config(write_config(tmp_path, windows={"mode": mode}, model={"kind": kind, "cell": cell}))
    prep = pipeline.prepare(cfg)
    model, rows = fitting.fit(prep)

    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["loss"] > rows[-1]["loss"]
    assert all(np.isfinite(r["val_loss"]) for r in rows)
    first = model.layers[2 if mode == "stateful" else 1]  # stateful models start with Masking (the padding)
    assert first.__class__.__name__ == {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}[cell]
    assert model.output_shape[-1] == 1


# ---------------------------------------------------------------------------------------------
# (c) --set reaches the model, (d) seeds, (e) the run directory


def rnn_units(model: Any) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def test_set_overrides_reach_the_saved_model(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    res = CliRunner().invoke(
        app,
        ["train", str(config), "--quiet", "--set", "model.units=[5,3]", "--set", "training.epochs=1"]
        + ["--set", "model.cell=gru", "--output-dir", "out"],
    )
    assert res.exit_code == 0, res.output

    model = keras.saving.load_model(tmp_path / "out" / "model.keras")
    assert rnn_units(model) == [5, 3]
    assert [type(layer).__name__ for layer in model.layers if isinstance(layer, keras.layers.RNN)] == ["GRU", "GRU"]
    saved = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert saved["model"]["units"] == [5, 3] and saved["training"]["epochs"] == 1
    assert len((tmp_path / "out" / "history.csv").read_text().splitlines()) == 1 + 1


@pytest.mark.slow
def test_unrolled_stateful_train_step_equals_the_looped_one_and_keeps_the_model_unrolled_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = stateful_cfg(tmp_path, epochs=2)
    assert cfg.windows.num_steps <= fitting.UNROLL_MAX_STEPS
    unrolled, _ = fitting.fit(pipeline.prepare(cfg))
    monkeypatch.setattr(fitting, "UNROLL_MAX_STEPS", 0)  # the tf.while_loop graph
    looped, _ = fitting.fit(pipeline.prepare(cfg))
    for a, b in zip(unrolled.get_weights(), looped.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)  # float rounding only
    assert all(not layer.get_config().get("unroll", False) for layer in unrolled.layers)


@pytest.mark.slow
def test_same_seed_same_weights_other_seed_other_weights(tmp_path: Path) -> None:
    def weights(seed: int) -> list[np.ndarray]:
        cfg = load_config(write_config(tmp_path, training={"seed": seed, "epochs": 2}))
        assert cfg.training.shuffle  # shuffled windows: the seed has to fix their order too
        model, _ = fitting.fit(pipeline.prepare(cfg))
        return model.get_weights()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_train_run_writes_a_complete_run_directory(tmp_path: Path) -> None:
    config = write_config(tmp_path, windows={"mode": "stateful"}, model={"kind": "many_to_many"})
    cfg = load_config(config, ["training.epochs=3", "model.units=[3,2]"])  # --set, as the CLI passes it
    out = pipeline.train_run(cfg).run_dir

    assert out == tmp_path / "runs" / "tiny"
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, MARKER])
    assert (tmp_path / "runs" / "latest").resolve() == out.resolve()
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]  # no staging left over

    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss,seconds"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    assert all(float(v) >= 0 for line in lines[1:] for v in line.split(",")[1:])

    metrics = json.loads((out / "metrics.json").read_text())
    assert {"horizon", "origins", "model", "naive", "seasonal_naive", "per_target"} <= set(metrics)
    assert set(metrics["per_target"]) == {"y"}
    assert set(metrics["model"]) == {"mae", "rmse", "smape", "mase"}

    pre = json.loads((out / "preprocess.json").read_text())
    assert pre["inputs"] == ["y", "x"] and pre["frequency"] == "D"
    assert [s["last"] for s in pre["series"]] == ["2022-03-21", "2022-03-21"]
    assert set(pre["scaler"]["series"]) == {"A", "B"}

    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["training"]["shuffle"] is False  # defaults filled in
    assert resolved["model"]["dropout"] == 0.0

    model = keras.saving.load_model(out / "model.keras")  # the stateful model keeps its batch, any time steps
    assert tuple(model.inputs[0].shape) == (4, None, 2)
    assert rnn_units(model) == [3, 2]
    assert model.output_shape == (4, None, 1)


@pytest.mark.slow
def test_model_keras_loads_without_seqcast(tmp_path: Path) -> None:
    out = pipeline.train_run(load_config(write_config(tmp_path, training={"epochs": 1}))).run_dir
    code = (
        "import sys, keras\n"
        f"m = keras.saving.load_model({str(out / 'model.keras')!r})\n"
        "assert not any(k.startswith('seqcast') for k in sys.modules), 'seqcast was imported'\n"
        "print(m.output_shape)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "(None, 2, 1)"


def test_existing_output_dir_is_refused_then_replaced_with_overwrite(tmp_path: Path) -> None:
    config = write_config(tmp_path, training={"epochs": 1})
    target = tmp_path / "runs" / "tiny"
    target.mkdir(parents=True)
    (target / "metrics.json").write_text("yesterday's")  # a file of the old run
    (target / ".seqcast-run").write_text("a run seqcast wrote\n")  # --overwrite replaces only such folders
    runner = CliRunner()

    res = runner.invoke(app, ["train", str(config), "--quiet", "--set", "data.targets=[nope]"])
    assert res.exit_code == 2 and "data.targets: 'nope' is not a column" in res.stderr  # data first, then the folder
    assert "--overwrite" not in res.stderr
    res = runner.invoke(app, ["train", str(config), "--quiet"])
    assert res.exit_code == 2
    assert str(target) in res.stderr and "--overwrite" in res.stderr
    assert (target / "metrics.json").read_text() == "yesterday's"
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "metrics.json"]

    with pytest.raises(ConfigError):
        pipeline.train_run(load_config(config))
    assert (target / "metrics.json").exists()

    res = runner.invoke(app, ["train", str(config), "--quiet", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in target.iterdir()) == sorted([*RUN_FILES, MARKER])
    assert (tmp_path / "runs" / "latest").resolve() == target.resolve()
    elsewhere = tmp_path / "elsewhere"
    res = runner.invoke(app, ["train", str(config), "--quiet", "--output-dir", str(elsewhere)])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((elsewhere / "config.yaml").read_text())["output"]["dir"] == str(elsewhere)
    assert load_config(config).output.dir != elsewhere  # the user's config is as it was


def test_a_failed_run_leaves_nothing_and_keeps_the_old_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing appears until the run is complete, and --overwrite replaces the old folder only then."""

    def broken_fit(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("training blew up")

    monkeypatch.setattr(pipeline, "fit", broken_fit)
    config = write_config(tmp_path)
    with pytest.raises(RuntimeError):
        pipeline.train_run(load_config(config))
    assert not (tmp_path / "runs" / "tiny").exists()
    assert not [p for p in (tmp_path / "runs").glob(".*")]

    old = tmp_path / "runs" / "tiny"
    old.mkdir()
    (old / "model.keras").write_text("the old model")
    (old / ".seqcast-run").write_text("a run seqcast wrote\n")
    with pytest.raises(RuntimeError):
        pipeline.train_run(load_config(config), overwrite=True)
    assert (old / "model.keras").read_text() == "the old model"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["tiny"]


@pytest.mark.slow
def test_auto_transform_trials_show_their_progress(tmp_path: Path) -> None:
    """The `auto` trials train three models before training starts: each says so, with an epoch bar (stderr)."""
    config = write_config(tmp_path, data={"transform": "auto"}, training={"epochs": 2})
    res = CliRunner().invoke(app, ["train", str(config)])
    assert res.exit_code == 0, res.output
    first = res.stderr.index("data.transform auto: trial 1 of 3, none: at most 2 epochs, then a backtest from ")
    second = res.stderr.index("data.transform auto: trial 2 of 3, window_norm: at most 2 epochs")
    assert first < res.stderr.index("epoch", first + 40) < second  # an epoch bar between the two notes
    quiet = CliRunner().invoke(app, ["train", str(config), "--quiet", "--overwrite"])
    assert quiet.exit_code == 0, quiet.output
    assert "trial" not in quiet.stderr


def test_the_tensorflow_import_is_waited_for_inside_the_busy_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """train_run imports TensorFlow (seconds of silence otherwise) inside hooks.busy, and only there."""
    from seqcast import tfimport

    events: list[str] = []

    class Busy:
        def __init__(self, message: str) -> None:
            events.append(f"busy {message}")

        def __enter__(self) -> None:
            events.append("enter")

        def __exit__(self, *exc: object) -> None:
            events.append("exit")

    def fake_import(quiet: bool = True) -> None:
        events.append("import")
        raise KeyboardInterrupt  # stops the run here: what follows needs no checking

    monkeypatch.setattr(tfimport, "import_tf", fake_import)
    cfg = load_config(write_config(tmp_path, training={"epochs": 1}))
    with pytest.raises(KeyboardInterrupt):
        pipeline.train_run(cfg, hooks=pipeline.Hooks(busy=Busy))
    assert events[0].startswith("busy reading ")  # the data first: seconds for millions of rows
    assert events[1:] == ["enter", "exit", "busy importing TensorFlow", "enter", "import", "exit"]


def _stderr_on_a_terminal(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], bytes]:
    """Run cmd with stderr on a pseudo-terminal (stdout piped): the process, and what reached the terminal."""
    import os
    import pty

    main, child = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=child, text=True)
    os.close(child)
    out, _ = proc.communicate(timeout=120)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child's side is closed and read to the end
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, ""), seen


def test_the_busy_spinner_reaches_a_terminal_while_descriptor_2_is_silenced(tmp_path: Path) -> None:
    """console.busy draws on its own copy of the terminal: tfimport points descriptor 2 at /dev/null meanwhile."""
    code = (
        "import os, sys, time\n"
        "from seqcast import console\n"
        "with console.busy('importing TensorFlow'):\n"
        "    saved = os.dup(2); os.dup2(os.open(os.devnull, os.O_WRONLY), 2)\n"
        "    print('chatter', file=sys.stderr, flush=True)\n"  # silenced, as TensorFlow's start-up lines are
        "    time.sleep(1.0); os.dup2(saved, 2)\n"
        "print('done', flush=True)\n"
    )
    proc, seen = _stderr_on_a_terminal([sys.executable, "-c", code])
    assert proc.returncode == 0 and proc.stdout == "done\n"
    assert seen.count(b"importing TensorFlow") >= 3  # it kept turning while descriptor 2 went to /dev/null
    assert b"chatter" not in seen  # the spinner did not take over sys.stderr
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stderr == ""  # not a terminal: no spinner in a log


def test_commands_show_they_are_busy_on_a_terminal_only(tmp_path: Path) -> None:
    """evaluate, forecast, update and window-preview say what they are doing on a terminal (seconds on a long
    series); a pipe or a log gets nothing of it."""
    config = write_config(tmp_path, data={"features": []}, training={"epochs": 1})
    run = str(tmp_path / "run")
    res = CliRunner().invoke(app, ["train", str(config), "--quiet", "--output-dir", run])
    assert res.exit_code == 0, res.output
    new_rows = tmp_path / "new.csv"
    new_rows.write_text("time,series,y\n2022-03-22,A,0.5\n")
    commands = {
        "backtest on the test part": ["evaluate", "--run", run],
        "forecasting 3 steps": ["forecast", "--run", run, "--steps", "3"],
        "reading new.csv": ["update", "--run", run, "--data", str(new_rows)],
        "reading sine.csv": ["window-preview", str(config)],
    }
    for message, args in commands.items():
        cmd = [sys.executable, "-m", "seqcast", *args]
        proc, seen = _stderr_on_a_terminal(cmd)
        assert proc.returncode == 0, (args, seen)
        assert message.encode() in seen, (args, seen)
        piped = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert piped.returncode == 0 and message not in piped.stderr and message not in piped.stdout


def test_data_errors_come_before_the_run_directory_is_touched(tmp_path: Path) -> None:
    config = write_config(tmp_path, data={"targets": ["nope"]}, training={"epochs": 1})
    res = CliRunner().invoke(app, ["train", str(config), "--quiet"])
    assert res.exit_code == 2
    assert "nope" in res.stderr and "data.targets" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_release_data_frees_the_original_units_and_keeps_the_preprocess_record(tmp_path: Path) -> None:
    import gc
    import weakref

    prep = pipeline.prepare(load_config(write_config(tmp_path)))
    before = prep.preprocess_doc()
    units = [a.copy() for a in prep.arrays]
    gone = [weakref.ref(s.values) for s in prep.ds.series] + [weakref.ref(s.times) for s in prep.ds.series]
    prep.release_data()
    gc.collect()
    assert [r() is None for r in gone] == [True] * 4  # nothing keeps the float64 values or time axes alive
    assert [s.values.shape for s in prep.ds.series] == [(0, 2), (0, 2)]
    assert prep.preprocess_doc() == before  # rows, first and last timestamps, splits: as before
    assert before["series"][0]["rows"] == 80 and before["series"][0]["last"] == "2022-03-21"
    assert all(np.array_equal(a, b) for a, b in zip(prep.arrays, units, strict=True))  # model units untouched
    prep.release_data()  # a second call changes nothing
    assert prep.preprocess_doc() == before


def test_prepare_release_gives_the_same_model_units_and_record_and_frees_the_data(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, data={"transform": "difference"}))
    kept, freed = pipeline.prepare(cfg), pipeline.prepare(cfg, release=True)
    assert freed.preprocess_doc() == kept.preprocess_doc()
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(kept.arrays, freed.arrays, strict=True))
    assert [len(s.values) for s in freed.ds.series] == [0, 0] and [len(s.values) for s in kept.ds.series] == [80, 80]
    assert [len(s.times) for s in freed.ds.series] == [2, 2]


def test_train_json_prints_one_document_with_the_run_and_its_metrics(tmp_path: Path) -> None:
    config = write_config(tmp_path, training={"epochs": 1})
    res = CliRunner().invoke(app, ["train", str(config), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # stdout holds the document and nothing else
    run = tmp_path / "runs" / "tiny"
    assert doc["run_dir"] == str(run.absolute()) and doc["epochs"] == 1
    assert doc["metrics"] == json.loads((run / "metrics.json").read_text())
    assert "seqcast train: 2 series" in res.stderr  # the header and the progress go to stderr
    header = res.stderr.splitlines()
    i = next(k for k, line in enumerate(header) if line.startswith("seqcast train: 2 series"))
    assert header[i + 1].startswith("  model many_to_one LSTM(4)") and header[i + 1].endswith(", batch 16")
    pre = json.loads((run / "preprocess.json").read_text())
    assert header[i + 2] == f"  transform {pre['transform']} ({pre['transform_reason']})"
    assert pre["transform_reason"] == "set in the config"
    assert header[i + 3].startswith("  states: look-back windows")


def test_an_ensemble_trains_its_members_with_their_own_seeds_and_writes_one_plain_keras_model(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, model={"ensemble": 2}, training={"epochs": 2}))
    run = pipeline.train_run(cfg, output_dir=tmp_path / "run").run_dir
    with (run / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["member"] for r in rows] == ["0", "0", "1", "1"] and [r["epoch"] for r in rows] == ["1", "2", "1", "2"]
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    assert rnn_units(model) == [8]  # two members of 4 units, side by side
    assert [layer["units"] for layer in state_shapes(cfg, 16)] == [8]  # what window-preview shows
    # each member is the run one seed would give: the merged model is their mean
    members = []
    for k in range(2):
        single = load_config(write_config(tmp_path, training={"epochs": 2, "seed": k}))
        members.append(pipeline.train_run(single, output_dir=tmp_path / f"m{k}").run_dir)
    x = np.random.default_rng(0).normal(size=(3, 8, 2)).astype(np.float32)
    mean = np.mean([keras.saving.load_model(m / "model.keras")(x) for m in members], axis=0)
    np.testing.assert_allclose(np.asarray(model(x)), mean, atol=1e-5)


def test_window_preview_shows_the_state_shapes_of_a_stateful_ensemble_model_keras(tmp_path: Path) -> None:
    """The h and c a user assigns by hand (layer.states[i].assign) have the shapes window-preview prints."""
    cfg = load_config(
        write_config(
            tmp_path,
            windows={"mode": "stateful"},
            model={"kind": "many_to_many", "units": [4, 3], "ensemble": 2},
            training={"epochs": 1},
        )
    )
    run = pipeline.train_run(cfg, output_dir=tmp_path / "run").run_dir
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    plan = pipeline.prepare(cfg).plan
    shown = [list(layer["states"].values()) for layer in state_shapes(cfg, plan.batch_size)]
    assert shown == [[list(s.shape) for s in layer.states] for layer in recurrent_layers(model)]
    assert shown == [[[plan.batch_size, 8]] * 2, [[plan.batch_size, 6]] * 2]


def test_window_preview_lists_an_encoder_decoders_decoder_layers_as_model_keras_and_state_npz_hold_them(
    tmp_path: Path,
) -> None:
    """encoder_decoder with units [4, 3]: model.keras holds encoder_0, encoder_1, decoder_0, decoder_1, and so do
    window-preview's layers (it listed the encoder's alone) and state.npz's layer0 .. layer3."""
    cfg = load_config(
        write_config(
            tmp_path,
            windows={"horizon": 3},
            model={"kind": "encoder_decoder", "units": [4, 3]},
            training={"epochs": 1},
        )
    )
    run = pipeline.train_run(cfg, output_dir=tmp_path / "run").run_dir
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    shown = [layer["units"] for layer in state_shapes(cfg, 16)]
    assert shown == [layer.cell.units for layer in recurrent_layers(model)] == [4, 3, 4, 3]
    saved = np.load(run / "state.npz")
    assert [saved[f"layer{k}_h"].shape[1] for k in range(4)] == shown


def test_train_says_an_ensemble_is_trained_and_shows_each_networks_best_epoch(tmp_path: Path) -> None:
    stopping = {"patience": 3}  # on: each network keeps its best epoch (off, its last: shown as such)
    config = write_config(tmp_path, model={"ensemble": 2}, training={"epochs": 3, "early_stopping": stopping})
    res = CliRunner().invoke(app, ["train", str(config), "--output-dir", "out"])
    assert res.exit_code == 0, res.output
    assert "LSTM(4) x 2 networks averaged (model.ensemble)" in res.output
    with (tmp_path / "out" / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    best = [min((r for r in rows if r["member"] == k), key=lambda r: float(r["val_loss"]))["epoch"] for k in "01"]
    assert "6 (2 networks: 3, 3)" in res.output
    assert re.search(rf"best epochs +│ {best[0]}, {best[1]} \(val_loss", res.output), res.output


def test_without_early_stopping_the_summary_shows_the_last_epoch_whose_weights_are_kept(tmp_path: Path) -> None:
    """patience null keeps the last epoch's weights: the summary named the epoch of the lowest val_loss as the
    best, beside a model.keras that holds another. It shows the last epoch and its val_loss, as history.csv has."""
    config = write_config(tmp_path, training={"epochs": 3, "early_stopping": {"patience": None}, "refit": False})
    res = CliRunner().invoke(app, ["train", str(config), "--output-dir", "out"])
    assert res.exit_code == 0, res.output
    with (tmp_path / "out" / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3
    loss, val = (format(float(rows[-1][k]), ".4g") for k in ("loss", "val_loss"))
    assert re.search(rf"last epoch +│ 3 \(loss {loss}, val_loss {val}\)", res.output), res.output
    assert "best epoch" not in res.output


def test_without_a_validation_part_the_summary_shows_the_training_loss_it_chose_by_and_says_so(tmp_path: Path) -> None:
    training = {"epochs": 3, "early_stopping": {"patience": 3}}
    config = write_config(tmp_path, model={"ensemble": 2}, training=training, data={"split": {"val": 0}})
    res = CliRunner().invoke(app, ["train", str(config), "--output-dir", "out"])
    assert res.exit_code == 0, res.output
    with (tmp_path / "out" / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["val_loss"] == "nan" for r in rows)
    best = [min((r for r in rows if r["member"] == k), key=lambda r: float(r["loss"])) for k in "01"]
    want = f"best epochs +│ {best[0]['epoch']}, {best[1]['epoch']} \\(loss {float(best[0]['loss']):.4g}, "
    assert re.search(want, res.output), res.output
    assert "nan" not in res.output
    assert "none (no validation part, or one too short to score): the best epochs are the training loss's" in res.output


def test_an_auto_trial_of_two_networks_scores_the_mean_of_its_two_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqcast import select
    from seqcast.prepare import plan_and_scale

    cfg = load_config(write_config(tmp_path, training={"epochs": 2, "seed": 3}))
    p, scaler = plan_and_scale(cfg)
    jobs, steps = select.validation_jobs(p, cfg.evaluate.horizon)
    assert jobs and select.TRIAL_NETWORKS == 1  # the default: one network per trial
    alone = []
    for seed in (3, 4):
        one = cfg.model_copy(deep=True)
        one.training.seed = seed
        alone.append(select.candidate_score(one, p, scaler, "window_norm", jobs, steps))
    assert alone[0] != alone[1]  # the seeds give other networks
    monkeypatch.setattr(select, "TRIAL_NETWORKS", 2)
    assert select.candidate_score(cfg, p, scaler, "window_norm", jobs, steps) == pytest.approx(np.mean(alone))


@pytest.mark.parametrize(
    ("trend", "mode", "expected", "why"),
    [
        (False, "lookback", "none", "newer values stay within the earlier range (excess 0%)"),
        (True, "lookback", "window_norm", "newer values leave the earlier range by 26% of it: trend or level shift"),
        (True, "stateful", "difference", "newer values leave the earlier range by 26% of it: trend or level shift"),
    ],
)
def test_auto_without_a_validation_part_decides_by_the_range(
    tmp_path: Path, trend: bool, mode: str, expected: str, why: str
) -> None:
    """With data.split.val 0 there is nothing to backtest the candidates on: the last fifth of the training part
    is compared with the rest, and a series that leaves that range gets the level-free transform."""
    config = write_config(tmp_path, data={"transform": "auto", "split": {"val": 0, "test": 0.2}})
    if trend:  # y = t; training rows 0-63: its last fifth (51-63) reaches 13 above the rest (0-50): 26 % of 50
        rows = ["time,series,y,x"] + [
            f"{np.datetime64('2022-01-01') + np.timedelta64(t, 'D')},{s},{t},{t % 7}" for s in "AB" for t in range(80)
        ]
        (tmp_path / "sine.csv").write_text("\n".join(rows) + "\n")
    res = CliRunner().invoke(app, ["train", str(config), "--quiet", "--set", f"windows.mode={mode}"])
    assert res.exit_code == 0, res.output
    pre = json.loads((tmp_path / "runs" / "tiny" / "preprocess.json").read_text())
    assert (pre["transform"], pre["transform_scores"]) == (expected, {})
    assert pre["transform_reason"] == f"{why}; no validation part to backtest on"
    assert "trial" not in res.stderr  # nothing was trained to choose


def test_an_epoch_bar_of_a_diverged_fit_says_so_not_stopped_early(capsys: pytest.CaptureFixture[str]) -> None:
    from seqcast.console import epoch_progress

    bar = epoch_progress(5, "trial 2")
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    bar.on_epoch_end(0, {"loss": float("inf")})
    bar.on_train_end({"loss": float("inf")})
    text = " ".join(capsys.readouterr().err.split())
    assert "diverged in epoch 1" in text and "stopped early" not in text and "1/1" in text, text


def test_an_epoch_bar_stopped_early_ends_whole_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """Early stopping after 7 of 8 epochs: the bar's last state (what a pipe or a log keeps) is 7/7 and says it
    stopped early, not 7/8 with time left."""
    from seqcast.console import epoch_progress

    for last, said in ((7, "stopped early (7 of 8)"), (8, None)):
        bar = epoch_progress(8, "member 1/3")
        bar.on_train_begin()
        for epoch in range(last):
            bar.on_epoch_begin(epoch)
            bar.on_epoch_end(epoch, {"loss": 0.5, "val_loss": 0.6})
        bar.on_train_end()
        text = " ".join(capsys.readouterr().err.split())
        assert (said in text) if said else ("stopped early" not in text and "8/8" in text), text
        assert f"{last}/{last}" in text, text
