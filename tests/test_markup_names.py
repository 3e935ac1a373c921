"""Series and column names are data: text like "[/x]" must print as itself in train, forecast and evaluate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from seqcast.cli import app


def test_markup_like_names_print_verbatim(tmp_path: Path, write_project: Callable[..., Path], monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    csv = "year,s,[/y]\n" + "".join(f"{2000 + i},[bold]A[/x],{i % 7}\n" for i in range(40))
    cfg = write_project(csv=csv, data={"series_column": "s", "targets": ["[/y]"]}, training={"epochs": 1})
    runner = CliRunner()
    res = runner.invoke(app, ["train", str(cfg), "--output-dir", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "[bold]A[/x]" in res.stdout and "[/y]" in res.stdout
    res = runner.invoke(app, ["forecast", "--run", str(tmp_path / "run"), "--steps", "2"])
    assert res.exit_code == 0, res.output
    assert "[bold]A[/x]" in res.stdout and "[/y]" in res.stdout
    res = runner.invoke(app, ["evaluate", "--run", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "[/y]" in res.stdout
