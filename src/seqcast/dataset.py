"""The network's input: tf.data look-back batches gathered in the graph, stateful batches in layout order,
and the data of stateful validation. TensorFlow is imported inside the functions (it costs seconds).

Look-back windows are gathered batch by batch from one flat float32 array of all series, shared with TensorFlow:
no (N, look_back, inputs) array ever exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqcast.errors import DataError
from seqcast.prepare import Prepared, aligned_empty
from seqcast.windows import PAD_VALUE, LookbackWindows, StreamLayout, stateful_arrays


def _flat(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """(rows, inputs) array of all series one after another, and each series' first row in it.

    prep.flat itself when prepare made it (no copy; float32, NaN kept: the graph cleans each batch);
    otherwise one aligned float32 copy, filled series by series.
    """
    lengths = [len(a) for a in prep.arrays]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    if prep.flat is not None:
        return prep.flat, offsets
    flat = aligned_empty((sum(lengths), len(prep.ds.inputs)), np.float32)
    for a, o in zip(prep.arrays, offsets, strict=True):
        flat[o : o + len(a)] = a
    return flat, offsets


def _tensor(a: np.ndarray) -> Any:
    """a as a TensorFlow tensor sharing its memory (dlpack); a copy unless a is C-contiguous and 64-byte aligned.

    (TensorFlow's kernels assume aligned buffers and dlpack does not check: a misaligned one aborts in a gather.)
    """
    import tensorflow as tf

    if not a.flags.c_contiguous or not a.flags.writeable or a.ctypes.data % 64:
        return tf.constant(a)
    try:
        return tf.experimental.dlpack.from_dlpack(a.__dlpack__())
    except (BufferError, TypeError, ValueError, tf.errors.OpError):  # read-only, odd strides
        return tf.constant(a)


def _all_finite(a: np.ndarray, rows: int = 1 << 18) -> bool:
    """No NaN or inf in a, checked in blocks of rows (no array-sized temporary)."""
    return all(np.isfinite(a[k : k + rows]).all() for k in range(0, len(a), rows))


def window_dataset(
    prep: Prepared,
    windows: LookbackWindows,
    batch_size: int,
    shuffle: bool,
    seed: int,
    drop_remainder: bool = False,
    epochs: tuple[int, int] | None = None,
) -> Any:
    """tf.data pipeline of (x, y) batches; each batch gathers its windows in the graph.

    With epochs=(first, end) the pipeline spans those epochs (fit with steps_per_epoch), and epoch e's
    order is a stateless shuffle keyed by (seed, e): a resumed run sees exactly the batches it would have.
    The pipeline reads prep.flat in place (TensorFlow shares its memory): prep.arrays must not change while it runs.
    """
    import tensorflow as tf

    flat, offsets = _flat(prep)
    data = _tensor(flat)  # (rows, inputs), the memory of prep.flat: no copy of the data
    clean = not _all_finite(flat)  # e.g. row 0 of a differenced series: NaN -> 0 per batch, as np.nan_to_num
    n, bs, stride = len(windows), batch_size, windows.stride
    ends = np.cumsum(windows.counts)  # (ranges,) one past each range's last window number
    # window k of range r starts at global row base[r] + k * stride (windows.py, LookbackWindows); a range is a
    # series, or a stretch of one between rows that data.missing: drop removed
    base = tf.constant(offsets[windows.series_of_range] + windows.firsts - (ends - windows.counts) * stride)
    ends_t = tf.constant(ends)
    shape, n_t, step = windows.shape, prep.n_targets, prep.steps.window_step
    n_in, fixed = int(data.shape[1]), prep.steps.fixed  # the last `fixed` inputs keep their values (no reference)
    keep = tf.constant([[[1.0] * (n_in - fixed) + [0.0] * fixed]], dtype=tf.float32)
    span = tf.range(shape.span, dtype=tf.int64)  # inputs and targets: one gather
    # window_trend: each row's and target's steps from the window's last row; the rows' steps centred for the slope
    steps_in = np.arange(shape.look_back, dtype=np.float32) - (shape.look_back - 1)
    centred_steps = steps_in - steps_in.mean()
    t_in, tc = tf.constant(steps_in[None, :, None]), tf.constant(centred_steps[None, :, None])
    t_out = tf.constant(
        (np.arange(shape.target_len, dtype=np.float32) + shape.target_offset - shape.look_back + 1)[None, :, None]
    )
    tc_ss = float((centred_steps**2).sum()) or 1.0  # one row: no slope (tc is 0)
    lo, hi = np.finfo(np.float32).min, np.finfo(np.float32).max
    index_dtype = tf.int32 if n < 2**31 else tf.int64  # window numbers: 4 bytes each per epoch order

    def gather(k: Any) -> tuple[Any, Any]:
        k = tf.cast(k, tf.int64)  # (batch,) window numbers
        s = tf.gather(base, tf.searchsorted(ends_t, k, side="right")) + k * stride  # (batch,) global start rows
        w = tf.cast(tf.gather(data, s[:, None] + span), tf.float32)  # (batch, span, inputs)
        if clean:
            w = tf.clip_by_value(tf.where(tf.math.is_nan(w), tf.zeros_like(w), w), lo, hi)
        x = w[:, : shape.look_back]  # (batch, look_back, inputs)
        y = w[:, shape.target_offset : shape.target_offset + shape.target_len, :n_t]  # (batch, target steps, targets)
        if step:  # window_norm: minus the last row; window_mean: its mean; window_trend: its trend's line
            ref = tf.reduce_mean(x, axis=1, keepdims=True) if step == "window_mean" else x[:, -1:, :]
            ref = ref * keep  # (batch, 1, inputs); the fixed inputs keep their values
            if step == "window_trend":  # the least-squares slope per step, through the last row
                centred = x - tf.reduce_mean(x, axis=1, keepdims=True)
                slope = tf.reduce_sum(tc * centred, axis=1, keepdims=True) / tc_ss * keep  # (batch, 1, inputs)
                x, y = x - (ref + slope * t_in), y - (ref[:, :, :n_t] + slope[:, :, :n_t] * t_out)
            else:
                x, y = x - ref, y - ref[:, :, :n_t]
        return x, y

    def epoch_order(e: Any) -> Any:
        order = tf.range(n, dtype=index_dtype)
        if shuffle:  # the permutation depends on (seed, e) and n only, not on what is shuffled
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.constant(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order).batch(bs, drop_remainder)

    if epochs is not None:
        ds = tf.data.Dataset.range(epochs[0], epochs[1]).flat_map(epoch_order)
    else:
        ds = tf.data.Dataset.from_tensor_slices(tf.range(n, dtype=index_dtype)).batch(bs, drop_remainder)
    # tf.data's default static rewrites serialize the pipeline when its iterator is made, `data` included: a
    # transient copy of the whole data set. The pipeline is already what they would make it (parallel map, prefetch).
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).with_options(options)


def stateful_validation_data(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(warm, x, y) for stateful validation: the common tail of every training part, then the val part.

    The warm-up is at most one stream's span (chunks * num_steps rows), the longest run of steps the model
    carries its states over in training (states are reset every epoch); with reset_states never it is the
    whole training part. The warm-up runs step by step on the numpy engine after every epoch, so on a long
    series warming on the whole training part would cost more than the epoch itself (160,000 steps: ~6 s).
    """
    lay = prep.plan.train
    assert isinstance(lay, StreamLayout)
    parts = prep.plan.parts
    val_len = min(p.val_end - p.train_end for p in parts)
    if val_len < lay.val_rows:
        return None
    warm_len = min(p.train_end - f for p, f in zip(parts, lay.real_first, strict=True))
    if prep.cfg.training.reset_states != "never":
        warm_len = min(warm_len, lay.chunks * lay.num_steps)
    n_t = prep.n_targets
    warm = np.stack([a[p.train_end - warm_len : p.train_end] for a, p in zip(prep.arrays, parts, strict=True)])
    if lay.many_to_many:  # many_to_many: one-step targets over the val part
        x = np.stack([a[p.train_end : p.train_end + val_len - 1] for a, p in zip(prep.arrays, parts, strict=True)])
        y = np.stack(
            [a[p.train_end + 1 : p.train_end + val_len, :n_t] for a, p in zip(prep.arrays, parts, strict=True)]
        )
        # the warm-up's last output predicts row train_end: score it too
        y = np.concatenate(
            [np.stack([a[p.train_end : p.train_end + 1, :n_t] for a, p in zip(prep.arrays, parts, strict=True)]), y],
            axis=1,
        )
    else:
        x = np.stack([a[p.train_end : p.train_end + val_len] for a, p in zip(prep.arrays, parts, strict=True)])
        y = np.empty(0)
    return warm.astype(np.float32), x.astype(np.float32), y.astype(np.float32)


def stateful_batches(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, weights) of every stateful batch, batch-major in layout order (windows.stateful_arrays): float32,
    (batches * batch, num_steps, inputs); padded steps are PAD_VALUE in x and weigh 0."""
    lay = prep.plan.train
    assert isinstance(lay, StreamLayout)
    check_pad(prep.arrays, lay, prep.ds.names)
    return stateful_arrays(lay, prep.arrays, prep.n_targets)


def check_pad(arrays: list[np.ndarray], lay: StreamLayout, names: list[str]) -> None:
    """Refuse data with a real input row equal to PAD_VALUE in every column: the Masking layer would skip it, in
    training and in the backtests and forecasts after it (Run.units refuses it there). Every row of series i from
    real_first on, its validation and test parts too: refused before the fit, not after it."""
    for i, (a, lo) in enumerate(zip(arrays, lay.real_first, strict=True)):
        masked = (a[lo:] == PAD_VALUE).all(axis=1)
        if masked.any():
            row = lo + int(np.argmax(masked)) + 1
            raise DataError(
                f"series {names[i]!r} has a row (row {row} of the series, from its first) whose every input is "
                f"{PAD_VALUE} in model units, the value that marks padding in stateful training (it would be masked)",
                hint="set data.scaler to standard or minmax, or shift the values",
            )
