"""Train: one custom training loop over all epochs, under the strategy of training.distribute, that drives the
Keras callbacks as model.fit would (model.fit fails under MultiWorkerMirroredStrategy with Keras 3,
keras-team/keras#20585). Stateful batches are fed in layout order with shuffle off; Ctrl-C and SIGTERM stop
after the current batch, the checkpoint of the last complete epoch kept. Keras is imported inside the functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import rundir
from seqcast.checkpoint import Session, keeps_states, load_checkpoint
from seqcast.dataset import stateful_batches, window_dataset
from seqcast.errors import STOP_SIGNALS, ConfigError, DataError, Interrupted
from seqcast.prepare import Prepared
from seqcast.windows import LookbackWindows, StreamLayout

Note = Callable[[str], None]


def silent(message: str) -> None:
    """The default note: say nothing (a library prints nothing; the command line passes its own)."""


def fit(
    prep: Prepared,
    *,
    workdir: Path | None = None,
    checkpoint: Path | None = None,
    resume: Path | None = None,
    callbacks: list[Any] | None = None,
    note: Note = silent,
    info: Note = silent,
    logs: str = "",
) -> tuple[Any, list[dict[str, Any]]]:
    """Build, compile and train the model under training.distribute; returns it with one history row per epoch.

    One custom training loop for every strategy (see _train_loop); the Keras callbacks run as under model.fit.
    checkpoint: folder rewritten after every complete epoch; resume: a checkpoint to continue from.
    workdir: the run's folder, whose logs/<logs> gets training.tensorboard's logs (logs: member-0, refit, ...).
    callbacks: extra Keras callbacks (a progress bar, say), run after seqcast's own (their logs carry loss and
    val_loss). note: where messages go (a first Ctrl-C); info: where remarks go (how replicas share a batch);
    nowhere by default.
    Ctrl-C / SIGTERM stop after the current batch and raise Interrupted (the checkpoint stays).
    """
    import keras
    import tensorflow as tf

    from seqcast import distribute
    from seqcast.callbacks import make_callbacks
    from seqcast.model import build_model

    cfg, p = prep.cfg, prep.plan
    strategy = distribute.get_strategy(cfg)  # first: multi_worker must exist before TensorFlow runs any op
    replicas = strategy.num_replicas_in_sync
    keras.utils.set_random_seed(cfg.training.seed)
    tf.config.experimental.enable_op_determinism()
    n_in, n_t = len(prep.ds.inputs), prep.n_targets
    # stateful: the model of one replica holds its block of rows (the whole batch without a strategy)
    batch = distribute.replica_rows(cfg, p.batch_size, replicas) if cfg.stateful else p.batch_size
    if not cfg.stateful and p.batch_size < replicas:  # a replica without a sample failed deep in Keras
        raise ConfigError(
            f"training.batch_size={p.batch_size} is smaller than the {replicas} replicas of training.distribute: "
            f"{cfg.training.distribute}, and each replica needs a share of every batch",
            where="training.batch_size",
            hint=f"set training.batch_size to at least {replicas}, or training.distribute: none",
        )
    with strategy.scope(), distribute.per_replica_states():
        if resume is not None:
            model, rows, session = load_checkpoint(resume, cfg)
            session.checkpoint = checkpoint or resume
            session.saved_epoch = session.epochs_done
            if session.epochs_done > cfg.training.epochs:  # config.yaml will say the smaller number: say so
                note(f"the checkpoint has run {session.epochs_done} epochs, more than training.epochs="
                     f"{cfg.training.epochs}: they are kept, and no more run")  # fmt: skip
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
        if resume is not None and keeps_states(cfg) and not session.states_kept:
            note("the checkpoint keeps no states (an earlier seqcast's, or of another number of replicas): its next "
                 "epoch starts from zero states, where an uninterrupted training would carry on")  # fmt: skip
        if not model.optimizer.built:  # its slots must exist before the step function is traced
            model.optimizer.build(model.trainable_variables)
    if replicas > 1:
        per = f"{batch} rows (streams)" if cfg.stateful else f"about {-(-p.batch_size // replicas)} windows"
        info(
            f"training.distribute {cfg.training.distribute}: {replicas} replicas; each takes {per} "
            f"of every global batch of {p.batch_size}"
        )
    callbacks = make_callbacks(prep, rows, (workdir or Path(".")) / "logs" / logs, session) + list(callbacks or [])
    lost: Exception | None = None
    patience = cfg.training.early_stopping.patience
    stopped = patience is not None and session.wait >= patience  # a resumed checkpoint early stopping had ended
    if session.epochs_done >= cfg.training.epochs or stopped:
        if patience is not None and session.best_weights is not None:  # what BestKeeper did at the end of that fit
            model.set_weights(session.best_weights)
    else:
        with _stop_on_signals(model, session, note):
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
    resume_hint = f"resume with: {rundir.resume_command(ckpt)}" if ckpt else None
    if session.interrupted:  # a fit with a checkpoint (train's, not auto's trials) that saved no epoch: say so
        none = " before an epoch ended: there is no checkpoint; nothing that was there before has changed"
        raise Interrupted(f"training interrupted{where or none * (session.checkpoint is not None)}", hint=resume_hint)
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

    def weighted(y: Any, pred: Any, w: Any) -> tuple[Any, Any]:
        """(per-sample loss, samples) with stateful weights (batch, steps) or (batch,): padded steps weigh 0, so
        the loss is the mean over real steps, and a half-padded sample counts as half a sample."""
        err = loss_fn(y, pred)  # (batch, steps)
        w = tf.broadcast_to(tf.reshape(w, (tf.shape(w)[0], -1)), tf.shape(err))
        steps = tf.cast(tf.shape(err)[1], err.dtype)
        return tf.reduce_sum(err * w, axis=1) / steps, tf.reduce_sum(w) / steps

    def replica_train(x: Any, y: Any, w: Any = None) -> tuple[Any, Any]:
        with tf.GradientTape() as tape, _unrolled(model, unroll):
            pred = model(x, training=True)
            if w is None:
                per, n = per_sample(y, pred), tf.cast(tf.shape(x)[0], tf.float32)
            else:
                per, n = weighted(y, pred, w)
            n_global = tf.distribute.get_replica_context().all_reduce(sum_, n)
            loss = tf.reduce_sum(per) / n_global  # tf.nn.compute_average_loss, with a count that may be fractional
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, n

    def replica_eval(x: Any, y: Any) -> tuple[Any, Any]:
        return tf.reduce_sum(per_sample(y, model(x, training=False))), tf.cast(tf.shape(x)[0], tf.float32)

    def both(fn: Any) -> Any:
        def step(*args: Any) -> tuple[Any, Any]:
            a, b = strategy.run(fn, args=args)
            return strategy.reduce(sum_, a, axis=None), strategy.reduce(sum_, b, axis=None)

        return tf.function(step, reduce_retracing=True)

    train_step, eval_step = both(replica_train), both(replica_eval)

    if cfg.stateful:
        lay = p.train
        assert isinstance(lay, StreamLayout)
        x, y, w = stateful_batches(prep)
        steps, big = lay.batches, lay.batch_size

        def batches() -> Iterator[tuple[Any, ...]]:  # layout order; replica i always gets the same rows
            for _ in range(first, epochs):
                for k in range(steps):
                    rows = slice(k * big, (k + 1) * big)
                    yield distribute.replica_blocks(strategy, x[rows], y[rows], w[rows])

        source: Iterator[tuple[Any, ...]] = batches()
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

    if session.interrupted:  # Ctrl-C or SIGTERM while the data and the step were being built: nothing to train
        return
    cbs = keras.callbacks.CallbackList(callbacks, model=model, verbose=0, epochs=epochs, steps=steps)
    model.stop_training = False  # the loop reads session.interrupted too: a signal from here on is not lost
    cbs.on_train_begin()
    logs: dict[str, Any] = {}
    for epoch in range(first, epochs):
        cbs.on_epoch_begin(epoch)
        total, count, ran = 0.0, 0.0, 0
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            loss, n = train_step(*next(source))
            total, count, ran = total + float(loss) * float(n), count + float(n), step + 1
            cbs.on_train_batch_end(step, {"loss": total / count})
            if (model.stop_training or session.interrupted) and ran < steps:
                break
        if session.interrupted and ran < steps:  # cut short: no epoch for any callback (the checkpoint keeps the
            break  # last whole one); a signal in the last batch or the validation stops after a whole epoch
        logs = {"loss": total / count if count else float("nan")}
        if val_ds is not None:
            v_total, v_count = 0.0, 0.0
            for xb, yb in val_ds:
                s, n = eval_step(xb, yb)
                v_total, v_count = v_total + float(s), v_count + float(n)
            logs["val_loss"] = v_total / v_count if v_count else float("nan")
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training or session.interrupted:
            break
    cbs.on_train_end(logs | ({"interrupted": True} if session.interrupted else {}))  # the bar says which it was


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
def _stop_on_signals(model: Any, session: Session, note: Note) -> Iterator[None]:
    """First Ctrl-C / SIGTERM: finish the current batch and stop; a second one stops at once."""
    import signal
    import threading

    from seqcast.errors import check_interrupted

    check_interrupted()  # a signal before this fit whose KeyboardInterrupt Python dropped (pipeline._train_and_commit)
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if session.interrupted:
            raise KeyboardInterrupt
        session.interrupted = True
        model.stop_training = True
        note("stopping after the current batch (press Ctrl-C again to stop at once)")

    saved = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)
