"""The layout of the training data: the split of every series and the windows or stateful streams of each
part. window-preview shows it; training reads its batches through it. The index arithmetic is windows.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqcast.config import Config
from seqcast.data import Dataset, Parts, load_dataset, split_parts
from seqcast.transforms import Transform, auto_candidates
from seqcast.windows import LookbackWindows, StreamLayout, WindowShape, lookback_windows, stream_layout


def first_row(cfg: Config) -> int:
    """First row a window may use: the rows the transform (or any `auto` candidate) leaves without model units."""
    season = cfg.evaluate.season
    names = auto_candidates(cfg.windows.mode, season, True) if cfg.data.transform == "auto" else [cfg.data.transform]
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


def plan(cfg: Config, ds: Dataset | None = None) -> Plan:
    """Load the data (unless given) and lay out windows or streams for train, val and test."""
    ds = ds if ds is not None else load_dataset(cfg.data)
    first = first_row(cfg)
    if not cfg.stateful:
        short = [s.name for s in ds.series if len(s) < min_rows(cfg)]
        if short:
            from seqcast.errors import DataError

            raise DataError(
                f"series {short[:5]} {'is' if len(short) == 1 else 'are'} shorter than "
                f"windows.look_back + horizon ({min_rows(cfg)} rows needed)",
                where=ds.source,
                hint="lower windows.look_back or windows.horizon",
            )
    parts = split_parts(ds, cfg.data, min_train=min_rows(cfg) if not cfg.stateful else 2)
    firsts = [first] * len(parts)
    shape = window_shape(cfg)
    val = lookback_windows(shape, firsts, [p.bounds("val") for p in parts])
    test = lookback_windows(shape, firsts, [p.bounds("test") for p in parts])
    train: LookbackWindows | StreamLayout
    if cfg.stateful:
        from seqcast.errors import DataError

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
            raise DataError(exc.message, where=exc.where or ds.source, hint=exc.hint) from None
    else:
        train = lookback_windows(shape, firsts, [p.bounds("train") for p in parts], cfg.windows.stride)
        if len(train) == 0:
            from seqcast.errors import DataError

            raise DataError("no training window fits in any series", where=ds.source, hint="lower windows.look_back")
    return Plan(cfg, ds, parts, train, val, test)


def check_backtest(cfg: Config, ds: Dataset, parts: list[Parts]) -> None:
    """Refuse, before anything trains, a split that leaves the end-of-training backtest no origin (train calls it;
    window-preview shows such splits as they are)."""
    from seqcast.errors import DataError

    h, season = cfg.evaluate.horizon, cfg.evaluate.season
    longest = max(p.n - p.val_end for p in parts)
    if longest < h:
        raise DataError(
            f"the test part is shorter than evaluate.horizon={h} in every series (the longest has {longest} rows): "
            "the backtest after training would have no origin",
            where=ds.source,
            hint="raise data.split.test or lower evaluate.horizon",
        )
    short = [s.name for s, p in zip(ds.series, parts, strict=True) if p.n - p.val_end >= h and p.val_end < season]
    if short:
        raise DataError(
            f"evaluate.season={season} is longer than the history before the test part of series {short[:5]}",
            where=ds.source,
            hint="lower evaluate.season or data.split",
        )


def state_shapes(cfg: Config, batch: int) -> list[dict[str, Any]]:
    """The state tensors of every recurrent layer of model.keras: h and c for LSTM, h only for GRU and SimpleRNN.

    With model.ensemble E the saved model holds E networks side by side (model.merge): each layer is E times
    as wide, member k's units at columns k*u .. (k+1)*u of every state."""
    names = ("h", "c") if cfg.model.cell == "lstm" else ("h",)
    e = cfg.model.ensemble
    return [
        {"layer": i, "cell": cfg.model.cell, "units": u * e, "members": e, "states": {n: [batch, u * e] for n in names}}
        for i, u in enumerate(cfg.model.units)
    ]
