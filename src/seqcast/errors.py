"""The one error type library code raises; only the CLI turns it into an exit code."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any


class SeqcastError(Exception):
    """A fault the user can fix. `where` names the file, key, column or row at fault."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """The message as the command line prints it: where, what, and the hint."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class Interrupted(SeqcastError):
    """Ctrl-C or SIGTERM: training stopped after the current batch (fit's; seqcast.fit.Interrupted too)."""

    exit_code = 130


def some(names: list[str], first: int = 5) -> str:
    """Series names as a list shows them, the first few and how many more ("['a', 'b'] and 7 more"): a message
    that names five of eight would have them fixed and the command run again, three times."""
    return f"{names[:first]}" + (f" and {len(names) - first:,} more" if len(names) > first else "")


def listed(names: list[str], first: int = 5, quote: bool = True, sep: str = ", ") -> str:
    """Names as a message lists them: the first few (quoted, unless they are phrases or paths already), then how
    many more ("'a', 'b' and 7 more")."""
    shown = sep.join(map(repr, names[:first]) if quote else names[:first])
    return shown + (f" and {len(names) - first:,} more" if len(names) > first else "")


def located(exc: SeqcastError, where: str) -> DataError:
    """`exc` as a data error placed in `where` (a file) when it named no place of its own: a layout's or an
    engine's error, which knows the series and row but not the file the command read them from."""
    return DataError(exc.message, where=exc.where or where, hint=exc.hint)


class ConfigError(SeqcastError):
    """A usage or config error: exit status 2."""

    exit_code = 2


class DataError(SeqcastError):
    """A data or runtime error: exit status 1."""

    exit_code = 1


class MissingColumn(ConfigError):
    """A column the config names is not in the file: a config error while training (exit 2); a data error (exit 1)
    where a command's file lacks a column of the run (history.columns_of)."""

    def __init__(self, column: str, key: str, have: list[str], source: str) -> None:
        self.column, self.key, self.have, self.source = column, key, have, source
        super().__init__(
            f"{column!r} is not a column of {source}; its columns are {have}", where=key, hint=near(column, have)
        )


class NoRows(DataError):
    """A file with a header and no row under it; `columns`: the header's names (an update with nothing new)."""

    def __init__(self, columns: list[str], where: str) -> None:
        self.columns = columns
        super().__init__("the file has a header but no rows", where=where)


class EmptyFile(DataError):
    """A file of no bytes, or blank lines only: in a folder, one not yet written, skipped as one with a header only
    is (a job that creates today's file before it writes it)."""

    def __init__(self, where: str) -> None:
        super().__init__("the file is empty", where=where)


class TimesError(DataError):
    """A data error about a series' times. `clock`: a cause read off the times themselves (timeaxis.clock_hint: an
    hour a daylight-saving change skips or repeats, years and months written as one number), the hint in every
    command; else `hint`, for training, which a command reading a file for a trained run replaces with its own
    (history.columns_of)."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None, clock: str | None = None):
        self.clock = clock
        super().__init__(message, where=where, hint=clock or hint)


class MissingValues(TimesError):
    """Missing rows or values where data.missing is `error`. Its hint, to set data.missing, is for training: a
    command reading a file for a trained run, which cannot change the key, gives its own (history.columns_of)."""


class BlankValues(MissingValues):
    """Missing values in rows that are there (blank, NaN or infinite cells), not missing rows; `rows` says where
    ('at line(s) [5]'), for a message naming several series (missing.Refused)."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None, rows: str = ""):
        self.rows = rows
        super().__init__(message, where=where, hint=hint)


class OffGrid(DataError):
    """Rows of one series off the time grid its step draws. Its hint is data.resample, a training key; a command
    reading a file for a trained run gives its own (history.columns_of)."""


class DuplicateTimes(TimesError):
    """Two rows of one series at one timestamp. Its hint names data keys, for training; a command reading a file
    for a trained run gives its own (history.columns_of)."""


def known(exc: Exception) -> Exception:
    """A system error a path the user gave causes before any file is touched (a name too long for the file system,
    a loop of links) as the usage error it is, naming the path; any other exception as it is."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.ELOOP) and exc.filename:
        name = str(exc.filename)
        shown = name if len(name) <= 100 else f"{name[:60]}...{name[-30:]} ({len(name)} characters)"
        long = exc.errno == errno.ENAMETOOLONG
        fix = "give a shorter path (a name has at most 255 bytes)" if long else "give a path whose links lead to a file"
        return ConfigError(f"{shown}: {exc.strerror}", hint=fix)
    return exc


def same_but_spacing(name: str, have: list[str]) -> list[str]:
    """The names of `have` that are `name` but for case and spacing ('Tank A' for 'tank a '); a close spelling is
    near's, for columns only."""
    return [h for h in have if "".join(h.split()).lower() == "".join(name.split()).lower()]


def same_series(name: str, have: list[str]) -> list[str]:
    """The series names of `have` that are `name` but for case and spacing, or for a number's leading zeros ('101'
    for '0101': a spreadsheet drops them)."""
    return [h for h in have if _series_key(h) == _series_key(name)]


def _series_key(name: str) -> str:
    """A series name without case, spacing, a number's leading zeros or a trailing .0 (a number: ASCII digits only,
    not '²', which str.isdigit takes): names with one key are the same series written two ways."""
    k = "".join(name.split()).lower()
    k = k[:-2] if k.endswith(".0") and k[:-2].isascii() and k[:-2].isdigit() else k  # 7.0: pandas' float ids
    return (k.lstrip("0") or "0") if k.isascii() and k.isdigit() else k


def series_twins(names: list[str]) -> dict[str, list[str]]:
    """Each name of `names` that others are but for case, spacing or leading zeros (as same_series), with those
    others: 'North' and 'north ' in one file are two series, most likely meant as one. One pass over the names."""
    by: dict[str, list[str]] = {}
    for n in names:
        by.setdefault(_series_key(n), []).append(n)
    return {n: [m for m in group if m != n] for group in by.values() if len(group) > 1 for n in group}


def near(column: str, have: list[str]) -> str | None:
    """'did you mean ...?' for a column named with another case or spacing, or a close spelling."""
    import difflib

    same = same_but_spacing(column, have)
    close = same or difflib.get_close_matches(column, have, n=1, cutoff=0.8)
    if not close and len(column) >= 2:  # 'store' for 'store_id', 'date' for 'order_date': a whole part of a name
        close = [h for h in have if column.lower() in h.lower().replace("-", "_").replace(" ", "_").split("_")][:1]
    if not close and "," in column:  # --set data.targets=sales,promo: one name with a comma, not a list
        return f"a list of columns is written in brackets: [{column}]"
    return f"did you mean {close[0]!r}?" if close else None


# The signals that stop a command: SIGTERM; Ctrl-C's SIGINT and SIGHUP (a terminal or SSH session closed) unless
# the command was started ignoring them (nohup ignores SIGHUP; a script's background job, `seqcast train &`, SIGINT,
# which Python too leaves ignored), read when seqcast starts
STOP_SIGNALS: tuple[int, ...] = tuple(
    sig
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
    if sig is not None and (sig == signal.SIGTERM or signal.getsignal(sig) is not signal.SIG_IGN)
)
_signalled: list[int] = []  # the signals the CLI's handler caught (seqcast.cli.guarded), in order
# The user's outputs the command has written whole so far, in order (the files of files.together, a run directory
# swapped into place): a Ctrl-C or SIGTERM after that names them (seqcast.cli.guarded), since they stay written.
committed: list[str] = []


def wrote(*paths: object) -> None:
    """Record outputs written whole (committed); the last few only, for a library caller never clears them."""
    committed.extend(map(str, paths))
    del committed[:-32]


def on_signal(signum: int, frame: object) -> None:
    """The CLI's handler for Ctrl-C and SIGTERM: remember the signal, then stop as Ctrl-C does."""
    _signalled.append(signum)
    raise KeyboardInterrupt


def check_interrupted() -> None:
    """Stop (KeyboardInterrupt) if the CLI caught a signal that a library then swallowed: pandas' C parser turns
    the KeyboardInterrupt of a Ctrl-C into a ParserError, or drops it and reads on."""
    if _signalled:
        raise KeyboardInterrupt


def quiet_unraisable(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """sys.unraisablehook without the KeyboardInterrupt or SystemExit that a stop signal's handler raised inside a
    __del__ (TensorFlow's): Python drops it and prints 'Exception ignored in ...' with its traceback, while the
    signal is seqcast's to handle (a fit stops after its batch; a command says 'interrupted' once)."""

    def quiet(unraisable: Any) -> object:
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, SystemExit)):
            return None
        return hook(unraisable)

    return quiet
