"""Run directories: built in a temporary folder, renamed into place only when complete."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seqcast.errors import ConfigError, DataError

RUN_FILES = ("model.keras", "config.yaml", "preprocess.json", "history.csv", "metrics.json")
LATEST = Path("runs") / "latest"


def checkpoint_dir(target: Path) -> Path:
    """Where training keeps its per-epoch checkpoint: a hidden sibling, never inside the run directory."""
    return target.parent / f".{target.name}.checkpoint"


def check_target(target: Path, overwrite: bool) -> None:
    """Refuse a non-empty run directory unless --overwrite (exit 2)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not overwrite:
        raise ConfigError(
            f"the run directory {target} already exists and is not empty",
            where="output.dir",
            hint="pass --overwrite to replace it once the new run is complete, or choose another --output-dir",
        )


@contextlib.contextmanager
def staging(target: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary folder beside target; on success it replaces target, on failure it is removed."""
    check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()


def point_latest(target: Path, base: Path | None = None) -> None:
    """Make runs/latest (in the current directory) name the newest run."""
    latest = (base or Path.cwd()) / LATEST
    latest.parent.mkdir(parents=True, exist_ok=True)
    tmp = latest.parent / f".latest-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        rel = os.path.relpath(target.resolve(), latest.parent.resolve())
        tmp.symlink_to(rel, target_is_directory=True)
    except OSError:  # no symlinks here: a one-line text file names the run
        tmp.write_text(str(target.resolve()) + "\n")
    if latest.is_dir() and not latest.is_symlink():
        tmp.unlink()
        return  # a real folder named 'latest' is the user's: leave it
    os.replace(tmp, latest)


def resolve_run(run: Path | None) -> Path:
    """The run directory for --run (default runs/latest), checked to be complete."""
    path = run if run is not None else LATEST
    if path == LATEST and path.is_file() and not path.is_symlink():
        path = Path(path.read_text().strip())
    if not path.exists():
        hint = "train a model first (seqcast train CONFIG) or pass --run DIR" if run is None else None
        raise ConfigError(f"run directory not found: {path}", where="--run", hint=hint)
    if not path.is_dir():
        raise ConfigError(f"{path} is not a run directory", where="--run")
    missing = [f for f in RUN_FILES if not (path / f).exists()]
    if missing:
        raise DataError(f"the run directory is incomplete: {', '.join(missing)} missing", where=str(path))
    return path.resolve()


def write_json(path: Path, doc: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename: `path` is never half written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise DataError(f"cannot write the file: {exc.strerror or exc}", where=str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise DataError(
                f"cannot write the file: {exc.strerror or exc} (nothing was written)", where=str(path)
            ) from None
        raise
