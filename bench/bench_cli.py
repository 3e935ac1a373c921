"""CLI start-up: `seqcast --help` and `seqcast window-preview CONFIG` wall time, and no TensorFlow import.

Runs the installed `seqcast` script next to the running interpreter (the virtualenv's real entry point,
not a pyenv shim), from the repository root, 15 times per command (median). Target: < 0.5 s each on the
bundled samples. Checks that TensorFlow / Keras are not imported (sys.modules after the command, and
`python -X importtime`), and reports the import-time breakdown of the largest costs.

Long series: window-preview reads the whole data file, so its time grows with the rows. It is timed on one
hourly series of 10,000 to 2,000,000 rows (5 runs each). The CSV reader switches from the csv module to
pandas' C parser above `read._PANDAS_ABOVE` bytes; both readers are timed on files around it (read_tables in
a fresh process, 5 runs each), and the threshold is checked to lie where pandas starts to win.

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


LONG_ROWS = [10_000, 150_000, 500_000, 2_000_000]
READER_ROWS = [75_000, 150_000, 300_000, 600_000]  # about 2, 4, 8 and 16 MiB of CSV
READ_ONE = """
import sys, time
from pathlib import Path
import seqcast.read as R
R._PANDAS_ABOVE = int(sys.argv[2])
t0 = time.perf_counter()
for table in R.read_tables(Path(sys.argv[1])):
    pass
print(time.perf_counter() - t0)
"""


def hourly_csv(path: Path, rows: int) -> None:
    """One hourly series, a daily sine with noise: columns time, y."""
    import numpy as np

    t = np.datetime64("2000-01-01T00:00") + np.arange(rows).astype("timedelta64[h]")
    stamps = np.char.replace(np.datetime_as_string(t, unit="s"), "T", " ")
    y = np.sin(2 * np.pi * np.arange(rows) / 24) + 0.1 * np.random.default_rng(0).standard_normal(rows)
    with path.open("w") as fh:
        fh.write("time,y\n")
        fh.writelines(f"{a},{b:.5f}\n" for a, b in zip(stamps, y, strict=True))


def long_series(exe: Path, work: Path, sizes: list[int], runs: int) -> list[dict[str, float]]:
    """window-preview on one long series: median wall time per size."""
    out = []
    for rows in sizes:
        csv = work / f"hourly_{rows}.csv"
        hourly_csv(csv, rows)
        cfg = work / f"hourly_{rows}.yaml"
        cfg.write_text(f"data: {{path: {csv.name}, time_column: time, targets: [y]}}\nevaluate: {{season: 24}}\n")
        wall([str(exe), "window-preview", str(cfg)])
        times = [wall([str(exe), "window-preview", str(cfg)]) for _ in range(runs)]
        out.append({"rows": rows, "mib": csv.stat().st_size / 2**20, "s": statistics.median(times)})
        print(f"window-preview, {rows:9,d} rows ({out[-1]['mib']:.1f} MiB): median {out[-1]['s']:.3f} s", flush=True)
    return out


def readers(work: Path, sizes: list[int], runs: int) -> list[dict[str, float]]:
    """read_tables on one file with the csv module and with pandas, each in a fresh process, interleaved."""
    out = []
    for rows in sizes:
        csv = work / f"reader_{rows}.csv"
        hourly_csv(csv, rows)
        light, pandas = [], []
        for _ in range(runs):
            for arm, threshold in ((light, 10**15), (pandas, 0)):
                proc = subprocess.run(
                    [sys.executable, "-c", READ_ONE, str(csv), str(threshold)], capture_output=True, text=True, env=ENV
                )
                arm.append(float(proc.stdout))
        out.append({"rows": rows, "bytes": csv.stat().st_size, "light": statistics.median(light),
                    "pandas": statistics.median(pandas)})  # fmt: skip
        print(f"read_tables, {out[-1]['bytes'] / 2**20:.1f} MiB: csv module {out[-1]['light']:.3f} s, pandas "
              f"{out[-1]['pandas']:.3f} s (medians, import of pandas included)", flush=True)  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="2 runs per command; the report is built, not written")
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
    import tempfile

    from seqcast.read import _PANDAS_ABOVE

    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        long = long_series(exe, Path(tmp), LONG_ROWS[:2] if args.smoke else LONG_ROWS, 2 if args.smoke else 5)
        reads = readers(Path(tmp), READER_ROWS[:2] if args.smoke else READER_ROWS, 2 if args.smoke else 5)
    light_wins = [r["bytes"] for r in reads if r["light"] < r["pandas"]]
    pandas_wins = [r["bytes"] for r in reads if r["pandas"] <= r["light"]]
    threshold_ok = max(light_wins, default=0) <= _PANDAS_ABOVE <= min(pandas_wins, default=10**15)
    print(f"_PANDAS_ABOVE = {_PANDAS_ABOVE / 2**20:.0f} MiB: between the readers' crossing: {threshold_ok}")
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
    if not args.smoke:  # two small files say nothing about where pandas wins
        assert threshold_ok, "read._PANDAS_ABOVE is not where pandas starts to read faster than the csv module"
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    table = "\n".join(
        f"| `seqcast {' '.join(r['cmd'])}` | {statistics.median(r['times']):.3f} | "
        f"{', '.join(f'{t:.3f}' for t in r['times'])} | {verdict(statistics.median(r['times']) < 0.5)} | "
        f"{'yes: ' + ', '.join(r['heavy'][:3]) if r['heavy'] else 'no'} |"
        for r in results
    )
    floor_rows = "\n".join(f"| {k} | {statistics.median(ts):.3f} |" for k, ts in floor_times.items())
    long_rows = "\n".join(f"| {r['rows']:,} | {r['mib']:.1f} | {r['s']:.3f} |" for r in long)
    per_million = (long[-1]["s"] - long[0]["s"]) / ((long[-1]["rows"] - long[0]["rows"]) / 1e6)
    read_rows = "\n".join(
        f"| {r['bytes'] / 2**20:.1f} | {r['light']:.3f} | {r['pandas']:.3f} | "
        f"{'csv module' if r['bytes'] <= _PANDAS_ABOVE else 'pandas'} |"
        for r in reads
    )
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

Long series: `seqcast window-preview` on one hourly series (a daily sine with noise), 5 runs per size, medians.
It reads and checks the whole file, so it grows with the rows: about {per_million:.2f} s per million rows here.

| rows | CSV MiB | median s |
|---|---|---|
{long_rows}

The CSV reader: the csv module below `_PANDAS_ABOVE` = {_PANDAS_ABOVE / 2**20:.0f} MiB, pandas' C parser (in chunks
of rows) above it. `read_tables` alone, in a fresh process, 5 interleaved runs each, medians (pandas' import
included). The threshold lies where pandas starts to win: {verdict(threshold_ok)}.

| CSV MiB | csv module s | pandas s | seqcast uses |
|---|---|---|---|
{read_rows}

Import time of `seqcast {" ".join(slow["cmd"])}` (`python -X importtime`, one run; it adds its own overhead):
{total_us / 1e3:.0f} ms of imports in all.

| top-level import | cumulative ms |
|---|---|
{cum}

| module (own time only) | self ms |
|---|---|
{selft}
"""
    write_section("bench_cli", body, dry=args.smoke)


if __name__ == "__main__":
    main()
