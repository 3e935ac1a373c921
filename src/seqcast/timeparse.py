"""Reading a time column without pandas where numpy can: integers such as years, ISO dates with or without UTC
offsets; quarters (1990 Q1) and month names (Jan 1956); anything else through pandas, with the format it guessed.

window-preview must answer in well under a second, and importing pandas alone costs ~0.7 s here, so pandas is
imported only for the forms numpy cannot read. The frequency, grids and future steps are timeaxis'.
"""

from __future__ import annotations

import re

import numpy as np

from seqcast import timeaxis
from seqcast.timeaxis import DATE_RANGE, FIRST_DATE, LAST_DATE, Freq, TimeKind, infer_freq, steps_from_first

NOT_A_TIME = "is not a date or an integer"  # why, when no other reason is known (data.py hints data.time_format)


Follow = tuple[Freq, "np.datetime64 | None"]  # a run's step and last time, which its new rows follow


class TimeValueError(ValueError):
    """A time value that cannot be read: args = (index of the value, why)."""

    def __init__(self, index: int, why: str = NOT_A_TIME) -> None:
        super().__init__(index, why)
        self.index, self.why = index, why


def parse_times(raw: np.ndarray) -> tuple[np.ndarray, TimeKind]:
    """(times, kind): int64 for whole numbers such as years, datetime64[ns] for dates. Raises TimeValueError."""
    times, kind, _, _ = parse_zoned_times(raw)
    return times, kind


def parse_zoned_times(
    raw: np.ndarray, fmt: str | None = None, said: list[str] | None = None, follow: Follow | None = None
) -> tuple[np.ndarray, TimeKind, bool, str | None]:
    """parse_times, whether the dates carry UTC offsets (2024-03-01T05:00+05:00, ...Z): those are converted
    to UTC, every row of the column then needing one (the first row's format), and the strftime format the dates
    were read in (None: whole numbers or ISO dates). `fmt` (data.time_format): read every value in it, or
    every value as an ISO date (2021-02-06, 2021-02-06 13:00). `said` gets a note when the guessed format was one
    of two that read every value (01/02/2020 to 12/02/2020: day-first or month-first); `follow`, a run's step and
    last time, picks the reading of two that follows them (a run's new rows: 01/07/2009 to 01/12/2009 are monthly
    day-first, as is one row of 01/07/2009 after 2009-06-01)."""
    text = np.asarray(raw).astype(str)
    if fmt is not None:
        try:
            times, used = _parse_with_pandas(text, fmt)
            return times, "datetime", "%z" in used, used
        except TimeValueError:  # ISO dates, as forecast writes them, are read in any run: they read one way only
            if not all(map(_ISO.match, text.tolist())):
                raise
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
            times, used = _parse_with_pandas(text, said=said, follow=follow)
            return times, "datetime", "%z" in used, used
        wide, zoned = quarters, False
    missing = np.flatnonzero(np.isnat(wide))  # numpy reads "" and "NaT" as NaT: a missing timestamp, which has no
    if len(missing):  # UTC offset either (said as missing, not as an offset that differs)
        raise TimeValueError(int(missing[0]))
    if zoned:  # then every row must have one: a row without would be read as UTC, shifted by the offset
        has = _has_offset(np.char.strip(text))
        zoned = bool(has.any())  # numpy warns of a zone at a trailing space or tab too ("2024-01-02 05:00 "): none
        if zoned and not has.all():
            raise _offset_mismatch(int(np.flatnonzero(has != has[0])[0]), bool(has[0]))
    outside = np.flatnonzero((wide < FIRST_DATE) | (wide >= LAST_DATE))
    if len(outside):
        raise TimeValueError(int(outside[0]), f"is outside the dates seqcast can hold ({DATE_RANGE})")
    return wide.astype("datetime64[ns]"), "datetime", zoned, None


def not_iso(times: np.ndarray, fmt: str | None) -> int:
    """1 + the row of `times` (a later part of a file or folder, read in `fmt`) that is not an ISO date, when fmt
    is a guessed format other than ISO's own (01/02/2024: the first part's ISO dates read one way only, and this
    part's are not to be guessed apart from them); else 0 (2024-2-5 reads as %Y-%m-%d)."""
    if fmt is None or fmt.startswith("%Y-%m-%d"):
        return 0
    return next((k + 1 for k, v in enumerate(times.tolist()) if not _ISO.match(str(v).strip())), 0)


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
        warnings.simplefilter("ignore", FutureWarning)  # a zone's name (CET): its deprecation, one per value
        return guess_datetime_format(text, dayfirst=dayfirst)


def _offset_mismatch(k: int, first_has: bool) -> TimeValueError:
    """Value k has a UTC offset where the first row has none, or the other way."""
    first, this = ("one", "no") if first_has else ("none", "a")
    return TimeValueError(k, f"has {this} UTC offset, and the first row has {first}")


def _read_as(text: np.ndarray, fmt: str) -> tuple[np.ndarray | None, int]:
    """(datetime64[ns] times, -1) when every value reads in fmt (offsets converted to UTC), else (None, the index
    of the first value that does not)."""
    import warnings

    import pandas as pd

    try:
        with warnings.catch_warnings():  # pandas' deprecation of zone names (2024-03-10 00:00:00 CET): not ours
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(pd.Series(text), errors="coerce", format=fmt, utc=True).dt.tz_localize(None)
    except (ValueError, OverflowError):
        return None, 0
    bad = np.flatnonzero(parsed.isna().to_numpy())
    return (None, int(bad[0])) if len(bad) else (parsed.to_numpy(dtype="datetime64[ns]"), -1)


def _regularity(times: np.ndarray, step: Freq | None = None) -> float:
    """The share of steps between the distinct sorted times that are one step of `step`, else of their frequency
    (infer_freq); 0 for one time."""
    t = np.unique(times)
    freq = step or (infer_freq(t, "datetime") if len(t) > 1 else None)
    at = steps_from_first(t, freq) if freq is not None and len(t) > 1 else None
    return float(np.mean(np.diff(at) == 1)) if at is not None else 0.0


def _fit(times: np.ndarray, step: Freq, near: np.datetime64 | None) -> tuple[float, float, float]:
    """How well one reading of a run's new rows follows the run (higher is better, in this order): the share of
    its times on the step's grid (a monthly run's are on the 1st), of its steps one step long, and its nearness to
    the run's last row (one row of 01/07/2022 after 2022-06-30 is July 1, not January 7)."""
    t = np.unique(times)
    near_ns = -float(np.abs(t - near).min().astype(np.int64)) if near is not None else 0.0
    return float(np.mean(~timeaxis.rows_off_grid(t, step))), _regularity(t, step), near_ns


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
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


def _parse_with_pandas(
    text: np.ndarray, given: str | None = None, said: list[str] | None = None, follow: Follow | None = None
) -> tuple[np.ndarray, str]:
    """Dates numpy cannot read (month names, day-first or month-first, time zones), all in one format: (times,
    the format).

    The format is `given` (data.time_format), else the one pandas guesses from the first value, month-first
    (01.02.2020 as January 2) or day-first (February 1). When only one reads every value it is that one
    (13.01.2020 further down makes the column day-first); when both do, the one whose rows are more regularly
    spaced (monthly rows on the 1st read month-first would jump from January 12 to the next year), first at
    `follow`, the run's step and last time, when given (_fit: a run's new rows, too few to show their own
    frequency), and on a tie
    day-first for dates with dots (dd.mm.yyyy, the usage wherever dots separate dates), else pandas' month-first.
    A column that mixes formats is refused at the first value that does not fit, rather than read two ways
    (05/01/2021 as May in one row, January in another).
    """
    import warnings

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
        fits = [_fit(readings[f], *follow) for f in formats] if follow else [(0.0,) * 3] * 2
        if fits[0] == fits[1]:
            fits = [(_regularity(readings[f]),) * 3 for f in formats]
        pick = day if fits[1] > fits[0] or (fits[0] == fits[1] and "." in day) else month
        if said is not None:  # both read every value: the guess is said, with the format that takes the other
            other, how = (month, "day-first") if pick == day else (day, "month-first")
            said.append(
                f"dates such as {str(text[0])!r} read both day-first and month-first: read {how} ({pick}); "
                f"data.time_format: '{other}' reads them the other way"
            )
        return readings[pick], pick
    if readings:
        return next(iter(readings.items()))[::-1]
    k = first_bad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
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
