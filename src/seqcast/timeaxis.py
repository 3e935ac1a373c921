"""Time axes without pandas: parse timestamps, infer the frequency, make regular grids and future steps.

window-preview must answer in well under a second, and importing pandas alone costs ~0.7 s here,
so the common cases (integers such as years, ISO dates, fixed steps, month starts and ends) are
handled with numpy; anything else falls back to pandas.
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
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


@dataclass(frozen=True)
class Freq:
    """The step between rows: a fixed number of ns, a number of months (start- or end-anchored), or an integer."""

    kind: Literal["fixed", "month", "integer"]
    step: int  # ns, months or integer units
    anchor: Literal["start", "end", ""] = ""

    @property
    def alias(self) -> str | int:
        """A pandas offset alias (or the integer step) naming this frequency."""
        if self.kind == "integer":
            return self.step
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


class TimeValueError(ValueError):
    """A time value that cannot be read: args = (index of the value, why)."""

    def __init__(self, index: int, why: str = "is not a date or an integer") -> None:
        super().__init__(index, why)
        self.index, self.why = index, why


def parse_times(raw: np.ndarray) -> tuple[np.ndarray, TimeKind]:
    """(times, kind): int64 for whole numbers such as years, datetime64[ns] for dates. Raises TimeValueError."""
    times, kind, _, _ = parse_zoned_times(raw)
    return times, kind


def parse_zoned_times(raw: np.ndarray, fmt: str | None = None) -> tuple[np.ndarray, TimeKind, bool, str | None]:
    """parse_times, whether the dates carry UTC offsets (2024-03-01T05:00+05:00, ...Z): those are converted
    to UTC, every row of the column then needing one (the first row's format), and the strftime format the dates
    were read in (None: whole numbers or ISO dates). `fmt` (data.time_format): read every value in it."""
    text = np.asarray(raw).astype(str)
    if fmt is not None:
        times, used = _parse_with_pandas(text, fmt)
        return times, "datetime", "%z" in used, used
    try:
        return text.astype(np.int64), "integer", False, None
    except ValueError:
        pass
    except OverflowError:  # a whole number beyond int64: which one, and say so
        too_big = [k for k, v in enumerate(text.tolist()) if v.lstrip("+-").isdigit() and abs(int(v)) >= 2**63]
        raise TimeValueError(too_big[0], "is too large for a time value (at most 19 digits)") from None
    try:
        f = text.astype(np.float64)
    except ValueError:
        pass
    else:  # numbers, never dates: pandas would read 1871.5 as May 1871
        whole = np.isfinite(f) & (f % 1 == 0)
        if not whole.all():
            raise TimeValueError(int(np.flatnonzero(~whole)[0]))
        big = np.flatnonzero(np.abs(f) >= 2.0**63)
        if len(big):
            raise TimeValueError(int(big[0]), "is too large for a time value (at most 19 digits)")
        return f.astype(np.int64), "integer", False, None
    try:
        wide, zoned = _numpy_dates(text)  # microseconds reach far past the ns range: checked below
    except ValueError:
        quarters = _quarters(text)  # months, as wide as numpy's dates: the range is checked below
        if quarters is None:
            times, used = _parse_with_pandas(text)
            return times, "datetime", "%z" in used, used
        wide, zoned = quarters, False
    if zoned:  # then every row must have one: a row without would be read as UTC, shifted by the offset
        has = _has_offset(text)
        if not has.all():
            raise _offset_mismatch(int(np.flatnonzero(has != has[0])[0]), bool(has[0]))
    missing = np.flatnonzero(np.isnat(wide))  # numpy reads "" and "NaT" as NaT: a missing timestamp
    if len(missing):
        raise TimeValueError(int(missing[0]))
    outside = np.flatnonzero((wide < FIRST_DATE) | (wide >= LAST_DATE))
    if len(outside):
        raise TimeValueError(int(outside[0]), f"is outside the dates seqcast can hold ({DATE_RANGE})")
    return wide.astype("datetime64[ns]"), "datetime", zoned, None


def _numpy_dates(text: np.ndarray) -> tuple[np.ndarray, bool]:
    """numpy's reading of ISO dates as datetime64[us], and whether it met UTC offsets (it converts those to UTC,
    warning once per value: the first warning tells, a second reading ignores them). Raises ValueError."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*timezone", category=UserWarning)
        try:
            return np.array(text, dtype="datetime64[us]"), False
        except UserWarning:
            pass
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*timezone", category=UserWarning)
        return np.array(text, dtype="datetime64[us]"), True


def _has_offset(text: np.ndarray) -> np.ndarray:
    """Which values end in a UTC offset: Z, or a sign past the date (past the 10th character) 3, 5 or 6 characters
    from the end (+hh, +hhmm, +hh:mm)."""
    sign = np.maximum(np.char.rfind(text, "+"), np.char.rfind(text, "-"))
    return np.char.endswith(text, "Z") | ((sign > 10) & np.isin(np.char.str_len(text) - sign, (3, 5, 6)))


def _guess(text: str, dayfirst: bool = False) -> str | None:
    """pandas' guess of the strftime format of one date, without the warning it gives for a day-first guess."""
    import warnings

    from pandas.tseries.api import guess_datetime_format

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return guess_datetime_format(text, dayfirst=dayfirst)


def _offset_mismatch(k: int, first_has: bool) -> TimeValueError:
    """Value k has a UTC offset where the first row has none, or the other way."""
    first, this = ("one", "no") if first_has else ("none", "a")
    return TimeValueError(k, f"has {this} UTC offset, and the first row has {first}")


def _read_as(text: np.ndarray, fmt: str) -> tuple[np.ndarray | None, int]:
    """(datetime64[ns] times, -1) when every value reads in fmt (offsets converted to UTC), else (None, the index
    of the first value that does not)."""
    import pandas as pd

    try:
        parsed = pd.to_datetime(pd.Series(text), errors="coerce", format=fmt, utc=True).dt.tz_localize(None)
    except (ValueError, OverflowError):
        return None, 0
    bad = np.flatnonzero(parsed.isna().to_numpy())
    return (None, int(bad[0])) if len(bad) else (parsed.to_numpy(dtype="datetime64[ns]"), -1)


def _regularity(times: np.ndarray) -> float:
    """The share of steps between the distinct sorted times that are one step of their frequency (infer_freq)."""
    t = np.unique(times)
    freq = infer_freq(t, "datetime") if len(t) > 1 else None
    at = steps_from_first(t, freq) if freq is not None else None
    return float(np.mean(np.diff(at) == 1)) if at is not None else 0.0


_QUARTER = re.compile(r"\s*(?:(\d{4})\s*[-/ ]?\s*[Qq]([1-4])|[Qq]([1-4])\s*[-/ ]?\s*(\d{4}))\s*")
_MONTH_NAMES = ("%b %Y", "%B %Y", "%Y %b", "%Y %B", "%b-%Y", "%B-%Y", "%Y-%b")  # Jan 1956: pandas guesses none


def _quarters(text: np.ndarray) -> np.ndarray | None:
    """Quarters such as 1956 Q1, 1956Q1, 1956-Q1 or Q1 1956 (R's and statsmodels' labels) as their first months,
    datetime64[M]; None when the first value is not one."""
    if _QUARTER.fullmatch(str(text[0])) is None:
        return None
    months = np.empty(len(text), "datetime64[M]")
    for k, v in enumerate(text.tolist()):
        m = _QUARTER.fullmatch(v)
        if m is None:
            raise TimeValueError(k, "is not a quarter like the first row's (such as 1956 Q1)")
        year, q = (int(m[1]), int(m[2])) if m[1] else (int(m[4]), int(m[3]))
        months[k] = np.datetime64(f"{year}-{3 * q - 2:02d}")
    return months


def _candidate_formats(first: str) -> list[str]:
    """The formats a date column whose first value is `first` may be in: pandas' guess, and its day-first guess
    where that differs and the year does not come first (2024-01-02 is year-month-day everywhere); a month and
    a year (Jan 1956, January 1956, 1956 Jan), which pandas does not guess."""
    month, day = _guess(first), _guess(first, dayfirst=True)
    if month is None:
        return [f for f in _MONTH_NAMES if _read_as(np.array([first]), f)[0] is not None][:1]
    return [month] if day is None or day == month or month.startswith("%Y") else [month, day]


def _parse_with_pandas(text: np.ndarray, given: str | None = None) -> tuple[np.ndarray, str]:
    """Dates numpy cannot read (month names, day-first or month-first, time zones), all in one format: (times,
    the format).

    The format is `given` (data.time_format), else the one pandas guesses from the first value, month-first
    (01.02.2020 as January 2) or day-first (February 1). When only one reads every value it is that one
    (13.01.2020 further down makes the column day-first); when both do, the one whose rows are more regularly
    spaced (monthly rows on the 1st read month-first would jump from January 12 to the next year), and on a tie
    day-first for dates with dots (dd.mm.yyyy, the usage wherever dots separate dates), else pandas' month-first.
    A column that mixes formats is refused at the first value that does not fit, rather than read two ways
    (05/01/2021 as May in one row, January in another).
    """
    import pandas as pd

    formats = [given] if given is not None else _candidate_formats(str(text[0]))
    if not formats:
        raise TimeValueError(0)
    # pandas wraps a year outside its nanosecond range around (01/06/1650 read as 2234): check the years first
    years = pd.to_numeric(pd.Series(text).str.extract(r"(?<!\d)(\d{4})(?!\d)")[0], errors="coerce").to_numpy()
    outside = np.flatnonzero((years < 1678) | (years > 2261))
    if len(outside):
        raise TimeValueError(int(outside[0]), f"is outside the dates seqcast can hold ({DATE_RANGE})")
    readings, first_bad = {}, 0
    for k, f in enumerate(formats):
        times, bad = _read_as(text, f)
        if times is not None:
            readings[f] = times
        elif k == 0:
            first_bad = bad
    if len(readings) == 2:
        month, day = formats
        a, b = _regularity(readings[month]), _regularity(readings[day])
        pick = day if b > a or (a == b and "." in day) else month
        return readings[pick], pick
    if readings:
        return next(iter(readings.items()))[::-1]
    k = first_bad
    alone = pd.to_datetime(pd.Series(text[k : k + 1]), errors="coerce", format="mixed", utc=True)
    if alone.notna().all():
        zoned = ["%z" in (_guess(str(v)) or "") for v in (text[0], text[k])]
        if given is None and zoned[0] != zoned[1]:
            raise _offset_mismatch(k, zoned[0])
        if given is not None:
            raise TimeValueError(k, f"does not follow data.time_format {given!r}")
        also = f", nor day-first {formats[1]}" if len(formats) > 1 else ""
        raise TimeValueError(k, f"does not follow the date format of the first row ({formats[0]}{also})")
    raise TimeValueError(k)


def _month_parts(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    months = times.astype("datetime64[M]")
    day = (times.astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    is_end = (months + 1).astype("datetime64[D]") - 1 == times.astype("datetime64[D]")
    tod = (times - times.astype("datetime64[D]")).astype(np.int64)
    return months.astype(np.int64), day, is_end, tod


def off_grid(times: np.ndarray, kind: TimeKind, freq: Freq | None, off: object) -> tuple[str, str]:
    """(what, hint) of the irregular-timestamps error for rows `times` that `off` falls off freq's grid of: rows a
    calendar month or more apart on one day of the month other than the first or last (the 15th) are monthly, and
    the months' steps sit on month starts or ends, which a resample to MS gives."""
    step = freq.alias if freq else "?"
    what = f"{fmt(off, kind)} does not fall on the series' step of {step} from {fmt(times[0], kind)}"
    hint = "set data.resample (for example {freq: 1h, how: mean}) to bin the rows onto a regular grid"
    if kind == "datetime" and len(times) > 1:
        months, day, is_end, tod = _month_parts(times)
        if (tod == 0).all() and len(set(day.tolist())) == 1 and not is_end.any() and (np.diff(months) >= 1).all():
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
    months, day, is_end, tod = _month_parts(times)
    if (tod == 0).all() and common >= 28 * 86_400 * 10**9:
        anchor = "start" if (day == 0).all() else "end" if is_end.all() else ""
        if anchor:
            step = int(Counter(np.diff(months).tolist()).most_common(1)[0][0])
            if step > 0:
                return Freq("month", step, anchor)  # type: ignore[arg-type]
    return Freq("fixed", int(common)) if common > 0 else None


def _fits(times: np.ndarray, freq: Freq) -> bool:
    """Do the rows lie on freq's grid from the first, a grid `grid` would build (not too large for the rows), with
    gaps whose steps have no common divisor above 1?"""
    if len(times) < 2:
        return True
    at = steps_from_first(times, freq)
    if at is None or at[-1] >= MAX_GRID_GROWTH * len(times) + 1000:  # off the grid, or a grid _check_grid_size refuses
        return False
    return math.gcd(*np.diff(at).tolist()) == 1


def steps_from_first(times: np.ndarray, freq: Freq) -> np.ndarray | None:
    """Each time's count of freq's steps from the first (int64), or None when one lies off freq's grid: where each
    row sits on the grid `grid` would build, without building it."""
    if freq.kind == "month":
        months = _month_parts(times)[0]
        apart, on = months - months[0], _months_to_times(months, freq.anchor) == times
    else:
        apart, on = times.astype(np.int64) - np.int64(times[0].astype(np.int64)), np.True_
    at, off = np.divmod(apart, freq.step)
    return at if bool(np.all(on)) and not off.any() else None


def _months_to_times(months: np.ndarray, anchor: str) -> np.ndarray:
    m = months.astype("datetime64[M]")
    days = m.astype("datetime64[D]") if anchor == "start" else (m + 1).astype("datetime64[D]") - 1
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
        month = np.datetime64(end + (freq.anchor == "end"), "M").astype("datetime64[D]") - (freq.anchor == "end")
        if month >= LAST_DATE.astype("datetime64[D]"):  # (in days: nanoseconds would wrap)
            raise ValueError(f"the timestamps would run past {DATE_RANGE[-10:]}, the last date seqcast can hold")
        return _months_to_times(m[0] + freq.step * k, freq.anchor)
    if int(t.astype(np.int64)) + freq.step * steps >= int(LAST_DATE.astype("datetime64[ns]").astype(np.int64)):
        raise ValueError(f"the timestamps would run past {DATE_RANGE[-10:]}, the last date seqcast can hold")
    return t + (freq.step * k).astype("timedelta64[ns]")


def fmt(t: object, kind: TimeKind) -> str:
    """A timestamp as people write it: 2024-03-01 13:00, 2024-03-01, or 1871."""
    if kind != "datetime":
        return str(int(t))  # type: ignore[call-overload]
    s = str(np.datetime64(t, "s")).replace("T", " ")  # type: ignore[call-overload]
    if s.endswith(" 00:00:00"):
        return s[:-9]
    return s[:-3] if s.endswith(":00") else s
