"""Rich rendering for the CLI: tables, errors, progress. No TensorFlow here."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

# Piped output (files, CI logs, READMEs) gets room for the full tables instead of 80 columns.
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)


def note(message: str) -> None:
    err.print(f"[dim]{message}[/]", highlight=False, soft_wrap=True)


def preview_tables(doc: dict[str, Any]) -> list[Any]:
    """Tables for a window-preview document: the series, the rows, the state shapes."""
    tables: list[Any] = []
    series = Table(title="series and chronological split (row positions, end exclusive)", title_justify="left")
    for c in ("series", "rows", "first", "last", "train", "val", "test"):
        series.add_column(
            c, justify="right" if c == "rows" else "left", no_wrap=c not in ("series", "time", "first", "last")
        )
    for s in doc["series"]:
        series.add_row(
            s["name"] or "-",
            str(s["rows"]),
            s["first"],
            s["last"],
            *(f"[{a}, {b})" for a, b in (s["train"], s["val"], s["test"])),
        )
    tables.append(series)

    stateful = doc["mode"] == "stateful"
    title = (
        f"stateful batches: row r of batch k+1 continues row r of batch k "
        f"({doc['batches']} batches of {doc['batch_size']} rows)"
        if stateful
        else f"look-back windows of the training part ({doc['windows']} windows, {doc['batches']} batches"
        f"{', shuffled each epoch' if doc.get('shuffle') else ''})"
    )
    rows = Table(title=title, title_justify="left")
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
        cells += [
            f"[{r['start']}, {r['end']})",
            f"{r['time_start']}..{r['time_end']}",
            f"[{r['target_start']}, {r['target_end']})",
        ]
        rows.add_row(*cells)
    tables.append(rows)

    shapes = Table(title="tensor shapes", title_justify="left")
    shapes.add_column("tensor")
    shapes.add_column("shape")
    shapes.add_column("meaning")
    shapes.add_row("X", str(tuple(doc["x_shape"])), "(batch, time steps, inputs: targets then features)")
    shapes.add_row("y", str(tuple(doc["y_shape"])), "(batch, target steps, targets)")
    for layer in doc["layers"]:
        for name, shp in layer["states"].items():
            shapes.add_row(f"layer {layer['layer']} {layer['cell']} {name}", str(tuple(shp)), "(batch, units)")
    tables.append(shapes)
    return tables
