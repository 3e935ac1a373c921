"""Inference without TensorFlow: the weights in model.keras are plain arrays, and an LSTM, GRU or
SimpleRNN step plus a Dense head is a few numpy lines. Forecast and evaluate run on this engine,
so they start in a fraction of a second and work where TensorFlow is not installed; tests check
it against the Keras model itself.

It computes in float32, the dtype of model.keras and of Keras' own forward pass. Each layer projects
its inputs onto the gates once for all time steps (one matmul), then the recurrence runs step by step
in preallocated buffers; nothing is kept per step unless the caller asks for it. `warm` runs a long
history a block of time steps at a time and keeps the states only where asked (backtest origins).
BLAS: one thread (`one_blas_thread`; a second one lost more than it won on this machine).

Shapes: x (batch, time, n_inputs); state of a layer: (h,) or (h, c), each (batch, units).
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Callable
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


GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _mass(weights: np.ndarray, gates: int) -> np.ndarray:
    """(rows, units): how much each row weighs on unit j's gates (Keras' columns are gate-major)."""
    return np.abs(weights).reshape(weights.shape[0], gates, -1).sum(axis=1)


def _diagonal(mass: np.ndarray, n: int) -> bool:
    rows, units = mass.shape
    if rows % n or units % n:
        return False
    blocks = mass.reshape(n, rows // n, n, units // n).sum(axis=(1, 3))
    return not np.any(blocks[~np.eye(n, dtype=bool)])


def groups(weights: np.ndarray, gates: int, n: int) -> bool:
    """Is `weights` (n * rows, gates * n * units) block-diagonal in n members, member k reading block k only?"""
    return _diagonal(_mass(weights, gates), n)


def members(recurrent: np.ndarray, gates: int) -> int:
    """How many members never read each other's units: model.merge's ensemble size (1 for a plain layer)."""
    mass = _mass(recurrent, gates)
    units = len(mass)
    if mass[0, -1] or mass[-1, 0]:  # the first and the last unit read each other: one block (a trained layer)
        return 1
    return next((n for n in range(units, 1, -1) if units % n == 0 and _diagonal(mass, n)), 1)


@dataclass
class Recurrent:
    """One LSTM, GRU or SimpleRNN layer with Keras' weight layout and gate order.

    A merged ensemble's layer (model.merge) is block-diagonal: member k's units read only member k's. The layer
    finds its members (`groups`) and runs them as a stack of small matmuls, (members, batch, units) @
    (members, units, gates * units), a member's work each instead of a dense matmul members times as wide.
    Inside, every array has that leading member axis (1 for a plain layer); states and outputs outside are
    Keras' (batch, members * units), member k's units in block k.
    """

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
        g = GATES[self.cell]
        n = self.groups = members(self.recurrent, g)
        u = self.recurrent.shape[0] // n

        def by_member(w: np.ndarray) -> np.ndarray:  # (..., g * n * u) gate-major -> (..., n, g * u)
            return np.ascontiguousarray(np.swapaxes(w.reshape(w.shape[:-1] + (g, n, u)), -3, -2)).reshape(
                w.shape[:-1] + (n, g * u)
            )

        def diagonal(w: np.ndarray) -> np.ndarray:  # (n * r, g * n * u) block-diagonal -> (n, r, g * u)
            w = by_member(w).reshape(n, w.shape[0] // n, n, g * u)
            return np.ascontiguousarray(np.stack([w[k, :, k] for k in range(n)]))

        self._rec = diagonal(self.recurrent)
        self._kernel_groups = n > 1 and groups(self.kernel, g, n)  # a later layer reads its member's block only
        self._kernel = diagonal(self.kernel) if self._kernel_groups else by_member(self.kernel).reshape(-1, n * g * u)
        bias = by_member(self.bias)  # (n, g * u), gru: (2, n, g * u)
        self._bias = (bias[0] if self.cell == "gru" else bias)[:, None, None, :]  # broadcast over (n, b, t, g * u)
        self._rbias = bias[1][:, None, :] if self.cell == "gru" else None  # gru's recurrent bias, over (n, b, g * u)

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]

    def zero_state(self, batch: int) -> State:
        """Zero states for `batch` rows: (h, c) for an LSTM, (h,) otherwise."""
        z = np.zeros((batch, self.units), DTYPE)
        return (z, z.copy()) if self.cell == "lstm" else (z,)

    def project(self, x: np.ndarray) -> np.ndarray:
        """The input part of every gate for all time steps at once, bias included: (members, batch, time,
        gates * member units), the layout `scan` reads."""
        b, t, r = x.shape
        n = self.groups
        if self._kernel_groups:
            xw = np.matmul(x.reshape(b * t, n, r // n).transpose(1, 0, 2), self._kernel).reshape(n, b, t, -1)
        else:
            xw = np.matmul(x.reshape(b * t, r), self._kernel).reshape(b, t, n, -1).transpose(2, 0, 1, 3)
        xw += self._bias  # gru: the input bias; the recurrent one is inside
        return xw

    def scan(
        self,
        xw: np.ndarray,
        state: State,
        mask: np.ndarray | None = None,
        outs: np.ndarray | None = None,
        taps: tuple[Taps, State] | None = None,
    ) -> State:
        """The state after running the projected inputs xw (from `project`) from `state`.

        outs (batch, time, units), C-contiguous, when given, receives h after every step. Where mask[:, t] is
        False the step is skipped: the state carries over unchanged (Keras masking). taps = ({step: (rows,
        positions)}, sinks): after that step the states of those rows are copied into sinks[k][positions].
        `state` itself is not changed: the step works on a copy, in place.
        """
        n, b = self.groups, xw.shape[1]
        u = self._rec.shape[1]
        # (batch, n * u) -> (n, batch, u): a copy, so the caller's arrays stay as they were
        state = tuple(np.asarray(s, DTYPE).reshape(b, n, u).transpose(1, 0, 2).copy() for s in state)
        h = state[0]
        act, ract = self._act, self._ract
        rec = self._rec
        seq = outs.reshape(b, outs.shape[1], n, u).transpose(2, 0, 1, 3) if outs is not None else None
        if self.cell == "lstm":
            c = state[1]
            z = np.empty((n, b, 4 * u), DTYPE)  # gates i, f, c, o
            g = np.empty((n, b, u), DTYPE)
        elif self.cell == "gru":
            rb = self._rbias
            hr = np.empty((n, b, 3 * u), DTYPE)  # recurrent part of the update, reset and candidate gates
            zr = np.empty((n, b, 2 * u), DTYPE)
            g = np.empty((n, b, u), DTYPE)
        else:
            g = np.empty((n, b, u), DTYPE)
        tap_at, sinks = taps if taps is not None else ({}, ())
        for t in range(xw.shape[2]):
            old = tuple(s.copy() for s in state) if mask is not None else ()
            x_t = xw[:, :, t]
            if self.cell == "lstm":
                np.matmul(h, rec, out=z)
                z += x_t
                act(z[..., 2 * u : 3 * u], g)  # candidate, before the gates' activation overwrites z
                ract(z, z)  # one call for all gates; the candidate's quarter is unused
                c *= z[..., u : 2 * u]  # f * c
                g *= z[..., :u]  # i * candidate
                c += g
                act(c, h)
                h *= z[..., 3 * u :]  # o * act(c)
            elif self.cell == "gru":
                np.matmul(h, rec, out=hr)  # reset_after=True: the reset gate scales the recurrent candidate
                hr += rb
                np.add(x_t[..., : 2 * u], hr[..., : 2 * u], out=zr)
                ract(zr, zr)  # update gate z, reset gate r
                np.multiply(zr[..., u:], hr[..., 2 * u :], out=g)
                g += x_t[..., 2 * u :]
                act(g, g)  # candidate hh
                h -= g  # h = z * h + (1 - z) * hh = hh + z * (h - hh)
                h *= zr[..., :u]
                h += g
            else:
                np.matmul(h, rec, out=g)
                g += x_t
                act(g, h)
            if mask is not None:
                skip = ~mask[:, t]
                if skip.any():
                    for s, o in zip(state, old, strict=True):
                        s[:, skip] = o[:, skip]
            if seq is not None:
                seq[:, :, t] = h
            if t in tap_at:
                rows, at = tap_at[t]
                for s, sink in zip(state, sinks, strict=True):
                    sink[at] = s[:, rows].transpose(1, 0, 2).reshape(len(rows), n * u)
        return tuple(s.transpose(1, 0, 2).reshape(b, n * u) for s in state)


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


# BLAS threads (bench_blas.py, this project's 2-core machine, the engine's own LSTM step): a second OpenBLAS thread
# made a step at most 1.23x faster on a quiet machine, and only from about a thousand rows on; from 64 rows on it
# made it up to 2.7x slower beside one busy process, 5.6x beside a numpy process and 8.3x beside two busy ones
# (an exploratory run saw 400x), waiting for a core. So the engine's matmuls run on one thread, always.
_controller: Any = None


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Within: numpy's BLAS on one thread (threadpoolctl), whatever OPENBLAS_NUM_THREADS says."""
    global _controller
    from threadpoolctl import ThreadpoolController

    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


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
