"""The scores' tables: the backtest against the baselines, each series' MASE, the intervals' coverage, and the
training summary that ends with them (console.py holds the consoles and the other commands' tables)."""

from __future__ import annotations

from typing import Any

from seqcast.console import _Table, out, safe
from seqcast.metrics import NO_SCALE

NA = "n/a"  # a score without a scale to divide by (metrics.NO_SCALE): said under the table, never "nan"


def _cell(v: float | None, spec: str = ".4g") -> str:
    return NA if v is None or v != v else format(v, spec)


def metrics_table(doc: dict[str, Any], by_series: bool = False) -> None:
    """The backtest as a table; the best method stands out. `by_series` (evaluate): each series' MASE too."""
    t = _Table(
        title=f"test backtest: {doc['origins']} origin{'s' * (doc['origins'] != 1)} x horizon {doc['horizon']} "
        f"(season {doc['season']})"
        + (
            f"; {doc['origins_skipped_gaps']} origins whose rows cross a dropped row were skipped"
            if doc.get("origins_skipped_gaps")
            else ""
        ),
    )
    t.add_column("method")
    t.add_column("target")
    for m in ("MAE", "RMSE", "sMAPE %", "MASE"):
        t.add_column(m, justify="right")
    targets = list(doc["per_target"])
    for name in ("model", "naive", "seasonal_naive"):
        style = "bold green" if name == doc.get("best") else None
        rows = [("all", doc[name])] if len(targets) > 1 else []
        rows += [(tg, doc["per_target"][tg][name]) for tg in targets]
        for k, (tg, v) in enumerate(rows):
            t.add_row(
                name if k == 0 else "",
                safe(tg),
                *(_cell(v[m]) for m in ("mae", "rmse", "smape", "mase")),
                style=style,
            )
    out.print(t)
    steps = doc.get("by_step", {})
    h = doc["horizon"]
    if steps and h > 1:
        shown = shown_steps(h, doc["season"])
        s = _Table(title="MAE by horizon step")
        s.add_column("step", justify="right")
        for name in steps:
            s.add_column(name, justify="right")
        for k in shown:
            s.add_row(str(k), *(_cell(steps[name]["mae"][k - 1]) for name in steps))
        out.print(s)
    series_na = series_table(doc["per_series"]) if by_series and doc.get("per_series") else False
    intervals_table(doc.get("intervals") or {})
    scored = [doc[name] for name in ("model", "naive", "seasonal_naive")]
    scored += [per[name] for per in doc["per_target"].values() for name in ("model", "naive", "seasonal_naive")]
    if series_na or any(_cell(row.get(m)) == NA for row in scored for m in ("mae", "rmse", "smape", "mase")):
        out.print(f"{NA}: {NO_SCALE}")


def shown_steps(h: int, season: int) -> list[int]:
    """The horizon steps the MAE table shows: the first three, every sixth (a quarter of a horizon over 24), the
    last, and each season's end when the horizon holds a few seasons."""
    every = 6 if h <= 24 else h // 4
    ends = range(season, h + 1, season) if 1 < season < h and h // season <= 4 else ()
    return sorted({1, 2, 3, h, *range(every, h + 1, every), *ends} & set(range(1, h + 1)))


SHOWN_SERIES = 20


def series_table(per: dict[str, dict[str, float]]) -> bool:
    """Each series' MASE for every method (metrics.json per_series), in the data's order; over SHOWN_SERIES series,
    those where the model does worst against seasonal naive. Whether a cell shown is n/a (the footnote's)."""
    names = list(per)
    title = "MASE by series"
    if len(names) > SHOWN_SERIES:
        ratio = {n: per[n]["model"] / per[n]["seasonal_naive"] if per[n]["seasonal_naive"] > 0 else 0 for n in names}
        worst = set(sorted(names, key=lambda n: -ratio[n] if ratio[n] == ratio[n] else 0)[:SHOWN_SERIES])
        names = [n for n in names if n in worst]
        title += f": the {SHOWN_SERIES} of {len(per):,} where the model does worst against seasonal naive"
    t = _Table(title=title)
    t.add_column("series")
    for m in ("model", "naive", "seasonal_naive"):
        t.add_column(m, justify="right")
    cells = {n: [_cell(per[n][m]) for m in ("model", "naive", "seasonal_naive")] for n in names}
    for n in names:
        t.add_row(safe(n), *cells[n])
    out.print(t)
    return any(NA in row for row in cells.values())


def intervals_table(levels: dict[str, Any]) -> None:
    """Conformal intervals on the backtest: coverage against the level, width and MSIS scaled like MASE, for the
    model and for seasonal naive's intervals built the same way; how many errors of the validation and training
    parts each rests on (a level needs enough of the validation part's)."""
    if not levels:
        return
    shape = " (asymmetric: each bound from its own tail)" if any(v.get("asymmetric") for v in levels.values()) else ""
    t = _Table(title=f"conformal prediction intervals{shape}: coverage should match the level")
    for col in ("method", "level", "val. errors", "train. errors", "coverage", "width", "MSIS"):  # 80 columns
        t.add_column(col, justify="left" if col == "method" else "right")
    refused = [f"{level} %: {v['refused']}" for level, v in levels.items() if "refused" in v]  # below, not in a cell
    for method in ("model", "s. naive"):  # as the backtest's table: one row per method and level
        shown = [(level, v) for level, v in levels.items() if method == "model" or "refused" not in v]
        for k, (level, v) in enumerate(shown):
            name = method if k == 0 else ""
            if "refused" in v:
                t.add_row(name, f"{level} %", "", "", "none")
                continue
            x = v if method == "model" else v["seasonal_naive"]
            counts = ["", ""]
            if method == "model":  # the errors the level rests on; an older run pooled no training errors
                counts = [f"{v['errors']:,}", f"{v['training_errors']:,}" if "training_errors" in v else ""]
            t.add_row(
                name,
                f"{level} %",
                *counts,
                _cell(x["coverage"], ".1%"),
                _cell(x["width"], ".3g"),
                _cell(x["score"], ".3g"),
            )
        if method == "model" and shown:
            t.add_section()
    out.print(t)
    for line in refused:
        out.print(safe(line))


def train_summary(
    rows: list[dict[str, Any]],
    seconds: float,
    target: Any,
    metrics: dict[str, Any],
    refit: dict[str, Any] | None = None,
    last: bool = False,
) -> None:
    """The epochs run, the best one (`last`: early stopping is off and the last epoch's weights are kept, so the
    last), the refit (training.refit), the time, where the run went, then the backtest."""
    import math

    members: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:  # an ensemble's history has a member column: one best epoch per network
        members.setdefault(r.get("member", 0), []).append(r)
    watch = "val_loss" if any(not math.isnan(r["val_loss"]) for r in rows) else "loss"  # no validation part: loss
    bests = []
    for own in members.values():
        finite = [r for r in own if not math.isnan(r[watch])]
        bests.append(min(finite, key=lambda r: r[watch]) if finite and not last else own[-1])
    t = _Table(title="training summary", show_header=False)
    t.add_column("what")
    t.add_column("value")
    scores = ", ".join(format(b[watch], ".4g") for b in bests)
    if len(members) > 1:
        t.add_row(
            "epochs run", f"{len(rows)} ({len(members)} networks: {', '.join(str(len(m)) for m in members.values())})"
        )
        which = ", ".join(str(b["epoch"]) for b in bests)
        t.add_row(f"{'last' if last else 'best'} epochs", f"{which} ({watch} {scores})")
    else:
        t.add_row("epochs run", str(len(rows)))
        val = f", val_loss {scores}" if watch == "val_loss" else ""
        for b in bests:  # one
            t.add_row("last epoch" if last else "best epoch", f"{b['epoch']} (loss {b['loss']:.4g}{val})")
    if watch == "loss" and rows:
        t.add_row(
            "validation",
            "none (no validation part, or one too short to score)"
            + ("" if last else ": the best epochs are the training loss's"),
        )
    if refit:
        epochs = refit["epochs"] if isinstance(refit["epochs"], list) else [refit["epochs"]]
        t.add_row(
            "refit",
            f"{', '.join(map(str, epochs))} epoch{'s' if epochs != [1] else ''} again on the training and validation "
            f"parts ({refit['rows_added']} more rows): model.keras\nthe validation scores and intervals are the first "
            "fit's (training.refit)",
        )
    t.add_row("time", f"{seconds:.1f} s")
    t.add_row("run directory", safe(str(target)))
    out.print(t)
    metrics_table(metrics)
