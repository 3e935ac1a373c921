"""Wildly irregular timestamps are refused before a regular grid of them is allocated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from seqcast.cli import app


def test_huge_grid_is_a_data_error_not_an_allocation(write_project: Callable[..., Path]) -> None:
    # one second apart, then ten years later: the grid at 1 s would need ~3e8 rows
    csv = "t,y\n" + "".join(f"2020-01-01 00:00:{i:02d},{i}\n" for i in range(40)) + "2030-01-01 00:00:00,1\n"
    cfg = write_project(csv=csv, data={"time_column": "t", "missing": "interpolate"})
    res = CliRunner().invoke(app, ["window-preview", str(cfg)])
    assert res.exit_code == 1
    assert "irregular timestamps" in res.stderr and "would need" in res.stderr
    assert "run with --debug" not in res.stderr
