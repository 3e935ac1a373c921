"""dataset.window_dataset: every batch equals the windows gathered by hand, in the (seed, epoch) order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf  # (a missing TensorFlow fails these tests, never skips them)

from seqcast import dataset
from seqcast.config import validate
from seqcast.data import Dataset, Series
from seqcast.layout import Plan
from seqcast.prepare import Prepared, Scaler, aligned_empty, model_arrays
from seqcast.transforms import Transform
from seqcast.windows import LookbackWindows, WindowShape, lookback_windows


def index_prep(
    lengths: list[int],
    shape: WindowShape,
    stride: int = 1,
    transform: str = "none",
    firsts: list[int] | None = None,
    static: bool = False,
) -> tuple[Prepared, LookbackWindows]:
    """Series whose column 0 is the row position and column 1 is 1000 * series + position (2 targets), and column
    2 minus the position: a feature, read one row ahead (lead.py), or with `static` a data.static column."""
    series = []
    for i, n in enumerate(lengths):
        pos = np.arange(n, dtype=np.float64)
        series.append(Series(f"s{i}", np.arange(n), np.column_stack([pos, 1000.0 * i + pos, -pos])))
    ds = Dataset(series, ["a", "b"], ["c"], "integer", None, "memory", static=["c"] if static else [])
    raw = {
        "data": {"path": "memory.csv", "targets": ["a", "b"], "features": ["c"], "transform": transform},
        "windows": {"mode": "lookback", "look_back": shape.look_back, "horizon": shape.horizon},
        "model": {"kind": "many_to_many" if shape.many_to_many else "many_to_one"},
    }
    cfg = validate(raw, source="test", base_dir=Path.cwd())
    win = lookback_windows(shape, firsts or [0] * len(lengths), [(0, n) for n in lengths], stride)
    scaler = Scaler("none", np.zeros((len(lengths), 3)), np.ones((len(lengths), 3)))
    flat, arrays = model_arrays(ds, scaler, Transform())
    return Prepared(Plan(cfg, ds, [], win, None, None), scaler, transform, "test", arrays, flat), win


def batches(ds: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in ds]


def by_hand(prep: Prepared, win: LookbackWindows, order: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the windows `order` gathered row by row from the per-series arrays."""
    shape, xs, ys = win.shape, [], []
    for k in order:
        i, p = (int(v) for v in win.locate(np.int64(k)))
        a = np.nan_to_num(prep.arrays[i].astype(np.float32))
        xs.append(a[p : p + shape.look_back])
        t = p + shape.target_offset
        ys.append(a[t : t + shape.target_len, :2])
    return np.stack(xs), np.stack(ys)


def test_unshuffled_batches_are_the_windows_in_order_exact() -> None:
    prep, win = index_prep([12, 3, 10], WindowShape(3, 2), stride=2, firsts=[0, 0, 1])
    got = batches(dataset.window_dataset(prep, win, 3, False, 0))
    assert [len(x) for x, _ in got] == [3, 3, 1]
    x = np.concatenate([x for x, _ in got])
    y = np.concatenate([y for _, y in got])
    # series 0 starts 0, 2, 4, 6; series 1 (3 rows) none; series 2 starts 1, 3, 5
    assert x[:, 0, 1].tolist() == [0, 2, 4, 6, 2001, 2003, 2005]
    assert x[4, :, 0].tolist() == [1, 2, 3] and x[4, :, 2].tolist() == [-2, -3, -4]  # the feature: one row ahead
    assert y[4, :, 0].tolist() == [4, 5] and y[4, :, 1].tolist() == [2004, 2005]
    assert y.shape == (7, 2, 2) and x.dtype == np.float32


def test_many_to_many_targets_are_the_next_steps_exact() -> None:
    prep, win = index_prep([6], WindowShape(3, 1, many_to_many=True))
    (x, y), *_ = batches(dataset.window_dataset(prep, win, 8, False, 0))
    assert x[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert y[:, :, 0].tolist() == [[1, 2, 3], [2, 3, 4], [3, 4, 5]]


def test_epoch_order_is_the_stateless_shuffle_of_the_global_starts() -> None:
    """Epoch e's order is the permutation stateless_shuffle(seed, e) gives the window list (as before windows
    were held as ranges: shuffling the int64 global starts gave this order), so --resume sees the same batches."""
    prep, win = index_prep([40, 9, 31], WindowShape(4, 1), stride=3)
    n, bs, seed = len(win), 5, 7
    got = batches(dataset.window_dataset(prep, win, bs, True, seed, epochs=(2, 4)))
    assert len(got) == 2 * -(-n // bs)
    offsets = np.array([0, 40, 49])
    global_starts = offsets[win.series] + win.starts  # what the pipeline used to shuffle
    for e, part in ((2, got[: len(got) // 2]), (3, got[len(got) // 2 :])):
        old = tf.random.experimental.stateless_shuffle(tf.constant(global_starts), seed=[seed, e]).numpy()
        order = [int(np.flatnonzero(global_starts == s)[0]) for s in old]
        x, y = by_hand(prep, win, order)
        np.testing.assert_array_equal(np.concatenate([b[0] for b in part]), x)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in part]), y)
    assert not np.array_equal(
        got[0][0], batches(dataset.window_dataset(prep, win, bs, True, seed, epochs=(3, 4)))[0][0]
    )


def test_nan_and_inf_are_cleaned_per_batch_as_nan_to_num() -> None:
    prep, win = index_prep([8], WindowShape(3, 1))
    prep.arrays[0][1, 0], prep.arrays[0][2, 1], prep.arrays[0][3, 2] = np.nan, np.inf, -1e300
    x, y = by_hand(prep, win, list(range(len(win))))
    (gx, gy), *_ = batches(dataset.window_dataset(prep, win, 16, False, 0))
    np.testing.assert_array_equal(gx, x)
    np.testing.assert_array_equal(gy, y)
    assert gx[1, 0, 0] == 0 and gx[1, 1, 1] == np.finfo(np.float32).max and gx[1, 2, 2] == np.finfo(np.float32).min


def test_window_norm_subtracts_each_window_last_input() -> None:
    prep, win = index_prep([7], WindowShape(3, 2), transform="window_norm")
    (x, y), *_ = batches(dataset.window_dataset(prep, win, 8, False, 0))
    assert x[:, :, 0].tolist() == [[-2, -1, 0]] * 3
    assert y[:, :, 0].tolist() == [[1, 2]] * 3


def test_window_mean_subtracts_each_window_mean_input() -> None:
    prep, win = index_prep([8], WindowShape(3, 2), transform="window_mean")
    (x, y), *_ = batches(dataset.window_dataset(prep, win, 8, False, 0))
    # window p holds rows p, p+1, p+2 (mean p+1) and targets p+3, p+4; column 1 is 1000 * 0 + position
    assert x[:, :, 0].tolist() == [[-1, 0, 1]] * 4 and x[:, :, 2].tolist() == [[1, 0, -1]] * 4
    assert y[:, :, 0].tolist() == [[2, 3]] * 4 and y[:, :, 1].tolist() == [[2, 3]] * 4


def test_window_trend_batches_equal_the_numpy_forecast_normalisation() -> None:
    """window_trend: on a straight line every input and target is 0; on a curve the training batches hold what
    transforms.normalise_window gives the forecast, and the targets lie off the line by what the curve bends."""
    from seqcast.transforms import normalise_window

    prep, win = index_prep([9], WindowShape(4, 2), transform="window_trend")
    (x, y), *_ = batches(dataset.window_dataset(prep, win, 8, False, 0))
    assert not x.any() and not y.any()  # every column is a line: position, 1000 * 0 + position, -position
    prep.arrays[0][:, 0] = np.arange(9.0) ** 2  # column a: a curve
    (x, y), *_ = batches(dataset.window_dataset(prep, win, 8, False, 0))
    raw, targets = by_hand(prep, win, list(range(len(win))))
    shape, level, slope = normalise_window(raw, "window_trend")
    np.testing.assert_allclose(x, shape, atol=1e-5)
    assert slope is not None
    k = np.array([1.0, 2.0])[None, :, None]
    np.testing.assert_allclose(y, targets - (level[:, :, :2] + k * slope[:, :, :2]), atol=1e-4)
    # window p: rows p..p+3 of p**2, slope 2p + 3 through (p + 3)**2; the next two rows lie 4 and 10 above it
    assert y[:, :, 0].tolist() == [[4.0, 10.0]] * len(win) and not y[:, :, 1].any()


def test_prepare_arrays_share_one_buffer_that_tensorflow_reads_without_a_copy() -> None:
    prep, _ = index_prep([5, 4], WindowShape(2, 1))
    assert prep.flat is not None and prep.flat.ctypes.data % 64 == 0
    assert all(np.shares_memory(a, prep.flat) for a in prep.arrays)
    flat, offsets = dataset._flat(prep)
    assert flat is prep.flat and offsets.tolist() == [0, 5]
    t = dataset._tensor(flat)
    prep.arrays[1][0, 0] = 42.0  # row 5 of the buffer
    assert t.numpy()[5, 0] == 42.0


def test_arrays_without_a_buffer_give_the_same_batches() -> None:
    """A Prepared built from a plain list of arrays (no flat buffer) gets one float32 copy, same batches."""
    prep, win = index_prep([9, 6], WindowShape(2, 2), transform="window_norm")
    plain = Prepared(prep.plan, prep.scaler, prep.transform, "test", [a.copy() for a in prep.arrays])
    flat, _ = dataset._flat(plain)
    assert flat.dtype == np.float32 and flat.ctypes.data % 64 == 0
    a = batches(dataset.window_dataset(prep, win, 4, True, 3, epochs=(0, 2)))
    b = batches(dataset.window_dataset(plain, win, 4, True, 3, epochs=(0, 2)))
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_a_misaligned_or_read_only_buffer_is_copied_not_shared() -> None:
    buf = aligned_empty((1, 13), np.float64).ravel()
    buf[:] = 0.0
    odd = buf[1:].reshape(4, 3)  # 8 bytes past a 64-byte boundary
    assert odd.ctypes.data % 64 == 8
    t = dataset._tensor(odd)
    odd[0, 0] = 5.0
    assert t.numpy()[0, 0] == 0.0  # a copy: TensorFlow would abort on a misaligned shared buffer
    ro = aligned_empty((2, 2), np.float64)
    ro[:] = 1.0
    ro.flags.writeable = False
    assert float(tf.reduce_sum(dataset._tensor(ro))) == 4.0


def test_window_norm_leaves_the_static_inputs_as_the_forecast_does_exact() -> None:
    """The last len(ds.static) inputs (data.static, data.series_id) keep their values under window_norm, in the
    training batches and in the numpy forecast alike (transforms.normalise_window)."""
    from seqcast.transforms import normalise_window

    prep, win = index_prep([6], WindowShape(3, 1), transform="window_norm", static=True)  # c: -position, so that
    # anything subtracted from it shows
    (x, y), *_ = batches(dataset.window_dataset(prep, win, 8, False, 0))
    assert x[:, :, 0].tolist() == [[-2, -1, 0]] * 3  # a target: minus the window's last row
    assert x[:, :, 2].tolist() == [[0, -1, -2], [-1, -2, -3], [-2, -3, -4]]  # the static input: as it is
    assert y[:, :, 0].tolist() == [[1]] * 3
    raw = np.stack([prep.arrays[0][p : p + 3] for p in range(3)]).astype(np.float32)
    shape, ref, _ = normalise_window(raw, fixed=1)
    np.testing.assert_array_equal(shape, x)
    assert ref[:, 0, 2].tolist() == [0, 0, 0] and ref[:, 0, 0].tolist() == [2, 3, 4]
