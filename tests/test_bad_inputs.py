"""Bad inputs, one per row: the exit code, one clear message naming the fault, no traceback, nothing lost.

Data and config faults go through window-preview (no TensorFlow); `train` only where a run directory is
at stake, and the forecast rows share one tiny run trained once for the module.
Also the security rules of the issue "Reliability and security": safe YAML, no pickle, safe model loading.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from seqcast.cli import app
from seqcast.metrics import NO_SCALE

SRC = Path(__file__).resolve().parent.parent / "src" / "seqcast"
WriteProject = Callable[..., Path]

runner = CliRunner()


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root (relative path -> content hash, or 'dir'), symlinks as their target."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def said(res: Result, *words: str) -> bool:
    """Every word is in stderr; rich may wrap long lines, so whitespace is not significant."""
    flat = " ".join(res.stderr.split())
    bare = "".join(res.stderr.split())
    return all(w in flat or "".join(w.split()) in bare for w in words)


def assert_fault(res: Result, code: int, *words: str) -> None:
    """Exit `code`, a message on stderr with every word, no traceback, no unexpected exception."""
    assert res.exit_code == code, (res.exit_code, res.stderr, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    if code:
        assert res.stderr.strip(), "a failed command must say why on stderr"
        assert res.stderr.count("error:") == 1, res.stderr
        assert "error:" not in res.stdout
    assert said(res, *words), f"expected {words} in stderr:\n{res.stderr}"
    assert "Traceback" not in res.output
    assert "run with --debug" not in res.stderr, f"an unexpected exception instead of a clear message:\n{res.stderr}"


@pytest.fixture(autouse=True)
def _chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # runs/ and runs/latest stay inside the test's folder


# ---------------------------------------------------------------------------------------------
# a tiny trained run with a feature column (so forecasts need --future), trained once


def sine_csv(path: Path, rows: int = 40) -> Path:
    """Two daily series A and B from 2022-01-01: target y, feature x."""
    import math

    lines = ["time,series,y,x"]
    for k, name in enumerate("AB"):
        for t in range(rows):
            day = f"2022-{1 + t // 31:02d}-{1 + t % 31:02d}"
            lines.append(f"{day},{name},{math.sin(0.4 * t + k):.5f},{math.cos(0.4 * t + 2 * k):.5f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_config(folder: Path, **sections: dict[str, Any]) -> Path:
    doc: dict[str, dict[str, Any]] = {
        "data": {
            "path": "sine.csv",
            "time_column": "time",
            "series_column": "series",
            "targets": ["y"],
            "features": ["x"],
            "transform": "none",
        },
        "windows": {"look_back": 4, "horizon": 1},
        "model": {"units": [4], "ensemble": 1},
        "training": {"epochs": 1, "batch_size": 16, "early_stopping": {"patience": None}},
    }
    for key, value in sections.items():
        doc.setdefault(key, {}).update(value)
    sine_csv(folder / "sine.csv")
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras  # noqa: F401  (a missing Keras fails these tests, never skips them)

    folder = tmp_path_factory.mktemp("trained")
    cfg = tiny_config(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        res = invoke("train", cfg, "--set", "training.epochs=1", "--output-dir", folder / "run", "--quiet")
    assert res.exit_code == 0, (res.stderr, res.exception)
    assert res.stdout == f"{folder / 'run'}\n"  # --quiet: the run directory's path and nothing else on stdout
    return folder / "run"


def future_csv(path: Path, days: list[str]) -> Path:
    path.write_text("time,series,x\n" + "".join(f"{d},{s},0.5\n" for s in "AB" for d in days))
    return path


# ---------------------------------------------------------------------------------------------
# the table of bad inputs


@dataclass
class Ctx:
    tmp: Path
    project: WriteProject
    request: pytest.FixtureRequest

    def run(self) -> Path:
        return self.request.getfixturevalue("trained_run")


Setup = Callable[[Ctx], list[object]]


@dataclass
class Case:
    id: str
    setup: Setup
    code: int
    words: tuple[str, ...]


def preview(cfg: Path, *extra: object) -> list[object]:
    return ["window-preview", cfg, *extra]


def csv_rows(*rows: str, header: str = "year,y") -> str:
    return header + "\n" + "".join(r + "\n" for r in rows)


def years(n: int, start: int = 2000, skip: tuple[int, ...] = ()) -> list[str]:
    return [f"{start + i},{i}" for i in range(n) if start + i not in skip]


def _missing_file(c: Ctx) -> list[object]:
    return preview(c.project(data={"path": "nope.csv"}))


def _unreadable(c: Ctx) -> list[object]:
    cfg = c.project()
    data = c.tmp / "data.csv"
    data.chmod(0)
    if os.access(data, os.R_OK):  # root reads anything
        data.chmod(0o644)
        pytest.skip("running as root: chmod 000 does not make a file unreadable")
    return preview(cfg)


def _folder_for_file(c: Ctx) -> list[object]:
    (c.tmp / "folder.csv").mkdir()
    return preview(c.project(data={"path": "folder.csv"}))


def _binary(c: Ctx) -> list[object]:
    cfg = c.project()
    (c.tmp / "data.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00garbage\xc3\x28")
    return preview(cfg)


def _config_is_a_folder(c: Ctx) -> list[object]:
    (c.tmp / "cfg.yaml").mkdir()
    return preview(c.tmp / "cfg.yaml")


def _ragged(c: Ctx) -> list[object]:
    return preview(c.project(csv_rows(*years(10), "2010,10,99", *years(5, 2011))))


def _nan_error(c: Ctx) -> list[object]:
    rows = years(40)
    rows[6], rows[9] = "2006,nan", "2009,inf"
    return preview(c.project(csv_rows(*rows)))


def _duplicate(c: Ctx) -> list[object]:
    rows = years(40)
    rows[8] = "2007,8"
    return preview(c.project(csv_rows(*rows)))


def _unsorted(c: Ctx) -> list[object]:
    rows = years(40)
    rows[3], rows[4] = rows[4], rows[3]
    return preview(c.project(csv_rows(*rows)))


def _off_grid_dates(c: Ctx) -> list[object]:
    rows = [f"2024-01-{d:02d},{d}" for d in range(1, 31)] + ["2024-01-30 12:00,1"]
    return preview(c.project(csv_rows(*rows, header="day,y"), data={"time_column": "day"}))


def _short_series(c: Ctx) -> list[object]:
    csv = "year,s,y\n" + "".join(f"{2000 + i},A,{i}\n" for i in range(40)) + "2000,B,0\n2001,B,1\n2002,B,2\n"
    return preview(c.project(csv, data={"series_column": "s"}))


def _stateful_too_short(c: Ctx) -> list[object]:
    return preview(c.project(windows={"mode": "stateful", "horizon": 30}, model={"kind": "many_to_one"}))


def _yaml_text(text: str) -> Setup:
    def setup(c: Ctx) -> list[object]:
        return preview(c.project(raw=text))

    return setup


def _incomplete_run(c: Ctx) -> list[object]:
    (c.tmp / "half").mkdir()
    (c.tmp / "half" / "config.yaml").write_text("data: {path: x.csv, targets: [y]}\n")
    return ["forecast", "--run", c.tmp / "half", "--steps", 3]


def _dangling_latest(c: Ctx) -> list[object]:
    (c.tmp / "runs").mkdir(exist_ok=True)
    (c.tmp / "runs" / "latest").symlink_to(Path("..") / "removed")  # the run it named was deleted since
    return ["forecast", "--steps", 3]


def _users_folder_as_run(c: Ctx) -> list[object]:
    (c.tmp / "mine").mkdir()
    (c.tmp / "mine" / "notes.txt").write_text("my own folder")
    return ["forecast", "--run", c.tmp / "mine", "--steps", 3]


def _future_short(c: Ctx) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    return ["forecast", "--run", c.run(), "--steps", 3, "--future", fut]


def _future_missing_series(other: str) -> Callable[[Ctx], list[object]]:
    """A --future file without series B's rows; `other`: with them under that name."""

    def args(c: Ctx) -> list[object]:
        rows = "".join(f"2022-02-{d},{s},0.5\n" for s in ["A", other][: 1 + bool(other)] for d in (10, 11))
        (c.tmp / "future.csv").write_text("time,series,x\n" + rows)
        return ["forecast", "--run", c.run(), "--steps", 2, "--future", c.tmp / "future.csv"]

    return args


def _output_is_a_folder(c: Ctx) -> list[object]:
    (c.tmp / "out.csv").mkdir()
    (c.tmp / "out.csv" / "precious.txt").write_text("keep me")
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--output", c.tmp / "out.csv"]


def _plot_fails_after_the_table(c: Ctx) -> list[object]:
    (c.tmp / "keep.csv").write_text("a forecast of yesterday\n")
    (c.tmp / "notadir").write_text("a file")
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    out, plot = c.tmp / "keep.csv", c.tmp / "notadir" / "p.png"
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--output", out, "--plot", plot]


def _plot_fails_after_a_table_in_new_folders(c: Ctx) -> list[object]:
    (c.tmp / "notadir").write_text("a file")
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    out, plot = c.tmp / "new" / "deeper" / "f.csv", c.tmp / "notadir" / "p.png"
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--output", out, "--plot", plot]


def _output_and_plot_on_one_file(c: Ctx) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    same = c.tmp / "same"  # no suffix: a name both options take
    return [
        "forecast",
        "--run",
        c.run(),
        "--steps",
        2,
        "--future",
        fut,
        "--output",
        same,
        "--plot",
        c.tmp / "." / "same",  # the same file by another path
    ]


def _output_over_the_future_file(c: Ctx) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--output", fut]


def _output_over_a_config(c: Ctx) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    (c.tmp / "mine.yaml").write_text("data: {path: data.csv}\n")  # the user's config, beside the run
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--output", c.tmp / "mine.yaml"]


def _forecast_to(c: Ctx, option: str, name: str, own: bool = False) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    if own:
        (c.tmp / name).write_text("all: build\n")  # the user's file, that test_bad_input checks is kept
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, option, c.tmp / name]


def _plot_over_the_training_data(c: Ctx) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    data = yaml.safe_load((c.run() / "config.yaml").read_text())["data"]["path"]
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--plot", data]


def _future_with_an_empty_cell(c: Ctx) -> list[object]:
    (c.tmp / "future.csv").write_text(
        "time,series,x\n2022-02-10,A,0.5\n2022-02-11,A,\n2022-02-10,B,0.5\n2022-02-11,B,0.5\n"
    )
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", c.tmp / "future.csv"]


def _history_with_a_gap(c: Ctx) -> list[object]:
    days = [f"2022-01-{d:02d}" for d in (1, 2, 3, 5, 6, 7, 8)]  # the 4th is missing
    rows = "time,series,y,x\n" + "".join(f"{d},{s},0.5,0.5\n" for s in "AB" for d in days)
    (c.tmp / "rows.csv").write_text(rows)
    return ["forecast", "--run", c.run(), "--steps", 1, "--data", c.tmp / "rows.csv"]


def _future_without_the_feature(c: Ctx) -> list[object]:
    fut = c.tmp / "future.csv"
    fut.write_text("time,series\n" + "".join(f"2022-02-1{d},{s}\n" for s in "AB" for d in (0, 1)))
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut]


def _rows_without_the_target(command: str) -> Setup:
    def setup(c: Ctx) -> list[object]:
        rows = c.tmp / "rows.csv"
        rows.write_text("time,series,x\n" + "".join(f"2022-02-1{d},{s},0.5\n" for s in "AB" for d in (0, 1)))
        return [command, "--run", c.run(), "--data", rows, *(["--steps", 1] if command == "forecast" else [])]

    return setup


def _train(c: Ctx, csv: str, *extra: object) -> list[object]:
    cfg = c.project(csv)
    return [
        "train",
        cfg,
        "--set",
        "training.epochs=1",
        "--set",
        "model.units=[4]",
        "--set",
        "model.ensemble=1",
        "--quiet",
        *extra,
    ]


CASES = [
    Case("missing data file", _missing_file, 1, ("data file not found", "nope.csv", "data.path")),
    Case("unreadable data file (chmod 000)", _unreadable, 1, ("cannot read", "data.csv")),
    Case("a folder where the data file is expected", _folder_for_file, 1, ("folder.csv", "no .csv")),
    Case("binary data file", _binary, 1, ("cannot read", "data.csv")),
    Case("config path is a folder", _config_is_a_folder, 2, ("cannot read config file", "cfg.yaml")),
    Case("empty file", lambda c: preview(c.project("")), 1, ("data.csv", "the file is empty")),
    Case("header only", lambda c: preview(c.project("year,y\n")), 1, ("data.csv", "header but no rows")),
    Case("ragged row", _ragged, 1, ("data.csv", "line 12 has 3 fields", "header has 2")),
    Case(
        "split fractions that leave no training rows",
        lambda c: preview(c.project(data={"split": {"val": 0.6, "test": 0.4}})),
        2,
        ("data.split", "val 0.6 + test 0.4 leave no rows for training"),
    ),
    Case(
        "target not a column",
        lambda c: preview(c.project(data={"targets": ["pressure"]})),
        2,
        ("data.targets", "'pressure' is not a column", "['year', 'y']"),
    ),
    Case(
        "feature not a column",
        lambda c: preview(c.project(data={"features": ["wind"]})),
        2,
        ("data.features", "'wind' is not a column", "['year', 'y']"),
    ),
    Case(
        "time column not a column",
        lambda c: preview(c.project(data={"time_column": "date"})),
        2,
        ("data.time_column", "'date' is not a column", "['year', 'y']"),
    ),
    Case(
        "non-numeric value",
        lambda c: preview(c.project(csv_rows(*years(5), "2005,12.5kg", *years(34, 2006)))),
        1,
        ("data.csv", "column 'y'", "line 7", "'12.5kg' is not a number"),
    ),
    Case(
        "non-numeric value after blank lines: the line an editor shows",
        lambda c: preview(c.project(csv_rows(*years(3), "", "", *years(2, 2003), "2005,12.5kg", *years(34, 2006)))),
        1,
        ("data.csv", "column 'y'", "line 9", "'12.5kg' is not a number"),
    ),
    Case(
        "a log transform with a value of 0",
        lambda c: preview(c.project(data={"transform": "log"})),
        1,
        ("data.csv", "column 'y' has 0 at time 2000", "data.transform log needs every value above 0"),
    ),
    Case(
        "bad timestamp",
        lambda c: preview(c.project(csv_rows(*years(5), "soon,5", *years(34, 2006)))),
        1,
        ("time column 'year'", "line 7", "'soon'"),
    ),
    Case(
        "NaN and inf with missing: error",
        _nan_error,
        1,
        ("data.csv", "column(s) ['y']", "line(s) [8, 11]", "data.missing"),
    ),
    Case("duplicate timestamps", _duplicate, 1, ("duplicate timestamp 2007", "lines 9 and 10", "series_column")),
    Case("unsorted timestamps are sorted with a note", _unsorted, 0, ("not in time order", "sorted by year")),
    Case(
        "missing timestamps with missing: error",
        lambda c: preview(c.project(csv_rows(*years(40, skip=(2005, 2006, 2020))))),
        1,
        ("3 missing timestamp(s)", "first 2005", "data.missing"),
    ),
    Case(
        "off-grid integer timestamp",
        lambda c: preview(c.project(csv_rows(*[f"{2000 + 2 * i},{i}" for i in range(30)], "2061,30"))),
        1,
        ("irregular timestamps", "2061", "step of 2"),
    ),
    Case("off-grid date", _off_grid_dates, 1, ("irregular timestamps", "2024-01-30 12:00", "resample")),
    Case(
        "series shorter than look_back + horizon",
        _short_series,
        2,
        (
            "windows.look_back: series ['B'] is shorter than windows.look_back + horizon",
            "6 rows needed",
            "data.csv",
            "or leave series ['B'] out of the data",  # the other series is long enough
        ),
    ),
    Case(
        "a season whose transform uses up the series",
        lambda c: preview(c.project(data={"transform": "deseason"}, evaluate={"season": 30})),
        2,
        (
            "data.transform: the series is shorter than windows.look_back + horizon + the 60 row(s) data.transform",
            "uses up (evaluate.season=30) (66 rows needed)",
            "without a seasonal step",
        ),
    ),
    Case(
        "fewer rows than the split needs",
        lambda c: preview(c.project(csv_rows(*years(10)), data={"split": {"val": 1, "test": 5}})),
        1,
        ("10 rows", "data.split val=1 and test=5", "4 remain for training"),
    ),
    Case(
        "a split that leaves too few rows for auto's seasonal candidate",
        lambda c: preview(c.project(data={"transform": "auto"}, evaluate={"season": 12})),
        1,
        (
            "40 rows",
            "28 remain for training, fewer than the 30 needed",
            "data.transform without a seasonal step (it uses up 24 rows)",
        ),  # fmt: skip
    ),
    Case(
        "a split of more rows than the series has",
        lambda c: preview(c.project(csv_rows(*years(10)), data={"split": {"val": 8, "test": 5}})),
        1,
        ("10 rows", "data.split val=8 and test=5", "13 rows are more than it has: none remain for training"),
    ),
    Case(
        "stateful series too short for one input and its targets",
        _stateful_too_short,
        1,
        ("has 28 training rows", "its 30 target row(s) (needs 31)", "windows.horizon"),
    ),
    Case(
        "stateful series whose training rows the transform uses up",
        lambda c: preview(
            c.project(
                data={"transform": "seasonal"},
                windows={"mode": "stateful", "num_steps": 4, "streams": 1},
                model={"kind": "many_to_many"},
                evaluate={"season": 28},
            )
        ),
        1,
        ("has 28 training rows and data.transform uses up the first 28", "(needs 30)", "(none uses none)"),
    ),
    Case(
        "unknown config key",
        lambda c: preview(c.project(windows={"look_bak": 5})),
        2,
        ("cfg.yaml", "windows.look_bak", "did you mean 'windows.look_back'"),
    ),
    Case(
        "unknown section",
        lambda c: preview(c.project(trainig={"epochs": 3})),
        2,
        ("trainig", "did you mean 'training'"),
    ),
    Case(
        "wrong type",
        lambda c: preview(c.project(training={"epochs": "ten"})),
        2,
        ("cfg.yaml", "training.epochs", "integer"),
    ),
    Case(
        "wrong type through --set",
        lambda c: preview(c.project(), "--set", "model.units=[4, big]"),
        2,
        ("model.units", "integer"),
    ),
    Case(
        "a section that is not a mapping",
        lambda c: preview(c.project(raw="data: [1, 2]\n")),
        2,
        ("cfg.yaml", "data"),
    ),
    Case(
        "malformed YAML",
        _yaml_text("data:\n  path: data.csv\n  targets: [y\nwindows:\n  look_back: 5\n"),
        2,
        ("cfg.yaml", "malformed YAML at line", "column"),
    ),
    Case("YAML that is not a mapping", _yaml_text("- data\n- windows\n"), 2, ("cfg.yaml", "mapping")),
    Case("empty config", _yaml_text(""), 2, ("cfg.yaml", "empty")),
    Case(
        "a section given twice (YAML would keep the second alone)",
        _yaml_text(
            "data: {path: data.csv, time_column: year, targets: [y]}\ntraining:\n  epochs: 2\ntraining:\n  seed: 1\n"
        ),
        2,
        ("cfg.yaml", "line 4", "the key 'training' is given twice (lines 2 and 4)"),
    ),
    Case(
        "--set a mapping with a key twice",
        lambda c: preview(c.project(), "--set", "windows={look_back: 4, look_back: 5}"),
        2,
        ("--set windows", "the key 'look_back' is given twice (line 1)"),
    ),
    Case("config file not found", lambda c: preview(c.tmp / "nope.yaml"), 2, ("config file not found", "nope.yaml")),
    Case(
        "--run directory does not exist",
        lambda c: ["forecast", "--run", c.tmp / "no-such-run", "--steps", 3],
        2,
        ("--run", "run directory not found", "no-such-run"),
    ),
    Case("--run directory incomplete", _incomplete_run, 1, ("half", "incomplete", "model.keras")),
    Case(
        "runs/latest naming a run that is gone",
        _dangling_latest,
        2,
        ("--run", "runs/latest points to ../removed, which no longer exists", "pass --run DIR"),
    ),
    Case(
        "forecast --data not there",
        lambda c: ["forecast", "--run", c.run(), "--steps", 1, "--data", c.tmp / "nothere.csv"],
        1,
        ("nothere.csv", "file not found", "check the path given to --data"),
    ),
    Case(
        "forecast --future not there",
        lambda c: ["forecast", "--run", c.run(), "--steps", 1, "--future", c.tmp / "nothere.csv"],
        1,
        ("nothere.csv", "file not found", "check the path given to --future"),
    ),
    Case(
        "forecast --output with a name too long for the file system",
        lambda c: ["forecast", "--run", c.run(), "--steps", 1, "--output", c.tmp / ("日" * 90 + ".csv")],
        2,  # an OSError from Path.is_dir was 'an unexpected error' (exit 1), with the whole name
        (
            "File name too long",
            "characters): File name too long",
            "hint: give a shorter path (a name has at most 255 bytes)",
        ),
    ),
    Case(
        "update --data - (stdin)",
        lambda c: ["update", "--run", c.run(), "--data", "-"],
        2,
        ("error: --data: reads a file, not stdin (-)", "write the rows to a CSV file"),
    ),
    Case(
        "forecast --future - (stdin)",
        lambda c: ["forecast", "--run", c.run(), "--steps", 1, "--future", "-"],
        2,
        ("error: --future: reads a file, not stdin (-)", "write the rows to a CSV file"),
    ),
    Case("--run a folder of the user's", _users_folder_as_run, 2, ("--run", "mine is not a run directory")),
    Case(
        "forecast --plot - (stdout is for --output)",
        lambda c: ["forecast", "--run", c.run(), "--steps", 2, "--output", "-", "--plot", "-"],
        2,
        ("--plot", "a plot is written to an image file, not to stdout (-)", "name the file"),
    ),
    Case(
        "evaluate --plot -",
        lambda c: ["evaluate", "--run", c.run(), "--plot", "-"],
        2,
        ("--plot", "a plot is written to an image file, not to stdout (-)"),
    ),
    Case(
        "forecast --steps 0",
        lambda c: ["forecast", "--run", c.tmp, "--steps", 0],
        2,
        ("error: --steps: must be a positive number of steps, got 0",),
    ),
    Case(
        "forecast --steps negative",
        lambda c: ["forecast", "--run", c.tmp, "--steps", -4],
        2,
        ("error: --steps: must be a positive number of steps, got -4",),
    ),
    Case(
        "evaluate --horizon 0",
        lambda c: ["evaluate", "--run", c.tmp, "--horizon", 0],
        2,
        ("error: --horizon: must be a positive number of steps, got 0",),
    ),
    Case(
        "--future does not cover the horizon",
        _future_short,
        1,
        (
            "future.csv",
            "no future values of ['x'] for series 'A' at 2022-02-12",
            "3 steps",
            "its rows of the series run from 2022-02-10 to 2022-02-11",
        ),
    ),
    Case(
        "--future lacks a series",
        _future_missing_series(""),
        1,
        ("future.csv", "series 'B' at 2022-02-10", "the file has no rows of series 'B' hint: give"),
    ),
    Case(
        "--future names a series in another case",
        _future_missing_series("b"),
        1,
        ("future.csv", "series 'B' at 2022-02-10", "the file has no rows of series 'B' (did you mean 'b'?)"),
    ),
    Case(
        "--future names its series otherwise",
        _future_missing_series("Tank B"),
        1,
        ("future.csv", "series 'B' at 2022-02-10", "the file has no rows of series 'B' (its other series: 'Tank B')"),
    ),
    Case(
        "--future writes integer series ids as decimals",
        _future_missing_series("B.0"),
        1,
        ("future.csv", "the file has no rows of series 'B' (did you mean 'B.0'?)"),
    ),
    Case(
        "forecast without --future for a model with features",
        lambda c: ["forecast", "--run", c.run(), "--steps", 2],
        2,
        ("--future: the model also takes the features ['x']", "pass --future CSV"),
    ),
    Case(
        "forecast --future for a model without features",
        lambda c: [
            "forecast",
            "--run",
            c.request.getfixturevalue("stateful_difference_run"),
            "--steps",
            2,
            "--future",
            c.tmp / "nothere.csv",
        ],  # fmt: skip
        2,
        ("--future: the run's model takes no data.features", "would not read the file", "leave --future out"),
    ),
    Case(
        "forecast --output is a folder",
        _output_is_a_folder,
        2,
        ("--output", "out.csv is a folder, not a file", "hint: name a file, such as", "out.csv/forecast.csv"),
    ),
    Case(
        "forecast --output is the run's folder",
        lambda c: ["forecast", "--run", c.run(), "--steps", 1, "--output", c.run()],
        2,
        ("--output", "is a folder, not a file", "-forecast.csv"),  # beside the run: a file in it blocks --overwrite
    ),
    Case(
        "forecast --future with an empty cell the forecast needs",
        _future_with_an_empty_cell,
        1,
        (
            "future.csv",
            "no future values of ['x'] for series 'A' at 2022-02-11 (the forecast reads 2 steps' values, from "
            "2022-02-10)",
            "the file has missing, NaN or infinite values in column(s) ['x'] of series 'A' at line(s) [3]",
            "give the --future file a row with every value of ['x'] at each of the 2 timestamps",
        ),
    ),  # fmt: skip
    Case(
        "forecast --data with a missing day (the run's data.missing: error)",
        _history_with_a_gap,
        1,
        ("rows.csv", "1 missing timestamp(s) of series 'A'", "fill them in the history, or train the run again"),
    ),
    Case(
        "forecast --future without a feature column",
        _future_without_the_feature,
        1,
        ("future.csv", "the --future file has no column 'x' (data.features of the run)", "['time', 'series']"),
    ),
    Case(
        "forecast --data without the target column",
        _rows_without_the_target("forecast"),
        1,
        ("rows.csv", "the history has no column 'y' (data.targets of the run)"),
    ),
    Case(
        "update --data without the target column",
        _rows_without_the_target("update"),
        1,
        ("rows.csv", "the new rows have no column 'y' (data.targets of the run)"),
    ),
    Case("forecast --plot fails: --output kept", _plot_fails_after_the_table, 1, ("p.png", "notadir is a file")),
    Case(
        "forecast --plot fails: no new folders left",
        _plot_fails_after_a_table_in_new_folders,
        1,
        ("p.png", "notadir is a file"),
    ),
    Case(
        "forecast --output and --plot on one file",
        _output_and_plot_on_one_file,
        2,
        ("--plot", "also the file of --output"),
    ),
    Case("forecast --output over --future", _output_over_the_future_file, 2, ("--output", "is the --future file")),
    Case(
        "forecast --output over a config",
        _output_over_a_config,
        2,
        ("--output", "mine.yaml: a forecast is written as CSV", ".yaml is none of them", "mine.csv"),
    ),
    Case(
        "forecast --output with a suffix that is no table's",
        lambda c: _forecast_to(c, "--output", "out.xlsx"),
        2,
        ("--output", "out.xlsx: a forecast is written as CSV", ".xlsx is none of them", "out.csv"),
    ),
    Case(
        "forecast --output over a file of one's own without a suffix",
        lambda c: _forecast_to(c, "--output", "NOTES", own=True),
        2,
        ("--output", "NOTES exists and has no suffix", "would replace it", "NOTES.csv"),
    ),
    Case(
        "forecast --plot a folder",
        lambda c: _forecast_to(c, "--plot", "runs"),
        2,
        ("--plot", "runs is a folder, not a file", "runs/plot.png"),
    ),
    Case(
        "forecast --plot over a file of one's own without a suffix",
        lambda c: _forecast_to(c, "--plot", "Makefile", own=True),
        2,
        ("--plot", "Makefile exists and has no suffix", "would replace it", "Makefile.png"),
    ),
    Case("forecast --plot over the data", _plot_over_the_training_data, 2, ("--plot", "the training data")),
    Case(
        "window-preview --plot over the config",
        lambda c: preview(cfg := c.project(), "--plot", cfg),
        2,
        ("--plot", "is the config"),
    ),
    Case(
        "train: non-numeric value",
        lambda c: _train(c, csv_rows(*years(5), "2005,oops", *years(34, 2006))),
        1,
        ("column 'y'", "line 7", "'oops' is not a number"),
    ),
    Case(
        "train: --resume names no folder",
        lambda c: _train(c, csv_rows(*years(40)), "--resume", c.tmp / "nothere"),
        2,
        ("--resume", "nothere not found"),
    ),
    Case(
        "train: --resume is not a checkpoint",
        lambda c: _train(c, csv_rows(*years(40)), "--resume", c.tmp),
        2,
        ("--resume", "not a seqcast checkpoint"),
    ),
]


# ---------------------------------------------------------------------------------------------
# round two (issue #12): what a hostile user tried


def _days(n: int, start: str = "2021-01-01") -> list[str]:
    import numpy as np

    return [str(np.datetime64(start, "D") + np.timedelta64(k, "D")) for k in range(n)]


def _dated(days: list[str], header: str = "day,y") -> str:
    return header + "\n" + "".join(f"{d},{k}\n" for k, d in enumerate(days))


def _fifo(c: Ctx, name: str) -> Path:
    path = c.tmp / name
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    return path


def _fifo_config(c: Ctx) -> list[object]:
    c.project()
    return preview(_fifo(c, "fifo.yaml"))


def _fifo_data(c: Ctx) -> list[object]:
    cfg = c.project()
    _fifo(c, "data.csv")
    return preview(cfg)


def _set(*key_values: str) -> Setup:
    def setup(c: Ctx) -> list[object]:
        return preview(c.project(), *(a for kv in key_values for a in ("--set", kv)))

    return setup


def _two_frequencies(c: Ctx) -> list[object]:
    rows = [f"{d},A,{k}" for k, d in enumerate(_days(30))] + [f"2021-01-01 {h:02d}:00,B,{h}" for h in range(24)]
    return preview(c.project(csv_rows(*rows, header="day,s,y"), data={"time_column": "day", "series_column": "s"}))


def _readonly_parent(c: Ctx) -> list[object]:
    import subprocess

    cfg = c.project(csv_rows(*years(40)))
    folder = c.tmp / "locked"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: the immutable flag stops it too
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        c.request.addfinalizer(lambda: subprocess.run(["chattr", "-i", str(folder)], check=True))
    else:
        folder.chmod(0o555)
        c.request.addfinalizer(lambda: folder.chmod(0o755))
    return ["train", cfg, "--set", "training.epochs=1", "--quiet", "--output-dir", folder / "run"]


def _resume_damaged(c: Ctx) -> list[object]:
    ckpt = c.tmp / "ckpt"
    ckpt.mkdir()
    (ckpt / "state.json").write_text("{not json")
    (ckpt / "model.keras").write_text("x")
    return _train(c, csv_rows(*years(40)), "--resume", ckpt)


def _resume_unsafe(c: Ctx) -> list[object]:
    import json

    import keras

    from seqcast.checkpoint import resumable
    from seqcast.config import load_config

    cfg = c.project(csv_rows(*years(40)))
    ckpt = c.tmp / "ckpt"
    ckpt.mkdir()
    overrides = ["training.epochs=1", "model.units=[4]", "model.ensemble=1"]
    state = {"epochs_done": 1, "rows": [], "best": None, "best_epoch": 0, "wait": 0}
    state["config"] = resumable(load_config(cfg, overrides))
    (ckpt / "state.json").write_text(json.dumps(state))
    inp = keras.Input((5, 1))
    keras.Model(inp, keras.layers.Lambda(lambda x: x * 2)(inp)).save(ckpt / "model.keras")
    return ["train", cfg, *[a for o in overrides for a in ("--set", o)], "--quiet", "--resume", ckpt]


def _run_copy(c: Ctx, edit: Callable[[Path], None] | None = None) -> Path:
    import shutil

    copy = c.tmp / "copy"
    shutil.copytree(c.run(), copy)
    if edit is not None:
        edit(copy)
    return copy


def _edit_pre(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    import json

    def edit(run: Path) -> None:
        pre = json.loads((run / "preprocess.json").read_text())
        change(pre)
        (run / "preprocess.json").write_text(json.dumps(pre))

    return edit


def _forecast_copy(edit: Callable[[Path], None]) -> Setup:
    def setup(c: Ctx) -> list[object]:
        fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
        return ["forecast", "--run", _run_copy(c, edit), "--steps", 2, "--future", fut]

    return setup


def _other_model(run: Path) -> None:
    from seqcast.config import validate
    from seqcast.model import build_model

    cfg = validate({"data": {"path": "x.csv", "targets": ["a", "b"], "features": ["c"]}}, source="x", base_dir=run)
    build_model(cfg, 3, 2).save(run / "model.keras")


def _zip_bomb(run: Path) -> None:
    import zipfile

    (run / "model.keras").unlink()
    with zipfile.ZipFile(run / "model.keras", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", " " * (40 * 2**20))  # 40 MiB of spaces: a few kB compressed


def _tagged_config(run: Path) -> None:
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text + "extra: !!python/object/apply:os.system ['true']\n")


def _patience_0_config(run: Path) -> None:  # as a run of an earlier seqcast, which accepted it, may hold
    text = (run / "config.yaml").read_text()
    assert "patience:" in text
    (run / "config.yaml").write_text(re.sub(r"patience: .*", "patience: 0", text))


def _gained_series(c: Ctx) -> list[object]:
    more = sine_csv(c.tmp / "more.csv")
    more.write_text(more.read_text() + "".join(f"2022-01-{d:02d},C,0.5,0.5\n" for d in range(1, 31)))

    def edit(run: Path) -> None:
        doc = yaml.safe_load((run / "config.yaml").read_text())
        doc["data"]["path"] = str(more)
        (run / "config.yaml").write_text(yaml.safe_dump(doc))

    return ["evaluate", "--run", _run_copy(c, edit)]


def _hourly_history(c: Ctx) -> list[object]:
    hist = c.tmp / "hourly.csv"
    hist.write_text(
        "time,series,y,x\n" + "".join(f"2022-01-01 {h:02d}:00,{s},0.1,0.2\n" for s in "AB" for h in range(20))
    )
    return ["forecast", "--run", c.run(), "--data", hist, "--steps", 2]


def _near_2262(c: Ctx) -> list[object]:
    hist = c.tmp / "late.csv"
    days = _days(20, "2262-03-20")
    hist.write_text("time,series,y,x\n" + "".join(f"{d},{s},0.1,0.2\n" for s in "AB" for d in days))
    return ["forecast", "--run", c.run(), "--data", hist, "--steps", 10]


@pytest.fixture(scope="module")
def stateful_difference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stateful")
    cfg = tiny_config(
        folder,
        data={"features": [], "transform": "difference"},
        windows={"mode": "stateful", "num_steps": 4, "streams": 1},
        model={"kind": "many_to_many"},
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        res = invoke("train", cfg, "--output-dir", folder / "run", "--quiet")
    assert res.exit_code == 0, (res.stderr, res.exception)
    return folder / "run"


def _huge_history(c: Ctx) -> list[object]:
    hist = c.tmp / "huge.csv"
    rows = "".join(
        f"2022-03-{d:02d},{s},{1e308 if (s, d) == ('B', 9) else 0.1 * d}\n" for s in "AB" for d in range(1, 10)
    )
    hist.write_text("time,series,y\n" + rows)
    run = c.request.getfixturevalue("stateful_difference_run")
    return ["forecast", "--run", run, "--data", hist, "--steps", 3]


def _one_row_history(c: Ctx) -> list[object]:
    hist = c.tmp / "one.csv"
    hist.write_text("time,series,y\n2022-03-01,A,0.1\n2022-03-01,B,0.2\n")
    run = c.request.getfixturevalue("stateful_difference_run")
    return ["forecast", "--run", run, "--data", hist, "--steps", 3]


HOSTILE = [
    Case(
        "dates before 1677",
        lambda c: preview(c.project(_dated(["1650-01-01", *_days(39, "1650-01-02")]), data={"time_column": "day"})),
        1,
        ("time column 'day', line 2", "'1650-01-01' is outside the dates seqcast can hold (1677-09-22 to 2262-04-10)"),
    ),
    Case(
        "dates after 2262",
        lambda c: preview(c.project(_dated(_days(40, "2262-03-20")), data={"time_column": "day"})),
        1,
        ("line 24", "'2262-04-11' is outside the dates"),
    ),
    Case(
        "two columns of one name",
        lambda c: preview(c.project(csv_rows(*[f"{2000 + i},{i},{i}" for i in range(40)], header="year,y,y"))),
        1,
        ("data.csv", "columns 2 and 3 of the header are both named 'y'"),
    ),
    Case(
        "two names equal once spaces are stripped",
        lambda c: preview(c.project(csv_rows(*[f"{2000 + i},{i},{i}" for i in range(40)], header='year,y,"y "'))),
        1,
        ("columns 2 and 3", "'y' and 'y '", "once spaces are stripped"),
    ),
    Case(
        "mixed date formats with missing: interpolate",
        lambda c: preview(
            c.project(
                _dated([*_days(20), "01/21/2021", *_days(19, "2021-01-22")]),
                data={"time_column": "day", "missing": "interpolate"},
            )
        ),
        1,
        ("line 22", "'01/21/2021' does not follow the date format of the first row (%Y-%m-%d)"),
    ),
    Case(
        "time values beyond int64",
        lambda c: preview(c.project(csv_rows(*years(39), "99999999999999999999,39"))),
        1,
        ("time column 'year', line 41", "is too large for a time value"),
    ),
    Case(
        "series of two frequencies",
        _two_frequencies,
        1,
        ("series 'A' has a step of D but series 'B' a step of h", "one model, one frequency"),
    ),
    Case("config is a FIFO", _fifo_config, 2, ("fifo.yaml", "not a regular file")),
    Case("data file is a FIFO", _fifo_data, 1, ("data.csv", "not a regular file")),
    Case(
        "data.path is /dev/zero",
        lambda c: preview(c.project(data={"path": "/dev/zero"})),
        1,
        ("/dev/zero", "not a regular file"),
    ),
    Case("split.val: .nan", _set("data.split.val=.nan"), 2, ("data.split.val", "must be a finite number")),
    Case("split.val: true", _set("data.split.val=true"), 2, ("data.split.val", "true is a boolean, not a number")),
    Case(  # a choice among words, one of them "interpolate": no number is asked for
        "missing: yes",
        _set("data.missing=yes"),
        2,
        ("data.missing", "should be 'error', 'interpolate', 'ffill' or 'drop'"),
    ),
    Case(
        "resample.freq: true",
        _set("data.resample={freq: true, how: mean}"),
        2,
        ("data.resample.freq", "true is a boolean, not a number; a number or a text is needed here"),
    ),
    Case("seed -1", _set("training.seed=-1"), 2, ("training.seed", "greater than or equal to 0")),
    Case("seed 2**40", _set("training.seed=1099511627776"), 2, ("training.seed", "less than 4294967296")),
    Case(  # network k takes seed + k: the second network's seed is past the last (it crashed after the first)
        "the last seed with an ensemble of 2",
        _set("training.seed=4294967295", "model.ensemble=2"),
        2,
        ("--set: training.seed", "4294967295 + model.ensemble=2 - 1 is past the last seed, 4294967295"),
    ),
    Case(  # 0 stopped before the first epoch: model.keras held the untrained network
        "patience 0",
        _set("training.early_stopping.patience=0"),
        2,
        ("training.early_stopping.patience", "greater than or equal to 1, not 0"),
    ),
    Case(
        "epochs 10**19",
        _set("training.epochs=10000000000000000000"),
        2,
        ("training.epochs", "less than or equal to 1000000"),
    ),
    Case("batch_size 10**19", _set("training.batch_size=10000000000000000000"), 2, ("training.batch_size", "1000000")),
    Case(
        "units [1000000]",
        _set("model.units=[1000000]"),
        2,
        ("model.units", "the layer has 1,000,000 units: a layer of more than 65,536"),
    ),
    Case(
        "learning_rate .inf",
        _set("training.learning_rate=.inf"),
        2,
        ("training.learning_rate", "finite number"),
    ),
    Case(
        "a target named step without a time column",
        lambda c: preview(
            c.project(
                csv_rows(*[str(i) for i in range(40)], header="step"), data={"time_column": None, "targets": ["step"]}
            )
        ),
        2,
        ("data", "a column named 'step' needs data.time_column"),
    ),
    Case(
        "train: values near 1e308",
        lambda c: _train(c, csv_rows(*[f"{2000 + i},{'1e308' if i % 2 else '-1e308'}" for i in range(40)])),
        1,
        ("column 'y'", "values up to 1e+308 overflow the standard scaler"),
    ),
    Case(
        "train: a model too large for the machine",
        lambda c: _train(c, csv_rows(*years(40)), "--set", "model.units=[60000, 60000]"),
        2,
        ("model.units", "parameters", "GiB"),
    ),
    Case(
        "train: evaluate.horizon longer than the test part",
        lambda c: _train(c, csv_rows(*years(40)), "--set", "evaluate.horizon=50"),
        2,
        ("evaluate.horizon: the test part of", "is shorter than evaluate.horizon=50", "data.split.test"),
    ),
    Case(
        "train --overwrite into the folder of the data and config",
        lambda c: _train(c, csv_rows(*years(40)), "--output-dir", c.tmp, "--overwrite"),
        2,
        ("output.dir", "holds the data", "cannot go there"),
    ),
    Case(
        "train --output-dir . --overwrite in a project folder",
        lambda c: _train(c, csv_rows(*years(40)), "--output-dir", ".", "--overwrite"),
        2,
        ("output.dir", "holds the data"),
    ),
    Case(
        "train --overwrite with output.dir /",
        lambda c: _train(c, csv_rows(*years(40)), "--output-dir", "/", "--overwrite"),
        2,
        ("output.dir", "/ holds the data"),
    ),
    Case(
        "train --overwrite with output.dir the config file",
        lambda c: _train(c, csv_rows(*years(40)), "--output-dir", c.tmp / "cfg.yaml", "--overwrite"),
        2,
        ("output.dir", "cfg.yaml is a file, not a run directory"),
    ),
    Case(
        "train --overwrite with output.dir the CSV",
        lambda c: _train(c, csv_rows(*years(40)), "--output-dir", c.tmp / "data.csv", "--overwrite"),
        2,
        ("output.dir", "data.csv is a file"),
    ),
    Case(
        "train --overwrite over a folder seqcast did not write",
        lambda c: _train(c, csv_rows(*years(40)), "--output-dir", c.tmp / "runs" / "keep", "--overwrite"),
        2,
        ("output.dir", "not a seqcast run directory", ".seqcast-run"),
    ),
    Case(
        "train into a dangling symbolic link",
        lambda c: [
            (c.tmp / "link").symlink_to(c.tmp / "nowhere"),
            *_train(c, csv_rows(*years(40)), "--output-dir", c.tmp / "link"),
        ][1:],
        2,
        ("output.dir", "link is a symbolic link to nothing"),
    ),
    Case(
        "train into a folder under a file",
        lambda c: [
            (c.tmp / "afile").write_text("x"),
            *_train(c, csv_rows(*years(40)), "--output-dir", c.tmp / "afile" / "run"),
        ][1:],
        1,
        ("cannot create the folder for the run", "afile is a file"),
    ),
    Case("train into a read-only folder", _readonly_parent, 1, ("locked", "cannot write the run there")),
    Case("train --resume with a damaged state.json", _resume_damaged, 2, ("--resume", "state.json is damaged")),
    Case(
        "train --resume that is no checkpoint, into a folder that would be refused: both named in turn",
        lambda c: ["train", c.project(output={"dir": "runs/keep"}), "--resume", c.tmp / "nope"],
        2,
        ("--resume", "nope not found"),
    ),
    Case("train --resume with an unsafe model.keras", _resume_unsafe, 2, ("--resume", "cannot be loaded safely")),
    Case(
        "a model.keras from another run",
        _forecast_copy(_other_model),
        1,
        ("copy", "model.keras takes 3 inputs", "the files come from different runs"),
    ),
    Case(
        "preprocess.json without a key",
        _forecast_copy(_edit_pre(lambda pre: pre.pop("kind"))),
        1,
        ("preprocess.json", "has no valid 'kind'"),
    ),
    Case(
        "preprocess.json with an extra column",
        _forecast_copy(_edit_pre(lambda pre: pre["scaler"]["series"]["A"].update(z={"center": 0, "scale": 1}))),
        1,
        ("preprocess.json", "['z']", "not among its inputs"),
    ),
    Case(
        "preprocess.json with a NaN scale",
        _forecast_copy(_edit_pre(lambda pre: pre["scaler"]["series"]["B"]["y"].update(scale=float("nan")))),
        1,
        ("preprocess.json", "series 'B', column 'y'", "finite, positive"),
    ),
    Case(
        "preprocess.json that is not JSON",
        _forecast_copy(lambda run: (run / "preprocess.json").write_text("{oops")),
        1,
        ("preprocess.json cannot be read",),
    ),
    Case(
        "the run's config.yaml with a Python tag",
        _forecast_copy(_tagged_config),
        1,
        ("config.yaml", "the run's config is damaged", "python/object/apply:os.system"),
    ),
    Case(
        "a run of an earlier version with patience 0",
        _forecast_copy(_patience_0_config),
        1,
        ("config.yaml", "the run's config is damaged", "greater than or equal to 1", "or train the run again"),
    ),
    Case(
        "a model.keras that is a zip bomb",
        _forecast_copy(_zip_bomb),
        1,
        ("model.keras", "config.json would inflate", "41,943,040 bytes"),
    ),
    Case("evaluate after the data gained a series", _gained_series, 1, ("more.csv", "series ['C']", "not in the run")),
    Case(
        "forecast --data hourly on a daily run",
        _hourly_history,
        1,
        ("hourly.csv", "the history has a step of h", "a step of D"),
    ),
    Case("forecast past 2262", _near_2262, 2, ("--steps", "10 steps ahead", "past 2262-04-10")),
    Case(
        "forecast --steps 10**7",
        lambda c: ["forecast", "--run", c.run(), "--steps", 10**7],
        2,
        ("--steps", "10,000,000 steps is more than seqcast forecasts (100,000)"),
    ),
    Case(
        "forecast --steps 10**12",
        lambda c: ["forecast", "--run", c.run(), "--steps", 10**12],
        2,
        ("--steps", "more than seqcast forecasts"),
    ),
    Case(
        "stateful difference run, forecast --data with one row per series",
        _one_row_history,
        1,
        ("one.csv", "series 'A' has 1 row before the forecast origin", "needs at least 2", "difference"),
    ),
    Case(
        "forecast --data with a value past float32 once scaled",
        _huge_history,
        1,
        ("huge.csv", "series 'B' has values too large for the model's float32 units once scaled"),
    ),
]
CASES += HOSTILE


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, write_project: WriteProject, request: pytest.FixtureRequest) -> None:
    keep = tmp_path / "runs" / "keep" / "precious.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("a run from yesterday")
    args = case.setup(Ctx(tmp_path, write_project, request))
    before = snapshot(tmp_path)
    res = invoke(*args)
    assert_fault(res, case.code, *case.words)
    assert keep.read_text() == "a run from yesterday"
    assert snapshot(tmp_path) == before  # nothing lost, nothing new: none of these commands writes


def test_missing_data_file_reports_the_resolved_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative data.path resolves against the config's folder, not the current directory."""
    (tmp_path / "configs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    cfg = tmp_path / "configs" / "c.yaml"
    cfg.write_text("data: {path: ../data/tanks.csv, targets: [y]}\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    res = invoke("window-preview", cfg)
    assert_fault(res, 1, "data file not found", str((tmp_path / "data" / "tanks.csv").resolve()))


def test_relative_data_path_is_read_from_the_config_folder(
    tmp_path: Path, index_csv: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "data" / "d.csv").write_text(index_csv(40))
    (tmp_path / "elsewhere" / "d.csv").write_text("garbage\n")
    cfg = tmp_path / "configs" / "c.yaml"
    cfg.write_text("data: {path: ../data/d.csv, time_column: year, targets: [y]}\nwindows: {look_back: 4}\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.stderr


# ---------------------------------------------------------------------------------------------
# run directories: refused, replaced only when complete, nothing left by a failed train


def test_existing_run_directory_is_refused_without_overwrite(tmp_path: Path, write_project: WriteProject) -> None:
    import keras  # noqa: F401  (a missing Keras fails these tests, never skips them)

    cfg = write_project(output={"dir": "runs/mine"})
    old = tmp_path / "runs" / "mine"
    old.mkdir(parents=True)
    (old / "model.keras").write_text("yesterday's model")
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--set", "training.epochs=1", "--quiet")
    assert_fault(res, 2, "output.dir", str(old), "already exists", "--overwrite")
    assert snapshot(tmp_path) == before


def test_an_output_dir_through_dot_dot_is_named_without_it(tmp_path: Path, write_project: WriteProject) -> None:
    cfg = write_project()
    old = tmp_path / "runs" / "mine"
    old.mkdir(parents=True)
    (old / "model.keras").write_text("yesterday's model")
    (tmp_path / "sub").mkdir()
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--quiet", "--output-dir", tmp_path / "sub" / ".." / "runs" / "mine")
    assert_fault(res, 2, "output.dir", f"{old.resolve()} already exists", "--overwrite")
    assert ".." not in res.stderr
    assert snapshot(tmp_path) == before


def test_failed_train_with_overwrite_keeps_the_old_run(
    tmp_path: Path, write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--overwrite replaces the old folder only once the new run is complete: a crash in fit() keeps it."""
    import keras  # noqa: F401  (a missing Keras fails these tests, never skips them)

    from seqcast import pipeline

    def broken_fit(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(pipeline, "fit", broken_fit)
    cfg = write_project(output={"dir": "runs/mine"})
    old = tmp_path / "runs" / "mine"
    old.mkdir(parents=True)
    (old / "model.keras").write_text("yesterday's model")
    (old / ".seqcast-run").write_text("a run seqcast wrote\n")
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--overwrite", "--quiet")
    assert res.exit_code == 1 and "the GPU caught fire" in res.stderr
    assert "Traceback" not in res.output
    assert snapshot(tmp_path) == before  # no partial folder, no checkpoint, runs/latest untouched


def test_data_error_in_train_leaves_nothing_on_disk(tmp_path: Path, write_project: WriteProject) -> None:
    import keras  # noqa: F401  (a missing Keras fails these tests, never skips them)

    cfg = write_project(csv_rows(*years(39), "2039,"), output={"dir": "runs/new"})
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--overwrite", "--quiet")
    assert_fault(res, 1, "line(s) [41]", "data.missing")
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "runs").exists()


def test_overwrite_replaces_the_run_once_complete(tmp_path: Path, trained_run: Path) -> None:
    """The module's run was trained; retrain over a non-empty folder with --overwrite: the new run is complete."""
    from seqcast.rundir import RUN_FILES

    cfg = tiny_config(tmp_path)
    old = tmp_path / "run"
    old.mkdir()
    for name in ("model.keras", "updates.csv", ".metrics.json.x1y2.seqcast-tmp"):  # a write's temporary file too
        (old / name).write_text("old")
    (old / ".seqcast-run").write_text("a run seqcast wrote\n")
    res = invoke("train", cfg, "--output-dir", old, "--overwrite", "--quiet")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in old.iterdir()) == sorted([*RUN_FILES, ".seqcast-run"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging or checkpoint left


def test_overwrite_refuses_a_run_holding_the_user_files(tmp_path: Path, trained_run: Path) -> None:
    """A forecast and a plot the user saved into a run directory are theirs: --overwrite, which replaces the run as
    a whole, refuses before training and names them; nothing is lost."""
    cfg = tiny_config(tmp_path)
    old = tmp_path / "run"
    old.mkdir()
    for name in ("model.keras", "my_forecast.csv", "my_plot.png"):
        (old / name).write_text("old")
    (old / ".seqcast-run").write_text("a run seqcast wrote\n")
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--output-dir", old, "--overwrite", "--quiet")
    assert_fault(res, 2, "output.dir", str(old), "my_forecast.csv, my_plot.png", "would delete them", "move them")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------------------
# forecast --output is written atomically


def test_failed_forecast_keeps_the_existing_output(tmp_path: Path, trained_run: Path) -> None:
    out = tmp_path / "forecast.csv"
    out.write_text("last week's forecast\n")
    fut = future_csv(tmp_path / "future.csv", ["2022-02-10"])
    res = invoke("forecast", "--run", trained_run, "--steps", 3, "--future", fut, "--output", out)
    assert_fault(res, 1, "2022-02-11")
    assert out.read_text() == "last week's forecast\n"


def test_forecast_output_failing_mid_write_keeps_the_existing_output(
    tmp_path: Path, trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqcast import rundir

    def full_disk(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rundir.os, "replace", full_disk)
    out = tmp_path / "forecast.csv"
    out.write_text("last week's forecast\n")
    fut = future_csv(tmp_path / "future.csv", ["2022-02-10", "2022-02-11"])
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", out)
    assert_fault(res, 1, "forecast.csv", "No space left on device")
    assert out.read_text() == "last week's forecast\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast.csv", "future.csv"]  # no temporary file left


def test_forecast_output_is_written(tmp_path: Path, trained_run: Path) -> None:
    out = tmp_path / "forecast.csv"
    out.write_text("last week's forecast\n")
    fut = future_csv(tmp_path / "future.csv", ["2022-02-10", "2022-02-11"])
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", out)
    assert res.exit_code == 0, res.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "series,time,y" and len(lines) == 5
    assert "not read" not in res.stderr
    with fut.open("a") as fh:  # a series the run does not have (a typo): its rows are not read, and that is said
        fh.write("2022-02-10,Z,0.5\n2022-02-11,Z,0.5\n")
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", out)
    assert res.exit_code == 0, res.stderr
    said = " ".join(res.stderr.split())
    assert "the --future file has rows of series the forecast does not cover ('Z'): not read" in said, said
    assert out.read_text().splitlines() == lines


# ---------------------------------------------------------------------------------------------
# security


def test_yaml_python_tags_are_rejected_and_run_nothing(tmp_path: Path, write_project: WriteProject) -> None:
    marker = tmp_path / "pwned"
    cfg = write_project(
        raw=f"data:\n  path: !!python/object/apply:os.system ['touch {marker}']\n  targets: [y]\n",
    )
    res = invoke("window-preview", cfg)
    assert_fault(res, 2, "cfg.yaml", "line 2", "python/object/apply:os.system")
    assert not marker.exists()


def test_set_values_are_parsed_safely(tmp_path: Path, write_project: WriteProject) -> None:
    marker = tmp_path / "pwned"
    res = invoke(
        "window-preview", write_project(), "--set", f"data.path=!!python/object/apply:os.system ['touch {marker}']"
    )
    assert_fault(res, 2, "--set data.path", "not valid YAML")
    assert not marker.exists()


def _source() -> dict[str, str]:
    files = {p.name: p.read_text() for p in sorted(SRC.rglob("*.py"))}
    assert "cli.py" in files and len(files) > 10, f"no source found under {SRC}: the scans below would pass on nothing"
    return files


def test_no_pickle_anywhere_in_src() -> None:
    for name, text in _source().items():
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve)\b", text, re.M), name
        assert "allow_pickle=True" not in text, name
        assert "pickle.load" not in text, name


def test_yaml_is_only_read_with_safe_load() -> None:
    for name, text in _source().items():
        assert not re.search(r"yaml\.(load|unsafe_load|full_load|load_all)\(", text), name
        assert "yaml.Loader" not in text and "UnsafeLoader" not in text and "FullLoader" not in text, name
        for base in re.findall(r"class \w+\(yaml\.(\w+)\)", text):  # a loader of seqcast's own: a safe one
            assert base == "SafeLoader", (name, base)


def test_keras_models_load_with_safe_mode() -> None:
    calls = 0
    for name, text in _source().items():
        for m in re.finditer(r"load_model\(", text):
            call = text[m.start() : text.find("\n", m.start())]
            assert "safe_mode=True" in call, f"{name}: {call}"
            calls += 1
        assert "safe_mode=False" not in text, name
        assert "enable_unsafe_deserialization" not in text, name
    assert calls >= 1


# ---------------------------------------------------------------------------------------------
# round two (issue #12): run directories, outputs and documents


def _marked_run(path: Path, text: str = "yesterday's model") -> Path:
    path.mkdir(parents=True)
    (path / "model.keras").write_text(text)
    (path / ".seqcast-run").write_text("a run seqcast wrote\n")
    return path


def test_a_second_train_into_the_same_output_dir_is_stopped_by_the_lock(
    tmp_path: Path, write_project: WriteProject
) -> None:
    from seqcast import rundir

    cfg = write_project(csv_rows(*years(40)), output={"dir": "runs/mine"})
    target = tmp_path / "runs" / "mine"
    target.parent.mkdir(parents=True, exist_ok=True)
    with rundir.lock(target):  # the first train, still running
        before = snapshot(tmp_path)
        res = invoke("train", cfg, "--set", "training.epochs=1", "--quiet")
        assert_fault(res, 1, "runs/mine", f"another seqcast train (process {os.getpid()}) is writing this run")
        assert snapshot(tmp_path) == before
        checkpoint = rundir.checkpoint_dir(target)  # its checkpoint, written after its first epoch
        checkpoint.mkdir()
        (checkpoint / "state.json").write_text("{}")
        before = snapshot(tmp_path)
        res = invoke("train", cfg, "--set", "training.epochs=1", "--quiet")  # not "an interrupted training's"
        assert_fault(res, 1, "runs/mine", f"another seqcast train (process {os.getpid()}) is writing this run")
        assert snapshot(tmp_path) == before
        shutil.rmtree(checkpoint)
    assert not (target.parent / ".mine.lock").exists()  # released and removed
    res = invoke("train", cfg, "--set", "training.epochs=1", "--quiet")
    assert res.exit_code == 0, res.stderr


def test_an_interrupt_during_the_final_backtest_keeps_the_old_run(
    tmp_path: Path, write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqcast import evaluate

    def ctrl_c(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "backtest_run", ctrl_c)
    cfg = write_project(csv_rows(*years(40)), output={"dir": "runs/mine"})
    _marked_run(tmp_path / "runs" / "mine")
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--set", "training.epochs=1", "--overwrite", "--quiet")
    assert res.exit_code == 130 and "interrupted" in res.stderr
    assert said(res, "the checkpoint of the training so far is kept at", ".mine.checkpoint", "--resume")
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("runs/.mine.checkpoint")}
    assert after == before  # the old run as it was, no partial folder or lock: only the checkpoint is new


def test_an_interrupt_after_the_run_is_in_place_says_the_run_was_written(
    tmp_path: Path, write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C once the new run has replaced the old one (here while runs/latest is pointed at it): exit 130, and the
    message says the run was written whole; it said only "interrupted", as if the old run were still there."""
    from seqcast import rundir

    def ctrl_c(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(rundir, "point_latest", ctrl_c)
    cfg = write_project(csv_rows(*years(40)), output={"dir": "runs/mine"})
    _marked_run(tmp_path / "runs" / "mine")
    res = invoke("train", cfg, "--set", "training.epochs=1", "--overwrite", "--quiet")
    assert res.exit_code == 130, res.output
    assert said(res, f"interrupted after writing {tmp_path / 'runs' / 'mine'} (complete)")
    assert (tmp_path / "runs" / "mine" / "metrics.json").exists()  # the new run, whole


def test_a_full_disk_while_writing_the_run_keeps_the_old_run(
    tmp_path: Path, write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqcast import pipeline

    def full(rows: Any) -> str:
        raise OSError(28, "No space left on device", "history.csv")

    monkeypatch.setattr(pipeline, "history_csv", full)
    cfg = write_project(csv_rows(*years(40)), output={"dir": "runs/mine"})
    _marked_run(tmp_path / "runs" / "mine")
    before = snapshot(tmp_path)
    res = invoke("train", cfg, "--set", "training.epochs=1", "--overwrite", "--quiet")
    assert_fault(res, 1, "runs/mine", "No space left on device", "the existing run is unchanged")
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("runs/.mine.checkpoint")}
    assert after == before


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2 exchange", "rename aside"])
def test_overwrite_swaps_the_complete_run_in_and_leaves_nothing_beside_it(
    tmp_path: Path, write_project: WriteProject, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    from seqcast import rundir

    if not exchange:  # a file system without RENAME_EXCHANGE: the old run is renamed aside first
        monkeypatch.setattr(rundir, "_exchange", lambda a, b: False)
    cfg = write_project(csv_rows(*years(40)), output={"dir": "runs/mine"})
    _marked_run(tmp_path / "runs" / "mine")
    res = invoke("train", cfg, "--set", "training.epochs=1", "--overwrite", "--quiet")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "runs" / "mine").iterdir()) == sorted([*rundir.RUN_FILES, rundir.MARKER])
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest", "mine"]


def test_a_crash_between_the_two_renames_is_recovered_by_the_next_command(tmp_path: Path) -> None:
    """Killed after the old run was renamed aside and before the new one arrived: the next look at the run
    directory (any command) puts the old run back; a dead process's staging folder is removed."""
    from seqcast import rundir

    runs = tmp_path / "runs"
    old = _marked_run(runs / ".mine.old-999999999")  # the pid of no running process
    (runs / ".mine.partial-999999999_x").mkdir()
    target = runs / "mine"
    rundir.recover(target)
    assert (target / "model.keras").read_text() == "yesterday's model"
    assert sorted(p.name for p in runs.iterdir()) == ["mine"]
    assert not old.exists()
    mine = _marked_run(runs / f".other.old-{os.getpid()}")  # a swap of a running process is left to it
    rundir.recover(runs / "other")
    assert mine.exists() and not (runs / "other").exists()


def test_a_complete_run_is_not_failed_by_runs_latest(tmp_path: Path, write_project: WriteProject) -> None:
    """`runs` is a file of the user's: the run is written elsewhere and complete; runs/latest cannot be made."""
    cfg = write_project(csv_rows(*years(40)))
    (tmp_path / "runs").write_text("my notes, not a folder")
    res = invoke("train", cfg, "--set", "training.epochs=1", "--output-dir", tmp_path / "elsewhere", "--quiet")
    assert res.exit_code == 0, res.stderr
    assert said(res, "could not point", "runs/latest", "--run", "elsewhere")
    assert (tmp_path / "runs").read_text() == "my notes, not a folder"
    assert (tmp_path / "elsewhere" / "metrics.json").exists()


def test_resume_keeps_a_checkpoint_folder_that_holds_a_file_of_the_users(tmp_path: Path) -> None:
    from seqcast.checkpoint import drop_resumed

    mine = tmp_path / "ckpt"
    mine.mkdir()
    for name in ("model.keras", "state.json", "best.npz", "data.json", "command.txt", "notes.txt"):
        (mine / name).write_text(name)
    note = drop_resumed(mine, tmp_path / ".run.checkpoint")
    assert note is not None and "kept" in note and "notes.txt" in note
    assert (mine / "notes.txt").read_text() == "notes.txt"
    (mine / "notes.txt").unlink()
    assert drop_resumed(mine, tmp_path / ".run.checkpoint") is None
    assert not mine.exists()  # nothing but the checkpoint's own files: removed once the run is complete


def test_run_files_follow_the_umask(trained_run: Path) -> None:
    import stat

    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(trained_run.stat().st_mode) == 0o777 & ~mask
    for p in trained_run.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask, p.name


def test_evaluate_with_another_horizon_prints_and_keeps_metrics_json(tmp_path: Path, trained_run: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    before = (run / "metrics.json").read_text()
    for horizon in (2, 6):  # 2: the table of MAE by step shows steps 1 and 2 only
        res = invoke("evaluate", "--run", run, "--horizon", horizon)
        assert res.exit_code == 0, res.stderr
        assert f"horizon {horizon}" in res.stdout
    assert (run / "metrics.json").read_text() == before


def test_forecast_output_over_a_file_of_the_run_is_refused(tmp_path: Path, trained_run: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    before = snapshot(run)
    fut = future_csv(tmp_path / "future.csv", ["2022-02-10", "2022-02-11"])
    for option, name in (("--output", "model.keras"), ("--plot", "state.npz")):
        res = invoke("forecast", "--run", run, "--steps", 2, "--future", fut, option, run / name)
        assert_fault(res, 2, option, name, "file of the run directory")
    assert snapshot(run) == before
    for _ in range(2):  # a file of the user's inside the run: theirs to write, and to replace
        res = invoke("forecast", "--run", run, "--steps", 2, "--future", fut, "--output", run / "forecast.csv")
        assert res.exit_code == 0, res.stderr
        assert (run / "forecast.csv").read_text().startswith("series,time,y\n")


def test_preview_json_with_a_plot_that_cannot_be_written_prints_no_document(
    tmp_path: Path, write_project: WriteProject
) -> None:
    (tmp_path / "notadir").write_text("a file")
    res = invoke("window-preview", write_project(), "--json", "--plot", tmp_path / "notadir" / "x.png")
    assert_fault(res, 1, "notadir is a file")
    assert res.stdout == ""


def test_evaluate_with_a_horizon_longer_than_the_test_part_names_the_option(tmp_path: Path, trained_run: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    before = snapshot(run)
    res = invoke("evaluate", "--run", run, "--horizon", 500)
    assert_fault(
        res,
        2,
        "--horizon: the test part is shorter than --horizon=500 in every series (the longest has 8 rows): no "
        "backtest origin",
        "lower --horizon",
    )
    assert "or train again with a larger data.split.test" in res.stderr  # a key of the trained run's
    assert "evaluate.horizon" not in res.stderr  # the user passed an option, not a config key
    assert snapshot(run) == before


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command_adds_the_traceback_and_keeps_the_exit_code(
    tmp_path: Path, trained_run: Path, where: str
) -> None:
    args = ["evaluate", "--run", tmp_path / "nowhere"]
    res = invoke(*(["--debug", *args] if where == "before" else [*args, "--debug"]))
    assert res.exit_code == invoke(*args).exit_code == 2  # --run names no run: a usage error
    assert "Traceback" in res.stderr and res.stderr.count("error:") == 1
    assert said(res, str(tmp_path / "nowhere"))
    assert "Traceback" not in invoke(*args).stderr  # the flag does not outlive its command


def test_evaluate_json_is_strict_with_null_and_a_reason(tmp_path: Path, trained_run: Path) -> None:
    """A target constant before the test part has no MASE scale: null with mase_why, never a bare NaN."""
    import json
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    flat = tmp_path / "flat.csv"
    flat.write_text(
        "time,series,y,x\n"
        + "".join(
            f"2022-{1 + t // 31:02d}-{1 + t % 31:02d},{s},{0.5 if t < 35 else t},0.1\n" for s in "AB" for t in range(40)
        )
    )
    doc = yaml.safe_load((run / "config.yaml").read_text())
    doc["data"]["path"] = str(flat)
    (run / "config.yaml").write_text(yaml.safe_dump(doc))

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    res = invoke("evaluate", "--run", run, "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout, parse_constant=no_constants)
    assert out["model"]["mase"] is None and "constant" in out["model"]["mase_why"]
    assert out["per_target"]["y"]["naive"]["mase"] is None
    json.loads((run / "metrics.json").read_text(), parse_constant=no_constants)
    # every null says why: no scale to divide by, not "not a number" (each series' MASE, the validation part's)
    reasons = [v for k, v in _walk(out) if k.endswith("_why")]
    assert reasons and all(r == NO_SCALE for r in reasons), set(reasons)
    assert out["per_series"]["A"] == {"model": None, "naive": None, "seasonal_naive": None, "model_why": NO_SCALE,
                                      "naive_why": NO_SCALE, "seasonal_naive_why": NO_SCALE}  # fmt: skip
    shown = invoke("evaluate", "--run", run)  # the tables: n/a where a score has no scale, and why, never "nan"
    assert shown.exit_code == 0, shown.stderr
    assert "nan" not in shown.stdout and "n/a" in shown.stdout
    assert f"n/a: {NO_SCALE}" in " ".join(shown.stdout.split())


def _walk(doc: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a JSON document, at any depth."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _walk(v)


def test_terminal_control_codes_in_names_are_shown_escaped(tmp_path: Path, write_project: WriteProject) -> None:
    red = "\x1b[31mRED\x1b[0m"
    csv = "year,s,y\n" + "".join(f"{2000 + i},{name},{i}\n" for name in (red, "B") for i in range(40))
    res = invoke("window-preview", write_project(csv, data={"series_column": "s"}))
    assert res.exit_code == 0, res.stderr
    assert "\x1b" not in res.stdout
    assert "\\x1b[31mRED\\x1b[0m" in res.stdout


def test_forecast_output_through_a_symlink_writes_its_target(tmp_path: Path, trained_run: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "out.csv"
    link.symlink_to(real)
    fut = future_csv(tmp_path / "future.csv", ["2022-02-10", "2022-02-11"])
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", link)
    assert res.exit_code == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().splitlines()[0] == "series,time,y"


def test_forecast_output_dash_writes_the_csv_to_stdout(tmp_path: Path, trained_run: Path) -> None:
    import csv as _csv
    import io

    fut = future_csv(tmp_path / "future.csv", ["2022-02-10", "2022-02-11"])
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", "-")
    assert res.exit_code == 0, res.stderr
    rows = list(_csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["series", "time", "y"] and len(rows) == 5
    assert "forecast: 2 steps for 2 series" in res.stderr and "wrote 4 rows to stdout" in res.stderr
    assert not (tmp_path / "-").exists()


def test_plot_draws_the_first_series_of_many_and_says_so(tmp_path: Path, trained_run: Path) -> None:
    import numpy as np

    from seqcast.data import Dataset, Series
    from seqcast.plot import PLOT_SERIES, plot_forecast
    from seqcast.run import load_run

    run = load_run(trained_run)
    days = np.datetime64("2022-01-01", "ns") + np.arange(30).astype("timedelta64[D]")
    many = [Series(f"S{i}", days, np.zeros((30, 2))) for i in range(40)]
    ds = Dataset(many, ["y"], ["x"], "datetime", run.freq, "mem")
    future = [days[-1] + np.arange(1, 4).astype("timedelta64[D]") for _ in many]
    drawn = plot_forecast(run, ds, future, np.zeros((40, 3, 1)), tmp_path / "p.png")
    assert drawn == PLOT_SERIES == 12
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_window_preview_plot_into_a_missing_folder_creates_it(tmp_path: Path, write_project: WriteProject) -> None:
    res = invoke("window-preview", write_project(), "--plot", tmp_path / "new" / "layout.png")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "new" / "layout.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("name", "magic"), [("l.svg", b"<?xml"), ("l.pdf", b"%PDF"), ("l.JPG", b"\xff\xd8\xff"), ("layout", b"\x89PNG")]
)
def test_a_plot_is_written_in_the_format_its_suffix_names(
    tmp_path: Path, write_project: WriteProject, name: str, magic: bytes
) -> None:
    res = invoke("window-preview", write_project(), "--plot", tmp_path / name)
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / name).read_bytes().startswith(magic)


@pytest.mark.parametrize("command", ["window-preview", "forecast", "evaluate"])
def test_a_plot_suffix_that_names_no_format_is_refused_before_any_work(
    tmp_path: Path, write_project: WriteProject, trained_run: Path, command: str
) -> None:
    """A .gif got PNG bytes before; now every command refuses it first, naming --plot, and writes nothing."""
    args: list[object] = {
        "window-preview": [write_project()],
        "forecast": ["--run", trained_run, "--steps", 2, "--output", tmp_path / "f.csv"],
        "evaluate": ["--run", trained_run],
    }[command]
    before = snapshot(tmp_path)
    res = invoke(command, *args, "--plot", tmp_path / "out.gif")
    assert_fault(res, 2, "--plot", "out.gif", ".gif is none of them", "out.png")
    assert snapshot(tmp_path) == before


def test_parameter_count_is_what_keras_counts() -> None:
    from seqcast.config import validate
    from seqcast.model import build_model, parameter_count

    for kind in ("many_to_one", "many_to_many", "encoder_decoder"):
        for cell in ("lstm", "gru", "simple_rnn"):
            raw = {
                "data": {"path": "x.csv", "targets": ["a", "b"], "features": ["c"]},
                "windows": {"horizon": 3},
                "model": {"kind": kind, "cell": cell, "units": [5, 4]},
            }
            cfg = validate(raw, source="x", base_dir=Path("."))
            assert parameter_count(cfg, 3, 2) == build_model(cfg, 3, 2).count_params(), (kind, cell)


def test_forecast_output_into_a_pipe_writes_it_and_leaves_the_pipe(tmp_path: Path, trained_run: Path) -> None:
    """A path that is no regular file (a pipe, /dev/stdout) is written directly, never replaced by a file."""
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    fut = future_csv(tmp_path / "future.csv", ["2022-02-10", "2022-02-11"])
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", pipe)
    reader.join(timeout=30)
    assert res.exit_code == 0, res.stderr
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert got and got[0].decode().splitlines()[0] == "series,time,y"


@pytest.mark.filterwarnings("error")  # a numpy RuntimeWarning would become an exception: "run with --debug"
def test_values_that_overflow_the_scaler_give_one_message_and_no_numpy_warning(
    tmp_path: Path, write_project: WriteProject
) -> None:
    cfg = write_project(csv_rows(*[f"{2000 + i},{'1e300' if i == 5 else i}" for i in range(40)]))
    res = invoke("train", cfg, "--set", "training.epochs=1", "--quiet")
    assert_fault(res, 1, "column 'y'", "values up to 1e+300 overflow the standard scaler")


def _run_on_a_copy_of_its_data(tmp_path: Path, trained_run: Path) -> tuple[Path, Path]:
    """A copy of the trained run whose config.yaml reads a copy of its data file: (run, data)."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    data = tmp_path / "sine.csv"
    shutil.copy(cfg["data"]["path"], data)
    cfg["data"]["path"] = str(data)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return run, data


def test_evaluate_on_a_moved_data_file_points_to_the_runs_own_config(tmp_path: Path, trained_run: Path) -> None:
    """The data file moved since training: the config to edit is the run's config.yaml, not the user's."""
    run, data = _run_on_a_copy_of_its_data(tmp_path, trained_run)
    data.rename(tmp_path / "moved.csv")
    before = snapshot(tmp_path)
    res = invoke("evaluate", "--run", run)
    assert_fault(res, 1, f"{data}: data file not found", f"set data.path in {run / 'config.yaml'} to where it is now")
    assert snapshot(tmp_path) == before


def test_evaluate_on_changed_data_says_how_and_keeps_metrics_json(tmp_path: Path, trained_run: Path) -> None:
    import pandas as pd

    run, data = _run_on_a_copy_of_its_data(tmp_path, trained_run)
    res = invoke("evaluate", "--run", run, "--json")
    assert res.exit_code == 0 and "changed" not in res.stderr  # the same data: no note, metrics.json rewritten
    before = (run / "metrics.json").read_bytes()
    frame = pd.read_csv(data)
    last_a = frame.index[frame.series == "A"][-1]
    frame.assign(y=frame.y.where(frame.index != last_a, frame.y * 3)).to_csv(data, index=False)  # one test value
    res = invoke("evaluate", "--run", run, "--json")
    assert res.exit_code == 0, res.stderr
    assert said(res, f"the data file {data} has changed since the run was trained (series 'A' has other values)")
    assert said(res, "the run's metrics.json is kept as train wrote it")
    assert json.loads(res.stdout)["origins"] > 0
    assert (run / "metrics.json").read_bytes() == before
    pre = json.loads((run / "preprocess.json").read_text())  # a run from before values_sha256: the training ranges
    for doc in pre["series"]:
        del doc["values_sha256"]
    (run / "preprocess.json").write_text(json.dumps(pre))
    res = invoke("evaluate", "--run", run, "--json")
    assert res.exit_code == 0 and "changed" not in res.stderr  # the training parts are as they were
    before = (run / "metrics.json").read_bytes()  # (so it was scored and written)
    frame.assign(y=frame.y * 1000).to_csv(data, index=False)
    res = invoke("evaluate", "--run", run, "--json")
    assert said(res, "series 'A' has other values in its training part; series 'B' has other values in its")
    assert (run / "metrics.json").read_bytes() == before
    frame[frame.series == "A"].iloc[:-2].to_csv(data, index=False)  # B is gone, A lost its last two rows
    res = invoke("evaluate", "--run", run, "--json")
    assert res.exit_code == 0, res.stderr
    rows = int((frame.series == "A").sum())
    assert said(res, f"series 'A' had {rows} rows", f"now {rows - 2}", "series 'B' is no longer in it")
    assert (run / "metrics.json").read_bytes() == before


def test_a_target_without_a_mase_scale_is_explained_under_its_table(
    tmp_path: Path, write_project: WriteProject
) -> None:
    """z is constant before the test part: its MASE is n/a, and the line under the table says why, though the
    overall scores (over y, which has a scale) are numbers."""
    from seqcast.config import load_config
    from seqcast.pipeline import train_run

    csv = "year,y,z\n" + "".join(f"{2000 + k},{k},{5 if k < 32 else k % 3}\n" for k in range(40))
    cfg = write_project(csv, data={"targets": ["y", "z"]})
    run = train_run(load_config(cfg, ["training.epochs=1"]), output_dir=tmp_path / "run").run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["per_target"]["z"]["model"]["mase"] is None and metrics["model"]["mase"] is not None
    shown = invoke("evaluate", "--run", run)
    assert shown.exit_code == 0, shown.stderr
    assert f"n/a: {NO_SCALE}" in " ".join(shown.stdout.split())


def test_times_of_another_kind_than_the_runs_are_refused_one_row_per_series_too(
    tmp_path: Path, write_project: WriteProject
) -> None:
    """20240411 is a whole number, not a date: in a dated run's new rows, history or --future file it is refused
    naming the file and both kinds (a file of one row per series has no step of its own to tell it by: update
    crashed, forecast --data blamed --steps), and nothing changes; so is a date in a run of years."""
    from seqcast.config import load_config
    from seqcast.pipeline import train_run

    days = [f"2024-{1 + k // 31:02d}-{1 + k % 31:02d}" for k in range(93) if k % 31 < (31, 29, 31)[k // 31]]
    csv = "time,id,y,x\n" + "".join(f"{d},{n},{k % 7 + 10 * j},{k % 3}\n" for j, n in enumerate("AB")
                                       for k, d in enumerate(days))  # fmt: skip
    cfg = write_project(csv, data={"time_column": "time", "series_column": "id", "features": ["x"]})
    run = train_run(load_config(cfg, ["training.epochs=1"]), output_dir=tmp_path / "run").run_dir
    whole = tmp_path / "whole.csv"  # the next day, written as a number: one row per series
    whole.write_text("time,id,y,x\n20240401,A,3,1\n20240401,B,13,1\n")
    before = snapshot(tmp_path)
    kinds = "times read as whole numbers (20240401 first), but the run was trained on dates (2024-03-31 last)"
    assert_fault(invoke("update", "--run", run, "--data", whole), 1, "whole.csv", f"the new rows have {kinds}")
    res = invoke("forecast", "--run", run, "--steps", 1, "--data", whole)
    assert_fault(res, 1, "whole.csv", f"the history has {kinds}")
    res = invoke("forecast", "--run", run, "--steps", 1, "--future", whole, "--output", tmp_path / "f.csv")
    assert_fault(res, 1, "whole.csv", f"the --future file has {kinds}")
    assert snapshot(tmp_path) == before
    cfg = write_project()  # years
    run = train_run(load_config(cfg, ["training.epochs=1"]), output_dir=tmp_path / "years").run_dir
    dated = tmp_path / "dated.csv"
    dated.write_text("year,y\n2040-01-01,40\n")
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", dated)
    assert_fault(res, 1, "dated.csv", "the new rows have times read as dates (2040-01-01 first), but the run was "
                 "trained on whole numbers (2039 last)")  # fmt: skip
    assert snapshot(tmp_path) == before


def test_a_history_without_the_runs_utc_offsets_is_refused(tmp_path: Path, write_project: WriteProject) -> None:
    from seqcast.config import load_config
    from seqcast.pipeline import train_run

    rows = [(f"2024-03-{1 + h // 24:02d}T{h % 24:02d}:00:00", f"{(h * 7) % 11 / 3:.4f}") for h in range(60)]
    cfg = write_project("time,y\n" + "".join(f"{t}+01:00,{y}\n" for t, y in rows), data={"time_column": "time"})
    run = train_run(load_config(cfg, ["training.epochs=1"]), output_dir=tmp_path / "run").run_dir
    assert json.loads((run / "preprocess.json").read_text())["time_utc"] is True
    naive = tmp_path / "naive.csv"
    naive.write_text("time,y\n" + "".join(f"{t},{y}\n" for t, y in rows))
    before = snapshot(tmp_path)
    res = invoke("forecast", "--run", run, "--steps", 2, "--data", naive)
    assert_fault(res, 1, "naive.csv", "the history has times with no UTC offsets, but the run's training data had them")
    res = invoke("update", "--run", run, "--data", naive)
    assert_fault(res, 1, "naive.csv", "the new rows have times with no UTC offsets")
    assert snapshot(tmp_path) == before
    res = invoke("forecast", "--run", run, "--steps", 2, "--data", tmp_path / "data.csv", "--output", "-")
    assert res.exit_code == 0, res.stderr  # the training file itself: offsets, like the run's
    assert res.stdout.splitlines()[1].startswith("2024-03-03 11:00:00+00:00,")  # 12:00+01:00, one hour on, in UTC
    assert said(res, "time (UTC)")  # the printed table says so too
    (tmp_path / "forecast.csv").write_text(res.stdout)
    res = invoke("update", "--run", run, "--data", tmp_path / "forecast.csv", "--json")  # seqcast reads its own
    assert res.exit_code == 0 and json.loads(res.stdout)["rows_added"] == 2, res.stderr
    doc = json.loads(res.stdout)  # its times in UTC, and saying so
    assert doc["time_utc"] is True and doc["series"][""]["last_time"] == "2024-03-03 12:00"
    (tmp_path / "off.csv").write_text("time,y\n2024-03-03T14:30:00+01:00,1\n")  # 13:30 UTC: off the hourly grid
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", tmp_path / "off.csv")
    assert_fault(res, 1, "off.csv", "the new row at 2024-03-03 13:30 UTC (line 2) is not on the run's time grid "
                 "(step h, from 2024-03-03 12:00 UTC)")  # fmt: skip
    assert snapshot(tmp_path) == before
    # the stray row first, then rows on the grid: still the stray one named, on the run's grid (not 14:00 named as
    # off a grid drawn from 13:30)
    (tmp_path / "off.csv").write_text("time,y\n2024-03-03T14:30:00+01:00,1\n2024-03-03T15:00:00+01:00,2\n")
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", tmp_path / "off.csv")
    assert_fault(res, 1, "off.csv", "the new row at 2024-03-03 13:30 UTC (line 2) is not on the run's time grid "
                 "(step h, from 2024-03-03 12:00 UTC)", "hint: put the new rows on the run's time grid")  # fmt: skip
    assert snapshot(tmp_path) == before
    (tmp_path / "on.csv").write_text("time,y\n2024-03-03T14:00:00+01:00,1\n")
    res = invoke("update", "--run", run, "--data", tmp_path / "on.csv")
    assert res.exit_code == 0 and "last time (UTC)" in res.stdout and "2024-03-03 13:00 " in res.stdout, res.output


def test_update_with_a_missing_timestamp_says_the_run_decides_how_gaps_are_read(
    tmp_path: Path, write_project: WriteProject
) -> None:
    """The run's own data.missing (error here) reads update's rows; the hint says so, not "set data.missing" (in
    the user's config, where it changes nothing until the next train)."""
    from seqcast.config import load_config
    from seqcast.pipeline import train_run

    rows = [(f"2024-03-{1 + h // 24:02d}T{h % 24:02d}:00:00", f"{(h * 7) % 11 / 3:.4f}") for h in range(60)]
    cfg = write_project("time,y\n" + "".join(f"{t},{y}\n" for t, y in rows), data={"time_column": "time"})
    run = train_run(load_config(cfg, ["training.epochs=1"]), output_dir=tmp_path / "run").run_dir
    new = tmp_path / "new.csv"
    new.write_text("time,y\n2024-03-03T13:00:00,1.0\n2024-03-03T14:00:00,2.0\n")  # 12:00, after the last, missing
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", new)
    assert_fault(
        res, 1, "new.csv", "1 missing timestamp(s) between its last known row (2024-03-03 11:00)",
        "first 2024-03-03 12:00", "send the missing rows", "this run's config.yaml holds the setting",
    )  # fmt: skip
    assert snapshot(tmp_path) == before


def test_update_names_every_series_with_a_missing_timestamp_not_the_first_only(
    tmp_path: Path, write_project: WriteProject
) -> None:
    """Three of four series miss rows in the new file: one message names all three, each with its count and first
    missing time, so that one round of fixing the file is enough; nothing is written."""
    from seqcast.config import load_config
    from seqcast.pipeline import train_run

    names = ["A", "B", "C", "D"]
    csv = "id,year,y\n" + "".join(f"{n},{2000 + t},{t + 10 * k}\n" for k, n in enumerate(names) for t in range(30))
    cfg = write_project(csv, data={"series_column": "id"})
    run = train_run(load_config(cfg, ["training.epochs=1"]), output_dir=tmp_path / "run").run_dir
    new = tmp_path / "new.csv"  # after 2029: A misses 2030, C 2030 and 2031, D 2031; B is whole
    rows = {"A": [2031, 2032], "B": [2030, 2031, 2032], "C": [2032], "D": [2030, 2032]}
    new.write_text("id,year,y\n" + "".join(f"{n},{y},{y - 1970}\n" for n, ys in rows.items() for y in ys))
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", new)
    assert_fault(
        res, 1, "new.csv", "series 'A': 1 missing timestamp(s) between its last known row (2029) and the new rows, "
        "first 2030; also series 'C' (2, first 2030), series 'D' (1, first 2031)", "send the missing rows",
    )  # fmt: skip
    assert "'B'" not in res.stderr
    assert snapshot(tmp_path) == before
    order = ["D", "A", "B", "C"]  # D first: its hole is among its new rows, not between them and its last known row
    new.write_text("id,year,y\n" + "".join(f"{n},{y},{y - 1970}\n" for n in order for y in rows[n]))
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", new)
    assert_fault(
        res, 1, "series 'D': 1 missing timestamp(s) after its last known row (2029), first 2031; also series 'A'",
    )  # fmt: skip
    assert snapshot(tmp_path) == before
    # a blank cell is no missing timestamp: B's row 2031 is there, named by its line, not listed with A's hole,
    # which the same message names after it
    new.write_text("id,year,y\nA,2030,60\nA,2032,62\nB,2030,60\nB,2031,\nB,2032,62\n")
    before = snapshot(tmp_path)
    res = invoke("update", "--run", run, "--data", new)
    assert_fault(
        res, 1, "new.csv", "missing, NaN or infinite values in column(s) ['y'] of series 'B' at line(s) [5]; and 1 "
        "missing timestamp(s) of series 'A' at a step of 1, first 2031", "fill them in the new rows",
    )  # fmt: skip
    assert "also series 'B'" not in res.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failing", ["target.csv", "b.csv", "c.csv"])
def test_files_written_together_all_come_back_when_a_later_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """together(): the files renamed into place before the failing rename get their old content back (a symbolic
    link's target too), a file that was new goes again, and no temporary file is left."""
    from seqcast import files
    from seqcast.errors import DataError

    old = {"a.csv": "old a\n", "target.csv": "the link's target\n", "c.csv": "old c\n"}
    for name, text in old.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "linked.csv").symlink_to("target.csv")
    real_replace = os.replace
    renamed: list[str] = []

    def replace(src: str, dst: object) -> None:
        if Path(str(dst)).name == failing:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]
        renamed.append(Path(str(dst)).name)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(DataError, match="No space left on device") as err, files.together():
        for name in ["a.csv", "linked.csv", "b.csv", "c.csv"]:  # b.csv is new; linked.csv writes target.csv
            files.atomic_write(tmp_path / name, f"new {name}\n".encode())
    assert err.value.where == str(tmp_path / failing)
    order = ["a.csv", "target.csv", "b.csv", "c.csv"]
    assert renamed[: order.index(failing)] == order[: order.index(failing)]  # these were replaced, then put back
    for name, text in old.items():
        assert (tmp_path / name).read_text() == text
    assert (tmp_path / "linked.csv").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "c.csv", "linked.csv", "target.csv"]


def test_a_replaced_file_keeps_its_own_permissions(tmp_path: Path) -> None:
    from seqcast import files

    private = tmp_path / "forecast.csv"
    private.write_text("old\n")
    private.chmod(0o600)  # the user's choice: only they may read their forecasts
    files.atomic_write(private, b"new\n")
    assert private.read_text() == "new\n" and (private.stat().st_mode & 0o777) == 0o600


def test_strict_json_keeps_a_why_the_document_gives_before_its_number() -> None:
    from seqcast import files

    doc = {"mase_why": "no MASE scale", "mase": float("nan"), "mae": float("inf")}
    assert json.loads(files.strict_json(doc)) == {
        "mase_why": "no MASE scale",
        "mase": None,
        "mae": None,
        "mae_why": "infinite",
    }


@pytest.mark.parametrize("name", ["updates.csv", ".seqcast-run", "model.keras"])
def test_an_output_over_any_file_a_run_directory_holds_of_its_own_is_refused(tmp_path: Path, name: str) -> None:
    from seqcast import files
    from seqcast.errors import ConfigError
    from seqcast.rundir import MARKER

    run = tmp_path / "run"
    run.mkdir()
    (run / MARKER).write_text("")
    with pytest.raises(ConfigError, match="is a file of the run directory"):
        files.check_output(run / name, "--output", {})
    files.check_output(run / "forecast.csv", "--output", {})  # the user's own file there is theirs


def test_an_output_naming_a_protected_file_by_another_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The --data file given relative to the working folder, or reached through a symbolic link, is still the
    file the output would replace."""
    from seqcast import files
    from seqcast.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "new.csv").write_text("year,y\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "new.csv")
    for output, given in [("new.csv", "new.csv"), (tmp_path / "new.csv", "link.csv"), ("link.csv", "new.csv")]:
        with pytest.raises(ConfigError, match="is the --data file"):
            files.check_output(Path(output), "--output", {"the --data file": Path(given)})
    files.check_output(Path("other.csv"), "--output", {"the --data file": Path("new.csv")})
    for table in ("old.csv", "old.TXT", "old.parquet"):  # an earlier forecast's file is replaced, as users expect
        (tmp_path / table).write_text("x\n")
        files.check_output(Path(table), "--output", {})
    (tmp_path / "old").write_text("x\n")  # without a suffix it may be a Makefile: refused, for both options
    for option in ("--output", "--plot"):
        with pytest.raises(ConfigError, match="old exists and has no suffix"):
            files.check_output(Path("old"), option, {})
    files.check_output(Path("new"), "--output", {})  # a new one is written (as CSV, or a PNG for --plot)
    files.check_output(Path("new"), "--plot", {})


def test_a_file_of_the_users_at_runs_latest_is_left_alone_and_seqcasts_own_pointer_file_replaced(
    tmp_path: Path,
) -> None:
    """Where symlinks fail, runs/latest is a one-line file naming the run: that one is replaced by the next train;
    a file of the user's there (any other content) is not (it was, without a word)."""
    from seqcast.rundir import MARKER, point_latest

    new, old = tmp_path / "runs" / "new", tmp_path / "runs" / "old"
    for run in (new, old):
        run.mkdir(parents=True)
        (run / MARKER).write_text("a run seqcast wrote\n")
    latest = tmp_path / "runs" / "latest"
    latest.write_text("user file\n")
    before = snapshot(tmp_path)
    assert point_latest(new, base=tmp_path) == (
        f"{latest} is a file of yours, so it was left alone: pass --run {new} to use this run"
    )
    assert snapshot(tmp_path) == before
    for pointer in (f"{old}\n", f"{tmp_path / 'removed'}\n"):  # seqcast's own pointer, to a run or a removed one
        latest.write_text(pointer)
        assert point_latest(new, base=tmp_path) is None
        assert latest.is_symlink() and latest.resolve() == new.resolve()
        latest.unlink()
    from seqcast.errors import ConfigError, DataError
    from seqcast.rundir import resolve_run

    latest.write_text(f"{old}\n")  # the pointer, by any path to it (it was read at runs/latest only): old is
    for path in (latest, Path(os.path.relpath(latest))):  # resolved, and found to be no complete run
        with pytest.raises(DataError) as err:
            resolve_run(path)
        assert err.value.render().startswith(f"{old}: the run directory is incomplete"), err.value.render()
    latest.write_text("user file\n")  # not a pointer: no run directory
    with pytest.raises(ConfigError, match="is not a run directory"):
        resolve_run(latest)


@pytest.mark.parametrize(("marker", "what"), [(False, "a folder of yours"), (True, "a run directory")])
def test_a_real_runs_latest_folder_is_left_alone_and_named_for_what_it_is(
    tmp_path: Path, marker: bool, what: str
) -> None:
    """runs/latest is a symbolic link seqcast points at the newest run; a real folder there (the user's, or a run
    trained with --output-dir runs/latest) is never replaced, and the note says which it is."""
    from seqcast.rundir import MARKER, point_latest

    latest = tmp_path / "runs" / "latest"
    latest.mkdir(parents=True)
    (latest / "notes.txt").write_text("mine")
    if marker:
        (latest / MARKER).write_text("a run seqcast wrote\n")
    new = tmp_path / "runs" / "new"
    new.mkdir()
    before = snapshot(tmp_path)
    note = point_latest(new, base=tmp_path)
    assert note == f"{latest} is {what}{' (--output-dir runs/latest)' if marker else ''}, so it was left alone: " + (
        f"pass --run {new} to use this run"
    )
    assert snapshot(tmp_path) == before  # nothing replaced, no temporary link left


def test_a_future_file_is_read_as_far_as_the_forecast_reaches(tmp_path: Path, trained_run: Path) -> None:
    """A blank or a gap after the steps a forecast needs is no fault (a weather file with a hole next week); a file
    at another step, or off the run's grid, is named as such."""
    fut = tmp_path / "future.csv"
    days = ["2022-02-10", "2022-02-11", "2022-02-13", "2022-02-14"]  # the 12th missing: the third step
    rows = "".join(f"{d},{s},0.5\n" for s in "AB" for d in days)
    fut.write_text("time,series,x\n" + rows + "2022-02-15,A,\n2022-02-15,B,0.5\n")  # and a blank on the 15th
    res = invoke("forecast", "--run", trained_run, "--steps", 2, "--future", fut, "--output", "-")
    assert res.exit_code == 0, res.stderr
    assert len(res.stdout.splitlines()) == 1 + 2 * 2
    res = invoke("forecast", "--run", trained_run, "--steps", 3, "--future", fut)
    assert_fault(res, 1, "no future values of ['x'] for series 'A' at 2022-02-12 (the forecast reads 3 steps' values")
    early_gap = ["2022-02-07", "2022-02-09", "2022-02-10", "2022-02-11"]  # 8th missing: not why the 12th is
    fut.write_text("time,series,x\n" + "".join(f"{d},{s},0.5\n" for s in "AB" for d in early_gap))
    res = invoke("forecast", "--run", trained_run, "--steps", 3, "--future", fut)
    assert_fault(res, 1, "at 2022-02-12", "its rows of the series run from 2022-02-07 to 2022-02-11")
    assert "missing timestamp" not in res.stderr, res.stderr
    every_other = ["2022-02-10", "2022-02-12", "2022-02-14", "2022-02-16"]
    fut.write_text("time,series,x\n" + "".join(f"{d},{s},0.5\n" for s in "AB" for d in every_other))
    res = invoke("forecast", "--run", trained_run, "--steps", 3, "--future", fut)
    assert_fault(res, 1, "at 2022-02-11", "the file steps at frequency 2D, the run at frequency D")
    odd = ["2022-02-10", "2022-02-11", "2022-02-11T12:00", "2022-02-12", "2022-02-13", "2022-02-14"]
    fut.write_text("time,series,x\n" + "".join(f"{d},{s},0.5\n" for s in "AB" for d in odd))
    res = invoke("forecast", "--run", trained_run, "--steps", 3, "--future", fut)
    assert_fault(res, 1, "irregular timestamps", "hint: put the rows of the --future file on the run's time grid")
    assert "set data.resample" not in res.stderr  # a training key: this run's is fixed


def test_a_stateful_forecast_from_a_history_shorter_than_a_chunk_says_so(
    tmp_path: Path, stateful_difference_run: Path
) -> None:
    """forecast --data warms a stateful model's states on the history given: under one training chunk (num_steps
    4 here) of rows, the forecast is made and the note says how little the states saw."""
    hist = tmp_path / "short.csv"
    hist.write_text("time,series,y\n" + "".join(f"2022-03-0{d},{s},{0.1 * d}\n" for s in "AB" for d in (1, 2, 3)))
    res = invoke("forecast", "--run", stateful_difference_run, "--steps", 2, "--data", hist, "--output", "-")
    assert res.exit_code == 0, res.stderr
    assert said(res, "series 'A': its states are warmed on 3 row(s) only, fewer than one training chunk "
                "(windows.num_steps=4)", "series 'B': its states")  # fmt: skip
    hist.write_text("time,series,y\n" + "".join(f"2022-03-0{d},{s},{0.1 * d}\n" for s in "AB" for d in range(1, 6)))
    res = invoke("forecast", "--run", stateful_difference_run, "--steps", 2, "--data", hist, "--output", "-")
    assert res.exit_code == 0 and "warmed on" not in res.stderr, res.stderr


@pytest.mark.parametrize(
    ("option", "name", "hint"),
    [
        ("--output", "f.csv.gz", "name the file f.csv (or .parquet)"),  # was f.csv.csv
        ("--output", "f.v1.xlsx", "name the file f.v1.csv (or .parquet)"),
        ("--plot", "p.png.bak", "name the file p.png (or .svg, .pdf, .jpg)"),  # was p.png.png
        ("--plot", "p.gif", "name the file p.png (or .svg, .pdf, .jpg)"),
    ],
)
def test_a_wrong_suffix_gets_a_name_with_one_right_suffix(option: str, name: str, hint: str) -> None:
    from seqcast import files
    from seqcast.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        files.check_output(Path(name), option, {})
    assert err.value.hint == hint


def test_a_write_killed_before_its_rename_leaves_nothing_after_the_next_write(tmp_path: Path) -> None:
    """A forecast write killed by SIGKILL (or the OOM killer) leaves its temporary file; the next write of that file
    deletes it, and only it: not a live writer's, another host's, another file's, nor a file of the user's."""
    import signal
    import subprocess
    import sys
    import time

    from seqcast import files

    out = tmp_path / "forecast.csv"
    out.write_text("the old forecast\n")
    hang = (  # a writer stopped between its temporary file and the rename
        "import os, sys, time; from pathlib import Path; from seqcast import files; "
        "files.os.replace = lambda *a: time.sleep(600); files.atomic_write(Path(sys.argv[1]), b'half')"
    )

    def stopped_writer() -> subprocess.Popen[bytes]:
        before = set(tmp_path.iterdir())
        child = subprocess.Popen([sys.executable, "-c", hang, str(out)])
        for _ in range(600):
            if set(tmp_path.iterdir()) - before:
                return child
            time.sleep(0.05)
        child.kill()
        raise AssertionError("the writer wrote no temporary file")

    killed = stopped_writer()
    (dead,) = (p for p in tmp_path.iterdir() if p.name.endswith(".seqcast-tmp"))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    live = stopped_writer()
    try:
        (alive,) = (p for p in tmp_path.iterdir() if p.name.endswith(".seqcast-tmp") and p != dead)
        assert dead.name.startswith(f".forecast.csv.{killed.pid}-")
        assert alive.name.startswith(f".forecast.csv.{live.pid}-")
        theirs = [
            tmp_path / f".forecast.csv.{killed.pid}-0badc0de.x1y2.seqcast-tmp",  # a writer on another host
            tmp_path / f".other.csv.{dead.name.split('.')[3]}.x1y2.seqcast-tmp",  # another file's leftover
            tmp_path / ".forecast.csv.notes",  # the user's
        ]
        for p in theirs:
            p.write_text("kept\n")
        files.atomic_write(out, b"the new forecast\n")
        assert out.read_text() == "the new forecast\n"
        assert not dead.exists(), "the killed writer's temporary file is still there"
        assert alive.exists() and all(p.read_text() == "kept\n" for p in theirs)
    finally:
        live.kill()
        live.wait()
