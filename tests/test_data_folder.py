"""data.path may be a folder of CSV and parquet files: read one file at a time, one or more series per file,
a series may continue from one file into the next, and every error names the file and line at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seqcast.config import DataConfig
from seqcast.data import Dataset, load_dataset
from seqcast.errors import ConfigError, DataError


def rows(series: str, years: range, offset: float = 0.0) -> str:
    """Lines `year,series,y` whose y is the year minus 2000 plus offset."""
    return "".join(f"{t},{series},{t - 2000 + offset}\n" for t in years)


def load(path: Path, **data: Any) -> Dataset:
    data.setdefault("targets", ["y"])
    return load_dataset(DataConfig(path=path, time_column="year", series_column="s", **data))


def error(path: Path, **data: Any) -> str:
    with pytest.raises(DataError) as err:
        load(path, **data)
    assert err.value.exit_code == 1
    return " ".join(err.value.render().split())


def test_folder_equals_one_file(tmp_path: Path) -> None:
    header = "year,s,y\n"
    (tmp_path / "one.csv").write_text(header + rows("A", range(2000, 2010)) + rows("B", range(2000, 2010), 100))
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text(header + rows("A", range(2000, 2010)))
    (folder / "b.csv").write_text(header + rows("B", range(2000, 2010), 100))
    (folder / "notes.txt").write_text("not data")  # ignored: only .csv and .parquet files are read
    whole, parts = load(tmp_path / "one.csv"), load(folder)
    assert parts.names == whole.names == ["A", "B"]
    for a, b in zip(whole.series, parts.series, strict=True):
        np.testing.assert_array_equal(a.times, b.times)
        np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(parts.series[1].values[:, 0], np.arange(10) + 100.0)


def test_series_continues_across_files_and_parquet(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    (tmp_path / "2000s.csv").write_text("year,s,y\n" + rows("A", range(2000, 2005)))
    later = pd.DataFrame({"year": range(2005, 2010), "s": "A", "y": [t - 2000.0 for t in range(2005, 2010)]})
    later.to_parquet(tmp_path / "2005s.parquet")
    (s,) = load(tmp_path).series
    np.testing.assert_array_equal(s.times, np.arange(2000, 2010))
    np.testing.assert_array_equal(s.values[:, 0], np.arange(10.0))


def test_files_may_list_rows_out_of_order_and_have_extra_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2005, 2010)))
    (tmp_path / "b.csv").write_text("year,s,y,unused\n" + "".join(f"{t},A,{t - 2000},x\n" for t in range(2000, 2005)))
    ds = load(tmp_path)
    np.testing.assert_array_equal(ds.series[0].values[:, 0], np.arange(10.0))
    assert any("not in time order" in n for n in ds.notes)


def test_non_number_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2005)))
    (tmp_path / "b.csv").write_text("year,s,y\n2005,A,5\n2006,A,six\n")
    assert error(tmp_path).startswith(f"{tmp_path / 'b.csv'}: column 'y', line 3: 'six' is not a number hint:")


def test_missing_column_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2005)))
    (tmp_path / "b.csv").write_text("year,s,z\n2005,A,5\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert "'y' is not a column of " + str(tmp_path / "b.csv") in err.value.render()


def test_duplicate_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2005)))
    (tmp_path / "b.csv").write_text("year,s,y\n2005,A,5\n2003,A,3\n")
    text = error(tmp_path)
    assert "duplicate timestamp 2003 of series 'A' at a.csv line 5 and b.csv line 3" in text


def test_nan_rows_named_by_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2005)))
    (tmp_path / "b.csv").write_text("year,s,y\n2005,A,\n2006,A,6\n")
    text = error(tmp_path)
    assert "at ['b.csv line 2']" in text and "data.missing" in text


def test_a_parquet_files_rows_are_rows_not_lines(tmp_path: Path) -> None:
    """A parquet file has no lines: each message names its rows, counted from 1, as rows."""
    import pandas as pd

    def parquet(path: Path, years: list[Any], names: list[str], ys: list[Any]) -> Path:
        pd.DataFrame({"year": years, "s": names, "y": ys}).to_parquet(path)
        return path

    one = parquet(tmp_path / "d.parquet", [2000, 2001, 2001], ["A"] * 3, [1.0, 2.0, 3.0])
    assert f"{one}: duplicate timestamp 2001 of series 'A' at rows 2 and 3" in error(one)
    one = parquet(tmp_path / "d.parquet", [2000, 2001, 2002], ["A"] * 3, [1.0, None, 3.0])
    assert "['y'] of series 'A' at row(s) [2]" in error(one)
    one = parquet(tmp_path / "d.parquet", [2000, 2001, 2002], ["A"] * 3, ["1", "x", "3"])
    assert "column 'y', row 2: 'x' is not a number" in error(one)
    one = parquet(tmp_path / "d.parquet", [2000, 2001, 2002], ["A", " ", "A"], [1.0, 2.0, 3.0])
    assert "series column 's', row 2: the series name is missing" in error(one)
    one = parquet(tmp_path / "d.parquet", ["2000", "x", "2002"], ["A"] * 3, [1.0, 2.0, 3.0])
    assert "time column 'year', row 2: 'x'" in error(one)
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2003)))
    parquet(folder / "b.parquet", [2002, 2003], ["A", "A"], [1.0, 2.0])
    assert "duplicate timestamp 2002 of series 'A' at a.csv line 4 and b.parquet row 1" in error(folder)


def test_mixed_time_kinds_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("year,s,y\n2000,A,1\n2001,A,2\n")
    (tmp_path / "b.csv").write_text("year,s,y\n2024-01-01,A,3\n")
    assert error(tmp_path) == (
        f"{tmp_path / 'b.csv'}: time column 'year' holds datetime values here but integer values in a.csv"
    )


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no data here")
    assert error(tmp_path) == f"{tmp_path}: the folder holds no .csv or .parquet files (it holds readme.txt)"


def test_a_folders_file_of_no_bytes_adds_no_rows_as_one_with_a_header_only(tmp_path: Path) -> None:
    """A job that creates today's file before it writes it: a file of no bytes in a folder is skipped, as a file
    with a header only is (it stopped the whole read with 'the file is empty'); alone, it is still refused."""
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2003)))
    (tmp_path / "b.csv").write_bytes(b"")
    assert load(tmp_path).series[0].values[:, 0].tolist() == [0.0, 1.0, 2.0]
    (tmp_path / "a.csv").unlink()
    assert error(tmp_path) == f"{tmp_path / 'b.csv'}: the file is empty"


def test_a_folders_files_that_are_not_read_are_named_in_a_note(tmp_path: Path) -> None:
    """A series in a .tsv, a .csv.gz or a subfolder was missing without a word; hidden and lock files are not
    named (they are never data)."""
    (tmp_path / "a.csv").write_text("year,s,y\n" + rows("A", range(2000, 2010)))
    for name in ("b.tsv", "c.csv.gz", ".hidden.csv", "~$a.csv"):
        (tmp_path / name).write_text("year,s,y\n")
    (tmp_path / "old").mkdir()
    ds = load(tmp_path)
    assert ds.names == ["A"]
    assert "not read, as data.path reads a folder's .csv and .parquet files only: b.tsv, c.csv.gz, old/" in ds.notes


def test_large_csv_read_in_chunks_equals_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import seqcast.read

    path = tmp_path / "d.csv"
    path.write_text("year,s,y\n" + rows("A", range(2000, 2010)) + rows("B", range(2000, 2010), 100))
    whole = load(path)
    monkeypatch.setattr(seqcast.read, "_PANDAS_ABOVE", 0)  # every CSV counts as large: pandas, in chunks
    monkeypatch.setattr(seqcast.read, "_CHUNK_ROWS", 3)
    chunked = load(path)
    assert chunked.names == whole.names
    for a, b in zip(whole.series, chunked.series, strict=True):
        np.testing.assert_array_equal(a.times, b.times)
        np.testing.assert_array_equal(a.values, b.values)

    path.write_text("year,s,y\n" + rows("A", range(2000, 2007)) + "2007,A,oops\n")  # line 9, in the third chunk
    assert error(path).startswith(f"{path}: column 'y', line 9: 'oops' is not a number hint: a missing value")
    path.write_text("year,s,y\n")
    assert error(path) == f"{path}: the file has a header but no rows"


def test_a_later_file_is_read_in_the_date_format_of_the_first(tmp_path: Path) -> None:
    """a.csv's 13.01.2020 makes its column day-first; b.csv's dates, all days under 13, are read day-first too
    (February 1 and 2), not as month-first's January 2 and February 2."""
    (tmp_path / "a.csv").write_text("day,s,y\n12.01.2020,A,0\n13.01.2020,A,1\n")
    (tmp_path / "b.csv").write_text("day,s,y\n01.02.2020,B,0\n02.02.2020,B,1\n")
    ds = load_dataset(DataConfig(path=tmp_path, time_column="day", series_column="s", targets=["y"]))
    assert ds.time_format == "%d.%m.%Y"
    assert [s.times.astype("datetime64[D]").astype(str).tolist() for s in ds.series] == [
        ["2020-01-12", "2020-01-13"],
        ["2020-02-01", "2020-02-02"],
    ]
    given = load_dataset(DataConfig(path=tmp_path / "b.csv", time_column="day", targets=["y"], time_format="%m.%d.%Y"))
    assert given.series[0].times.astype("datetime64[D]").astype(str).tolist() == ["2020-01-02", "2020-02-02"]
