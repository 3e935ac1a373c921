"""All index arithmetic for look-back windows and stateful stream layouts lives here.

Positions are row positions inside one series (0 = its first row); `end` is exclusive.
Nothing here copies a series into an (N, look_back, features) array: windows are views
(`sliding_window_view`) and only the rows of one batch are ever gathered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from seqcast.errors import DataError


@dataclass(frozen=True)
class WindowShape:
    """Where a window's inputs and targets sit relative to its start p.

    many_to_one:  inputs [p, p + look_back), targets [p + look_back, p + look_back + horizon)
    many_to_many: inputs [p, p + look_back), targets [p + 1, p + look_back + 1) (next step at every step)
    """

    look_back: int
    horizon: int
    many_to_many: bool = False

    @property
    def target_offset(self) -> int:
        return 1 if self.many_to_many else self.look_back

    @property
    def target_len(self) -> int:
        return self.look_back if self.many_to_many else self.horizon

    @property
    def span(self) -> int:
        """Rows one window touches, inputs and targets together."""
        return self.target_offset + self.target_len


def lookback_starts(shape: WindowShape, first: int, lo: int, hi: int, stride: int = 1) -> np.ndarray:
    """Starts p of the windows whose targets belong to the part [lo, hi) of a series.

    Inputs may reach back before lo (the history known at that point) but never before `first`;
    every target lies in [lo, hi) (many_to_many: the last target does; the earlier ones are
    the inputs' own next steps, which for a training window all lie in the training part).
    """
    p_min, count = lookback_range(shape, first, lo, hi, stride)
    return p_min + stride * np.arange(count, dtype=np.int64)


def lookback_range(shape: WindowShape, first: int, lo: int, hi: int, stride: int = 1) -> tuple[int, int]:
    """(first start, number of windows) of lookback_starts: the starts are first + stride * [0, count)."""
    need = shape.target_len if not shape.many_to_many else 1  # targets that must be >= lo
    p_min = max(first, lo - shape.target_offset - shape.target_len + need)
    p_max = hi - shape.span  # last target row = p + span - 1 <= hi - 1
    if p_max < p_min:
        return p_min, 0
    return p_min, (p_max - p_min) // stride + 1


def gather(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Rows [p, p + length) for every p in starts: (len(starts), length, features), one copy."""
    if len(starts) == 0:  # no window: even a series shorter than `length` has none to gather
        return np.empty((0, length, *values.shape[1:]), dtype=values.dtype)
    view = sliding_window_view(values, length, axis=0)  # (n - length + 1, features, length), no copy
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1))


_NONE: np.ndarray = np.zeros(0, dtype=np.int64)  # LookbackWindows' defaults: one range per series, no window lost


@dataclass(frozen=True)
class LookbackWindows:
    """The windows of one part over all series, held as ranges of starts: one range per series, or with
    data.missing: drop one per stretch of a series between its breaks (no window crosses a dropped row).

    Window k (range-major, ranges in series order, starts ascending within a series) of range r starts at
    firsts[r] + (k - offsets[r]) * stride in series series_of_range[r], offsets[r] = counts[0] + ... + counts[r - 1].
    Nothing per window is stored: `series` and `starts` are computed on first use (previews, tests);
    training computes the starts of each batch from its window numbers (`locate`, or in the graph).
    """

    shape: WindowShape
    firsts: np.ndarray  # (ranges,) int64 start of each range's first window
    counts: np.ndarray  # (ranges,) int64 windows in each range
    stride: int = 1
    series_of_range: np.ndarray = field(default_factory=lambda: _NONE)  # (ranges,) int64; default: range i = series i
    lost: np.ndarray = field(default_factory=lambda: _NONE)  # (n_series,) int64 windows left out: they cross a break

    def __post_init__(self) -> None:
        if self.series_of_range is _NONE:  # one range per series
            object.__setattr__(self, "series_of_range", np.arange(len(self.counts), dtype=np.int64))
        if self.lost is _NONE:
            n = int(self.series_of_range[-1]) + 1 if len(self.series_of_range) else 0
            object.__setattr__(self, "lost", np.zeros(n, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.counts.sum())

    @property
    def offsets(self) -> np.ndarray:
        """(ranges,) number of the first window of each range."""
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def locate(self, k: np.ndarray | np.integer | int) -> tuple[np.ndarray, np.ndarray]:
        """(series, start) of the window numbers k (any int array), without the per-window arrays."""
        k = np.asarray(k, dtype=np.int64)
        ends = np.cumsum(self.counts)
        r = np.searchsorted(ends, k, side="right")  # ranges whose windows end after k
        return self.series_of_range[r], self.firsts[r] + (k - (ends[r] - self.counts[r])) * self.stride

    @cached_property
    def series(self) -> np.ndarray:
        """(windows,) int64 series number of every window."""
        return np.repeat(self.series_of_range, self.counts)

    @cached_property
    def starts(self) -> np.ndarray:
        """(windows,) int64 start p of every window inside its series."""
        return self.locate(np.arange(len(self), dtype=np.int64))[1]

    def input_range(self, k: int) -> tuple[int, int]:
        """(start, end) of window k's inputs in its series."""
        p = int(self.locate(np.int64(k))[1])
        return p, p + self.shape.look_back

    def target_range(self, k: int) -> tuple[int, int]:
        """(start, end) of window k's targets in its series."""
        p = int(self.locate(np.int64(k))[1]) + self.shape.target_offset
        return p, p + self.shape.target_len

    def __repr__(self) -> str:
        head = ", ".join(
            f"s{int(self.locate(np.int64(k))[0])}:{self.input_range(k)}->{self.target_range(k)}"
            for k in range(min(3, len(self)))
        )
        more = ", ..." if len(self) > 3 else ""
        lost = f", {int(self.lost.sum())} crossing a break left out" if self.lost.any() else ""
        return f"LookbackWindows({len(self)} windows{lost}, look_back={self.shape.look_back}, {head}{more})"


def lookback_windows(
    shape: WindowShape,
    firsts: list[int],
    bounds: list[tuple[int, int]],
    stride: int = 1,
    breaks: list[np.ndarray] | None = None,
) -> LookbackWindows:
    """Windows whose targets fall in bounds[i] = (lo, hi) of each series i (see lookback_starts), without those
    that cross one of breaks[i] (gap_ranges): one range per stretch between breaks, the lost ones counted."""
    ranges = [lookback_range(shape, f, lo, hi, stride) for f, (lo, hi) in zip(firsts, bounds, strict=True)]
    p0 = np.array([r[0] for r in ranges], dtype=np.int64)
    count = np.array([r[1] for r in ranges], dtype=np.int64)
    cuts = breaks or []
    gappy = [i for i, b in enumerate(cuts) if len(b) and count[i]]
    if not gappy:  # one range per series
        return LookbackWindows(shape, p0, count, stride)
    split = {i: gap_ranges(int(p0[i]), int(count[i]), stride, shape.span, firsts[i], cuts[i]) for i in gappy}
    rf = [split[i][0] if i in split else p0[i : i + 1] for i in range(len(firsts))]
    rc = [split[i][1] if i in split else count[i : i + 1] for i in range(len(firsts))]
    lost = count - np.array([c.sum() for c in rc], dtype=np.int64)
    rs = np.repeat(np.arange(len(firsts), dtype=np.int64), [len(c) for c in rc])
    return LookbackWindows(shape, np.concatenate(rf), np.concatenate(rc), stride, rs, lost)


def gap_ranges(
    p0: int, count: int, stride: int, span: int, first: int, breaks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(firsts, counts) of the starts p0 + stride * [0, count) that cross no break, one range per stretch.

    A break b is a row that does not directly follow row b - 1 (a dropped row between them). Each stretch
    [a, c) between breaks is laid out as a series of its own: its windows start at a + first or later (the rows a
    transform leaves without model units, as at a series' start) and end by c. So the window starting at p is
    kept iff no break b has p - first < b < p + span. Always one range at least (count 0 when none is left).
    """
    b = np.asarray(breaks, dtype=np.int64)
    a = np.concatenate([[0], b])  # (stretches,) first row of each stretch
    c = np.concatenate([b, [np.iinfo(np.int64).max // 2]])  # (stretches,) one past its last row
    lo = np.maximum(a + first, p0)  # lowest start allowed in each stretch
    hi = np.minimum(c - span, p0 + (count - 1) * stride)  # highest start allowed
    k_lo = -((p0 - lo) // stride)  # ceil((lo - p0) / stride): the first start on the grid at or after lo
    k_hi = (hi - p0) // stride
    keep = k_hi >= k_lo
    if not keep.any():
        return np.array([p0], dtype=np.int64), np.zeros(1, dtype=np.int64)
    return p0 + k_lo[keep] * stride, (k_hi - k_lo + 1)[keep]


def crosses_break(breaks: np.ndarray, starts: np.ndarray, length: int | np.ndarray) -> np.ndarray:
    """(len(starts),) bool: does the block of rows [p, p + length) cross a break (some b with p < b < p + length)?

    length: one for all blocks, or one per block."""
    starts = np.asarray(starts, dtype=np.int64)
    if len(breaks) == 0:
        return np.zeros(starts.shape, dtype=bool)
    nxt = np.searchsorted(breaks, starts, side="right")  # the first break after p
    return (nxt < len(breaks)) & (breaks[np.minimum(nxt, len(breaks) - 1)] < starts + length)


def backtest_origins(test_start: int, n: int, horizon: int) -> np.ndarray:
    """Backtest origins of one series: test_start, test_start + horizon, ... while a full block fits."""
    return np.arange(test_start, n - horizon + 1, horizon, dtype=np.int64)


def clear_of_gaps(
    jobs: list[tuple[int, int]], breaks: list[np.ndarray], history: int, steps: int, ends: list[int] | None = None
) -> list[tuple[int, int]]:
    """The forecast jobs (series, origin) whose rows [origin - history, origin + steps) cross no break (the window
    or the truth would run across a gap); with ends, the steps stop at ends[series]."""
    if not jobs:
        return jobs
    series = np.array([i for i, _ in jobs], dtype=np.int64)
    origin = np.array([o for _, o in jobs], dtype=np.int64)
    stop = origin + steps if ends is None else np.minimum(origin + steps, np.asarray(ends, dtype=np.int64)[series])
    bad = np.zeros(len(jobs), dtype=bool)
    for i in np.unique(series).tolist():
        if len(breaks[i]):
            mine = series == i
            bad[mine] = crosses_break(breaks[i], origin[mine] - history, stop[mine] - origin[mine] + history)
    return [j for j, b in zip(jobs, bad.tolist(), strict=True) if not b]


# The input value of a padded time step (every input column), masked by the Masking layer that stateful models
# start with: Keras carries the states over such a step unchanged and the step adds nothing to the loss. No real
# row may equal it in every column (prepare checks: a real row would be masked too).
PAD_VALUE = -1.0e4


@dataclass(frozen=True)
class StreamLayout:
    """Stateful layout: every series cut into `streams` contiguous parts, each into chunks of num_steps.

    Batch k holds chunk k of every (series, stream); row r = series * streams + stream is fixed, so
    row r of batch k + 1 continues row r of batch k. Every series takes as many chunks as the longest needs:
    the rows missing to fill them are padding before its first row (`padded`), at the start of its stream 0,
    masked in training. No row is dropped; every series ends its last stream at the end of its part.
    """

    streams: int
    num_steps: int
    chunks: int  # chunks per stream = batches per epoch
    first: tuple[int, ...]  # position of the first slot of each series (negative or before its first row: padding)
    padded: tuple[int, ...]  # padding slots before the first real row of each series
    target_offset: int  # many_to_many: 1 (next step); many_to_one: num_steps (the steps after the chunk)
    target_len: int
    many_to_many: bool = True  # targets: the next step of every input step (else the target_len after the chunk)

    @property
    def padding_share(self) -> float:
        """The share of the batches' input steps that are padding: compute spent on nothing (a panel of one long
        series and many short ones pads every short one to the long one's length)."""
        return sum(self.padded) / (self.batches * self.batch_size * self.num_steps)

    @property
    def val_rows(self) -> int:
        """The validation rows stateful validation needs to score anything: one chunk's targets, after a whole chunk
        of inputs for many_to_one (dataset.stateful_validation_data; fewer: no val_loss, layout says so)."""
        return self.target_len + (0 if self.many_to_many else self.num_steps - 1)

    @property
    def n_series(self) -> int:
        return len(self.first)

    @property
    def batch_size(self) -> int:
        return self.n_series * self.streams

    @property
    def batches(self) -> int:
        return self.chunks

    @cached_property
    def real_first(self) -> tuple[int, ...]:
        """First real (unpadded) input row of each series (built once: window-preview reads it for every row)."""
        return tuple(f + d for f, d in zip(self.first, self.padded, strict=True))

    def locate(self, row: int) -> tuple[int, int]:
        """(series, stream) of a batch row."""
        return divmod(row, self.streams)

    def starts(self, batch: int) -> np.ndarray:
        """(batch_size,) start of every row's chunk in batch `batch` (below the real first row: padding)."""
        first = np.repeat(np.asarray(self.first, dtype=np.int64), self.streams)
        stream = np.tile(np.arange(self.streams, dtype=np.int64), self.n_series)
        return first + (stream * self.chunks + batch) * self.num_steps

    def chunk(self, batch: int, row: int) -> tuple[int, int]:
        """(start, end) of the chunk of batch `batch`, row `row` in its series, padding included (starts' row)."""
        i, j = self.locate(row)
        p = self.first[i] + (j * self.chunks + batch) * self.num_steps
        return p, p + self.num_steps

    def paddings(self, batch: int) -> np.ndarray:
        """(batch_size,) padded steps at the start of every row's chunk in batch `batch` (num_steps: all padding)."""
        real = np.repeat(np.asarray(self.real_first, dtype=np.int64), self.streams)
        return np.clip(real - self.starts(batch), 0, self.num_steps)

    def padding(self, batch: int, row: int) -> int:
        """Padded steps at the start of that chunk (num_steps: all padding; paddings' row)."""
        return min(max(self.real_first[self.locate(row)[0]] - self.chunk(batch, row)[0], 0), self.num_steps)

    def __repr__(self) -> str:
        return (
            f"StreamLayout({self.n_series} series x {self.streams} streams = batch {self.batch_size}, "
            f"{self.chunks} batches of {self.num_steps} steps, padded {list(self.padded)})"
        )


def stream_layout(
    firsts: list[int],
    ends: list[int],
    streams: int,
    num_steps: int,
    *,
    many_to_many: bool = True,
    horizon: int = 1,
    names: list[str] | None = None,
) -> StreamLayout:
    """Lay out the rows [firsts[i], ends[i]) of every series as aligned stateful streams, padding the shorter."""
    target_offset, target_len = (1, num_steps) if many_to_many else (num_steps, horizon)
    extra = target_offset + target_len - num_steps  # rows after the last chunk its targets need
    usable = [e - f - extra for f, e in zip(firsts, ends, strict=True)]
    short = [i for i, u in enumerate(usable) if u < 1]
    if short or not usable:
        i = short[0] if short else 0
        who = repr(names[i]) if names and names[i] else "the series"
        got, lost = (ends[i], max(firsts[i], 0)) if usable else (0, 0)
        used = f" and data.transform uses up the first {lost}" if lost else ""
        raise DataError(
            f"{who} has {got} training rows{used}: not enough for one input row and its "
            f"{'next-step target' if many_to_many else f'{horizon} target row(s)'} (needs {lost + extra + 1})",
            hint="give the training part more rows (data.split)"
            + (", or a data.transform that uses fewer rows (none uses none)" if lost else "")
            + ("" if many_to_many else ", or lower windows.horizon"),
        )
    round_ = streams * num_steps
    chunks = -(-max(usable) // round_)
    padded = tuple(chunks * round_ - u for u in usable)
    first = tuple(f - d for f, d in zip(firsts, padded, strict=True))
    return StreamLayout(streams, num_steps, chunks, first, padded, target_offset, target_len, many_to_many)


def stateful_arrays(
    layout: StreamLayout, values: list[np.ndarray], n_targets: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (batches * batch_size, num_steps, inputs), y and the weights of y, batch-major, rows in layout order.

    Padded input steps hold PAD_VALUE. Weights: many_to_many (rows, num_steps), 1 where the input step is real;
    many_to_one (rows,), 1 where the chunk's last input step is real (its targets follow it). Padded targets are 0.
    """
    n, t_len, t_off = layout.num_steps, layout.target_len, layout.target_offset
    n_in = values[0].shape[1] if values else 0
    rows = layout.batches * layout.batch_size
    x = np.full((rows, n, n_in), PAD_VALUE, dtype=np.float32)
    y = np.zeros((rows, t_len, n_targets), dtype=np.float32)
    many = layout.many_to_many
    w = np.zeros((rows, n) if many else (rows,), dtype=np.float32)
    for k in range(layout.batches):
        for r, (p, pad) in enumerate(zip(layout.starts(k).tolist(), layout.paddings(k).tolist(), strict=True)):
            i, _ = layout.locate(r)
            at, v = k * layout.batch_size + r, values[i]
            if pad == n:  # padding only
                continue
            x[at, pad:] = v[p + pad : p + n]
            if many:  # step j's target is row p + j + 1
                y[at, pad:] = v[p + pad + 1 : p + n + 1, :n_targets]
                w[at, pad:] = 1.0
            else:
                y[at] = v[p + t_off : p + t_off + t_len, :n_targets]
                w[at] = 1.0
    return x, y, w
