"""BLAS threads for the numpy engine's matmuls: one thread or two, with a core free and with none.

The engine's recurrent step is one matmul (batch, units) @ (units, gates * units) plus elementwise work. On a
2-core machine shared with other work, OpenBLAS' second thread can help a large matmul and ruin a small one
(its hand-off waits for a busy core). This script measures, for the sizes forecasts and backtests use, the
median time of one float32 matmul with 1 and 2 BLAS threads (threadpoolctl) in three states of the machine:
quiet; beside cores - 1 busy processes; beside as many busy processes as cores. It reports the smallest size
from which two threads are faster in the first two states, for it and every larger size: the engine's
BLAS_MIN_FLOPS is checked against it.

Usage: python bench/bench_blas.py [--smoke]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np
from _common import machine, write_section

SIZES = [(1, 32), (8, 64), (64, 32), (64, 64), (128, 64), (256, 64), (512, 64), (1024, 64), (4096, 64), (1024, 128)]


HEADER = (
    "| matmul | MFLOP | quiet: 1 thread us | 2 threads us | ratio | cores - 1 busy: 1 thread us | 2 threads us "
    "| ratio | cores busy: 1 thread us | 2 threads us | ratio | engine uses |\n" + "|---" * 12 + "|"
)


def busy(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(10_000):
            x += 1


def time_matmul(b: int, u: int, threads: int, budget: float) -> float:
    """Median seconds of one (b, u) @ (u, 4u) float32 matmul with `threads` BLAS threads."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((b, u)).astype(np.float32)
    w = rng.standard_normal((u, 4 * u)).astype(np.float32)
    out = np.empty((b, 4 * u), np.float32)
    times: list[float] = []
    with threadpool_limits(threads, user_api="blas"):
        for _ in range(20):
            np.matmul(a, w, out=out)
        t_end = time.perf_counter() + budget
        while time.perf_counter() < t_end or len(times) < 30:
            t0 = time.perf_counter()
            np.matmul(a, w, out=out)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(sizes: list[tuple[int, int]], budget: float) -> dict[tuple[int, int], tuple[float, float]]:
    return {(b, u): (time_matmul(b, u, 1, budget), time_matmul(b, u, 2, budget)) for b, u in sizes}


def under_load(hogs: int, sizes: list[tuple[int, int]], budget: float) -> dict[tuple[int, int], tuple[float, float]]:
    """measure() while `hogs` busy processes run beside it."""
    stop = mp.Event()
    procs = [mp.Process(target=busy, args=(stop,)) for _ in range(hogs)]
    for p in procs:
        p.start()
    try:
        time.sleep(0.2)
        return measure(sizes, budget)
    finally:
        stop.set()
        for p in procs:
            p.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="two sizes, a short budget, nothing written")
    args = ap.parse_args()
    sizes = SIZES[:2] if args.smoke else SIZES
    budget = 0.05 if args.smoke else 0.6
    print(machine())
    cores = len(os.sched_getaffinity(0))
    quiet = measure(sizes, budget)
    spare = under_load(cores - 1, sizes, budget)
    busy_ = under_load(cores, sizes, budget)

    from seqcast.engine import BLAS_MIN_FLOPS

    rows, ok_from = [], None
    for b, u in sizes:
        flops = 2 * b * u * 4 * u
        q1, q2 = quiet[(b, u)]
        l1, l2 = spare[(b, u)]
        o1, o2 = busy_[(b, u)]
        fine = q2 < 0.9 * q1 and l2 < 0.9 * l1
        if fine and ok_from is None:
            ok_from = flops
        if not fine:
            ok_from = None  # only a size from which every larger size is fine counts
        rows.append(
            f"| ({b}, {u}) @ ({u}, {4 * u}) | {flops / 1e6:.2f} | {1e6 * q1:.1f} | {1e6 * q2:.1f} | {q2 / q1:.2f} "
            f"| {1e6 * l1:.1f} | {1e6 * l2:.1f} | {l2 / l1:.2f} | {1e6 * o1:.1f} | {1e6 * o2:.1f} | {o2 / o1:.2f} "
            f"| {'2 unless busy' if flops >= BLAS_MIN_FLOPS else '1'} |"
        )
        print(rows[-1], flush=True)
    if args.smoke:
        print("smoke run OK (nothing written)")
        return
    found = f"{ok_from / 1e6:.1f} MFLOP" if ok_from is not None else "none of the sizes measured"
    body = f"""## BLAS threads for the engine's matmuls (bench_blas.py)

{machine()}

One float32 matmul `(batch, units) @ (units, 4 units)`, the LSTM's recurrent step, with 1 and 2 OpenBLAS
threads (threadpoolctl); median over {budget:.1f} s per cell, quiet and beside {cores - 1} and {cores} busy Python
processes. Quiet and beside {cores - 1}, two threads are at least 10 % faster from **{found}** on (and at every
larger size). Beside {cores}, the second thread can wait for a core, up to a whole time slice per matmul, at any
size (its ratio column). The engine gives one thread to every matmul below `BLAS_MIN_FLOPS` =
{BLAS_MIN_FLOPS / 1e6:.0f} MFLOP, and above it two only while the 1-minute load average, its own process counted,
stays below cores + 0.5 (last column). `OPENBLAS_NUM_THREADS=1` makes every matmul single-threaded.

{HEADER}
{chr(10).join(rows)}
"""
    write_section("bench_blas", body)
    print("wrote bench/RESULTS.md section")


if __name__ == "__main__":
    main()
