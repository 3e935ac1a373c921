"""What window-preview shows: which rows become which samples, batches and streams (no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seqcast import timeaxis
from seqcast.config import Config
from seqcast.data import Dataset, Parts, load_dataset, split_parts
from seqcast.windows import LookbackWindows, StreamLayout, WindowShape, lookback_windows, stream_layout


def first_row(cfg: Config) -> int:
    """First row a window may use: differencing (possibly chosen by auto) costs each series one row."""
    return 1 if cfg.data.transform in ("difference", "auto") else 0


def window_shape(cfg: Config) -> WindowShape:
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
    """The state tensors of every recurrent layer: h and c for LSTM, h only for GRU and SimpleRNN."""
    names = ("h", "c") if cfg.model.cell == "lstm" else ("h",)
    return [
        {"layer": i, "cell": cfg.model.cell, "units": u, "states": {n: [batch, u] for n in names}}
        for i, u in enumerate(cfg.model.units)
    ]


def _time(ds: Dataset, series: int, pos: int) -> str:
    t = ds.series[series].times
    if pos >= len(t):
        return "-"
    return timeaxis.fmt(t[pos], ds.time_kind)


def preview_doc(p: Plan, limit: int | None = None) -> dict[str, Any]:
    """The window-preview JSON document (SPEC.md), rows cut to `limit` when given."""
    cfg, ds = p.cfg, p.ds
    n_in, n_out = len(ds.inputs), len(ds.targets)
    doc: dict[str, Any] = {"mode": cfg.windows.mode}
    rows: list[dict[str, Any]] = []
    if isinstance(p.train, StreamLayout):
        lay = p.train
        t_len = lay.target_len
        doc |= {"x_shape": [lay.batch_size, lay.num_steps, n_in], "y_shape": [lay.batch_size, t_len, n_out]}
        doc |= {"batch_size": lay.batch_size, "batches": lay.batches, "streams": lay.streams}
        total = lay.batches * lay.batch_size
        for k in range(total if limit is None else min(total, limit)):
            b, r = divmod(k, lay.batch_size)
            i, j = lay.locate(r)
            start, end = lay.chunk(b, r)
            rows.append(
                {
                    "batch": b,
                    "row": r,
                    "series": ds.series[i].name,
                    "stream": j,
                    "start": start,
                    "end": end,
                    "target_start": start + lay.target_offset,
                    "target_end": start + lay.target_offset + t_len,
                    "time_start": _time(ds, i, start),
                    "time_end": _time(ds, i, end - 1),
                }
            )
        doc["trim"] = {
            "how": "trimmed to a common number of chunks; rows dropped from the start of each series",
            "dropped": {ds.series[i].name: int(d) for i, d in enumerate(lay.dropped)},
        }
    else:
        win = p.train
        bs = cfg.training.batch_size
        shape = win.shape
        doc |= {"x_shape": [bs, shape.look_back, n_in], "y_shape": [bs, shape.target_len, n_out]}
        doc |= {"batch_size": bs, "batches": -(-len(win) // bs), "windows": len(win), "shuffle": cfg.training.shuffle}
        for k in range(len(win) if limit is None else min(len(win), limit)):
            i = int(win.series[k])
            start, end = win.input_range(k)
            ts, te = win.target_range(k)
            rows.append(
                {
                    "batch": k // bs,
                    "row": k % bs,
                    "series": ds.series[i].name,
                    "start": start,
                    "end": end,
                    "target_start": ts,
                    "target_end": te,
                    "time_start": _time(ds, i, start),
                    "time_end": _time(ds, i, end - 1),
                }
            )
    doc["rows"] = rows
    doc["layers"] = state_shapes(cfg, p.batch_size)
    doc["series"] = [
        {
            "name": s.name,
            "rows": len(s),
            "train": list(pt.bounds("train")),
            "val": list(pt.bounds("val")),
            "test": list(pt.bounds("test")),
            "first": _time(ds, i, 0),
            "last": _time(ds, i, len(s) - 1),
        }
        for i, (s, pt) in enumerate(zip(ds.series, p.parts, strict=True))
    ]
    doc["targets"], doc["features"] = ds.targets, ds.features
    doc["frequency"] = ds.freq.alias if ds.freq else None
    doc["notes"] = ds.notes
    return doc


def plot_preview(p: Plan, path: str, limit: int | None = None) -> None:
    """A PNG of each series with its windows or stateful chunks shaded by batch and the split marked."""
    import io
    from pathlib import Path

    import matplotlib

    from seqcast.rundir import atomic_write

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = p.ds
    k = len(ds.series)
    fig, axes = plt.subplots(k, 1, figsize=(11, 1.9 * k + 1.0), sharex=False, squeeze=False)
    cmap = plt.get_cmap("tab10")
    for i, ax in enumerate(axes[:, 0]):
        s, pt = ds.series[i], p.parts[i]
        x = s.times
        ax.plot(x, s.values[:, 0], color="black", lw=0.8, label=ds.targets[0])
        for name, color in (("val", "tab:orange"), ("test", "tab:red")):
            lo, hi = pt.bounds(name)
            if hi > lo:
                ax.axvspan(x[lo], x[hi - 1], color=color, alpha=0.12, label=name)
        if isinstance(p.train, StreamLayout):
            lay = p.train
            for b in range(lay.batches):
                for j in range(lay.streams):
                    a, e = lay.chunk(b, i * lay.streams + j)
                    ax.axvspan(x[a], x[e - 1], color=cmap(b % 10), alpha=0.25, lw=0)
                    if b == 0:
                        ax.text(x[a], ax.get_ylim()[1], f"stream {j}", fontsize=7, va="top")
            ax.set_title(
                f"{s.name or 'series'}: {lay.batches} batches x {lay.num_steps} steps, "
                f"{lay.streams} streams, {lay.dropped[i]} rows dropped",
                fontsize=9,
            )
        else:
            win = p.train
            mine = np.flatnonzero(win.series == i)
            shown = mine if limit is None else mine[:limit]
            step = max(1, len(shown) // 40)  # at most ~40 windows drawn, evenly spread
            y0, y1 = np.nanmin(s.values[:, 0]), np.nanmax(s.values[:, 0])
            for n, kk in enumerate(shown[::step]):
                a, e = win.input_range(int(kk))
                ta, te = win.target_range(int(kk))
                level = y0 + (y1 - y0) * (0.05 + 0.9 * (n % 20) / 20)
                ax.plot([x[a], x[e - 1]], [level, level], color=cmap((kk // p.cfg.training.batch_size) % 10), lw=2)
                ax.plot([x[ta], x[te - 1]], [level, level], color="tab:green", lw=2)
            ax.set_title(
                f"{s.name or 'series'}: {len(mine)} training windows of look_back "
                f"{win.shape.look_back} (every {step}th drawn; green = targets)",
                fontsize=9,
            )
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write(Path(path), buf.getvalue())  # the folder is made if missing; a failure names the file
