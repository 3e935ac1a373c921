"""Run directories: built in a temporary folder, swapped into place only when complete, never over what a
user owns.

- A run directory holds the marker file `.seqcast-run`; `--overwrite` replaces only a folder that holds it
  (or an empty one), and never one that holds the config or the data.
- One `seqcast train` at a time per output.dir: an flock on `.<name>.lock` beside it.
- The swap is atomic where the kernel can exchange two folders (Linux renameat2 RENAME_EXCHANGE); elsewhere the
  old run is renamed aside first, and the next command that looks at the run puts it back if a crash came
  between the two renames (`recover`).
- Files and folders are created with the permissions the umask gives (tempfile's are 0600 / 0700).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import ctypes.util
import errno
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from seqcast.errors import STOP_SIGNALS, ConfigError, DataError, listed, wrote

RUN_FILES = (
    "model.keras", "config.yaml", "preprocess.json", "history.csv", "metrics.json", "calibration.json", "state.npz"
)  # fmt: skip
OPTIONAL = {"calibration.json", "state.npz"}  # a run without them forecasts from --data or its data file
MARKER = ".seqcast-run"
UPDATES = "updates.csv"  # seqcast update's log: one line per update (update.LOG)
OWN_FILES = frozenset({*RUN_FILES, MARKER, UPDATES})  # what a run directory holds of its own
# refit*: the checkpoint of training.refit's second fit, inside the first one's
CHECKPOINT_FILES = {"model.keras", "state.json", "best.npz", "refit", "refit.tmp", "refit.old", "run.json"}
CHECKPOINT_FILES |= {"data.json", "command.txt"}  # checkpoint.DATA_STAMP and COMMAND_STAMP, written before training
LATEST = Path("runs") / "latest"
TMP_SUFFIX = ".seqcast-tmp"  # an atomic write's temporary file: .<name>.<pid>-<host>.<random>.seqcast-tmp
# the host in the names of what a process leaves beside a run or file while it writes (a short hash, no dots or
# dashes): a folder shared by hosts holds other hosts' processes, whose pids mean nothing here
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def honour_umask(path: Path, directory: bool = False) -> None:
    """Give a file (0666) or folder (0777) made by tempfile the permissions the umask allows."""
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())


def checkpoint_dir(target: Path) -> Path:
    """Where training keeps its per-epoch checkpoint: a hidden sibling, never inside the run directory."""
    return target.parent / f".{target.name}.checkpoint"


# `seqcast train` as the command line gave it (the config and its --set options, quoted for a shell); the CLI sets
# it for the duration of a train, so that a resume hint can be copied as it is. Without it: CONFIG.
TRAIN_COMMAND: contextvars.ContextVar[str] = contextvars.ContextVar("train_command", default="seqcast train CONFIG")


COMMAND_STAMP = "command.txt"  # in a checkpoint folder: the train command that wrote it (TRAIN_COMMAND)


def resume_command(checkpoint: Path, kept: Path | None = None) -> str:
    """The command that continues from a checkpoint: the train command that wrote it (its COMMAND_STAMP, else
    TRAIN_COMMAND) with --resume (of `kept` instead: the folder a resumed training resumed, when it saved nothing
    since). A run's checkpoint names the run it was writing, which may not be the config's output.dir (train
    --output-dir DIR): --output-dir says it, and --overwrite where an older run is still there (the interrupted one
    was to replace it)."""
    try:  # the interrupted training's own config and --set options, which a resume must repeat
        given = (checkpoint / COMMAND_STAMP).read_text(encoding="utf-8").strip() or TRAIN_COMMAND.get()
    except (OSError, UnicodeDecodeError):  # a checkpoint from before it: this command's
        given = TRAIN_COMMAND.get()
    import shlex  # the paths as a shell reads them back: spaces, quotes and $ in a folder's name are its own

    command = f"{given} --resume {shlex.quote(str(kept or checkpoint))}"
    name, suffix = checkpoint.name, ".checkpoint"
    if name.startswith(".") and name.endswith(suffix) and len(name) > len(suffix) + 1:
        target = checkpoint.parent / name[1 : -len(suffix)]
        command += f" --output-dir {shlex.quote(str(target))}" + (" --overwrite" if is_run(target) else "")
    return command


def is_run(path: Path) -> bool:
    """A folder seqcast wrote as a run directory (it holds the marker)."""
    return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()


def contains(folder: Path, path: Path) -> bool:
    folder, path = folder.resolve(), path.resolve()
    return path == folder or folder in path.parents


def check_target(target: Path, overwrite: bool, protected: dict[str, Path] | None = None) -> None:
    """Refuse an output.dir that train must not write (exit 2), before anything is trained. A file or a symbolic
    link is never replaced; a non-empty folder only with --overwrite, only if seqcast wrote it (the marker), and
    never when it holds one of `protected` ({"the config": path, "the data": path}) or the current directory."""
    recover(target)
    if target.is_symlink():
        raise ConfigError(
            f"{target} is a symbolic link{'' if target.exists() else ' to nothing'}: seqcast writes a run into a "
            "real folder only",
            where="output.dir",
            hint="choose another --output-dir",
        )
    if target.exists() and not target.is_dir():
        raise ConfigError(
            f"{target} is a file, not a run directory", where="output.dir", hint="choose another --output-dir"
        )
    for what, path in {**(protected or {}), "the current directory": Path.cwd()}.items():
        if contains(target, path):
            raise ConfigError(
                f"{target} holds {what} ({path}): a run directory is replaced as a whole, so it cannot go there",
                where="output.dir",
                hint="write the run into a folder of its own, such as runs/<name>",
            )
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not overwrite:
        raise ConfigError(
            f"the run directory {target} already exists and is not empty",
            where="output.dir",
            hint="pass --overwrite to replace it once the new run is complete, or choose another --output-dir",
        )
    if not is_run(target):
        raise ConfigError(
            f"{target} is not a seqcast run directory (it has no {MARKER} file): --overwrite replaces only runs "
            "seqcast wrote",
            where="output.dir",
            hint="choose another --output-dir, or move the folder's files away first",
        )
    theirs = sorted(p.name for p in target.iterdir() if not _seqcast_file(p.name, target))
    if theirs:  # a forecast or plot the user saved into the run: replacing the run would delete it
        shown = listed(theirs, quote=False)
        raise ConfigError(
            f"{target} holds files seqcast did not write ({shown}): --overwrite replaces the run as a whole and "
            "would delete them",
            where="output.dir",
            hint="move them out of the run directory first, or choose another --output-dir",
        )


def _seqcast_file(name: str, run: Path) -> bool:
    """A file a run directory holds from train, evaluate or update (or a temporary file of their atomic writes);
    `logs`, training.tensorboard's; `latest`, runs/latest when the run is runs itself (--output-dir runs)."""
    if name == "logs" and (run / name).is_dir():
        with contextlib.suppress(OSError, ValueError, yaml.YAMLError, TypeError, KeyError):  # the run's own config
            return yaml.safe_load((run / "config.yaml").read_text())["training"]["tensorboard"] is True
    tmp, link = name.endswith(TMP_SUFFIX) and any(name.startswith(f".{f}.") for f in OWN_FILES), run / name
    return name in OWN_FILES or tmp or name == "latest" and link.is_symlink() and link.exists() and run.samefile(link)


def prepare_parent(target: Path) -> None:
    """Create the folder the run goes into, or say why it cannot be (exit 1) before anything is trained."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in [target.parent, *target.parent.parents] if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file" if blocker is not None else (exc.strerror or str(exc))
        raise DataError(f"cannot create the folder for the run: {why}", where=str(target.parent)) from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise DataError("cannot write the run there: permission denied", where=str(target.parent))


@contextlib.contextmanager
def lock(target: Path, command: str = "train") -> Iterator[None]:
    """Hold the lock of output.dir: a second `seqcast train` (or `update`) into it stops with a message naming the
    first, its process and command (and its host, when it is another machine's: a shared folder)."""
    import fcntl

    path = target.parent / f".{target.name}.lock"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise DataError(f"cannot write the run there: {exc.strerror or exc}", where=str(target.parent)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, other, host = [*os.pread(fd, 320, 0).decode(errors="replace").split(None, 2), "", "", ""][:3]
            os.close(fd)
            on = f" on {host.strip()}" if host.strip() not in ("", socket.gethostname()) else ""  # a shared folder
            raise DataError(
                f"another seqcast {other or 'train'} (process {pid or '?'}{on}) is writing this run directory",
                where=str(target),
                hint="wait for it to finish" + (", or choose another --output-dir" if command == "train" else ""),
            ) from None
        try:  # the file may have been removed by the holder we waited for: lock the one that is there now
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command} {socket.gethostname()}".encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def recover(target: Path) -> None:
    """Undo a crash in the middle of a swap: put the old run back if the new one never arrived; drop the rest. Only
    folders of the swap's own names beside the target are touched (hidden; the old run holds the marker)."""
    if not target.parent.is_dir():
        return
    for p in sorted(target.parent.glob(f".{target.name}.old-*")):  # a live process is mid-swap: its folders are its own
        if not owner_gone(p.name, r".+\.old-(\d+)(?:-([0-9a-f]{8}))?"):  # .run.old-backup: a user's
            continue
        if is_run(p) and not target.exists() and not target.is_symlink():
            p.rename(target)
        else:
            shutil.rmtree(p, ignore_errors=True)
    for p in target.parent.glob(f".{target.name}.partial-*"):  # staging's: .run.partial-<pid>-<host>_<random>
        if not p.is_dir() or not owner_gone(p.name, r".+\.partial-(\d+)(?:-([0-9a-f]{8}))?_\w+"):
            continue
        if (p / MARKER).is_file() or not any(p.iterdir()):  # begun (the marker is its first file), or empty
            shutil.rmtree(p, ignore_errors=True)


def owner_gone(name: str, pattern: str) -> bool:
    """Is `name` a staging folder's, an aside folder's or a temporary file's (`pattern`: its pid, then its host)
    whose process no longer runs on this host? Another host's is never gone from here; a name without one (an older
    seqcast's folder) is this one's."""
    match = re.fullmatch(pattern, name)
    return match is not None and match[2] in (None, HOST) and process_gone(int(match[1]))


def process_gone(pid: int) -> bool:
    """Does the process `pid` no longer run (here: a pid names a process of this host)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_fdcwd = -100
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is over: a swap is never cut in two. Their handlers are swapped
    for one that notes the signal, and the first noted is raised again at the end, to the handlers put back.
    (Blocking them with pthread_sigmask held nothing once other threads existed, BLAS's or TensorFlow's: the kernel
    hands a process's signal to any thread that does not block it, and Python runs its handler in the main thread
    all the same.) Outside the main thread, which alone runs handlers, it holds nothing."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    old = {sig: signal.signal(sig, lambda signum, frame: noted.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if noted:
            signal.raise_signal(noted[0])


@contextlib.contextmanager
def staging(
    target: Path,
    overwrite: bool,
    protected: dict[str, Path] | None = None,
    committed: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """A temporary folder beside target; on success it replaces target as a whole, on failure it is removed.

    Call under lock(target). The old run, if any, is replaced only once the new one is complete; a failure to
    write (a full disk, permissions) is a DataError naming the folder, and leaves the old run as it was. The
    target is checked again just before the swap (a file saved into the run while it trained, a folder made
    where none was): refused then, the complete new run is kept beside it under a name of its own (_keep).
    `committed(where)` runs once the complete run is in place (or kept), with Ctrl-C held as for the swap: what a
    complete run must do at once (its checkpoint removed, runs/latest).
    """
    check_target(target, overwrite, protected)
    prepare_parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-{os.getpid()}-{HOST}_", dir=target.parent))
        honour_umask(tmp, directory=True)
        (tmp / MARKER).write_text(json.dumps({"seqcast": "run directory", "pid": os.getpid()}) + "\n")
    except OSError as exc:
        raise DataError(f"cannot write the run directory: {exc.strerror or exc}", where=str(target.parent)) from None
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(
            f"cannot write the run: {exc.strerror or exc}"
            + (f" ({exc.filename})" if getattr(exc, "filename", None) else "")
            + (" — the existing run is unchanged" if target.exists() else " — nothing was written"),
            where=str(target),
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with signals_held():
        try:
            check_target(target, overwrite, protected)  # again: the folder may have changed while training
            _commit(tmp, target)
        except (ConfigError, OSError) as exc:
            why = exc.message if isinstance(exc, ConfigError) else f"cannot put it in place: {exc.strerror or exc}"
            try:
                kept = _keep(tmp, target)
            except OSError:  # the folder refuses a rename too: the run stays where it was built
                kept = tmp
            wrote(kept)
            if committed is not None:
                committed(kept)
            raise DataError(
                f"the new run is complete, but {why}; it is kept as {kept}, and {target} is as it was",
                where=str(target),
                hint=f"forecast with --run {kept} (runs/latest names it), or move your files away and train again",
            ) from None
        wrote(target)
        if committed is not None:
            committed(target)


def _keep(tmp: Path, target: Path) -> Path:
    """The complete run `tmp` under a visible name beside target (target-2, target-3, ...), for a swap refused."""
    for k in itertools.count(2):
        kept = target.with_name(f"{target.name}-{k}")
        if not kept.exists() and not kept.is_symlink():
            tmp.rename(kept)
            return kept
    raise AssertionError("unreachable")


def _commit(tmp: Path, target: Path) -> None:
    """Put the complete run `tmp` where `target` is: one atomic step where possible."""
    if not target.exists():
        tmp.rename(target)
        return
    if _exchange(tmp, target):  # target is the new run now, tmp the old one
        shutil.rmtree(tmp, ignore_errors=True)
        return
    if not any(target.iterdir()):  # an empty folder: rename replaces it atomically
        tmp.rename(target)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}-{HOST}"
    target.rename(old)  # a crash here leaves `old` beside no target: recover() puts it back
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def point_latest(target: Path, base: Path | None = None) -> str | None:
    """Make runs/latest (in the current directory) name the newest run; a note when it cannot (never fatal)."""
    latest = (base or Path.cwd()) / LATEST
    try:
        latest.parent.mkdir(parents=True, exist_ok=True)
        tmp = latest.parent / f".latest-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            rel = os.path.relpath(target.resolve(), latest.parent.resolve())
            tmp.symlink_to(rel, target_is_directory=True)
        except OSError:  # no symlinks here: a one-line text file names the run
            tmp.write_text(str(target.resolve()) + "\n")
        ours = latest.is_symlink() or not latest.exists() or (latest.is_file() and _names_a_run(latest))
        if not ours:  # a folder, or a file that is not the one-line pointer written above
            tmp.unlink()
            what = "a run directory (--output-dir runs/latest)" if is_run(latest) else "a folder of yours"
            what = what if latest.is_dir() else "a file of yours"
            return f"{latest} is {what}, so it was left alone: pass --run {target} to use this run"
        os.replace(tmp, latest)
    except OSError as exc:
        return f"could not point {latest} at the new run ({exc.strerror or exc}): pass --run {target} to use it"
    return None


def _names_a_run(path: Path) -> bool:
    """Is `path` the one-line text file point_latest writes where there are no symlinks: a run directory's path?"""
    try:
        text = path.read_bytes()[:4097].decode()
    except (OSError, UnicodeDecodeError):
        return False
    named = Path(text.strip())
    one_path = len(text) <= 4096 and text.count("\n") <= 1 and named.is_absolute()
    return one_path and (is_run(named) or not named.exists())  # a run, or one removed since


def resolve_run(run: Path | None) -> Path:
    """The run directory for --run (default runs/latest), checked to be complete."""
    path = run if run is not None else LATEST
    if path.name == LATEST.name and path.is_file() and not path.is_symlink() and _names_a_run(path):  # the pointer
        path = Path(path.read_text().strip())  # file written where there are no symlinks, by any path to it
    recover(path)
    if path.is_symlink() and not path.exists():  # the run it names may be the one a crash left aside
        recover(Path(os.path.realpath(path)))
    if not path.exists():
        if path.is_symlink():  # runs/latest naming a run that was removed (or moved) since
            raise ConfigError(f"{path} points to {os.readlink(path)}, which no longer exists", where="--run",
                              hint="train again (seqcast train CONFIG) or pass --run DIR")  # fmt: skip
        hint = "train a model first (seqcast train CONFIG) or pass --run DIR" if run is None else None
        raise ConfigError(f"run directory not found: {path}", where="--run", hint=hint)
    if not path.is_dir():
        raise ConfigError(f"{path} is not a run directory", where="--run")
    present = [f for f in RUN_FILES if (path / f).exists()]
    if not present and not is_run(path):  # a folder of the user's own
        raise ConfigError(
            f"{path} is not a run directory: it holds none of a run's files",
            where="--run",
            hint="pass a folder that seqcast train wrote, such as runs/<config name>",
        )
    missing = [f for f in RUN_FILES if f not in OPTIONAL and f not in present]
    if missing:
        raise DataError(f"the run directory is incomplete: {', '.join(missing)} missing", where=str(path))
    return path.resolve()
