"""Inference without TensorFlow: the weights in model.keras are plain arrays, and an LSTM, GRU or
SimpleRNN step plus a Dense head is a few numpy lines. Forecast and evaluate run on this engine,
so they start in a fraction of a second and work where TensorFlow is not installed; tests check
it against the Keras model itself.

It computes in float32, the dtype of model.keras and of Keras' own forward pass. Each layer projects
its inputs onto the gates once for all time steps (one matmul), then the recurrence runs step by step
in preallocated buffers; nothing is kept per step unless the caller asks for it. `warm` runs a long
history a block of time steps at a time and keeps the states only where asked (backtest origins).
BLAS threads: `blas_threads` gives small matrices one thread (see BLAS_MIN_FLOPS).

Shapes: x (batch, time, n_inputs); state of a layer: (h,) or (h, c), each (batch, units).
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqcast.errors import DataError

State = tuple[np.ndarray, ...]
DTYPE = np.float32  # model.keras holds float32 weights; Keras computes its forward pass in float32
Act = Callable[[np.ndarray, np.ndarray], Any]  # act(x, out): out = f(x), out may be x itself


def _sigmoid(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, 0.5, out=out)  # 1 / (1 + exp(-x)) = (tanh(x / 2) + 1) / 2: no overflow, 3 in-place passes
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _linear(x: np.ndarray, out: np.ndarray) -> None:
    if out is not x:
        np.copyto(out, x)


_ACT: dict[str, Act] = {
    "tanh": lambda x, out: np.tanh(x, out=out),
    "sigmoid": _sigmoid,
    "relu": lambda x, out: np.maximum(x, 0.0, out=out),
    "linear": _linear,
}


def activation(name: str) -> Act:
    """The in-place numpy function of a Keras activation name; a ValueError for one the engine lacks."""
    if name not in _ACT:
        raise ValueError(f"activation {name!r} is not one seqcast's engine knows ({', '.join(_ACT)})")
    return _ACT[name]


def _apply(name: str, x: np.ndarray) -> np.ndarray:
    activation(name)(x, x)
    return x


# (step, rows, sink positions): after local step `step`, the states of `rows` are copied to those positions
Taps = dict[int, tuple[np.ndarray, np.ndarray]]


@dataclass
class Recurrent:
    """One LSTM, GRU or SimpleRNN layer with Keras' weight layout and gate order."""

    cell: str  # lstm | gru | simple_rnn
    kernel: np.ndarray  # (inputs, gates * units)
    recurrent: np.ndarray  # (units, gates * units)
    bias: np.ndarray  # lstm/simple_rnn: (gates * units,); gru (reset_after): (2, 3 * units)
    return_sequences: bool
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"

    def __post_init__(self) -> None:
        self.kernel = np.ascontiguousarray(self.kernel, dtype=DTYPE)
        self.recurrent = np.ascontiguousarray(self.recurrent, dtype=DTYPE)
        self.bias = np.ascontiguousarray(self.bias, dtype=DTYPE)
        self._act, self._ract = activation(self.activation), activation(self.recurrent_activation)

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]

    def zero_state(self, batch: int) -> State:
        """Zero states for `batch` rows: (h, c) for an LSTM, (h,) otherwise."""
        z = np.zeros((batch, self.units), DTYPE)
        return (z, z.copy()) if self.cell == "lstm" else (z,)

    def project(self, x: np.ndarray) -> np.ndarray:
        """The input part of every gate for all time steps at once, bias included: (batch, time, gates * units)."""
        b, t, n = x.shape
        xw = np.matmul(x.reshape(b * t, n), self.kernel).reshape(b, t, -1)
        xw += self.bias[0] if self.cell == "gru" else self.bias  # gru: the input bias; the recurrent one is inside
        return xw

    def scan(
        self,
        xw: np.ndarray,
        state: State,
        mask: np.ndarray | None = None,
        outs: np.ndarray | None = None,
        taps: tuple[Taps, State] | None = None,
    ) -> State:
        """The state after running the projected inputs xw (batch, time, gates * units) from `state`.

        outs (batch, time, units), when given, receives h after every step. Where mask[:, t] is False the step
        is skipped: the state carries over unchanged (Keras masking). taps = ({step: (rows, positions)}, sinks):
        after that step the states of those rows are copied into sinks[k][positions]. `state` itself is not
        changed: the step works on a copy, in place.
        """
        u, b = self.units, xw.shape[0]
        state = tuple(np.array(s, dtype=DTYPE) for s in state)  # a copy: the caller's arrays stay as they were
        h = state[0]
        act, ract = self._act, self._ract
        rec = self.recurrent
        if self.cell == "lstm":
            c = state[1]
            z = np.empty((b, 4 * u), DTYPE)  # gates i, f, c, o
            g = np.empty((b, u), DTYPE)
        elif self.cell == "gru":
            rb = self.bias[1]
            hr = np.empty((b, 3 * u), DTYPE)  # recurrent part of the update, reset and candidate gates
            zr = np.empty((b, 2 * u), DTYPE)
            g = np.empty((b, u), DTYPE)
        else:
            g = np.empty((b, u), DTYPE)
        tap_at, sinks = taps if taps is not None else ({}, ())
        for t in range(xw.shape[1]):
            old = tuple(s.copy() for s in state) if mask is not None else ()
            if self.cell == "lstm":
                np.matmul(h, rec, out=z)
                z += xw[:, t]
                act(z[:, 2 * u : 3 * u], g)  # candidate, before the gates' activation overwrites z
                ract(z, z)  # one call for all gates; the candidate's quarter is unused
                c *= z[:, u : 2 * u]  # f * c
                g *= z[:, :u]  # i * candidate
                c += g
                act(c, h)
                h *= z[:, 3 * u :]  # o * act(c)
            elif self.cell == "gru":
                np.matmul(h, rec, out=hr)  # reset_after=True: the reset gate scales the recurrent candidate
                hr += rb
                np.add(xw[:, t, : 2 * u], hr[:, : 2 * u], out=zr)
                ract(zr, zr)  # update gate z, reset gate r
                np.multiply(zr[:, u:], hr[:, 2 * u :], out=g)
                g += xw[:, t, 2 * u :]
                act(g, g)  # candidate hh
                h -= g  # h = z * h + (1 - z) * hh = hh + z * (h - hh)
                h *= zr[:, :u]
                h += g
            else:
                np.matmul(h, rec, out=g)
                g += xw[:, t]
                act(g, h)
            if mask is not None:
                skip = ~mask[:, t]
                if skip.any():
                    for s, o in zip(state, old, strict=True):
                        s[skip] = o[skip]
            if outs is not None:
                outs[:, t] = h
            if t in tap_at:
                rows, at = tap_at[t]
                for s, sink in zip(state, sinks, strict=True):
                    sink[at] = s[rows]
        return state


@dataclass
class NumpyModel:
    """A seqcast model.keras as numpy layers: recurrent stacks, RepeatVector, Dense heads."""

    layers: list[tuple[str, Any]]
    n_inputs: int
    n_targets: int
    batch_size: int | None  # the training batch of a stateful model, else None
    stateful: bool
    kind: str = ""
    states: list[State] = field(default_factory=list)

    @property
    def recurrent(self) -> list[Recurrent]:
        return [obj for tag, obj in self.layers if tag == "rnn"]

    def reset(self, batch: int) -> None:
        """Zero states for `batch` rows (any number: the training batch size does not matter)."""
        self.states = [r.zero_state(batch) for r in self.recurrent]

    def __call__(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Run x (batch, time, n_inputs), continuing self.states like a stateful Keras model."""
        x = np.asarray(x, dtype=DTYPE)
        if len(self.states) != len(self.recurrent) or (self.states and self.states[0][0].shape[0] != x.shape[0]):
            self.reset(x.shape[0])
        k = 0
        for tag, obj in self.layers:
            if tag == "rnn":
                outs = np.empty(x.shape[:2] + (obj.units,), DTYPE) if obj.return_sequences else None
                self.states[k] = obj.scan(obj.project(x), self.states[k], mask, outs)
                x = outs if outs is not None else self.states[k][0]  # never changed in place later (scan copies)
                mask = mask if obj.return_sequences else None
                k += 1
            elif tag == "dense":
                w, b, act = obj
                x = _apply(act, np.matmul(x, w) + b)
            elif tag == "repeat":
                x = np.repeat(x[:, None, :], obj, axis=1)
            elif tag == "reshape":
                x = x.reshape((x.shape[0],) + tuple(obj))
        return x

    def warm(self, x: np.ndarray, rows: np.ndarray, steps: np.ndarray, block: int = 256) -> list[State]:
        """From zero states, the state of every recurrent layer after steps[j] time steps of row rows[j] of x.

        x: (batch, time, n_inputs); rows, steps: (snapshots,) ints, 0 <= steps <= time (0: the zero state).
        Returns per layer a tuple (h,) or (h, c) of (snapshots, units) arrays, ready to be self.states for a
        batch of snapshots. The stack runs `block` time steps at a time: memory holds one block of every
        layer's outputs and the snapshots, never a state per time step. Only for stateful stacks (the
        recurrent layers first, one after the other, as seqcast's stateful kinds are).
        """
        rnns = self.recurrent
        if [tag for tag, _ in self.layers[: len(rnns)]] != ["rnn"] * len(rnns):
            raise ValueError("warm() needs a model whose recurrent layers come first (a stateful kind)")
        x = np.asarray(x, dtype=DTYPE)
        rows, steps = np.asarray(rows, np.int64), np.asarray(steps, np.int64)
        sinks = [tuple(np.zeros((len(rows), r.units), DTYPE) for _ in r.zero_state(0)) for r in rnns]
        states = [r.zero_state(x.shape[0]) for r in rnns]
        last = int(steps.max(initial=0))
        by_step = np.argsort(steps, kind="stable")
        bounds = np.searchsorted(steps[by_step], np.arange(1, last + 2))  # snapshots after step s: [bounds[s-1], ..)
        for a in range(0, last, block):
            e = min(a + block, last)
            taps: Taps = {}
            for s in range(a + 1, e + 1):  # the state after s steps is the state after local step s - 1 - a
                at = by_step[bounds[s - 1] : bounds[s]]
                if len(at):
                    taps[s - 1 - a] = (rows[at], at)
            xb = x[:, a:e]
            for k, r in enumerate(rnns):
                outs = np.empty((xb.shape[0], e - a, r.units), DTYPE) if k < len(rnns) - 1 else None
                states[k] = r.scan(r.project(xb), states[k], None, outs, (taps, sinks[k]))
                if outs is not None:
                    xb = outs
        return sinks

    def blas_threads(self, batch: int) -> contextlib.AbstractContextManager[Any]:
        """BLAS threads for this model's recurrent matmuls at `batch` rows (see blas_threads)."""
        width = max((r.units * r.recurrent.shape[1] for r in self.recurrent), default=0)
        return blas_threads(2 * batch * width)


# BLAS threads (bench_blas.py, this project's 2-core machine): a second OpenBLAS thread makes a float32 matmul
# of the engine's shapes 1.6-2x faster from about 2 MFLOP on, quiet or beside one busy process, and nothing
# below; beside as many busy processes as cores it waits for one, up to a whole time slice per matmul
# (64x64 @ 64x256: 20 us with one thread, 12 us with two on a quiet machine, 24 ms with two among busy
# processes). So: one thread below BLAS_MIN_FLOPS, and above it the default only while the load average
# leaves room for the second thread.
BLAS_MIN_FLOPS = 4_000_000
_controller: Any = None


def core_free() -> bool:
    """Is the 1-minute load average, this process included, below the cores + 0.5 (room for a second thread)?"""
    try:
        return os.getloadavg()[0] < len(os.sched_getaffinity(0)) + 0.5
    except (OSError, AttributeError):  # no load average or affinity on this platform: assume busy
        return False


@contextlib.contextmanager
def blas_threads(flops: int) -> Iterator[None]:
    """Within: one BLAS thread, unless the step's largest matmul has BLAS_MIN_FLOPS or more and a core is free."""
    global _controller
    if flops >= BLAS_MIN_FLOPS and core_free():
        yield
        return
    from threadpoolctl import ThreadpoolController

    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield


def _snake(name: str) -> str:
    out = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")
    return out.replace("simple_r_n_n", "simple_rnn").replace("l_s_t_m", "lstm").replace("g_r_u", "gru")


def load(path: str | Path) -> NumpyModel:
    """Read model.keras (a zip of config.json and model.weights.h5) into a NumpyModel."""
    import h5py

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            _check_sizes(z, path)
            config = json.loads(z.read("config.json"))
            with z.open("model.weights.h5") as fh, h5py.File(fh, "r") as h5:
                return _from_config(config, lambda i, key: _vars(h5, key))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise DataError(f"cannot read the model: {exc}", where=str(path)) from None


CONFIG_MAX_BYTES = 16 * 2**20  # a seqcast model's config.json is a few kB
BOMB_RATIO = 100  # float weights compress by a few percent; a member that inflates 100-fold is not weights


def _check_sizes(z: zipfile.ZipFile, path: Path) -> None:
    """Refuse, before inflating anything, a model.keras whose members would inflate far beyond a model's size."""
    for info in z.infolist():
        limit = CONFIG_MAX_BYTES if info.filename == "config.json" else None
        bomb = info.file_size > 64 * 2**20 and info.file_size > BOMB_RATIO * max(info.compress_size, 1)
        if bomb or (limit is not None and info.file_size > limit):
            raise DataError(
                f"cannot read the model: {info.filename} would inflate from {info.compress_size:,} to "
                f"{info.file_size:,} bytes, which no seqcast model does",
                where=str(path),
            )


def _vars(h5: Any, key: str) -> list[np.ndarray]:
    group = h5["layers"][key]
    group = group["cell"] if "cell" in group else group["layer"] if "layer" in group else group
    v = group["vars"]
    return [np.asarray(v[str(i)], dtype=DTYPE) for i in range(len(v))]


def from_keras(model: Any) -> NumpyModel:
    """A NumpyModel with the current weights of an in-memory Keras model (no saving)."""
    config = {"config": {"name": model.name, "layers": []}}
    for layer in model.layers:
        conf = layer.get_config()
        if layer.__class__.__name__ == "InputLayer":
            conf = {"batch_shape": list(layer.batch_shape)}
        config["config"]["layers"].append({"class_name": layer.__class__.__name__, "config": conf})
    weights = [[np.asarray(w, dtype=DTYPE) for w in layer.get_weights()] for layer in model.layers]
    return _from_config(config, lambda i, key: weights[i])


def _from_config(config: dict[str, Any], weights_of: Any) -> NumpyModel:
    layers: list[tuple[str, Any]] = []
    counts: dict[str, int] = {}
    batch_size, n_inputs, n_targets, stateful = None, 0, 0, False
    for index, spec in enumerate(config["config"]["layers"]):
        cls, conf = spec["class_name"], spec["config"]
        base = _snake(cls) if cls != "InputLayer" else "input_layer"
        key = base if base not in counts else f"{base}_{counts[base]}"
        counts[base] = counts.get(base, 0) + 1
        if cls == "InputLayer":
            shape = conf.get("batch_shape") or conf.get("batch_input_shape")
            batch_size, n_inputs = shape[0], shape[-1]
        elif cls in ("LSTM", "GRU", "SimpleRNN"):
            kernel, recurrent, bias = weights_of(index, key)
            cell = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}[cls]
            if cell == "gru" and not conf.get("reset_after", True):
                raise ValueError("GRU layers with reset_after=False are not supported")
            stateful = stateful or bool(conf.get("stateful"))
            rec = Recurrent(
                cell,
                kernel,
                recurrent,
                bias,
                bool(conf["return_sequences"]),
                conf.get("activation", "tanh"),
                conf.get("recurrent_activation", "sigmoid"),
            )
            layers.append(("rnn", rec))
        elif cls == "Dense" or (cls == "TimeDistributed" and conf["layer"]["class_name"] == "Dense"):
            w, b = (np.ascontiguousarray(a, dtype=DTYPE) for a in weights_of(index, key))
            act = conf["activation"] if cls == "Dense" else conf["layer"]["config"]["activation"]
            activation(act)  # an unknown activation is refused when the model is read, not mid-forecast
            layers.append(("dense", (w, b, act)))
            n_targets = w.shape[1]
        elif cls == "RepeatVector":
            layers.append(("repeat", int(conf["n"])))
        elif cls == "Reshape":
            layers.append(("reshape", tuple(conf["target_shape"])))
            n_targets = int(conf["target_shape"][-1])
        elif cls in ("Dropout", "Masking", "NotEqual", "Any"):
            # Masking (saved by Keras 3 with its mask's ops, NotEqual and Any): seqcast never feeds padding at
            # inference (windows.PAD_VALUE marks the padding of stateful training only)
            continue
        else:
            raise ValueError(f"layer type {cls} is not one seqcast builds")
    name = config["config"].get("name", "").removeprefix("seqcast_")  # seqcast_<kind>_<cell>
    kind = next((name.removesuffix("_" + c) for c in ("simple_rnn", "lstm", "gru") if name.endswith("_" + c)), name)
    return NumpyModel(layers, n_inputs, n_targets, batch_size if stateful else None, stateful, kind)
