"""A parquet file's nulls are missing values, as a blank CSV cell is: pandas' NA in nullable Int64, Float64 and
string columns, None, NaN; a null series name is refused like a blank one; a column written as the index
(df.set_index("date").to_parquet(...)) is a column of the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seqcast.config import DataConfig
from seqcast.data import Dataset, load_dataset
from seqcast.errors import DataError


def frame() -> pd.DataFrame:
    """Two series 'A' and 'B' of six years each whose y is the year minus 2000 (B: plus 100)."""
    years = np.arange(2000, 2006)
    return pd.DataFrame(
        {"year": np.tile(years, 2), "s": np.repeat(["A", "B"], 6), "y": np.r_[years - 2000.0, years - 1900.0]}
    )


def load(path: Path, **data: Any) -> Dataset:
    return load_dataset(DataConfig(path=path, time_column="year", series_column="s", targets=["y"], **data))


@pytest.mark.parametrize("dtype", ["Float64", "Int64", "float64", "object"])
def test_a_null_target_is_a_missing_value(tmp_path: Path, dtype: str) -> None:
    df = frame()
    df["y"] = df["y"].astype(dtype)
    df.loc[2, "y"] = pd.NA if dtype in ("Float64", "Int64") else None  # A's year 2002
    df.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(DataError) as err:  # data.missing: error names the series, column and the file's row
        load(tmp_path / "d.parquet")
    said = " ".join(err.value.render().split())
    assert "column(s) ['y'] of series 'A' at row(s) [3]" in said and "not a number" not in said, said
    a, b = load(tmp_path / "d.parquet", missing="interpolate").series
    np.testing.assert_array_equal(a.values[:, 0], np.arange(6.0))  # filled between 1 and 3: 2
    np.testing.assert_array_equal(b.values[:, 0], np.arange(100.0, 106.0))


@pytest.mark.parametrize("dtype", ["string", "object", "category"])
def test_a_null_series_name_is_refused_like_a_blank_one(tmp_path: Path, dtype: str) -> None:
    df = frame()
    df["s"] = df["s"].astype(dtype)
    df.loc[8, "s"] = None  # B's third row
    df.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(DataError) as err:
        load(tmp_path / "d.parquet")
    said = " ".join(err.value.render().split())
    assert said.startswith(f"{tmp_path / 'd.parquet'}: series column 's', row 9: the series name is missing"), said


def test_columns_written_as_the_index_are_read(tmp_path: Path) -> None:
    frame().set_index("year").to_parquet(tmp_path / "one.parquet")
    frame().set_index(["s", "year"]).to_parquet(tmp_path / "two.parquet")
    whole = load(tmp_path / "one.parquet")
    for ds in (whole, load(tmp_path / "two.parquet")):
        assert ds.names == ["A", "B"]
        np.testing.assert_array_equal(ds.series[0].times, np.arange(2000, 2006))
        np.testing.assert_array_equal(ds.series[1].values[:, 0], np.arange(100.0, 106.0))
