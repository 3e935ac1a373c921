"""The layout of the training data: the split of every series and the windows or stateful streams of each
part. window-preview shows it; training reads its batches through it. The index arithmetic is windows.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqcast.config import Config
from seqcast.data import Dataset, Parts, load_dataset, split_parts
from seqcast.transforms import Transform, auto_candidates
from seqcast.windows import LookbackWindows, StreamLayout, WindowShape, lookback_windows, stream_layout


def first_row(cfg: Config) -> int:
    """First row a window may use: the rows the transform (or any `auto` candidate) leaves without model units."""
    season = cfg.evaluate.season
    names = auto_candidates(cfg.windows.mode, season) if cfg.data.transform == "auto" else [cfg.data.transform]
    return max(Transform.parse(n, season).lost for n in names)


def window_shape(cfg: Config) -> WindowShape:
    """Where a window's inputs and targets sit, from windows.look_back, horizon and the model kind."""
    return WindowShape(cfg.windows.look_back, cfg.windows.horizon, many_to_many=cfg.model.kind == "many_to_many")


def min_rows(cfg: Config) -> int:
    """Rows the training part of every series needs for at least one window."""
    return window_shape(cfg).span + first_row(cfg)


@dataclass
class Plan:
    """A dataset with its split and the windows or stream layout of every part."""

    cfg: Config
    ds: Dataset
    parts: list[Parts]
    train: LookbackWindows | StreamLayout
    val: LookbackWindows | None
    test: LookbackWindows | None

    @property
    def batch_size(self) -> int:
        return self.train.batch_size if isinstance(self.train, StreamLayout) else self.cfg.training.batch_size


def no_validation(parts: list[Parts]) -> bool:
    """No series has a validation part (data.split.val 0): auto chooses by range, and no interval is calibrated."""
    return all(q.val_end <= q.train_end for q in parts)


def plan(cfg: Config, ds: Dataset | None = None) -> Plan:
    """Load the data (unless given) and lay out windows or streams for train, val and test."""
    ds = ds if ds is not None else load_dataset(cfg.data)
    if "log" in cfg.data.transform.split("+"):  # window-preview refuses it as train does
        check_positive(ds)
    if not cfg.stateful:
        short = [s.name for s in ds.series if len(s) < min_rows(cfg)]
        if short:  # a look_back longer than a series: a config error naming the key (exit 2); once resampled, the
            from seqcast.errors import ConfigError, DataError, some  # the series the bins left: a data error

            error = DataError if cfg.data.resample is not None else ConfigError

            who = "the series" if short == [""] else f"series {some(short)}"
            lost = first_row(cfg)  # rows the transform (or an `auto` candidate) uses up: a season, a difference
            season = f" (evaluate.season={cfg.evaluate.season})" if lost > 1 else ""
            used = f" + the {lost} row(s) data.transform uses up{season}" if lost else ""
            raise error(
                f"{who} {'is' if len(short) == 1 else 'are'} shorter than "
                f"windows.look_back + horizon{used} ({min_rows(cfg)} rows needed) in {ds.source}",
                where="data.transform" if lost > window_shape(cfg).span else "windows.look_back",
                hint="lower windows.look_back or windows.horizon"
                + (", or choose a data.transform without a seasonal step" if lost > 1 else "")
                + (f", or leave {who} out of the data" if len(short) < len(ds.series) else ""),
            )
    lost = first_row(cfg)  # what sets a look-back model's rows needed (a stateful model needs any 2): the hint's
    window = "windows.look_back and windows.horizon (one window)"
    window += f", or choose a data.transform without a seasonal step (it uses up {lost} rows)" if lost > 1 else ""
    parts = split_parts(ds, cfg.data, min_rows(cfg) if not cfg.stateful else 2, "" if cfg.stateful else window)
    laid = lay_out(cfg, ds, parts)
    if isinstance(laid.train, LookbackWindows):
        for note in gap_notes(ds, laid.train, laid.val, window_shape(cfg).look_back + first_row(cfg)):
            if note not in ds.notes:  # a dataset planned twice says it once
                ds.notes.append(note)
    unread = (  # a key that does nothing here: said, not refused (a run's config.yaml may hold it)
        f"windows.horizon={cfg.windows.horizon} is not read: a many_to_many model answers the next step at every "
        "input step (many_to_one or encoder_decoder forecast windows.horizon steps at once)"
    )
    sparse = (  # the default kind, unsaid, in the mode that would learn from every step with many_to_many
        f"model.kind many_to_one (the default): a stateful model learns from one target per chunk of "
        f"windows.num_steps={cfg.windows.num_steps} steps, its last; many_to_many learns from every step"
    )
    for said in (
        unread if cfg.model.kind == "many_to_many" and cfg.windows.horizon > 1 else None,
        sparse if cfg.stateful and "kind" not in cfg.model.model_fields_set else None,
        _other_modes_keys(cfg),
        _short_validation(laid),
        _mostly_padding(laid),
    ):
        if said and said not in ds.notes:  # a dataset planned twice says it once
            ds.notes.append(said)
    return laid


def default_of(section: Any, key: str) -> Any:
    """A config key's default: a key set to it says nothing (a run's config.yaml holds every key, at its default
    too)."""
    return type(section).model_fields[key].default


# per windows.mode: the keys only the other mode reads, why this one does not, and the mode that reads them
_OTHER_MODES_KEYS = {
    "lookback": (
        ("windows.num_steps", "windows.streams", "training.reset_states"),
        "not read by look-back windows (every sample starts from zero states)",
        "stateful",
    ),
    "stateful": (
        ("windows.look_back", "training.batch_size", "windows.stride"),
        "not read by a stateful model (its batch is series x windows.streams, its chunks follow each other)",
        "lookback",
    ),
}


def _other_modes_keys(cfg: Config) -> str | None:
    """The note naming the keys set, to other than their defaults, that only the other windows.mode reads."""
    from seqcast.config import default_look_back

    keys, why, reader = _OTHER_MODES_KEYS[cfg.windows.mode]
    sections = [(k, getattr(cfg, k.split(".")[0]), k.split(".")[1]) for k in keys]
    default = {"windows.look_back": default_look_back(cfg.evaluate.season)}  # one that depends on the season
    given = [k for k, sec, name in sections if getattr(sec, name) != default.get(k, default_of(sec, name))]
    return f"{', '.join(given)}: {why}; windows.mode: {reader} reads them" if given else None


def _mostly_padding(p: Plan) -> str | None:
    """The note when over half the stateful batches' steps are padding: training spends most of its time on
    nothing."""
    lay = p.train
    if not isinstance(lay, StreamLayout) or lay.padding_share <= 0.5:
        return None
    return (
        f"{lay.padding_share:.0%} of the stateful batches' steps are padding (windows.num_steps={lay.num_steps}, "
        f"windows.streams={lay.streams}): training spends most of its time on nothing; shorter chunks or fewer "
        "streams pad less"
    )


def _short_validation(p: Plan) -> str | None:
    """The note when a stateful model's validation part is too short to score (dataset.stateful_validation_data
    scores the first rows of every series' validation part, as many as the shortest has, and needs the targets of
    one chunk: many_to_one reads a whole chunk before its target): no val_loss at all, for any series."""
    lay = p.train
    lengths = [q.val_end - q.train_end for q in p.parts]
    if not isinstance(lay, StreamLayout) or max(lengths) == 0:  # no validation part at all: nothing to say here
        return None
    need = lay.val_rows
    if min(lengths) >= need:
        return None
    short = [(s.name, n) for s, n in zip(p.ds.series, lengths, strict=True) if n < need]
    rows = lambda n: f"{n} row{'s' * (n != 1)}"  # noqa: E731
    part, every, leave = f"the validation part ({rows(min(lengths))} in the shortest series)", "", ""
    if len(short) < len(lengths):  # the others' are long enough: the few short series cost every one its val_loss
        named = ", ".join(f"{name!r} ({rows(n)})" for name, n in short[:3])
        part = f"the validation part of series {named}{f' and {len(short) - 3} more' if len(short) > 3 else ''}"
        every = ", and every series is scored on as many rows as the shortest part has"
        leave = f", or leave {'that series' if len(short) == 1 else 'those series'} out of the data"
    return (
        f"{part} is shorter than the {need} rows a stateful {'many_to_many' if lay.many_to_many else 'many_to_one'} "
        f"model needs to score it (windows.num_steps={lay.num_steps}){every}: training gets no val_loss, and early "
        f"stopping follows the training loss; raise data.split.val or lower windows.num_steps{leave}"
    )


def not_positive(values: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first value of `values` (rows, targets) at 0 or below (the first such row, its first
    such column), what a log cannot read; None when every value is above 0."""
    low = values <= 0
    return divmod(int(np.flatnonzero(low)[0]), values.shape[1]) if low.any() else None


def positive_rows(
    values: list[np.ndarray], spans: Iterable[tuple[int, int, int]], targets: list[str], names: list[str]
) -> None:
    """A log transform reads only positive targets: refuse the first other value in rows a to b of series i for
    each (i, a, b) of `spans` (the rows a forecast reads), naming its series, column and row; the caller names the
    file (a trained run's: check_positive is training's)."""
    from seqcast.errors import DataError

    for i, a, b in spans:
        if (at := not_positive(values[i][a:b, : len(targets)])) is not None:
            (r, j), who = at, f"series {names[i]!r}, " if names[i] else ""
            raise DataError(
                f"{who}column {targets[j]!r} has {values[i][a + r, j]:g} at row {a + r + 1} of the series: the "
                "run's transform (log) reads only values above 0",
                hint="correct that value, or use a run trained without log",
            )


def check_positive(ds: Dataset) -> None:
    """A log needs every target value above zero: refuse naming the series, column and time of the first that is
    not."""
    from seqcast.errors import DataError
    from seqcast.timeaxis import fmt

    n_t = len(ds.targets)
    for s in ds.series:
        if (at := not_positive(s.values[:, :n_t])) is not None:
            row, col = at
            who = f"series {s.name!r}, " if s.name else ""
            if ds.time_kind == "none" or len(s.times) != len(s):  # no time column, or the times were released
                when = f"row {row + 1} of the series"
            else:
                when = ("time " if ds.time_kind == "integer" else "") + fmt(s.times[row], ds.time_kind)
            raise DataError(
                f"{who}column {ds.targets[col]!r} has {s.values[row, col]:g} at {when}: "
                "data.transform log needs every value above 0",
                where=ds.source,
                hint="choose a transform without log",
            )


def lay_out(cfg: Config, ds: Dataset, parts: list[Parts]) -> Plan:
    """The windows or streams of every part for a given split (plan's; refit_plan's with the validation part
    joined to the training part)."""
    first = first_row(cfg)
    firsts = [first] * len(parts)
    shape = window_shape(cfg)
    breaks = [s.breaks for s in ds.series]  # data.missing: drop: no window crosses a dropped row
    val = lookback_windows(shape, firsts, [p.bounds("val") for p in parts], breaks=breaks)
    test = lookback_windows(shape, firsts, [p.bounds("test") for p in parts], breaks=breaks)
    train: LookbackWindows | StreamLayout
    if cfg.stateful:
        from seqcast.errors import DataError, located

        refuse_gaps(ds)
        try:
            train = stream_layout(
                firsts,
                [p.train_end for p in parts],
                cfg.windows.streams,
                cfg.windows.num_steps,
                many_to_many=cfg.model.kind == "many_to_many",
                horizon=cfg.windows.horizon,
                names=ds.names,
            )
        except DataError as exc:  # the layout knows the series, the plan knows the file
            raise located(exc, ds.source) from None
    else:
        train = lookback_windows(shape, firsts, [p.bounds("train") for p in parts], cfg.windows.stride, breaks)
        if len(train) == 0:
            from seqcast.errors import DataError

            lost = f" ({int(train.lost.sum())} cross a dropped row)" if train.lost.any() else ""
            raise DataError(
                f"no training window fits in any series{lost}", where=ds.source, hint="lower windows.look_back"
            )
    return Plan(cfg, ds, parts, train, val, test)


def refit_plan(p: Plan) -> Plan:
    """The same data laid out with every series' validation part joined to its training part and no validation
    part: what training.refit trains the final network on (the test part stays out)."""
    return lay_out(p.cfg, p.ds, [Parts(train_end=q.val_end, val_end=q.val_end, n=q.n) for q in p.parts])


def refit_rows(p: Plan) -> int:
    """Rows training.refit adds to the training parts, every series' validation part; 0 when it does not apply
    (off, or no validation part)."""
    return sum(q.val_end - q.train_end for q in p.parts) if p.cfg.training.refit else 0


def refuse_gaps(ds: Dataset) -> None:
    """Refuse a stateful model data with gaps that data.missing: drop left: it carries its states from one row to
    the next, and would carry them across every gap as if none were there."""
    from seqcast.errors import DataError

    for i, s in enumerate(ds.series):
        if len(s.breaks):
            first = ds.gap(i, int(s.breaks[0]))
            raise DataError(
                f"data.missing: drop left {len(s.breaks)} gap(s) in {s.label}, the first {first}: a stateful model "
                "carries its states from each row to the next, across a gap too",
                where=ds.source,
                hint="set data.missing to interpolate or ffill, or use windows.mode: lookback (its windows leave "
                "the gaps out)",
            )


def gap_notes(ds: Dataset, train: LookbackWindows, val: LookbackWindows | None, history: int) -> list[str]:
    """What data.missing: drop's gaps cost: the windows left out, and the series whose last `history` rows (what a
    forecast from the end of the data reads) cross a gap."""
    gappy = [(i, s) for i, s in enumerate(ds.series) if len(s.breaks)]
    if not gappy:
        return []
    lost = {s.name: int(train.lost[i]) for i, s in gappy if train.lost[i]}
    val_lost = int(val.lost.sum()) if val is not None else 0
    per_series = ", ".join(f"{n!r}: {k}" for n, k in list(lost.items())[:8]) + (", ..." if len(lost) > 8 else "")
    notes = [
        f"{sum(lost.values())} training window(s) crossing a dropped row were left out"
        + (f" ({per_series})" if lost and ds.names[0] else "")
        + (f", and {val_lost} validation window(s)" if val_lost else "")
    ]
    return (notes if lost or val_lost else []) + end_gap_notes(ds, history)


def end_gap_notes(ds: Dataset, history: int) -> list[str]:
    """The series whose last `history` rows, the window a forecast from the end of the data reads, cross a gap
    that data.missing: drop left. Such a forecast is not refused (those rows are all the history there is)."""
    from seqcast.windows import crosses_break

    notes = []
    for i, s in enumerate(ds.series):
        end = len(s) - history  # the last window's first row (its transform's rows included)
        if len(s.breaks) and crosses_break(s.breaks, np.array([end]), history)[0]:
            notes.append(
                f"the last {history} rows of {s.label}, the window a forecast from the end of the data reads, cross "
                f"the gap {ds.gap(i, int(s.breaks[-1]))}: forecasts start from them as they are"
            )
    return notes


def check_backtest(cfg: Config, ds: Dataset, parts: list[Parts]) -> None:
    """Refuse, before anything trains, a split that leaves the end-of-training backtest no origin (train calls it;
    window-preview shows such splits as they are)."""
    from seqcast.errors import ConfigError, DataError, some

    h, season = cfg.evaluate.horizon, cfg.evaluate.season
    longest = max(p.n - p.val_end for p in parts)
    if longest < h:  # a key too large for the data, as a look_back longer than a series: a config error
        raise ConfigError(
            f"the test part of {ds.source} is shorter than evaluate.horizon={h} in every series (the longest has "
            f"{longest} row{'s' * (longest != 1)}): the backtest after training would have no origin",
            where="evaluate.horizon",
            hint="raise data.split.test or lower evaluate.horizon",
        )
    short = [s.name for s, p in zip(ds.series, parts, strict=True) if p.n - p.val_end >= h and p.val_end < season]
    if short:
        raise ConfigError(
            f"evaluate.season={season} is longer than the history before the test part of series {some(short)} in "
            f"{ds.source}",
            where="evaluate.season",
            hint="lower evaluate.season or data.split",
        )
    breaks = [s.breaks for s in ds.series]
    if any(len(b) for b in breaks):  # data.missing: drop: origins whose rows cross a gap are not scored
        from seqcast.windows import backtest_origins, clear_of_gaps

        lost = 0 if cfg.data.transform == "auto" else first_row(cfg)  # the least any transform needs
        history = max((1 if cfg.stateful else cfg.windows.look_back) + lost, season)
        jobs = [(i, int(o)) for i, p in enumerate(parts) for o in backtest_origins(p.val_end, p.n, h)]
        if not clear_of_gaps(jobs, breaks, history, h):
            raise DataError(
                f"every one of the {len(jobs)} backtest origins has a gap that data.missing: drop left in its "
                f"{history} rows of history or its {h} steps: the backtest after training would have no origin",
                where=ds.source,
                hint="set data.missing to interpolate or ffill, or lower evaluate.horizon or windows.look_back",
            )


def state_shapes(cfg: Config, batch: int) -> list[dict[str, Any]]:
    """The state tensors of every recurrent layer of model.keras: h and c for LSTM, h only for GRU and SimpleRNN;
    an encoder_decoder's decoder layers (the same sizes again) after its encoder's, as model.keras orders them.

    With model.ensemble E the saved model holds E networks side by side (model.merge): each layer is E times
    as wide, member k's units at columns k*u .. (k+1)*u of every state."""
    names = ("h", "c") if cfg.model.cell == "lstm" else ("h",)
    e = cfg.model.ensemble
    units = list(cfg.model.units) * (2 if cfg.model.kind == "encoder_decoder" else 1)
    return [
        {"layer": i, "cell": cfg.model.cell, "units": u * e, "members": e, "states": {n: [batch, u * e] for n in names}}
        for i, u in enumerate(units)
    ]
