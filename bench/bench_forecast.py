"""Autoregressive forecast on every path: `seqcast forecast` vs the seed's per-step `model.predict` loop.

For each of the four model paths a user can train (look-back many_to_one first, the default without a season;
look-back many_to_many, the default with `evaluate.season` > 1; encoder_decoder; stateful many_to_many), all
LSTM(64, 32) on 64 hourly series whose values are of order 1, trained for one epoch by a real `seqcast train`
(transform none, so the seed loop needs no transform). The default `model.ensemble: 3` (three networks in one
model.keras) comes first on both default look-back paths, and again on the stateful one; the other arms are one
network (`model.ensemble: 1`), differing only in that:

  1. Whole process, interleaved rounds: `seqcast forecast --run DIR --steps 1000 --output CSV` vs the seed's loop
     in its own process (load model.keras with plain Keras; look-back: slide a window over the predictions with
     one `model.predict` per step or block; stateful: reset, predict the history, then one `model.predict` per
     step). Targets: look-back many_to_one >= 5x (aim 15x), stateful >= 40x.
  2. Same numbers: the forecast CSV against the seed loop's numbers, in original units. Target: within 1e-4.
  3. In process, one BLAS thread: seqcast's forecast (`forecast_histories`: scaling, warm-up, loop, inverse)
     per forecast step, against a float32 numpy floor: the same arithmetic written as plainly as numpy allows
     (each layer's inputs projected once, one matmul and in-place gate arithmetic per time step, only the outputs
     the next layer needs; an ensemble's networks one after another), checked to give the same numbers.

Usage: python bench/bench_forecast.py [--smoke] [--rounds N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import QUIET_TF, entry_point, machine, run_timed, write_section


@dataclass(frozen=True)
class Path_:
    name: str
    mode: str
    kind: str
    horizon: int
    target: float | None  # whole-process speed-up target, if the issue sets one
    ensemble: int = 1


PATHS = [  # the default first: look-back many_to_one, model.ensemble 3
    Path_("look-back many_to_one, ensemble 3 (default)", "lookback", "many_to_one", 1, 5.0, 3),
    Path_("look-back many_to_one", "lookback", "many_to_one", 1, 5.0),
    Path_("look-back many_to_many, ensemble 3 (the default with a season)", "lookback", "many_to_many", 1, None, 3),
    Path_("look-back many_to_many", "lookback", "many_to_many", 1, None),
    Path_("encoder_decoder", "lookback", "encoder_decoder", 12, None),
    Path_("stateful many_to_many, ensemble 3", "stateful", "many_to_many", 1, 40.0, 3),
    Path_("stateful many_to_many", "stateful", "many_to_many", 1, 40.0),
]
LOOK_BACK = 24
HEADER = (
    "| path | seqcast s | seed loop s | speed-up | target | max abs diff | seqcast ms/step | floor ms/step "
    "| seqcast / floor |\n" + "|---" * 9 + "|"
)
TOL = 1e-4


def make_csv(path: Path, n_series: int, n_rows: int, seed: int = 0) -> None:
    """Hourly series of order 1: a daily cycle and noise; columns time, series, level, temp."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00")
    times = np.char.replace(
        np.datetime_as_string(start + np.arange(n_rows).astype("timedelta64[h]"), unit="s"), "T", " "
    )
    k = np.arange(n_rows)
    with path.open("w") as fh:
        fh.write("time,series,level,temp\n")
        for i in range(n_series):
            level = np.sin(2 * np.pi * k / 24 + i) + 0.1 * rng.standard_normal(n_rows)
            temp = 0.5 * np.cos(2 * np.pi * k / 24 + 0.5 * i) + 0.1 * rng.standard_normal(n_rows)
            name = f"S{i:04d}"
            fh.writelines(f"{t},{name},{a:.5f},{b:.5f}\n" for t, a, b in zip(times, level, temp, strict=True))


CONFIG = """\
data:
  path: {csv}
  time_column: time
  series_column: series
  targets: [level, temp]
  split: {{val: 0.1, test: 0.1}}
  transform: none
windows:
  mode: {mode}
  look_back: {look_back}
  horizon: {horizon}
  num_steps: {num_steps}
  streams: 1
model:
  kind: {kind}
  cell: lstm
  units: [64, 32]
  ensemble: {ensemble}
training:
  epochs: 1
  learning_rate: 0.005
evaluate:
  horizon: {horizon}
"""

# ------------------------------------------------------------------------------------------ child: seed loop
SEED_LOOP = r'''
"""The seed's loop: plain Keras, one model.predict per step (or per block of horizon steps), batch = all series."""
import json, sys, time
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
preds = []
if pre["mode"] == "stateful":
    for layer in model.layers:  # reset
        if getattr(layer, "stateful", False):
            layer.reset_state()
    y = model.predict(hist, batch_size=len(hist), verbose=0)  # warm the states on the whole history
    # Keras 3 TimeDistributed + model.predict return a wrong time length once one predict function has seen
    # two different time lengths: start a fresh predict function for the one-step calls.
    model.predict_function = None
    last = y[:, -1:]
    while True:
        preds.append(last)
        if len(preds) == steps:
            break
        last = model.predict(last, batch_size=len(hist), verbose=0)[:, -1:]
else:
    window, done = hist[:, -pre["look_back"]:], 0
    while done < steps:
        y = model.predict(window, batch_size=len(hist), verbose=0)
        block = y[:, -1:] if pre["kind"] == "many_to_many" else y  # (series, 1 or horizon, targets)
        preds.append(block)
        done += block.shape[1]
        window = np.concatenate([window, block], axis=1)[:, -pre["look_back"]:]
t2 = time.perf_counter()
np.save(out, np.concatenate(preds, axis=1)[:, :steps])
print(json.dumps({"loop_s": t2 - t1, "calls": len(preds)}))
'''


# -------------------------------------------------------------------------------- the float32 numpy floor
def members(run: Any) -> list[tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]]:
    """The networks of a run's model.keras, one after another: [(layers [(kernel, recurrent, bias)], head W)].

    An ensemble's model.keras is model.merge's block-diagonal layout (gate-major columns, member k's units in
    block k of every gate); the floor takes its members apart, as a user running them one by one would.
    """
    n = run.cfg.model.ensemble
    (w_head, _, _) = next(obj for tag, obj in run.model.layers if tag == "dense")
    out = []
    for k in range(n):
        layers = []
        for i, r in enumerate(run.model.recurrent):
            u = r.recurrent.shape[0] // n
            cols = np.concatenate([np.arange((g * n + k) * u, (g * n + k + 1) * u) for g in range(4)])
            rows = slice(k * u, (k + 1) * u)
            reads = slice(None) if i == 0 else slice(k * r.kernel.shape[0] // n, (k + 1) * r.kernel.shape[0] // n)
            kernel, recurrent = r.kernel[reads][:, cols], r.recurrent[rows][:, cols]  # layer 0 reads the input
            layers.append((np.ascontiguousarray(kernel), np.ascontiguousarray(recurrent), r.bias[cols]))
        u_last = run.model.recurrent[-1].recurrent.shape[0] // n
        out.append((layers, np.ascontiguousarray(w_head[k * u_last : (k + 1) * u_last])))
    return out


def floor_forecast(run: Any, hist: np.ndarray, steps: int) -> np.ndarray:
    """The forecast's arithmetic written as plainly as numpy allows: (series, steps, targets) in model units.

    LSTM layers only (what this benchmark trains). Each layer's inputs are projected once per call; per time
    step one matmul and in-place gate arithmetic; only the outputs the next layer needs are kept. An ensemble's
    networks run one after another, their heads summed (model.merge's head is their mean).
    """
    nets = members(run)
    (_, b_head, _) = next(obj for tag, obj in run.model.layers if tag == "dense")
    kind, mode = run.pre["kind"], run.pre["mode"]

    def lstm(x: np.ndarray, k: np.ndarray, r: np.ndarray, b: np.ndarray, h: np.ndarray, c: np.ndarray,
             keep: bool) -> np.ndarray | None:  # fmt: skip
        n, t, _ = x.shape
        u = r.shape[0]
        xw = (x.reshape(n * t, -1) @ k).reshape(n, t, -1)
        xw += b
        z = np.empty((n, 4 * u), np.float32)
        g = np.empty((n, u), np.float32)
        outs = np.empty((n, t, u), np.float32) if keep else None
        for s in range(t):
            np.matmul(h, r, out=z)
            z += xw[:, s]
            np.tanh(z[:, 2 * u : 3 * u], out=g)
            z *= 0.5
            np.tanh(z, out=z)
            z *= 0.5
            z += 0.5
            c *= z[:, u : 2 * u]
            g *= z[:, :u]
            c += g
            np.tanh(c, out=h)
            h *= z[:, 3 * u :]
            if outs is not None:
                outs[:, s] = h
        return outs

    def zeros(layers: list[Any], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.zeros((n, r.shape[0]), np.float32), np.zeros((n, r.shape[0]), np.float32)) for _, r, _ in layers]

    n, n_t = hist.shape[0], run.n_targets
    out = np.empty((n, steps, n_t), np.float32)
    if mode == "stateful":  # warm on the history, then one step at a time; (h, c) of every layer carried
        states = [zeros(layers, n) for layers, _ in nets]
        x = hist
        for done in range(steps):
            y = b_head  # the members' heads added to it
            for (layers, w_head), st in zip(nets, states, strict=True):
                xm = x
                for i, layer in enumerate(layers):
                    seq = lstm(xm, *layer, *st[i], keep=i < len(layers) - 1)
                    xm = seq if seq is not None else xm
                y = y + st[-1][0] @ w_head  # (series, targets): the next step
            out[:, done] = y
            x = y[:, None]
        return out
    window, done = hist[:, -run.pre["look_back"] :].copy(), 0
    while done < steps:
        y = b_head  # the members' heads added to it
        for layers, w_head in nets:
            st = zeros(layers, n)
            enc = len(layers) // 2 if kind == "encoder_decoder" else len(layers)
            x = window
            for i in range(enc):
                x = lstm(x, *layers[i], *st[i], keep=i < enc - 1)
            h_last = st[enc - 1][0]
            if kind == "encoder_decoder":
                x = np.repeat(h_last[:, None], run.pre["horizon"], axis=1)
                for i in range(enc, len(layers)):
                    x = lstm(x, *layers[i], *st[i], keep=True)
                y = y + x @ w_head  # (series, horizon, targets)
            else:
                # many_to_one: (series, horizon * targets); many_to_many: the last step's output, the next step
                y = y + h_last @ w_head
        y = y.reshape(n, -1, n_t)
        m = min(y.shape[1], steps - done)
        out[:, done : done + m] = y[:, :m]
        done += y.shape[1]
        window = np.concatenate([window, y], axis=1)[:, -run.pre["look_back"] :]
    return out


def in_process(run_dir: Path, steps: int, rounds: int) -> dict[str, float]:
    """Per forecast step, one BLAS thread: seqcast's forecast_histories vs the float32 floor, same histories."""
    from threadpoolctl import threadpool_limits

    from seqcast import forecast as F
    from seqcast import history
    from seqcast.run import load_run

    run = load_run(run_dir)
    ds = history.history_dataset(run, None)
    hist = [s.values for s in ds.series]
    scaler = run.scaler(ds.names)
    units = np.stack([scaler.transform(i, h) for i, h in enumerate(hist)]).astype(np.float32)
    ours, floor = [], []
    with threadpool_limits(1, user_api="blas"):
        for _ in range(rounds):  # interleaved
            t0 = time.perf_counter()
            pred = F.forecast_histories(run, hist, ds.names, steps)
            ours.append((time.perf_counter() - t0) / steps)
            t0 = time.perf_counter()
            low = floor_forecast(run, units, steps)
            floor.append((time.perf_counter() - t0) / steps)
    low_orig = low * scaler.scale[:, None, : run.n_targets] + scaler.center[:, None, : run.n_targets]
    return {
        "seqcast_step_s": statistics.median(ours),
        "floor_step_s": statistics.median(floor),
        "ratio": statistics.median(o / f for o, f in zip(ours, floor, strict=True)),
        "floor_vs_seqcast": float(np.abs(low_orig - pred).max()),
    }


def compare(run_dir: Path, forecast_csv: Path, seed_npy: Path) -> dict[str, float]:
    """Max |seqcast - seed| in original units, over all steps and over the first 10."""
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
    diff = np.abs(ours - (seed * scale + center))
    return {
        "max_abs": float(diff.max()),
        "max_abs_first10": float(diff[:, :10].max()),
        "range": float(np.abs(ours).max()),
    }


def bench_path(p: Path_, work: Path, csv: Path, n_rows: int, steps: int, rounds: int) -> dict[str, Any]:
    folder = work / p.kind / p.mode / f"ensemble{p.ensemble}"
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "bench.yaml"
    cfg.write_text(
        CONFIG.format(csv=csv, mode=p.mode, look_back=LOOK_BACK, horizon=p.horizon, num_steps=min(48, n_rows // 5),
                      kind=p.kind, ensemble=p.ensemble)
    )  # fmt: skip
    run_dir = folder / "run"
    train_s, _ = run_timed([*entry_point(), "train", str(cfg), "--output-dir", str(run_dir), "--quiet"], cwd=folder)
    seed_script = work / "seed_loop.py"
    seed_script.write_text(SEED_LOOP)
    # --data: warm on the whole history as the seed's loop does (without it seqcast starts from state.npz)
    ours_cmd = [*entry_point(), "forecast", "--run", str(run_dir), "--steps", str(steps), "--data", str(csv)]
    t_ours, t_seed, loops = [], [], []
    for r in range(rounds):  # interleaved: the machine is shared, noise hits both sides alike
        s, _ = run_timed([*ours_cmd, "--output", str(folder / "forecast.csv")], cwd=folder)
        t_ours.append(s)
        s, out = run_timed(
            [sys.executable, str(seed_script), str(run_dir), str(csv), str(steps), str(folder / "seed.npy")],
            env=QUIET_TF,
            cwd=folder,
        )
        t_seed.append(s)
        loops.append(json.loads(out.strip().splitlines()[-1]))
        print(
            f"  {p.name}, round {r + 1}: seqcast forecast {t_ours[-1]:.2f} s, seed loop {t_seed[-1]:.2f} s", flush=True
        )
    diffs = compare(run_dir, folder / "forecast.csv", folder / "seed.npy")
    inproc = in_process(run_dir, steps, 3 if rounds > 1 else 1)
    res = {
        "path": p,
        "train_s": train_s,
        "ours": t_ours,
        "seed": t_seed,
        "calls": loops[0]["calls"],
        "seed_loop_s": statistics.median(x["loop_s"] for x in loops),
        "speedup": statistics.median(t_seed) / statistics.median(t_ours),
        "pair": statistics.median(s / o for s, o in zip(t_seed, t_ours, strict=True)),
        **diffs,
        **inproc,
    }
    print(
        f"  {p.name}: {res['speedup']:.1f}x, max |diff| {diffs['max_abs']:.1e}, "
        f"per step {1e3 * res['seqcast_step_s']:.3f} ms vs floor {1e3 * res['floor_step_s']:.3f} ms "
        f"({res['ratio']:.2f}x), floor vs seqcast {res['floor_vs_seqcast']:.1e}",
        flush=True,
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes; the report is built, not written")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved whole-process rounds (default 3; smoke 1)")
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = ap.parse_args()
    smoke = args.smoke
    n_series, n_rows, steps = (4, 150, 30) if smoke else (64, 600, 1000)
    rounds = args.rounds or (1 if smoke else 3)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench_forecast_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        csv = work / "series.csv"
        make_csv(csv, n_series, n_rows)
        results = [bench_path(p, work, csv, n_rows, steps, rounds) for p in PATHS]

    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    for r in results:
        assert r["floor_vs_seqcast"] < 1e-3, r  # the floor is the same computation
        if smoke:
            assert r["max_abs"] < 1e-3, r  # the numbers must agree even at smoke size
    rows, checks = [], []
    for r in results:
        p = r["path"]
        target = f">= {p.target:.0f}x: {verdict(r['speedup'] >= p.target)}" if p.target else "none set"
        rows.append(
            f"| {p.name} | {statistics.median(r['ours']):.2f} | {statistics.median(r['seed']):.2f} "
            f"({r['calls']} calls) | **{r['speedup']:.1f}x** ({r['pair']:.1f}x) | {target} "
            f"| {r['max_abs']:.1e} ({verdict(r['max_abs'] <= TOL)}) | {1e3 * r['seqcast_step_s']:.3f} "
            f"| {1e3 * r['floor_step_s']:.3f} | {r['ratio']:.2f}x |"
        )
        checks.append(
            f"- {p.name}: whole-process runs seqcast {', '.join(f'{t:.2f}' for t in r['ours'])} s, seed "
            f"{', '.join(f'{t:.2f}' for t in r['seed'])} s (its loop alone {r['seed_loop_s']:.1f} s); "
            f"max |diff| over the first 10 steps {r['max_abs_first10']:.1e}, values up to {r['range']:.2f}; "
            f"floor vs seqcast {r['floor_vs_seqcast']:.1e}; `seqcast train` {r['train_s']:.1f} s."
        )
    ens, one, ens_mm, one_mm, _, ens_sf, one_sf = results  # PATHS' order; the encoder_decoder has one network
    body = f"""## Forecast on every path: `seqcast forecast` vs the seed's `model.predict` loop (bench_forecast.py)

{machine()}

{n_series} hourly series x {n_rows} rows, two targets with values of order 1; LSTM(64, 32), look_back {LOOK_BACK}
(encoder_decoder: horizon 12), trained one epoch by a real `seqcast train`, transform none. Forecast {steps} steps.
The first arm is the default without a season (look-back many_to_one, `model.ensemble: 3`: three networks merged
into one model.keras, which the engine runs side by side, each on its own units); the third the default with
`evaluate.season` > 1 (look-back many_to_many, three networks); the others are one network, or the stateful path
with three. Three networks against one, same path:
per step **{ens["seqcast_step_s"] / one["seqcast_step_s"]:.2f}x** in process, whole process
{statistics.median(ens["ours"]) / statistics.median(one["ours"]):.2f}x (look-back many_to_one); per step
{ens_mm["seqcast_step_s"] / one_mm["seqcast_step_s"]:.2f}x, whole process
{statistics.median(ens_mm["ours"]) / statistics.median(one_mm["ours"]):.2f}x (look-back many_to_many); per step
{ens_sf["seqcast_step_s"] / one_sf["seqcast_step_s"]:.2f}x (stateful).
Whole process: `seqcast forecast --steps {steps} --output CSV` against the seed's loop in its own process (plain
Keras: load model.keras, then one `model.predict` per step or block of horizon steps; stateful: reset, predict
the history, then one per step); {rounds} interleaved rounds, medians (median of the per-round ratios in
brackets). Same numbers: the CSV against the seed's numbers, original units, target 1e-4. Per step, in process,
one BLAS thread: seqcast's `forecast_histories` (scaling, warm-up, loop, inverse) against the float32 numpy floor
(the same arithmetic as plainly as numpy writes it; it gives seqcast's numbers), 3 interleaved runs, medians.

{HEADER}
{chr(10).join(rows)}

{chr(10).join(checks)}
"""
    write_section("bench_forecast", body, dry=smoke)


if __name__ == "__main__":
    main()
