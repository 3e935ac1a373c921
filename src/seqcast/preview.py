"""What window-preview shows: which rows become which samples, batches and streams (no TensorFlow)."""

from __future__ import annotations

from typing import Any

from seqcast import lead, timeaxis
from seqcast.config import Resample
from seqcast.data import Dataset
from seqcast.errors import SeqcastError
from seqcast.layout import Plan, check_backtest, first_row, no_validation, refit_rows, state_shapes
from seqcast.prepare import new_series_ok
from seqcast.resample import hows_for
from seqcast.static import ID_PREFIX
from seqcast.transforms import auto_candidates
from seqcast.windows import LookbackWindows, StreamLayout


def _time(ds: Dataset, series: int, pos: int) -> str:
    t = ds.series[series].times
    if pos >= len(t):
        return "-"
    return timeaxis.fmt(t[pos], ds.time_kind, fine=ds.freq is not None and ds.freq.sub_daily)


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
            "fraction": round(lay.padding_share, 4),
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
    doc["states"] = states_text(cfg)  # with training.reset_states, which a stateful layout's heading reads
    doc["reset_states"] = cfg.training.reset_states if cfg.stateful else None
    doc["notes"] = ds.notes
    return doc


def transform_doc(p: Plan) -> dict[str, Any]:
    """data.transform: its name; for `auto` the candidates train will try (null otherwise); and the first row a
    window may use, after the rows the transform (for `auto`, the most demanding candidate) reads first."""
    cfg = p.cfg
    auto = cfg.data.transform == "auto"
    candidates = auto_candidates(cfg.windows.mode, cfg.evaluate.season) if auto else None
    no_val = no_validation(p.parts)  # nothing to score the candidates on (select.choose)
    doc = {"name": cfg.data.transform, "candidates": candidates, "first_row": first_row(cfg)}
    return doc | ({"by_range": candidates[:2]} if candidates and no_val else {})


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
    if no_validation(p.parts) and p.cfg.evaluate.intervals:  # calibration.json's errors
        return ["no validation part (data.split.val): train calibrates no prediction interval, and forecast "
                "--interval will refuse every level"]  # fmt: skip
    return []


def text_lines(doc: dict[str, Any]) -> list[str]:
    """The lines window-preview prints under its tables: scaling, transform, refit, inputs, resampling, padding."""
    lines = [f"states: {doc['states']}", scaler_text(doc["scaler"]), transform_text(doc["transform"])]
    lines += [refit_text(doc["refit"])] if doc["refit"] is not None else []
    lines += [inputs_text(doc)] if doc["features"] else []
    lines += [resample_text(doc["resample"])] if doc["resample"] is not None else []
    if doc["mode"] == "stateful":
        pad = doc["padding"]
        share = f"{pad['fraction']:.1%} of the batches' steps"
        rows = list(pad["rows"].items())  # thousands of series: the first ten (--json has them all)
        shown = ", ".join(f"{n!r}: {k}" for n, k in rows[:10])
        shown += f", and {len(rows) - 10:,} more" if len(rows) > 10 else ""
        lines.append(f"{pad['how']}; padded rows per series ({share}): {{{shown}}}")
    return lines


def input_roles(features: list[str], past: list[str], static: list[str]) -> tuple[list[str], list[str], int]:
    """(known-ahead features, the user's static columns, data.series_id's columns: one per series, named
    series=<name>) of the inputs after the targets; past (data.past_features) are the rest."""
    user_static = [c for c in static if not c.startswith(ID_PREFIX)]
    return [c for c in features if c not in past and c not in static], user_static, len(static) - len(user_static)


def inputs_text(doc: dict[str, Any]) -> str:
    """window-preview's line on the inputs after the targets: which need future values, which do not."""
    past = doc["past_features"]
    known, static, ids = input_roles(doc["features"], past, doc["static"])
    parts = [f"targets {doc['targets']}"]
    if known:
        parts.append(f"features {known} (known ahead: row t holds their values at t + 1, the step it forecasts)")
    if past:
        where = "up to the forecast origin only: a direct forecast of windows.horizon steps"
        parts.append(f"past_features {past} ({where})")
    if static:
        parts.append(f"static {static} (one value per series, repeated at every step; scaled across series)")
    if ids:
        parts.append(f"series identity: {ids} columns {ID_PREFIX}<name>, 1 in the series' own (data.series_id)")
    return "inputs, in this order: " + "; ".join(parts)


def scaler_text(scaler: dict[str, Any]) -> str:
    """window-preview's line on the scaling (data.scaler, data.scaler_scope) and what it means for new series."""
    scope = (
        "values as they are, no statistics"
        if scaler["kind"] == "none"
        else "one set of statistics for every series, fitted on all training parts together"
        if scaler["scope"] == "global"
        else "statistics per series, fitted on its own training part"
    )
    new = (
        "forecast --data can forecast a series the run never saw"
        if scaler["new_series"]
        else "a series the run never saw cannot be forecast (data.scaler_scope: global would allow it)"
    )
    return f"scaling: {scaler['kind']}, scope {scaler['scope']} ({scope}); {new}"


def transform_text(transform: dict[str, Any]) -> str:
    """window-preview's line on data.transform: what `auto` will try, and why the windows start where they do."""
    first, auto = transform["first_row"], transform["candidates"] is not None
    who = "the most demanding candidate" if auto else "it"
    rows = f"{first} row{'s' if first != 1 else ''}"
    start = f"model inputs start at row {first} of every series: {who} reads the {rows} before it" if first else ""
    head = f"data.transform {transform['name']}"
    if transform.get("by_range"):
        head += (": no validation part to score candidates on (data.split.val), so train takes "
                 f"{' or '.join(transform['by_range'])} by the data's range (the latter when the newest rows leave "
                 "the older rows' range)")  # fmt: skip
    elif auto:
        head += f": train tries {', '.join(transform['candidates'])} (briefly, scored on the validation part)"
    return head + (f"; {start}" if start else "")


def refit_text(refit: dict[str, Any]) -> str:
    """window-preview's line on training.refit."""
    return (
        "training.refit: early stopping chooses the epochs on the validation part; then the kept network trains "
        f"again, for those epochs, on the training and validation parts together ({refit['rows']} more rows); the "
        "validation scores and the intervals are the first network's"
    )


def resample_text(rs: dict[str, Any]) -> str:
    """window-preview's line on data.resample: the bins, the aggregation, events in and rows out."""
    hows = set(rs["how"].values())
    how = next(iter(hows)) if len(hows) == 1 else ", ".join(f"{c}: {h}" for c, h in rs["how"].items())
    empty = f"; {rs['empty']:,} empty bin(s) between them: {rs['empty_bins']}" if rs["empty"] else ""
    return (
        f"resampled to {rs['freq']} ({how}): {rs['events']:,} events -> {rs['rows']:,} rows in "
        f"{len(rs['series']):,} series{empty}"
    )


def states_text(cfg: Any) -> str:
    """When states are reset, in words (window-preview and the training header)."""
    if not cfg.stateful:
        return "look-back windows: every sample starts from zero states (stateful=False), shuffled each epoch"
    return {
        "epoch": "stateful: states carry from batch to batch (row r continues row r) and are reset at each epoch start",
        "batch": "stateful layers, but states are reset before every batch (training.reset_states: batch)",
        "never": "stateful: states are never reset during training (training.reset_states: never)",
    }[cfg.training.reset_states]
