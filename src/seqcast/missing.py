"""data.missing: missing, NaN and infinite values refused, filled between known values, or their rows dropped.

`interpolate` and `ffill` fill a value only where the column has a known value before it (`interpolate`: and
after it). The rows at a series' start before a column's first value, and (`interpolate`) at its end after a
column's last value, would otherwise be made up: the nearest value repeated, from which a forecast would start.
They are dropped instead and a note names them. A `data.static` column holds one value per series, so its edges
take that value. New rows that `update` reads continue a run's series: their first rows are kept, and update fills
their blanks from the series' last known row (data.load_dataset's `after`, update.new_rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from seqcast import timeaxis
from seqcast.errors import BlankValues, DataError, MissingValues
from seqcast.timeaxis import TimeKind


def fill_missing(values: np.ndarray, how: str, edges: Sequence[bool] = ()) -> np.ndarray:
    """Fill non-finite values per column between known values: linear interpolation, or the last value carried
    forward. Before a column's first value (and for `interpolate` after its last) they stay NaN, unless `edges[j]`
    (a static column), where they take the nearest value."""
    out = values.copy()
    pos = np.arange(len(out))
    for j in range(out.shape[1]):
        ok = np.isfinite(out[:, j])
        if ok.all() or not ok.any():
            continue
        known = np.flatnonzero(ok)
        inside = pos >= known[0] if how == "ffill" else (pos >= known[0]) & (pos <= known[-1])
        if j < len(edges) and edges[j]:
            inside[:] = True
        if how == "interpolate":
            fill = ~ok & inside
            out[fill, j] = np.interp(pos[fill], pos[ok], out[ok, j])
        else:  # ffill: each row takes the last known value at or before it
            last = np.maximum.accumulate(np.where(ok, pos, -1))
            out[inside, j] = out[np.where(last < 0, known[0], last), j][inside]
    return out


def handle(values: np.ndarray, ix: np.ndarray, at: Callable[[int], str] | str, lines: np.ndarray, how: str, label: str,
           columns: list[str], source: str, notes: list[str], static: Sequence[str] = ()) -> np.ndarray:  # fmt: skip
    """values with missing, NaN and infinite entries handled; `drop` leaves NaN rows for the caller to drop, and
    so do `interpolate` and `ffill` at a series' edges (dropped_note); a note in `notes` counts the rows filled.

    ix is each row's index in the input (-1 for a filled gap); rows are named by at(index) ('b.csv line 7') when
    the input is a folder of files, else by their number in the file, at being the word for it ('line', 'row').
    """
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    if how == "error":
        rows, cols = np.nonzero(bad)
        found = sorted({int(ix[r]) for r in rows if ix[r] >= 0})
        named: list[Any] = sorted({int(lines[i]) for i in found}) if isinstance(at, str) else [at(i) for i in found]
        gaps = len({int(r) for r in rows if ix[r] < 0})
        where = f"at {at + '(s) ' if isinstance(at, str) else ''}{named[:8]}{' ...' if len(named) > 8 else ''}"
        where = " and ".join([where] * bool(named) + [f"at {gaps} missing timestamp(s)"] * bool(gaps))
        what = f"missing, NaN or infinite values in column(s) {sorted({columns[c] for c in cols})}{label} {where}"
        hint = "set data.missing to interpolate, ffill or drop"
        raise BlankValues(what.rstrip(), where=source, hint=hint, rows=where)  # rows: how Refused names it
    values = np.where(np.isinf(values), np.nan, values)
    if how == "drop":
        return values
    empty = np.flatnonzero(~np.isfinite(values).any(axis=0))  # columns without a single value
    if len(empty):
        raise DataError(f"column {columns[int(empty[0])]!r}{label} has no values at all", where=source)
    out = fill_missing(values, how, [c in static for c in columns])
    filled = ~np.isfinite(values).all(axis=1) & np.isfinite(out).all(axis=1) & (ix >= 0)  # gaps: noted before
    if filled.any():
        notes.append(f"{int(filled.sum())} row(s) with missing values{label} filled (data.missing: {how})")
    return out


def known_kept(times: np.ndarray, values: np.ndarray, last: object, label: str, notes: list[str]) -> np.ndarray:
    """update, under any data.missing: which rows to keep, the rows at or before the series' last known row
    (`last`) with a missing value left out, as update skips every row already known, and a note counting them;
    every row, when every one is such a row (the error then names them: a series cannot be left without rows)."""
    old = (times <= last) & ~np.isfinite(values).all(axis=1)
    if not old.any() or old.all():
        return np.ones(len(times), dtype=bool)
    notes.append(f"{int(old.sum())} row(s){label} with missing values skipped with the rows already known")
    return ~old


def dropped_note(values: np.ndarray, keep: np.ndarray, times: np.ndarray, kind: TimeKind, fine: bool, how: str,
                 columns: list[str], label: str) -> str:  # fmt: skip
    """The note for the rows data.missing dropped: `drop`'s count, or the edges `interpolate` and `ffill` leave
    (the first rows, before a column's first value; the last, after its last), each with its times and columns."""
    if how == "drop":
        return f"dropped {int((~keep).sum())} row(s) with missing values{label}"
    lead = int(np.argmax(keep)) if keep.any() else len(keep)
    trail = int(np.argmax(keep[::-1])) if keep.any() else 0
    known = np.isfinite(values)

    def stretch(a: int, b: int, which: str, side: str) -> str:
        cols = ", ".join(repr(c) for j, c in enumerate(columns) if not known[a:b, j].all())
        span = " to ".join(dict.fromkeys(timeaxis.fmt(times[k], kind, fine) for k in (a, b - 1)))
        span = f"{span}, " if kind != "none" else ""
        return f"the {which} {b - a} ({span}{side} {cols})"

    parts = [stretch(0, lead, "first", "before the first value of")] if lead else []
    parts += [stretch(len(keep) - trail, len(keep), "last", "after the last value of")] if trail else []
    last = timeaxis.fmt(times[len(keep) - trail - 1], kind, fine) if trail and kind != "none" else ""
    ends = f"; the series now ends at {last}" if last else ""
    return (
        f"dropped {int((~keep).sum())} row(s){label} that data.missing: {how} cannot fill, as it fills a value "
        f"only {'after a known one' if how == 'ffill' else 'between two known ones'}: {' and '.join(parts)}{ends}"
    )


class Gap(NamedTuple):
    """One series' missing timestamps, as Refused names them."""

    name: str
    label: str  # " of series 'A'", as the series' other messages name it
    holes: np.ndarray
    shown: list[str]  # the first three, written out
    freq: Any  # the series' Freq, or None
    clock: str | None  # the daylight-saving hint (of the first series only)


class Refused:
    """data.missing: error's refusals, gathered over every series and made one message (check): blank cells (each
    series' BlankValues, in the order read) and missing timestamps (a Gap per series). Blank cells go first: the
    cell is named by its line, and filling it may be all the file needs; every series with the same fault is
    named, the first in full, the others by where, past the sixth counted: one round of fixing the file, not one
    per series."""

    def __init__(self) -> None:
        self.blanks: list[tuple[str, BlankValues]] = []
        self.gaps: list[Gap] = []

    def check(self, source: str) -> None:
        gaps = ""
        if self.gaps:
            g = self.gaps[0]
            more = [f"series {o.name!r} ({len(o.holes)}, first {o.shown[0]})" for o in self.gaps[1:]]
            gaps = (
                f"{len(g.holes)} missing timestamp(s){g.label} at {g.freq.said if g.freq else 'an unknown frequency'}"
                f", first {', '.join(g.shown)}" + also(more)
            )
        if self.blanks:  # and the gaps after them, if any: every fault of the file in one message
            first = self.blanks[0][1]
            more = [f"series {name!r} {exc.rows}" for name, exc in self.blanks[1:]]
            hint = (first.hint or "") + (", which fills or ignores the missing timestamps too" if gaps else "")
            raise BlankValues(first.message + also(more) + (f"; and {gaps}" if gaps else ""), where=first.where,
                              hint=hint)  # fmt: skip
        if gaps:
            raise MissingValues(
                gaps,
                where=source,
                clock=self.gaps[0].clock,
                hint="set data.missing to interpolate or ffill to fill them, or drop to ignore the gaps",
            )


def also(more: list[str]) -> str:
    """'; also A, B, C, D, E and 3 more series' after a message: the other series with the same fault."""
    if not more:
        return ""
    return "; also " + ", ".join(more[:5]) + (f" and {len(more) - 5} more series" if len(more) > 5 else "")
