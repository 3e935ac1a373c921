"""Build the Keras model a config describes. Keras is imported inside the functions (it costs seconds).

Shapes: input (batch, time, n_inputs), inputs ordered targets then features.
  many_to_one:     RNNs, the last with return_sequences=False -> Dense(horizon * n_targets) -> Reshape
                   -> (batch, horizon, n_targets)
  many_to_many:    RNNs with return_sequences=True -> TimeDistributed(Dense(n_targets)) -> (batch, time, n_targets)
  encoder_decoder: encoder RNNs -> RepeatVector(horizon) -> decoder RNNs -> TimeDistributed(Dense)
                   -> (batch, horizon, n_targets)
Only built-in layers: model.keras loads with keras.saving.load_model alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seqcast.config import Config

if TYPE_CHECKING:
    import keras

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
    else:
        inputs = keras.Input(shape=(time_steps, n_inputs), name="inputs")

    def stack(x: Any, prefix: str, last_returns_sequences: bool) -> Any:
        n = len(cfg.model.units)
        for i, units in enumerate(cfg.model.units):
            seq = last_returns_sequences or i < n - 1
            x = rnn(units, return_sequences=seq, stateful=stateful, dropout=cfg.model.dropout, name=f"{prefix}_{i}")(x)
        return x

    if kind == "many_to_one":
        x = stack(inputs, "rnn", last_returns_sequences=False)  # (batch, units[-1])
        x = keras.layers.Dense(horizon * n_targets, name="head")(x)  # (batch, horizon * n_targets)
        outputs = keras.layers.Reshape((horizon, n_targets), name="horizon")(x)
    elif kind == "many_to_many":
        x = stack(inputs, "rnn", last_returns_sequences=True)  # (batch, time, units[-1])
        outputs = keras.layers.TimeDistributed(keras.layers.Dense(n_targets), name="head")(x)
    else:
        x = stack(inputs, "encoder", last_returns_sequences=False)  # (batch, units[-1])
        x = keras.layers.RepeatVector(horizon, name="repeat")(x)  # (batch, horizon, units[-1])
        x = stack(x, "decoder", last_returns_sequences=True)  # (batch, horizon, units[-1])
        outputs = keras.layers.TimeDistributed(keras.layers.Dense(n_targets), name="head")(x)
    return keras.Model(inputs, outputs, name=f"seqcast_{kind}_{cfg.model.cell}")


def recurrent_layers(model: keras.Model) -> list[Any]:
    """The model's recurrent layers, in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def reset_states(model: keras.Model) -> None:
    """Zero every recurrent layer's state (Keras 3 models have no reset_states())."""
    for layer in recurrent_layers(model):
        if layer.stateful:
            layer.reset_state()
