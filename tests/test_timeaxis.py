"""Time axes: parsing timestamps (timeparse), inferring frequencies, regular grids, future steps, formatting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqcast.timeaxis import Freq, fmt, future, grid, infer_freq, not_in
from seqcast.timeparse import TimeValueError, parse_times, parse_zoned_times

H = 3_600 * 10**9
DAY = 24 * H


def dt(*texts: str) -> np.ndarray:
    return np.array(texts, dtype="datetime64[ns]")


def days(times: np.ndarray) -> list[str]:
    return times.astype("datetime64[D]").astype(str).tolist()


# ---------------------------------------------------------------- parse_times


def test_parse_integers_and_whole_floats() -> None:
    times, kind = parse_times(np.array(["1871", "1872", "1873"], dtype=object))
    assert kind == "integer" and times.dtype == np.int64 and times.tolist() == [1871, 1872, 1873]
    times, kind = parse_times(np.array(["1871.0", "1872"], dtype=object))
    assert kind == "integer" and times.tolist() == [1871, 1872]


def test_parse_iso_dates() -> None:
    times, kind = parse_times(np.array(["2024-03-01 13:00:00", "2024-03-01T14:00"], dtype=object))
    assert kind == "datetime" and times.dtype == np.dtype("datetime64[ns]")
    assert times.tolist() == dt("2024-03-01T13:00", "2024-03-01T14:00").tolist()


@pytest.mark.filterwarnings("error")  # numpy's own reading of an offset warns: it must not reach the user
@pytest.mark.parametrize(
    ("texts", "utc"),
    [
        (["2024-03-01 05:00:00+05:00", "2024-03-01 06:00:00+05:00"], ["2024-03-01T00:00", "2024-03-01T01:00"]),
        (["2024-03-01T00:00:00Z", "2024-03-01T01:00:00Z"], ["2024-03-01T00:00", "2024-03-01T01:00"]),
        (["2024-03-31 01:00+01:00", "2024-03-31 03:00+02:00"], ["2024-03-31T00:00", "2024-03-31T01:00"]),  # DST
        (["1 Mar 2024 00:00 +0100", "1 Mar 2024 01:00 +0100"], ["2024-02-29T23:00", "2024-03-01T00:00"]),
        (["2024-03-01T05:00+0500", "2024-03-01T06:00-0130"], ["2024-03-01T00:00", "2024-03-01T07:30"]),  # +hhmm
        (["2024-03-01T05:00+05", "2024-03-01T06:00+05"], ["2024-03-01T00:00", "2024-03-01T01:00"]),  # +hh
    ],
)
def test_times_with_utc_offsets_are_read_as_utc(texts: list[str], utc: list[str]) -> None:
    times, kind, zoned, _ = parse_zoned_times(np.array(texts, dtype=object))
    assert kind == "datetime" and zoned
    assert times.tolist() == dt(*utc).tolist()
    assert parse_zoned_times(np.array(["2024-03-01 05:00"], dtype=object))[2] is False


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("texts", "why"),
    [
        (["2024-03-01T00:00:00", "2024-03-01T01:00:00Z"], "has a UTC offset, and the first row has none"),
        (["2024-03-01T00:00:00+01:00", "2024-03-01T01:00:00"], "has no UTC offset, and the first row has one"),
    ],
)
def test_a_column_mixing_times_with_and_without_offsets_is_refused_at_the_row(texts: list[str], why: str) -> None:
    with pytest.raises(TimeValueError) as caught:
        parse_zoned_times(np.array([texts[0], texts[0], texts[1]], dtype=object))
    assert (caught.value.index, caught.value.why) == (2, why)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("pad", [" ", "\t", "  \t"])
def test_a_space_or_tab_after_a_time_is_not_a_utc_offset(pad: str) -> None:
    # numpy warns of a time zone at a trailing space or tab: such a column has no offsets, whichever row has one
    texts = ["2024-01-02 04:00:00", f"2024-01-02 05:00:00{pad}", "2024-01-02 06:00:00"]
    times, kind, zoned, _ = parse_zoned_times(np.array(texts, dtype=object))
    assert kind == "datetime" and zoned is False
    assert times.tolist() == dt("2024-01-02T04:00", "2024-01-02T05:00", "2024-01-02T06:00").tolist()
    texts = ["2024-03-01T05:00+05:00", f"2024-03-01T06:00+05:00{pad}"]  # an offset before the space still counts
    times, _, zoned, _ = parse_zoned_times(np.array(texts, dtype=object))
    assert zoned is True and times.tolist() == dt("2024-03-01T00:00", "2024-03-01T01:00").tolist()


def test_parse_other_date_formats_through_pandas() -> None:
    times, kind = parse_times(np.array(["1 Mar 2024", "2 Mar 2024"], dtype=object))
    assert kind == "datetime"
    assert days(times) == ["2024-03-01", "2024-03-02"]


@pytest.mark.parametrize(
    ("values", "index", "why"),
    [
        (["1650-01-01", "1651-01-01"], 0, "is outside the dates seqcast can hold (1677-09-22 to 2262-04-10)"),
        (["2262-04-09", "2262-04-10", "2262-04-11"], 2, "is outside the dates"),
        (["01/05/2021", "01/06/1650"], 1, "is outside the dates seqcast can hold"),  # pandas would wrap it to 2234
        (["2021-01-05", "05/01/2021"], 1, "does not follow the date format of the first row (%Y-%m-%d)"),
        (
            ["05/01/2021", "2021-01-05"],
            1,
            "does not follow the date format of the first row (%m/%d/%Y, nor day-first %d/%m/%Y)",
        ),
        (["2020", "99999999999999999999"], 1, "is too large for a time value"),
        (["2020", "1e30"], 1, "is too large for a time value"),
    ],
    ids=["before 1677", "after 2262", "before 1677, US format", "ISO then US", "US then ISO", "int64", "float"],
)
def test_times_outside_the_axis_or_in_mixed_formats_are_refused(values: list[str], index: int, why: str) -> None:
    with pytest.raises(TimeValueError) as err:
        parse_times(np.array(values, dtype=object))
    assert err.value.index == index and err.value.why.startswith(why)


@pytest.mark.filterwarnings("error")  # pandas warns of a day-first guess: it must not reach the user
@pytest.mark.parametrize(
    ("texts", "want", "fmt_read"),
    [
        # day-first, told by a day past 12 further down
        (["01.01.2020", "02.01.2020", "13.01.2020"], ["2020-01-01", "2020-01-02", "2020-01-13"], "%d.%m.%Y"),
        (["12/01/2020", "13/01/2020"], ["2020-01-12", "2020-01-13"], "%d/%m/%Y"),
        # monthly on the 1st: month-first reads every value too, as January 2, 3, ... and a jump to the next year
        ([f"01/{m:02d}/{y}" for y in (2020, 2021) for m in range(1, 13)], None, "%d/%m/%Y"),
        (["01/02/2020", "01/03/2020"], ["2020-01-02", "2020-01-03"], "%m/%d/%Y"),  # a tie: pandas' month-first
        (["01.02.2020", "01.03.2020"], ["2020-02-01", "2020-03-01"], "%d.%m.%Y"),  # a tie with dots: day-first
        (["01/13/2020", "01/14/2020"], ["2020-01-13", "2020-01-14"], "%m/%d/%Y"),  # month-first, told by the first
        (["2020-01-02", "2020-01-03"], ["2020-01-02", "2020-01-03"], None),  # ISO: numpy's, no format
    ],
)
def test_day_first_dates_are_read_day_first(texts: list[str], want: list[str] | None, fmt_read: str | None) -> None:
    times, kind, zoned, used = parse_zoned_times(np.array(texts, dtype=object))
    assert (kind, zoned, used) == ("datetime", False, fmt_read)
    expected = want or [f"{y}-{m:02d}-01" for y in (2020, 2021) for m in range(1, 13)]
    assert days(times) == expected


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("texts", "fmt_read"),
    [
        (["1956 Q1", "1956 Q2", "1956 Q3", "1956 Q4", "1957 Q1"], None),  # R's labels of a quarterly ts
        (["1956Q1", "1956Q2", "1956Q3", "1956Q4", "1957Q1"], None),  # statsmodels', pandas' Period
        (["1956-Q1", "1956-q2", "1956-Q3", "1956-Q4", "1957-Q1"], None),
        (["Q1 1956", "Q2 1956", "Q3 1956", "Q4 1956", "Q1 1957"], None),
        (["Jan 1956", "Apr 1956", "Jul 1956", "Oct 1956", "Jan 1957"], "%b %Y"),  # pandas guesses no format
        (["January 1956", "April 1956", "July 1956", "October 1956", "January 1957"], "%B %Y"),
        (["1956 Jan", "1956 Apr", "1956 Jul", "1956 Oct", "1957 Jan"], "%Y %b"),
    ],
)
def test_quarters_and_months_with_a_year_are_read_as_their_first_days(texts: list[str], fmt_read: str | None) -> None:
    times, kind, _, used = parse_zoned_times(np.array(texts, dtype=object))
    assert (kind, used) == ("datetime", fmt_read)
    assert days(times) == ["1956-01-01", "1956-04-01", "1956-07-01", "1956-10-01", "1957-01-01"]
    assert infer_freq(times, "datetime") == Freq("month", 3, "start")


@pytest.mark.parametrize(
    ("texts", "index", "why"),
    [
        (["1956 Q1", "1956 Q5"], 1, "is not a quarter like the first row's (such as 1956 Q1)"),
        (["1956 Q4", "1957-01-01"], 1, "is not a quarter like the first row's"),
        (["1600 Q1", "1601 Q1"], 0, "is outside the dates seqcast can hold"),
        (["2262 Q2", "2262 Q3"], 1, "is outside the dates seqcast can hold"),  # 2262-04-01 is in, 07-01 out
        (["Jan 1956", "1956-02"], 1, "does not follow the date format of the first row (%b %Y)"),
    ],
)
def test_a_quarter_or_month_column_is_refused_at_its_first_odd_value(texts: list[str], index: int, why: str) -> None:
    with pytest.raises(TimeValueError) as err:
        parse_zoned_times(np.array(texts, dtype=object))
    assert err.value.index == index and err.value.why.startswith(why)


def test_a_given_time_format_reads_every_value_in_it_or_names_the_first_that_does_not_fit() -> None:
    times, kind, _, used = parse_zoned_times(np.array(["01.02.2020", "01.03.2020"], dtype=object), "%m.%d.%Y")
    assert (days(times), kind, used) == (["2020-01-02", "2020-01-03"], "datetime", "%m.%d.%Y")
    with pytest.raises(TimeValueError) as err:
        parse_zoned_times(np.array(["01.02.2020", "13.02.2020"], dtype=object), "%m.%d.%Y")
    assert (err.value.index, err.value.why) == (1, "does not follow data.time_format '%m.%d.%Y'")
    with pytest.raises(TimeValueError) as err:
        parse_zoned_times(np.array(["2020", "2021"], dtype=object), "%d.%m.%Y")
    assert (err.value.index, err.value.why) == (0, "does not follow data.time_format '%d.%m.%Y'")


def test_future_timestamps_past_the_axis_are_refused() -> None:
    last = np.datetime64("2262-01-01", "ns")
    assert str(future(last, Freq("fixed", 86_400 * 10**9), 99)[-1])[:10] == "2262-04-10"
    with pytest.raises(ValueError, match="would run past 2262-04-10"):
        future(last, Freq("fixed", 86_400 * 10**9), 100)
    assert str(future(last, Freq("month", 1, "start"), 3)[-1])[:10] == "2262-04-01"
    with pytest.raises(ValueError, match="would run past 2262-04-10"):
        future(last, Freq("month", 1, "start"), 4)
    with pytest.raises(ValueError, match="would run past 2262-04-10"):
        future(last, Freq("month", 1, "end"), 3)  # 2262-04-30
    with pytest.raises(ValueError, match="would pass 9223372036854775807"):
        future(2**62, Freq("integer", 2**61), 2)


def test_parse_error_carries_the_first_bad_row() -> None:
    with pytest.raises(TimeValueError) as err:
        parse_times(np.array(["2024-01-01", "2024-01-02", "never", "later"], dtype=object))
    assert (err.value.index, err.value.why) == (2, "is not a date or an integer")


def test_a_fractional_number_is_not_a_time() -> None:
    # pandas alone would read 1871.5 as May 1871
    with pytest.raises(TimeValueError) as err:
        parse_times(np.array(["1871", "1871.5", "1872"], dtype=object))
    assert (err.value.index, err.value.why) == (1, "is not a date or an integer")


@pytest.mark.parametrize("blank", ["", "NaT"])
@pytest.mark.parametrize("offset", ["", "+01:00"], ids=["naive", "with UTC offsets"])
def test_a_missing_timestamp_is_not_a_time(blank: str, offset: str) -> None:
    # numpy alone reads "" and "NaT" as NaT, which then looks like an irregular step; among times with offsets it
    # is missing too, not a time whose offset differs (a parquet file's null in a column with a time zone)
    days = [f"2024-01-0{d}T00:00{offset}" for d in (1, 2, 4)]
    with pytest.raises(TimeValueError) as err:
        parse_times(np.array([days[0], days[1], blank, days[2]], dtype=object))
    assert (err.value.index, err.value.why) == (2, "is not a date or an integer")


# ---------------------------------------------------------------- infer_freq


@pytest.mark.parametrize(
    ("times", "freq"),
    [
        (dt("2024-03-01T00", "2024-03-01T01", "2024-03-01T02"), Freq("fixed", H)),
        (dt("2024-03-01", "2024-03-02", "2024-03-04", "2024-03-05"), Freq("fixed", DAY)),  # a gap: still daily
        (dt("2024-01-01", "2024-01-08", "2024-01-15"), Freq("fixed", 7 * DAY)),
        (dt("2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"), Freq("month", 1, "start")),  # April missing
        (dt("2024-01-31", "2024-02-29", "2024-03-31"), Freq("month", 1, "end")),
        (dt("2023-03-31", "2023-06-30", "2023-09-30"), Freq("month", 3, "end")),
        (dt("2020-01-01", "2021-01-01", "2022-01-01"), Freq("month", 12, "start")),
        (dt("2024-01-15", "2024-02-15", "2024-03-15"), Freq("fixed", 31 * DAY)),  # mid-month: no calendar anchor
        # every 4 weeks from a month's first day: only the first falls on a month start, so no calendar anchor
        (dt("2024-02-01", "2024-02-29", "2024-03-28", "2024-04-25"), Freq("fixed", 28 * DAY)),
    ],
)
def test_infer_freq_datetime(times: np.ndarray, freq: Freq) -> None:
    assert infer_freq(times, "datetime") == freq


def test_weekday_rows_spanning_a_weekend_are_business_days_and_a_weekend_row_makes_them_daily() -> None:
    fri_to_tue = dt("2024-03-01", "2024-03-04", "2024-03-05")  # Friday, Monday, Tuesday
    assert infer_freq(fri_to_tue, "datetime") == Freq("bday", 1)
    assert infer_freq(fri_to_tue + np.timedelta64(16, "h"), "datetime") == Freq("bday", 1)  # the close, 16:00
    assert infer_freq(dt("2024-03-01", "2024-03-02", "2024-03-04", "2024-03-05"), "datetime") == Freq("fixed", DAY)
    assert infer_freq(dt("2024-03-04", "2024-03-05", "2024-03-06"), "datetime") == Freq("fixed", DAY)  # no weekend
    mixed = dt("2024-03-01T16", "2024-03-04T16", "2024-03-05T09")  # two times of day: not one daily close
    assert infer_freq(mixed, "datetime") != Freq("bday", 1)


def test_business_day_grid_and_future_skip_weekends_and_keep_the_time_of_day() -> None:
    closes = dt("2024-03-07T16", "2024-03-11T16", "2024-03-12T16")  # Thursday, Monday, Tuesday
    assert (
        grid(closes, Freq("bday", 1)).tolist()
        == dt("2024-03-07T16", "2024-03-08T16", "2024-03-11T16", "2024-03-12T16").tolist()
    )  # Friday is missing; the weekend is not
    assert (
        future(closes[-1], Freq("bday", 1), 4).tolist()
        == dt("2024-03-13T16", "2024-03-14T16", "2024-03-15T16", "2024-03-18T16").tolist()
    )
    assert days(future(np.datetime64("2024-03-08"), Freq("bday", 2), 3)) == ["2024-03-12", "2024-03-14", "2024-03-18"]


@given(first=st.integers(0, 20_000), n=st.integers(2, 60), steps=st.integers(1, 12), drop=st.integers(0, 59))
def test_business_days_round_trip(first: int, n: int, steps: int, drop: int) -> None:
    start = np.busday_offset(np.datetime64("1980-01-01", "D"), first, roll="forward")
    every = np.busday_offset(start, np.arange(n + steps))
    times = every[:n].astype("datetime64[ns]")
    if int(np.busday_count(times[0].astype("datetime64[D]"), times[-1].astype("datetime64[D]"))) == int(
        (times[-1] - times[0]) // np.timedelta64(1, "D")
    ):  # no weekend inside: the rows are as daily as they are business days
        return
    freq = infer_freq(times, "datetime")
    assert freq == Freq("bday", 1)
    assert grid(times, freq).tolist() == times.tolist()
    assert future(times[-1], freq, steps).tolist() == every[n:].astype("datetime64[ns]").tolist()
    if 0 < drop < n - 1:  # a missing day inside the grid: the grid has it back, and the weekends stay out
        assert grid(np.delete(times, drop), freq).tolist() == times.tolist()


def test_infer_freq_integers_and_short_series() -> None:
    assert infer_freq(np.array([1700, 1701, 1702]), "integer") == Freq("integer", 1)
    assert infer_freq(np.array([1950, 1960, 1980, 1990]), "integer") == Freq("integer", 10)
    assert infer_freq(np.array([1990, 2000, 2001, 2002, 2003]), "integer") == Freq("integer", 1)  # the most common
    assert infer_freq(np.array([5]), "integer") == Freq("integer", 1)
    assert infer_freq(np.arange(4), "none") == Freq("integer", 1)
    assert infer_freq(dt("2024-01-01"), "datetime") is None


# ---------------------------------------------------------------- grid and future


def test_grid() -> None:
    assert grid(np.array([2000, 2001, 2004]), Freq("integer", 1)).tolist() == [2000, 2001, 2002, 2003, 2004]
    assert grid(np.array([1950, 1970]), Freq("integer", 10)).tolist() == [1950, 1960, 1970]
    hourly = grid(dt("2024-03-01T22", "2024-03-02T01"), Freq("fixed", H))
    assert hourly.dtype == np.dtype("datetime64[ns]")
    assert hourly.tolist() == dt("2024-03-01T22", "2024-03-01T23", "2024-03-02T00", "2024-03-02T01").tolist()
    assert days(grid(dt("2023-12-31", "2024-03-31"), Freq("month", 1, "end"))) == [
        "2023-12-31",
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
    ]
    assert days(grid(dt("2023-11-01", "2024-02-01"), Freq("month", 1, "start"))) == [
        "2023-11-01",
        "2023-12-01",
        "2024-01-01",
        "2024-02-01",
    ]
    assert grid(np.array([3]), Freq("integer", 1)) is None
    assert grid(np.array([3, 4]), None) is None


def test_future() -> None:
    assert future(np.int64(1970), Freq("integer", 1), 3).tolist() == [1971, 1972, 1973]
    assert future(1990, Freq("integer", 5), 2).tolist() == [1995, 2000]
    assert (
        future(np.datetime64("2024-03-01T23:00"), Freq("fixed", H), 2).tolist()
        == dt("2024-03-02T00", "2024-03-02T01").tolist()
    )
    assert days(future(np.datetime64("2024-01-31"), Freq("month", 1, "end"), 3)) == [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
    ]
    assert days(future(np.datetime64("2024-11-01"), Freq("month", 1, "start"), 3)) == [
        "2024-12-01",
        "2025-01-01",
        "2025-02-01",
    ]
    assert days(future(np.datetime64("2023-12-31"), Freq("month", 12, "end"), 2)) == ["2024-12-31", "2025-12-31"]


@given(
    start=st.integers(0, 2000),
    step_hours=st.integers(1, 48),
    n=st.integers(2, 30),
    steps=st.integers(1, 10),
)
def test_future_continues_the_grid(start: int, step_hours: int, n: int, steps: int) -> None:
    base = np.datetime64("2020-01-01T00", "ns") + np.timedelta64(start, "h")
    times = base + np.arange(n) * np.timedelta64(step_hours, "h")
    freq = infer_freq(times, "datetime")
    assert freq == Freq("fixed", step_hours * H)
    whole = base + np.arange(n + steps) * np.timedelta64(step_hours, "h")
    assert future(times[-1], freq, steps).tolist() == whole[n:].tolist()
    assert grid(times, freq).tolist() == times.tolist()


@given(
    month0=st.integers(0, 600), step=st.integers(1, 24), n=st.integers(2, 12), anchor=st.sampled_from(["start", "end"])
)
def test_month_grid_round_trip(month0: int, step: int, n: int, anchor: str) -> None:
    months = np.datetime64("1970-01", "M") + (month0 + step * np.arange(n)).astype("timedelta64[M]")
    first_day = months.astype("datetime64[D]")
    last_day = (months + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
    times = (first_day if anchor == "start" else last_day).astype("datetime64[ns]")
    freq = infer_freq(times, "datetime")
    assert freq == Freq("month", step, anchor)  # type: ignore[arg-type]
    assert grid(times, freq).tolist() == times.tolist()
    assert future(times[-2], freq, 1).tolist() == times[-1:].tolist()


# ---------------------------------------------------------------- aliases and formatting


@pytest.mark.parametrize(
    ("alias", "freq", "canonical"),
    [
        ("h", Freq("fixed", H), "h"),
        ("H", Freq("fixed", H), "h"),
        ("2h", Freq("fixed", 2 * H), "2h"),
        ("15min", Freq("fixed", 15 * 60 * 10**9), "15min"),
        ("D", Freq("fixed", DAY), "D"),
        ("W", Freq("fixed", 7 * DAY), "7D"),
        ("MS", Freq("month", 1, "start"), "MS"),
        ("ME", Freq("month", 1, "end"), "ME"),
        ("M", Freq("month", 1, "end"), "ME"),
        ("QS", Freq("month", 3, "start"), "QS"),
        ("6MS", Freq("month", 6, "start"), "6MS"),
        ("YS", Freq("month", 12, "start"), "YS"),
        ("A", Freq("month", 12, "end"), "YE"),
        ("B", Freq("bday", 1), "B"),
        ("2B", Freq("bday", 2), "2B"),
        (1, Freq("integer", 1), 1),
        ("5", Freq("integer", 5), 5),
    ],
)
def test_freq_aliases(alias: str | int, freq: Freq, canonical: str | int) -> None:
    assert Freq.parse(alias) == freq
    assert freq.alias == canonical
    assert Freq.parse(canonical) == freq


def test_unknown_aliases() -> None:
    assert Freq.parse(None) is None
    assert Freq.parse("fortnightly-ish") is None
    assert Freq.parse("1.5h") is None


@given(
    st.one_of(
        st.builds(Freq, st.just("fixed"), st.integers(1, 10**15)),
        st.builds(Freq, st.just("month"), st.integers(1, 36), st.sampled_from(["start", "end"])),
        st.builds(Freq, st.just("integer"), st.integers(1, 100)),
        st.builds(Freq, st.just("bday"), st.integers(1, 20)),
    )
)
def test_alias_round_trips(freq: Freq) -> None:
    assert Freq.parse(freq.alias) == freq


@pytest.mark.parametrize(
    ("t", "kind", "text"),
    [
        (np.datetime64("2024-03-01T13:00"), "datetime", "2024-03-01 13:00"),
        (np.datetime64("2024-03-01T00:00"), "datetime", "2024-03-01"),
        (np.datetime64("2024-03-01T13:00:05"), "datetime", "2024-03-01 13:00:05"),
        (np.datetime64("2024-03-01T13:00:03.900", "ns"), "datetime", "2024-03-01 13:00:03.9"),  # a step of 100ms
        (np.datetime64("2024-03-01T00:00:00.000250", "ns"), "datetime", "2024-03-01 00:00:00.00025"),
        (np.datetime64("2024-03-01T00:00:00.000000001", "ns"), "datetime", "2024-03-01 00:00:00.000000001"),
        (np.datetime64("3000-01-01", "D"), "datetime", "3000-01-01"),  # past the ns range: written in its own unit
        (np.datetime64("1500-06-01T12:30", "m"), "datetime", "1500-06-01 12:30"),
        (np.int64(1871), "integer", "1871"),
        (7, "none", "7"),
    ],
)
def test_fmt(t: object, kind: str, text: str) -> None:
    assert fmt(t, kind) == text  # type: ignore[arg-type]


def test_fmt_of_rows_less_than_a_day_apart_keeps_midnight() -> None:
    """Hourly rows: midnight is 2024-03-02 00:00 beside 2024-03-01 23:00, not a date alone; days keep dates."""
    hour, day = Freq("fixed", 3_600 * 10**9), Freq("fixed", 86_400 * 10**9)
    assert (hour.sub_daily, day.sub_daily, Freq("month", 1).sub_daily, Freq("integer", 1).sub_daily) == (
        True, False, False, False
    )  # fmt: skip
    midnight = np.datetime64("2024-03-02T00:00")
    assert fmt(midnight, "datetime", fine=hour.sub_daily) == "2024-03-02 00:00"
    assert fmt(midnight, "datetime", fine=day.sub_daily) == "2024-03-02"
    assert fmt(np.int64(1871), "integer", fine=True) == "1871"


def test_new_rows_on_the_runs_grid_keep_its_step_whatever_their_own_steps_say() -> None:
    """A run's step wins where the rows fit it: on its grid, some two rows one step apart (or a single row)."""
    from seqcast.timeaxis import Freq, infer_freq

    hour = Freq("fixed", 3_600 * 10**9)
    at = lambda *hours: np.array([f"2024-01-11T{h:02d}:00" for h in hours], dtype="datetime64[ns]")  # noqa: E731
    assert infer_freq(at(0, 2, 3), "datetime") == Freq("fixed", 2 * 3_600 * 10**9)  # a tie: the first step
    assert infer_freq(at(0, 2, 3), "datetime", prefer=hour) == hour  # a gap on the run's grid
    assert infer_freq(at(0, 1, 3), "datetime", prefer=hour) == hour
    assert infer_freq(at(5), "datetime", prefer=hour) == hour
    assert infer_freq(at(0, 2, 4, 8), "datetime", prefer=hour).step == 2 * 3_600 * 10**9  # every step 2h: not hourly
    half = np.array(["2024-01-11T00:00", "2024-01-11T00:30", "2024-01-11T01:00"], dtype="datetime64[ns]")
    assert infer_freq(half, "datetime", prefer=hour).step == 1_800 * 10**9  # off the run's grid
    months = np.array(["2024-01-01", "2024-03-01", "2024-04-01"], dtype="datetime64[ns]")
    assert infer_freq(months, "datetime", prefer=Freq("month", 1, "start")) == Freq("month", 1, "start")
    assert infer_freq(np.array([2000, 2002, 2003]), "integer", prefer=Freq("integer", 1)) == Freq("integer", 1)


@given(
    picks=st.lists(st.integers(0, 400), min_size=1, max_size=30, unique=True),
    kind=st.sampled_from(["hour", "week", "month_start", "month_end", "year"]),
)
def test_steps_from_first_are_the_positions_on_the_grid(picks: list[int], kind: str) -> None:
    """steps_from_first gives each time's position on the grid `grid` builds from the first, without building it;
    a time off that grid gives None."""
    from seqcast.timeaxis import steps_from_first

    freq = {
        "hour": Freq("fixed", 3_600 * 10**9),
        "week": Freq("fixed", 7 * 86_400 * 10**9),
        "month_start": Freq("month", 1, "start"),
        "month_end": Freq("month", 3, "end"),
        "year": Freq("integer", 1),
    }[kind]
    whole = future(np.int64(1990) if kind == "year" else np.datetime64("1990-01-31", "ns"), freq, 401)
    times = whole[sorted(picks)]
    full = grid(times, freq) if len(times) > 1 else times
    assert full is not None
    assert steps_from_first(times, freq).tolist() == np.searchsorted(full, times).tolist()  # type: ignore[union-attr]
    if len(times) > 1 and kind != "year":
        off = times.copy()
        off[-1] = off[-1] + np.timedelta64(1, "m")  # a minute: off every grid here
        assert steps_from_first(off, freq) is None


def test_dates_that_read_both_ways_are_said_with_the_format_that_reads_them_the_other_way() -> None:
    def said(texts: list[str], fmt: str | None = None) -> list[str]:
        notes: list[str] = []
        parse_zoned_times(np.array(texts, dtype=object), fmt, notes)
        return notes

    monthly = [f"{m:02d}/01/2020" for m in range(1, 13)]  # or daily, day-first
    times, _, _, used = parse_zoned_times(np.array(monthly, dtype=object))
    assert used == "%m/%d/%Y" and str(times[1])[:10] == "2020-02-01"
    assert said(monthly) == [
        "dates such as '01/01/2020' read both day-first and month-first: read month-first (%m/%d/%Y); "
        "data.time_format: '%d/%m/%Y' reads them the other way"
    ]
    assert said(monthly, "%m/%d/%Y") == []  # a format given is not second-guessed
    assert said(["13.01.2020", "14.01.2020"]) == []  # one way only
    assert said(["2020-01-02"]) == []  # ISO: one way
    assert said(["Jan 2020"]) == []


@pytest.mark.parametrize(
    ("times", "said"),
    [
        (["2024-03-31T02:00"], True),  # Europe springs forward (its last Sunday of March): 02:00 never happens
        (["2024-03-10T02:00"], True),  # the United States (the second Sunday of March)
        (["2024-10-27T02:00", "2024-10-27T02:30"], True),  # Europe falls back: 02:00 to 02:59 happen twice
        (["2024-10-06T02:00"], True),  # Australia springs forward (the first Sunday of October)
        (["2024-03-31T02:00", "2024-03-31T03:30"], False),  # more than an hour: not a clock change
        (["2024-03-24T02:00"], False),  # a Sunday of March on which no clock changes
        (["2024-03-30T02:00"], False),  # a Saturday
        (["2024-06-30T02:00"], False),  # a Sunday in summer
        (["2024-03-31T05:00"], False),  # the morning after
    ],
)
def test_a_gap_or_repeat_at_a_daylight_saving_change_gets_its_hint(times: list[str], said: bool) -> None:
    from seqcast.timeaxis import clock_hint

    t = np.array(times, dtype="datetime64[ns]")
    hourly = np.arange(np.datetime64("2024-01-01T00:00"), np.datetime64("2024-01-03T00:00")).astype("datetime64[ns]")
    hourly = hourly[::60]
    assert (clock_hint(t, zoned=False, series=hourly) is not None) == said
    assert clock_hint(t, zoned=True, series=hourly) is None  # times with offsets are UTC: no clock change in them
    daily = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-02-01")).astype("datetime64[ns]")
    assert clock_hint(t, zoned=False, series=daily) is None  # a missing day is no skipped hour


def test_local_times_across_a_clock_change_are_refused_with_the_offsets_hint(tmp_path: Path) -> None:
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset
    from seqcast.errors import DataError

    path = tmp_path / "d.csv"
    for day, rows, what in [
        (
            "2024-03-31",
            ["00:00", "01:00", "03:00", "04:00"],
            "1 missing timestamp(s) at frequency h, first 2024-03-31 02",
        ),
        (
            "2024-10-27",
            ["00:00", "01:00", "02:00", "02:00", "03:00"],
            "duplicate timestamp 2024-10-27 02:00 at lines 4",
        ),
    ]:
        path.write_text("time,y\n" + "".join(f"{day} {h},{k}\n" for k, h in enumerate(rows)))
        with pytest.raises(DataError) as err:
            load_dataset(DataConfig(path=path, time_column="time", targets=["y"]))
        assert what in err.value.message and "daylight-saving change" in (err.value.hint or "")
    # two series in one file without data.series_column, from such a Sunday's midnight: every hour repeats
    path.write_text("time,y\n" + "".join(f"2024-10-27 {h:02d}:00,{k}\n" for k in range(2) for h in range(6)))
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=path, time_column="time", targets=["y"]))
    assert "data.series_column" in (err.value.hint or "") and "daylight" not in (err.value.hint or "")


@pytest.mark.parametrize(
    ("texts", "step", "last", "read"),
    [
        (["01/07/2022"], Freq("fixed", 86_400 * 10**9), "2022-06-30", ["2022-07-01"]),  # daily: the nearer reading
        (["07/01/2022"], Freq("fixed", 86_400 * 10**9), "2022-06-30", ["2022-07-01"]),  # month-first when nearer
        (["01/07/2022"], Freq("month", 1, "start"), None, ["2022-07-01"]),  # January 7 is off a monthly grid
        (["01/07/2022", "01/08/2022"], Freq("month", 1, "start"), "2022-06-01", ["2022-07-01", "2022-08-01"]),
        (["01/05/2022", "02/05/2022"], Freq("fixed", 86_400 * 10**9), "2022-04-30", ["2022-05-01", "2022-05-02"]),
    ],
)
def test_dates_read_both_ways_follow_the_runs_step_then_its_last_row(
    texts: list[str], step: Freq, last: str | None, read: list[str]
) -> None:
    """A run's new rows in dates both day-first and month-first read: the reading on the run's grid, with steps of
    its step, nearest its last row; one row too (no warning: a single time has no steps to count)."""
    import warnings

    follow = (step, np.datetime64(last, "ns") if last else None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" for one row
        times = parse_zoned_times(np.array(texts, dtype=object), follow=follow)[0]
    assert times.astype("datetime64[D]").astype(str).tolist() == read


def test_zone_names_are_refused_without_pandas_warnings() -> None:
    """'2024-03-10 00:00:00 CET': pandas reads the name with a FutureWarning per call, which leaked onto stderr
    before the error (four multi-line blocks); the error alone is said."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TimeValueError) as err:
            parse_zoned_times(np.array(["2024-03-10 00:00:00 CET", "2024-03-31 03:00:00 CEST"], dtype=object))
    assert err.value.index in (0, 1)  # pandas 2 reads CET (deprecated) and stops at CEST; pandas 3 reads neither


@given(st.sets(st.integers(-50, 50)), st.sets(st.integers(-50, 50)))
def test_not_in_is_setdiff1d_of_sorted_distinct_values(a: set[int], b: set[int]) -> None:
    x, y = np.array(sorted(a), dtype=np.int64), np.array(sorted(b), dtype=np.int64)
    np.testing.assert_array_equal(not_in(x, y), np.setdiff1d(x, y))
    days = x.astype("datetime64[D]").astype("datetime64[ns]")  # the time axes it is given
    np.testing.assert_array_equal(
        not_in(days, y.astype("datetime64[D]").astype("datetime64[ns]")),
        np.setdiff1d(days, y.astype("datetime64[D]").astype("datetime64[ns]")),
    )
