"""data.resample: irregular events onto a regular grid, per series, before any other check (pure numpy).

A bin is left-closed and labelled by its left edge, on a grid aligned to the frequency rather than to the first
event, so that a later file (`seqcast update --data`, `forecast --data`) falls on the same grid: fixed steps
count from 1970-01-01 00:00 (pandas' `origin="epoch"`; for steps that divide a day this is also pandas'
default), whole weeks from Monday 1970-01-05, integer times from 0. Calendar frequencies take calendar periods:
MS, QS, YS are labelled by the period's first day, ME, QE, YE by its last day (the dates their grid is made of);
B (business days) by the day, a weekend's events in Friday's bin, as pandas does.
Within a bin NaN values are ignored, as pandas does; a bin without events is no row at all, so it is a missing
timestamp that data.missing handles (even for `sum`, where pandas would give 0: no events is not a zero reading).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from seqcast import timeaxis
from seqcast.timeaxis import Freq, TimeKind

if TYPE_CHECKING:
    from seqcast.config import Resample

HOWS = ("mean", "sum", "last", "first")
_DAY = 86_400 * 10**9
_MONDAY = 4 * _DAY  # 1970-01-05, the first Monday after the epoch, in ns
_THURSDAY = np.datetime64("1970-01-01", "D")  # the epoch, a business day


@dataclass(frozen=True)
class Where:
    """Where a series' events come from, for apply's errors: the file, the series (" of series 'A'"), each event's
    row of the input (rows) and the place of a row (at: its index -> 'line 7'), and whether the frequency is a
    run's (fixed: no hint to change it)."""

    source: str | None = None
    label: str = ""
    at: Callable[[int], str] | None = None
    rows: np.ndarray | None = None
    fixed: bool = False

    def line(self, i: int) -> str:
        return self.at(int(self.rows[i])) if self.at is not None and self.rows is not None else ""


@dataclass(frozen=True)
class Binned:
    """One series on the grid: bin labels (bins,), values (bins, columns), and each bin's first row and events."""

    times: np.ndarray
    values: np.ndarray
    first: np.ndarray  # (bins,) index into the rows given of each bin's first event
    events: np.ndarray  # (bins,) events per bin


def bin_labels(times: np.ndarray, freq: Freq) -> np.ndarray:
    """The label of the bin each time falls in (same dtype as `times`)."""
    if freq.kind == "integer":
        return times // freq.step * freq.step
    if freq.kind == "month":
        months = times.astype("datetime64[M]").astype(np.int64)
        start = months // freq.step * freq.step  # months since 1970-01, so quarters start in Jan, Apr, Jul, Oct
        last = start + (freq.step - 1 if freq.anchor == "end" else 0)
        return timeaxis._months_to_times(last, freq.anchor)
    if freq.kind == "bday":  # a weekend's events fall in Friday's bin, as pandas' B bins [Friday, Monday)
        days, tod = timeaxis._day_and_time(times)
        friday = np.busday_offset(days, 0, roll="backward")
        at = np.busday_count(_THURSDAY, friday) // freq.step * freq.step  # n-day bins from 1970-01-01, a Thursday
        return np.busday_offset(_THURSDAY, at).astype("datetime64[ns]")
    origin = _MONDAY if freq.step % (7 * _DAY) == 0 else 0
    t = times.astype(np.int64)
    return ((t - origin) // freq.step * freq.step + origin).astype("datetime64[ns]")


def fits(kind: TimeKind, freq: Freq) -> bool:
    """Whether a time axis of `kind` can be binned at `freq` (integer times by an integer step, dates by a date one)."""
    return (kind == "integer") == (freq.kind == "integer")


def resample(times: np.ndarray, values: np.ndarray, freq: Freq, hows: list[str]) -> Binned:
    """Aggregate rows sorted by time (times (n,), values (n, columns)) into bins, column j by hows[j].

    One reduceat per statistic over all columns, never a loop over rows; a column whose values in a bin are
    all NaN is NaN there.
    """
    labels = bin_labels(times, freq)
    n = len(labels)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if n else np.zeros(0, np.int64)
    events = np.diff(np.r_[starts, n])
    out = np.full((len(starts), values.shape[1]), np.nan)
    if not n:
        return Binned(labels, out, starts, events)
    seen = ~np.isnan(values)  # (n, columns): the values that count (an infinite one counts, and stays an error)
    pos = np.arange(n)[:, None]
    for how in set(hows):
        cols = [j for j, h in enumerate(hows) if h == how]
        v, ok = values[:, cols], seen[:, cols]
        count = np.add.reduceat(ok, starts, axis=0)  # (bins, cols)
        if how in ("mean", "sum"):
            total = np.add.reduceat(np.where(ok, v, 0.0), starts, axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                agg = total / count if how == "mean" else total
        else:  # the row of the first (last) value that counts in each bin
            row = (
                np.minimum.reduceat(np.where(ok, pos, n), starts, axis=0)
                if how == "first"
                else np.maximum.reduceat(np.where(ok, pos, -1), starts, axis=0)
            )
            agg = np.take_along_axis(v, np.clip(row, 0, n - 1), axis=0)
        out[:, cols] = np.where(count > 0, agg, np.nan)
    return Binned(labels[starts], out, starts, events)


def hows_for(how: str | dict[str, str], columns: list[str]) -> list[str]:
    """The aggregation of every column: one for all, or a mapping in which an unnamed column takes mean."""
    if isinstance(how, str):
        return [how] * len(columns)
    return [how.get(c, "mean") for c in columns]


def describe(hows: list[str], columns: list[str]) -> str:
    """'mean' when every column is aggregated alike, else 'y: mean, rain: sum'."""
    if len(set(hows)) == 1:
        return hows[0]
    return ", ".join(f"{c}: {h}" for c, h in zip(columns, hows, strict=True))


def note(name: str, stats: dict[str, int], spec: Resample, columns: list[str], update: bool = False) -> str:
    """The line Dataset.notes gets: resampled series 'A': 1,234 events -> 96 rows at 1h (mean); `update`: the new
    rows of a run (its bins are added once: a period's later events are not)."""
    how = describe(hows_for(spec.how, columns), columns)
    text = f"resampled {'series ' + repr(name) if name else 'the series'}: {stats['events']:,} events -> "
    text += f"{stats['bins']:,} rows at {spec.freq} ({how})"
    text += f"; {stats['empty']:,} empty bin(s) left to data.missing" if stats["empty"] else ""
    if stats.get("known_events"):  # update: events of the last bin the run holds are not added to it
        text += (
            f"; {stats['known_events']:,} event(s) fall in the last bin the run already holds: not added (a bin is "
            "added once, with the events read then; these were sent again, or came late)"
        )
    if "sum" in hows_for(spec.how, columns):  # a sum over part of a period is not that period's total
        ends = [(e, stats[f"{e}_events"]) for e in ("first", "last") if stats.get(f"{e}_events")]
        for end, got in ends:
            if end == "first":
                fix = "send every event of its period" if update else "leave its events out of the file"
            elif update:
                fix = "leave its events out of the file, or send them once the period is over: a bin is added once"
            else:
                fix = "leave its events out of the file, or train once the period is over: `update` adds a bin once"
            text += (
                f"; the {end} {'new ' if update else ''}bin holds {got:,} event(s) against {stats['median_events']:,} "
                f"in the median bin: a partial period, whose sum is not the period's total ({fix})"
            )
    return text


def apply(
    times: np.ndarray,
    values: np.ndarray,
    kind: TimeKind,
    spec: Resample,
    columns: list[str],
    known: Any = None,
    where: Where = Where(),
) -> tuple[Binned, dict[str, int]]:
    """Bin one series sorted by time at data.resample; (the bins, {events, bins, empty}) for notes and the preview.
    `known`: update's last bin of the series in the run; the events the file holds of that bin are counted
    (known_events), and a partial period is looked for among the bins after it only. `where`: the file, the
    series and each event's line, for an error.

    Raises ConfigError when the frequency cannot bin this time axis (DataError for a run's new rows, where.fixed:
    the file is at fault), DataError when the grid would dwarf the events.
    """
    from seqcast.errors import ConfigError, DataError

    freq, alias = spec.step, spec.freq
    if not fits(kind, freq) and where.fixed:  # a run's new rows: the file's fault, the run's key being fixed
        said = ["whole numbers" if k else "dates" for k in (kind == "integer", freq.kind == "integer")]
        raise DataError(f"times read as {said[0]}, but the run was trained on {said[1]}, binned at "
                        f"data.resample.freq {alias}", where=where.source,
                        hint="write the times as the training data's are")  # fmt: skip
    if not fits(kind, freq):
        raise ConfigError(
            f"{alias!r} bins {'integers' if freq.kind == 'integer' else 'dates'}, but the time column holds "
            f"{'integers' if kind == 'integer' else 'dates'}",
            where="data.resample.freq",
            hint="an integer step (such as 10) for integer times, an alias (such as 1h or MS) for dates",
        )
    b = resample(times, values, freq, hows_for(spec.how, columns))
    span = 0
    if len(b.times):
        if freq.kind == "month":
            months = b.times[[0, -1]].astype("datetime64[M]").astype(np.int64)
            span = int(months[1] - months[0]) // freq.step + 1
        elif freq.kind == "bday":
            days = b.times[[0, -1]].astype("datetime64[D]")
            span = int(np.busday_count(days[0], days[1])) // freq.step + 1
        else:
            span = (int(b.times[-1].astype(np.int64)) - int(b.times[0].astype(np.int64))) // freq.step + 1
    if span > timeaxis.MAX_GRID_GROWTH * len(b.times) + 1000:  # a mistyped year, most often: the widest gap named
        ns = b.times.astype(np.int64).astype(np.float64)  # a difference of centuries in ns overflows int64
        k = int(np.argmax(np.diff(ns))) + 1 if len(b.times) > 1 else 0
        after = max(int(b.first[k]), 1)  # the first event past the widest gap (ME bins are labelled by their end)
        line = where.line(after)
        fmt = functools.partial(timeaxis.fmt, kind=kind, fine=freq.sub_daily)
        raise DataError(
            f"at data.resample.freq {alias} the events{where.label} from {fmt(b.times[0])} to "
            f"{fmt(b.times[-1])} span {span:,} bins, of which only {len(b.times):,} hold any; the "
            f"widest gap runs from {fmt(times[after - 1])} to {fmt(times[after])}" + (f" ({line})" if line else ""),
            where=where.source,
            hint=f"check the time{f' at {line}' if line else ''} (a mistyped year does this)"
            + ("" if where.fixed else ", or choose a larger data.resample.freq"),
        )
    stats = {"events": len(times), "bins": len(b.times), "empty": span - len(b.times)}
    new = b.times > known if known is not None else np.ones(len(b.times), dtype=bool)  # update: bins not yet read
    if known is not None and (b.times == known).any():  # events of the last bin the run holds, sent again or late
        stats["known_events"] = int(b.events[b.times == known][0])
    if len(b.events) >= 3 and new.any():  # a first or last new bin with under half the median bin's events: a
        median, ends = int(np.median(b.events)), b.events[new]  # partial period (one new bin: the last, filling)
        ends = {"last": ends[-1]} | ({"first": ends[0]} if len(ends) > 1 else {})
        short = {f"{end}_events": int(got) for end, got in ends.items()}
        short = {k: v for k, v in short.items() if 2 * v < median}
        stats |= short | ({"median_events": median} if short else {})
    return b, stats
