"""Time axes without pandas: infer the frequency (fixed steps, month starts and ends, business days, integer
steps), make regular grids and future steps, format timestamps. Reading a time column is timeparse's.

window-preview must answer in well under a second, and importing pandas alone costs ~0.7 s here, so everything
here is numpy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

TimeKind = Literal["datetime", "integer", "none"]

_UNITS_NS = [("D", 86_400 * 10**9), ("h", 3_600 * 10**9), ("min", 60 * 10**9), ("s", 10**9), ("ms", 10**6)]


@dataclass(frozen=True)
class Freq:
    """The step between rows: a fixed number of ns, a number of months (start- or end-anchored), a number of
    business days (Monday to Friday, at one time of day: pandas' B, without a holiday calendar), or an integer."""

    kind: Literal["fixed", "month", "bday", "integer"]
    step: int  # ns, months, business days or integer units
    anchor: Literal["start", "end", ""] = ""

    @property
    def alias(self) -> str | int:
        """A pandas offset alias (or the integer step) naming this frequency."""
        if self.kind == "integer":
            return self.step
        if self.kind == "bday":
            return "B" if self.step == 1 else f"{self.step}B"
        if self.kind == "month":
            base = {(12, "start"): "YS", (12, "end"): "YE", (3, "start"): "QS", (3, "end"): "QE"}
            if (self.step, self.anchor) in base and self.step in (3, 12):
                return base[(self.step, self.anchor)]
            tag = "MS" if self.anchor == "start" else "ME"
            return tag if self.step == 1 else f"{self.step}{tag}"
        for unit, ns in _UNITS_NS:
            if self.step % ns == 0:
                n = self.step // ns
                return unit if n == 1 else f"{n}{unit}"
        return f"{self.step}ns"

    @property
    def named(self) -> str | int:
        """The alias, with what it means where few would know it (B)."""
        return f"{self.alias} (business days, Monday to Friday)" if self.kind == "bday" else self.alias

    @property
    def sub_daily(self) -> bool:
        """Rows less than a day apart: their midnight is a time of day like any other (2024-03-02 00:00)."""
        return self.kind == "fixed" and self.step < _DAY_NS

    @property
    def said(self) -> str:
        """The step as a message says it: 'frequency D', 'a step of 1' (whole-number times)."""
        return f"a step of {self.alias}" if self.kind == "integer" else f"frequency {self.named}"

    @classmethod
    def parse(cls, alias: str | int | None) -> Freq | None:
        """The Freq of a pandas offset alias or an integer step; None when it names none."""
        if alias is None:
            return None
        if isinstance(alias, int) or str(alias).lstrip("-").isdigit():
            return cls("integer", int(alias))
        m = re.fullmatch(r"(\d*)([A-Za-z]+)(?:-[A-Z]+)?", str(alias))
        if not m:
            return None
        n, unit = int(m.group(1) or 1), m.group(2)
        months = {
            "MS": (1, "start"),
            "ME": (1, "end"),
            "M": (1, "end"),
            "QS": (3, "start"),
            "QE": (3, "end"),
            "YS": (12, "start"),
            "YE": (12, "end"),
            "AS": (12, "start"),
            "A": (12, "end"),
        }
        if unit in months:
            k, anchor = months[unit]
            return cls("month", n * k, anchor)  # type: ignore[arg-type]
        if unit == "W":
            return cls("fixed", n * 7 * 86_400 * 10**9)
        if unit == "B":
            return cls("bday", n)
        for u, ns in _UNITS_NS + [("H", 3_600 * 10**9), ("T", 60 * 10**9), ("S", 10**9)]:
            if unit == u:
                return cls("fixed", n * ns)
        if unit == "ns":
            return cls("fixed", n)
        return None


# datetime64[ns], the time axis of seqcast (and pandas), holds 1677-09-21 00:12:43 to 2262-04-11 23:47:16;
# seqcast takes the whole days within (compared in microseconds, which reach far beyond)
FIRST_DATE = np.datetime64("1677-09-22", "us")
LAST_DATE = np.datetime64("2262-04-11", "us")
DATE_RANGE = "1677-09-22 to 2262-04-10"
# datetime64 arithmetic in explicit units: a bare integer (months + 1) is numpy's 'generic' unit, deprecated in 2.5
_ONE_MONTH, _ONE_DAY = np.timedelta64(1, "M"), np.timedelta64(1, "D")


def _month_end(months: np.ndarray) -> np.ndarray:
    """The last day (datetime64[D]) of each month of `months` (datetime64[M])."""
    return (months + _ONE_MONTH).astype("datetime64[D]") - _ONE_DAY


def _month_parts(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    months = times.astype("datetime64[M]")
    day = (times.astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    is_end = _month_end(months) == times.astype("datetime64[D]")
    tod = (times - times.astype("datetime64[D]")).astype(np.int64)
    return months.astype(np.int64), day, is_end, tod


def off_grid(times: np.ndarray, kind: TimeKind, freq: Freq | None, off: object, zoned: bool = False) -> tuple[str, str]:
    """(what, hint) of the irregular-timestamps error for rows `times` that `off` falls off freq's grid of: rows a
    calendar month or more apart on one day of the month other than the first or last (the 15th) are monthly, and
    the months' steps sit on month starts or ends, which a resample to MS gives."""
    step, utc = freq.alias if freq else "?", " UTC" if zoned else ""  # zoned times are read, and said, in UTC
    what = f"{fmt(off, kind)}{utc} does not fall on the series' step of {step} from {fmt(times[0], kind)}{utc}"
    example = f"{{freq: {freq.alias if freq else '1h'}, how: mean}}"
    hint = f"correct the row, or set data.resample (for example {example}) to bin the rows onto a regular grid"
    hours = np.unique(_day_and_time(times)[1]) if zoned and kind == "datetime" else np.zeros(1)
    if len(hours) == 2 and hours[1] - hours[0] == 3600 * 10**9 and freq is not None and freq.step >= _DAY_NS:
        hint = (
            "the rows are at one local time of day whose UTC offset changes with daylight saving (an hour apart in "
            "UTC): write the dates without their offsets (2024-03-31), which are read as the days they name"
        )
    if kind == "datetime" and len(times) > 1:
        months, day, is_end, tod = _month_parts(times)
        one_day = len(set(day.tolist())) == 1 and day[0] > 0 and not is_end.any()  # the 15th (not the 1st) of each
        if (tod == 0).all() and one_day and (np.diff(months) >= 1).all():
            every = int(Counter(np.diff(months).tolist()).most_common(1)[0][0])
            alias, period = {3: ("QS", "quarter"), 12: ("YS", "year")}.get(every, ("MS", "month"))
            what = (
                f"the rows fall on day {int(day[0]) + 1} of their months, and a monthly step is on the first or the "
                "last day of a month"
            )
            hint = f"set data.resample: {{freq: {alias}, how: last}} to date each row on the first day of its {period}"
    return what, hint


def infer_freq(times: np.ndarray, kind: TimeKind, prefer: Freq | None = None) -> Freq | None:
    """The most common step between rows; calendar months when days differ but dates sit on month starts/ends.

    `prefer` (a run's step, for its new rows) wins where the rows fit it: one row, or all on its grid with gaps
    (in its steps) of no common divisor above 1. So 00:00, 02:00 and 03:00 are hourly with a gap (not two-hourly
    by the first step, which a tie of the most common steps would give), and rows every two hours are not."""
    if prefer is not None and _fits(times, prefer):
        return prefer
    if kind != "datetime":
        if len(times) < 2:
            return Freq("integer", 1)
        return Freq("integer", int(Counter(np.diff(times).tolist()).most_common(1)[0][0]))
    if len(times) < 2:
        return None
    diffs = np.diff(times.astype(np.int64))
    common = Counter(diffs.tolist()).most_common(1)[0][0]
    if _DAY_NS <= common <= 3 * _DAY_NS and _business_days(times):
        return BUSINESS
    months, day, is_end, tod = _month_parts(times)
    if (tod == 0).all() and common >= 28 * 86_400 * 10**9:
        # most on a month's first or last day: monthly, the others (a typo's 1988-05-27) named off its grid
        start, end = float(np.mean(day == 0)), float(np.mean(is_end))
        anchor = "start" if start >= max(end, 0.8) else "end" if end >= 0.8 else ""
        if anchor:
            step = int(Counter(np.diff(months).tolist()).most_common(1)[0][0])
            if step > 0:
                return Freq("month", step, anchor)  # type: ignore[arg-type]
    return Freq("fixed", int(common)) if common > 0 else None


_DAY_NS = 86_400 * 10**9


def _day_and_time(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each time's date (datetime64[D]) and time of day (int64 ns)."""
    days = times.astype("datetime64[D]")
    return days, (times.astype("datetime64[ns]") - days.astype("datetime64[ns]")).astype(np.int64)


def _on_weekdays(times: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """(the dates, whether a weekend lies between the first and the last) of rows on weekdays only, at one time of
    day; None for any other rows."""
    days, tod = _day_and_time(times)
    if (tod != tod[0]).any() or not np.is_busday(days).all():
        return None
    return days, int(np.busday_count(days[0], days[-1])) < int((days[-1] - days[0]).astype(np.int64))


def _business_days(times: np.ndarray) -> bool:
    """Rows on weekdays only, at one time of day, whose span holds a weekend that no row falls on: business days
    (daily closes of a market), whose grid skips Saturdays and Sundays rather than counting them as gaps."""
    on = _on_weekdays(times)
    if on is None or not on[1]:  # not weekdays at one time, or no weekend between the first and the last: daily
        return False
    steps = np.diff(np.busday_count(on[0][0], on[0]))
    return int(Counter(steps.tolist()).most_common(1)[0][0]) == 1  # most rows one business day apart (not weekly)


BUSINESS = Freq("bday", 1)


def within_a_week(times: np.ndarray, freq: Freq | None) -> bool:
    """Daily rows on weekdays at one time of day with no weekend between the first and the last: their grid is the
    same at 1D and at B, so they take the step of the other series of their file (a listing in its first week)."""
    if freq != Freq("fixed", _DAY_NS) or len(times) < 2:
        return False
    on = _on_weekdays(times)
    return on is not None and not on[1]


def one_frequency(freqs: dict[Freq, str], either: dict[Freq, str], source: str) -> None:
    """Refuse series of two steps: one model, one frequency. A daily series on weekdays within one week (`either`)
    fits business days as well as days."""
    from seqcast.errors import DataError

    seen = list(freqs.items()) + [(f, n) for f, n in either.items() if freqs and not {*freqs} <= {f, BUSINESS}]
    if len(seen) > 1:
        (f1, n1), (f2, n2) = seen[:2]
        raise DataError(
            f"series {n1!r} has a step of {f1.named} but series {n2!r} a step of {f2.named}: one model, one "
            "frequency (the forecast's timestamps continue it)",
            where=source,
            hint="resample the series to one frequency, or train them in separate runs",
        )


def _fits(times: np.ndarray, freq: Freq) -> bool:
    """Do the rows lie on freq's grid from the first, a grid `grid` would build (not too large for the rows), with
    gaps whose steps have no common divisor above 1 (or one gap: Friday and Tuesday are business days)?"""
    if len(times) < 2:
        return True
    at = steps_from_first(times, freq)
    if at is None or at[-1] >= MAX_GRID_GROWTH * len(times) + 1000:  # off the grid, or a grid _check_grid_size refuses
        return False
    return len(at) == 2 or math.gcd(*np.diff(at).tolist()) == 1  # two rows: one gap, no frequency of their own


def steps_from_first(times: np.ndarray, freq: Freq) -> np.ndarray | None:
    """Each time's count of freq's steps from the first (int64), or None when one lies off freq's grid: where each
    row sits on the grid `grid` would build, without building it."""
    at, on = _on_grid(times, freq)
    return at if bool(on.all()) else None


def weekend_hint(time: np.datetime64, freq: Freq) -> str | None:
    """The hint for a row off a business-day grid on a Saturday or Sunday (a file with every calendar day)."""
    if freq.kind != "bday" or bool(np.is_busday(np.asarray(time).astype("datetime64[D]"))):
        return None
    return "the run's rows are business days, Monday to Friday: leave out the Saturday and Sunday rows"


def rows_off_grid(times: np.ndarray, freq: Freq) -> np.ndarray:
    """Which rows lie off freq's grid drawn from the first row (a Saturday among business days, 01:30 among
    hours)."""
    return ~_on_grid(times, freq)[1]


def _on_grid(times: np.ndarray, freq: Freq) -> tuple[np.ndarray, np.ndarray]:
    """(each time's count of freq's steps from the first, whether it lies on that grid)."""
    if freq.kind == "month":
        months = _month_parts(times)[0]
        apart, on = months - months[0], _months_to_times(months, freq.anchor) == times
    elif freq.kind == "bday":
        days, tod = _day_and_time(times)
        apart, on = np.busday_count(days[0], days).astype(np.int64), np.is_busday(days) & (tod == tod[0])
    else:
        apart, on = times.astype(np.int64) - np.int64(times[0].astype(np.int64)), np.True_
    at, off = np.divmod(apart, freq.step)
    return at, np.broadcast_to(on, at.shape) & (off == 0)


def _months_to_times(months: np.ndarray, anchor: str) -> np.ndarray:
    m = months.astype("datetime64[M]")
    days = m.astype("datetime64[D]") if anchor == "start" else _month_end(m)
    return days.astype("datetime64[ns]")


def grid(times: np.ndarray, freq: Freq | None) -> np.ndarray | None:
    """Every timestamp from the first to the last at `freq`; None when there is nothing to compare."""
    if freq is None or len(times) < 2:
        return None
    _check_grid_size(times, freq)
    if freq.kind == "integer":
        return np.arange(times[0], times[-1] + 1, freq.step, dtype=np.int64)
    if freq.kind == "month":
        m, *_ = _month_parts(times[[0, -1]])
        return _months_to_times(np.arange(m[0], m[1] + 1, freq.step), freq.anchor)
    if freq.kind == "bday":
        days, tod = _day_and_time(times[[0, -1]])
        count = int(np.busday_count(days[0], days[1])) // freq.step + 1
        return _bdays(days[0], tod[0], freq.step * np.arange(count, dtype=np.int64))
    t = times.astype(np.int64)
    # np.arange sizes its result in float64, which loses the last step of long ns spans (weekly data)
    count = (int(t[-1]) - int(t[0])) // freq.step + 1
    return (t[0] + freq.step * np.arange(count, dtype=np.int64)).astype("datetime64[ns]")


MAX_GRID_GROWTH = 100  # a regular grid may hold at most this many times the rows given (plus a margin)


def _check_grid_size(times: np.ndarray, freq: Freq) -> None:
    """Refuse a grid that would dwarf the data (wildly irregular timestamps) before allocating it."""
    if freq.kind == "month":
        m, *_ = _month_parts(times[[0, -1]])
        count = (int(m[1]) - int(m[0])) // freq.step + 1
    elif freq.kind == "bday":
        days, _ = _day_and_time(times[[0, -1]])
        count = int(np.busday_count(days[0], days[1])) // freq.step + 1
    else:
        count = (int(np.int64(times[-1])) - int(np.int64(times[0]))) // freq.step + 1
    if count > MAX_GRID_GROWTH * len(times) + 1000:
        from seqcast.errors import DataError

        kind: TimeKind = "integer" if freq.kind == "integer" else "datetime"
        raise DataError(
            f"irregular timestamps: at the most common step ({freq.alias}) the span from {fmt(times[0], kind)} "
            f"to {fmt(times[-1], kind)} would need {count:,} rows, but the series has {len(times):,}",
            hint="resample the file to a regular frequency first",
        )


def _bdays(day: np.datetime64, tod: np.int64 | int, offsets: np.ndarray) -> np.ndarray:
    """The business days `offsets` after `day` (a business day; a weekend day rolls back to its Friday), at `tod`."""
    found = np.busday_offset(day, offsets, roll="backward")
    return found.astype("datetime64[ns]") + np.timedelta64(int(tod), "ns")


def future(last: np.generic | int, freq: Freq, steps: int) -> np.ndarray:
    """The `steps` timestamps after `last`. Raises ValueError when the last would not fit the time axis."""
    k = np.arange(1, steps + 1, dtype=np.int64)
    if freq.kind == "integer":
        if abs(int(last) + freq.step * steps) >= 2**63:  # type: ignore[call-overload]
            raise ValueError(f"the time values would pass {2**63 - 1}, the largest seqcast can hold")
        return np.int64(last) + freq.step * k
    t = np.datetime64(last, "ns")  # type: ignore[call-overload]
    if freq.kind == "month":
        m, *_ = _month_parts(np.array([t]))
        end = int(m[0]) + freq.step * steps  # the last month, counted from 1970-01
        after = freq.anchor == "end"  # a month's end: the day before the next month's first
        month = np.datetime64(end + after, "M").astype("datetime64[D]") - _ONE_DAY * after
        if month >= LAST_DATE.astype("datetime64[D]"):  # (in days: nanoseconds would wrap)
            raise ValueError(f"the timestamps would run past {DATE_RANGE[-10:]}, the last date seqcast can hold")
        return _months_to_times(m[0] + freq.step * k, freq.anchor)
    if freq.kind == "bday":
        days, tod = _day_and_time(np.array([t]))
        if np.busday_offset(days[0], freq.step * steps, roll="backward") >= LAST_DATE.astype("datetime64[D]"):
            raise ValueError(f"the timestamps would run past {DATE_RANGE[-10:]}, the last date seqcast can hold")
        return _bdays(days[0], tod[0], freq.step * k)
    if int(t.astype(np.int64)) + freq.step * steps >= int(LAST_DATE.astype("datetime64[ns]").astype(np.int64)):
        raise ValueError(f"the timestamps would run past {DATE_RANGE[-10:]}, the last date seqcast can hold")
    return t + (freq.step * k).astype("timedelta64[ns]")


def clock_hint(times: np.ndarray, zoned: bool, series: np.ndarray) -> str | None:
    """The hint for the missing or repeated `times` of a sub-daily `series` (datetime64[ns], read without UTC
    offsets) when they all fall within an hour after midnight-to-04:00 of a Sunday on which clocks change somewhere
    (the last Sunday of March, September or October; the second of March; the first of April, October or
    November); else None."""
    if series.dtype.kind == "i" and len(series) > 1 and yyyymm(series):
        return (
            "the times look like years and months written as one number (198001 for January 1980): give "
            "data.time_format: '%Y%m' to read them as months"
        )
    if series.dtype.kind == "i" and len(series) > 1 and yyyymmdd(series):
        return (
            "the times look like dates written as one number (20240120 for 2024-01-20): give data.time_format: "
            "'%Y%m%d' to read them as dates"
        )
    if zoned or not len(times) or times.dtype.kind != "M" or len(series) < 2:
        return None
    if np.median(np.diff(series.astype(np.int64))) >= _DAY_NS:  # daily or slower: no hour to skip
        return None
    t = times.astype("datetime64[m]")
    days = t.astype("datetime64[D]")
    minutes = (t - days).astype(np.int64)
    month_start = days.astype("datetime64[M]")
    dom = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    length = ((month_start + _ONE_MONTH).astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(np.int64)
    month = month_start.astype(np.int64) % 12 + 1
    last, second, first = dom + 7 > length, (dom >= 8) & (dom <= 14), dom <= 7
    change = (np.isin(month, [3, 9, 10]) & last) | ((month == 3) & second) | (np.isin(month, [4, 10, 11]) & first)
    sunday = days.astype(np.int64) % 7 == 3  # 1970-01-01 was a Thursday
    one_hour = all(np.ptp(minutes[days == d]) < 60 for d in np.unique(days))  # a skipped or repeated hour, no more
    if not (one_hour and (sunday & change & (minutes < 4 * 60)).all()):
        return None
    return (
        "these look like local clock times around a daylight-saving change (a Sunday night in spring or autumn, "
        "when an hour is skipped or repeated): write the times with their UTC offsets (2024-03-31T03:00:00+02:00), "
        "or in UTC"
    )


def yyyymm(times: np.ndarray) -> bool:
    """Whole numbers that are all a year and a month written as one (198001 to 202412)."""
    year, month = np.divmod(times, 100)
    return bool(((year >= 1000) & (year <= 9999) & (month >= 1) & (month <= 12)).all())


def yyyymmdd(times: np.ndarray) -> bool:
    """Whole numbers that are all a date written as one (20240120), each a day its month has."""
    rest, day = np.divmod(times, 100)
    year, month = np.divmod(rest, 100)
    if not ((year >= 1000) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1)).all():
        return False
    start = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    return bool(((start.astype("datetime64[D]") + (day - 1)).astype("datetime64[M]") == start).all())


def fmt(t: object, kind: TimeKind, fine: bool = False) -> str:
    """A timestamp as people write it: 2024-03-01 13:00, 2024-03-01, or 1871; `fine` (rows less than a day apart,
    Freq.sub_daily): midnight as 2024-03-02 00:00, so that a column of times does not mix the two."""
    if kind != "datetime":
        return str(int(t))  # type: ignore[call-overload]
    own = np.datetime64(t)  # type: ignore[call-overload]  # in its own unit: a day of year 3000 fits no ns
    sec = own.astype("datetime64[s]")
    if own != sec:  # a fraction of a second (a step of 100ms): 2024-03-01 13:00:03.9
        return str(own).replace("T", " ").rstrip("0")
    s = str(sec).replace("T", " ")
    if s.endswith(" 00:00:00") and not fine:
        return s[:-9]
    return s[:-3] if s.endswith(":00") else s


def same(t: object, kind: TimeKind, written: str) -> bool:
    """Whether `written` (preprocess.json's first or last) is the timestamp t, in either form fmt gives it: runs
    trained by earlier versions wrote an hourly series' midnight without its hour (2024-03-01, not 2024-03-01 00:00)."""
    return written in (fmt(t, kind), fmt(t, kind, fine=True))


def not_in(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values of sorted, distinct `a` that sorted `b` lacks: np.setdiff1d in one pass (numpy 2.4's hashes)."""
    if not len(b):
        return a
    return a[b[np.searchsorted(b, a).clip(max=len(b) - 1)] != a]
