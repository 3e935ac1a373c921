"""Autoregressive forecast: `seqcast forecast` (numpy engine) vs the seed's per-step `model.predict` loop.

What it does (full run; --smoke uses tiny sizes and writes nothing):
  1. Generates a CSV of 64 hourly series (two targets), trains a 2-layer stateful many_to_many LSTM(64, 32)
     for one epoch with a real `seqcast train` (batch = 64 series x 1 stream), so the run directory is
     exactly what seqcast writes.
  2. Whole process, interleaved rounds: `seqcast forecast --run DIR --steps 1000 --output CSV` vs the seed's
     loop in a separate process (load model.keras with keras, reset states, predict the history, then one
     model.predict per step feeding the prediction back). Target: seqcast >= 20x faster. The forecast CSV
     is compared with the seed loop's numbers in the same units. Target: within 1e-4.
  3. In process: the forecast loop's cost per step vs one engine `model(x)` call for one step (target <= 3x);
     one Keras `model(x)` eager call per step is measured in the seed process for context.
  4. Forecast time vs series (1, 64, 4096) x steps (100, 1000, 10000) in a child process
     -> bench/forecast_scaling.png (log-log).

Usage: python bench/bench_forecast.py [--smoke] [--rounds N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3"}


# ----------------------------------------------------------------------------------------------- helpers
def entry_point() -> list[str]:
    """The installed `seqcast` script next to the running interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "seqcast"
    return [str(script)] if script.exists() else [sys.executable, "-m", "seqcast"]


def machine() -> str:
    mem = "?"
    try:
        line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
        kb = int(line.split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass

    def ver(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    return (
        f"Machine: nproc {len(os.sched_getaffinity(0))}, memory {mem}, {platform.machine()}; "
        f"python {platform.python_version()}, numpy {np.__version__}, tensorflow {ver('tensorflow')}, "
        f"keras {ver('keras')}; {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}"
    )


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between the markers of `name` in bench/RESULTS.md."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# seqcast benchmarks\n\nEach section is written by its script.\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def run_timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def make_csv(path: Path, n_series: int, n_rows: int, seed: int = 0) -> None:
    """Hourly series with a daily cycle and noise: columns time, series, level, temp."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00")
    times = np.datetime_as_string(start + np.arange(n_rows).astype("timedelta64[h]"), unit="s")
    times = np.char.replace(times, "T", " ")
    k = np.arange(n_rows)
    with path.open("w") as fh:
        fh.write("time,series,level,temp\n")
        for i in range(n_series):
            level = 10 + 3 * np.sin(2 * np.pi * k / 24 + i) + 0.3 * rng.standard_normal(n_rows)
            temp = 50 + 5 * np.cos(2 * np.pi * k / 24 + 0.5 * i) + rng.standard_normal(n_rows)
            name = f"S{i:04d}"
            fh.writelines(f"{t},{name},{a:.4f},{b:.4f}\n" for t, a, b in zip(times, level, temp, strict=True))


CONFIG = """\
data:
  path: {csv}
  time_column: time
  series_column: series
  targets: [level, temp]
  split: {{val: 0.1, test: 0.1}}
  transform: none
windows:
  mode: stateful
  num_steps: {num_steps}
  streams: 1
model:
  kind: many_to_many
  cell: lstm
  units: [64, 32]
training:
  epochs: 1
  learning_rate: 0.005
evaluate:
  horizon: {horizon}
"""


# ------------------------------------------------------------------------------------------ child: seed loop
SEED_LOOP = r'''
"""The seed's loop: plain keras, one model.predict per step (batch = all series)."""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd, keras
run, csv, steps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
pre = json.load(open(f"{run}/preprocess.json"))
assert pre["transform"] == "none", pre["transform"]
df = pd.read_csv(csv)
names = list(dict.fromkeys(df[pre["series_column"]]))
hist = []
for n in names:
    g = df[df[pre["series_column"]] == n].sort_values(pre["time_column"])
    sc = pre["scaler"]["series"][n]
    hist.append(np.column_stack([(g[c].to_numpy() - sc[c]["center"]) / sc[c]["scale"] for c in pre["inputs"]]))
hist = np.stack(hist).astype("float32")  # (series, time, inputs) in model units
model = keras.saving.load_model(f"{run}/model.keras")
t1 = time.perf_counter()
for layer in model.layers:  # reset
    if getattr(layer, "stateful", False):
        layer.reset_state()
y = model.predict(hist, batch_size=len(hist), verbose=0)  # warm the states on the whole history
# Keras 3 TimeDistributed + model.predict return a wrong time length once one predict function has seen
# two different time lengths: start a fresh predict function for the one-step calls.
model.predict_function = None
preds, last, calls = [], y[:, -1:], []
for s in range(steps):
    preds.append(last)
    if s == steps - 1:
        break
    c0 = time.perf_counter()
    last = model.predict(last, batch_size=len(hist), verbose=0)[:, -1:]
    calls.append(time.perf_counter() - c0)
t2 = time.perf_counter()
np.save(out, np.concatenate(preds, axis=1))
x1 = np.zeros((len(hist), 1, hist.shape[2]), "float32")
eager = []
for _ in range(30):  # one Keras model(x) call for one step, eager
    c0 = time.perf_counter()
    model(x1)
    eager.append(time.perf_counter() - c0)
print(json.dumps({"startup_load_s": t1 - t0, "loop_s": t2 - t1, "predict_call_s": float(np.median(calls)),
                  "keras_call_s": float(np.median(eager[5:]))}))
'''


# -------------------------------------------------------------------------------- child: scaling grid
def grid_child(run_dir: str, series: list[int], steps: list[int], hist_rows: int, skip: list[str], out: str) -> None:
    """Forecast time in process (forecast_histories: scaling, warm-up, loop, inverse) for every grid point."""
    import resource

    from seqcast import forecast as F

    run = F.load_run(Path(run_dir))
    ds = F.history_dataset(run, None)
    base = [s.values[-hist_rows:] for s in ds.series]
    scaler_doc = run.pre["scaler"]["series"]
    results = []
    for n in series:
        names = [f"G{i:05d}" for i in range(n)]
        run.pre["scaler"]["series"] = {nm: scaler_doc[ds.names[i % len(ds.names)]] for i, nm in enumerate(names)}
        hist = [base[i % len(base)] for i in range(n)]
        for s in steps:
            if f"{n}x{s}" in skip:
                continue
            times = []
            while True:
                t0 = time.perf_counter()
                pred = F.forecast_histories(run, hist, names, s)
                times.append(time.perf_counter() - t0)
                assert pred.shape == (n, s, run.n_targets)
                if len(times) >= 3 or sum(times) > 4.0:  # several runs where cheap, one where not
                    break
            results.append({"series": n, "steps": s, "seconds": statistics.median(times), "runs": len(times)})
            took = results[-1]["seconds"]
            print(f"  grid {n:5d} series x {s:6d} steps: {took:.3f} s ({len(times)} runs)", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out).write_text(json.dumps({"points": results, "peak_rss_mb": peak}))


# ---------------------------------------------------------------------------------------------- parts
def train_run(work: Path, n_series: int, n_rows: int, num_steps: int) -> tuple[Path, Path, float]:
    csv = work / "series.csv"
    make_csv(csv, n_series, n_rows)
    cfg = work / "forecast_bench.yaml"
    cfg.write_text(CONFIG.format(csv=csv, num_steps=num_steps, horizon=min(24, n_rows // 20)))
    run_dir = work / "run"
    seconds, _ = run_timed([*entry_point(), "train", str(cfg), "--output-dir", str(run_dir), "--quiet"], cwd=work)
    return run_dir, csv, seconds


def compare(run_dir: Path, forecast_csv: Path, seed_npy: Path) -> dict[str, float]:
    """Max differences between seqcast's forecast CSV and the seed loop's numbers, in both units."""
    import pandas as pd

    pre = json.loads((run_dir / "preprocess.json").read_text())
    fc = pd.read_csv(forecast_csv)
    names = list(dict.fromkeys(fc[pre["series_column"]]))
    targets = pre["targets"]
    ours = np.stack([fc[fc[pre["series_column"]] == n][targets].to_numpy() for n in names])
    seed = np.load(seed_npy)  # model units (series, steps, targets)
    scale = np.array([[pre["scaler"]["series"][n][t]["scale"] for t in targets] for n in names])[:, None, :]
    center = np.array([[pre["scaler"]["series"][n][t]["center"] for t in targets] for n in names])[:, None, :]
    assert ours.shape == seed.shape, (ours.shape, seed.shape)
    seed_orig = seed * scale + center
    diff_orig = np.abs(ours - seed_orig)
    diff_model = np.abs((ours - center) / scale - seed)
    return {
        "max_abs_original": float(diff_orig.max()),
        "max_abs_model": float(diff_model.max()),
        "max_rel": float((diff_orig / np.maximum(np.abs(seed_orig), 1e-12)).max()),
        "value_range": float(np.abs(seed_orig).max()),
        "max_abs_model_first10": float(diff_model[:, :10].max()),
    }


def in_process(run_dir: Path, steps: int, rounds: int) -> dict[str, float]:
    """The forecast loop's cost per step (stateful_forecast minus its warm-up call) vs one engine model(x) call."""
    import inspect

    from seqcast import forecast as F

    run = F.load_run(run_dir)
    ds = F.history_dataset(run, None)
    scaler = run.scaler(ds.names)
    hist = np.stack([scaler.transform(i, s.values) for i, s in enumerate(ds.series)])  # model units (transform none)
    n, n_t = len(hist), run.n_targets
    extra = {"per_step": True} if "per_step" in inspect.signature(F.stateful_forecast).parameters else {}
    x1 = np.zeros((n, 1, hist.shape[2]))
    warm: list[float] = []

    def run_model(x: np.ndarray, m: np.ndarray | None) -> np.ndarray:
        if warm:  # only the first call (the warm-up on the history) is timed
            return run.model(x, mask=m)
        c0 = time.perf_counter()
        y = run.model(x, mask=m)
        warm.append(time.perf_counter() - c0)
        return y

    loop, call, ratio = [], [], []
    for _ in range(rounds):
        warm.clear()
        run.model.reset(n)
        t0 = time.perf_counter()
        pred = F.stateful_forecast(run_model, hist, steps, n_t, None, None, **extra)
        total = time.perf_counter() - t0
        assert pred.shape == (n, steps, n_t)
        loop.append((total - warm[0]) / (steps - 1))  # mean per fed-back step
        run.model.reset(n)
        t0 = time.perf_counter()
        for _ in range(steps - 1):  # the same number of bare one-step calls, back to back: mean per call
            run.model(x1)
        call.append((time.perf_counter() - t0) / (steps - 1))
        ratio.append(loop[-1] / call[-1])
    return {
        "loop_per_step_s": statistics.median(loop),
        "engine_call_s": statistics.median(call),
        "ratio": statistics.median(ratio),
    }


def plot(points: list[dict[str, Any]], estimated: list[dict[str, Any]], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    series = sorted({p["series"] for p in points + estimated})
    steps = sorted({p["steps"] for p in points + estimated})
    for n in series:
        mine = sorted([p for p in points if p["series"] == n], key=lambda p: p["steps"])
        axes[0].plot([p["steps"] for p in mine], [p["seconds"] for p in mine], "o-", label=f"{n} series")
        for e in (e for e in estimated if e["series"] == n):
            axes[0].plot([mine[-1]["steps"], e["steps"]], [mine[-1]["seconds"], e["seconds"]], ":", color="grey")
            axes[0].plot([e["steps"]], [e["seconds"]], "o", mfc="none", color="grey", label="estimated, not run")
    for s in steps:
        mine = sorted([p for p in points if p["steps"] == s], key=lambda p: p["series"])
        axes[1].plot([p["series"] for p in mine], [p["seconds"] for p in mine], "s-", label=f"{s} steps")
    axes[0].set(xscale="log", yscale="log", xlabel="forecast steps", ylabel="seconds", title="time vs steps")
    axes[1].set(xscale="log", yscale="log", xlabel="series (batch)", ylabel="seconds", title="time vs series")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(note, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, nothing written to bench/")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved whole-process rounds (default 3; smoke 1)")
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    ap.add_argument("--_grid", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._grid:
        run_dir, series, steps, hist_rows, skip, out = args._grid
        grid_child(run_dir, [int(x) for x in series.split(",")], [int(x) for x in steps.split(",")],
                   int(hist_rows), [x for x in skip.split(",") if x], out)  # fmt: skip
        return

    smoke = args.smoke
    n_series, n_rows, num_steps, steps = (4, 120, 24, 20) if smoke else (64, 600, 48, 1000)
    rounds = args.rounds or (1 if smoke else 3)
    grid_series, grid_steps = ([1, 4], [10, 20]) if smoke else ([1, 64, 4096], [100, 1000, 10000])
    grid_skip = [] if smoke else ["4096x10000"]  # ~15 min on 2 cores: estimated from 4096x1000 instead
    grid_hist = 20 if smoke else 100
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench_forecast_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"training a stateful many_to_many LSTM(64, 32) on {n_series} series x {n_rows} rows ...", flush=True)
        run_dir, csv, train_s = train_run(work, n_series, n_rows, num_steps)
        print(f"  seqcast train: {train_s:.1f} s")

        seed_script = work / "seed_loop.py"
        seed_script.write_text(SEED_LOOP)
        ours_cmd = [*entry_point(), "forecast", "--run", str(run_dir), "--steps", str(steps)]
        t_ours, t_ours_1t, t_seed, seed_info = [], [], [], []
        for r in range(rounds):  # interleaved: the machine is shared, noise hits both sides alike
            s, _ = run_timed([*ours_cmd, "--output", str(work / "forecast.csv")], cwd=work)
            t_ours.append(s)
            s, out = run_timed(
                [sys.executable, str(seed_script), str(run_dir), str(csv), str(steps), str(work / "seed.npy")],
                env=QUIET_TF,
                cwd=work,
            )
            t_seed.append(s)
            seed_info.append(json.loads(out.strip().splitlines()[-1]))
            s, _ = run_timed([*ours_cmd, "--output", str(work / "forecast_1t.csv")], env={"OPENBLAS_NUM_THREADS": "1"})
            t_ours_1t.append(s)
            print(
                f"  round {r + 1}: seqcast forecast {t_ours[-1]:.2f} s (1 BLAS thread {t_ours_1t[-1]:.2f} s), "
                f"seed loop {t_seed[-1]:.2f} s",
                flush=True,
            )
        diffs = compare(run_dir, work / "forecast.csv", work / "seed.npy")
        print(f"  numbers vs seed loop: {diffs}")
        inproc = in_process(run_dir, steps, 5 if not smoke else 1)
        print(f"  in process: {inproc}")

        print("scaling grid (child process, OPENBLAS_NUM_THREADS=1) ...", flush=True)
        grid_out = work / "grid.json"
        subprocess.run(
            [sys.executable, __file__, "--_grid", str(run_dir), ",".join(map(str, grid_series)),
             ",".join(map(str, grid_steps)), str(grid_hist), ",".join(grid_skip), str(grid_out)],
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
            check=True,
        )  # fmt: skip
        grid = json.loads(grid_out.read_text())

    med_ours, med_seed, med_1t = (statistics.median(t) for t in (t_ours, t_seed, t_ours_1t))
    speedup = med_seed / med_ours
    pair = statistics.median(s / o for s, o in zip(t_seed, t_ours, strict=True))
    seed_loop = statistics.median(i["loop_s"] for i in seed_info)
    predict_call = statistics.median(i["predict_call_s"] for i in seed_info)
    keras_call = statistics.median(i["keras_call_s"] for i in seed_info)
    loop_ratio = inproc["ratio"]
    tol = 1e-4
    ok_speed, ok_num, ok_loop = speedup >= 20, diffs["max_abs_model"] <= tol, loop_ratio <= 3
    print(f"speed-up (median seed / median seqcast): {speedup:.1f}x  {'PASS' if ok_speed else 'FAIL'} (>= 20x)")
    print(f"max |diff| model units {diffs['max_abs_model']:.2e}  {'PASS' if ok_num else 'FAIL'} (<= 1e-4)")
    print(f"loop per step / engine model(x): {loop_ratio:.2f}x  {'PASS' if ok_loop else 'FAIL'} (<= 3x)")

    if smoke:
        assert diffs["max_abs_model"] < 1e-3, diffs  # the numbers must agree even at smoke size
        print("smoke run OK (nothing written)")
        return

    est = []
    by = {(p["series"], p["steps"]): p for p in grid["points"]}
    for key in grid_skip:
        n, s = map(int, key.split("x"))
        a, b = by[(n, 100)], by[(n, 1000)]
        per = (b["seconds"] - a["seconds"]) / 900
        est.append({"series": n, "steps": s, "seconds": b["seconds"] + per * (s - 1000)})
    png = HERE / "forecast_scaling.png"
    plot(
        grid["points"],
        est,
        png,
        f"seqcast forecast_histories, stateful many_to_many LSTM(64, 32), history {grid_hist} rows, "
        f"numpy engine, 1 BLAS thread",
    )
    rows = "\n".join(
        f"| {p['series']} | {p['steps']} | {p['seconds']:.3f} | {p['runs']} | {1e3 * p['seconds'] / p['steps']:.2f} |"
        for p in grid["points"]
    ) + "".join(
        f"\n| {e['series']} | {e['steps']} | ~{e['seconds']:.0f} (estimated, not run) | 0 | "
        f"{1e3 * e['seconds'] / e['steps']:.2f} |"
        for e in est
    )
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    orig_note = (
        ", and in original units too"
        if diffs["max_abs_original"] <= tol
        else " (in original units it is not met: float32 Keras vs the float64 engine, the gap growing over the "
        f"{steps} fed-back steps)"
    )
    body = f"""## Forecast: `seqcast forecast` vs the seed's per-step `model.predict` loop (bench_forecast.py)

{machine()}

Setup: {n_series} hourly series x {n_rows} rows, two targets; stateful many_to_many LSTM(64, 32) trained for
one epoch by a real `seqcast train` (streams 1, so the training batch is the {n_series} series). Forecast
{steps} steps: states reset, warmed on the whole {n_rows}-row history, then every prediction fed back.
Whole-process wall times, {rounds} interleaved rounds, medians. seqcast train itself took {train_s:.1f} s.

| | median s | runs (s) |
|---|---|---|
| `seqcast forecast --steps {steps} --output CSV` | {med_ours:.2f} | {", ".join(f"{t:.2f}" for t in t_ours)} |
| same, `OPENBLAS_NUM_THREADS=1` | {med_1t:.2f} | {", ".join(f"{t:.2f}" for t in t_ours_1t)} |
| seed loop (keras load + {steps} x `model.predict`) | {med_seed:.2f} | {", ".join(f"{t:.2f}" for t in t_seed)} |

- Speed-up, whole process: **{speedup:.1f}x** (median of per-round ratios {pair:.1f}x). Target >= 20x:
  {verdict(ok_speed)}.
- Seed loop inside its process: {seed_loop:.1f} s of loop, one `model.predict` call {1e3 * predict_call:.1f} ms;
  one eager Keras `model(x)` call for one step {1e3 * keras_call:.2f} ms.
- Same numbers: max |seqcast - seed| = {diffs["max_abs_model"]:.2e} in model (standardised) units
  ({diffs["max_abs_model_first10"]:.1e} over the first 10 steps), {diffs["max_abs_original"]:.2e} in original
  units for values up to {diffs["value_range"]:.0f} (max relative {diffs["max_rel"]:.1e}). Target 1e-4:
  {verdict(ok_num)} in model units{orig_note}.
- In process: the forecast loop (`stateful_forecast` after its warm-up call) costs
  {1e6 * inproc["loop_per_step_s"]:.0f} us per step vs {1e6 * inproc["engine_call_s"]:.0f} us for one engine
  `model(x)` call on one step (batch {n_series}; means over {steps - 1} steps / {steps - 1} back-to-back calls,
  5 rounds): **{loop_ratio:.2f}x** (median of the per-round ratios). Target <= 3x: {verdict(ok_loop)}.
  (One eager Keras `model(x)` call: {1e6 * keras_call:.0f} us.)

### Forecast time vs series and steps

In process (`seqcast.forecast.forecast_histories`: scaling, warm-up on a {grid_hist}-row history, loop, inverse
scaling), child process with one BLAS thread; median of up to 3 runs where a point takes under ~4 s, else 1 run.
Peak RSS of the grid process: {grid["peak_rss_mb"]:.0f} MB. The 4096 x 10000 point was not run (about a quarter of
an hour on this machine); it is extrapolated from the 4096-series per-step cost.

![forecast scaling](forecast_scaling.png)

| series | steps | seconds | runs | ms per step |
|---|---|---|---|---|
{rows}
"""
    write_section("bench_forecast", body)
    print(f"wrote bench/RESULTS.md section and {png.name}")


if __name__ == "__main__":
    main()
