"""Long series: `seqcast train` and `seqcast evaluate` (also with `--plot`) from 2,000 to 200,000 rows, time and
peak RSS.

One hourly series (a daily sine with noise), as a user with years of sensor data has it. Four configs, each
trained for one epoch with transform none and evaluated with season 24 and horizon 24:
  look-back, ensemble 3: LSTM(32, 16) x the default model.ensemble 3, look_back 24, no model.kind: with season 24
             it resolves to many_to_many (the default mode, kind and ensemble);
  look-back: the same with one network (model.ensemble 1): the two differ only in the ensemble;
  look-back many_to_one: the same one network, model.kind many_to_one (the default kind without a season): it
             differs from look-back only in the kind;
  stateful:  many_to_many LSTM(32, 16), one network, num_steps 24, streams 4 (the setup of issue #11).
training.refit is the default: the look-back arms train each network again for its one epoch on the training and
validation parts together; the stateful arm trains once.
Every number is one child process: wall time and that child's own peak RSS (os.wait4). evaluate runs 3 times
per point (median time, largest peak), then 3 times more with `--plot` (the arms differ only in the plot).
Targets, every config: train at 24,000 rows under 2.5 GB; evaluate under 600 MB at every size; evaluate's time
from 2,000 to 24,000 rows at most 15x and from 24,000 to 200,000 at most 10.5x (linear: 12x and 8.3x).
Writes bench/backtest_scaling.png.

Usage: python bench/bench_backtest.py [--smoke] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import HERE, QUIET_TF, entry_point, machine, run_measured, write_section

CONFIGS = {  # the default first; no model.kind: with season 24 it resolves to many_to_many
    "look-back, ensemble 3": """\
windows: {mode: lookback, look_back: 24}
model: {units: [32, 16], ensemble: 3}
""",
    "look-back": """\
windows: {mode: lookback, look_back: 24}
model: {units: [32, 16], ensemble: 1}
""",
    "look-back many_to_one": """\
windows: {mode: lookback, look_back: 24}
model: {kind: many_to_one, units: [32, 16], ensemble: 1}
""",
    "stateful": """\
windows: {mode: stateful, num_steps: 24, streams: 4}
model: {kind: many_to_many, units: [32, 16], ensemble: 1}
""",
}
COMMON = """\
data: {{path: {csv}, time_column: time, targets: [y], transform: none}}
training: {{epochs: 1}}
evaluate: {{season: 24, horizon: 24}}
"""


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    t = np.datetime64("2015-01-01T00:00") + np.arange(rows).astype("timedelta64[h]")
    y = np.sin(2 * np.pi * np.arange(rows) / 24) + 0.1 * rng.standard_normal(rows)
    stamps = np.char.replace(np.datetime_as_string(t, unit="s"), "T", " ")
    with path.open("w") as fh:
        fh.write("time,y\n")
        fh.writelines(f"{a},{b:.5f}\n" for a, b in zip(stamps, y, strict=True))


def point(work: Path, mode: str, rows: int, evals: int) -> dict[str, Any]:
    folder = work / f"{mode.replace(', ', '-').replace(' ', '')}-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "series.csv"
    make_csv(csv, rows)
    cfg = folder / "bench.yaml"
    cfg.write_text(COMMON.format(csv=csv) + CONFIGS[mode])
    run = folder / "run"
    train_s, train_mb, _ = run_measured(
        [*entry_point(), "train", str(cfg), "--output-dir", str(run), "--quiet"], env=QUIET_TF, cwd=folder
    )
    evaluate = [*entry_point(), "evaluate", "--run", str(run), "--json"]
    ev = [run_measured(evaluate, cwd=folder) for _ in range(evals)]
    pl = [run_measured([*evaluate, "--plot", str(folder / "backtest.png")], cwd=folder) for _ in range(evals)]
    res = {
        "mode": mode,
        "rows": rows,
        "train_s": train_s,
        "train_mb": train_mb,
        "eval_s": statistics.median(e[0] for e in ev),
        "eval_mb": max(e[1] for e in ev),
        "eval_runs": [e[0] for e in ev],
        "plot_s": statistics.median(e[0] for e in pl),
        "plot_mb": max(e[1] for e in pl),
    }
    print(
        f"  {mode:21s} {rows:7d} rows: train {train_s:6.1f} s {train_mb:6.0f} MB, evaluate {res['eval_s']:5.2f} s "
        f"{res['eval_mb']:5.0f} MB, with --plot {res['plot_s']:5.2f} s {res['plot_mb']:5.0f} MB",
        flush=True,
    )
    return res


def plot(points: list[dict[str, Any]], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"look-back, ensemble 3": "^-", "look-back": "s--", "look-back many_to_one": "d-.", "stateful": "o-"}
    for mode in CONFIGS:
        mine = sorted((p for p in points if p["mode"] == mode), key=lambda p: p["rows"])
        rows = [p["rows"] for p in mine]
        for what, color in (("train", "tab:blue"), ("eval", "tab:orange")):
            label = f"{mode} {'train' if what == 'train' else 'evaluate'}"
            axes[0].plot(rows, [p[f"{what}_s"] for p in mine], styles[mode], color=color, label=label)
            axes[1].plot(rows, [p[f"{what}_mb"] for p in mine], styles[mode], color=color, label=label)
    lo = min(p["rows"] for p in points)
    hi = max(p["rows"] for p in points)
    ref = min(p["eval_s"] for p in points if p["rows"] == lo)
    axes[0].plot([lo, hi], [ref, ref * hi / lo], ":", color="grey", label="linear in rows")
    axes[0].set(xscale="log", yscale="log", xlabel="rows of history", ylabel="seconds (whole process)", title="time")
    axes[1].set(xscale="log", yscale="log", xlabel="rows of history", ylabel="peak RSS, MB", title="memory")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(note, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="two small sizes, nothing written to bench/")
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = ap.parse_args()
    sizes = [600, 1200] if args.smoke else [2_000, 8_000, 24_000, 72_000, 200_000]
    evals = 1 if args.smoke else 3
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench_backtest_") as tmp:
        work = args.keep or Path(tmp)
        points = [point(work, mode, rows, evals) for mode in CONFIGS for rows in sizes]
    report(points, sizes, smoke=args.smoke)


def report(points: list[dict[str, Any]], sizes: list[int], smoke: bool) -> None:
    """The RESULTS.md section and the plot; with smoke, both are made (so the code runs) and neither is kept."""
    lo, mid, hi = sizes[0], sizes[len(sizes) // 2], sizes[-1]  # full run: 2,000, 24,000 and 200,000 rows
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    at = {(p["mode"], p["rows"]): p for p in points}
    targets = []
    for m in CONFIGS:
        a2, a24, a200 = at[(m, lo)], at[(m, mid)], at[(m, hi)]
        early, late = a24["eval_s"] / a2["eval_s"], a200["eval_s"] / a24["eval_s"]
        peak = max(at[(m, r)]["eval_mb"] for r in sizes)
        targets.append(
            f"- {m}: train at {mid:,} rows peak {a24['train_mb']:.0f} MB, under 2.5 GB: "
            f"{verdict(a24['train_mb'] < 2500)}; evaluate peak at most {peak:.0f} MB, under 600 MB: "
            f"{verdict(peak < 600)}; evaluate's time {lo:,} -> {mid:,} rows {early:.1f}x, at most 15x: "
            f"{verdict(early <= 15)}; {mid:,} -> {hi:,} rows {late:.1f}x, at most 10.5x: {verdict(late <= 10.5)}."
        )
    ens, one, m2o = at[("look-back, ensemble 3", hi)], at[("look-back", hi)], at[("look-back many_to_one", hi)]
    plot_cost = "; ".join(
        f"{m} {at[(m, hi)]['plot_s']:.2f} s against {at[(m, hi)]['eval_s']:.2f} s "
        f"({at[(m, hi)]['plot_s'] / at[(m, hi)]['eval_s']:.2f}x), the plot adding "
        f"{at[(m, lo)]['plot_s'] - at[(m, lo)]['eval_s']:.2f} s at {lo:,} rows and "
        f"{at[(m, hi)]['plot_s'] - at[(m, hi)]['eval_s']:.2f} s at {hi:,}"
        for m in CONFIGS
    )
    png = (
        Path(tempfile.mkdtemp(prefix="bench_backtest_plot_")) / "backtest_scaling.png"
        if smoke
        else HERE / "backtest_scaling.png"
    )
    plot(points, png, "one hourly series, LSTM(32, 16), one epoch; evaluate: season 24, horizon 24; whole processes")
    rows = "\n".join(
        f"| {p['mode']} | {p['rows']:,} | {p['train_s']:.1f} | {p['train_mb']:.0f} | {p['eval_s']:.2f} "
        f"({', '.join(f'{t:.2f}' for t in p['eval_runs'])}) | {p['eval_mb']:.0f} | {p['plot_s']:.2f} "
        f"| {p['plot_mb']:.0f} |"
        for p in points
    )
    body = f"""## Long series: train and evaluate from 2,000 to 200,000 rows (bench_backtest.py)

{machine()}

One hourly series (daily sine with noise). Look-back, ensemble 3 (the default mode, kind and ensemble; the config
sets no kind, and with season 24 it resolves to many_to_many): LSTM(32, 16) x 3 networks in one model.keras,
look_back 24. Look-back: the same, one network. Look-back many_to_one: that network with `model.kind: many_to_one`,
the default without a season. Stateful: many_to_many LSTM(32, 16), one network, num_steps 24, streams 4. All one
epoch, transform none, evaluate
season 24 and horizon 24 (the test part is the last 20 %: at 200,000 rows, 1,666 origins), `training.refit` the
default (the look-back arms train each network a second epoch, on the training and validation parts together; the
stateful arm trains once). Each figure is one whole child process (`seqcast train`, `seqcast evaluate --json`)
with its own peak RSS; evaluate ran 3 times (median time, largest peak), then 3 times with `--plot backtest.png`
(at most 30 origins of the series drawn).

![time and peak RSS against rows](backtest_scaling.png)

| mode | rows | train s | train peak MB | evaluate s (runs) | evaluate peak MB | with --plot s | with --plot peak MB |
|---|---|---|---|---|---|---|---|
{rows}

Targets (before this work the stateful train was killed above 6 GB in the end-of-training backtest, and
evaluate above 3 GB after 9 s at 200,000 rows):
{chr(10).join(targets)}

Three networks against one (the look-back arms), at {hi:,} rows: evaluate {ens["eval_s"] / one["eval_s"]:.2f}x the
time and {ens["eval_mb"] / one["eval_mb"]:.2f}x the peak; train {ens["train_s"] / one["train_s"]:.2f}x.
many_to_many against many_to_one (one network each), at {hi:,} rows: evaluate {one["eval_s"] / m2o["eval_s"]:.2f}x
the time and {one["eval_mb"] / m2o["eval_mb"]:.2f}x the peak; train {one["train_s"] / m2o["train_s"]:.2f}x.

`evaluate --plot` (the same runs, the PNG added) at {hi:,} rows: {plot_cost}. It draws at most 30 origins a
series, so its cost does not grow with the history.

How: each series is warmed once over its history with the states kept at the backtest origins only
(`NumpyModel.warm`, a block of 256 time steps at a time), then all origins are forecast from their snapshots in
one batch; look-back origins are one batch of windows per step. Nothing holds a state per time step.
"""
    if smoke:  # the plot was made; a smoke run keeps nothing
        assert png.stat().st_size > 0 and "Targets" in body
        png.unlink()
        png.parent.rmdir()
    else:
        print(f"drew {png.name}")
    write_section("bench_backtest", body, dry=smoke)


if __name__ == "__main__":
    main()
