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


def write_section(name: str, body: str, dry: bool = False) -> None:
    """Replace (or append) the section between the markers of `name` in bench/RESULTS.md.

    dry (a smoke run): the report was built, so its code ran; it is checked and nothing is written.
    """
    if dry:
        assert body.strip(), f"the {name} report is empty"
        print(f"smoke run OK: the {name} report built ({len(body.splitlines())} lines), nothing written")
        return
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# seqcast benchmarks\n\nEach section is written by its script.\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    print(f"wrote the {name} section of bench/RESULTS.md")


def entry_point() -> list[str]:
    """The installed `seqcast` script next to the running interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "seqcast"
    return [str(script)] if script.exists() else [sys.executable, "-m", "seqcast"]


# Linux counts in a child's ru_maxrss the memory of the process it was forked from (exec records the old
# address space's high-water mark), so a child of a benchmark that holds 200 MB reports at least 200 MB. The
# child is therefore started by a small launcher (python -S, about 10 MB), whose own child is the command; the
# launcher adds about 10 ms to the wall time.
LAUNCHER = """
import os, sys
out, cmd = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB of the command's process alone, stdout); a failing command raises with its
    stderr. The command runs under LAUNCHER (see above): its peak is its own, not this process's."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, tempfile.TemporaryDirectory() as tmp:
        rss = Path(tmp) / "maxrss"
        launch = [sys.executable, "-S", "-c", LAUNCHER, str(rss), *map(str, cmd)]
        t0 = time.perf_counter()
        proc = subprocess.run(launch, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=err, text=True)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{stderr[-3000:]}")
        peak_kib = int(rss.read_text())
    return seconds, peak_kib / 1024, stdout


def run_timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, str]:
    """(wall seconds, stdout) of a child process."""
    seconds, _, out = run_measured(cmd, env, cwd)
    return seconds, out
