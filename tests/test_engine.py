"""The numpy engine reproduces the Keras models seqcast builds, read from model.keras or from memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from seqcast import engine  # noqa: E402
from seqcast.config import Config  # noqa: E402
from seqcast.model import build_model, reset_states  # noqa: E402

KINDS = ("many_to_one", "many_to_many", "encoder_decoder")
CELLS = ("lstm", "gru", "simple_rnn")
N_IN, N_T, HORIZON = 3, 2, 3


def make_cfg(kind: str, cell: str, units: list[int], mode: str = "lookback") -> Config:
    return Config.model_validate(
        {
            "data": {"path": "unused.csv", "targets": ["a", "b"], "features": ["c"]},
            "windows": {"mode": mode, "look_back": 6, "horizon": HORIZON},
            "model": {"kind": kind, "cell": cell, "units": units},
        }
    )


def randomise(model: keras.Model, seed: int) -> None:
    """Random weights everywhere, biases included (Keras starts them at zero, which hides bias-layout bugs)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("kind", KINDS)
def test_saved_model_matches_keras(kind: str, cell: str, tmp_path: Path) -> None:
    model = build_model(make_cfg(kind, cell, [5, 4]), N_IN, N_T)
    randomise(model, seed=3 * KINDS.index(kind) + CELLS.index(cell))
    x = np.random.default_rng(1).normal(size=(4, 7, N_IN)).astype(np.float32)
    want = np.asarray(model(x))
    model.save(tmp_path / "model.keras")

    twin = engine.load(tmp_path / "model.keras")
    got = twin(x)

    expected_shape = (4, 7, N_T) if kind == "many_to_many" else (4, HORIZON, N_T)
    assert want.shape == expected_shape
    assert got.shape == expected_shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    assert (twin.kind, twin.n_inputs, twin.n_targets, twin.stateful) == (kind, N_IN, N_T, False)
    assert [r.cell for r in twin.recurrent] == [cell] * (4 if kind == "encoder_decoder" else 2)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("kind", KINDS)
def test_from_keras_matches_keras(kind: str, cell: str) -> None:
    model = build_model(make_cfg(kind, cell, [3]), N_IN, N_T)
    randomise(model, seed=7)
    x = np.random.default_rng(2).normal(size=(2, 5, N_IN)).astype(np.float32)
    np.testing.assert_allclose(engine.from_keras(model)(x), np.asarray(model(x)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_stateful_model_continues_states_like_keras(cell: str, tmp_path: Path) -> None:
    """Two calls in a row continue the states in both; the engine takes any batch size, Keras only its own."""
    model = build_model(make_cfg("many_to_many", cell, [4, 3], mode="stateful"), N_IN, N_T, batch_size=2)
    randomise(model, seed=3)
    x = np.random.default_rng(3).normal(size=(2, 8, N_IN)).astype(np.float32)
    reset_states(model)
    want = np.concatenate([np.asarray(model(x[:, :5])), np.asarray(model(x[:, 5:]))], axis=1)
    model.save(tmp_path / "model.keras")

    twin = engine.load(tmp_path / "model.keras")
    assert twin.stateful and twin.batch_size == 2
    twin.reset(2)
    got = np.concatenate([twin(x[:, :5]), twin(x[:, 5:])], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    # a fresh run from zero states differs from the continued one: the states really carried over
    twin.reset(2)
    assert not np.allclose(twin(x[:, 5:]), want[:, 5:], atol=1e-3)
    twin.reset(1)  # one row of the batch alone, with a batch size Keras' stateful model would refuse
    np.testing.assert_allclose(twin(x[1:, :8]), want[1:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("cell", CELLS)
def test_left_padded_masked_row_equals_unpadded_row(kind: str, cell: str) -> None:
    model = build_model(make_cfg(kind, cell, [4, 3]), N_IN, N_T)
    randomise(model, seed=11)
    rng = np.random.default_rng(4)
    short = rng.normal(size=(1, 5, N_IN))
    long = rng.normal(size=(1, 9, N_IN))
    pad = np.full((1, 4, N_IN), 7.0)  # large junk values: they must not leak into the states
    x = np.concatenate([np.concatenate([pad, short], axis=1), long])  # (2, 9, inputs)
    mask = np.ones((2, 9), dtype=bool)
    mask[0, :4] = False

    twin = engine.from_keras(model)
    twin.reset(2)
    padded = twin(x, mask=mask)
    twin.reset(1)
    alone = twin(short)
    np.testing.assert_allclose(padded[0, -1], alone[0, -1], atol=1e-12)
    np.testing.assert_allclose(alone, np.asarray(model(short.astype(np.float32))), atol=1e-5, rtol=1e-5)
    # the unmasked row is untouched by its neighbour's mask
    twin.reset(1)
    np.testing.assert_allclose(padded[1], twin(long)[0], atol=1e-12)
    # without the mask the padding would change the answer
    twin.reset(2)
    assert not np.allclose(twin(x)[0, -1], alone[0, -1], atol=1e-3)


def test_load_rejects_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    from seqcast.errors import DataError

    bad = tmp_path / "model.keras"
    bad.write_text("not a zip")
    with pytest.raises(DataError, match="cannot read the model"):
        engine.load(bad)
