"""Streaming: `seqcast update` with 24 new rows and a 24-step `seqcast forecast` from the run's state, as whole
processes, on histories of 1,000 and 200,000 rows per series: their time must not grow with the history.

What it does (full run; --smoke uses 300 and 600 rows, one repeat, and writes nothing):
  1. Four hourly series (a daily sine plus noise) of R rows each; the last 24 rows of each are held out.
  2. For each path (look-back many_to_one, the default mode, first; then stateful many_to_many), LSTM(32, 16),
     one network, one epoch, `transform: none`: `seqcast train` on the R - 24 rows (state.npz written at the end).
  3. `seqcast update --data new.csv` (the 24 held-out rows of every series) and `seqcast forecast --steps 24
     --output f.csv`, each REPEATS times as a child process; before every update the run's state.npz and
     updates.csv are put back as training left them, so each repeat does the same work.
  4. Medians per arm; the ratio 200,000 rows / 1,000 rows (target < 1.5) and the absolute time (target < 1 s).
  The two arms of a path differ only in the length of the history the run was trained on.

Usage: python bench/bench_update.py [--smoke]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import QUIET_TF, entry_point, machine, run_measured, write_section

PATHS = {
    "look-back many_to_one": "windows: {mode: lookback, look_back: 24}\nmodel: {kind: many_to_one, units: [32, 16], "
    "ensemble: 1}\ntraining: {epochs: 1, batch_size: 1024}\n",
    "stateful many_to_many": "windows: {mode: stateful, num_steps: 24, streams: 4}\nmodel: {kind: many_to_many, "
    "units: [32, 16], ensemble: 1}\ntraining: {epochs: 1}\n",
}
COMMON = (
    "data: {{path: {csv}, time_column: time, series_column: s, targets: [y], transform: none}}\n"
    "evaluate: {{season: 24, horizon: 24}}\n"
)
SERIES, NEW = 4, 24


def make_csvs(folder: Path, rows: int) -> tuple[Path, Path]:
    """history.csv (rows - NEW per series) and new.csv (the NEW rows after it), hourly."""
    rng = np.random.default_rng(0)
    t = np.datetime64("2000-01-01T00:00") + np.arange(rows).astype("timedelta64[h]")
    stamps = np.char.replace(np.datetime_as_string(t, unit="s"), "T", " ")
    hist, new = ["time,s,y\n"], ["time,s,y\n"]
    for k in range(SERIES):
        y = np.sin(2 * np.pi * np.arange(rows) / 24 + k) + 0.1 * rng.standard_normal(rows)
        lines = [f"{a},S{k},{b:.5f}\n" for a, b in zip(stamps, y, strict=True)]
        hist += lines[:-NEW]
        new += lines[-NEW:]
    (folder / "history.csv").write_text("".join(hist))
    (folder / "new.csv").write_text("".join(new))
    return folder / "history.csv", folder / "new.csv"


def arm(work: Path, path: str, rows: int, repeats: int) -> dict[str, Any]:
    folder = work / f"{path.split()[0]}-{rows}"
    folder.mkdir(parents=True)
    hist, new = make_csvs(folder, rows)
    cfg = folder / "bench.yaml"
    cfg.write_text(COMMON.format(csv=hist) + PATHS[path])
    run = folder / "run"
    train_s, _, _ = run_measured([*entry_point(), "train", str(cfg), "--output-dir", str(run), "--quiet"], QUIET_TF)
    shutil.copy(run / "state.npz", folder / "state.trained.npz")
    upd, fc = [], []
    for _ in range(repeats):
        shutil.copy(folder / "state.trained.npz", run / "state.npz")
        (run / "updates.csv").unlink(missing_ok=True)
        upd.append(run_measured([*entry_point(), "update", "--run", str(run), "--data", str(new), "--json"])[0])
        fc.append(
            run_measured(
                [*entry_point(), "forecast", "--run", str(run), "--steps", "24", "--output", str(folder / "f.csv")]
            )[0]
        )
    res = {"path": path, "rows": rows, "train_s": train_s, "update_s": statistics.median(upd),
           "forecast_s": statistics.median(fc), "update_runs": upd, "forecast_runs": fc}  # fmt: skip
    print(
        f"  {path:22s} {rows:7,d} rows: train {train_s:6.1f} s; update {res['update_s']:.3f} s, "
        f"forecast {res['forecast_s']:.3f} s (medians of {repeats})",
        flush=True,
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="300 and 600 rows, one repeat, nothing written")
    args = ap.parse_args()
    sizes, repeats = ([300, 600], 1) if args.smoke else ([1_000, 200_000], 5)
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_update_") as tmp:
        results = [arm(Path(tmp), path, rows, repeats) for path in PATHS for rows in sizes]
    if args.smoke:
        print("smoke run OK (nothing written)")
        return
    lo, hi = sizes
    table = [
        "| path | history rows per series | `seqcast update` (24 new rows), median | `seqcast forecast --steps 24`, "
        "median | train (once) |",
        "|---|---|---|---|---|",
    ]
    ratios = []
    for r in results:
        table.append(
            f"| {r['path']} | {r['rows']:,} | {r['update_s']:.3f} s | {r['forecast_s']:.3f} s | {r['train_s']:.0f} s |"
        )
    for path in PATHS:
        a = next(r for r in results if r["path"] == path and r["rows"] == lo)
        b = next(r for r in results if r["path"] == path and r["rows"] == hi)
        ratios.append(
            f"| {path} | {b['update_s'] / a['update_s']:.2f} | {b['forecast_s'] / a['forecast_s']:.2f} | "
            f"{max(b['update_s'], b['forecast_s']):.2f} s |"
        )
    body = "\n".join([
        "## Streaming: update and forecast from the run's state (bench_update.py)",
        "",
        machine(),
        "",
        f"Four hourly series, LSTM(32, 16), one network, one epoch; {NEW} new rows per series held out at train "
        f"time. Whole processes, medians of {repeats} (each update from the state training left). Target: under "
        f"1 s each at {hi:,} rows, and {hi:,} / {lo:,} rows under 1.5.",
        "",
        *table,
        "",
        f"| path | update time ratio {hi:,} / {lo:,} | forecast time ratio | slowest at {hi:,} rows |",
        "|---|---|---|---|",
        *ratios,
    ])  # fmt: skip
    print(body)
    write_section("bench_update", body)


if __name__ == "__main__":
    main()
