"""The files a command writes for the user, and stdout: atomically (never half written), together (a command
that writes several changes none when one fails), never over what seqcast reads (a run's own files, the data),
and, when a write fails, one message naming the file or stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from seqcast.errors import ConfigError, DataError, check_interrupted, wrote
from seqcast.rundir import HOST, OWN_FILES, TMP_SUFFIX, contains, is_run, owner_gone, umask


def check_output(path: Path, option: str, protected: dict[str, Path], also: dict[str, Path] | None = None) -> None:
    """Refuse (exit 2) an output file that would replace something seqcast reads: a run directory's own file
    (model.keras, state.npz, ...), one of `protected` ({"the data": path, ...}: a file, or anything inside a data
    folder), or the file another option writes (`also`: {"--output": path}). A file of the user's inside a run
    directory (a forecast written there before) is theirs to replace. A --plot's suffix must name a format
    (plot_format), and an --output's a table's (OUTPUT_SUFFIXES); an existing file without a suffix is refused."""
    real = Path(os.path.realpath(path))
    for option_b, other in (also or {}).items():
        if real == Path(os.path.realpath(other)):
            raise ConfigError(f"{path} is also the file of {option_b}: one would replace the other", where=option)
    if real.name in OWN_FILES and is_run(real.parent):
        raise ConfigError(
            f"{path} is a file of the run directory {real.parent}: writing there would damage the run",
            where=option,
            hint="write to a new file",
        )
    if any(p.name.endswith(".checkpoint") and p.name.startswith(".") for p in real.parents):
        raise ConfigError(f"{path} is inside a training's checkpoint ({real.parent}): writing there would damage it",
                          where=option, hint="write to a new file outside it")  # fmt: skip
    if Path(path).is_symlink() and not real.exists():  # written through, it would make folders where it points
        raise ConfigError(f"{path} is a symbolic link to nothing ({real})", where=option, hint="name a real file")
    for what, owned in protected.items():
        if contains(owned, real) if owned.is_dir() else real == Path(os.path.realpath(owned)):
            raise ConfigError(f"{path} is {what} ({owned}): writing there would replace it", where=option)
    if str(path) != "-" and real.is_dir():  # before any work, not when written at the end (--plot -: plot_format's)
        name = "plot.png" if option == "--plot" else "forecast.csv"
        beside = Path(path).parent / f"{real.name}-{name}"  # a run's folder holds its own files (train --overwrite)
        raise ConfigError(f"{path} is a folder, not a file", where=option,
                          hint=f"name a file, such as {beside if is_run(real) else Path(path) / name}")  # fmt: skip
    suffix = real.suffix.lower()
    if option == "--plot":
        plot_format(path)
    elif suffix not in OUTPUT_SUFFIXES:  # a .xlsx would get CSV text under its name (--output -: never passed here)
        raise ConfigError(
            f"{path}: a forecast is written as CSV (.csv, .txt or no suffix) or Parquet (.parquet, .pq), as its "
            f"suffix says, and {suffix} is none of them",
            where=option,
            hint=f"name the file {_bare(real, OUTPUT_SUFFIXES)}.csv (or .parquet)",
        )
    if real.is_file() and not suffix:  # a Makefile, NOTES: the user's own
        raise ConfigError(
            f"{path} exists and has no suffix, as files of one's own (a Makefile, NOTES) have: the "
            f"{'plot' if option == '--plot' else 'forecast'} would replace it",
            where=option,
            hint=f"name a new file, such as {real.name}.{'png' if option == '--plot' else 'csv'}",
        )


PARQUET = (".parquet", ".pq")  # table.write_table's suffixes for Parquet; any other is written as CSV
OUTPUT_SUFFIXES = ("", ".csv", ".txt", *PARQUET)  # what --output writes
PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg"}


def existing(*paths: Path | str | None) -> set[str]:
    """The paths that name a file now: a command that writes over one says it replaced it."""
    return {str(p) for p in paths if p is not None and Path(p).is_file()}


def _bare(path: Path, kept: Collection[str]) -> str:
    """A file's name for a hint without its suffix, and without a format's before it: f.csv.gz is f, not f.csv."""
    stem = Path(path.stem)
    return stem.stem if stem.suffix.lower() in kept and stem.suffix else str(stem)


def plot_format(path: Path | str) -> str:
    """The image format a --plot file's suffix names (no suffix: PNG); another suffix is refused (exit 2)."""
    if str(path) == "-":  # stdout for --output; an image on a terminal is no use, and a file named '-' a trap
        raise ConfigError("a plot is written to an image file, not to stdout (-)", where="--plot",
                          hint="name the file, such as plot.png")  # fmt: skip
    suffix = Path(path).suffix.lower()
    if suffix and suffix not in PLOT_FORMATS:
        raise ConfigError(
            f"{path}: a plot is written as PNG, SVG, PDF or JPEG, as its suffix says, and {suffix} is none of them",
            where="--plot",
            hint=f"name the file {_bare(Path(path), PLOT_FORMATS)}.png (or .svg, .pdf, .jpg)",
        )
    return PLOT_FORMATS.get(suffix, "png")


_staged: list[tuple[str, Path]] | None = None  # atomic writes waiting for the end of a `together` block
_made: list[Path] = []  # the folders those writes made, removed again when the block fails


@contextlib.contextmanager
def together() -> Iterator[None]:
    """Every atomic_write inside the block is written to its temporary file at once but renamed into place only
    when the block ends without an error: a command that writes several files (a forecast and its plot)
    changes none of them when one fails, even when a rename fails after others (`_commit`), and the folders it
    made for them go again. Nested blocks commit with the outermost."""
    global _staged
    if _staged is not None:
        yield
        return
    _staged, _made[:] = [], []
    try:
        yield
        check_interrupted()  # a Ctrl-C or SIGTERM that a library swallowed meanwhile: nothing changes
        _commit(_staged)
    except BaseException:
        for tmp, _ in _staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for folder in reversed(_made):  # deepest first; a folder that holds anything else stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        _staged = None


def _commit(staged: list[tuple[str, Path]]) -> None:
    """Rename every staged file into place, or none: a file already replaced when a later rename fails gets its
    old content back (kept meanwhile as a hard link beside it), and a file that did not exist goes again."""
    kept: dict[Path, str] = {}  # old content of a path about to be replaced, as a hard link
    replaced: list[tuple[Path, bool]] = []  # each path renamed into place, and whether it is new
    try:
        for tmp, path in staged:
            new = not os.path.lexists(path)
            if not new:
                with contextlib.suppress(OSError):  # a file system without hard links: no way back for this one
                    os.link(path, f"{tmp}.old", follow_symlinks=False)
                    kept[path] = f"{tmp}.old"
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise DataError(f"cannot write the file: {exc.strerror or exc}", where=str(path)) from None
            replaced.append((path, new))
        wrote(*(path for _, path in staged))
    except BaseException:
        for path, new in replaced:
            with contextlib.suppress(OSError):
                if path in kept:
                    os.replace(kept.pop(path), path)
                elif new:
                    path.unlink()
        raise
    finally:
        for old in kept.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old)


def write_json(path: Path, doc: Any) -> None:
    """Write strict JSON atomically (temporary file, then rename); a file that holds it already is left alone (a
    read-only run directory can be evaluated at its own horizon)."""
    data = (strict_json(doc, indent=2) + "\n").encode()
    if not (path.is_file() and path.read_bytes() == data):
        atomic_write(path, data)


def strict_json(doc: Any, indent: int | None = None) -> str:
    """JSON that strict parsers read: a NaN or infinite number becomes null, with `<key>_why` beside it
    (unless the document already gives one)."""
    return json.dumps(_finite(doc), indent=indent, allow_nan=False)


def _finite(value: Any) -> Any:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            out[k] = _finite(v)
            if isinstance(v, float) and not math.isfinite(v) and f"{k}_why" not in value:
                out[f"{k}_why"] = "not a number" if math.isnan(v) else "infinite"
        return out
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _drop_stale(path: Path) -> None:
    """Delete the temporary files that writes of `path` by processes now gone left beside it (a write killed
    between its temporary file and the rename): only ours (.<name>.<pid>-<host>.<random>.seqcast-tmp), only of
    this host, and only where the process is no more; a file of a live writer, or of another host sharing the
    folder, is left alone."""
    if os.name != "posix":  # os.kill(pid, 0) asks whether a process lives on POSIX only
        return
    ours = re.escape(f".{path.name}.") + r"(\d+)-([0-9a-f]{8})\..*" + re.escape(TMP_SUFFIX)  # the host: required
    with contextlib.suppress(OSError):
        for leftover in path.parent.iterdir():
            if owner_gone(leftover.name, ours):
                with contextlib.suppress(OSError):
                    leftover.unlink()


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename: `path` is never half written.

    A symbolic link is followed (its target is replaced, the link kept); a path that is not a regular file,
    such as /dev/stdout or a pipe, is written directly. A new file gets the umask's permissions, a replaced one
    keeps its own.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file() and not path.is_dir():  # a device or a pipe: no rename possible
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise DataError(f"cannot write the file: {exc.strerror or exc}", where=str(path)) from None
        return
    if path.is_dir():
        raise DataError("cannot write the file: it is a folder (nothing was written)", where=str(path))
    try:
        if _staged is not None:
            _made.extend(p for p in reversed(path.parents) if not p.exists())
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.is_file() else 0o666 & ~umask()
        _drop_stale(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-{HOST}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() or p.is_symlink()), None)
        why = f"{blocker} is a file, not a folder" if blocker and not blocker.is_dir() else exc.strerror or exc
        raise DataError(f"cannot write the file: {why}", where=str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        if _staged is not None:  # inside `together`: renamed when the block ends
            _staged.append((tmp, path))
        else:
            check_interrupted()
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise DataError(
                f"cannot write the file: {exc.strerror or exc} (nothing was written)", where=str(path)
            ) from None
        raise


@contextlib.contextmanager
def naming_stdout() -> Iterator[None]:
    """A write to stdout that fails (a full disk) as one message naming stdout; a reader that went away stays a
    BrokenPipeError (the CLI stops quietly)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise DataError(f"cannot write: {exc.strerror or exc}", where="stdout") from None


class Stdout:
    """sys.stdout, whichever it is now (a test's capture too), as rich writes its tables to it."""

    def write(self, text: str) -> int:
        with naming_stdout():
            return sys.stdout.write(text)

    def flush(self) -> None:
        with naming_stdout():
            sys.stdout.flush()

    def isatty(self) -> bool:
        return sys.stdout.isatty()

    def fileno(self) -> int:
        return sys.stdout.fileno()

    @property
    def encoding(self) -> str:
        return getattr(sys.stdout, "encoding", None) or "utf-8"


STDOUT = Stdout()


def write_stdout(text: str) -> None:
    """A command's document (JSON, CSV, a path) on stdout, flushed now."""
    STDOUT.write(text)
    STDOUT.flush()
