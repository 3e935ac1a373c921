"""What window-preview shows: which rows become which samples, batches and streams (no TensorFlow)."""

from __future__ import annotations

from typing import Any

from seqcast import lead, timeaxis
from seqcast.config import Resample
from seqcast.data import Dataset
from seqcast.errors import SeqcastError
from seqcast.layout import Plan, check_backtest, first_row, refit_rows, state_shapes
from seqcast.prepare import new_series_ok
from seqcast.resample import hows_for
from seqcast.transforms import auto_candidates
from seqcast.windows import LookbackWindows, StreamLayout


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
            p0, p1 = lay.chunk(b, r)
            pad = lay.padding(b, r)
            # the real rows of the chunk; a chunk of padding alone is empty at the series' first row, so that
            # row r of batch b + 1 still starts where row r of batch b ends
            start, end = max(p0, lay.real_first[i]), max(p1, lay.real_first[i])
            t0 = start + 1 if lay.many_to_many else end
            t1 = end + 1 if lay.many_to_many else end + (t_len if end > start else 0)
            rows.append(
                {
                    "batch": b,
                    "row": r,
                    "series": ds.series[i].name,
                    "stream": j,
                    "start": start,
                    "end": end,
                    "padding": pad,
                    "target_start": t0,
                    "target_end": t1,
                    "time_start": _time(ds, i, start) if end > start else None,
                    "time_end": _time(ds, i, end - 1) if end > start else None,
                }
            )
        doc["padding"] = {
            "how": "each series is padded before its first row to whole chunks, as many as the longest series "
            "needs; padded steps are masked (no row is dropped)",
            "rows": {ds.series[i].name: int(d) for i, d in enumerate(lay.padded)},
            "dropped": 0,
            # the share of the batches' input steps that are padding: compute spent on nothing (a panel of one long
            # series and many short ones pads every short one to the long one's length)
            "fraction": round(sum(lay.padded) / (lay.batches * lay.batch_size * lay.num_steps), 4),
        }
    else:
        win = p.train
        bs = cfg.training.batch_size
        shape = win.shape
        doc |= {"x_shape": [bs, shape.look_back, n_in], "y_shape": [bs, shape.target_len, n_out]}
        doc |= {"batch_size": bs, "batches": -(-len(win) // bs), "windows": len(win), "shuffle": cfg.training.shuffle}
        if any(len(s.breaks) for s in ds.series):
            doc["gaps"] = gaps_doc(p)
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
    doc["features_lead"] = bool(lead.of_data(ds))  # features: rows start+1..end
    doc["rows_total"] = total if isinstance(p.train, StreamLayout) else len(p.train)  # rows holds the first `limit`
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
    doc["targets"], doc["features"] = ds.targets, ds.features  # features: every input after the targets
    doc["past_features"], doc["static"] = ds.past, ds.static  # which of them are past-only, or one per series
    doc["frequency"] = ds.freq.alias if ds.freq else None
    doc["resample"] = resample_doc(cfg.data.resample, ds, cfg.data.missing) if cfg.data.resample is not None else None
    scaler = {"kind": cfg.data.scaler, "scope": cfg.data.scaler_scope}
    # new_series: can `forecast --data` forecast a series the run never saw (no statistics of its own needed, and
    # no input column of its own under data.series_id)?
    doc["scaler"] = scaler | {"new_series": new_series_ok(scaler) and not cfg.data.series_id}
    added = refit_rows(p)  # training.refit: the kept network trains again on each series' rows [0, val_end)
    doc["refit"] = {"rows": added} if added else None
    doc["transform"] = transform_doc(p)
    doc["notes"] = ds.notes
    return doc


def transform_doc(p: Plan) -> dict[str, Any]:
    """data.transform: its name; for `auto` the candidates train will try (null otherwise); and the first row a
    window may use, after the rows the transform (for `auto`, the most demanding candidate) reads first."""
    cfg = p.cfg
    auto = cfg.data.transform == "auto"
    candidates = auto_candidates(cfg.windows.mode, cfg.evaluate.season) if auto else None
    return {"name": cfg.data.transform, "candidates": candidates, "first_row": first_row(cfg)}


def gaps_doc(p: Plan) -> dict[str, Any]:
    """data.missing: drop's gaps: breaks (rows that do not follow the one before them) and the look-back windows
    left out because they would cross one, per series (series without a gap are not listed) and in all."""
    assert isinstance(p.train, LookbackWindows)
    ds, train, val = p.ds, p.train, p.val
    per = {
        s.name: {
            "breaks": len(s.breaks),
            "windows_lost": int(train.lost[i]),
            "val_windows_lost": int(val.lost[i]) if val is not None else 0,
            "first": ds.gap(i, int(s.breaks[0])),
        }
        for i, s in enumerate(ds.series)
        if len(s.breaks)
    }
    return {
        "how": "data.missing: drop; a window never crosses a dropped row: those that would are left out",
        "breaks": sum(c["breaks"] for c in per.values()),
        "windows_lost": sum(c["windows_lost"] for c in per.values()),
        "val_windows_lost": sum(c["val_windows_lost"] for c in per.values()),
        "series": per,
    }


def resample_doc(spec: Resample, ds: Dataset, missing: str) -> dict[str, Any]:
    """data.resample as applied: the bins, each column's aggregation, events in and rows out per series and in all."""
    per = ds.resampled
    return {
        "freq": spec.freq,
        "how": dict(zip(ds.inputs, hows_for(spec.how, ds.inputs), strict=True)),
        "bins": "left-closed, labelled by their start (ME, QE, YE: by their last day), aligned to the frequency",
        "empty_bins": f"missing rows, handled by data.missing ({missing})",
        "events": sum(c["events"] for c in per.values()),
        "rows": sum(c["bins"] for c in per.values()),
        "empty": sum(c["empty"] for c in per.values()),
        "series": per,
    }


def train_refusals(p: Plan) -> list[str]:
    """What `seqcast train` would refuse in a layout that window-preview shows as it is (a backtest left without
    an origin), as notes."""
    try:
        check_backtest(p.cfg, p.ds, p.parts)
    except SeqcastError as exc:
        return [f"seqcast train would stop here: {exc.render()}"]
    return []
