"""Reading CSVs into series: parsing, sorting, duplicates, gaps, missing values, splits and scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seqcast import timeaxis
from seqcast.config import DataConfig
from seqcast.data import Dataset, Series, load_dataset, split_parts
from seqcast.errors import ConfigError, DataError
from seqcast.prepare import Scaler
from seqcast.timeaxis import Freq


def load(tmp_path: Path, csv: str, **data: Any) -> Dataset:
    path = tmp_path / "d.csv"
    path.write_text(csv)
    data.setdefault("targets", ["y"])
    return load_dataset(DataConfig(path=path, **data))


def data_error(tmp_path: Path, csv: str, **data: Any) -> str:
    with pytest.raises(DataError) as err:
        load(tmp_path, csv, **data)
    assert err.value.exit_code == 1
    return err.value.render()


def csv_of(times: list[str], values: list[float | str]) -> str:
    return "t,y\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values, strict=True))


# ---------------------------------------------------------------- parsing and sorting


def test_integer_years(tmp_path: Path) -> None:
    ds = load(tmp_path, "year,y\n1871,1120\n1872,1160.5\n1873,963\n", time_column="year")
    (s,) = ds.series
    assert ds.time_kind == "integer" and ds.freq == Freq("integer", 1)
    assert s.times.dtype == np.int64 and s.times.tolist() == [1871, 1872, 1873]
    assert s.values.dtype == np.float64 and s.values[:, 0].tolist() == [1120.0, 1160.5, 963.0]
    assert s.name == "" and ds.names == [""] and ds.notes == []


def test_dates(tmp_path: Path) -> None:
    ds = load(
        tmp_path,
        csv_of(["2024-03-01 00:00:00", "2024-03-01 01:00:00", "2024-03-01 02:00:00"], [1, 2, 3]),
        time_column="t",
    )
    (s,) = ds.series
    assert ds.time_kind == "datetime" and s.times.dtype == np.dtype("datetime64[ns]")
    assert s.times[2] == np.datetime64("2024-03-01T02:00")
    assert ds.freq is not None and ds.freq.alias == "h"


def test_no_time_column_uses_row_positions(tmp_path: Path) -> None:
    ds = load(tmp_path, "y,x\n5,1\n6,2\n7,3\n", features=["x"])
    (s,) = ds.series
    assert ds.time_kind == "none"
    assert s.times.tolist() == [0, 1, 2]
    assert s.values.tolist() == [[5, 1], [6, 2], [7, 3]]  # targets, then features
    assert ds.inputs == ["y", "x"]


def test_columns_ordered_targets_then_features(tmp_path: Path) -> None:
    csv = "t,a,b,c\n1,10,20,30\n2,11,21,31\n"
    ds = load(tmp_path, csv, time_column="t", targets=["c", "a"], features=["b"])
    assert ds.series[0].values.tolist() == [[30, 10, 20], [31, 11, 21]]
    assert (ds.targets, ds.features) == (["c", "a"], ["b"])


def test_unsorted_rows_are_sorted_with_a_note(tmp_path: Path) -> None:
    ds = load(tmp_path, csv_of(["2002", "2000", "2001"], [2, 0, 1]), time_column="t")
    (s,) = ds.series
    assert s.times.tolist() == [2000, 2001, 2002]
    assert s.values[:, 0].tolist() == [0, 1, 2]  # values travel with their timestamps
    assert ds.notes == ["rows were not in time order; sorted by t"]


def test_duplicate_timestamps_name_the_lines(tmp_path: Path) -> None:
    text = data_error(tmp_path, csv_of(["2000", "2001", "2002", "2001"], [0, 1, 2, 3]), time_column="t")
    assert text.startswith(f"{tmp_path / 'd.csv'}: duplicate timestamp 2001 at lines 3 and 5")
    assert "set data.series_column" in text


def test_duplicate_dates_within_a_series(tmp_path: Path) -> None:
    csv = "t,s,y\n2024-01-01,A,1\n2024-01-01,B,1\n2024-01-02,A,2\n2024-01-02,B,2\n2024-01-02,B,3\n"
    text = data_error(tmp_path, csv, time_column="t", series_column="s")
    assert "duplicate timestamp 2024-01-02 of series 'B' at lines 5 and 6" in text


def test_bad_timestamp_names_line_and_value(tmp_path: Path) -> None:
    text = data_error(tmp_path, csv_of(["2024-01-01", "2024-01-02", "soon"], [1, 2, 3]), time_column="t")
    assert text == f"{tmp_path / 'd.csv'}: time column 't', line 4: 'soon' is not a date or an integer"


def test_empty_timestamp_names_its_line(tmp_path: Path) -> None:
    text = data_error(tmp_path, csv_of(["2024-01-01", "", "2024-01-03"], [1, 2, 3]), time_column="t")
    assert text == f"{tmp_path / 'd.csv'}: time column 't', line 3: '' is not a date or an integer"


def test_non_numeric_value_names_column_line_and_value(tmp_path: Path) -> None:
    text = data_error(tmp_path, "t,x,y\n1,1,2\n2,3,abc\n3,4,5\n", time_column="t", features=["x"])
    assert text == (
        f"{tmp_path / 'd.csv'}: column 'y', line 3: 'abc' is not a number\n  hint: a missing value is written "
        "blank or NA (data.missing handles it)"
    )


def test_missing_column_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "t,y\n1,2\n", time_column="t", targets=["pressure"])
    assert (
        err.value.render()
        == f"data.targets: 'pressure' is not a column of {tmp_path / 'd.csv'}; its columns are ['t', 'y']"
    )
    with pytest.raises(ConfigError, match="^data.series_column: 'tank' is not a column"):
        load(tmp_path, "t,y\n1,2\n", time_column="t", series_column="tank")


@pytest.mark.parametrize(
    ("named", "hint"),
    [
        ("umsatz (eur)", "did you mean 'Umsatz (EUR)'?"),
        ("price", None),
        ("Umsats (EUR)", "did you mean 'Umsatz (EUR)'?"),
    ],
)
def test_a_column_named_with_another_case_or_a_typo_is_pointed_at(tmp_path: Path, named: str, hint: str | None) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "t,Umsatz (EUR),Kosten\n1,2,3\n", time_column="t", targets=[named])
    assert err.value.hint == hint and err.value.where == "data.targets"


HINT = "\n  hint: delete the blank"


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("", "the file is empty"),
        ("\n \n", "the file is empty"),
        ("\nt,y\n1,2\n", f"line 1 is blank, and the column names are on line 2{HINT} line above the column names"),
        ("\n \nt,y\n1,2\n", f"line 1 is blank, and the column names are on line 3{HINT} lines above the column names"),
        (
            "# exported from sensor A\nt,y\n1,2\n",
            "line 1 is a comment ('# exported from sensor A'), and the column names are on line 2\n  hint: delete "
            "the line above the column names: seqcast reads line 1 as the header",
        ),
        (
            "# a\n#\n\nt;y\n1;2\n",
            "line 1 is a comment ('# a'), and the column names are on line 4\n  hint: delete the lines above the "
            "column names: seqcast reads line 1 as the header",
        ),
        (
            "# source: sensor A, exported 2024\ntime,y\n1,2\n",
            "line 1 is a comment ('# source: sensor A, exported 2024'), and the column names are on line 2\n  hint: "
            "delete the line above the column names: seqcast reads line 1 as the header",
        ),
        ("#id,t,y\n1,2,3,\n", "line 2 has 4 fields, the header has 3"),  # a '#' header over a ragged row
        ("t,y\n", "the file has a header but no rows"),
        ("t,y\n1,2\n2,3,4\n", "line 3 has 3 fields, the header has 2"),
    ],
)
def test_malformed_files(tmp_path: Path, csv: str, message: str) -> None:
    assert data_error(tmp_path, csv, time_column="t") == f"{tmp_path / 'd.csv'}: {message}"


def test_a_header_that_begins_with_a_hash_is_a_header(tmp_path: Path) -> None:
    ds = load(tmp_path, "#,t,y\n1,1,5\n2,2,6\n", time_column="t", targets=["y"])
    assert ds.series[0].values[:, 0].tolist() == [5, 6]


def test_data_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data file not found"):
        load_dataset(DataConfig(path=tmp_path / "nope.csv", targets=["y"]))


def test_a_folder_of_csvs_is_one_table(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.csv").write_text("t,s,y\n1,A,1\n2,A,2\n")
    (tmp_path / "parts" / "b.csv").write_text("t,s,y\n1,B,5\n2,B,6\n")
    ds = load_dataset(DataConfig(path=tmp_path / "parts", targets=["y"], time_column="t", series_column="s"))
    assert ds.names == ["A", "B"]
    assert [s.values[:, 0].tolist() for s in ds.series] == [[1, 2], [5, 6]]


# ---------------------------------------------------------------- frequency


@pytest.mark.parametrize(
    ("times", "alias"),
    [
        (["2024-03-01 00:00", "2024-03-01 01:00", "2024-03-01 02:00", "2024-03-01 03:00"], "h"),
        (["2024-03-01 00:00", "2024-03-01 00:15", "2024-03-01 00:30"], "15min"),
        (["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"], "D"),
        (["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"], "7D"),
        (["2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01", "2024-03-01"], "MS"),
        (["2023-11-30", "2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"], "ME"),
        (["2023-01-01", "2023-04-01", "2023-07-01", "2023-10-01"], "QS"),
        (["2020-01-01", "2021-01-01", "2022-01-01"], "YS"),
        (["2020-12-31", "2021-12-31", "2022-12-31"], "YE"),
        (["1700", "1701", "1702", "1703"], 1),
        (["1950", "1960", "1970"], 10),
    ],
)
def test_frequency_inferred(tmp_path: Path, times: list[str], alias: str | int) -> None:
    ds = load(tmp_path, csv_of(times, list(range(len(times)))), time_column="t")
    assert ds.freq is not None and ds.freq.alias == alias
    assert len(ds.series[0]) == len(times)  # a regular series: nothing added, nothing dropped
    assert ds.notes == []


# ---------------------------------------------------------------- gaps and missing values

GAPPY = csv_of(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06"], [1, 2, 8, 10])


def test_missing_timestamps_raise_naming_the_first(tmp_path: Path) -> None:
    text = data_error(tmp_path, GAPPY, time_column="t")
    assert text.startswith(f"{tmp_path / 'd.csv'}: 2 missing timestamp(s) at frequency D, first 2024-01-03")
    assert "set data.missing to interpolate or ffill" in text


def test_missing_years_raise_naming_the_first(tmp_path: Path) -> None:
    csv = "t,s,y\n2000,A,1\n2001,A,2\n2000,B,1\n2002,B,3\n2001,B,2\n2004,B,4\n"
    text = data_error(tmp_path, csv, time_column="t", series_column="s")
    assert "1 missing timestamp(s) of series 'B' at a step of 1, first 2003" in text


def test_missing_timestamps_in_several_series_are_named_in_one_message(tmp_path: Path) -> None:
    """Every series with a gap, not the first only: one round of fixing the file, not one per series; the first in
    full, the others by their count and first missing time, the seventh and later counted."""
    gappy = {f"S{k}": [2000, 2001, 2004, 2005] if k % 2 else list(range(2000, 2006)) for k in range(16)}
    gappy["S3"] = [2000, 2003, 2004, 2005]
    csv = "t,s,y\n" + "".join(f"{t},{n},{t - 1999}\n" for n, ts in gappy.items() for t in ts)
    text = " ".join(data_error(tmp_path, csv, time_column="t", series_column="s").split())
    assert (
        "2 missing timestamp(s) of series 'S1' at a step of 1, first 2002, 2003; also series 'S3' (2, first 2001), "
        "series 'S5' (2, first 2002), series 'S7' (2, first 2002), series 'S9' (2, first 2002), series 'S11' (2, "
        "first 2002) and 2 more series" in text
    ), text
    assert "'S0'" not in text and "'S2'" not in text and "set data.missing to interpolate or ffill" in text


def test_blank_cells_in_several_series_are_named_in_one_message_before_missing_timestamps(tmp_path: Path) -> None:
    """Blank cells of every series named together, by line, then every series' missing timestamps, those of a
    series with blank cells too (E): one round of fixing the file."""
    rows = {"A": [(2000, 1), (2001, 2), (2002, 3)], "B": [(2000, 1), (2001, 2), (2003, 4), (2004, 5)],
            "C": [(2000, ""), (2001, 2)], "D": [(2000, 1), (2001, "nan"), (2002, "")],
            "E": [(2000, 1), (2001, ""), (2003, 4), (2004, 5)]}  # fmt: skip
    csv = "t,s,y\n" + "".join(f"{t},{n},{v}\n" for n, tv in rows.items() for t, v in tv)
    text = " ".join(data_error(tmp_path, csv, time_column="t", series_column="s").split())
    assert (
        f"{tmp_path / 'd.csv'}: missing, NaN or infinite values in column(s) ['y'] of series 'C' at line(s) [9]; "
        "also series 'D' at line(s) [12, 13], series 'E' at line(s) [15]; and 1 missing timestamp(s) of series 'B' "
        "at a step of 1, first 2002; also series 'E' (1, first 2002) hint: set data.missing to interpolate, ffill "
        "or drop, which fills or ignores the missing timestamps too" in text
    ), text
    assert "'A'" not in text


def test_gaps_interpolated_exactly(tmp_path: Path) -> None:
    ds = load(tmp_path, GAPPY, time_column="t", missing="interpolate")
    (s,) = ds.series
    assert s.times.astype("datetime64[D]").astype(str).tolist() == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-06",
    ]
    assert s.values[:, 0].tolist() == [1, 2, 4, 6, 8, 10]
    assert ds.notes == [
        "2 missing timestamp(s) at frequency D (first: 2024-01-03, 2024-01-04); data.missing: interpolate"
    ]


def test_gaps_forward_filled_exactly(tmp_path: Path) -> None:
    ds = load(tmp_path, GAPPY, time_column="t", missing="ffill")
    assert ds.series[0].values[:, 0].tolist() == [1, 2, 2, 2, 8, 10]
    assert len(ds.series[0].times) == 6


def test_gaps_dropped_keep_the_rows_as_they_are(tmp_path: Path) -> None:
    ds = load(tmp_path, GAPPY, time_column="t", missing="drop")
    (s,) = ds.series
    assert s.values[:, 0].tolist() == [1, 2, 8, 10]
    assert s.times.astype("datetime64[D]").astype(str).tolist() == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-05",
        "2024-01-06",
    ]


def test_missing_values_raise_naming_the_line(tmp_path: Path) -> None:
    text = data_error(tmp_path, csv_of(["1", "2", "3", "4"], [1, "", "NA", 4]), time_column="t")
    assert text.startswith(
        f"{tmp_path / 'd.csv'}: missing, NaN or infinite values in column(s) ['y'] at line(s) [3, 4]"
    )
    assert "hint: set data.missing to interpolate, ffill or drop" in text


def test_missing_values_in_two_columns_filled_exactly(tmp_path: Path) -> None:
    csv = "t,y,x\n1,0,\n2,,10\n3,,nan\n4,6,40\n5,inf,50\n6,10,\n"
    ds = load(tmp_path, csv, time_column="t", features=["x"], missing="interpolate")
    # y: linear between 0 and 6, then between 6 and 10; x has no value before row 2 nor after row 5: those rows go
    assert ds.series[0].times.tolist() == [2, 3, 4, 5]
    assert ds.series[0].values.tolist() == [[2, 10], [4, 25], [6, 40], [8, 50]]
    assert ds.notes == [
        "3 row(s) with missing values filled (data.missing: interpolate)",  # said, as drop says
        "dropped 2 row(s) that data.missing: interpolate cannot fill, as it fills a value only between two known "
        "ones: the first 1 (1, before the first value of 'x') and the last 1 (6, after the last value of 'x'); the "
        "series now ends at 5",
    ]
    ds = load(tmp_path, csv, time_column="t", features=["x"], missing="ffill")  # row 1's y carried, row 1 dropped
    assert ds.series[0].values.tolist() == [[0, 10], [0, 10], [6, 40], [6, 50], [10, 50]]
    assert ds.notes == [
        "4 row(s) with missing values filled (data.missing: ffill)",
        "dropped 1 row(s) that data.missing: ffill cannot fill, as it fills a value only after a known one: the "
        "first 1 (1, before the first value of 'x')",
    ]
    ds = load(tmp_path, csv, time_column="t", features=["x"], missing="drop")
    assert ds.series[0].times.tolist() == [4]
    assert ds.notes == ["dropped 5 row(s) with missing values"]


def test_a_series_edges_are_dropped_not_made_up_and_a_static_column_takes_its_value(tmp_path: Path) -> None:
    """interpolate repeats no value at a series' start or end (the forecast would start from it); a static column
    holds one value per series, so a blank there takes it. Series 'B' has every value: nothing is dropped."""
    csv = (
        "t,s,y,z\n2001-01-01,A,,\n2001-02-01,A,1,\n2001-03-01,A,2,7\n2001-04-01,A,,\n2001-05-01,A,,\n"
        "2001-01-01,B,5,8\n2001-02-01,B,6,8\n"
    )
    ds = load(tmp_path, csv, time_column="t", series_column="s", static=["z"], missing="interpolate")
    a, b = ds.series
    assert a.times.astype("datetime64[D]").astype(str).tolist() == ["2001-02-01", "2001-03-01"]
    assert a.values.tolist() == [[1, 7], [2, 7]]
    assert b.values.tolist() == [[5, 8], [6, 8]]
    assert ds.notes == [
        "1 row(s) with missing values of series 'A' filled (data.missing: interpolate)",
        "dropped 3 row(s) of series 'A' that data.missing: interpolate cannot fill, as it fills a value only between "
        "two known ones: the first 1 (2001-01-01, before the first value of 'y') and the last 2 (2001-04-01 to "
        "2001-05-01, after the last value of 'y'); the series now ends at 2001-03-01",
    ]


def test_gap_and_missing_value_interpolated_together(tmp_path: Path) -> None:
    csv = csv_of(["2024-03-01 00:00", "2024-03-01 01:00", "2024-03-01 03:00", "2024-03-01 04:00"], [0, "", 30, 40])
    ds = load(tmp_path, csv, time_column="t", missing="interpolate")
    assert ds.series[0].values[:, 0].tolist() == [0, 10, 20, 30, 40]
    assert ds.notes[1:] == ["1 row(s) with missing values filled (data.missing: interpolate)"]  # not the gap too


def test_a_column_with_no_values_at_all(tmp_path: Path) -> None:
    text = data_error(tmp_path, csv_of(["1", "2"], ["", ""]), time_column="t", missing="ffill")
    assert "column 'y' has no values at all" in text


def test_irregular_timestamps(tmp_path: Path) -> None:
    times = [f"2024-01-01 {h:02d}:00" for h in range(6)] + ["2024-01-01 06:30", "2024-01-01 07:00"]
    text = data_error(tmp_path, csv_of(times, list(range(8))), time_column="t", missing="interpolate")
    assert "irregular timestamps: 2024-01-01 06:30 does not fall on the series' step of h" in text


@pytest.mark.parametrize(("months", "alias"), [(1, "MS"), (3, "QS"), (12, "YS")])
def test_rows_on_one_day_of_their_months_are_named_monthly_with_the_resample_that_dates_them(
    tmp_path: Path, months: int, alias: str
) -> None:
    """A month, quarter or year apart on the 15th: not a fixed step in days, and a month's step is on its first or
    last day; the message says so, and the hint's resample is the one for the rows' period."""
    times = [str(np.datetime64("2020-01", "M") + np.timedelta64(months * k, "M")) + "-15" for k in range(30)]
    text = data_error(tmp_path, csv_of(times, list(range(30))), time_column="t")
    assert "irregular timestamps: the rows fall on day 15 of their months" in text, text
    assert f"{{freq: {alias}, how: last}}" in text, text


# ---------------------------------------------------------------- series


def test_series_column_splits_in_order_of_appearance(tmp_path: Path) -> None:
    csv = "t,tank,y\n2,Tank B,21\n1,Tank B,20\n1,Tank A,10\n2,Tank A,11\n3,Tank A,12\n1,Tank C,30\n"
    ds = load(tmp_path, csv, time_column="t", series_column="tank")
    assert ds.names == ["Tank B", "Tank A", "Tank C"]
    assert [s.values[:, 0].tolist() for s in ds.series] == [[20, 21], [10, 11, 12], [30]]
    assert [s.times.tolist() for s in ds.series] == [[1, 2], [1, 2, 3], [1]]
    assert ds.notes == ["rows of series 'Tank B' were not in time order; sorted by t"]


def test_series_names_that_differ_in_case_or_spacing_are_named_together(tmp_path: Path) -> None:
    """'North' with two rows labelled 'north ' (read as 'north'): two series, most likely one; a note says so,
    and a message about either (North's gap) names the other, since an error drops the notes."""
    rows = [("North", t) for t in range(1, 9) if t not in (3, 4)] + [("north ", 3), ("north ", 4), ("0101", 1)]
    rows += [("0101", 2), ("101", 3), ("101", 4), ("Tank E", 1), ("Tank E", 2), ("²", 1), ("²", 2)]
    csv = "t,store,y\n" + "".join(f"{t},{s},1\n" for s, t in rows)
    ds = load(tmp_path, csv, time_column="t", series_column="store", missing="interpolate")
    assert ds.names == ["North", "north", "0101", "101", "Tank E", "²"]
    assert ds.notes[0] == (
        "series ['North', 'north', '0101', '101'] are names that differ only in case, spacing, leading zeros or a "
        "trailing .0: read as separate series; write each name one way if they are one"
    )
    text = data_error(tmp_path, csv, time_column="t", series_column="store")
    assert (
        "2 missing timestamp(s) of series 'North' (not one with 'north': names that differ in case, spacing or "
        "zeros are two series)" in text
    ), text
    assert not [n for n in load(tmp_path, csv.replace("north ", "South"), time_column="t", series_column="store",
                                missing="interpolate").notes if "differ only" in n and "South" in n]  # fmt: skip


def test_rows_on_the_first_of_months_off_their_step_are_not_said_to_be_off_the_first(tmp_path: Path) -> None:
    """Rows on the 1st, 50 then 40 months apart: off the 50-month step; the message said they fall on day 1 and a
    monthly step is on the first or the last day of a month, which contradicts itself."""
    text = data_error(tmp_path, csv_of(["1983-05-01", "1987-07-01", "1990-11-01"], [1, 2, 3]), time_column="t",
                      missing="interpolate")  # fmt: skip
    assert "irregular timestamps: 1990-11-01 does not fall on the series' step of 50MS from 1983-05-01" in text, text


@pytest.mark.parametrize(("first", "typo"), [("2020-01-31", "2021-05-27"), ("2020-01-01", "2021-05-02")])
def test_one_wrong_date_among_monthly_rows_is_named_by_its_line(tmp_path: Path, first: str, typo: str) -> None:
    """Month ends (or starts) with one typo: the file is still monthly and the typo's row is named with its line;
    it was read as a fixed step of 31 days, a correct row named, and an hourly resample suggested."""
    anchor = "end" if first.endswith("31") else "start"
    months = np.datetime64(first[:7], "M") + np.arange(24)
    one_month, one_day = np.timedelta64(1, "M"), np.timedelta64(1, "D")
    days = (months + one_month).astype("datetime64[D]") - one_day if anchor == "end" else months.astype("datetime64[D]")
    times = [typo if str(d)[:7] == typo[:7] else str(d) for d in days]
    text = data_error(tmp_path, csv_of(times, list(range(24))), time_column="t")
    step = "ME" if anchor == "end" else "MS"
    assert f"irregular timestamps: {typo} does not fall on the series' step of {step} from {first} (line 18)" in text
    assert f"{{freq: {step}, how: mean}}" in text, text


def test_years_and_months_written_as_one_number_get_the_format_that_reads_them(tmp_path: Path) -> None:
    """198001 to 198112: whole numbers a step of 1 apart but for 88 at each new year; the missing-timestamps error
    (198013, ...) hints data.time_format '%Y%m', which reads them as 24 months."""
    times = [f"{y}{m:02d}" for y in (1980, 1981) for m in range(1, 13)]
    text = data_error(tmp_path, csv_of(times, list(range(24))), time_column="t")
    assert "88 missing timestamp(s) at a step of 1, first 198013" in text, text
    assert "give data.time_format: '%Y%m' to read them as months" in text, text
    ds = load(tmp_path, csv_of(times, list(range(24))), time_column="t", time_format="%Y%m")
    assert ds.freq is not None and ds.freq.alias == "MS" and len(ds.series[0]) == 24


def test_dates_written_as_one_number_get_the_format_that_reads_them(tmp_path: Path) -> None:
    """20240120 to 20240218: whole numbers, a step of 1 apart but for 70 at the month's end. The missing-timestamps
    error (20240132, ...: no dates) hints data.time_format '%Y%m%d', as does the note of data.missing: interpolate,
    which fills 69 rows that are no days; the format reads them as 30 days."""
    days = np.datetime64("2024-01-20") + np.arange(30)
    times = [str(d).replace("-", "") for d in days]
    text = data_error(tmp_path, csv_of(times, list(range(30))), time_column="t")
    assert "69 missing timestamp(s) at a step of 1, first 20240132" in text, text
    assert "give data.time_format: '%Y%m%d' to read them as dates" in text, text
    filled = load(tmp_path, csv_of(times, list(range(30))), time_column="t", missing="interpolate")
    assert any("give data.time_format: '%Y%m%d'" in n for n in filled.notes), filled.notes
    ds = load(tmp_path, csv_of(times, list(range(30))), time_column="t", time_format="%Y%m%d")
    assert ds.freq is not None and ds.freq.alias == "D" and len(ds.series[0]) == 30
    assert not timeaxis.yyyymmdd(np.array([20240230, 20240301]))  # February has no 30th


def test_daily_rows_at_local_midnight_with_offsets_across_daylight_saving_get_the_fix(tmp_path: Path) -> None:
    """Local midnight with its UTC offset (+01:00, then +02:00 from March 31): 23:00 UTC, then 22:00 UTC, read in
    UTC. The times are said to be UTC, and the hint is to drop the offsets (a daily resample would shift every
    summer day back one)."""
    days = np.datetime64("2024-03-25") + np.arange(14)
    times = [f"{d}T00:00:00{'+02:00' if d >= np.datetime64('2024-03-31') else '+01:00'}" for d in days]
    text = data_error(tmp_path, csv_of(times, list(range(14))), time_column="t")
    assert "2024-03-30 22:00 UTC does not fall on the series' step of D from 2024-03-24 23:00 UTC (line 8)" in text
    assert "write the dates without their offsets (2024-03-31)" in text, text


def test_a_date_format_not_guessed_gets_the_way_to_give_it(tmp_path: Path) -> None:
    """Excel's 03/01/2024 12:00 AM: not read, and the hint names data.time_format with a format that reads it."""
    csv = "t,y\n03/01/2024 12:00 AM,1\n03/01/2024 01:00 AM,2\n"
    text = data_error(tmp_path, csv, time_column="t")
    assert "time column 't', line 2: '03/01/2024 12:00 AM' is not a date or an integer" in text
    assert (
        """hint: give the column's format as data.time_format, e.g. --set 'data.time_format="%m/%d/%Y %I:%M %p"'"""
        in text
    )
    ds = load(tmp_path, csv, time_column="t", time_format="%m/%d/%Y %I:%M %p")  # the hint's format reads it
    assert ds.series[0].times.astype("datetime64[h]").astype(str).tolist() == ["2024-03-01T00", "2024-03-01T01"]


def test_series_names_are_stripped_on_both_sides(tmp_path: Path) -> None:
    """A trailing space (Excel keeps one a user typed) makes no second series: 'A ' is 'A', as ' A' was already."""
    ds = load(tmp_path, "t,s,y\n1,A,1\n2,A ,2\n3, A,3\n1,B\t,4\n", time_column="t", series_column="s")
    assert ds.names == ["A", "B"]
    assert ds.series[0].values[:, 0].tolist() == [1, 2, 3]


def test_missing_series_name(tmp_path: Path) -> None:
    text = data_error(tmp_path, "t,s,y\n1,A,1\n2,,2\n", time_column="t", series_column="s")
    assert text == f"{tmp_path / 'd.csv'}: series column 's', line 3: the series name is missing"


def test_sample_tanks(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    cfg = DataConfig(
        path=root / "sample_data" / "tanks.csv",
        time_column="time",
        series_column="tank",
        targets=["pressure", "temperature"],
    )
    ds = load_dataset(cfg)
    assert ds.names == ["Tank A", "Tank B", "Tank C", "Tank D"]
    assert [len(s) for s in ds.series] == [1440] * 4
    assert ds.freq == Freq("fixed", 3600 * 10**9)


# ---------------------------------------------------------------- split and scaler


def index_dataset(*lengths: int) -> Dataset:
    series = [Series(f"s{i}", np.arange(n), np.arange(n, dtype=np.float64)[:, None]) for i, n in enumerate(lengths)]
    return Dataset(series, ["y"], [], "integer", Freq("integer", 1), "memory.csv")


def test_split_parts_fractions_and_counts() -> None:
    ds = index_dataset(100, 10)
    parts = split_parts(ds, DataConfig(path="m.csv", targets=["y"], split={"val": 0.1, "test": 0.2}))
    assert [(p.train_end, p.val_end, p.n) for p in parts] == [(70, 80, 100), (7, 8, 10)]
    assert parts[0].bounds("train") == (0, 70)
    assert parts[0].bounds("val") == (70, 80)
    assert parts[0].bounds("test") == (80, 100)
    parts = split_parts(ds, DataConfig(path="m.csv", targets=["y"], split={"val": 3, "test": 4}))
    assert [(p.train_end, p.val_end, p.n) for p in parts] == [(93, 96, 100), (3, 6, 10)]
    parts = split_parts(ds, DataConfig(path="m.csv", targets=["y"], split={"val": 0, "test": 0}))
    assert [p.bounds("val") for p in parts] == [(100, 100), (10, 10)]


def test_split_parts_too_few_training_rows() -> None:
    ds = index_dataset(100, 10)
    with pytest.raises(DataError) as err:
        split_parts(ds, DataConfig(path="m.csv", targets=["y"], split={"val": 3, "test": 4}), min_train=5)
    assert err.value.render().startswith(
        "memory.csv: series 's1' has 10 rows: after data.split val=3 and test=4 rows, 3 remain for training, "
        "fewer than the 5 needed"
    )
    assert (err.value.hint or "").endswith(", or leave series 's1' out of the data")  # 's0' has rows enough


def test_scaler_fitted_on_the_training_part_only() -> None:
    # values 0..9 and 0..19; train parts [0, 6) and [0, 14): val and test rows must not move the statistics
    ds = index_dataset(10, 20)
    parts = split_parts(ds, DataConfig(path="m.csv", targets=["y"], split={"val": 0.2, "test": 0.1}))
    assert [p.train_end for p in parts] == [7, 14]
    std = Scaler.fit("standard", ds, parts)
    assert std.center[:, 0].tolist() == [3.0, 6.5]  # mean of 0..6 and of 0..13
    assert std.scale[:, 0].tolist() == pytest.approx([2.0, np.sqrt((14**2 - 1) / 12)])  # population std
    mm = Scaler.fit("minmax", ds, parts)
    assert mm.center[:, 0].tolist() == [0.0, 0.0] and mm.scale[:, 0].tolist() == [6.0, 13.0]
    none = Scaler.fit("none", ds, parts)
    assert none.center.tolist() == [[0.0], [0.0]] and none.scale.tolist() == [[1.0], [1.0]]

    x = ds.series[1].values
    z = mm.transform(1, x)
    assert z[[0, 13], 0].tolist() == [0.0, 1.0] and z[19, 0] == pytest.approx(19 / 13)
    assert mm.inverse(1, z) == pytest.approx(x)


def test_scaler_constant_column_is_only_centred() -> None:
    series = [Series("c", np.arange(4), np.array([[5.0, 0.0], [5.0, 1.0], [5.0, 2.0], [9.0, 3.0]]))]
    ds = Dataset(series, ["y"], ["x"], "integer", None, "m.csv")
    from seqcast.data import Parts

    sc = Scaler.fit("standard", ds, [Parts(train_end=3, val_end=4, n=4)])
    assert sc.center.tolist() == [[5.0, 1.0]]
    assert sc.scale[0, 0] == 1.0  # constant in training: never divided by zero
    assert sc.transform(0, series[0].values)[:, 0].tolist() == [0.0, 0.0, 0.0, 4.0]
    assert sc.inverse(0, np.array([[1.0]]), n_cols=1).tolist() == [[6.0]]


def test_scaler_json_round_trip() -> None:
    ds = index_dataset(10, 20)
    parts = split_parts(ds, DataConfig(path="m.csv", targets=["y"]))
    sc = Scaler.fit("standard", ds, parts)
    doc = sc.to_json(ds.names, ["y"])
    assert doc["kind"] == "standard" and doc["series"]["s0"]["y"]["center"] == 3.0
    back = Scaler.from_json(doc, ds.names, ["y"])
    assert back.kind == "standard"
    assert back.center.tolist() == sc.center.tolist() and back.scale.tolist() == sc.scale.tolist()


@pytest.mark.parametrize("block", [1, 3, 7, 1000])
def test_scaler_in_blocks_equals_numpy_on_the_whole_part(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Scaler.fit reads the training part a block of rows at a time (no temporary of its size)
    import seqcast.data as data
    import seqcast.prepare as prepare

    monkeypatch.setattr(prepare, "_STAT_ROWS", block)
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.standard_normal((50, 3)), axis=0) * 10 + 100
    ds = Dataset([Series("a", np.arange(50), values)], ["y"], ["u", "v"], "integer", None, "m.csv")
    parts = [data.Parts(train_end=41, val_end=45, n=50)]
    std = Scaler.fit("standard", ds, parts)
    assert std.center[0] == pytest.approx(values[:41].mean(axis=0), rel=1e-14)
    assert std.scale[0] == pytest.approx(values[:41].std(axis=0), rel=1e-12)
    mm = Scaler.fit("minmax", ds, parts)
    assert mm.center[0].tolist() == values[:41].min(axis=0).tolist()  # exact: min and max do not round
    assert mm.scale[0].tolist() == (values[:41].max(axis=0) - values[:41].min(axis=0)).tolist()


def test_a_guessed_reading_of_dates_that_read_both_ways_is_a_note_and_a_given_format_is_none(tmp_path: Path) -> None:
    csv = "t,y\n" + "".join(f"{m:02d}/01/2020,{m}\n" for m in range(1, 13))  # monthly, or daily day-first
    ds = load(tmp_path, csv, time_column="t")
    assert ds.freq is not None and ds.freq.alias == "MS"
    assert [n for n in ds.notes if "read both day-first and month-first: read month-first" in n] == [
        "time column 't': dates such as '01/01/2020' read both day-first and month-first: read month-first "
        "(%m/%d/%Y); data.time_format: '%d/%m/%Y' reads them the other way"
    ]
    ds = load(tmp_path, csv, time_column="t", time_format="%d/%m/%Y")  # said outright: daily, and nothing to say
    assert ds.freq is not None and ds.freq.alias == "D" and not [n for n in ds.notes if "both" in n]


def test_an_unclosed_quote_in_a_small_file_is_named_not_quoted_whole(tmp_path: Path) -> None:
    rows = "".join(f"{t},1000\n" for t in range(2, 60))
    message = data_error(tmp_path, f'year,volume\n1,"1000\n{rows}', time_column="year", targets=["volume"])
    assert message == (
        f"{tmp_path / 'd.csv'}: column 'volume', line 2: a quoted field of 59 lines ('1000\\n2,1000\\n3,1000\\n4'...) "
        'is not a number\n  hint: a quote (") that is never closed makes the rest of the file one field: close it, '
        "or remove it"
    )


def test_a_closed_quoted_field_over_lines_is_named_without_the_unclosed_hint(tmp_path: Path) -> None:
    message = data_error(tmp_path, 'year,volume\n1,"10\n00"\n2,5\n', time_column="year", targets=["volume"])
    assert (
        message
        == f"{tmp_path / 'd.csv'}: column 'volume', line 2: a quoted field of 2 lines ('10\\n00') is not a number"
    )
