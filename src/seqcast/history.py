"""The series a forecast starts from and the rows it needs ahead: the history (the run's data file or --data),
the future timestamps at the run's frequency, and the known future values of data.features (--future).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import timeaxis
from seqcast.data import Dataset, Series
from seqcast.errors import (
    ConfigError,
    DataError,
    DuplicateTimes,
    MissingColumn,
    MissingValues,
    OffGrid,
    SeqcastError,
    listed,
    some,
)
from seqcast.levels import RANGE_NOTES, leaves, pooled
from seqcast.prepare import new_series_ok
from seqcast.read import header
from seqcast.run import Run
from seqcast.timeaxis import Freq


@contextlib.contextmanager
def columns_of(subject: str, verb: str = "has", roles: dict[str, str] | None = None) -> Iterator[None]:
    """A file read for a run that lacks one of the run's columns is a data error (exit 1) naming the file, the
    column and its role in the run (`roles` renames the key the read used: --future's columns are read as
    targets but are the run's data.features). Missing rows or values are refused as the run's data.missing says,
    and the hint is what the user can change now: the file, or the key by training again."""
    try:
        yield
    except MissingValues as exc:
        raise type(exc)(  # BlankValues stays BlankValues: update tells blank cells from missing rows by it
            exc.message,
            where=exc.where,
            hint=exc.clock
            or f"fill them in {subject}, or train the run again with data.missing: interpolate, ffill or drop "
            "(this run's config.yaml holds the setting it was trained with)",
        ) from None
    except DuplicateTimes as exc:
        raise DataError(
            exc.message,
            where=exc.where,
            hint=exc.clock
            or f"keep one row per timestamp in {subject}; a run trained with data.resample would bin such rows "
            "(this run's config.yaml holds the settings it was trained with)",
        ) from None
    except OffGrid as exc:  # binning is a training key, and the run's is fixed
        raise DataError(
            exc.message,
            where=exc.where,
            hint=f"put {subject if subject.endswith('rows') else 'the rows of ' + subject} on the run's time grid; a "
            "run trained with data.resample would bin such "
            "rows (this run's config.yaml holds the settings it was trained with)",
        ) from None
    except MissingColumn as exc:
        key = (roles or {}).get(exc.key, exc.key)
        raise DataError(
            f"{subject} {verb} no column {exc.column!r} ({key} of the run); its columns are {exc.have}",
            where=exc.source,
            hint=(exc.hint + " " if exc.hint else "")
            + f"{subject} {'need' if verb == 'have' else 'needs'} the columns the run was trained on",
        ) from None


def exists(path: Path, option: str) -> None:
    """A file given by an option that is not there: named, with the option (not data.path) as the fix; `-` is
    refused as such: the rows are read twice over (a check, then the read), which a pipe cannot give."""
    if not path.exists():
        if str(path) == "-":
            raise ConfigError(
                "reads a file, not stdin (-)", where=option, hint="write the rows to a CSV file and pass its path"
            )
        raise DataError("file not found", where=str(path), hint=f"check the path given to {option}")


KINDS = {"datetime": "dates", "integer": "whole numbers", "none": "no times"}


def same_clock(run: Run, ds: Dataset, subject: str, verb: str) -> None:
    """Refuse a file whose times are of another kind than the run's (20270731, a whole number, where the run had
    dates, or dates where it had years): compared, one kind against the other, they mean nothing; and one whose
    times have UTC offsets when the run's had none, or the other way: read as UTC and as local time, one would be
    shifted against the other by the offset, silently."""
    kind = run.pre.get("time_kind")
    if kind in KINDS and ds.time_kind != kind:
        first = next((s.times[0] for s in ds.series if len(s.times)), None)
        read = f" ({timeaxis.fmt(first, ds.time_kind)} first)" if first is not None and ds.time_kind != "none" else ""
        last = run.pre["series"][0]["last"] if run.pre.get("series") else None
        raise DataError(
            f"{subject} {verb} times read as {KINDS[ds.time_kind]}{read}, but the run was trained on "
            f"{KINDS[kind]}" + (f" ({last} last)" if last else ""),
            where=ds.source,
            hint=f"write the times of {subject} as the training data's are",
        )
    if ds.time_kind != "datetime" or "time_utc" not in run.pre or ds.utc == run.pre["time_utc"]:
        return
    has, had = ("UTC offsets", "none") if ds.utc else ("no UTC offsets", "them")
    raise DataError(
        f"{subject} {verb} times with {has}, but the run's training data had {had}: one would be read shifted "
        "against the other",
        where=ds.source,
        hint=f"write the times of {subject} as the training data's are",
    )


def read_like_run(
    run: Run,
    path: Path | None,
    subject: str,
    verb: str,
    missing: str | None = None,
    after: dict[str, Any] | None = None,
) -> Dataset:
    """The rows of `path` (None: the run's data file) read as the run reads its data (its data config, resampling
    and series identity columns; `missing`: another data.missing), refused, naming `subject`, when their step is
    not the run's."""
    from seqcast.data import load_dataset

    if path is not None:
        exists(path, "--data")
    dcfg = run.cfg.data.model_copy(
        update=({"path": path.absolute()} if path is not None else {}) | ({"missing": missing} if missing else {})
    )
    with columns_of(*((subject, verb) if path is not None else ("the run's data file (data.path)", "has"))):
        ds = load_dataset(dcfg, run.pre.get("series_ids"), run.freq if path is not None else None, after)
    same_clock(run, ds, subject, verb)
    if ds.freq is not None and run.freq is not None and ds.freq != run.freq:
        raise DataError(
            f"{subject} {verb} a step of {ds.freq.alias}, but the run was trained on data with a step of "
            f"{run.freq.alias}: its forecasts would be {run.freq.alias} steps stamped as {ds.freq.alias}",
            where=str(dcfg.path),
            hint=f"resample {subject} to the run's frequency",
        )
    return ds


def plot_history(run: Run, ds: Dataset, rows: int) -> tuple[Dataset, str | None]:
    """The history a forecast's plot draws: `ds`, the rows state.npz keeps (a stateful model's: a row or two), with
    the rows before them from the run's data file, up to `rows` per series; and a note where that file cannot
    give them (unreadable, or ending before those rows: updated since), the plot then drawing those series' kept
    rows alone (a series that update did not reach still gets its history)."""
    if all(len(s) >= rows for s in ds.series):
        return ds, None
    only = "the plot draws only the rows state.npz keeps"
    fix = "pass --data with the series' history to draw more of it"
    try:
        kept = {s.name: s for s in read_like_run(run, None, "the run's data file (data.path)", "has").series}
    except SeqcastError as exc:
        return ds, f"{only}, since the run's data file cannot be read ({exc.message}); {fix}"
    longer, alone = [], []  # alone: the series the file cannot give rows before (updated since)
    for s in ds.series:
        f = kept.get(s.name)
        if f is None or s.times[0] not in f.times or f.values.shape[1] != s.values.shape[1]:
            longer.append(s)
            alone.append(s.name)
            continue
        earlier = np.flatnonzero(f.times < s.times[0])
        earlier = earlier[len(earlier) - min(len(earlier), max(0, rows - len(s))) :]  # up to `rows` in all
        times, values = np.concatenate([f.times[earlier], s.times]), np.concatenate([f.values[earlier], s.values])
        longer.append(dataclasses.replace(s, times=times, values=values, breaks=s.breaks + len(earlier)))
    if not alone:
        return dataclasses.replace(ds, series=longer), None
    of = "" if len(alone) == len(ds.series) else f" of series {some(alone)}"
    why = f"{only}{of}: the run's data file ends before them (updated since); {fix}"
    return dataclasses.replace(ds, series=longer), why


def history_dataset(run: Run, data: Path | None) -> Dataset:
    """The series to forecast from: --data, or the training file of the run."""
    ds = read_like_run(run, data, "the history", "has")
    unknown = new_series(run, ds.names)
    shown = some(unknown)
    like = _written_otherwise(run, unknown)
    if unknown and not new_series_ok(run.pre["scaler"]):  # scaled by statistics of their own, which they lack
        raise DataError(
            f"series {shown} were not in the training data, so the run has no scaling for them "
            f"(data.scaler_scope: {run.pre['scaler'].get('scope', 'series')})",
            where=ds.source,
            hint=like
            or "train with data.scaler_scope: global (one scaling for every series) to forecast series the run "
            "never saw, or leave them out of the history",
        )
    if unknown:  # allowed: said, with the run's series a name may be written another way
        ds.notes.append(
            f"series {shown} {'is' if len(unknown) == 1 else 'are'} new to the run: forecast from "
            f"{'its' if len(unknown) == 1 else 'their'} own rows with the scaling every series shares"
            + (f"; {like}" if like else "")
        )
    from seqcast import state, static

    if run.pre.get("static") and (run.path / state.FILE).exists():  # a static value unlike the run's: said
        with contextlib.suppress(SeqcastError):  # a damaged state.npz: --data needs none
            st = state.load(run)
            known = dict(zip(st["series"].tolist(), st["tail"][:, -1], strict=True))
            ds.notes += static.changed(run.pre["inputs"], run.pre["static"], known, ds.series)
    return ds


def _written_otherwise(run: Run, unknown: list[str]) -> str | None:
    """'did you mean' for new series names that are the run's but for case, spacing or a number's leading zeros
    ('S0001' for 's0001', '7' for '007'), at most three; None when none is."""
    from seqcast.errors import same_series

    have = list(run.pre["scaler"]["series"])
    like = [(n, m[0]) for n in unknown if (m := same_series(n, have))][:3]
    return f"did you mean {', '.join(f'{m!r} for {n!r}' for n, m in like)}?" if like else None


def new_series(run: Run, names: list[str]) -> list[str]:
    """The names among `names` of series the run was not trained on (forecast warms them on their own rows)."""
    known = set(run.pre["scaler"]["series"])
    return [n for n in names if n not in known]


def future_times(run: Run, ds: Dataset, steps: int) -> list[np.ndarray]:
    """The `steps` timestamps after each series' last, at the run's frequency."""
    freq = run.freq
    if freq is None and ds.time_kind == "datetime":
        raise DataError("the run does not know the series' frequency, so it cannot continue the timestamps")
    out = []
    for s in ds.series:
        try:
            out.append(timeaxis.future(s.times[-1], freq or Freq("integer", 1), steps))
        except ValueError as exc:
            who = f"series {s.name!r}: " if s.name else ""
            raise ConfigError(
                f"{who}{steps} steps ahead: {exc}", where="--steps", hint="forecast fewer steps"
            ) from None
    return out


def read_future(
    run: Run, ds: Dataset, path: Path | None, steps: int
) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
    """(future covariate rows per series (steps, covariates) or None, future timestamps per series).

    data.features come from --future; data.static repeat each series' value; data.past_features are unknown
    ahead (NaN), which only a direct forecast of at most windows.horizon steps never reads (check_direct).
    """
    times = future_times(run, ds, steps)
    covs = run.pre["features"]  # every input after the targets, in the model's order
    past, static = run.pre.get("past_features", []), run.pre.get("static", [])
    known = [c for c in covs if c not in past and c not in static]
    if path is not None and not known:  # a user who thinks the forecast reads the file must hear that it does not
        raise ConfigError(
            "the run's model takes no data.features, whose future values --future gives: it would not read the file",
            where="--future",
            hint="leave --future out",
        )
    if not covs:
        return None, times
    if past:
        check_direct(run, steps)
    n_t = run.n_targets
    out = [np.full((steps, len(covs)), np.nan) for _ in ds.series]
    for rows, s in zip(out, ds.series, strict=True):
        for c in static:
            rows[:, covs.index(c)] = s.values[-1, n_t + covs.index(c)]
    if not known:
        return out, times
    if path is None:  # the option left out: a usage error
        raise ConfigError(
            f"the model also takes the features {known}: their future values are needed",
            where="--future",
            hint=f"pass --future CSV with columns {', '.join(filter(None, [run.cfg.data.time_column, *known]))}"
            + (f" and {run.cfg.data.series_column}" if run.cfg.data.series_column else "")
            + ("" if run.cfg.data.time_column else ", one row per step"),
        )
    from seqcast.data import load_dataset

    exists(path, "--future")
    fcfg = run.cfg.data.model_copy(
        update={
            "path": path.absolute(), "targets": known, "features": [], "past_features": [], "static": [],
            "series_id": False, "missing": "drop",  # a gap or blank the forecast does not reach is no fault
        }
    )  # fmt: skip
    with columns_of("the --future file", roles={"data.targets": "data.features"}):
        fut = load_dataset(fcfg, step=run.freq, last=max(s.times[-1] for s in ds.series))
    same_clock(run, fut, "the --future file", "has")
    if aside := [c for c in header(path) if c in past or c in static]:  # a user who thinks they act must hear not
        why = [
            text
            for text, keyed in (
                ("data.past_features are known up to the forecast origin only", past),
                ("data.static values are each series' own, from its history", static),
            )
            if set(keyed) & set(aside)
        ]
        named = f"column{'s' if len(aside) > 1 else ''} {listed(aside)} {'are' if len(aside) > 1 else 'is'}"
        ds.notes.append(f"the --future file's {named} not read: {'; '.join(why)}")
    by_name = {s.name: s for s in fut.series}
    covered = {s.name for s in ds.series}
    extra = [n for n in by_name if n not in covered]
    if extra:  # a typo in a series name would otherwise pass unseen
        ds.notes.append(f"the --future file has rows of series the forecast does not cover ({listed(extra)}): not read")
    cols, read, unread = [covs.index(c) for c in known], read_steps(run, steps), False
    for rows_out, s, want in zip(out, ds.series, times, strict=True):
        f = by_name.get(s.name)
        if f is not None and fut.time_kind == "none":  # no time column: a series' k-th row is its step k
            f = dataclasses.replace(f, times=want[0] + f.times.astype(want.dtype))  # a blank row's step is left out
        have = {} if f is None else {t: k for k, t in enumerate(f.times.tolist())}
        at = [have.get(t) for t in want.tolist()]
        if None in at[:read]:
            raise _no_future(run, fcfg, fut, f, s.name, want[:read], at.index(None), extra)
        assert f is not None
        unread = unread or any(a is not None for a in at[read:])
        at = [a if a is not None else at[read - 1] for a in at]  # steps the model never reads: any row will do
        rows_out[:, cols] = f.values[np.asarray(at, dtype=np.int64)]
    ds.notes += outside_training(run, ds, known, [rows[:read, cols] for rows in out])
    if unread:  # values given for steps the model never reads: a planner's promotion would be lost without a word
        h = int(run.pre["horizon"])
        ds.notes.append(
            f"the model answers windows.horizon={h} steps at once from the data.features of the first: the --future "
            f"values of step{'s' if steps - read > 1 else ''} {read + 1}{f'-{steps}' if steps - read > 1 else ''} do "
            "not change this forecast (a model of windows.horizon: 1 reads every step's)"
        )
    return out, times


def outside_training(run: Run, ds: Dataset, known: list[str], rows: list[np.ndarray]) -> list[str]:
    """Notes for --future values of data.features outside the range each series' training part held (a price
    in cents where the training had euros, a flag never set): the network has not seen them; a series new to a
    global run, outside every series' range together. At most 5."""
    ranges = {d["name"]: d.get("feature_range") or {} for d in run.pre["series"]}
    together = {c: pooled([r.get(c) for r in ranges.values()]) for c in known}  # for a series new to the run
    found = []
    for s, r in zip(ds.series, rows, strict=True):
        for j, c in enumerate(known):
            span = ranges[s.name].get(c) if s.name in ranges else together[c]
            out = leaves(r[:, j], span) if span else None
            if span and out is not None:
                far, was = out[0], f"{span[0]:.4g} to {span[1]:.4g}"
                part = "its training part" if s.name in ranges else "every series' training parts (a new series)"
                found.append(f"{s.label}: the --future values of {c!r} reach {far:.4g}, outside the {was} of {part}: "
                             "values the network has not seen")  # fmt: skip
    n = RANGE_NOTES
    more = [f"(and {len(found) - n} more --future values outside their training range)"] if len(found) > n else []
    return found[:n] + more


def read_steps(run: Run, steps: int) -> int:
    """How many of a forecast's first steps' data.features the model reads: a direct head answers a block of
    windows.horizon steps from the features of its first step, and the next block's window holds those of the
    steps before it; the steps after the last block's first are read by none."""
    h = int(run.pre["horizon"])
    return (steps - 1) // h * h + 1 if direct_head(run) and h > 1 else steps


def direct_head(run: Run) -> bool:
    """Does the model answer windows.horizon steps at once (look-back many_to_one or encoder_decoder)?"""
    return run.pre["mode"] == "lookback" and run.pre["kind"] in ("many_to_one", "encoder_decoder")


def _no_future(run: Run, fcfg: Any, fut: Dataset, f: Series | None, name: str, want: np.ndarray, k: int,
               extra: list[str]) -> DataError:  # fmt: skip
    """The error for a forecast step `want[k]` of series `name` at which the --future file (`fut`, read with
    data.missing: drop; `f`: the series' rows, `extra`: its series the forecast does not cover) has no row, with
    why where it can tell: the series under another name, another step, rows off the steps, a blank or a gap."""
    from seqcast.errors import same_series

    say, known = when(run, fut.time_kind), fcfg.targets
    if f is None:
        close = same_series(name, extra) or [e for e in extra if e == f"{name}.0"]  # ids written as decimals
        why = f": the file has no rows of series {name!r}" + (
            f" (did you mean {close[0]!r}?)" if close else f" (its other series: {listed(extra)})" if extra else ""
        )
    elif run.freq and fut.freq and fut.freq != run.freq:
        why = f": the file steps at {fut.freq.said}, the run at {run.freq.said}"
    elif len(stray := f.times[(f.times >= want[0]) & (f.times <= want[-1]) & ~np.isin(f.times, want)]):
        why = f": its rows there are off the forecast's steps (first {say(stray[0])})"
    else:
        from seqcast.data import load_dataset
        from seqcast.errors import BlankValues

        why = f": its rows{' of the series' if name else ''} run from {say(f.times[0])} to {say(f.times[-1])}"
        try:  # a row with a blank left out (data.missing: drop), or a gap among its rows: the first is named
            load_dataset(fcfg.model_copy(update={"missing": "error"}), step=run.freq)
        except MissingValues as exc:  # a gap before the file's last row of the series; a blank anywhere
            ours = not name or f"of series {name!r}" in exc.message
            if ours and (isinstance(exc, BlankValues) or f.times[0] < want[k] < f.times[-1]):
                why = f": the file has {exc.message}"
    steps = f"{len(want)} steps'" if len(want) != 1 else "1 step's"
    unit = "step" if fut.time_kind == "none" else "timestamp"  # without a time column, rows are steps
    return DataError(
        f"no future values of {known}{' for series ' + repr(name) if name else ''} at {say(want[k])} (the forecast "
        f"reads {steps} values, from "
        f"{say(want[0])}){why}",
        where=str(fcfg.path),
        hint=f"give the --future file a row with every value of {known} at "
        + (f"each of the {len(want)} {unit}s" if len(want) > 1 else f"that {unit}"),
    )


def check_direct(run: Run, steps: int, where: str = "--steps") -> None:
    """data.past_features are known up to the origin only: refuse a forecast that would feed predictions back
    (more steps than the model's direct head answers at once, or a model that answers one step at a time)."""
    past, h = run.pre.get("past_features", []), int(run.pre["horizon"])
    if past and (not direct_head(run) or steps > h):  # the option asks what the run cannot serve: a usage error
        raise ConfigError(
            f"{steps} steps ahead: the model takes data.past_features {past}, known only up to the forecast "
            f"origin, so it forecasts at most windows.horizon={h} steps in one go (more would feed its own "
            "forecasts back with no values for them)",
            where=where,
            hint=f"{'forecast' if where == '--steps' else 'backtest'} at most {h} steps, or train with windows.horizon "
            "of the steps you need; a feature known ahead belongs in data.features"
            + (" (then give --future)" if where == "--steps" else ""),
        )


def warm_notes(run: Run, ds: Dataset) -> list[str]:
    """A stateful model forecasts from the states its history leaves: the series of `forecast --data` whose history
    is shorter than one of the chunks it was trained on (windows.num_steps) start from states that saw little."""
    if run.pre["mode"] != "stateful":
        return []
    chunk = int(run.cfg.windows.num_steps)
    short = [(s.label, len(s)) for s in ds.series if len(s) < chunk]
    return [
        f"{label}: its states are warmed on {n} row(s) only, fewer than one training chunk (windows.num_steps="
        f"{chunk}): the forecast starts from states that have seen little of the series; a longer --data helps"
        for label, n in short
    ]


def when(run: Run, kind: timeaxis.TimeKind) -> Callable[[object], str]:
    """How a message about a run's new rows says a time: fmt's, midnight kept for sub-daily rows, and ' UTC' after it
    when the run's times had UTC offsets (read, and kept, in UTC: 2024-02-10 23:30 UTC is the file's
    2024-02-11T00:30:00+01:00)."""
    fine, utc = run.freq is not None and run.freq.sub_daily, " UTC" if run.pre.get("time_utc") else ""
    return lambda t: timeaxis.fmt(t, kind, fine) + utc
