"""BLAS threads for the numpy engine: its real LSTM step on one OpenBLAS thread or two, quiet and beside others.

The engine's recurrent step is one matmul per member, (members, batch, units) @ (members, units, 4 units), plus
in-place gate arithmetic that numpy runs on one core whatever BLAS does. On a 2-core machine shared with other
work, OpenBLAS' second thread can help a large matmul and ruin a whole step (its hand-off waits for a busy
core). This script times `Recurrent.scan` itself, 24 time steps of the default first layer (64 units; one
network, and `model.ensemble: 3`'s three side by side) at the batches forecasts and backtests use, with 1 and 2
BLAS threads (threadpoolctl), in four states of the machine: quiet; beside one busy Python process; beside one
numpy process running large matmuls on its own BLAS threads; beside as many busy processes as cores.

The engine runs on one thread always (`engine.one_blas_thread`). The check: in no cell does one thread cost more
than MAX_LOSS (two threads at most that much faster), while beside others two threads are slower somewhere.

Usage: python bench/bench_blas.py [--smoke]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from _common import machine, write_section

from seqcast.engine import Recurrent

BATCHES = [1, 16, 64, 256, 1024, 4096]
MEMBERS = [1, 3]
UNITS, STEPS = 64, 24
MAX_LOSS = 1.35  # one thread may be at most this much slower than two, in any cell


def busy(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(10_000):
            x += 1


def numpy_tenant(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    """Another user's numpy work: 600 x 600 float64 matmuls on OpenBLAS' default threads."""
    a = np.random.default_rng(0).random((600, 600))
    while not stop.is_set():
        a @ a


def layer(members: int, seed: int = 0) -> Recurrent:
    """An LSTM layer of `members` networks of UNITS units, laid out as model.merge lays out an ensemble."""
    rng = np.random.default_rng(seed)
    n, u, g = members, UNITS, 4
    rec = np.zeros((n * u, g * n * u), np.float32)
    for k in range(n):
        for gate in range(g):
            rec[k * u : (k + 1) * u, (gate * n + k) * u : (gate * n + k + 1) * u] = rng.normal(0, 0.3, (u, u))
    r = Recurrent("lstm", rng.normal(0, 0.3, (2, g * n * u)), rec, np.zeros(g * n * u), False)
    assert r.groups == members
    return r


def time_step(r: Recurrent, batch: int, threads: int, budget: float) -> float:
    """Median seconds per time step of r.scan over STEPS steps of `batch` rows, with `threads` BLAS threads."""
    from threadpoolctl import threadpool_limits

    xw = r.project(np.random.default_rng(1).normal(size=(batch, STEPS, 2)).astype(np.float32))
    state = r.zero_state(batch)
    times: list[float] = []
    with threadpool_limits(threads, user_api="blas"):
        r.scan(xw, state)
        end = time.perf_counter() + budget
        while time.perf_counter() < end or len(times) < 5:
            t0 = time.perf_counter()
            r.scan(xw, state)
            times.append((time.perf_counter() - t0) / STEPS)
    return statistics.median(times)


def beside(
    target: Callable[..., None] | None, count: int, batches: list[int], budget: float
) -> dict[tuple[int, int], tuple[float, float]]:
    """{(members, batch): (1-thread s, 2-thread s)} while `count` processes run `target` beside this one."""
    stop = mp.Event()
    procs = [mp.Process(target=target, args=(stop,)) for _ in range(count if target else 0)]
    for p in procs:
        p.start()
    try:
        time.sleep(0.3)
        out: dict[tuple[int, int], tuple[float, float]] = {}
        for m in MEMBERS:
            r = layer(m)
            for b in batches:
                out[(m, b)] = (time_step(r, b, 1, budget), time_step(r, b, 2, budget))  # adjacent, same load
        return out
    finally:
        stop.set()
        for p in procs:
            p.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="two batches, a short budget; report built, not written")
    args = ap.parse_args()
    batches = [16, 1024] if args.smoke else BATCHES
    budget = 0.05 if args.smoke else 0.5
    cores = len(os.sched_getaffinity(0))
    print(machine())
    states = {
        "quiet": beside(None, 0, batches, budget),
        "1 busy process": beside(busy, 1, batches, budget),
        "1 numpy process": beside(numpy_tenant, 1, batches, budget),
        f"{cores} busy processes": beside(busy, cores, batches, budget),
    }
    header = "| members x units | batch | MFLOP per member matmul |" + "".join(
        f" {name}: 1 thread us | 2 threads us | 2 / 1 |" for name in states
    )
    rows = [header, "|---" * (3 + 3 * len(states)) + "|"]
    worst_loss, worst_gain = 0.0, 0.0  # how much faster two threads were at best; how much slower at worst
    for m in MEMBERS:
        for b in batches:
            cells = ""
            for table in states.values():
                one, two = table[(m, b)]
                worst_loss, worst_gain = max(worst_loss, one / two), max(worst_gain, two / one)
                cells += f" {1e6 * one:.1f} | {1e6 * two:.1f} | {two / one:.2f} |"
            rows.append(f"| {m} x {UNITS} | {b} | {2 * b * UNITS * 4 * UNITS / 1e6:.2f} |{cells}")
            print(rows[-1], flush=True)
    print(f"two threads at best {worst_loss:.2f}x faster, at worst {worst_gain:.2f}x slower")
    if not args.smoke:  # a smoke run's cells are too short for these verdicts
        assert worst_loss <= MAX_LOSS, f"two BLAS threads were {worst_loss:.2f}x faster somewhere: one thread is wrong"
        assert worst_gain > 1.2, "two BLAS threads were never slower: the case for one thread is gone"
    body = f"""## BLAS threads for the engine's step (bench_blas.py)

{machine()}

`Recurrent.scan` itself: {STEPS} time steps of an LSTM layer of {UNITS} units (one network, and three side by
side as `model.ensemble: 3` runs them), per time step, with 1 and 2 OpenBLAS threads (threadpoolctl); median
over {budget:.1f} s per cell, the two thread counts timed one after the other under the same load. Four states
of the machine: quiet; beside one busy Python process; beside one numpy process doing 600 x 600 matmuls on its
own BLAS threads; beside {cores} busy Python processes. The last column of each state is 2 threads / 1 thread:
below 1, the second thread helped.

At best two threads made a step **{worst_loss:.2f}x** faster; at worst **{worst_gain:.2f}x** slower. The engine
runs on one thread always (`engine.one_blas_thread`); this script fails if two threads ever win by more than
{MAX_LOSS}x.

{chr(10).join(rows)}
"""
    write_section("bench_blas", body, dry=args.smoke)


if __name__ == "__main__":
    main()
