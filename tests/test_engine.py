"""The numpy engine reproduces the Keras models seqcast builds, read from model.keras or from memory."""

from __future__ import annotations

from pathlib import Path

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcast import engine
from seqcast.config import Config
from seqcast.model import build_model, reset_states

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
    # float32, as Keras: a batch of 2 and a batch of 1 may round differently in BLAS (one ulp), nothing more
    np.testing.assert_allclose(padded[0, -1], alone[0, -1], atol=1e-6)
    np.testing.assert_allclose(alone, np.asarray(model(short.astype(np.float32))), atol=1e-5, rtol=1e-5)
    # the unmasked row is untouched by its neighbour's mask
    twin.reset(1)
    np.testing.assert_allclose(padded[1], twin(long)[0], atol=1e-6)
    # without the mask the padding would change the answer
    twin.reset(2)
    assert not np.allclose(twin(x)[0, -1], alone[0, -1], atol=1e-3)


def test_load_rejects_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    from seqcast.errors import DataError

    bad = tmp_path / "model.keras"
    bad.write_text("not a zip")
    with pytest.raises(DataError, match="cannot read the model"):
        engine.load(bad)


def test_engine_computes_in_float32_like_keras() -> None:
    model = build_model(make_cfg("many_to_many", "lstm", [4, 3]), N_IN, N_T)
    twin = engine.from_keras(model)
    assert all(r.kernel.dtype == np.float32 and r.recurrent.dtype == np.float32 for r in twin.recurrent)
    assert twin(np.zeros((2, 3, N_IN))).dtype == np.float32


def stateful_twin(cell: str, units: list[int], kind: str = "many_to_many", seed: int = 5) -> engine.NumpyModel:
    model = build_model(make_cfg(kind, cell, units, mode="stateful"), N_IN, N_T, batch_size=2)
    randomise(model, seed)
    return engine.from_keras(model)


@pytest.mark.parametrize("cell", CELLS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_warm_snapshots_equal_the_state_after_running_each_prefix(cell: str, data: st.DataObject) -> None:
    """warm(x, rows, steps)[layer] is the state a fresh model holds after running x[row, :steps], for any
    rows and steps (repeated, unordered, zero, across block boundaries)."""
    twin = stateful_twin(cell, [4, 3])
    batch, time = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 12))
    x = np.random.default_rng(time).normal(size=(batch, time, N_IN)).astype(np.float32)
    n = data.draw(st.integers(1, 6))
    rows = np.array(data.draw(st.lists(st.integers(0, batch - 1), min_size=n, max_size=n)))
    steps = np.array(data.draw(st.lists(st.integers(0, time), min_size=n, max_size=n)))
    block = data.draw(st.integers(1, 5))

    snaps = twin.warm(x, rows, steps, block=block)

    assert [len(layer) for layer in snaps] == [2 if cell == "lstm" else 1] * 2
    for j, (r, k) in enumerate(zip(rows, steps, strict=True)):
        twin.reset(1)
        if k:
            twin(x[r : r + 1, :k])
        for layer, want in zip(snaps, twin.states, strict=True):
            for got_part, want_part in zip(layer, want, strict=True):
                np.testing.assert_allclose(got_part[j], want_part[0], atol=1e-6, err_msg=f"row {r}, {k} steps")


def test_warm_then_the_last_row_gives_the_forecast_of_the_whole_history() -> None:
    """The snapshot after all but the last row, continued by that row, answers what the whole history answers."""
    twin = stateful_twin("lstm", [5, 3])
    x = np.random.default_rng(0).normal(size=(2, 9, N_IN)).astype(np.float32)
    twin.reset(2)
    want = twin(x)[:, -1]
    twin.states = twin.warm(x, np.array([0, 1]), np.array([8, 8]))
    np.testing.assert_allclose(twin(x[:, 8:])[:, -1], want, atol=1e-6)


def test_warm_keeps_no_state_per_time_step() -> None:
    """A long history costs memory for one block of outputs and the snapshots, not a state per step.

    Per step, the states of LSTM(64, 32) would take 20,000 x (2 x 64 + 2 x 32) x 4 bytes = 15 MB here; the
    input is 20,000 x 3 x 4 = 0.24 MB. The peak while warming must stay a small fraction of the first.
    """
    import tracemalloc

    twin = stateful_twin("lstm", [64, 32])
    x = np.random.default_rng(1).normal(size=(1, 20_000, N_IN)).astype(np.float32)
    tracemalloc.start()
    try:
        twin.warm(x, np.zeros(50, np.int64), np.linspace(0, 20_000, 50).astype(np.int64))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5e6, f"peak {peak / 1e6:.1f} MB while warming 20,000 steps"


def test_warm_refuses_a_model_whose_stack_is_not_first() -> None:
    twin = engine.from_keras(build_model(make_cfg("encoder_decoder", "lstm", [3]), N_IN, N_T))
    twin.layers.insert(0, ("dense", (np.eye(N_IN, dtype=np.float32), np.zeros(N_IN, np.float32), "linear")))
    with pytest.raises(ValueError, match="recurrent layers come first"):
        twin.warm(np.zeros((1, 2, N_IN)), np.array([0]), np.array([1]))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("kind", KINDS)
def test_merged_ensemble_outputs_the_mean_of_its_members(kind: str, cell: str, tmp_path: Path) -> None:
    """model.merge: one plain Keras model, each layer three times as wide and block-diagonal, equals the members'
    mean; saved and read back by plain Keras and by the numpy engine."""
    from seqcast.model import merge

    cfg = make_cfg(kind, cell, [5, 4])
    members = [build_model(cfg, N_IN, N_T) for _ in range(3)]
    for k, m in enumerate(members):
        randomise(m, seed=20 + k)
    x = np.random.default_rng(5).normal(size=(4, 7, N_IN)).astype(np.float32)
    want = np.mean([np.asarray(m(x)) for m in members], axis=0)
    merged = merge(members, cfg, N_IN, N_T)
    merged.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(again(x)), want, atol=1e-6)
    twin = engine.load(tmp_path / "model.keras")
    assert [r.groups for r in twin.recurrent] == [3] * len(twin.recurrent)  # run as three members, not one matmul
    np.testing.assert_allclose(twin(x), want, atol=1e-6)
    assert [layer.units for layer in again.layers if hasattr(layer, "units") and layer.name != "head"] == [15, 12] * (
        2 if kind == "encoder_decoder" else 1
    )


def test_a_wide_ensemble_merges_whatever_its_size_squared() -> None:
    """16 members of 257 units pass the config's check (16 x 257 = 4,112 units a layer); the merged config holds
    one network of 4,112 units, not 16 of them (assigning the units into the copy checked 16 x 4,112: a crash
    after every member had trained)."""
    from seqcast.model import check_size, widened

    cfg = make_cfg("many_to_one", "simple_rnn", [257])
    cfg.model.ensemble = 16
    wide = widened(cfg, cfg.model.ensemble)
    assert (wide.model.units, wide.model.ensemble, cfg.model.units, cfg.model.ensemble) == ([4112], 1, [257], 16)
    check_size(cfg, N_IN, N_T)  # the size check widens the same way
    from seqcast.model import merge

    members = [build_model(cfg, N_IN, N_T) for _ in range(16)]
    x = np.random.default_rng(1).normal(size=(2, 3, N_IN)).astype(np.float32)
    merged = merge(members, cfg, N_IN, N_T)  # what train calls once every member has trained
    assert [layer.units for layer in merged.layers if hasattr(layer, "units") and layer.name != "head"] == [4112]
    want = np.mean([np.asarray(m(x)) for m in members], axis=0)
    np.testing.assert_allclose(np.asarray(merged(x)), want, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    cell=st.sampled_from(CELLS),
    n=st.integers(2, 4),
    u=st.integers(1, 4),
    shared=st.booleans(),
    batch=st.integers(1, 3),
    steps=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_a_block_diagonal_layer_runs_as_its_members_side_by_side(
    cell: str, n: int, u: int, shared: bool, batch: int, steps: int, seed: int
) -> None:
    """A layer laid out as model.merge lays out n members (gate-major columns, member k's units in block k of
    every gate) gives member k's states and outputs in block k, masked steps and the caller's state included."""
    rng = np.random.default_rng(seed)
    g, r_in = engine.GATES[cell], 3 if shared else 2
    bias_shape = (2, g * u) if cell == "gru" else (g * u,)
    parts = [
        engine.Recurrent(
            cell, rng.normal(size=(r_in, g * u)), rng.normal(size=(u, g * u)), rng.normal(size=bias_shape), True
        )
        for _ in range(n)
    ]
    kernel = np.zeros((r_in if shared else n * r_in, g * n * u))
    recurrent, bias = np.zeros((n * u, g * n * u)), np.zeros(bias_shape[:-1] + (g * n * u,))
    for k, part in enumerate(parts):
        rows = slice(None) if shared else slice(k * r_in, (k + 1) * r_in)
        for gate in range(g):
            cols, own = slice((gate * n + k) * u, (gate * n + k + 1) * u), slice(gate * u, (gate + 1) * u)
            kernel[rows, cols] = part.kernel[:, own]
            recurrent[k * u : (k + 1) * u, cols] = part.recurrent[:, own]
            bias[..., cols] = part.bias[..., own]
    wide = engine.Recurrent(cell, kernel, recurrent, bias, True)
    assert (wide.groups, [p.groups for p in parts]) == (n, [1] * n)
    x = rng.normal(size=(batch, steps, r_in if shared else n * r_in)).astype(np.float32)
    mask = rng.random((batch, steps)) < 0.7
    state = tuple(rng.normal(size=(batch, n * u)).astype(np.float32) for _ in wide.zero_state(0))
    before = [s.copy() for s in state]
    outs = np.empty((batch, steps, n * u), np.float32)
    got = wide.scan(wide.project(x), state, mask, outs)
    for k, part in enumerate(parts):
        block = slice(k * u, (k + 1) * u)
        xk = x if shared else x[..., k * r_in : (k + 1) * r_in]
        outs_k = np.empty((batch, steps, u), np.float32)
        want = part.scan(part.project(xk), tuple(s[:, block] for s in state), mask, outs_k)
        for s, w in zip(got, want, strict=True):
            np.testing.assert_allclose(s[:, block], w, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(outs[..., block], outs_k, rtol=1e-5, atol=1e-5)
    for s, b in zip(state, before, strict=True):
        np.testing.assert_array_equal(s, b)


def test_a_dense_layer_is_one_member() -> None:
    rng = np.random.default_rng(0)
    layer = engine.Recurrent("lstm", rng.normal(size=(3, 24)), rng.normal(size=(6, 24)), np.zeros(24), False)
    recurrent = layer.recurrent.copy()
    recurrent[:3, 12:15] = 0.0  # one gate's block of zeros is not a block-diagonal layer
    again = engine.Recurrent("lstm", layer.kernel, recurrent, layer.bias, False)
    assert (layer.groups, again.groups) == (1, 1)


def test_the_engine_runs_blas_on_one_thread() -> None:
    from threadpoolctl import threadpool_info

    with engine.one_blas_thread():
        inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert inside and set(inside) == {1}
