"""Streaming: `seqcast update` with 24 new rows and a 24-step `seqcast forecast` from the run's state, as whole
processes, on histories of 1,000 and 200,000 rows per series: their time must not grow with the history.

What it does (full run; --smoke uses 300 and 600 rows, one repeat, and writes nothing):
  1. Four hourly series (a daily sine plus noise) of R rows each; the last 24 rows of each are held out.
  2. For each path (look-back windows with the default kind first: evaluate.season is 24, so many_to_many; then
     look-back many_to_one, the default without a season, and stateful many_to_many), LSTM(32, 16), one epoch,
     `transform: none`, with the default `model.ensemble: 3` (look-back and stateful) and one network: `seqcast
     train` on the R - 24 rows (state.npz written at the end).
  3. `seqcast update --data new.csv` (the 24 held-out rows of every series) and `seqcast forecast --steps 24
     --output f.csv`, each REPEATS times as a child process, the two history lengths taking turns; before
     every update the run's state.npz and updates.csv are put back as training left them, so each repeat does
     the same work.
  4. Medians per arm, of the time and of the child's peak RSS; the ratio 200,000 rows / 1,000 rows (target
     < 1.5) and the absolute time (target < 1 s).
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

# model.kind unset: with evaluate.season 24 it resolves to many_to_many, the default of seasonal look-back windows
LOOK_BACK = (
    "windows: {{mode: lookback, look_back: 24}}\nmodel: {{{kind}units: [32, 16], ensemble: {ensemble}}}\n"
    "training: {{epochs: 1, batch_size: 1024}}\n"
)
STATEFUL = (
    "windows: {{mode: stateful, num_steps: 24, streams: 4}}\nmodel: {{{kind}units: [32, 16], "
    "ensemble: {ensemble}}}\ntraining: {{epochs: 1}}\n"
)
PATHS = {  # path: (model and windows, model.kind as a YAML item or "" for the default, model.ensemble)
    "look-back many_to_many, ensemble 3 (default)": (LOOK_BACK, "", 3),
    "look-back many_to_many": (LOOK_BACK, "", 1),
    "look-back many_to_one": (LOOK_BACK, "kind: many_to_one, ", 1),
    "stateful many_to_many, ensemble 3": (STATEFUL, "kind: many_to_many, ", 3),
    "stateful many_to_many": (STATEFUL, "kind: many_to_many, ", 1),
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


def trained(work: Path, path: str, rows: int) -> dict[str, Any]:
    """A folder with the run `seqcast train` made on `rows` rows per series, and its state.npz as training left it."""
    text, kind, ensemble = PATHS[path]
    folder = work / f"{path.split(',')[0].replace(' ', '-')}-{ensemble}-{rows}"
    folder.mkdir(parents=True)
    hist, new = make_csvs(folder, rows)
    cfg = folder / "bench.yaml"
    cfg.write_text(COMMON.format(csv=hist) + text.format(kind=kind, ensemble=ensemble))
    run = folder / "run"
    train_s, _, _ = run_measured([*entry_point(), "train", str(cfg), "--output-dir", str(run), "--quiet"], QUIET_TF)
    shutil.copy(run / "state.npz", folder / "state.trained.npz")
    print(f"  {path:45s} {rows:7,d} rows: trained in {train_s:.1f} s", flush=True)
    return {"path": path, "rows": rows, "train_s": train_s, "folder": folder, "run": run, "new": new,
            "update_runs": [], "forecast_runs": [], "update_mib": [], "forecast_mib": []}  # fmt: skip


def repeat(arm: dict[str, Any]) -> None:
    """One `seqcast update` (from the state training left) and one `seqcast forecast --steps 24`, timed."""
    run, folder = arm["run"], arm["folder"]
    shutil.copy(folder / "state.trained.npz", run / "state.npz")
    (run / "updates.csv").unlink(missing_ok=True)
    s, mib, _ = run_measured([*entry_point(), "update", "--run", str(run), "--data", str(arm["new"]), "--json"])
    arm["update_runs"].append(s)
    arm["update_mib"].append(mib)
    s, mib, _ = run_measured(
        [*entry_point(), "forecast", "--run", str(run), "--steps", "24", "--output", str(folder / "f.csv")]
    )
    arm["forecast_runs"].append(s)
    arm["forecast_mib"].append(mib)


def measure(work: Path, path: str, sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Both history lengths of a path, their repeats interleaved (the machine is shared: noise hits both)."""
    arms = [trained(work, path, rows) for rows in sizes]
    for _ in range(repeats):
        for arm in arms:
            repeat(arm)
    for arm in arms:
        for key in ("update", "forecast"):
            arm[f"{key}_s"] = statistics.median(arm[f"{key}_runs"])
            arm[f"{key}_peak"] = statistics.median(arm[f"{key}_mib"])
        print(
            f"  {path:45s} {arm['rows']:7,d} rows: update {arm['update_s']:.3f} s ({arm['update_peak']:.0f} MiB), "
            f"forecast {arm['forecast_s']:.3f} s ({arm['forecast_peak']:.0f} MiB), medians of {repeats}",
            flush=True,
        )
    return arms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="300 and 600 rows, one repeat; report built, not written")
    args = ap.parse_args()
    sizes, repeats = ([300, 600], 1) if args.smoke else ([1_000, 200_000], 5)
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_update_") as tmp:
        results = [arm for path in PATHS for arm in measure(Path(tmp), path, sizes, repeats)]
    lo, hi = sizes
    table = [
        "| path | history rows per series | `seqcast update` (24 new rows), median | peak RSS | "
        "`seqcast forecast --steps 24`, median | peak RSS | train (once) |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for r in results:
        table.append(
            f"| {r['path']} | {r['rows']:,} | {r['update_s']:.3f} s | {r['update_peak']:.0f} MiB "
            f"| {r['forecast_s']:.3f} s | {r['forecast_peak']:.0f} MiB | {r['train_s']:.0f} s |"
        )
    for path in PATHS:
        a = next(r for r in results if r["path"] == path and r["rows"] == lo)
        b = next(r for r in results if r["path"] == path and r["rows"] == hi)
        ratios.append(
            f"| {path} | {b['update_s'] / a['update_s']:.2f} | {b['forecast_s'] / a['forecast_s']:.2f} | "
            f"{b['update_peak'] / a['update_peak']:.2f}, {b['forecast_peak'] / a['forecast_peak']:.2f} | "
            f"{max(b['update_s'], b['forecast_s']):.2f} s |"
        )
    body = "\n".join([
        "## Streaming: update and forecast from the run's state (bench_update.py)",
        "",
        machine(),
        "",
        f"Four hourly series, LSTM(32, 16), one epoch, transform none, evaluate.season 24; the defaults first "
        f"(look-back windows, `model.kind` unset, which resolves to many_to_many with a season, and `model.ensemble: "
        f"3`, three networks in one model.keras), then one network, then many_to_one (the default without a "
        f"season); the stateful paths with three networks and one. {NEW} new rows per series held out at train "
        f"time. Whole processes, medians of {repeats}, the two history lengths' repeats interleaved (each update "
        f"from the state training left); peak RSS of the command's process. Target: under 1 s each at {hi:,} rows, "
        f"and {hi:,} / {lo:,} rows under 1.5.",
        "",
        *table,
        "",
        f"| path | update time ratio {hi:,} / {lo:,} | forecast time ratio | peak RSS ratio (update, forecast) "
        f"| slowest at {hi:,} rows |",
        "|---|---|---|---|---|",
        *ratios,
    ])  # fmt: skip
    print(body)
    write_section("bench_update", body, dry=args.smoke)


if __name__ == "__main__":
    main()
