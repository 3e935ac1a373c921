"""What every benchmark script shares: the machine line, its section of RESULTS.md, timed child processes.

The scripts run as `python bench/bench_x.py`, so this folder is on sys.path and `from _common import ...` works.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3"}


def version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "not installed"


def machine(*packages: str) -> str:
    """One line: CPU, cores, memory, versions (numpy, TensorFlow, Keras and `packages`) and the time of the run."""
    mem, cpu = "?", platform.machine()
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        mem = f"{int(next(ln for ln in lines if ln.startswith('MemTotal')).split()[1]) / 2**20:.1f} GiB"
        info = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name"))
    except (OSError, StopIteration, ValueError):
        pass
    extra = "".join(f", {name} {version(name)}" for name in packages)
    return (
        f"Machine: {cpu}, nproc {len(os.sched_getaffinity(0))}, memory {mem}, {platform.machine()}; "
        f"python {platform.python_version()}, numpy {version('numpy')}, tensorflow {version('tensorflow')}, "
        f"keras {version('keras')}{extra}; {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}"
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


def entry_point() -> list[str]:
    """The installed `seqcast` script next to the running interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "seqcast"
    return [str(script)] if script.exists() else [sys.executable, "-m", "seqcast"]


def run_measured(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB of that child alone, stdout); a failing command raises with its stderr.

    The child's output goes to temporary files and the child is reaped with os.wait4, whose rusage is the
    child's own (RUSAGE_CHILDREN would be the largest of all children so far).
    """
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, stdout


def run_timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, str]:
    """(wall seconds, stdout) of a child process."""
    seconds, _, out = run_measured(cmd, env, cwd)
    return seconds, out
