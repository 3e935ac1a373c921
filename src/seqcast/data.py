"""Turn the columns read from the files into series: numbers, sorted time axes, gaps and missing values
handled, each series split chronologically into training, validation and test parts.

A folder is read one file at a time and a large CSV in chunks of rows (read.py), each turned into numbers before
the next is read, so the text of the whole input never sits in memory at once (the numbers do: float64 values,
the time axis, series names).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import errors, missing, resample, timeaxis, timeparse
from seqcast.config import DataConfig
from seqcast.errors import BlankValues, DataError, DuplicateTimes, MissingColumn, NoRows, OffGrid, series_twins, some
from seqcast.marks import DECIMAL_COMMA, Dots
from seqcast.read import UNCLOSED, data_files, left_out, line_word, read_tables
from seqcast.static import add_series_ids, check_events, check_static
from seqcast.timeaxis import Freq, TimeKind

NA_STRINGS = {"", "na", "n/a", "nan", "null", "none", "#n/a", "-"}


@dataclass
class Series:
    """One independent sequence: values (n, inputs) in original units, targets first."""

    name: str
    times: np.ndarray  # (n,) datetime64[ns], int64 (years, ...), or row positions when there is no time column
    values: np.ndarray  # (n, n_inputs) float64
    # (gaps,) int64 ascending: rows p that do not directly follow row p - 1 on the time grid, because data.missing:
    # drop removed the rows (or timestamps) between them; no window may cross one (windows.gap_ranges)
    breaks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.values)

    @property
    def label(self) -> str:
        """How messages name it: series 'A', or "the series" in a file without a series column."""
        return f"series {self.name!r}" if self.name else "the series"


@dataclass
class Parts:
    """Chronological split of one series: train [0, train_end), val [train_end, val_end), test [val_end, n)."""

    train_end: int
    val_end: int
    n: int

    def bounds(self, part: str) -> tuple[int, int]:
        """(start, end) of the part 'train', 'val' or 'test', end exclusive."""
        return {"train": (0, self.train_end), "val": (self.train_end, self.val_end), "test": (self.val_end, self.n)}[
            part
        ]


@dataclass
class Dataset:
    """Every series of the file, in one column order, with its time axis described."""

    series: list[Series]
    targets: list[str]
    features: list[str]
    time_kind: TimeKind
    freq: Freq | None
    source: str
    notes: list[str] = field(default_factory=list)
    resampled: dict[str, dict[str, int]] = field(default_factory=dict)  # data.resample: {series: events, bins, empty}
    past: list[str] = field(default_factory=list)  # the features that are data.past_features (no future values)
    static: list[str] = field(default_factory=list)  # the features that are data.static (one value per series)
    utc: bool = False  # the times had UTC offsets: read as UTC
    time_format: str | None = None  # the strftime format the dates were read in (None: whole numbers, ISO dates)
    first_rows: list[int] = field(default_factory=list)  # where each series starts in its history (a state's tail)

    @property
    def inputs(self) -> list[str]:
        return self.targets + self.features

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.series]

    def gap(self, i: int, p: int) -> str:
        """Break p of series i (Series.breaks) in words: 'between 2024-01-02 and 2024-01-05 (rows 1 and 2)'."""
        s, at = self.series[i], self.first_rows[i] if self.first_rows else 0
        t = s.times
        if len(t) != len(s) or p >= len(t):  # the time axis was released (prepare.release_data)
            return f"between rows {at + p - 1} and {at + p}"
        a, b = timeaxis.fmt(t[p - 1], self.time_kind), timeaxis.fmt(t[p], self.time_kind)
        return f"between {a} and {b} (rows {at + p - 1} and {at + p})"


@dataclass
class _Rows:
    """What one file contributes, already as numbers: its text is dropped before the next file is read."""

    values: np.ndarray  # (n, inputs) float64
    times: np.ndarray | None
    kind: TimeKind
    keys: np.ndarray | None  # series names (str)
    lines: np.ndarray  # file line of every row
    zoned: bool = False  # the times had UTC offsets (read as UTC)
    time_format: str | None = None  # the strftime format the dates were read in (None: whole numbers, ISO dates)
    both_ways: str | None = None  # a note: the dates read day-first and month-first alike (parse_zoned_times)


def _to_rows(table: dict[str, np.ndarray], lines: np.ndarray, cfg: DataConfig, source: str,
             time_format: str | None = None, follow: timeparse.Follow | None = None) -> _Rows:  # fmt: skip
    """One file's (or chunk's) rows; `time_format`: read the dates in it (data.time_format, or the format the
    first file or chunk was read in: a later chunk of day-first dates may hold only days up to 12)."""
    check_columns(table, cfg, source)
    values = np.column_stack([_numeric(table[c], c, lines, source, c not in cfg.targets) for c in cfg.inputs])
    kind: TimeKind = "none"
    times: np.ndarray | None = None
    zoned, said, word = False, list[str](), line_word(source)
    if cfg.time_column is not None:
        raw = table[cfg.time_column]
        try:
            times, kind, zoned, time_format = timeparse.parse_zoned_times(raw, time_format, said, follow)
        except timeparse.TimeValueError as exc:
            where = f"time column {cfg.time_column!r}, {word} {lines[exc.index]}"
            value = str(raw[exc.index])  # a date in a format pandas cannot guess (not an empty or missing time)
            unread = exc.why == timeparse.NOT_A_TIME and time_format is None and any(map(str.isdigit, value))
            hint = (
                "give the column's format as data.time_format, e.g. --set 'data.time_format=\"%m/%d/%Y %I:%M %p\"' "
                "for 03/01/2024 12:00 AM (strftime codes), or write the times as ISO dates (2024-03-01 00:00)"
            )
            raise DataError(
                f"{where}: {raw[exc.index]!r} {exc.why}", where=source, hint=hint if unread else None
            ) from None
    keys: np.ndarray | None = None
    if cfg.series_column is not None:
        keys = table[cfg.series_column].astype(str)
        if table[cfg.series_column].dtype == object:  # a parquet file's null: no name, as a blank cell has none
            keys[table[cfg.series_column] == None] = ""  # noqa: E711 (elementwise)
        names, inverse = np.unique(keys, return_inverse=True)  # names stripped: 'A ' is 'A', as a header's names are
        if any(n != n.strip() for n in names):  # (names, not rows: numpy.char costs 15 ms to import)
            keys = np.asarray([n.strip() for n in names.tolist()])[inverse]
        blank = [k for k in np.unique(keys) if not k]
        empty = np.flatnonzero(np.isin(keys, blank)) if blank else np.zeros(0, np.int64)
        if len(empty):
            where = f"series column {cfg.series_column!r}, {word} {lines[empty[0]]}"
            raise DataError(f"{where}: the series name is missing", where=source)
    return _Rows(values, times, kind, keys, lines, zoned, time_format, said[0] if said else None)


def _gather(files: list[Path], cfg: DataConfig, follow: timeparse.Follow | None) -> tuple[_Rows, np.ndarray]:
    """Every file's rows, read one file (or chunk of a large CSV) at a time, joined; and each row's file index."""
    parts, file_of, dots = list[_Rows](), list[np.ndarray](), Dots()  # dots: each column's across the files
    empty: DataError | None = None  # a folder's file with no rows or no bytes (today's, not yet filled) adds none
    for i, f in enumerate(files):
        try:
            for table, lines in read_tables(f, dots):
                said = (parts[0].time_format if parts else None) or cfg.time_format  # the first part's, or the key's
                rows = _to_rows(table, lines, cfg, str(f), said, follow)
                before, column = f"in {files[0].name}" if i else f"before line {rows.lines[0]}", str(cfg.time_column)
                if parts and (rows.kind, rows.zoned) != (parts[0].kind, parts[0].zoned):  # a chunk: a CSV's line
                    what = [f"{r.kind} values{' with UTC offsets' if r.zoned else ''}" for r in (rows, parts[0])]
                    raise DataError(f"time column {column!r} holds {what[0]} here but {what[1]} {before}", where=str(f))
                iso_before = parts and rows.kind == "datetime" and said is None  # the first part's dates were ISO
                if iso_before and (k := timeparse.not_iso(table[column], rows.time_format)):
                    raise DataError(f"time column {column!r}, {line_word(f)} {rows.lines[k - 1]}: "
                                    f"{str(table[column][k - 1])!r} is read as {rows.time_format}, but "
                                    f"the times {before} as ISO dates (2024-03-01 13:00)", where=str(f),
                                    hint="write every time of the column in one format")  # fmt: skip
                del table
                parts.append(rows)
                file_of.append(np.full(len(rows.lines), i, dtype=np.int32))
        except (NoRows, errors.EmptyFile) as exc:
            empty = empty or exc
    dots.check()  # 1.120 in one file, 963 in another: refused as within one (unless a 2.5 shows a decimal mark)
    if not parts:  # no file with a row: the first empty one says so
        assert empty is not None
        raise empty
    if len(parts) == 1:
        return parts[0], file_of[0]

    def joined(name: str) -> Any:  # one field at a time, the parts' arrays dropped: one field's copy at most
        pieces = [getattr(r, name) for r in parts]
        for r in parts:
            setattr(r, name, None)
        return None if pieces[0] is None else np.concatenate(pieces)

    fields = {f: joined(f) for f in ("values", "times", "keys", "lines")}
    return replace(parts[0], **fields), np.concatenate(file_of)  # the first part's time format and notes


def _numeric(raw: np.ndarray, col: str, lines: np.ndarray, source: str, covariate: bool = False) -> np.ndarray:
    """Column as float64; empty and NA strings become NaN; anything else that is not a number is an error."""
    try:
        return raw.astype(np.float64)
    except (ValueError, TypeError):
        pass
    out = np.empty(len(raw))
    for i, v in enumerate(raw):
        if v is None or (isinstance(v, str) and v.strip().lower() in NA_STRINGS):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (ValueError, TypeError):
            text, what = str(v), repr(v)
            hint = DECIMAL_COMMA if "," in text else _text_hint(text, covariate)  # 10,03 in a ';' file
            if "\n" in text:  # a quote over lines: never closed, when it runs to the end (large files: read.py)
                what = f"a quoted field of {len(text.splitlines())} lines ({text[:20]!r}{'...' * (len(text) > 20)})"
                hint = UNCLOSED if i == len(raw) - 1 else None
            at = f"column {col!r}, {line_word(source)} {lines[i]}"
            raise DataError(f"{at}: {what} is not a number", where=source, hint=hint) from None
    return out


FLAGS = {"true", "false", "yes", "no", "y", "n", "t", "f"}
BLANK = "a missing value is written blank or NA (data.missing handles it)"


def _text_hint(v: str, covariate: bool) -> str | None:
    """What to do with a word where a number belongs: a flag (pandas writes booleans True/False), a placeholder
    for a missing value, or in a covariate a category."""
    if v.strip().lower() in FLAGS:
        return "write a yes/no flag as 1 and 0 (pandas writes booleans as True/False: df[col].astype(int) first)"
    if any(ch.isdigit() for ch in v):
        return None
    if covariate:
        return f"a column of categories goes in as one 0/1 column per value (get_dummies); {BLANK}"
    return BLANK


def check_columns(table: dict[str, np.ndarray], cfg: DataConfig, source: str) -> None:
    have = list(table)
    wanted: list[tuple[str, str | None]] = [("data.targets", c) for c in cfg.targets]
    wanted += [("data.features", c) for c in cfg.features]
    wanted += [("data.past_features", c) for c in cfg.past_features]
    wanted += [("data.static", c) for c in cfg.static]
    wanted += [("data.time_column", cfg.time_column), ("data.series_column", cfg.series_column)]
    for key, col in wanted:
        if col is not None and col not in table:
            raise MissingColumn(col, key, have, source)


def load_dataset(cfg: DataConfig, series_ids: list[str] | None = None, step: Freq | None = None,
                 after: dict[str, Any] | None = None, last: Any = None) -> Dataset:  # fmt: skip
    """Read cfg.path: its series sorted, checked, missing values handled; `step`: the run's, for its new rows, and
    `after`: each series' last known time (update), from which the run's grid runs on; `last`: the run's last time
    (else the latest of `after`), which dates that read day-first and month-first alike are read nearest to.

    With data.series_id, the series' identity columns follow (add_series_ids): for the series `series_ids`, the
    run's training series, or when None for the file's own series (training).
    """
    source = str(cfg.path)
    files = data_files(Path(cfg.path))
    dates = [v for v in [last, *(after or {}).values()] if isinstance(v, np.datetime64)]
    rows, file_of = _gather(files, cfg, (step, max(dates, default=None)) if step else None)
    values, times, kind, lines, zoned = rows.values, rows.times, rows.kind, rows.lines, rows.zoned
    time_format, both_ways = rows.time_format, rows.both_ways
    columns = cfg.inputs

    word = line_word(files[0])  # of the messages of a single file: 'line', or 'row' of a parquet file

    def at(i: int) -> str:
        """Where row i came from: 'line 7' ('row 7' of a parquet file), 'b.csv line 7' when the data is a folder."""
        f = files[file_of[i]]
        return f"{word} {lines[i]}" if len(files) == 1 else f"{f.name} {line_word(f)} {lines[i]}"

    if rows.keys is not None:
        names, first_seen, inverse = np.unique(rows.keys, return_index=True, return_inverse=True)
        # row numbers grouped by series (file order within each): one sort, not one scan of all rows per series
        by_series = np.argsort(inverse, kind="stable")
        ends = np.cumsum(np.bincount(inverse, minlength=len(names)))
        starts = ends - np.bincount(inverse, minlength=len(names))
        order = np.argsort(first_seen)  # series in order of first appearance
        groups = [(str(names[g]), by_series[starts[g] : ends[g]]) for g in order]
    else:
        groups = [("", np.arange(len(lines)))]
    del rows

    out: list[Series] = []
    rows_of: list[np.ndarray] = []
    notes: list[str] = [f"time column {cfg.time_column!r}: {both_ways}"] * bool(both_ways) + left_out(Path(cfg.path))
    if zoned:
        notes.append(
            f"time column {cfg.time_column!r} has UTC offsets: the times are read, and forecasts stamped, in UTC"
            + ("; data.resample's bins are drawn in UTC: a day runs from midnight UTC, not local midnight (convert "
               "the times to local times without offsets to bin local days)" if cfg.resample and not (
                cfg.resample.step.kind == "fixed" and cfg.resample.step.step <= 3_600 * 10**9) else "")
        )  # fmt: skip
    freqs: dict[Freq, str] = {}  # each frequency seen, with the first series that has it
    either: dict[Freq, str] = {}  # daily rows on weekdays within one week: their grid is a business days' grid too
    resampled: dict[str, dict[str, int]] = {}
    twins = series_twins([g[0] for g in groups])  # named in every message of theirs: a note alone is lost in an error
    if twins:
        notes.append(f"series {some(list(twins), 6)} are names that differ only in case, spacing, leading zeros or a "
                     "trailing .0: read as separate series; write each name one way if they are one")  # fmt: skip
    refused = missing.Refused()  # data.missing: error's series with blanks or missing timestamps, named together
    for name, members in groups:
        label = f" of series {name!r}" if name else ""
        if name in twins:
            label += f" (not one with {twins[name][0]!r}: names that differ in case, spacing or zeros are two series)"
        whole = len(members) == len(values)  # one series, all rows in file order: its arrays are not copied
        vals, ix = values if whole else values[members], members  # ix: the row's index in the input, -1 if filled
        held = None  # update: the series' last time in the run, of the file's kind of time (years against dates
        if times is not None:  # are refused after the read, as a file of another kind: history.same_clock)
            t = times if whole else times[members]
            held = (after or {}).get(name)
            held = held if held is not None and np.asarray(held).dtype.kind == t.dtype.kind else None
            if (t[1:] < t[:-1]).any():  # rows out of time order: sorted (stably), a copy; in order: left as they are
                notes.append(f"rows{label} were not in time order; sorted by {cfg.time_column}")
                order = np.argsort(t, kind="stable")
                t, vals, ix = t[order], vals[order], ix[order]
            if cfg.resample is not None:  # before the checks below: several events per bin are the point
                check_events(name, vals, ix, cfg, source, at)  # a bin keeps its first event's static values
                place = resample.Where(source, label, at, ix, fixed=step is not None)
                binned, resampled[name] = resample.apply(t, vals, kind, cfg.resample, columns, held, place)
                t, vals, ix = binned.times, binned.values, ix[binned.first]
                notes.append(resample.note(name, resampled[name], cfg.resample, columns, update=after is not None))
            dup = np.flatnonzero(t[1:] == t[:-1])
            if len(dup) and held is not None:  # update: a row sent twice among those the run holds is skipped with them
                again = np.zeros(len(t), dtype=bool)
                again[dup + 1] = t[dup + 1] <= held
                copies = np.flatnonzero(again)  # each copy against the row before it, another copy of its time
                other = ~np.isclose(vals[copies], vals[copies - 1], rtol=1e-9, atol=0, equal_nan=True).all(axis=1)
                if other.any():
                    when = timeaxis.fmt(t[copies[other][0]], kind) + " UTC" * zoned
                    notes.append(f"rows{label} at {when}, a time already known, appear more than once with "
                                 "different values: skipped with the known rows")  # fmt: skip
                t, vals, ix = t[~again], vals[~again], ix[~again]
                dup = np.flatnonzero(t[1:] == t[:-1])
            if len(dup):
                d = dup[0]
                a, b = sorted((int(ix[d]), int(ix[d + 1])))
                where_rows = f"{word}s {lines[a]} and {lines[b]}" if len(files) == 1 else f"{at(a)} and {at(b)}"
                raise DuplicateTimes(
                    f"duplicate timestamp {timeaxis.fmt(t[d], kind)}{' UTC' * zoned}{label} at {where_rows}",
                    where=source,
                    clock=timeaxis.clock_hint(t[dup], zoned, t),
                    hint="one row per timestamp; set data.series_column "
                    "if the file holds several series, or data.resample to aggregate the rows of each time bin",
                )
        else:
            t = np.arange(len(vals), dtype=np.int64)
        anchor = held if step is not None and cfg.resample is None else None
        # new rows that go on from the series' last known row count their step from it: 11-22 and 11-24 after 11-21
        nxt = timeaxis.future(anchor, step, 1)[0] if anchor is not None and step is not None else None  # are business
        ran = np.union1d(np.asarray([anchor], dtype=t.dtype), t) if nxt is not None and nxt in t else t  # days, not 2D
        freq = cfg.resample.step if cfg.resample is not None else timeaxis.infer_freq(ran, kind, step)
        fine = bool(freq and freq.sub_daily)  # times less than a day apart: written with their hour, midnight too
        if anchor is not None and step is not None:  # new rows of a run's series: its grid runs on from its last row
            off = timeaxis.rows_off_grid(np.concatenate([[anchor], t]).astype(t.dtype), step)[1:] & (t > anchor)
            if off.any():  # the run's grid, not one drawn from the new rows' first (which may be the stray one)
                fine, utc, k = bool(step.sub_daily), " UTC" if zoned else "", int(np.argmax(off))
                row_at, last_at = (timeaxis.fmt(x, kind, fine) + utc for x in (t[k], anchor))
                raise OffGrid(
                    f"{'series ' + repr(name) + ': ' if name else ''}the new row at {row_at} ({at(int(ix[k]))}) is not "
                    f"on the run's time grid (step {step.alias}, from {last_at})",
                    where=source,
                )
        stray = timeaxis.rows_off_grid(t, step) if step is not None and cfg.resample is None and freq != step else None
        if stray is not None and step and 0 < stray.sum() < len(t) / 2:  # a run's rows, a few off its grid: named
            when, hint = timeaxis.fmt(t[k := int(np.argmax(stray))], kind), timeaxis.weekend_hint(t[k], step)
            raise DataError(f"the row{label} at {when} is not on the run's time grid at {step.said}", where=source,
                            hint=hint)  # fmt: skip
        full, gapped = timeaxis.grid(t, freq) if kind != "none" else None, False
        if full is not None and not (len(full) == len(t) and np.array_equal(full, t)):
            off = timeaxis.not_in(t, full)
            if len(off):
                what, hint = timeaxis.off_grid(t, kind, freq, off[0], zoned)
                raise OffGrid(f"irregular timestamps{label}: {what} ({at(int(ix[np.searchsorted(t, off[0])]))})",
                              where=source, hint=hint)  # fmt: skip
            holes = timeaxis.not_in(full, t)
            holes = holes[holes > anchor] if anchor is not None else holes  # update: a hole among the rows already
            written = [timeaxis.fmt(m, kind, fine) for m in holes[:3]]  # known is skipped, and not said
            if gapped := cfg.missing == "error" and len(holes) > 0:  # refused after the loop, naming every series
                clock = None if refused.gaps else timeaxis.clock_hint(holes, zoned, t)  # with a gap (the first's is
                refused.gaps.append(missing.Gap(name, label, holes, written, freq, clock))  # said), and its blanks
            elif len(holes):  # at the step, which a stray row may have changed
                notes.append(f"{len(holes)} missing timestamp(s){label}{f' at {freq.said}' if freq else ''} (first: "
                             f"{', '.join(written)}); data.missing: {cfg.missing}"
                             + (f"; {h}" if (h := timeaxis.clock_hint(holes, zoned, t)) else ""))  # fmt: skip
            if cfg.missing in ("interpolate", "ffill"):
                pos = np.searchsorted(full, t)
                grid_vals = np.full((len(full), vals.shape[1]), np.nan)
                grid_vals[pos] = vals
                grid_ix = np.full(len(full), -1)
                grid_ix[pos] = ix
                t, vals, ix = full, grid_vals, grid_ix
        # each row's place on the time grid (or in the file): where two kept rows are not neighbours, a break
        on_grid = np.searchsorted(full, t) if full is not None and len(full) != len(t) else np.arange(len(t))
        if anchor is not None:  # update: a blank among the rows already known is skipped with them, in every mode
            kept = missing.known_kept(t, vals, anchor, label, notes)
            t, vals, ix, on_grid = t[kept], vals[kept], ix[kept], on_grid[kept]
        try:
            vals = missing.handle(vals, ix, at if len(files) > 1 else word, lines, cfg.missing, label, columns, source,
                                  notes, cfg.static)  # fmt: skip
        except BlankValues as exc:
            refused.blanks.append((name, exc))
            continue
        if gapped:  # its blanks were looked for: refused with them after the loop
            continue
        keep = np.isfinite(vals).all(axis=1)
        if after is not None and name in after and cfg.missing in ("interpolate", "ffill"):  # new rows of a run's
            keep[: int(np.argmax(keep)) if keep.any() else len(keep)] = True  # series: update fills their first
        if not keep.all():  # blanks from its last known row
            notes.append(missing.dropped_note(vals, keep, t, kind, fine, cfg.missing, columns, label))
            t, vals, on_grid, ix = t[keep], vals[keep], on_grid[keep], ix[keep]
        if len(vals) == 0:
            raise DataError(f"no rows left{label} after dropping missing values", where=source)
        breaks = (np.flatnonzero(np.diff(on_grid) != 1) + 1).astype(np.int64)
        out.append(Series(name=name, times=t, values=np.ascontiguousarray(vals, dtype=np.float64), breaks=breaks))
        rows_of.append(ix)  # each row's index in the input (-1: filled), for check_static's messages
        if freq is not None and (len(members) > 1 or cfg.resample is not None):  # one row shows no step
            weekdays = cfg.resample is None and timeaxis.within_a_week(t, freq)  # daily, or business days
            (either if weekdays else freqs).setdefault(freq, name)
            timeaxis.one_frequency(freqs, either, source)

    refused.check(source)
    common = next(iter(freqs), None) or next(iter(either), None) or step
    common = common or (Freq("integer", 1) if kind != "datetime" else None)
    if cfg.static:
        check_static(out, cfg, source, rows_of, at)
    ds = Dataset(out, list(cfg.targets), cfg.covariates, kind, common, source, notes, resampled, cfg.past_features,
                 cfg.static, utc=zoned, time_format=time_format)  # fmt: skip
    return add_series_ids(ds, series_ids if series_ids is not None else ds.names) if cfg.series_id else ds


def split_parts(ds: Dataset, cfg: DataConfig, min_train: int = 1, window: str = "") -> list[Parts]:
    """Chronological train/val/test bounds of every series; `window`: the keys that set min_train, for the hint."""
    parts = [Parts(train_end=len(s) - sum(r), val_end=len(s) - r[1], n=len(s)) for s in ds.series
             for r in [cfg.split.rows(len(s))]]  # fmt: skip
    short = [i for i, p in enumerate(parts) if p.train_end < min_train]  # every one named: not fixed one by one
    if short:
        (s, p), others = (ds.series[short[0]], parts[short[0]]), [ds.series[i].name for i in short[1:]]
        val, test, train = p.val_end - p.train_end, p.n - p.val_end, p.train_end
        left = f"{train} remain" if train >= 0 else f"{val + test} rows are more than it has: none remain"
        more = f" (so have {len(others)} more series: {errors.listed(others)})" if others else ""
        raise DataError(
            f"{s.label} has {p.n} rows: after data.split val={val} and test={test} rows, {left} for training, fewer "
            f"than the {min_train} needed{more}",
            where=ds.source,
            hint="lower data.split.val / data.split.test"
            + (f", or {window}" if window else "")
            + (f", or leave {'those series' if others else s.label} out of the data" * (len(short) < len(parts))),
        )
    return parts
