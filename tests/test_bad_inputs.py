"""Bad inputs, one per row: the exit code, one clear message naming the fault, no traceback, nothing lost.

Data and config faults go through window-preview (no TensorFlow); `train` only where a run directory is
at stake, and the forecast rows share one tiny run trained once for the module.
Also the security rules of the issue "Reliability and security": safe YAML, no pickle, safe model loading.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from seqcast.cli import app

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
        "model": {"units": [4]},
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
    return preview(
        c.project(windows={"mode": "stateful", "num_steps": 10, "streams": 4}, model={"kind": "many_to_many"})
    )


def _yaml_text(text: str) -> Setup:
    def setup(c: Ctx) -> list[object]:
        return preview(c.project(raw=text))

    return setup


def _incomplete_run(c: Ctx) -> list[object]:
    (c.tmp / "half").mkdir()
    (c.tmp / "half" / "config.yaml").write_text("data: {path: x.csv, targets: [y]}\n")
    return ["forecast", "--run", c.tmp / "half", "--steps", 3]


def _future_short(c: Ctx) -> list[object]:
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    return ["forecast", "--run", c.run(), "--steps", 3, "--future", fut]


def _future_missing_series(c: Ctx) -> list[object]:
    (c.tmp / "future.csv").write_text("time,series,x\n2022-02-10,A,0.5\n2022-02-11,A,0.5\n")
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", c.tmp / "future.csv"]


def _output_is_a_folder(c: Ctx) -> list[object]:
    (c.tmp / "out.csv").mkdir()
    (c.tmp / "out.csv" / "precious.txt").write_text("keep me")
    fut = future_csv(c.tmp / "future.csv", ["2022-02-10", "2022-02-11"])
    return ["forecast", "--run", c.run(), "--steps", 2, "--future", fut, "--output", c.tmp / "out.csv"]


def _train(c: Ctx, csv: str, *extra: object) -> list[object]:
    cfg = c.project(csv)
    return ["train", cfg, "--set", "training.epochs=1", "--set", "model.units=[4]", "--quiet", *extra]


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
        1,
        ("series ['B'] is shorter than windows.look_back + horizon", "6 rows needed"),
    ),
    Case(
        "fewer rows than the split needs",
        lambda c: preview(c.project(csv_rows(*years(10)), data={"split": {"val": 1, "test": 5}})),
        1,
        ("10 rows", "data.split val=1 and test=5", "4 remain for training"),
    ),
    Case(
        "stateful series cannot fill one chunk",
        _stateful_too_short,
        1,
        ("not enough for one chunk", "windows.num_steps=10", "windows.streams=4"),
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
    Case("config file not found", lambda c: preview(c.tmp / "nope.yaml"), 2, ("config file not found", "nope.yaml")),
    Case(
        "--run directory does not exist",
        lambda c: ["forecast", "--run", c.tmp / "no-such-run", "--steps", 3],
        2,
        ("--run", "run directory not found", "no-such-run"),
    ),
    Case("--run directory incomplete", _incomplete_run, 1, ("half", "incomplete", "model.keras")),
    Case(
        "forecast --steps 0",
        lambda c: ["forecast", "--run", c.tmp, "--steps", 0],
        2,
        ("--steps must be a positive", "got 0"),
    ),
    Case(
        "forecast --steps negative",
        lambda c: ["forecast", "--run", c.tmp, "--steps", -4],
        2,
        ("--steps must be a positive", "got -4"),
    ),
    Case(
        "evaluate --horizon 0",
        lambda c: ["evaluate", "--run", c.tmp, "--horizon", 0],
        2,
        ("--horizon must be positive",),
    ),
    Case(
        "--future does not cover the horizon",
        _future_short,
        1,
        ("future.csv", "no future values of ['x'] for series 'A' at 2022-02-12", "3 steps"),
    ),
    Case("--future lacks a series", _future_missing_series, 1, ("future.csv", "series 'B'", "2022-02-10")),
    Case(
        "forecast without --future for a model with features",
        lambda c: ["forecast", "--run", c.run(), "--steps", 2],
        1,
        ("features ['x']", "--future"),
    ),
    Case("forecast --output is a folder", _output_is_a_folder, 1, ("out.csv", "cannot write")),
    Case(
        "train: non-numeric value",
        lambda c: _train(c, csv_rows(*years(5), "2005,oops", *years(34, 2006))),
        1,
        ("column 'y'", "line 7", "'oops' is not a number"),
    ),
    Case(
        "train: --resume is not a checkpoint",
        lambda c: _train(c, csv_rows(*years(40)), "--resume", c.tmp),
        2,
        ("--resume", "not a seqcast checkpoint"),
    ),
]


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


def test_failed_train_with_overwrite_keeps_the_old_run(
    tmp_path: Path, write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--overwrite replaces the old folder only once the new run is complete: a crash in fit() keeps it."""
    import keras  # noqa: F401  (a missing Keras fails these tests, never skips them)

    from seqcast import train

    def broken_fit(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(train, "fit", broken_fit)
    cfg = write_project(output={"dir": "runs/mine"})
    old = tmp_path / "runs" / "mine"
    old.mkdir(parents=True)
    (old / "model.keras").write_text("yesterday's model")
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
    (old / "notes.txt").write_text("old")
    res = invoke("train", cfg, "--output-dir", old, "--overwrite", "--quiet")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in old.iterdir()) == sorted(RUN_FILES)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging or checkpoint left


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
    return {p.name: p.read_text() for p in sorted(SRC.rglob("*.py"))}


def test_no_pickle_anywhere_in_src() -> None:
    for name, text in _source().items():
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve)\b", text, re.M), name
        assert "allow_pickle=True" not in text, name
        assert "pickle.load" not in text, name


def test_yaml_is_only_read_with_safe_load() -> None:
    for name, text in _source().items():
        assert not re.search(r"yaml\.(load|unsafe_load|full_load|load_all)\(", text), name
        assert "yaml.Loader" not in text and "UnsafeLoader" not in text and "FullLoader" not in text, name


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
