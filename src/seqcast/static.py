"""data.static: columns that hold one value per series, checked as the data is read and as update adds rows;
and data.series_id, the static 0/1 columns that name each series to the network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seqcast.errors import DataError, listed, some
from seqcast.timeaxis import TimeKind, fmt


def _differ(a: Any, b: Any) -> Any:
    """Static values that differ by more than float arithmetic does (0.30000000000000004 is 0.3: a size computed,
    or a mean of copies); NaN differs from everything."""
    return ~np.isclose(a, b, rtol=1e-9, atol=0.0)


def check_static(series: list[Any], cfg: Any, source: str, rows_of: list[np.ndarray], at: Callable[[int], str]) -> None:
    """Refuse a data.static column that varies within a series, naming the column, the series and the file lines
    of its first row and of the first row that differs. rows_of[i]: each row of series i's index in the input
    (-1 for a row that data.missing filled); at(index): that row's place ('line 7', 'b.csv line 7')."""
    first_static = len(cfg.targets) + len(cfg.features) + len(cfg.past_features)
    for s, ix in zip(series, rows_of, strict=True):
        block = s.values[:, first_static : first_static + len(cfg.static)]
        varies = np.flatnonzero(_differ(block, block[:1]).any(axis=0))
        if not len(varies):
            continue
        j = int(varies[0])
        differ = np.flatnonzero(_differ(block[:, j], block[0, j]))
        read = differ[ix[differ] >= 0]  # a row of the file rather than one filled between two
        row = int(read[0] if len(read) else differ[0])
        where = at(int(ix[row])) if ix[row] >= 0 else "a row data.missing filled"
        first = f" at {at(int(ix[0]))} (its first row)" if ix[0] >= 0 else " in its first row"
        _not_constant(cfg.static[j], s.name, f"{block[0, j]:.12g}{first}", f"{block[row, j]:.12g} at {where}", source)


def check_events(
    name: str, values: np.ndarray, ix: np.ndarray, cfg: Any, source: str, at: Callable[[int], str]
) -> None:
    """check_static on a series' events before data.resample bins them: a bin keeps its first event's static value,
    so a value that differs in any later event of a bin would be dropped unseen. values: the series' rows in time
    order (blank cells NaN: data.missing fills them later); ix: each row's index in the input."""
    first_static = len(cfg.targets) + len(cfg.features) + len(cfg.past_features)
    for j, column in enumerate(cfg.static):
        col = values[:, first_static + j]
        read = np.flatnonzero(~np.isnan(col))
        if not len(read):
            continue
        off = read[_differ(col[read], col[read[0]])]
        if len(off):
            first, row = int(read[0]), int(off[0])
            _not_constant(
                column, name, f"{col[first]:.12g} at {at(int(ix[first]))} (its first event)",
                f"{col[row]:.12g} at {at(int(ix[row]))}", source,
            )  # fmt: skip


def _not_constant(column: str, name: str, first: str, other: str, source: str) -> None:
    who = f" of series {name!r}" if name else ""
    raise DataError(
        f"static column {column!r}{who} is not constant: {first}, {other}",
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
        off = np.flatnonzero(_differ(values[:, j], known[j]))
        if len(off):
            raise DataError(
                f"{label}: static column {inputs[j]!r} is {values[off[0], j]:.12g} at {fmt(times[off[0]], kind)}, "
                f"but {known[j]:.12g} in the run: data.static holds one value per series",
                where=str(path),
                hint=f"send the series' own {inputs[j]!r}, or train a new run",
            )


def changed(inputs: list[str], static: list[str], known: dict[str, np.ndarray], series: list[Any]) -> list[str]:
    """forecast --data: a note per data.static column whose value, in some series, is not the one the run keeps
    for it (known: name -> the series' last row in the run's state), naming up to 5 of them. The forecast uses the
    value given, a what-if that update refuses (its state would carry the value into every later forecast)."""
    notes = []
    for c in [c for c in static if not c.startswith(ID_PREFIX)]:
        j = inputs.index(c)
        differ = [
            f"{s.label}: {s.values[-1, j]:.10g} (the run: {known[s.name][j]:.10g})"
            for s in series
            if s.name in known and len(s.values) and _differ(s.values[-1, j], known[s.name][j])
        ]
        if differ:
            where = listed(differ, quote=False, sep="; ")
            notes.append(f"static column {c!r} differs from the run's value in {where}: "
                         "the forecast uses the history's (update would refuse it)")  # fmt: skip
    return notes


ID_PREFIX = "series="  # the identity columns of data.series_id: series=<name>
MAX_IDS = 200  # one input column per series: past this, data.static columns say more per input


def add_series_ids(ds: Any, ids: list[str]) -> Any:
    """ds (a data.Dataset) with one static 0/1 column per name in `ids` after its inputs ("series=<name>"), 1 in
    the series' own.

    The first recurrent layer's weights on these columns are a vector learned per series (what an Embedding
    followed by that layer computes, without a second model input): the network knows which series a window comes
    from. A series not in `ids` has no column: refused by name.
    """
    if len(ids) > MAX_IDS:
        raise DataError(
            f"data.series_id gives every series an input column: {len(ids):,} series would add {len(ids):,} inputs "
            f"(at most {MAX_IDS})",
            where=ds.source,
            hint="describe the series with a few data.static columns (a region, a size) instead",
        )
    at = {n: k for k, n in enumerate(ids)}
    unknown = [s.name for s in ds.series if s.name not in at]
    if unknown:
        raise DataError(
            f"series {some(unknown)} were not in the training data: with data.series_id each training series has an "
            "input column of its own, and these have none",
            where=ds.source,
            hint="leave them out, or train a run that includes them (or without data.series_id)",
        )
    for s in ds.series:
        onehot = np.zeros((len(s.values), len(ids)))
        onehot[:, at[s.name]] = 1.0
        s.values = np.ascontiguousarray(np.column_stack([s.values, onehot]))
    cols = [ID_PREFIX + n for n in ids]
    ds.features, ds.static = [*ds.features, *cols], [*ds.static, *cols]
    return ds
