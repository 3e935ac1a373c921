"""`seqcast update`: advance the state a run keeps (state.npz) over new rows, without retraining.

Only the new rows are read: rows at or before a series' last timestamp are skipped and counted; a gap between
the last known row and the new ones is handled by data.missing as in training (error, interpolate, ffill, drop);
a series the run has never seen and data of another frequency are refused by name. state.npz is replaced and
updates.csv gains one line (when, rows added and skipped, per series) together (files.together: both or
neither), under the lock of the run directory, so that two updates never interleave. Nothing changes when
anything is refused.

With data.resample the file is binned first, as in training, and the rows are whole bins: a bin at or before the
last known one is skipped as old, even when it holds events the run never saw (a bin that was still filling when
the run last read the data keeps the value it had then), so send events up to a bin edge.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from seqcast import files, rundir, state, timeaxis
from seqcast.errors import BlankValues, DataError, MissingValues, NoRows, located, same_series, some
from seqcast.prepare import new_series_ok
from seqcast.static import check_known
from seqcast.timeaxis import TimeKind

LOG = rundir.UPDATES


class _Gaps(NamedTuple):
    """A series' missing timestamps among its new rows, refused (data.missing: error) once every series is read."""

    series: Any
    last: Any  # its last known time
    gaps: np.ndarray
    grid: np.ndarray  # every timestamp from the last known one to the last new one
    before: bool  # every gap comes before the first new row


def new_rows(
    run: Any, st: state.State, path: Path
) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], dict[str, Any], list[str]]:
    """({series index: (times, values) of its new rows, gaps handled}, per-series counts, notes) read from `path`;
    a note for each series whose new rows data.missing: drop left gaps in."""
    from seqcast.history import columns_of, read_like_run, when
    from seqcast.missing import also, fill_missing

    index = {n: i for i, n in enumerate(st["series"].tolist())}
    known = {n: st["last_time"][i] for n, i in index.items()}  # each series' last known timestamp: its grid's
    holes, known_holes = "missing timestamp(s)", False
    try:
        ds = read_like_run(run, path, "the new rows", "have", after=known)
    except NoRows as empty:  # nothing new yet (a file a job fills later): an update that adds nothing, if its header
        from seqcast.data import check_columns  # has the run's columns

        with columns_of("the new rows", "have"):
            check_columns({c: np.empty(0) for c in empty.columns}, run.cfg.data, str(path))
        held = "'s files have" if path.is_dir() else " has"
        return {}, {}, [f"{path.name}{held} a header but no rows: nothing to add"]
    except MissingValues as strict:  # data.missing: error, a hole or blank among the new rows: the read skips those
        # among the rows already known, on the run's grid (data.load_dataset's after). A resampled run's rows are
        # bins, read without that grid: a hole among its known ones is left out here, and skipped.
        if str(st["time_kind"]) == "none":
            raise
        try:  # a row with a missing value left out:
            ds = read_like_run(run, path, "the new rows", "have", missing="drop", after=known)
        except DataError:  # nothing left of a series once those rows are out: the first read's message names them
            raise strict from None
        if run.cfg.data.resample is None:  # a series the run never saw is refused as such, below, not for a gap
            if isinstance(strict, BlankValues) and all(n in index for n in ds.names):  # of its own; a blank cell
                raise strict from None  # is named by its line; missing rows, by the gap check below (every series)
        else:
            holes, known_holes = "missing row(s), or rows with missing values,", True  # among new rows: refused below
            if not any(s.name in known and (s.times <= known[s.name]).any() for s in ds.series):
                raise  # no row already known: the hole is among the new rows, as the first read says (by its line)
    unknown = [n for n in ds.names if n not in index]
    if unknown:  # state.npz keeps the run's series only; forecast --data warms a new one on its own rows instead
        scalable = new_series_ok(run.pre["scaler"])
        raise DataError(
            f"series {some(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the run: it has no state"
            f"{'' if scalable else ' or scaling'} for {'it' if len(unknown) == 1 else 'them'}"
            # a series of the run the name differs from in case, spacing or leading zeros only ('Tank E' is no typo
            + (f" (did you mean {close[0]!r}?)" if (close := same_series(unknown[0], list(index))) else ""),  # of D)
            where=str(path),
            hint="forecast them with `seqcast forecast --data CSV`, which warms a series the run never saw on its "
            "own rows"
            if scalable
            else "train a new run that includes them, or one with data.scaler_scope: global, whose "
            "`seqcast forecast --data CSV` forecasts series it never saw",
        )
    kind: TimeKind = str(st["time_kind"])  # type: ignore[assignment]
    at, missing = when(run, kind), run.cfg.data.missing
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    counts: dict[str, Any] = {}
    # what the read left out or binned short, which the counts below do not show: rows dropped for missing values
    # (data.missing: drop), and a last bin still filling, whose later events the next update skips as old
    notes = [  # and what it filled (data.missing: interpolate or ffill), or skipped among the rows already known
        f"{path.name}: {n}"
        for n in ds.notes
        if (n.startswith("dropped ") and not known_holes)
        or any(
            w in n
            for w in ("bin holds", "the run already holds", "missing: interpolate", "missing: ffill", "already known")
        )  # fmt: skip
    ] + [f"{path.name}: rows with missing values among the rows already known were skipped with them"] * known_holes
    static = [run.pre["inputs"].index(c) for c in run.pre.get("static", [])]  # positions, for check_known
    short: list[_Gaps] = []  # data.missing: error's gaps, refused once every series is read
    for s in ds.series:
        i = index[s.name]
        last = st["last_time"][i]
        if kind == "none":  # no time column: every row is new, continuing the row positions
            times, values, skipped = int(last) + 1 + np.arange(len(s), dtype=np.int64), s.values, 0
        else:
            keep = s.times > last
            times, values, skipped = s.times[keep], s.values[keep], int((~keep).sum())
            if skipped and run.cfg.data.resample is None:  # a revised value the run will not take: said
                notes += _revised(s, ~keep, st["tail_times"][i], st["tail"][i], at, path.name)
        counts[s.name] = {"added": 0, "skipped": skipped}
        if not len(times):
            continue
        check_known(s.label, static, run.pre["inputs"], st["tail"][i][-1], values, times, kind, path)
        full = timeaxis.grid(np.concatenate([[last], times]).astype(times.dtype), run.freq) if kind != "none" else None
        if full is not None:  # (a new row off the run's grid was refused as it was read: data.load_dataset's after)
            gaps = np.setdiff1d(full[1:], times)
            if len(gaps) and missing == "error":  # refused below, once every series' gaps are known
                short.append(_Gaps(s, last, gaps, full, bool(gaps[-1] < times[0])))
                continue
            if len(gaps) and missing == "drop" and state.stateful(run):  # as train refuses it (layout.refuse_gaps)
                raise DataError(
                    f"{s.label}: data.missing: drop would leave {len(gaps)} missing row(s) in the new rows, the "
                    f"first at {at(gaps[0])}: a stateful model carries its states from each row to "
                    "the next, across a gap too",
                    where=str(path),
                    hint="send the missing rows; a run trained with data.missing: interpolate or ffill would fill "
                    "them (this run's config.yaml holds the setting it was trained with)",
                )
            if len(gaps) and missing == "drop":  # a look-back window joins the rows on either side, as --data would
                window = int(run.pre["look_back"]) + run.steps.lost
                counts[s.name]["dropped"] = len(gaps)
                notes.append(
                    f"{s.label}: data.missing: drop left {len(gaps)} missing row(s) among the new rows, the first at "
                    f"{at(gaps[0])}: forecasts read windows across the gap until {window} rows have "
                    "come after it"
                )
        if missing in ("interpolate", "ffill"):  # gaps, and blanks in the first new rows, filled from the last known
            grid = full if full is not None else np.concatenate([[last], times])  # row, as training fills them
            if len(grid) > len(times) + 1 or not np.isfinite(values).all():
                rows = np.full((len(grid), values.shape[1]), np.nan)
                rows[0] = st["tail"][i][-1]
                rows[np.searchsorted(grid, times)] = values
                filled = fill_missing(rows, missing)[1:]
                ok = np.isfinite(filled).all(axis=1)  # every row, but after a column's last value (read out already)
                gone, blanks = np.setdiff1d(grid[1:], times), int((~np.isfinite(values).all(axis=1)).sum())
                said = [f"{len(gone)} missing timestamp(s) (first {at(gone[0])})"] if len(gone) else []
                said += [f"{blanks} new row(s) with blanks"] if blanks else []
                notes.append(f"{s.label}: {' and '.join(said)} after its last known row filled from it (data.missing: "
                             f"{missing})")  # fmt: skip
                times, values = grid[1:][ok], filled[ok]
        out[i] = (times, values)
        counts[s.name]["added"] = len(times)
    if short:  # every series with a gap named, not the first only: one round of fixing the file, not one per series
        first = short[0]
        more = [f"{g.series.label} ({len(g.gaps)}, first {at(g.gaps[0])})" for g in short[1:]]
        where = "between its last known row ({}) and the new rows" if first.before else "after its last known row ({})"
        raise DataError(
            f"{first.series.label}: {len(first.gaps)} {holes} {where.format(at(first.last))}, first "
            f"{at(first.gaps[0])}{also(more)}",
            where=str(path),
            hint=timeaxis.clock_hint(first.gaps, ds.utc, first.grid)  # a daylight-saving hour: said, as train says
            or "send the missing rows, or train the run again with data.missing: interpolate, ffill or drop, which "
            "fill or skip them (this run's config.yaml holds the setting it was trained with)",
        )
    return out, counts, notes


def _revised(s: Any, old: np.ndarray, tail_times: np.ndarray, tail: np.ndarray, at: Any, name: str) -> list[str]:
    """A note when rows already known (`old`) hold other values than the run keeps for their times (its tail: the
    last rows it holds): a revision update skips, as it skips every known row."""
    times, values = s.times[old], s.values[old]
    pos = np.searchsorted(tail_times, times).clip(0, len(tail_times) - 1)
    held = tail_times[pos] == times
    same = np.isclose(values[held], tail[pos[held]], rtol=1e-9, atol=0, equal_nan=True).all(axis=1)
    if same.all():
        return []
    first = times[held][int(np.argmin(same))]
    return [
        f"{name}: {s.label}: {int((~same).sum())} row(s) already known hold other values than the run keeps (first "
        f"{at(first)}): skipped, as every known row is; train again to learn from revised values"
    ]


def update(run_dir: Path | None, data: Path) -> dict[str, Any]:
    """Advance the run's state over the new rows of `data`; returns what was done (the --json document)."""
    from seqcast.run import load_run

    run = load_run(run_dir)
    with rundir.lock(run.path, "update"):
        st = state.load(run, "update")
        new, counts, notes = new_rows(run, st, data)
        _refuse_unreadable(run, st, new, data)
        with np.errstate(over="ignore", invalid="ignore"):  # a value past float32's range: refused just below
            try:
                after = state.advance(run, st, new) if new else st
            except DataError as exc:  # a row the model would mask (Run.units): in this file
                raise located(exc, str(data)) from None
        _refuse_unreadable(run, st, new, data, after)
        names = st["series"].tolist()
        kind: TimeKind = str(st["time_kind"])  # type: ignore[assignment]
        fine = run.freq is not None and run.freq.sub_daily
        for name, c in counts.items():
            c["last_time"] = timeaxis.fmt(after["last_time"][names.index(name)], kind, fine)
        doc = {
            "run_dir": str(run.path),
            "data": str(data),
            "rows_added": sum(c["added"] for c in counts.values()),
            "rows_skipped": sum(c["skipped"] for c in counts.values()),
            "time_utc": bool(run.pre.get("time_utc")),  # the times (last_time) are in UTC: the data had offsets
            "series_column": run.cfg.data.series_column,  # what the table calls the series, as the data does
            "series": counts,
        } | ({"notes": notes} if notes else {})
        with files.together():  # the state and its log line, or neither
            if new:
                state.save(run.path / state.FILE, after)
            _log(run.path / LOG, doc)
    return doc


def _refuse_unreadable(
    run: Any, st: state.State, new: dict[int, tuple[np.ndarray, np.ndarray]], path: Path, after: Any = None
) -> None:
    """Refuse, naming the series, column and time, new rows that the run cannot read: a target of 0 or below under a
    log transform, or (with `after`, the advanced state) values that leave the state not finite (past float32's
    range in the model's units), which state.load would refuse from then on: the state is kept as it was."""
    from seqcast import history

    names, n_t = st["series"].tolist(), run.n_targets
    kind: TimeKind = str(st["time_kind"])  # type: ignore[assignment]
    for i, (times, values) in new.items():
        bad = np.argwhere(values[:, :n_t] <= 0) if after is None and run.steps.log else np.empty((0, 2), int)
        checked = [k for k in after if k in ("tail_units", "answer") or k.startswith("layer")] if after else []
        broken = [k for k in checked if not np.isfinite(after[k][i]).all()]
        if not len(bad) and not broken:
            continue
        who = f"series {names[i]!r}" if names[i] else "the series"
        if len(bad):
            row, col = bad[0]
            at, unread = history.when(run, kind)(times[row]), "which the run's transform (log) cannot read"
            what = f"{run.pre['targets'][col]} is {values[row, col]:g} at {at}, {unread}"
        else:
            top = float(np.abs(values).max())
            what = f"its new rows (values up to {top:g}) leave the model's inputs or states not finite ({broken[0]})"
        raise DataError(
            f"{who}: {what}; the state is kept as it was",
            where=str(path),
            hint="correct those rows; values far beyond the training data's need a new run (seqcast train)",
        )


def _log(path: Path, doc: dict[str, Any]) -> None:
    """Append one line to updates.csv (written whole, atomically): when, rows added and skipped, per series."""
    import csv
    import io

    old = path.read_bytes() if path.is_file() else b"updated_at,rows_added,rows_skipped,series\n"  # as it is,
    old += b"\n" * (len(old) > 0 and not old.endswith(b"\n"))  # ended by a line break an editor may have taken
    buf = io.StringIO()
    per = {n: c["added"] for n, c in doc["series"].items()}
    csv.writer(buf, lineterminator="\n").writerow(
        [
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            doc["rows_added"],
            doc["rows_skipped"],
            json.dumps(per, ensure_ascii=False),
        ]
    )
    files.atomic_write(path, old + buf.getvalue().encode())
