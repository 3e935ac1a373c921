"""CLI start-up: `seqcast --help` and `seqcast window-preview CONFIG` wall time, and no TensorFlow import.

Runs the installed `seqcast` script next to the running interpreter (the virtualenv's real entry point,
not a pyenv shim), from the repository root, 7 times per command (median). Target: < 0.5 s each.
Checks that TensorFlow / Keras are not imported (sys.modules after the command, and `python -X importtime`),
and reports the import-time breakdown of the largest costs.

Usage: python bench/bench_cli.py [--smoke] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import machine, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEAVY = ("tensorflow", "keras", "torch", "jax", "tf_keras")
COMMANDS = [
    ["--help"],
    ["window-preview", "configs/tanks_stateful.yaml"],
    ["window-preview", "configs/quickstart.yaml"],
]


def entry_point() -> Path:
    script = Path(sys.executable).parent / "seqcast"
    if not script.exists():
        sys.exit(f"no seqcast entry point next to {sys.executable}: install seqcast into this environment")
    return script


# Children may cache bytecode, as after `pip install .` (pip compiles the package): without this, an editable
# install under PYTHONDONTWRITEBYTECODE=1 (set on this machine) recompiles seqcast's sources on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return seconds


MODULES_PROBE = """
import json, sys
from seqcast.cli import main
sys.argv = ["seqcast", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
sys.stderr.write("\\nHEAVY_MODULES=" + json.dumps(heavy) + "\\n")
"""


def heavy_modules(args: list[str]) -> list[str]:
    """Modules of TensorFlow & co. in sys.modules after the command ran in-process."""
    code = MODULES_PROBE.format(heavy=set(HEAVY))
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], cwd=ROOT, capture_output=True, text=True, env=ENV
    )
    found = re.search(r"HEAVY_MODULES=(.*)", proc.stderr)
    if not found:
        raise RuntimeError(f"probe failed:\n{proc.stderr[-2000:]}")
    return json.loads(found.group(1))


def import_times(args: list[str]) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) of every import, from python -X importtime."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(entry_point()), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ENV,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="2 runs per command, nothing written")
    ap.add_argument("--runs", type=int, default=None, help="runs per command (default 15)")
    args = ap.parse_args()
    runs = args.runs or (2 if args.smoke else 15)
    exe = entry_point()
    print(machine())
    print(f"entry point: {exe}")

    floor_codes = [
        "pass",
        "import numpy, pydantic, typer, yaml, rich.console",  # the third-party floor of window-preview
        "import seqcast.cli, seqcast.config, seqcast.preview",
    ]
    floors = {f"`python -c '{c}'`": c for c in floor_codes}
    floor_times = {k: [wall([sys.executable, "-c", code]) for _ in range(runs + 1)][1:] for k, code in floors.items()}
    for k, ts in floor_times.items():
        print(f"{k:75s} median {statistics.median(ts):.3f} s")
    results = []
    for cmd in COMMANDS:
        wall([str(exe), *cmd])  # one unmeasured run: page cache and .pyc files warm
        times = [wall([str(exe), *cmd]) for _ in range(runs)]
        heavy = heavy_modules(cmd)
        imp = import_times(cmd)
        heavy_imp = sorted({name for _, _, _, name in imp if name.split(".")[0] in HEAVY})
        results.append({"cmd": cmd, "times": times, "heavy": heavy + heavy_imp, "imports": imp})
        med = statistics.median(times)
        print(
            f"seqcast {' '.join(cmd):45s} median {med:.3f} s  runs {[round(t, 3) for t in times]}  "
            f"{'PASS' if med < 0.5 else 'FAIL'} (< 0.5 s); TensorFlow/Keras imported: {bool(heavy or heavy_imp)}"
        )
    bad = [r for r in results if r["heavy"]]
    for r in bad:
        print(f"  imported by {' '.join(r['cmd'])}: {r['heavy'][:10]}")

    # import-time breakdown of the slowest window-preview
    slow = max(results[1:], key=lambda r: statistics.median(r["times"]))
    imp = slow["imports"]
    total_us = sum(c for _, c, d, _ in imp if d == 0)
    top_level = sorted(((c, n) for _, c, d, n in imp if d == 0), reverse=True)[:10]
    self_top = sorted(((s, n) for s, _, _, n in imp), reverse=True)[:10]
    print(f"import time of `seqcast {' '.join(slow['cmd'])}`: {total_us / 1e3:.0f} ms in all")
    for c, n in top_level:
        print(f"  {c / 1e3:7.1f} ms cumulative  {n}")

    assert not bad, "TensorFlow or Keras was imported by a command that must not import it"
    if args.smoke:
        print("smoke run OK (nothing written)")
        return

    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    table = "\n".join(
        f"| `seqcast {' '.join(r['cmd'])}` | {statistics.median(r['times']):.3f} | "
        f"{', '.join(f'{t:.3f}' for t in r['times'])} | {verdict(statistics.median(r['times']) < 0.5)} | "
        f"{'yes: ' + ', '.join(r['heavy'][:3]) if r['heavy'] else 'no'} |"
        for r in results
    )
    floor_rows = "\n".join(f"| {k} | {statistics.median(ts):.3f} |" for k, ts in floor_times.items())
    cum = "\n".join(f"| `{n}` | {c / 1e3:.1f} |" for c, n in top_level)
    selft = "\n".join(f"| `{n}` | {s / 1e3:.1f} |" for s, n in self_top)
    body = f"""## CLI start-up: `--help` and `window-preview` (bench_cli.py)

{machine()}

Entry point `{exe}` run from the repository root; one unmeasured warm-up run, then {runs} runs each (median).
Target: < 0.5 s, and no TensorFlow / Keras import (checked with `sys.modules` after the command and with
`python -X importtime`). For scale, what the imports alone cost (same runs, medians):

| floor | median s |
|---|---|
{floor_rows}

| command | median s | runs (s) | < 0.5 s | TensorFlow imported |
|---|---|---|---|---|
{table}

Import time of `seqcast {" ".join(slow["cmd"])}` (`python -X importtime`, one run; it adds its own overhead):
{total_us / 1e3:.0f} ms of imports in all.

| top-level import | cumulative ms |
|---|---|
{cum}

| module (own time only) | self ms |
|---|---|
{selft}
"""
    write_section("bench_cli", body)
    print("wrote the bench/RESULTS.md section")


if __name__ == "__main__":
    main()
