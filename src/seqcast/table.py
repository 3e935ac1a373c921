"""The forecast table: named columns of numpy arrays, and their CSV text, without importing pandas.

The text is the bytes of pandas' `DataFrame.to_csv(index=False)` for the same columns: pandas writes each float
with numpy's shortest repr, an empty cell for NaN, and every time of a column at the coarsest resolution that
shows each time exactly (dates only, seconds, milliseconds, ...); the csv module writes Python's repr of the same
floats, and numpy the times at the resolution chosen here. A column of another kind (float32, objects that are
not all strings, times other than naive nanoseconds) sends the table through pandas.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Unit = Literal["D", "s", "ms", "us", "ns"]
_NS: dict[Unit, int] = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3}


@dataclass
class Table:
    """Columns of equal length, in order; `utc` names the time columns that are in UTC (the data's times had UTC
    offsets), which the CSV writes with theirs (`2024-01-13 10:00:00+00:00`, through pandas), so that they read
    back as the times they are."""

    data: dict[str, np.ndarray]
    utc: tuple[str, ...] = ()
    fine: tuple[str, ...] = ()  # time columns written to the second at least (a run whose step is under a day)

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def to_pandas(self) -> Any:
        import pandas as pd

        df = pd.DataFrame(self.data)
        for c in self.utc:
            df[c] = df[c].dt.tz_localize("UTC")
        return df

    def to_csv(self) -> str:
        """The CSV text, as pandas' to_csv(index=False) writes it."""
        cells = [_cells(v, c in self.fine) for c, v in self.data.items()]
        if self.utc or any(c is None for c in cells):
            fine = "%Y-%m-%d %H:%M:%S" if self.fine and not self.utc else None  # offsets show the time anyway
            return str(self.to_pandas().to_csv(index=False, date_format=fine))
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator=os.linesep)  # pandas' defaults: minimal quoting, os.linesep
        out.writerow(self.data)
        out.writerows(zip(*cells, strict=True))
        return buf.getvalue()


def heading(table: Any, column: str) -> str:
    """A column's heading in a printed table: its name, and ` (UTC)` for a time column in UTC."""
    return f"{column} (UTC)" if column in getattr(table, "utc", ()) else column


def shown(values: np.ndarray, fine: bool = False) -> list[Any]:
    """A column's cells for a printed table: times written as the CSV writes them, at the resolution these cells
    need (a daily forecast shows dates only; `fine`: the second at least), other values as Python values."""
    if values.dtype == np.dtype("datetime64[ns]"):
        return _times(values, fine) or [str(v) for v in values]
    return list(values.tolist())


def number(v: float) -> str:
    """A forecast's value as a table shows it: four significant digits, or every digit before the point of a larger
    number (13021.4 as 13021, not 1.302e+04, which hides the step-to-step moves), no exponent below 1e15."""
    if v != v or v in (float("inf"), float("-inf")) or v == 0 or not 1e-4 <= abs(v) < 1e15:
        return f"{v:.4g}"
    return f"{v:.{max(4, len(str(round(abs(v)))))}g}"  # the digits before the point, once rounded


def _cells(values: np.ndarray, fine: bool = False) -> list[Any] | None:
    """A column's cells as the csv module should write them, or None where only pandas formats it right."""
    if values.dtype == np.float64:  # float32: pandas writes float32's own shortest repr
        cells = values.tolist()
        return ["" if v != v else v for v in cells] if np.isnan(values).any() else cells  # NaN: an empty cell
    if values.dtype.kind in "iu":
        return list(values.tolist())
    if values.dtype == np.dtype("datetime64[ns]"):
        return _times(values, fine)
    if values.dtype.kind == "O" and all(isinstance(v, str) for v in values):
        return list(values.tolist())
    return None


def _times(values: np.ndarray, fine: bool = False) -> list[str] | None:
    """Naive times as pandas writes them: the date alone when every time is midnight (unless `fine`: an hourly
    forecast's midnights keep their 00:00:00), else date and time to the second, millisecond, microsecond or
    nanosecond, whichever every value needs."""
    if (values != values).any():  # NaT: pandas writes an empty cell
        return None
    ns = values.view(np.int64)
    unit: Unit = next((u for u, step in _NS.items() if not (ns % step).any() and not (fine and u == "D")), "ns")
    text = np.datetime_as_string(values, unit=unit).tolist()
    return text if unit == "D" else [t.replace("T", " ") for t in text]


def write_table(frame: Table, path: Path) -> None:
    """CSV or parquet by suffix, written atomically."""
    from seqcast import files

    if path.suffix.lower() in files.PARQUET:
        buf = io.BytesIO()
        frame.to_pandas().to_parquet(buf, index=False)
        files.atomic_write(path, buf.getvalue())
    else:
        files.atomic_write(path, frame.to_csv().encode())
