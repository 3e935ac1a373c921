"""Train the model a config describes and write its run directory.

One custom training loop over all epochs, under the strategy of training.distribute (distribute.py), that
drives the Keras callbacks as model.fit would (model.fit fails under MultiWorkerMirroredStrategy with Keras 3,
keras-team/keras#20585). Look-back windows are fed by tf.data, gathering each batch's windows from one flat
array of all series (no (N, look_back, inputs) array ever exists).
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
from seqcast.data import Dataset, Parts, Scaler
from seqcast.errors import ConfigError, DataError, SeqcastError
from seqcast.preview import Plan, check_backtest, plan
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
    flat: np.ndarray | None = None  # (rows, inputs): all series one after another, `arrays` are views of it
    released: list[dict[str, Any]] | None = None  # series_doc() once release_data() freed the original units

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
            "series": self.series_doc(),
        }

    def series_doc(self) -> list[dict[str, Any]]:
        """Name, rows, first and last timestamp and split of every series (kept by release_data)."""
        return self.released if self.released is not None else series_doc(self.ds, self.plan.parts)

    def release_data(self) -> None:
        """Free every series' values and time axis in original units: training reads only the model units.

        The float64 values and the int64/datetime64 times are 1.25x the raw data and would sit unused through
        training (the backtest at the end reads the data file again, in the run's own terms). Afterwards each
        series keeps its name, its first and last timestamp and no values; preprocess_doc is unchanged.
        Nothing may read ds.series[i].values or .times after this. `prepare(release=True)` does it as early
        as it can.
        """
        if self.released is None:
            self.released = self.series_doc()
        _drop_times(self.ds)
        _drop_values(self.ds)


def series_doc(ds: Dataset, parts: list[Parts]) -> list[dict[str, Any]]:
    """What preprocess.json records of every series: name, rows, first and last timestamp, split ends."""
    from seqcast import timeaxis

    return [
        {
            "name": s.name,
            "rows": len(s),
            "first": timeaxis.fmt(s.times[0], ds.time_kind),
            "last": timeaxis.fmt(s.times[-1], ds.time_kind),
            "train_end": p.train_end,
            "val_end": p.val_end,
        }
        for s, p in zip(ds.series, parts, strict=True)
    ]


def _drop_times(ds: Dataset) -> None:
    for s in ds.series:
        if len(s.times) > 2:
            s.times = s.times[[0, -1]]  # a copy: no view keeps the whole axis alive


def _drop_values(ds: Dataset) -> None:
    for s in ds.series:
        s.values = np.empty((0, s.values.shape[1]), s.values.dtype)


def prepare(cfg: Config, ds: Dataset | None = None, *, release: bool = False, quiet: bool = True) -> Prepared:
    """Load and lay out the data, fit the scaler on the training parts, choose and apply the transform.

    quiet=False shows the progress of the `auto` trials (stderr).
    release=True (what `seqcast train` asks): the original units are freed as soon as they are not needed,
    the time axes before the model-unit buffer is filled and the values after it (Prepared.release_data);
    the peak then holds the values and the float32 model units, not the time axes too.
    """
    p = plan(cfg, ds)
    check_backtest(cfg, p.ds, p.parts)
    scaler = Scaler.fit(cfg.data.scaler, p.ds, p.parts)
    transform: str = cfg.data.transform
    why = "set in the config"
    if transform == "auto":
        transform, why = choose(cfg, p, scaler, quiet=quiet)  # trains each candidate briefly (transform.py)
    if transform == "window_norm" and cfg.stateful:
        from seqcast.errors import ConfigError

        raise ConfigError(
            "window_norm needs look-back windows; use difference in stateful mode", where="data.transform"
        )
    released = None
    if release:  # the time axes are not read past this point: free them before the buffer is filled
        released = series_doc(p.ds, p.parts)
        _drop_times(p.ds)
    flat, arrays = model_arrays(p.ds, scaler, transform)
    prep = Prepared(p, scaler, transform, why, arrays, flat, released)
    if release:
        prep.release_data()
    return prep


def model_arrays(ds: Dataset, scaler: Scaler, transform: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every series in model units: one (rows, inputs) float32 buffer and a view of it per series.

    float32 because the model computes in float32: transforms are computed in float64 (a block of rows at a
    time) and rounded once, the numbers a float64 buffer cast per batch would give, at half the memory. The
    buffer is 64-byte aligned so that window_dataset hands it to TensorFlow without a copy.
    """
    lengths = [len(s) for s in ds.series]
    flat = aligned_empty((sum(lengths), len(ds.inputs)), np.float32)
    arrays, o = [], 0
    block = 1 << 16  # rows at a time: the float64 temporaries of scaling stay small (2 MiB per 4 columns)
    for i, (s, n) in enumerate(zip(ds.series, lengths, strict=True)):
        for k in range(0, n, block):
            lo = max(k - 1, 0)  # one row before the block: `difference` needs it
            units = to_model_units(scaler.transform(i, s.values[lo : k + block]), transform)
            part = flat[o + k : o + min(k + block, n)]
            part[:] = units[k - lo :]
            if np.isinf(part).any():  # beyond float32, the model's dtype (3.4e38), once scaled
                who = f"series {s.name!r}" if s.name else "the series"
                raise DataError(
                    f"{who} has values too large for the model's float32 units once scaled (data.scaler: "
                    f"{scaler.kind}; largest {float(np.abs(s.values[k : k + block]).max()):.3g})",
                    where=ds.source,
                    hint="set data.scaler to standard, or express the columns in other units",
                )
        arrays.append(flat[o : o + n])
        o += n
    return flat, arrays


def aligned_empty(shape: tuple[int, int], dtype: Any) -> np.ndarray:
    """np.empty(shape, dtype) starting on a 64-byte boundary (TensorFlow copies a less aligned buffer)."""
    nbytes = shape[0] * shape[1] * np.dtype(dtype).itemsize
    buf = np.empty(nbytes + 64, np.uint8)
    skip = -buf.ctypes.data % 64
    return buf[skip : skip + nbytes].view(dtype).reshape(shape)


def _flat(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """(rows, inputs) array of all series one after another, and each series' first row in it.

    prep.flat itself when prepare made it (no copy; float32, NaN kept: the graph cleans each batch);
    otherwise one aligned float32 copy, filled series by series.
    """
    lengths = [len(a) for a in prep.arrays]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    if prep.flat is not None:
        return prep.flat, offsets
    flat = aligned_empty((sum(lengths), len(prep.ds.inputs)), np.float32)
    for a, o in zip(prep.arrays, offsets, strict=True):
        flat[o : o + len(a)] = a
    return flat, offsets


def _tensor(a: np.ndarray) -> Any:
    """a as a TensorFlow tensor sharing its memory (dlpack); a copy unless a is C-contiguous and 64-byte aligned.

    (TensorFlow's kernels assume aligned buffers and dlpack does not check: a misaligned one aborts in a gather.)
    """
    import tensorflow as tf

    if not a.flags.c_contiguous or not a.flags.writeable or a.ctypes.data % 64:
        return tf.constant(a)
    try:
        return tf.experimental.dlpack.from_dlpack(a.__dlpack__())
    except (BufferError, TypeError, ValueError, tf.errors.OpError):  # read-only, odd strides
        return tf.constant(a)


def _all_finite(a: np.ndarray, rows: int = 1 << 18) -> bool:
    """No NaN or inf in a, checked in blocks of rows (no array-sized temporary)."""
    return all(np.isfinite(a[k : k + rows]).all() for k in range(0, len(a), rows))


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
    The pipeline reads prep.flat in place (TensorFlow shares its memory): prep.arrays must not change while it runs.
    """
    import tensorflow as tf

    flat, offsets = _flat(prep)
    data = _tensor(flat)  # (rows, inputs), the memory of prep.flat: no copy of the data
    clean = not _all_finite(flat)  # e.g. row 0 of a differenced series: NaN -> 0 per batch, as np.nan_to_num
    n, bs, stride = len(windows), batch_size, windows.stride
    ends = np.cumsum(windows.counts)  # (series,) one past each series' last window number
    # window k of series i starts at global row base[i] + k * stride (windows.py, LookbackWindows)
    base = tf.constant(offsets + windows.firsts - (ends - windows.counts) * stride)
    ends_t = tf.constant(ends)
    shape, n_t, norm = windows.shape, prep.n_targets, prep.transform == "window_norm"
    span = tf.range(shape.span, dtype=tf.int64)  # inputs and targets: one gather
    lo, hi = np.finfo(np.float32).min, np.finfo(np.float32).max
    index_dtype = tf.int32 if n < 2**31 else tf.int64  # window numbers: 4 bytes each per epoch order

    def gather(k: Any) -> tuple[Any, Any]:
        k = tf.cast(k, tf.int64)  # (batch,) window numbers
        s = tf.gather(base, tf.searchsorted(ends_t, k, side="right")) + k * stride  # (batch,) global start rows
        w = tf.cast(tf.gather(data, s[:, None] + span), tf.float32)  # (batch, span, inputs)
        if clean:
            w = tf.clip_by_value(tf.where(tf.math.is_nan(w), tf.zeros_like(w), w), lo, hi)
        x = w[:, : shape.look_back]  # (batch, look_back, inputs)
        y = w[:, shape.target_offset : shape.target_offset + shape.target_len, :n_t]  # (batch, target steps, targets)
        if norm:
            last = x[:, -1:, :]  # (batch, 1, inputs)
            x, y = x - last, y - last[:, :, :n_t]
        return x, y

    def epoch_order(e: Any) -> Any:
        order = tf.range(n, dtype=index_dtype)
        if shuffle:  # the permutation depends on (seed, e) and n only, not on what is shuffled
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.constant(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order).batch(bs, drop_remainder)

    if epochs is not None:
        ds = tf.data.Dataset.range(epochs[0], epochs[1]).flat_map(epoch_order)
    else:
        ds = tf.data.Dataset.from_tensor_slices(tf.range(n, dtype=index_dtype)).batch(bs, drop_remainder)
    # tf.data's default static rewrites serialize the pipeline when its iterator is made, `data` included: a
    # transient copy of the whole data set. The pipeline is already what they would make it (parallel map, prefetch).
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).with_options(options)


def _loss_np(name: str, pred: np.ndarray, true: np.ndarray) -> float:
    err = pred - true
    if name == "mae":
        return float(np.mean(np.abs(err)))
    if name == "huber":
        a = np.abs(err)
        return float(np.mean(np.where(a <= 1.0, 0.5 * err**2, a - 0.5)))
    return float(np.mean(err**2))


def stateful_validation_data(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(warm, x, y) for stateful validation: the common tail of every training part, then the val part.

    The warm-up is at most one stream's span (chunks * num_steps rows), the longest run of steps the model
    carries its states over in training (states are reset every epoch); with reset_states never it is the
    whole training part. The warm-up runs step by step on the numpy engine after every epoch, so on a long
    series warming on the whole training part would cost more than the epoch itself (160,000 steps: ~6 s).
    """
    lay = prep.plan.train
    assert isinstance(lay, StreamLayout)
    parts = prep.plan.parts
    val_len = min(p.val_end - p.train_end for p in parts)
    if val_len < lay.target_len + (0 if lay.target_offset == 1 else lay.num_steps - 1):
        return None
    warm_len = min(p.train_end - f for p, f in zip(parts, lay.first, strict=True))
    if prep.cfg.training.reset_states != "never":
        warm_len = min(warm_len, lay.chunks * lay.num_steps)
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
            with twin.blas_threads(self.warm.shape[0]):
                loss = self.score(twin)
            if logs is not None:
                logs["val_loss"] = loss

        def score(self, twin: Any) -> float:
            lay = prep.plan.train
            assert isinstance(lay, StreamLayout)
            # the states after all but the last warm-up row (no output or state per step kept), then that row:
            # the answer after the whole warm-up
            b, w = self.warm.shape[:2]
            twin.states = twin.warm(self.warm, np.arange(b), np.full(b, w - 1))
            out = twin(self.warm[:, -1:])
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
            return loss

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
        "best": session.best if np.isfinite(session.best) else None,  # strict JSON: no Infinity
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
    try:
        state = json.loads(state_file.read_text())
        config, rows = state["config"], list(state["rows"])
        best_value = float("inf") if state["best"] is None else float(state["best"])
        counts = int(state["epochs_done"]), int(state["best_epoch"]), int(state["wait"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{state_file} is damaged ({exc}): this checkpoint cannot be resumed", where="--resume"
        ) from None
    if config != _resumable(cfg):
        raise ConfigError(
            "the config differs from the checkpoint's (only training.epochs and output may change)",
            where="--resume",
        )
    try:
        model = keras.saving.load_model(path / "model.keras", safe_mode=True)
        best = None
        if (path / "best.npz").exists():
            with np.load(path / "best.npz", allow_pickle=False) as z:
                best = [z[f"arr_{i}"] for i in range(len(z.files))]
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError... for a model it will not load
        raise ConfigError(
            f"the checkpoint's model cannot be loaded safely: {exc}", where=f"--resume {path / 'model.keras'}"
        ) from None
    session = Session(path, counts[0], best_value, counts[1], counts[2], best)
    return model, rows, session


def fit(
    prep: Prepared,
    *,
    quiet: bool = False,
    workdir: Path | None = None,
    checkpoint: Path | None = None,
    resume: Path | None = None,
    callbacks: list[Any] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Build, compile and train the model under training.distribute; returns it with one history row per epoch.

    One custom training loop for every strategy (see _train_loop); the Keras callbacks run as under model.fit.
    checkpoint: folder rewritten after every complete epoch; resume: a checkpoint to continue from.
    callbacks: extra Keras callbacks, run after seqcast's own (their logs carry loss and val_loss).
    Ctrl-C / SIGTERM stop after the current batch and raise Interrupted (the checkpoint stays).
    """
    import keras
    import tensorflow as tf

    from seqcast import distribute
    from seqcast.model import build_model

    cfg, p = prep.cfg, prep.plan
    strategy = distribute.get_strategy(cfg)  # first: multi_worker must exist before TensorFlow runs any op
    replicas = strategy.num_replicas_in_sync
    keras.utils.set_random_seed(cfg.training.seed)
    tf.config.experimental.enable_op_determinism()
    n_in, n_t = len(prep.ds.inputs), prep.n_targets
    # stateful: the model of one replica holds its block of rows (the whole batch without a strategy)
    batch = distribute.replica_rows(cfg, p.batch_size, replicas) if cfg.stateful else p.batch_size
    with strategy.scope(), distribute.per_replica_states():
        if resume is not None:
            model, rows, session = load_checkpoint(resume, cfg)
            session.checkpoint = checkpoint or resume
            session.saved_epoch = session.epochs_done
            if cfg.stateful and model.inputs[0].shape[0] != batch:
                raise ConfigError(
                    f"the checkpoint's stateful model has {model.inputs[0].shape[0]} rows per replica, this run "
                    f"{batch} ({replicas} replicas): resume with the number of replicas it was trained with",
                    where="--resume",
                )
        else:
            model = build_model(cfg, n_in, n_t, batch_size=batch)
            model.compile(optimizer=keras.optimizers.Adam(cfg.training.learning_rate), loss=cfg.training.loss)
            rows, session = [], Session(checkpoint)
        if not model.optimizer.built:  # its slots must exist before the step function is traced
            model.optimizer.build(model.trainable_variables)
    if replicas > 1 and not quiet:
        per = f"{batch} rows (streams)" if cfg.stateful else f"about {-(-p.batch_size // replicas)} windows"
        console.note(
            f"training.distribute {cfg.training.distribute}: {replicas} replicas; each takes {per} "
            f"of every global batch of {p.batch_size}"
        )
    callbacks = _make_callbacks(prep, quiet, rows, workdir or Path("."), session) + list(callbacks or [])
    lost: Exception | None = None
    if session.epochs_done < cfg.training.epochs:
        with _stop_on_signals(model, session):
            try:
                _train_loop(prep, model, strategy, callbacks, session)
            except tf.errors.OpError as exc:
                if not distribute.is_lost_peer(cfg, exc):
                    raise
                lost = exc
    if cfg.stateful and replicas > 1:  # the saved model keeps the whole training batch (SPEC)
        whole = build_model(cfg, n_in, n_t, batch_size=p.batch_size)
        whole.set_weights(model.get_weights())
        model = whole
    ckpt = session.checkpoint if session.saved_epoch else None
    where = f"; the checkpoint of epoch {session.saved_epoch} is kept at {ckpt}" if ckpt else ""
    resume_hint = f"resume with: seqcast train CONFIG --resume {ckpt}" if ckpt else None
    if session.interrupted:
        raise Interrupted(f"training interrupted{where}", hint=resume_hint)
    if lost is not None:
        raise distribute.lost_peer(lost, where) from lost
    if rows and not np.isfinite(rows[-1]["loss"]):
        raise DataError(
            f"the loss became {rows[-1]['loss']} in epoch {rows[-1]['epoch']}: training diverged{where}",
            hint="lower training.learning_rate, or check the data for extreme values"
            + (f"; {resume_hint}" if resume_hint else ""),
        )
    return model, rows


def _train_loop(prep: Prepared, model: Any, strategy: Any, callbacks: list[Any], session: Session) -> None:
    """Epochs session.epochs_done .. training.epochs: a tf.function step per global batch, callbacks as in fit.

    Each replica computes the compiled loss per sample on its part of the batch; tf.nn.compute_average_loss
    divides the sum by the GLOBAL batch (all replicas' rows), and the optimizer sums the replicas' gradients,
    so any number of replicas takes the step one device would take on the whole batch. The epoch's loss is
    the mean over its samples, val_loss (look-back mode) the mean over the validation windows in inference
    mode, both computed under the same strategy. model.stop_training (early stopping, Ctrl-C) ends training
    after the current batch.
    """
    import keras
    import tensorflow as tf

    from seqcast import distribute

    cfg, p = prep.cfg, prep.plan
    first, epochs = session.epochs_done, cfg.training.epochs
    loss_fn = keras.losses.get(cfg.training.loss)  # the compiled loss, per sample and step
    sum_ = tf.distribute.ReduceOp.SUM
    # stateful batches always have num_steps time steps: the train step is traced with the recurrent layers
    # unrolled (no tf.while_loop; see _unrolled). Tracing grows with num_steps, hence the cap.
    unroll = cfg.stateful and cfg.windows.num_steps <= UNROLL_MAX_STEPS

    def per_sample(y: Any, pred: Any) -> Any:
        err = loss_fn(y, pred)  # (batch, steps): the loss reduced over targets only
        return tf.reduce_mean(err, axis=list(range(1, len(err.shape))))  # (batch,)

    def replica_train(x: Any, y: Any) -> tuple[Any, Any]:
        n = tf.cast(tf.shape(x)[0], tf.float32)
        n_global = tf.distribute.get_replica_context().all_reduce(sum_, n)
        with tf.GradientTape() as tape, _unrolled(model, unroll):
            per = per_sample(y, model(x, training=True))
            loss = tf.nn.compute_average_loss(per, global_batch_size=tf.cast(n_global, tf.int64))
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, n

    def replica_eval(x: Any, y: Any) -> tuple[Any, Any]:
        return tf.reduce_sum(per_sample(y, model(x, training=False))), tf.cast(tf.shape(x)[0], tf.float32)

    def both(fn: Any) -> Any:
        def step(x: Any, y: Any) -> tuple[Any, Any]:
            a, b = strategy.run(fn, args=(x, y))
            return strategy.reduce(sum_, a, axis=None), strategy.reduce(sum_, b, axis=None)

        return tf.function(step, reduce_retracing=True)

    train_step, eval_step = both(replica_train), both(replica_eval)

    if cfg.stateful:
        lay = p.train
        assert isinstance(lay, StreamLayout)
        x, y = stateful_arrays(lay, [np.nan_to_num(a) for a in prep.arrays], prep.n_targets)
        x, y = x.astype(np.float32, copy=False), y.astype(np.float32, copy=False)  # stacked float32 already: no copy
        steps, big = lay.batches, lay.batch_size

        def batches() -> Iterator[tuple[Any, Any]]:  # layout order; replica i always gets the same rows
            for _ in range(first, epochs):
                for k in range(steps):
                    yield distribute.replica_blocks(strategy, x[k * big : (k + 1) * big], y[k * big : (k + 1) * big])

        source: Iterator[tuple[Any, Any]] = batches()
        val_ds = None
    else:
        assert isinstance(p.train, LookbackWindows)
        bs = cfg.training.batch_size
        steps = -(-len(p.train) // bs)
        train_ds = window_dataset(
            prep, p.train, bs, bool(cfg.training.shuffle), cfg.training.seed, epochs=(first, epochs)
        )
        source = iter(distribute.distribute_dataset(strategy, train_ds))
        val_ds = (
            distribute.distribute_dataset(strategy, window_dataset(prep, p.val, 256, False, 0))
            if p.val is not None and len(p.val)
            else None
        )

    cbs = keras.callbacks.CallbackList(callbacks, model=model, verbose=0, epochs=epochs, steps=steps)
    model.stop_training = False
    cbs.on_train_begin()
    logs: dict[str, Any] = {}
    for epoch in range(first, epochs):
        cbs.on_epoch_begin(epoch)
        total, count = 0.0, 0.0
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            xb, yb = next(source)
            loss, n = train_step(xb, yb)
            total, count = total + float(loss) * float(n), count + float(n)
            cbs.on_train_batch_end(step, {"loss": total / count})
            if model.stop_training:
                break
        logs = {"loss": total / count if count else float("nan")}
        if val_ds is not None and not session.interrupted:
            v_total, v_count = 0.0, 0.0
            for xb, yb in val_ds:
                s, n = eval_step(xb, yb)
                v_total, v_count = v_total + float(s), v_count + float(n)
            logs["val_loss"] = v_total / v_count if v_count else float("nan")
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)


UNROLL_MAX_STEPS = 100  # stateful num_steps up to this: the train step is traced unrolled (_unrolled)


@contextlib.contextmanager
def _unrolled(model: Any, on: bool) -> Iterator[None]:
    """Within: the model's recurrent layers unroll their time loop (a fixed number of steps, no tf.while_loop).

    Used while the stateful train step is traced (its Python body runs only then): the same cell equations
    without the while loop's per-iteration overhead, ~40% less time per batch of 50 steps on CPU for ~2 s more
    tracing (bench_training); the numbers differ from the looped graph's by float rounding only. Restored on
    exit, so model.keras and checkpoints keep unroll=False and accept any number of time steps.
    """
    layers = [layer for layer in model.layers if on and getattr(layer, "unroll", None) is False]
    for layer in layers:
        layer.unroll = True
    try:
        yield
    finally:
        for layer in layers:
            layer.unroll = False


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
    """Train, evaluate on the test split and write the run directory; returns its path.

    A multi_worker task other than the chief trains its share and writes nothing (see _train_worker).
    """
    from seqcast import distribute, rundir
    from seqcast.cli import debug_enabled
    from seqcast.model import check_size
    from seqcast.tfimport import import_tf

    check_size(cfg, len(cfg.inputs), len(cfg.data.targets))  # before TensorFlow allocates anything
    import_tf(quiet=not debug_enabled())
    distribute.check(cfg)  # multi_worker: TF_CONFIG names the cluster and this task
    target = Path(output_dir).absolute() if output_dir is not None else Path(cfg.output.dir or "runs/run").absolute()
    protected = {"the data": Path(cfg.data.path)} | ({"the config": Path(config_path)} if config_path else {})
    if distribute.is_chief(cfg):
        rundir.check_target(target, overwrite, protected)  # a refusal costs nothing yet; checked again under the lock
    # data and config errors come before anything touches the disk; from here on only the model-unit buffer
    # holds the data (the original units are freed: 1.25x the raw data less while training)
    prep = prepare(cfg, release=True, quiet=quiet)
    if not distribute.is_chief(cfg):
        return _train_worker(prep, cfg, target, quiet, resume)
    if resume is not None and not (resume / "state.json").exists():
        raise ConfigError(f"{resume} is not a seqcast checkpoint (no state.json)", where="--resume")
    rundir.prepare_parent(target)
    with rundir.lock(target):  # one train at a time into output.dir; the checkpoint beside it is its own
        rundir.check_target(target, overwrite, protected)
        metrics, rows, seconds = _train_and_commit(prep, cfg, target, overwrite, protected, quiet, resume)
    # the run is complete and in place: nothing from here on may turn that into a failure
    for note in filter(None, [_drop_resumed(resume, rundir.checkpoint_dir(target)), rundir.point_latest(target)]):
        console.note(note)
    if not quiet:
        try:
            console.train_summary(rows, seconds, target, metrics)
        except Exception as exc:  # a display fault must not fail a written run
            console.note(f"the run is complete in {target}, but its summary could not be shown: {exc}")
    return target


def _train_and_commit(
    prep: Prepared,
    cfg: Config,
    target: Path,
    overwrite: bool,
    protected: dict[str, Path],
    quiet: bool,
    resume: Path | None,
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """Train into a staging folder and swap it into place; SIGTERM stops like Ctrl-C (the staging is removed)."""
    import shutil
    import signal

    from seqcast import rundir

    checkpoint = rundir.checkpoint_dir(target)
    for n in prep.ds.notes:
        console.note(n)
    if not quiet:
        console.train_header(cfg, prep, reset_policy_text(cfg))

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        with rundir.staging(target, overwrite, protected) as work:
            result = _train_into(work, prep, cfg, quiet, checkpoint, resume)
    except BaseException as exc:
        if checkpoint.exists() and not isinstance(exc, Interrupted):  # Interrupted names it already
            console.note(
                f"the checkpoint of the training so far is kept at {checkpoint}: resume with "
                f"seqcast train CONFIG --resume {checkpoint}, or delete it"
            )
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    shutil.rmtree(checkpoint, ignore_errors=True)  # the run is complete: its checkpoint has served
    return result


def _drop_resumed(resume: Path | None, checkpoint: Path) -> str | None:
    """Remove a --resume checkpoint once its run is complete, unless it holds anything else (then a note)."""
    import shutil

    from seqcast.rundir import CHECKPOINT_FILES

    if resume is None or not resume.is_dir() or resume.resolve() == checkpoint.resolve():
        return None
    others = sorted(p.name for p in resume.iterdir() if p.name not in CHECKPOINT_FILES)
    if others:
        return f"the checkpoint {resume} was kept: it holds other files too ({', '.join(others[:5])})"
    shutil.rmtree(resume, ignore_errors=True)
    return None


def _train_worker(prep: Prepared, cfg: Config, target: Path, quiet: bool, resume: Path | None) -> Path:
    """A non-chief multi_worker task: train in step with the chief into a throwaway folder, write nothing.

    Returns the run directory the chief writes. With --resume, every worker needs the checkpoint at that
    path (a shared folder, or a copy).
    """
    import tempfile

    from seqcast import distribute

    if not quiet:
        console.train_header(cfg, prep, reset_policy_text(cfg))
    with tempfile.TemporaryDirectory(prefix="seqcast-worker-") as tmp:
        fit(prep, quiet=quiet, workdir=Path(tmp), checkpoint=None, resume=resume)
    if not quiet:
        console.note(f"{distribute.task_name()}: training done; the chief writes the run directory, this task nothing")
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
