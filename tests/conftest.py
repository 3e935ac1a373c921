"""Shared fixtures: tiny CSVs and configs written into tmp_path, series whose values equal their time index; a
signal sent to the test's own process."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml


def _terminal_signals() -> None:
    """The signals as a terminal's session has them, whatever started the suite: a shell script's background job
    starts with SIGINT ignored and nohup with SIGHUP ignored, which Python and seqcast (errors.STOP_SIGNALS, read
    when seqcast is imported, after this) keep ignoring, and the tests of Ctrl-C and hangups need them live, in
    this process and in the commands it starts."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


_terminal_signals()


@pytest.fixture(autouse=True)
def terminal_signals() -> None:
    """Every test starts with them so, whatever the test before left (cli.main ignores them after a success)."""
    _terminal_signals()


def index_csv(n: int, series: list[str] | None = None, start: int = 2000) -> str:
    """CSV `year[,s],y` whose value y equals the row position inside its series (years start, start+1, ...)."""
    if not series:
        return "year,y\n" + "".join(f"{start + i},{i}\n" for i in range(n))
    rows = [f"{start + i},{s},{i}\n" for s in series for i in range(n)]
    return "year,s,y\n" + "".join(rows)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def signal_self(sig: int, spins: int = 10**6) -> None:
    """Send `sig` to this process, then run `spins` empty loops: Python runs a signal's handler between two
    bytecodes, so it runs in here, and a handler that raises raises from this call."""
    os.kill(os.getpid(), sig)
    for _ in range(spins):
        pass


@pytest.fixture(autouse=True, scope="session")
def _session_working_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The module- and session-scoped fixtures, set up before any test's own folder (below), run in a folder of
    the session's: a run they train without --output-dir, and runs/latest, never land in the checkout."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("session-cwd"))
        yield


@pytest.fixture(autouse=True)
def _working_folder_of_its_own(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in an empty folder of its own: what a command writes into the current directory (runs/,
    runs/latest) lands there, never in the checkout the tests are run from, whose runs/latest is the user's."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(name="signal_self")
def signal_self_fixture() -> Callable[..., None]:
    """The signal_self helper: a signal that arrives at a chosen line of a test's stand-in code."""
    return signal_self


@pytest.fixture(name="index_csv")
def index_csv_fixture() -> Callable[..., str]:
    """The index_csv helper, for tests that build their own files."""
    return index_csv


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[..., Path]:
    """write_project(csv_text, name="cfg", **sections) writes data.csv and <name>.yaml into tmp_path.

    The config points at data.csv by a relative path; its `data` section defaults to the columns of
    index_csv (year, y); keyword arguments are merged into the config section by section. Returns the
    config's path.
    """

    def write(csv: str | None = None, name: str = "cfg", raw: str | None = None, **sections: Any) -> Path:
        (tmp_path / "data.csv").write_text(index_csv(40) if csv is None else csv)
        path = tmp_path / f"{name}.yaml"
        if raw is not None:
            path.write_text(raw)
            return path
        base: dict[str, Any] = {
            "data": {"path": "data.csv", "time_column": "year", "targets": ["y"], "transform": "none"},
            "windows": {"look_back": 5, "horizon": 1},
            "model": {"units": [4], "ensemble": 1},
            "training": {"batch_size": 8},
        }
        path.write_text(yaml.safe_dump(_merge(base, sections), sort_keys=False))
        return path

    return write
