"""Train the model a config describes and write its run directory.

One model.fit over all epochs. Look-back windows are fed by tf.data, gathering each batch's
windows from one flat array of all series (no (N, look_back, inputs) array ever exists).
Stateful batches are fed in layout order with shuffle off; a callback resets every recurrent
layer's state at the start of each epoch (or batch), and validation warms a copy of the model
on each series' training part before scoring the validation part.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from seqcast import console
from seqcast.config import Config
from seqcast.data import Dataset, Scaler
from seqcast.errors import ConfigError, DataError, SeqcastError
from seqcast.preview import Plan, plan
from seqcast.transform import choose, to_model_units
from seqcast.windows import LookbackWindows, StreamLayout, stateful_arrays


@dataclass
class Prepared:
    """The plan plus everything fitted on the training part: scaler, transform, model-unit arrays."""

    plan: Plan
    scaler: Scaler
    transform: str
    transform_why: str
    arrays: list[np.ndarray]  # per series (n, inputs) in model units

    @property
    def cfg(self) -> Config:
        return self.plan.cfg

    @property
    def ds(self) -> Dataset:
        return self.plan.ds

    @property
    def n_targets(self) -> int:
        return len(self.ds.targets)

    def preprocess_doc(self) -> dict[str, Any]:
        from seqcast import timeaxis

        cfg, ds = self.cfg, self.ds
        return {
            "format": 1,
            "targets": ds.targets,
            "features": ds.features,
            "inputs": ds.inputs,
            "time_column": cfg.data.time_column,
            "series_column": cfg.data.series_column,
            "time_kind": ds.time_kind,
            "frequency": ds.freq.alias if ds.freq else None,
            "mode": cfg.windows.mode,
            "kind": cfg.model.kind,
            "look_back": cfg.windows.look_back,
            "horizon": cfg.windows.horizon,
            "num_steps": cfg.windows.num_steps,
            "streams": cfg.windows.streams,
            "batch_size": self.plan.batch_size,
            "transform": self.transform,
            "transform_requested": cfg.data.transform,
            "transform_reason": self.transform_why,
            "scaler": self.scaler.to_json(ds.names, ds.inputs),
            "series": [
                {
                    "name": s.name,
                    "rows": len(s),
                    "first": timeaxis.fmt(s.times[0], ds.time_kind),
                    "last": timeaxis.fmt(s.times[-1], ds.time_kind),
                    "train_end": p.train_end,
                    "val_end": p.val_end,
                }
                for s, p in zip(ds.series, self.plan.parts, strict=True)
            ],
        }


def prepare(cfg: Config, ds: Dataset | None = None) -> Prepared:
    """Load and lay out the data, fit the scaler on the training parts, choose and apply the transform."""
    p = plan(cfg, ds)
    scaler = Scaler.fit(cfg.data.scaler, p.ds, p.parts)
    transform: str = cfg.data.transform
    why = "set in the config"
    if transform == "auto":
        transform, why = choose(p.ds, p.parts, scaler, cfg.windows.mode)
    if transform == "window_norm" and cfg.stateful:
        from seqcast.errors import ConfigError

        raise ConfigError(
            "window_norm needs look-back windows; use difference in stateful mode", where="data.transform"
        )
    arrays = [to_model_units(scaler.transform(i, s.values), transform) for i, s in enumerate(p.ds.series)]
    return Prepared(p, scaler, transform, why, arrays)


def _flat(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All series stacked into one (rows, inputs) float32 array, and each series' first row in it."""
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])[:-1]]).astype(np.int64)
    return np.nan_to_num(np.concatenate(arrays).astype(np.float32)), offsets


def window_dataset(
    prep: Prepared,
    windows: LookbackWindows,
    batch_size: int,
    shuffle: bool,
    seed: int,
    drop_remainder: bool = False,
    epochs: tuple[int, int] | None = None,
) -> Any:
    """tf.data pipeline of (x, y) batches; each batch gathers its windows in the graph.

    With epochs=(first, end) the pipeline spans those epochs (fit with steps_per_epoch), and epoch e's
    order is a stateless shuffle keyed by (seed, e): a resumed run sees exactly the batches it would have.
    """
    import tensorflow as tf

    flat, offsets = _flat(prep.arrays)
    data = tf.constant(flat)  # (rows, inputs): the only copy of the data
    starts = tf.constant(offsets[windows.series] + windows.starts)  # (windows,) global start rows
    shape, n_t, norm = windows.shape, prep.n_targets, prep.transform == "window_norm"
    x_steps = tf.range(shape.look_back, dtype=tf.int64)
    y_steps = tf.range(shape.target_offset, shape.target_offset + shape.target_len, dtype=tf.int64)

    def gather(s: Any) -> tuple[Any, Any]:
        x = tf.gather(data, s[:, None] + x_steps)  # (batch, look_back, inputs)
        y = tf.gather(data, s[:, None] + y_steps)[:, :, :n_t]  # (batch, target steps, targets)
        if norm:
            last = x[:, -1:, :]  # (batch, 1, inputs)
            x, y = x - last, y - last[:, :, :n_t]
        return x, y

    def epoch_order(e: Any) -> Any:
        order = tf.random.experimental.stateless_shuffle(starts, seed=tf.stack([tf.constant(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order if shuffle else starts).batch(batch_size, drop_remainder)

    if epochs is not None:
        ds = tf.data.Dataset.range(epochs[0], epochs[1]).flat_map(epoch_order)
    else:
        ds = tf.data.Dataset.from_tensor_slices(starts).batch(batch_size, drop_remainder)
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _loss_np(name: str, pred: np.ndarray, true: np.ndarray) -> float:
    err = pred - true
    if name == "mae":
        return float(np.mean(np.abs(err)))
    if name == "huber":
        a = np.abs(err)
        return float(np.mean(np.where(a <= 1.0, 0.5 * err**2, a - 0.5)))
    return float(np.mean(err**2))


def stateful_validation_data(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(warm, x, y) for stateful validation: the common tail of every training part, then the val part."""
    lay = prep.plan.train
    assert isinstance(lay, StreamLayout)
    parts = prep.plan.parts
    val_len = min(p.val_end - p.train_end for p in parts)
    if val_len < lay.target_len + (0 if lay.target_offset == 1 else lay.num_steps - 1):
        return None
    warm_len = min(p.train_end - f for p, f in zip(parts, lay.first, strict=True))
    n_t = prep.n_targets
    warm = np.stack([a[p.train_end - warm_len : p.train_end] for a, p in zip(prep.arrays, parts, strict=True)])
    if lay.target_offset == 1:  # many_to_many: one-step targets over the val part
        x = np.stack([a[p.train_end : p.train_end + val_len - 1] for a, p in zip(prep.arrays, parts, strict=True)])
        y = np.stack(
            [a[p.train_end + 1 : p.train_end + val_len, :n_t] for a, p in zip(prep.arrays, parts, strict=True)]
        )
        # the warm-up's last output predicts row train_end: score it too
        y = np.concatenate(
            [np.stack([a[p.train_end : p.train_end + 1, :n_t] for a, p in zip(prep.arrays, parts, strict=True)]), y],
            axis=1,
        )
    else:
        x = np.stack([a[p.train_end : p.train_end + val_len] for a, p in zip(prep.arrays, parts, strict=True)])
        y = np.empty(0)
    return warm.astype(np.float32), x.astype(np.float32), y.astype(np.float32)


def _make_callbacks(
    prep: Prepared, quiet: bool, rows: list[dict[str, Any]], workdir: Path, session: Session
) -> list[Any]:
    import keras

    from seqcast.model import reset_states

    cfg = prep.cfg
    callbacks: list[Any] = []

    class ResetStates(keras.callbacks.Callback):
        """training.reset_states: zero every stateful layer at the start of each epoch (or batch)."""

        def on_train_begin(self, logs: Any = None) -> None:
            reset_states(self.model)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if cfg.training.reset_states == "epoch":
                reset_states(self.model)

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if cfg.training.reset_states == "batch":
                reset_states(self.model)

    class StatefulValidation(keras.callbacks.Callback):
        """val_loss for stateful models: the model, warmed on each series' training part, scores the val part.

        Runs on the numpy engine with the epoch's weights (batch = series; the training batch does not matter).
        """

        def __init__(self, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
            super().__init__()
            self.warm, self.x, self.y = data

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            from seqcast import engine

            twin = engine.from_keras(self.model)
            lay = prep.plan.train
            assert isinstance(lay, StreamLayout)
            twin.reset(self.warm.shape[0])
            out = twin(self.warm)
            if lay.target_offset == 1:
                pred = np.concatenate([out[:, -1:], twin(self.x)], axis=1)
                loss = _loss_np(cfg.training.loss, pred, self.y)
            else:  # many_to_one: after each further chunk of num_steps, the next horizon steps
                preds, trues = [], []
                tail = np.concatenate([self.warm, self.x], axis=1)
                start, pos = self.warm.shape[1], 0
                while start + pos + lay.target_len <= tail.shape[1]:
                    if pos:
                        out = twin(self.x[:, pos - lay.num_steps : pos])
                    preds.append(out)
                    trues.append(tail[:, start + pos : start + pos + lay.target_len, : prep.n_targets])
                    pos += lay.num_steps
                loss = _loss_np(cfg.training.loss, np.concatenate(preds, 1), np.concatenate(trues, 1))
            if logs is not None:
                logs["val_loss"] = loss

    class EpochLog(keras.callbacks.Callback):
        """history.csv rows and a NaN guard."""

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            rows.append(
                {
                    "epoch": epoch + 1,
                    "loss": float(logs.get("loss", np.nan)),
                    "val_loss": float(logs.get("val_loss", np.nan)),
                    "seconds": time.perf_counter() - self.t0,
                }
            )
            if not np.isfinite(rows[-1]["loss"]):
                self.model.stop_training = True

    if cfg.stateful:
        callbacks.append(ResetStates())
        data = stateful_validation_data(prep)
        if data is not None:
            callbacks.append(StatefulValidation(data))
    callbacks.append(EpochLog())
    monitor = "val_loss" if _has_val(prep) else "loss"
    patience = cfg.training.early_stopping.patience

    class BestKeeper(keras.callbacks.Callback):
        """Early stopping on `monitor` that restores the best weights; its state survives a checkpoint."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            value = float((logs or {}).get(monitor, np.nan))
            if np.isfinite(value) and value < session.best:
                session.best, session.best_epoch, session.wait = value, epoch + 1, 0
                session.best_weights = [np.array(w) for w in self.model.get_weights()]
            else:
                session.wait += 1
            if patience is not None and session.wait >= patience:
                self.model.stop_training = True

        def on_train_end(self, logs: Any = None) -> None:
            if patience is not None and session.best_weights is not None and not session.interrupted:
                self.model.set_weights(session.best_weights)

    class Checkpointer(keras.callbacks.Callback):
        """After every complete, finite epoch: model (with optimizer), history and early-stopping state."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if session.interrupted or not rows or not np.isfinite(rows[-1]["loss"]):
                return  # a cut-short or diverged epoch is never saved: resume repeats it
            if session.checkpoint is not None:
                save_checkpoint(session.checkpoint, self.model, rows, session, cfg)
                session.saved_epoch = epoch + 1

    callbacks.append(BestKeeper())
    callbacks.append(Checkpointer())
    if cfg.training.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(workdir / "logs")))
    if not quiet:
        callbacks.append(console.EpochProgress(cfg.training.epochs, rows, start=session.epochs_done))
    return callbacks


def _has_val(prep: Prepared) -> bool:
    if prep.cfg.stateful:
        return stateful_validation_data(prep) is not None
    return prep.plan.val is not None and len(prep.plan.val) > 0


@dataclass
class Session:
    """What a checkpoint must carry for a resumed run to end exactly where an uninterrupted one would."""

    checkpoint: Path | None = None
    epochs_done: int = 0
    best: float = float("inf")
    best_epoch: int = 0
    wait: int = 0
    best_weights: list[np.ndarray] | None = None
    interrupted: bool = False
    saved_epoch: int = 0  # the last epoch written to the checkpoint


class Interrupted(SeqcastError):
    """Ctrl-C or SIGTERM: training stopped after the current batch."""

    exit_code = 130


def save_checkpoint(path: Path, model: Any, rows: list[dict[str, Any]], session: Session, cfg: Config) -> None:
    """Write the checkpoint folder atomically: model.keras (optimizer included), state.json, best.npz."""
    import json
    import shutil

    tmp = path.parent / (path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.keras")
    state = {
        "epochs_done": len(rows),
        "rows": rows,
        "best": session.best,
        "best_epoch": session.best_epoch,
        "wait": session.wait,
        "config": _resumable(cfg),
    }
    (tmp / "state.json").write_text(json.dumps(state))
    if session.best_weights is not None:
        np.savez(tmp / "best.npz", *session.best_weights)
    old = path.parent / (path.name + ".old")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def _resumable(cfg: Config) -> dict[str, Any]:
    """The config a checkpoint must match to be resumed (output and epoch count may differ)."""
    doc = cfg.to_dict()
    doc.pop("output", None)
    doc["training"].pop("epochs", None)
    return doc


def load_checkpoint(path: Path, cfg: Config) -> tuple[Any, list[dict[str, Any]], Session]:
    """(model, history rows, session) from a checkpoint folder, checked against the config."""
    import json

    import keras

    state_file = path / "state.json"
    if not state_file.exists() or not (path / "model.keras").exists():
        raise ConfigError(f"{path} is not a seqcast checkpoint (no state.json / model.keras)", where="--resume")
    state = json.loads(state_file.read_text())
    if state["config"] != _resumable(cfg):
        raise ConfigError(
            "the config differs from the checkpoint's (only training.epochs and output may change)",
            where="--resume",
        )
    model = keras.saving.load_model(path / "model.keras", safe_mode=True)
    best = None
    if (path / "best.npz").exists():
        with np.load(path / "best.npz", allow_pickle=False) as z:
            best = [z[f"arr_{i}"] for i in range(len(z.files))]
    session = Session(
        path, int(state["epochs_done"]), float(state["best"]), int(state["best_epoch"]), int(state["wait"]), best
    )
    return model, list(state["rows"]), session


def fit(
    prep: Prepared,
    *,
    quiet: bool = False,
    workdir: Path | None = None,
    checkpoint: Path | None = None,
    resume: Path | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Build, compile and fit the model (one model.fit); returns it with one history row per epoch.

    checkpoint: folder rewritten after every complete epoch; resume: a checkpoint to continue from.
    Ctrl-C / SIGTERM stop after the current batch and raise Interrupted (the checkpoint stays).
    """
    import keras
    import tensorflow as tf

    from seqcast.model import build_model

    cfg, p = prep.cfg, prep.plan
    keras.utils.set_random_seed(cfg.training.seed)
    tf.config.experimental.enable_op_determinism()
    n_in, n_t = len(prep.ds.inputs), prep.n_targets
    if resume is not None:
        model, rows, session = load_checkpoint(resume, cfg)
        session.checkpoint = checkpoint or resume
        session.saved_epoch = session.epochs_done
    else:
        model = build_model(cfg, n_in, n_t, batch_size=p.batch_size)
        model.compile(optimizer=keras.optimizers.Adam(cfg.training.learning_rate), loss=cfg.training.loss)
        rows, session = [], Session(checkpoint)
    callbacks = _make_callbacks(prep, quiet, rows, workdir or Path("."), session)
    first, epochs = session.epochs_done, cfg.training.epochs
    with _stop_on_signals(model, session):
        if first >= epochs:
            pass
        elif cfg.stateful:
            lay = p.train
            assert isinstance(lay, StreamLayout)
            x, y = stateful_arrays(lay, [np.nan_to_num(a) for a in prep.arrays], n_t)
            model.fit(
                x.astype(np.float32),
                y.astype(np.float32),
                batch_size=lay.batch_size,
                epochs=epochs,
                initial_epoch=first,
                shuffle=False,
                callbacks=callbacks,
                verbose=0,
            )
        else:
            assert isinstance(p.train, LookbackWindows)
            bs = cfg.training.batch_size
            train_ds = window_dataset(
                prep, p.train, bs, bool(cfg.training.shuffle), cfg.training.seed, epochs=(first, epochs)
            )
            val_ds = window_dataset(prep, p.val, 256, False, 0) if p.val is not None and len(p.val) else None
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=epochs,
                initial_epoch=first,
                steps_per_epoch=-(-len(p.train) // bs),
                callbacks=callbacks,
                verbose=0,
                shuffle=False,
            )
    ckpt = session.checkpoint if session.saved_epoch else None
    where = f"; the checkpoint of epoch {session.saved_epoch} is kept at {ckpt}" if ckpt else ""
    resume_hint = f"resume with: seqcast train CONFIG --resume {ckpt}" if ckpt else None
    if session.interrupted:
        raise Interrupted(f"training interrupted{where}", hint=resume_hint)
    if rows and not np.isfinite(rows[-1]["loss"]):
        raise DataError(
            f"the loss became {rows[-1]['loss']} in epoch {rows[-1]['epoch']}: training diverged{where}",
            hint="lower training.learning_rate, or check the data for extreme values"
            + (f"; {resume_hint}" if resume_hint else ""),
        )
    return model, rows


@contextlib.contextmanager
def _stop_on_signals(model: Any, session: Session) -> Iterator[None]:
    """First Ctrl-C / SIGTERM: finish the current batch and stop; a second one stops at once."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if session.interrupted:
            raise KeyboardInterrupt
        session.interrupted = True
        model.stop_training = True
        console.note("stopping after the current batch (press Ctrl-C again to stop at once)")

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)


def _history_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["epoch", "loss", "val_loss", "seconds"], lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def reset_policy_text(cfg: Config) -> str:
    if not cfg.stateful:
        return "look-back windows: every sample starts from zero states (stateful=False), shuffled each epoch"
    return {
        "epoch": "stateful: states carry from batch to batch (row r continues row r) and are reset at each epoch start",
        "batch": "stateful layers, but states are reset before every batch (training.reset_states: batch)",
        "never": "stateful: states are never reset during training (training.reset_states: never)",
    }[cfg.training.reset_states]


def train_run(
    cfg: Config,
    *,
    config_path: Path | None = None,
    output_dir: Path | None = None,
    overwrite: bool = False,
    resume: Path | None = None,
    quiet: bool = False,
) -> Path:
    """Train, evaluate on the test split and write the run directory; returns its path."""
    from seqcast import rundir
    from seqcast.cli import debug_enabled
    from seqcast.tfimport import import_tf

    import_tf(quiet=not debug_enabled())
    target = Path(output_dir).absolute() if output_dir is not None else Path(cfg.output.dir or "runs/run").absolute()
    prep = prepare(cfg)  # data and config errors come before anything touches the disk
    rundir.check_target(target, overwrite)
    if resume is not None and not (resume / "state.json").exists():
        raise ConfigError(f"{resume} is not a seqcast checkpoint (no state.json)", where="--resume")
    checkpoint = rundir.checkpoint_dir(target)
    for n in prep.ds.notes:
        console.note(n)
    if not quiet:
        console.train_header(cfg, prep, reset_policy_text(cfg))
    import signal

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: the partial run folder is removed

    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        with rundir.staging(target, overwrite) as work:
            metrics, rows, seconds = _train_into(work, prep, cfg, quiet, checkpoint, resume)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    import shutil

    shutil.rmtree(checkpoint, ignore_errors=True)  # the run is complete: its checkpoint has served
    if resume is not None and resume.resolve() != checkpoint.resolve():
        shutil.rmtree(resume, ignore_errors=True)
    rundir.point_latest(target)
    if not quiet:
        console.train_summary(rows, seconds, target, metrics)
    return target


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _train_into(
    work: Path, prep: Prepared, cfg: Config, quiet: bool, checkpoint: Path, resume: Path | None
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """Train and write every run file into the staging folder `work`."""
    from seqcast import rundir

    t0 = time.perf_counter()
    model, rows = fit(prep, quiet=quiet, workdir=work, checkpoint=checkpoint, resume=resume)
    seconds = time.perf_counter() - t0
    model.save(work / "model.keras")
    (work / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    rundir.write_json(work / "preprocess.json", prep.preprocess_doc())
    (work / "history.csv").write_text(_history_csv(rows))
    from seqcast.evaluate import backtest_run

    metrics = backtest_run(work, horizon=cfg.evaluate.horizon)
    rundir.write_json(work / "metrics.json", metrics)
    return metrics, rows, seconds
