"""Rich rendering for the CLI: tables, errors, progress. No TensorFlow here."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Collection
from typing import IO, Any, cast

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

from seqcast import table
from seqcast.files import STDOUT
from seqcast.notes import grouped


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`seqcast evaluate | head`): stop quietly with exit 0; nothing is wrong (rich
        exits 1)."""
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's final flush must not fail
        raise SystemExit(0)


# Piped output (files, CI logs, READMEs) gets room for the full tables instead of 80 columns.
_OUT = cast(IO[str], STDOUT)  # a full disk: one message naming stdout
out = _Console(file=_OUT) if sys.stdout.isatty() else _Console(file=_OUT, width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)


class _Table(Table):
    """A rich Table whose title is a line of its own, as long as it is: rich wraps a title at the table's width."""

    def __rich_console__(self, console: Console, options: Any) -> Any:
        title, self.title = self.title, None
        try:
            if title is not None:
                yield (
                    console.render_str(title, style=self.title_style or "table.title", highlight=False)
                    if isinstance(title, str)
                    else title
                )
            yield from super().__rich_console__(console, options)
        finally:
            self.title = title


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)]}


def safe(text: str) -> str:
    """Text from the data (series, columns, paths) as it may be shown: no rich markup, no terminal control codes."""
    return escape(text.translate(_CONTROL))


def plain(value: Any) -> Any:
    """The strings of a document escaped for rich: series names and columns are text, never markup."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def error(message: str) -> None:
    """One error message on stderr."""
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)


def note(message: str) -> None:
    """A remark on stderr; `message` is shown as plain text (no markup, no control codes)."""
    err.print(f"[dim]{safe(message)}[/]", highlight=False, soft_wrap=True)


def notes(messages: list[str]) -> None:
    """Notes on stderr, those alike grouped (grouped)."""
    for message in grouped(messages):
        note(message)


def busy(message: str) -> contextlib.AbstractContextManager[Any]:
    """A spinner on a terminal's stderr while `message` is under way, drawn on a copy of the descriptor (TensorFlow's
    import, the wait it is for, points descriptor 2 at /dev/null) and taking over neither sys.stdout nor sys.stderr."""
    if not err.is_terminal:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    term = Console(file=stack.enter_context(os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding=sys.stderr.encoding)))
    spin = Spinner("dots", text=safe(message), style="green")
    stack.enter_context(Live(spin, console=term, transient=True, redirect_stdout=False, redirect_stderr=False))
    return stack


def preview_tables(doc: dict[str, Any], total_series: int | None = None) -> list[Any]:
    """Tables for a window-preview document: the series, the rows, the state shapes.

    total_series: how many series there are when doc["series"] holds only the first few.
    """
    tables: list[Any] = []
    shown = doc["series"]
    total = len(shown) if total_series is None else total_series
    more = f"; the first {len(shown)} of {total} series" if len(shown) < total else ""
    series = _Table(title=f"series and chronological split (row positions, end exclusive{more})")
    for c in ("series", "rows", "first", "last", "train", "val", "test"):  # in 80 columns: a date whole, a time and
        series.add_column(  # a range [1152, 1296) below it
            c,
            justify="right" if c == "rows" else "left",
            no_wrap=c == "rows",
            min_width=10 if c in ("first", "last") else None,
        )
    for s in shown:
        series.add_row(
            s["name"] or "-",
            str(s["rows"]),
            s["first"],
            s["last"],
            *(f"[{a}, {b})" for a, b in (s["train"], s["val"], s["test"])),
        )
    tables.append(series)

    stateful = doc["mode"] == "stateful"
    reset = "; training.reset_states: batch resets the states between batches" if doc.get(
        "reset_states") == "batch" else ""  # fmt: skip
    title = (
        f"stateful batches: row r of batch k+1 continues row r of batch k{reset} "
        f"({doc['batches']} batch{'es' if doc['batches'] != 1 else ''} of {doc['batch_size']} "
        f"row{'s' if doc['batch_size'] != 1 else ''})"
        if stateful
        else f"look-back windows of the training part ({doc['windows']} windows, {doc['batches']} batches"
        f"{', shuffled each epoch' if doc.get('shuffle') else ''}"
        + (
            f"; {doc['gaps']['windows_lost']} windows crossing a dropped row were left out"
            if doc.get("gaps") and doc["gaps"]["windows_lost"]
            else ""
        )
        + ")"
    )
    shown_rows, total_rows = len(doc["rows"]), doc.get("rows_total", len(doc["rows"]))
    if shown_rows < total_rows:  # --limit: the table lists the first rows, in the order before shuffling
        title += f"; the first {shown_rows} of {total_rows}{', before shuffling' if doc.get('shuffle') else ''}"
    rows = _Table(title=title)
    cols = ["batch", "row", "series"] + (["stream"] if stateful else []) + ["inputs", "time", "targets"]
    for c in cols:
        rows.add_column(
            c,
            justify="right" if c in ("batch", "row", "stream") else "left",
            no_wrap=c not in ("series", "time", "first", "last"),
        )
    for r in doc["rows"]:
        cells = [str(r["batch"]), str(r["row"]), r["series"] or "-"]
        if stateful:
            cells.append(str(r["stream"]))
        pad, real = r.get("padding", 0), r["end"] > r["start"]
        inputs = f"[{r['start']}, {r['end']})" if real else f"padding only ({pad} steps)"
        cells += [
            f"{pad} padded + {inputs}" if pad and real else inputs,
            f"{r['time_start']}..{r['time_end']}" if real else "-",
            f"[{r['target_start']}, {r['target_end']})" if r["target_end"] > r["target_start"] else "-",
        ]
        rows.add_row(*cells)
    tables.append(rows)

    shapes = _Table(title="tensor shapes")
    shapes.add_column("tensor")
    shapes.add_column("shape")
    shapes.add_column("meaning")
    inputs = "the targets, then the other inputs" if doc.get("features") else "the targets"  # features, past, static
    shapes.add_row("X", str(tuple(doc["x_shape"])), f"(batch, time steps, inputs: {inputs})")
    shapes.add_row("y", str(tuple(doc["y_shape"])), "(batch, target steps, targets)")
    for layer in doc["layers"]:
        e = layer.get("members", 1)
        meaning = (
            "(batch, units)"
            if e == 1
            else f"(batch, units): {e} ensemble networks of {layer['units'] // e} side by side"
        )
        for name, shp in layer["states"].items():
            shapes.add_row(f"layer {layer['layer']} {layer['cell']} {name}", str(tuple(shp)), meaning)
    tables.append(shapes)
    return tables


def train_header(prep: Any, to_stderr: bool = False) -> None:
    """What is about to be trained, and when states are reset."""
    cfg, p = prep.cfg, prep.plan
    from seqcast.model import CELLS
    from seqcast.preview import input_roles, states_text

    policy = states_text(cfg)
    ds = prep.ds
    what = f"{len(ds.series)} series" + (
        f" ({', '.join(ds.names[:4])}{', ...' if len(ds.names) > 4 else ''})" if ds.names[0] else ""
    )
    units = "+".join(str(u) for u in cfg.model.units)
    known, static, ids = input_roles(ds.features, ds.past, ds.static)
    roles = (("features", known), ("past_features", ds.past), ("static", static))
    inputs = "".join(f", {k} {v}" for k, v in roles if v)
    cell = CELLS[cfg.model.cell]  # Keras' names
    body = (
        f"{what}, targets {ds.targets}{inputs}"
        + (f", series_id ({ids} columns)" if ids else "")
        + f"\n  model {cfg.model.kind} {cell}({units})"
        + (f" x {cfg.model.ensemble} networks averaged (model.ensemble)" if cfg.model.ensemble > 1 else "")
        + f", batch {p.batch_size}"
        f"\n  transform {prep.transform} ({prep.transform_why})\n  states: {policy}"
    )
    (err if to_stderr else out).print("[bold]seqcast train[/]: " + safe(body), highlight=False)  # data: no markup


def epoch_progress(epochs: int, label: str = "epoch") -> Any:
    """A Keras callback drawing a rich progress bar on stderr: each epoch's loss, val_loss, seconds and the ETA."""
    import time

    import keras
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    class _Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.bar = Progress(
                TextColumn(safe(label)),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[stats]}"),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=err,
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("train", total=epochs, completed=0, stats="")

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0, self.epoch = time.perf_counter(), epoch
            self.bar.update(self.task, completed=epoch)  # a resumed run starts at its checkpoint's epoch

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:  # a long epoch moves (M/N stays whole)
            steps = (self.params or {}).get("steps") or 0
            if steps > 1:
                self.bar.update(self.task, completed=self.epoch + min(batch + 1, steps) / steps)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            stats = f"loss {float(logs.get('loss', float('nan'))):.4g}"
            val = float(logs.get("val_loss", float("nan")))
            if val == val:  # not NaN
                stats += f"  val_loss {val:.4g}"
            stats += f"  {time.perf_counter() - self.t0:.1f}s/epoch"
            self.bar.update(self.task, completed=epoch + 1, stats=stats)

        def on_train_end(self, logs: Any = None) -> None:
            task = self.bar.tasks[0]
            if (logs or {}).get("interrupted"):  # Ctrl-C: the bar stays at the epochs done, and says so
                done = int(task.completed)
                self.bar.update(self.task, stats=f"{task.fields['stats']}  interrupted in epoch {done + 1}".strip())
            elif not math.isfinite(float((logs or {}).get("loss", 0.0))):  # the loss became NaN or infinite
                said = f"{task.fields['stats']}  diverged in epoch {int(task.completed)}"  # the error says more
                self.bar.update(self.task, total=max(task.completed, 1), stats=said)
            elif 0 < task.completed < epochs:  # early stopping ended it: a whole bar that says so, not one left short
                early = f"{task.fields['stats']}  stopped early ({int(task.completed)} of {epochs})"
                self.bar.update(self.task, total=task.completed, stats=early)
            self.bar.stop()

    return _Progress()


SHOWN_ROWS = 12  # rows of a forecast the table shows (the file has them all)


def replacing(path: Any, replaced: Collection[str]) -> str:
    """What 'wrote X' adds when X was a file before the command (files.existing): nothing is replaced unsaid."""
    return ", replacing the file that was there" if str(path) in replaced else ""


def forecast_table(frame: Any, steps: int, output: Any, plot: Any, drawn: int = 0, to_stderr: bool = False,
                   replaced: Collection[str] = ()) -> None:  # fmt: skip
    """The first rows of the forecast, and where it went (on stderr when the CSV itself goes to stdout)."""
    where = err if to_stderr else out
    n_series = len(frame) // steps
    first, s = f" (the first {SHOWN_ROWS} rows)" if len(frame) > SHOWN_ROWS else "", "s" if steps != 1 else ""
    where.print(f"forecast: {steps} step{s} for {n_series} series{first}", highlight=False)  # as wide as it needs
    # an interval's two columns <target>_lo_<level>, <target>_hi_<level> are shown as one: "lo .. hi"
    cols = [str(c) for c in frame.columns]
    hi_of: dict[str, str] = {}  # lo column -> its hi column
    owner: dict[str, str] = {}  # a target's columns (its own and its bounds') -> the target
    for c in cols:
        target, sep, level = c.rpartition("_lo_")
        if sep and target in cols and f"{target}_hi_{level}" in cols:
            hi_of[c] = f"{target}_hi_{level}"
            owner |= {target: target, c: target, hi_of[c]: target}
    head = {c: table.shown(frame[c][:SHOWN_ROWS], c in getattr(frame, "fine", ())) for c in cols}
    levels = sorted({c.rpartition("_lo_")[2] for c in hi_of}, key=float)
    targets = list(dict.fromkeys(owner.values()))

    def fits(t: _Table) -> bool:
        return bool(where.measure(t, options=where.options.update(max_width=10**4)).maximum <= where.width)

    def of(group: list[str]) -> list[str]:  # the columns of these targets, and every other (series, time)
        return [c for c in cols if c not in owner or owner[c] in group]

    # too wide for the terminal: one table per target, then the widest levels left out, until it fits (or the last)
    layouts = [[targets]] + ([[[x] for x in targets]] if len(targets) > 1 else [])
    for keep, layout in [(k, lay) for k in range(len(levels), -1, -1) for lay in layouts]:
        tables = [_forecast_cells(frame, of(g), hi_of, head, set(levels[keep:])) for g in layout]
        if all(map(fits, tables)):
            break
    for t in tables:
        where.print(t)
    left_out = levels[keep:]
    if left_out:
        shown_levels = f"; the table shows {' and '.join(f'{v} %' for v in levels[:keep])}" if keep else ""
        where.print(
            f"the {' and '.join(f'{v} %' for v in left_out)} interval{'s' if len(left_out) > 1 else ''} left out "
            f"of the table, too wide for this terminal ({where.width} columns){shown_levels}"
            + ("; the CSV holds every level" if output is not None else ""),
            highlight=False,
        )
    if output is not None:
        where.print(
            safe(f"wrote {len(frame)} rows to {'stdout' if to_stderr else output}{replacing(output, replaced)}")
        )
    if plot is not None:
        plot_written(plot, drawn, n_series, to_stderr, replaced)


def _forecast_cells(frame: Any, cols: list[str], hi_of: dict[str, str], head: dict[str, list[Any]],
                    left_out: set[str]) -> _Table:  # fmt: skip
    """The forecast's first rows as a table, an interval as one column "lo .. hi", but the levels left out."""
    t = _Table()
    skip = set(hi_of.values()) | {c for c in hi_of if c.rpartition("_lo_")[2] in left_out}
    shown = [c for c in cols if c not in skip]
    for c in shown:
        if c in hi_of:
            target, _, level = c.rpartition("_lo_")
            t.add_column(safe(f"{target} {level} %"), justify="right")
        else:
            t.add_column(safe(table.heading(frame, c)), justify="right" if frame[c].dtype.kind in "fi" else "left")
    cell = lambda v: table.number(v) if isinstance(v, float) else safe(str(v))  # noqa: E731
    for r in ({c: v[k] for c, v in head.items()} for k in range(min(len(frame), SHOWN_ROWS))):
        t.add_row(*(f"{cell(r[c])} .. {cell(r[hi_of[c]])}" if c in hi_of else cell(r[c]) for c in shown))
    return t


def plot_written(plot: Any, drawn: int, n_series: int, to_stderr: bool = False, replaced: Collection[str] = ()) -> None:
    """'plot written to FILE', with how many series it shows when it cannot show them all."""
    more = f" (the first {drawn} of {n_series} series)" if drawn < n_series else ""
    (err if to_stderr else out).print(safe(f"plot written to {plot}{more}{replacing(plot, replaced)}"))


def update_table(doc: dict[str, Any]) -> None:
    """What `seqcast update` did, per series."""
    title = f"update: {doc['rows_added']:,} new rows, {doc['rows_skipped']:,} already known (skipped)"
    t = _Table(title=title)
    last = "last time (UTC)" if doc.get("time_utc") else "last time"  # the data's times had UTC offsets
    named = doc.get("series_column") or "series"  # the data's own name for its series column, as forecast's table
    for col, just in ((named, "left"), ("added", "right"), ("skipped", "right"), (last, "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for name, c in list(doc["series"].items())[:20]:
        t.add_row(safe(name or "(one series)"), f"{c['added']:,}", f"{c['skipped']:,}", safe(c["last_time"]))
    out.print(t if doc["series"] else title, highlight=False)  # a file with a header and no rows: no series
    if len(doc["series"]) > 20:
        out.print(f"... and {len(doc['series']) - 20:,} more series")
    done = "advanced" if doc["rows_added"] else "as it was (no new rows)"
    out.print(safe(f"state.npz of {doc['run_dir']} {done}; the model is unchanged"))
