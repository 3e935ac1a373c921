"""data.static: columns that hold one value per series, checked as the data is read and as update adds rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seqcast.errors import DataError
from seqcast.timeaxis import TimeKind, fmt


def check_static(series: list[Any], cfg: Any, source: str, rows_of: list[np.ndarray], at: Callable[[int], str]) -> None:
    """Refuse a data.static column that varies within a series, naming the column, the series and the file lines
    of its first row and of the first row that differs. rows_of[i]: each row of series i's index in the input
    (-1 for a row that data.missing filled); at(index): that row's place ('line 7', 'b.csv line 7')."""
    first_static = len(cfg.targets) + len(cfg.features) + len(cfg.past_features)
    for s, ix in zip(series, rows_of, strict=True):
        block = s.values[:, first_static : first_static + len(cfg.static)]
        varies = np.flatnonzero((block != block[:1]).any(axis=0))
        if not len(varies):
            continue
        j = int(varies[0])
        differ = np.flatnonzero(block[:, j] != block[0, j])
        read = differ[ix[differ] >= 0]  # a row of the file rather than one filled between two
        row = int(read[0] if len(read) else differ[0])
        who = f" of series {s.name!r}" if s.name else ""
        where = at(int(ix[row])) if ix[row] >= 0 else "a row data.missing filled"
        first = f" at {at(int(ix[0]))} (its first row)" if ix[0] >= 0 else " in its first row"
        raise DataError(
            f"static column {cfg.static[j]!r}{who} is not constant: {block[0, j]:g}{first}, {block[row, j]:g} at "
            f"{where}",
            where=source,
            hint="a static column holds one value per series (a region code, a size); list a changing column "
            "in data.features or data.past_features",
        )


def check_known(
    label: str,
    static: list[int],
    inputs: list[str],
    known: np.ndarray,
    values: np.ndarray,
    times: np.ndarray,
    kind: TimeKind,
    path: Any,
) -> None:
    """Refuse new rows (update) whose static value is not the series' own, `known` (its last row in the run): the
    state would carry it into every forecast. static: the static inputs' positions in `inputs`."""
    for j in static:
        off = np.flatnonzero(values[:, j] != known[j])
        if len(off):
            raise DataError(
                f"{label}: static column {inputs[j]!r} is {values[off[0], j]:g} at {fmt(times[off[0]], kind)}, but "
                f"{known[j]:g} in the run: data.static holds one value per series",
                where=str(path),
                hint=f"send the series' own {inputs[j]!r}, or train a new run",
            )
