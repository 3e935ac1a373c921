"""table.Table.to_csv writes the bytes pandas' to_csv(index=False) writes, for the tables a forecast makes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcast.table import Table

letters = st.characters(min_codepoint=1, max_codepoint=0x2FFF, blacklist_categories=("Cs",))  # commas, quotes, \n
names = st.text(letters, min_size=1, max_size=8)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-05, 1e16, 123456.5, 0.1])
steps = st.sampled_from([86_400 * 10**9, 3_600 * 10**9, 10**9, 10**6, 7 * 10**3, 1])


@settings(max_examples=200, deadline=None)
@given(
    series=st.lists(names, min_size=1, max_size=4),
    start=st.integers(-3 * 10**18, 3 * 10**18),  # 1875 to 2065
    step=steps,
    rows=st.integers(0, 6),
    cells=st.data(),
)
def test_a_forecast_table_is_written_as_pandas_writes_it(
    series: list[str], start: int, step: int, rows: int, cells: st.DataObject
) -> None:
    n = len(series) * rows
    times = (start - start % step + step * np.tile(np.arange(rows), len(series))).astype("datetime64[ns]")
    table = Table(
        {
            "series": np.repeat(np.array(series, dtype=object), rows),
            "time": times,
            'y, "quoted"': np.array(cells.draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
            "step": np.arange(n, dtype=np.int64) - 3,
        }
    )
    assert table.to_csv() == pd.DataFrame(table.data).to_csv(index=False)


def test_columns_it_does_not_format_itself_go_through_pandas() -> None:
    """float32, NaT, a number among strings, times in seconds: the text is pandas' own."""
    data = {
        "y": np.array([0.1, 0.2, np.nan], dtype=np.float32),
        "when": np.array(["2024-01-01", "NaT", "2024-01-02"], dtype="datetime64[ns]"),
        "mixed": np.array(["a", 1.5, None], dtype=object),
        "seconds": np.array(["2024-01-01T01", "2024-01-01T02", "2024-01-03"], dtype="datetime64[s]"),
    }
    for name, values in data.items():
        assert Table({name: values}).to_csv() == pd.DataFrame({name: values}).to_csv(index=False), name
    assert Table(data).to_csv() == pd.DataFrame(data).to_csv(index=False)


def test_a_printed_table_shows_times_as_the_csv_has_them() -> None:
    from seqcast.table import shown

    hours = np.array(["2024-04-30T09:00", "2024-04-30T10:00"], dtype="datetime64[ns]")
    days = np.array(["2024-04-30", "2024-05-01"], dtype="datetime64[ns]")
    assert shown(hours) == ["2024-04-30 09:00:00", "2024-04-30 10:00:00"]
    assert shown(days) == ["2024-04-30", "2024-05-01"]
    assert shown(np.array([1.5, 2.0])) == [1.5, 2.0] and shown(np.array([3, 4])) == [3, 4]
    assert len(Table({})) == 0 and Table({"a": np.arange(3)}).columns == ["a"]


def test_a_fine_time_column_keeps_the_time_of_its_midnights_on_every_path() -> None:
    """An hourly run's one-step forecast at midnight is written 2024-04-30 00:00:00, as its other forecasts
    are, not 2024-04-30 (pandas drops the time when every value is midnight)."""
    from seqcast.table import shown

    midnight = np.array(["2024-04-30", "2024-05-01"], dtype="datetime64[ns]")
    assert shown(midnight, fine=True) == ["2024-04-30 00:00:00", "2024-05-01 00:00:00"]
    assert Table({"t": midnight}, fine=("t",)).to_csv().splitlines() == [
        "t",
        "2024-04-30 00:00:00",
        "2024-05-01 00:00:00",
    ]
    with_nat = np.array(["2024-04-30", "NaT"], dtype="datetime64[ns]")  # pandas' path, told the same
    assert Table({"t": with_nat}, fine=("t",)).to_csv().splitlines()[:2] == ["t", "2024-04-30 00:00:00"]
    assert Table({"t": midnight}).to_csv().splitlines() == ["t", "2024-04-30", "2024-05-01"]  # a daily run's
    half = np.array(["2024-04-30T00:00:00.5"], dtype="datetime64[ns]")  # finer than seconds: as finely as needed
    assert Table({"t": half}, fine=("t",)).to_csv().splitlines()[1] == "2024-04-30 00:00:00.500"
