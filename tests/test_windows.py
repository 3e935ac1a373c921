"""Look-back windows and stateful stream layouts: exact positions on index-valued series, invariants by hypothesis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seqcast.config import DataConfig, Split
from seqcast.data import Dataset, Series, split_parts
from seqcast.errors import ConfigError, DataError
from seqcast.windows import (
    PAD_VALUE,
    WindowShape,
    gather,
    lookback_starts,
    lookback_windows,
    stateful_arrays,
    stream_layout,
)

SETTINGS = settings(max_examples=100, deadline=None)


def index_values(n: int, series: int = 0) -> np.ndarray:
    """(n, 2): column 0 is the row position, column 1 names the series (1000 * series + position)."""
    pos = np.arange(n, dtype=np.float64)
    return np.column_stack([pos, 1000.0 * series + pos])


def brute_starts(shape: WindowShape, first: int, lo: int, hi: int, stride: int) -> list[int]:
    """Every start whose inputs begin at or after `first` and whose targets end by `hi`, with
    all targets (many_to_one) or the last target (many_to_many) at or after `lo`; every stride-th."""
    ok = []
    for p in range(first, hi + 1):
        t0 = p + (1 if shape.many_to_many else shape.look_back)
        t1 = t0 + (shape.look_back if shape.many_to_many else shape.horizon)
        if t1 > hi:
            continue
        if (t1 - 1 if shape.many_to_many else t0) < lo:
            continue
        ok.append(p)
    return ok[::stride]


# ---------------------------------------------------------------- WindowShape and exact windows


def test_window_shape_offsets() -> None:
    one = WindowShape(look_back=5, horizon=3)
    assert (one.target_offset, one.target_len, one.span) == (5, 3, 8)
    many = WindowShape(look_back=5, horizon=3, many_to_many=True)
    assert (many.target_offset, many.target_len, many.span) == (1, 5, 6)


def test_lookback_starts_exact_many_to_one() -> None:
    shape = WindowShape(look_back=3, horizon=2)
    # train part [0, 10): last window starts at 10 - 5 = 5
    assert lookback_starts(shape, 0, 0, 10).tolist() == [0, 1, 2, 3, 4, 5]
    assert lookback_starts(shape, 0, 0, 10, stride=2).tolist() == [0, 2, 4]
    assert lookback_starts(shape, 1, 0, 10).tolist() == [1, 2, 3, 4, 5]
    # val part [10, 14): inputs may reach back into train, the first target is row 10
    assert lookback_starts(shape, 0, 10, 14).tolist() == [7, 8, 9]
    # a part too short for any window
    assert lookback_starts(shape, 0, 0, 4).tolist() == []


def test_lookback_starts_exact_many_to_many() -> None:
    shape = WindowShape(look_back=3, horizon=1, many_to_many=True)
    # targets [p + 1, p + 4); train [0, 8): last start 4 (targets 5, 6, 7)
    assert lookback_starts(shape, 0, 0, 8).tolist() == [0, 1, 2, 3, 4]
    # test part [8, 10): the last target (p + 3) must be in [8, 10)
    assert lookback_starts(shape, 0, 8, 10).tolist() == [5, 6]


def test_gather_on_index_series_is_exact() -> None:
    values = np.arange(10, dtype=np.float64)[:, None] * np.array([1.0, 10.0])  # (10, 2): p and 10 p
    x = gather(values, np.array([0, 3, 6]), 4)
    assert x.shape == (3, 4, 2)
    assert x[:, :, 0].tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert x[:, :, 1].tolist() == [[0, 10, 20, 30], [30, 40, 50, 60], [60, 70, 80, 90]]
    assert x.flags["C_CONTIGUOUS"]


def test_gather_no_windows_on_a_short_series() -> None:
    x = gather(np.zeros((2, 3)), np.empty(0, dtype=np.int64), 5)
    assert x.shape == (0, 5, 3)


def test_lookback_windows_over_two_series_exact() -> None:
    shape = WindowShape(look_back=2, horizon=1)
    win = lookback_windows(shape, [0, 1], [(0, 5), (0, 6)])
    assert win.series.tolist() == [0, 0, 0, 1, 1, 1]
    assert win.starts.tolist() == [0, 1, 2, 1, 2, 3]
    assert [win.input_range(k) for k in range(len(win))] == [(0, 2), (1, 3), (2, 4), (1, 3), (2, 4), (3, 5)]
    assert [win.target_range(k) for k in range(len(win))] == [(2, 3), (3, 4), (4, 5), (3, 4), (4, 5), (5, 6)]
    assert (
        repr(win)
        == "LookbackWindows(6 windows, look_back=2, s0:(0, 2)->(2, 3), s0:(1, 3)->(3, 4), s0:(2, 4)->(4, 5), ...)"
    )


def test_lookback_windows_empty() -> None:
    win = lookback_windows(WindowShape(3, 1), [], [])
    assert len(win) == 0 and win.series.dtype == np.int64


def test_lookback_windows_hold_one_range_per_series_exact() -> None:
    # series 1 has no window (too short): window numbers run on into series 2
    shape = WindowShape(look_back=3, horizon=2)
    win = lookback_windows(shape, [0, 0, 1], [(0, 12), (0, 4), (0, 11)], stride=2)
    assert win.firsts.tolist() == [0, 0, 1] and win.counts.tolist() == [4, 0, 3] and win.stride == 2
    assert win.offsets.tolist() == [0, 4, 4]
    series, starts = win.locate(np.array([6, 0, 3, 4, 5], dtype=np.int64))
    assert series.tolist() == [2, 0, 0, 2, 2] and starts.tolist() == [5, 0, 6, 1, 3]
    assert win.series.tolist() == [0, 0, 0, 0, 2, 2, 2]
    assert win.starts.tolist() == [0, 2, 4, 6, 1, 3, 5]
    assert win.input_range(4) == (1, 4) and win.target_range(4) == (4, 6)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=5),
    st.integers(1, 6),
    st.integers(1, 3),
    st.booleans(),
    st.integers(1, 4),
)
def test_locate_matches_the_concatenated_starts(
    parts: list[tuple[int, int]], look_back: int, horizon: int, many: bool, stride: int
) -> None:
    """locate(k) for every window number equals concatenating lookback_starts series by series."""
    shape = WindowShape(look_back, horizon, many)
    firsts = [f for f, _ in parts]
    bounds = [(0, n) for _, n in parts]
    win = lookback_windows(shape, firsts, bounds, stride)
    want = [
        (i, int(p))
        for i, (f, (lo, hi)) in enumerate(zip(firsts, bounds, strict=True))
        for p in lookback_starts(shape, f, lo, hi, stride)
    ]
    series, starts = win.locate(np.arange(len(win), dtype=np.int64))
    assert list(zip(series.tolist(), starts.tolist(), strict=True)) == want
    assert len(win) == len(want)


# ---------------------------------------------------------------- look-back properties


@st.composite
def lookback_case(draw: st.DrawFn) -> tuple[WindowShape, list[int], list[int], int, float | int, float | int]:
    lengths = draw(st.lists(st.integers(1, 60), min_size=1, max_size=4))
    look_back = draw(st.integers(1, 12))
    horizon = draw(st.integers(1, 6))
    many = draw(st.booleans())
    stride = draw(st.integers(1, 5))
    firsts = [draw(st.integers(0, 2)) for _ in lengths]
    val = draw(st.one_of(st.sampled_from([0.0, 0.1, 0.25]), st.integers(0, 5)))
    test = draw(st.one_of(st.sampled_from([0.0, 0.1, 0.2, 0.4]), st.integers(0, 5)))
    return WindowShape(look_back, horizon, many), lengths, firsts, stride, val, test


def _dataset(lengths: list[int]) -> Dataset:
    series = [Series(f"s{i}", np.arange(n), index_values(n, i)) for i, n in enumerate(lengths)]
    return Dataset(series, ["y", "z"], [], "integer", None, "memory")


@SETTINGS
@given(lookback_case())
def test_lookback_windows_properties(case: tuple[WindowShape, list[int], list[int], int, float, float]) -> None:
    shape, lengths, firsts, stride, val, test = case
    ds = _dataset(lengths)
    cfg = DataConfig(path="memory.csv", targets=["y", "z"], split=Split(val=val, test=test))
    try:
        parts = split_parts(ds, cfg)
    except DataError:
        assume(False)
        raise
    for p, n in zip(parts, lengths, strict=True):
        assert 0 < p.train_end <= p.val_end <= p.n == n

    for part in ("train", "val", "test"):
        bounds = [p.bounds(part) for p in parts]
        win = lookback_windows(shape, firsts, bounds, stride=stride if part == "train" else 1)
        assert len(win.series) == len(win.starts) == len(win)
        for i, (lo, hi) in enumerate(bounds):
            mine = win.starts[win.series == i].tolist()
            assert mine == brute_starts(shape, firsts[i], lo, hi, stride if part == "train" else 1)
            assert mine == sorted(mine)
            values = ds.series[i].values
            x = gather(values, np.asarray(mine, dtype=np.int64), shape.look_back)
            y = gather(values, np.asarray(mine, dtype=np.int64) + shape.target_offset, shape.target_len)
            for k, start in enumerate(mine):
                # contiguous inputs, all inside series i
                assert x[k, :, 0].tolist() == list(range(start, start + shape.look_back))
                assert (x[k, :, 1] - x[k, :, 0] == 1000 * i).all()
                assert firsts[i] <= start and start + shape.look_back <= lengths[i]
                # targets right after the inputs
                if shape.many_to_many:
                    assert y[k, :, 0].tolist() == list(range(start + 1, start + shape.look_back + 1))
                    assert lo <= y[k, -1, 0] < hi
                else:
                    t0 = start + shape.look_back
                    assert y[k, :, 0].tolist() == list(range(t0, t0 + shape.horizon))
                    assert lo <= y[k, 0, 0] and y[k, -1, 0] < hi  # every target in the part
                assert y[k, -1, 0] < hi
                if part == "train":  # no training target comes from val or test
                    assert firsts[i] <= y[k, 0, 0] and y[k, -1, 0] < parts[i].train_end
        for k in range(len(win)):
            a, e = win.input_range(k)
            ta, te = win.target_range(k)
            assert e - a == shape.look_back and te - ta == shape.target_len
            assert ta == (a + 1 if shape.many_to_many else e)


@SETTINGS
@given(
    n=st.integers(1, 80),
    look_back=st.integers(1, 10),
    horizon=st.integers(1, 5),
    stride=st.integers(1, 4),
    many=st.booleans(),
    first=st.integers(0, 3),
    cut=st.data(),
)
def test_lookback_starts_hand_made_bounds(
    n: int, look_back: int, horizon: int, stride: int, many: bool, first: int, cut: st.DataObject
) -> None:
    lo = cut.draw(st.integers(0, n))
    hi = cut.draw(st.integers(lo, n))
    shape = WindowShape(look_back, horizon, many)
    starts = lookback_starts(shape, first, lo, hi, stride)
    assert starts.dtype == np.int64
    assert starts.tolist() == brute_starts(shape, first, lo, hi, stride)
    if len(starts) > 1:
        assert set(np.diff(starts).tolist()) == {stride}


# ---------------------------------------------------------------- stateful layout, exact


@SETTINGS
@given(
    lengths=st.lists(st.integers(3, 60), min_size=1, max_size=5),
    streams=st.integers(1, 3),
    num_steps=st.integers(1, 7),
    many=st.booleans(),
)
def test_a_rows_chunk_and_padding_are_its_row_of_the_batchs_arrays(
    lengths: list[int], streams: int, num_steps: int, many: bool
) -> None:
    """chunk and padding (window-preview's, one row at a time) read what starts and paddings build for a whole
    batch: they were those arrays' rows, built again for every row (preview quadratic in the series)."""
    firsts = [k % 2 for k in range(len(lengths))]
    try:
        lay = stream_layout(firsts, lengths, streams, num_steps, many_to_many=many, horizon=2)
    except DataError:
        assume(False)
    for b in range(lay.batches):
        starts, pads = lay.starts(b), lay.paddings(b)
        for r in range(lay.batch_size):
            assert lay.chunk(b, r) == (starts[r], starts[r] + num_steps)
            assert lay.padding(b, r) == pads[r]


def test_stream_layout_exact_many_to_many() -> None:
    # 23 rows, 2 streams of chunks of 5; the last target (next step) is row 22, so rows 0..21 are usable inputs:
    # 22 rows need 3 chunks per stream (30 slots), so 8 steps of padding come before row 0.
    lay = stream_layout([0], [23], streams=2, num_steps=5)
    assert (lay.chunks, lay.batches, lay.batch_size, lay.first, lay.padded) == (3, 3, 2, (-8,), (8,))
    assert lay.real_first == (0,)
    assert (lay.target_offset, lay.target_len) == (1, 5)
    assert lay.starts(0).tolist() == [-8, 7]
    assert lay.starts(2).tolist() == [2, 17]
    assert lay.chunk(2, 1) == (17, 22)
    assert [lay.padding(b, 0) for b in range(3)] == [5, 3, 0]
    assert repr(lay) == "StreamLayout(1 series x 2 streams = batch 2, 3 batches of 5 steps, padded [8])"

    x, y, w = stateful_arrays(lay, [np.arange(23, dtype=np.float64)[:, None]], n_targets=1)
    assert x.shape == y.shape == (6, 5, 1) and w.shape == (6, 5)
    P = PAD_VALUE
    assert x[:, :, 0].tolist() == [
        [P, P, P, P, P],  # batch 0, stream 0: padding only
        [7, 8, 9, 10, 11],  # batch 0, stream 1
        [P, P, P, 0, 1],  # batch 1, stream 0: 3 steps of padding, then the first rows
        [12, 13, 14, 15, 16],
        [2, 3, 4, 5, 6],
        [17, 18, 19, 20, 21],
    ]
    real = w > 0
    assert (real == (x[:, :, 0] != P)).all()
    assert (y[:, :, 0][real] == x[:, :, 0][real] + 1).all() and (y[~real] == 0).all()
    # every usable row is an input exactly once: nothing dropped
    assert sorted(x[:, :, 0][real].tolist()) == list(range(22))


def test_stream_layout_exact_many_to_one() -> None:
    # targets are the `horizon` rows after each chunk: 23 rows, horizon 2 leaves 21 usable, 9 padded
    lay = stream_layout([0], [23], streams=2, num_steps=5, many_to_many=False, horizon=2)
    assert (lay.chunks, lay.first, lay.padded, lay.target_offset, lay.target_len) == (3, (-9,), (9,), 5, 2)
    x, y, w = stateful_arrays(lay, [np.arange(23, dtype=np.float64)[:, None]], n_targets=1)
    assert x.shape == (6, 5, 1) and y.shape == (6, 2, 1) and w.shape == (6,)
    assert x[:, -1, 0].tolist() == [PAD_VALUE, 10, 0, 15, 5, 20]  # the last input of every chunk
    assert w.tolist() == [0, 1, 1, 1, 1, 1]
    assert y[:, :, 0].tolist() == [[0, 0], [11, 12], [1, 2], [16, 17], [6, 7], [21, 22]]


def test_stream_layout_two_series_padded_to_the_longest() -> None:
    lay = stream_layout([0, 1], [23, 41], streams=2, num_steps=5, names=["A", "B"])
    # usable inputs 22 and 39 rows: 3 and 4 chunks per stream; both take 4 (40 slots), A padded by 18, B by 1
    assert (lay.chunks, lay.n_series, lay.batch_size) == (4, 2, 4)
    assert lay.padded == (18, 1) and lay.first == (-18, 0) and lay.real_first == (0, 1)
    assert [lay.locate(r) for r in range(4)] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert lay.starts(0).tolist() == [-18, 2, 0, 20]
    values = [index_values(23, 0), index_values(41, 1)]
    x, y, w = stateful_arrays(lay, values, n_targets=2)
    assert x.shape == y.shape == (16, 5, 2)
    assert int(w[0::4].sum() + w[1::4].sum()) == 22 and int(w[2::4].sum() + w[3::4].sum()) == 39
    assert y[-1, -1, 0] == 40 and y[-3, -1, 0] == 22  # both series end at their last training row


def test_stream_layout_too_short_names_the_series() -> None:
    with pytest.raises(DataError) as err:
        stream_layout([0, 0], [50, 1], streams=2, num_steps=4, names=["A", "B"])
    text = err.value.render()
    assert "'B' has 1 training rows" in text and "needs 2" in text


# ---------------------------------------------------------------- stateful properties


@st.composite
def stateful_case(draw: st.DrawFn) -> tuple[list[int], list[int], int, int, bool, int]:
    k = draw(st.integers(1, 4))
    firsts = [draw(st.integers(0, 2)) for _ in range(k)]
    ends = [f + draw(st.integers(0, 120)) for f in firsts]
    streams = draw(st.integers(1, 4))
    num_steps = draw(st.integers(1, 9))
    many = draw(st.booleans())
    horizon = draw(st.integers(1, 4))
    return firsts, ends, streams, num_steps, many, horizon


@SETTINGS
@given(stateful_case())
def test_stream_layout_properties(case: tuple[list[int], list[int], int, int, bool, int]) -> None:
    firsts, ends, streams, num_steps, many, horizon = case
    extra = 1 if many else horizon  # rows after the last chunk that its targets need
    usable = [e - f - extra for f, e in zip(firsts, ends, strict=True)]
    round_ = streams * num_steps  # rows one chunk of every stream takes
    if min(usable) < 1:
        with pytest.raises(DataError):
            stream_layout(firsts, ends, streams, num_steps, many_to_many=many, horizon=horizon)
        return
    lay = stream_layout(firsts, ends, streams, num_steps, many_to_many=many, horizon=horizon)
    n_series = len(firsts)
    assert lay.batch_size == n_series * streams
    assert lay.chunks == lay.batches == -(-max(usable) // round_)

    # no row is dropped: padding fills each series up to the longest one's chunks, before its first row
    used = lay.chunks * round_
    assert lay.padded == tuple(used - u for u in usable)
    assert min(lay.padded) < round_
    assert lay.real_first == tuple(firsts)

    chunks: dict[int, list[tuple[int, int]]] = {i: [] for i in range(n_series)}
    for b in range(lay.batches):
        starts = lay.starts(b)
        assert starts.shape == (lay.batch_size,)
        assert any(lay.padding(b, r) < num_steps for r in range(lay.batch_size))  # never a batch of padding only
        for r in range(lay.batch_size):
            i, j = lay.locate(r)
            assert (i, j) == (r // streams, r % streams)
            a, e = lay.chunk(b, r)
            assert a == starts[r] and e - a == num_steps
            assert lay.padding(b, r) == min(max(firsts[i] - a, 0), num_steps)
            ta, te = a + lay.target_offset, a + lay.target_offset + lay.target_len
            assert a < ta and te <= ends[i]  # targets inside the training part
            chunks[i].append((a, e))
            if b + 1 < lay.batches:  # row r of batch b + 1 continues row r of batch b
                assert lay.chunk(b + 1, r)[0] == e
    for i, spans in chunks.items():
        spans.sort()
        assert all(e == a2 for (_, e), (a2, _) in zip(spans, spans[1:], strict=False))  # contiguous
        assert spans[0][0] == lay.first[i] and spans[-1][1] - spans[0][0] == used
        # the last chunk's targets end at the end of the training part
        last = lay.chunk(lay.batches - 1, i * streams + streams - 1)
        assert last[0] + lay.target_offset + lay.target_len == ends[i]

    values = [index_values(e + 3, i) for i, e in enumerate(ends)]
    x, y, w = stateful_arrays(lay, values, n_targets=1)
    assert x.shape == (lay.batches * lay.batch_size, num_steps, 2)
    assert y.shape == (lay.batches * lay.batch_size, lay.target_len, 1)
    seen: dict[int, list[float]] = {i: [] for i in range(n_series)}
    for b in range(lay.batches):
        for r in range(lay.batch_size):
            i, _ = lay.locate(r)
            a, _ = lay.chunk(b, r)
            row, pad = b * lay.batch_size + r, lay.padding(b, r)
            assert (x[row, :pad] == PAD_VALUE).all()
            assert x[row, pad:, 0].tolist() == list(range(a + pad, a + num_steps))
            assert (x[row, pad:, 1] == x[row, pad:, 0] + 1000 * i).all()  # the rows come from series i
            seen[i] += x[row, pad:, 0].tolist()
            t = a + lay.target_offset
            if many:
                assert (w[row] == (np.arange(num_steps) >= pad)).all()
                assert y[row, pad:, 0].tolist() == list(range(t + pad, t + lay.target_len))
                assert (y[row, :pad] == 0).all()
            else:
                assert w[row] == (pad < num_steps)
                expect = list(range(t, t + lay.target_len)) if pad < num_steps else [0] * lay.target_len
                assert y[row, :, 0].tolist() == expect
    for i in range(n_series):  # every usable row is an input exactly once
        assert sorted(seen[i]) == list(range(firsts[i], firsts[i] + usable[i]))


# ---------------------------------------------------------------- the plan's limits (layout.py)


def test_a_series_needs_the_span_and_the_rows_its_transform_reads_first(
    write_project: Callable[..., Path], index_csv: Callable[..., str]
) -> None:
    """look_back 5 + horizon 1 and `difference` (one row before the first change): 7 rows give one window, at 1;
    6 rows are refused by the config key, before any split."""
    from seqcast.config import load_config
    from seqcast.errors import ConfigError
    from seqcast.layout import min_rows, plan

    cfg = write_project(index_csv(7), data={"transform": "difference", "split": {"val": 0, "test": 0}})
    assert min_rows(load_config(cfg)) == 7
    assert plan(load_config(cfg)).train.starts.tolist() == [1]
    cfg = write_project(index_csv(6), data={"transform": "difference", "split": {"val": 0, "test": 0}})
    with pytest.raises(ConfigError) as err:
        plan(load_config(cfg))
    assert err.value.where == "windows.look_back"  # the window is most of the 7 rows
    assert "shorter than windows.look_back + horizon + the 1 row(s) data.transform uses up (7 rows needed)" in str(
        err.value
    )


def test_the_backtest_check_takes_a_test_part_of_exactly_the_horizon_and_a_history_of_exactly_the_season(
    write_project: Callable[..., Path], index_csv: Callable[..., str]
) -> None:
    """20 rows, test part 3: rows [17, 20), one origin at 17 with 17 rows before it."""
    from seqcast.config import load_config
    from seqcast.layout import check_backtest, plan

    def check(horizon: int, season: int) -> None:
        cfg = write_project(
            index_csv(20), data={"split": {"val": 3, "test": 3}}, evaluate={"horizon": horizon, "season": season}
        )
        p = plan(load_config(cfg))
        check_backtest(p.cfg, p.ds, p.parts)

    check(3, 17)  # a whole block, and the season's row before each step
    with pytest.raises(ConfigError, match=r"shorter than evaluate.horizon=4 in every series \(the longest has 3"):
        check(4, 17)
    with pytest.raises(ConfigError, match="evaluate.season=18 is longer than the history before the test part"):
        check(3, 18)
