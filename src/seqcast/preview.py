"""What window-preview shows: which rows become which samples, batches and streams (no TensorFlow)."""

from __future__ import annotations

from typing import Any

from seqcast import timeaxis
from seqcast.data import Dataset
from seqcast.layout import Plan, state_shapes
from seqcast.windows import StreamLayout


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
