"""All index arithmetic for look-back windows and stateful stream layouts lives here.

Positions are row positions inside one series (0 = its first row); `end` is exclusive.
Nothing here copies a series into an (N, look_back, features) array: windows are views
(`sliding_window_view`) and only the rows of one batch are ever gathered.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class LookbackWindows:
    """The windows of one part over all series, held as one range of starts per series.

    Window k (series-major, starts ascending within a series) of series i starts at
    firsts[i] + (k - offsets[i]) * stride, where offsets[i] = counts[0] + ... + counts[i - 1].
    Nothing per window is stored: `series` and `starts` are computed on first use (previews, tests);
    training computes the starts of each batch from its window numbers (`locate`, or in the graph).
    """

    shape: WindowShape
    firsts: np.ndarray  # (n_series,) int64 start of each series' first window
    counts: np.ndarray  # (n_series,) int64 windows in each series
    stride: int = 1

    def __len__(self) -> int:
        return int(self.counts.sum())

    @property
    def offsets(self) -> np.ndarray:
        """(n_series,) number of the first window of each series."""
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def locate(self, k: np.ndarray | np.integer | int) -> tuple[np.ndarray, np.ndarray]:
        """(series, start) of the window numbers k (any int array), without the per-window arrays."""
        k = np.asarray(k, dtype=np.int64)
        ends = np.cumsum(self.counts)
        i = np.searchsorted(ends, k, side="right")  # series whose windows end after k
        return i, self.firsts[i] + (k - (ends[i] - self.counts[i])) * self.stride

    @cached_property
    def series(self) -> np.ndarray:
        """(windows,) int64 series number of every window."""
        return np.repeat(np.arange(len(self.counts), dtype=np.int64), self.counts)

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
        return f"LookbackWindows({len(self)} windows, look_back={self.shape.look_back}, {head}{more})"


def lookback_windows(
    shape: WindowShape, firsts: list[int], bounds: list[tuple[int, int]], stride: int = 1
) -> LookbackWindows:
    """Windows whose targets fall in bounds[i] = (lo, hi) of each series i (see lookback_starts)."""
    ranges = [lookback_range(shape, f, lo, hi, stride) for f, (lo, hi) in zip(firsts, bounds, strict=True)]
    return LookbackWindows(
        shape,
        np.array([r[0] for r in ranges], dtype=np.int64),
        np.array([r[1] for r in ranges], dtype=np.int64),
        stride,
    )


@dataclass(frozen=True)
class StreamLayout:
    """Stateful layout: every series cut into `streams` contiguous parts, each into chunks of num_steps.

    Batch k holds chunk k of every (series, stream); row r = series * streams + stream is fixed, so
    row r of batch k + 1 continues row r of batch k. Series are trimmed to a common number of
    chunks; the rows that do not fill a whole chunk are dropped from the start (newest kept).
    """

    streams: int
    num_steps: int
    chunks: int  # chunks per stream = batches per epoch
    first: tuple[int, ...]  # first input row used in each series
    dropped: tuple[int, ...]  # rows dropped from the start of each series
    target_offset: int  # many_to_many: 1 (next step); many_to_one: num_steps (the steps after the chunk)
    target_len: int

    @property
    def n_series(self) -> int:
        return len(self.first)

    @property
    def batch_size(self) -> int:
        return self.n_series * self.streams

    @property
    def batches(self) -> int:
        return self.chunks

    def locate(self, row: int) -> tuple[int, int]:
        """(series, stream) of a batch row."""
        return divmod(row, self.streams)

    def starts(self, batch: int) -> np.ndarray:
        """(batch_size,) start of every row's chunk in batch `batch`."""
        first = np.repeat(np.asarray(self.first, dtype=np.int64), self.streams)
        stream = np.tile(np.arange(self.streams, dtype=np.int64), self.n_series)
        return first + (stream * self.chunks + batch) * self.num_steps

    def chunk(self, batch: int, row: int) -> tuple[int, int]:
        """(start, end) of the chunk of batch `batch`, row `row` in its series."""
        p = int(self.starts(batch)[row])
        return p, p + self.num_steps

    def __repr__(self) -> str:
        return (
            f"StreamLayout({self.n_series} series x {self.streams} streams = batch {self.batch_size}, "
            f"{self.chunks} batches of {self.num_steps} steps, dropped {list(self.dropped)})"
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
    """Lay out the rows [firsts[i], ends[i]) of every series as aligned stateful streams."""
    target_offset, target_len = (1, num_steps) if many_to_many else (num_steps, horizon)
    extra = target_offset + target_len - num_steps  # rows after the last chunk its targets need
    usable = [e - f - extra for f, e in zip(firsts, ends, strict=True)]
    per_series = [max(u, 0) // (streams * num_steps) for u in usable]
    chunks = min(per_series) if per_series else 0
    if chunks == 0:
        i = int(np.argmin(per_series)) if per_series else 0
        who = repr(names[i]) if names and names[i] else "the series"
        raise DataError(
            f"{who} has {max(usable[i], 0) + extra} training rows: not enough for one chunk of "
            f"windows.num_steps={num_steps} in each of windows.streams={streams} streams "
            f"(needs {streams * num_steps + extra})",
            hint="lower windows.streams or windows.num_steps, or give the training part more rows",
        )
    used = chunks * streams * num_steps
    dropped = tuple(u - used for u in usable)
    first = tuple(f + d for f, d in zip(firsts, dropped, strict=True))
    return StreamLayout(streams, num_steps, chunks, first, dropped, target_offset, target_len)


def stateful_arrays(layout: StreamLayout, values: list[np.ndarray], n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """X (batches * batch_size, num_steps, inputs) and y, batch-major, rows in layout order."""
    xs, ys = [], []
    for k in range(layout.batches):
        starts = layout.starts(k)
        for r, p in enumerate(starts):
            i, _ = layout.locate(r)
            v = values[i]
            xs.append(v[p : p + layout.num_steps])
            t = p + layout.target_offset
            ys.append(v[t : t + layout.target_len, :n_targets])
    return np.stack(xs), np.stack(ys)
