"""The Keras callbacks of a training run: state resets, stateful validation, the history rows, early stopping that
keeps the best weights, and the per-epoch checkpoint. Imported by fit.py only (it imports Keras).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from seqcast.checkpoint import Session, save_checkpoint
from seqcast.config import Config
from seqcast.dataset import stateful_validation_data
from seqcast.model import reset_states
from seqcast.prepare import Prepared
from seqcast.windows import StreamLayout

Rows = list[dict[str, Any]]  # history.csv: one dict per epoch (epoch, loss, val_loss, seconds)


def loss_np(name: str, pred: np.ndarray, true: np.ndarray) -> float:
    """The compiled loss (mse, mae or huber), in numpy."""
    err = pred - true
    if name == "mae":
        return float(np.mean(np.abs(err)))
    if name == "huber":
        a = np.abs(err)
        return float(np.mean(np.where(a <= 1.0, 0.5 * err**2, a - 0.5)))
    return float(np.mean(err**2))


class ResetStates(keras.callbacks.Callback):
    """training.reset_states: zero every stateful layer at the start of each epoch (or batch)."""

    def __init__(self, policy: str, kept: bool = False) -> None:
        super().__init__()
        self.policy, self.kept = policy, kept

    def on_train_begin(self, logs: Any = None) -> None:
        if not self.kept:  # a resumed fit of `never` carries on from the states its checkpoint restored
            reset_states(self.model)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.policy == "epoch":
            reset_states(self.model)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self.policy == "batch":
            reset_states(self.model)


class StatefulValidation(keras.callbacks.Callback):
    """val_loss for stateful models: the model, warmed on each series' training part, scores the val part.

    Runs on the numpy engine with the epoch's weights (batch = series; the training batch does not matter).
    """

    def __init__(self, prep: Prepared, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        super().__init__()
        self.prep = prep
        self.warm, self.x, self.y = data

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        from seqcast import engine

        twin = engine.from_keras(self.model)
        with engine.one_blas_thread():
            loss = self.score(twin)
        if logs is not None:
            logs["val_loss"] = loss

    def score(self, twin: Any) -> float:
        """The loss of the warmed model on the validation part."""
        prep = self.prep
        lay = prep.plan.train
        assert isinstance(lay, StreamLayout)
        # the states after all but the last warm-up row (no output or state per step kept), then that row:
        # the answer after the whole warm-up
        b, w = self.warm.shape[:2]
        twin.states = twin.warm(self.warm, np.arange(b), np.full(b, w - 1))
        out = twin(self.warm[:, -1:])
        if lay.many_to_many:
            pred = np.concatenate([out[:, -1:], twin(self.x)], axis=1)
            return loss_np(prep.cfg.training.loss, pred, self.y)
        preds, trues = [], []  # many_to_one: after each further chunk of num_steps, the next horizon steps
        tail = np.concatenate([self.warm, self.x], axis=1)
        start, pos = self.warm.shape[1], 0
        while start + pos + lay.target_len <= tail.shape[1]:
            if pos:
                out = twin(self.x[:, pos - lay.num_steps : pos])
            preds.append(out)
            trues.append(tail[:, start + pos : start + pos + lay.target_len, : prep.n_targets])
            pos += lay.num_steps
        return loss_np(prep.cfg.training.loss, np.concatenate(preds, 1), np.concatenate(trues, 1))


class EpochLog(keras.callbacks.Callback):
    """history.csv rows and a NaN guard."""

    def __init__(self, rows: Rows) -> None:
        super().__init__()
        self.rows = rows

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs or {}
        self.rows.append(
            {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", np.nan)),
                "val_loss": float(logs.get("val_loss", np.nan)),
                "seconds": time.perf_counter() - self.t0,
            }
        )
        if not np.isfinite(self.rows[-1]["loss"]):
            self.model.stop_training = True


class BestKeeper(keras.callbacks.Callback):
    """Early stopping on `monitor` that restores the best weights; its state lives in the session (checkpointed)."""

    def __init__(self, session: Session, monitor: str, patience: int | None) -> None:
        super().__init__()
        self.session, self.monitor, self.patience = session, monitor, patience

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        s = self.session
        value = float((logs or {}).get(self.monitor, np.nan))
        if np.isfinite(value) and value < s.best:
            s.best, s.best_epoch, s.wait = value, epoch + 1, 0
            s.best_weights = [np.array(w) for w in self.model.get_weights()]
        else:
            s.wait += 1
        if self.patience is not None and s.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: Any = None) -> None:
        s = self.session
        if self.patience is not None and s.best_weights is not None and not s.interrupted:
            self.model.set_weights(s.best_weights)


class Checkpointer(keras.callbacks.Callback):
    """After every complete, finite epoch: model (with optimizer), history and early-stopping state. The loop calls
    on_epoch_end for an epoch whose every batch ran, a signal in its validation or its last batch included."""

    def __init__(self, session: Session, rows: Rows, cfg: Config) -> None:
        super().__init__()
        self.session, self.rows, self.cfg = session, rows, cfg

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        s = self.session
        if not self.rows or not np.isfinite(self.rows[-1]["loss"]):
            return  # a diverged epoch is never saved: resume repeats it (nor is a cut-short one, which never ends)
        if s.checkpoint is not None:
            save_checkpoint(s.checkpoint, self.model, self.rows, s, self.cfg)
            s.saved_epoch = epoch + 1


def has_validation(prep: Prepared) -> bool:
    """Is there a validation loss to monitor (else early stopping watches the training loss)?"""
    if prep.cfg.stateful:
        return stateful_validation_data(prep) is not None
    return prep.plan.val is not None and len(prep.plan.val) > 0


def make_callbacks(prep: Prepared, rows: Rows, logs: Path, session: Session) -> list[Any]:
    """seqcast's callbacks for one fit, in the order they must run; training.tensorboard's logs go to `logs`."""
    cfg = prep.cfg
    callbacks: list[Any] = []
    if cfg.stateful:
        callbacks.append(ResetStates(cfg.training.reset_states, kept=session.states_kept))
        data = stateful_validation_data(prep)
        if data is not None:
            callbacks.append(StatefulValidation(prep, data))
    callbacks.append(EpochLog(rows))
    monitor = "val_loss" if has_validation(prep) else "loss"
    callbacks.append(BestKeeper(session, monitor, cfg.training.early_stopping.patience))
    callbacks.append(Checkpointer(session, rows, cfg))
    if cfg.training.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(logs)))
    return callbacks
