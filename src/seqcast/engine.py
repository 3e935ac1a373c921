"""Inference without TensorFlow: the weights in model.keras are plain arrays, and an LSTM, GRU or
SimpleRNN step plus a Dense head is a few numpy lines. Forecast and evaluate run on this engine,
so they start in a fraction of a second and work where TensorFlow is not installed; tests check
it against the Keras model itself.

Shapes: x (batch, time, n_inputs); state of a layer: (h,) or (h, c), each (batch, units).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqcast.errors import DataError

State = tuple[np.ndarray, ...]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # numerically stable, = 1 / (1 + exp(-x))


_ACT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


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

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]

    def zero_state(self, batch: int) -> State:
        z = np.zeros((batch, self.units))
        return (z, z.copy()) if self.cell == "lstm" else (z,)

    def run(self, x: np.ndarray, state: State, mask: np.ndarray | None = None) -> tuple[np.ndarray, State, list[State]]:
        """Outputs (batch, time, units), the final state, and the state after every step.

        Where mask[:, t] is False the step is skipped: the state carries over unchanged (Keras masking).
        """
        act, ract = _ACT[self.activation], _ACT[self.recurrent_activation]
        u = self.units
        if self.cell == "gru":
            xw = x @ self.kernel + self.bias[0]  # (batch, time, 3u), input bias inside
            rb = self.bias[1]
        else:
            xw = x @ self.kernel + self.bias  # (batch, time, gates * u)
        steps: list[State] = []
        outs = np.empty(x.shape[:2] + (u,))
        for t in range(x.shape[1]):
            if self.cell == "lstm":
                h, c = state
                z = xw[:, t] + h @ self.recurrent  # gates i, f, c, o
                s = ract(z)  # one call for all gates (elementwise: the same numbers as per gate); c uses act
                i, f, g, o = s[:, :u], s[:, u : 2 * u], act(z[:, 2 * u : 3 * u]), s[:, 3 * u :]
                c2 = f * c + i * g
                new: State = (o * act(c2), c2)
            elif self.cell == "gru":
                (h,) = state
                hr = h @ self.recurrent + rb  # reset_after=True: the reset gate scales the recurrent part
                zg = ract(xw[:, t, :u] + hr[:, :u])
                rg = ract(xw[:, t, u : 2 * u] + hr[:, u : 2 * u])
                hh = act(xw[:, t, 2 * u :] + rg * hr[:, 2 * u :])
                new = (zg * h + (1 - zg) * hh,)
            else:
                (h,) = state
                new = (act(xw[:, t] + h @ self.recurrent),)
            if mask is not None:
                keep = mask[:, t][:, None]
                new = tuple(np.where(keep, n, s) for n, s in zip(new, state, strict=True))
            state = new
            outs[:, t] = state[0]
            steps.append(state)
        return outs, state, steps


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

    def __call__(self, x: np.ndarray, mask: np.ndarray | None = None, keep_steps: bool = False) -> Any:
        """Run x (batch, time, n_inputs), continuing self.states like a stateful Keras model."""
        x = np.asarray(x, dtype=np.float64)
        if len(self.states) != len(self.recurrent) or (self.states and self.states[0][0].shape[0] != x.shape[0]):
            self.reset(x.shape[0])
        k = 0
        per_step: list[list[State]] = []
        for tag, obj in self.layers:
            if tag == "rnn":
                outs, self.states[k], steps = obj.run(x, self.states[k], mask)
                per_step.append(steps)
                x = outs if obj.return_sequences else outs[:, -1]
                k += 1
                mask = mask if obj.return_sequences else None
            elif tag == "dense":
                w, b, act = obj
                x = _ACT[act](x @ w + b)
            elif tag == "repeat":
                x = np.repeat(x[:, None, :], obj, axis=1)
            elif tag == "reshape":
                x = x.reshape((x.shape[0],) + tuple(obj))
        return (x, per_step) if keep_steps else x


def _snake(name: str) -> str:
    out = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")
    return out.replace("simple_r_n_n", "simple_rnn").replace("l_s_t_m", "lstm").replace("g_r_u", "gru")


def load(path: str | Path) -> NumpyModel:
    """Read model.keras (a zip of config.json and model.weights.h5) into a NumpyModel."""
    import h5py

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            with z.open("model.weights.h5") as fh, h5py.File(fh, "r") as h5:
                return _from_config(config, lambda i, key: _vars(h5, key))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise DataError(f"cannot read the model: {exc}", where=str(path)) from None


def _vars(h5: Any, key: str) -> list[np.ndarray]:
    group = h5["layers"][key]
    group = group["cell"] if "cell" in group else group["layer"] if "layer" in group else group
    v = group["vars"]
    return [np.asarray(v[str(i)], dtype=np.float64) for i in range(len(v))]


def from_keras(model: Any) -> NumpyModel:
    """A NumpyModel with the current weights of an in-memory Keras model (no saving)."""
    config = {"config": {"name": model.name, "layers": []}}
    for layer in model.layers:
        conf = layer.get_config()
        if layer.__class__.__name__ == "InputLayer":
            conf = {"batch_shape": list(layer.batch_shape)}
        config["config"]["layers"].append({"class_name": layer.__class__.__name__, "config": conf})
    weights = [[np.asarray(w, dtype=np.float64) for w in layer.get_weights()] for layer in model.layers]
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
            w, b = weights_of(index, key)
            act = conf["activation"] if cls == "Dense" else conf["layer"]["config"]["activation"]
            layers.append(("dense", (w, b, act)))
            n_targets = w.shape[1]
        elif cls == "RepeatVector":
            layers.append(("repeat", int(conf["n"])))
        elif cls == "Reshape":
            layers.append(("reshape", tuple(conf["target_shape"])))
            n_targets = int(conf["target_shape"][-1])
        elif cls in ("Dropout",):
            continue
        else:
            raise ValueError(f"layer type {cls} is not one seqcast builds")
    name = config["config"].get("name", "").removeprefix("seqcast_")  # seqcast_<kind>_<cell>
    kind = next((name.removesuffix("_" + c) for c in ("simple_rnn", "lstm", "gru") if name.endswith("_" + c)), name)
    return NumpyModel(layers, n_inputs, n_targets, batch_size if stateful else None, stateful, kind)
