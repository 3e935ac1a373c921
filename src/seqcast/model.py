"""Build the Keras model a config describes. Keras is imported inside the functions (it costs seconds).

Shapes: input (batch, time, n_inputs), inputs ordered targets then features.
  many_to_one:     RNNs, the last with return_sequences=False -> Dense(horizon * n_targets) -> Reshape
                   -> (batch, horizon, n_targets)
  many_to_many:    RNNs with return_sequences=True -> TimeDistributed(Dense(n_targets)) -> (batch, time, n_targets)
  encoder_decoder: encoder RNNs -> RepeatVector(horizon) -> decoder RNNs -> TimeDistributed(Dense)
                   -> (batch, horizon, n_targets)
Stateful models start with Masking(PAD_VALUE): the padding of shorter series (windows.StreamLayout) is skipped.
Only built-in layers: model.keras loads with keras.saving.load_model alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seqcast.config import Config
from seqcast.engine import GATES
from seqcast.windows import PAD_VALUE

if TYPE_CHECKING:
    import keras
    import numpy as np

CELLS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}


def build_model(
    cfg: Config,
    n_inputs: int,
    n_targets: int,
    *,
    batch_size: int | None = None,
    stateful: bool | None = None,
    time_steps: int | None = None,
) -> keras.Model:
    """The recurrent model of cfg; stateful models get a fixed batch via keras.Input(batch_shape=...)."""
    import keras

    stateful = cfg.stateful if stateful is None else stateful
    kind, horizon = cfg.model.kind, cfg.windows.horizon
    rnn = getattr(keras.layers, CELLS[cfg.model.cell])
    if stateful:
        if batch_size is None:
            raise ValueError("a stateful model needs a fixed batch size")
        inputs = keras.Input(batch_shape=(batch_size, time_steps, n_inputs), name="inputs")
        # series of different lengths are padded to one number of chunks (windows.StreamLayout): a step whose
        # every input is PAD_VALUE leaves the states as they are and adds nothing to the loss
        x0 = keras.layers.Masking(mask_value=PAD_VALUE, name="padding")(inputs)
    else:
        inputs = keras.Input(shape=(time_steps, n_inputs), name="inputs")
        x0 = inputs

    def stack(x: Any, prefix: str, last_returns_sequences: bool) -> Any:
        n = len(cfg.model.units)
        for i, units in enumerate(cfg.model.units):
            seq = last_returns_sequences or i < n - 1
            x = rnn(units, return_sequences=seq, stateful=stateful, dropout=cfg.model.dropout, name=f"{prefix}_{i}")(x)
        return x

    if kind == "many_to_one":
        x = stack(x0, "rnn", last_returns_sequences=False)  # (batch, units[-1])
        x = keras.layers.Dense(horizon * n_targets, name="head")(x)  # (batch, horizon * n_targets)
        outputs = keras.layers.Reshape((horizon, n_targets), name="horizon")(x)
    elif kind == "many_to_many":
        x = stack(x0, "rnn", last_returns_sequences=True)  # (batch, time, units[-1])
        outputs = keras.layers.TimeDistributed(keras.layers.Dense(n_targets), name="head")(x)
    else:
        x = stack(x0, "encoder", last_returns_sequences=False)  # (batch, units[-1])
        x = keras.layers.RepeatVector(horizon, name="repeat")(x)  # (batch, horizon, units[-1])
        x = stack(x, "decoder", last_returns_sequences=True)  # (batch, horizon, units[-1])
        outputs = keras.layers.TimeDistributed(keras.layers.Dense(n_targets), name="head")(x)
    return keras.Model(inputs, outputs, name=f"seqcast_{kind}_{cfg.model.cell}")


def merge(
    members: list[keras.Model], cfg: Config, n_inputs: int, n_targets: int, *, batch_size: int | None = None
) -> keras.Model:
    """One model of the same kind and cell that outputs the mean of `members` (each built from cfg).

    Every recurrent layer is len(members) times as wide, its weights block-diagonal: member k's units are block k
    of every gate, reading the shared input (first layer) or its own block of the layer below, never another
    member's. The head is the members' heads side by side, divided by their number. So the merged model is plain
    Keras (it loads with keras.saving.load_model) and computes exactly the members' mean, one call for all.
    """
    import numpy as np

    n = len(members)
    merged = build_model(widened(cfg, n), n_inputs, n_targets, batch_size=batch_size)
    gates = GATES[cfg.model.cell]
    shared_input = True  # the first recurrent layer reads the model's input; every later one, its members' blocks
    for layer, parts in zip(
        recurrent_layers(merged), zip(*(recurrent_layers(m) for m in members), strict=True), strict=True
    ):
        (kernel, recurrent, bias), ws = layer.get_weights(), [part.get_weights() for part in parts]
        u = ws[0][1].shape[0]
        kernel[:], recurrent[:], bias[:] = 0.0, 0.0, 0.0
        for k, (mk, mr, mb) in enumerate(ws):
            rows = slice(None) if shared_input else slice(k * mk.shape[0], (k + 1) * mk.shape[0])
            for g in range(gates):
                cols = slice(g * n * u + k * u, g * n * u + (k + 1) * u)
                kernel[rows, cols] = mk[:, g * u : (g + 1) * u]
                recurrent[k * u : (k + 1) * u, cols] = mr[:, g * u : (g + 1) * u]
                bias[..., cols] = mb[..., g * u : (g + 1) * u]
        layer.set_weights([kernel, recurrent, bias])
        shared_input = False
    head = merged.get_layer("head")
    w = np.concatenate([m.get_layer("head").get_weights()[0] for m in members]) / n
    b = np.mean([m.get_layer("head").get_weights()[1] for m in members], axis=0)
    head.set_weights([w, b])
    return merged


def parameter_count(cfg: Config, n_inputs: int, n_targets: int) -> int:
    """Trainable parameters of the model cfg describes (what Keras' model.count_params() would say)."""
    gates = GATES[cfg.model.cell]
    bias = 2 if cfg.model.cell == "gru" else 1  # GRU (reset_after=True) has an input and a recurrent bias

    def stack(n_in: int) -> tuple[int, int]:
        total = 0
        for u in cfg.model.units:
            total += gates * u * (n_in + u + bias)
            n_in = u
        return total, n_in

    total, last = stack(n_inputs)
    if cfg.model.kind == "encoder_decoder":
        more, last = stack(last)
        total += more
    head = cfg.windows.horizon * n_targets if cfg.model.kind == "many_to_one" else n_targets
    return total + last * head + head


def widened(cfg: Config, n: int) -> Config:
    """The config of one network n times as wide (units x n, ensemble 1): what merge builds. A copy, not assigned
    into: validate_assignment would check the wide units against the ensemble as if they were one member's."""
    wide = cfg.model_copy(deep=True)
    wide.model = cfg.model.model_copy(update={"units": [u * n for u in cfg.model.units], "ensemble": 1})
    return wide


def check_size(cfg: Config, n_inputs: int, n_targets: int) -> None:
    """Refuse, before TensorFlow allocates anything, a model too large to train in this machine's memory."""
    import os

    from seqcast.errors import ConfigError

    wide = widened(cfg, cfg.model.ensemble)  # an ensemble is one model, model.ensemble times as wide (merge)
    params = parameter_count(wide, n_inputs, n_targets)
    need = 16 * params  # float32 weights, gradients and Adam's two slots
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have // 2:
        wide_as = f" x model.ensemble {cfg.model.ensemble}" if cfg.model.ensemble > 1 else ""
        raise ConfigError(
            f"{cfg.model.units}{wide_as} makes a model of {params:,} parameters: it needs about "
            f"{need / 2**30:,.1f} GiB (weights, gradients and optimizer state), more than half of this "
            f"machine's {have / 2**30:,.1f} GiB",
            where="model.units",
            hint="use fewer units per layer",
        )


def recurrent_layers(model: keras.Model) -> list[Any]:
    """The model's recurrent layers, in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def reset_states(model: keras.Model) -> None:
    """Zero every recurrent layer's state (Keras 3 models have no reset_states())."""
    for layer in recurrent_layers(model):
        if layer.stateful:
            layer.reset_state()


def state_parts(model: keras.Model) -> list[Any]:
    """The variables holding the stateful layers' states, in order: one per state, or per state and replica (a
    state of training.distribute is created per replica, distribute.per_replica_states)."""
    parts = []
    for layer in recurrent_layers(model):
        for v in layer.states if layer.stateful else ():
            raw = getattr(v, "value", v)
            per = getattr(raw, "values", None)
            parts += list(per) if isinstance(per, tuple) else [raw]
    return parts


def set_states(model: keras.Model, arrays: list[np.ndarray]) -> bool:
    """Give the stateful layers the states `arrays` (state_parts' order); False, nothing set, when they do not
    fit (another number of replicas)."""
    parts = state_parts(model)
    if len(parts) != len(arrays) or any(tuple(p.shape) != a.shape for p, a in zip(parts, arrays, strict=True)):
        return False
    for p, a in zip(parts, arrays, strict=True):
        p.assign(a)
    return True
