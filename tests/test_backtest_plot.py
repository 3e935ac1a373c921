"""evaluate --plot: each backtest origin's forecast and intervals, drawn from exactly what was scored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras  # noqa: F401  (a missing or broken Keras fails these tests: it must never skip them)
import numpy as np
import pytest
from typer.testing import CliRunner

from seqcast import evaluate
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.pipeline import train_run
from seqcast.plot import backtest_figure
from seqcast.run import open_run

WriteProject = Callable[..., Path]


@pytest.fixture
def run_dir(write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path) -> Path:
    """Two series whose values are their row index, 100 rows each: a test part of 20 rows, 10 origins of 2 steps."""
    cfg = write_project(
        index_csv(100, ["A", "B"]),
        data={"series_column": "s", "split": {"val": 0.2, "test": 0.2}},
        evaluate={"horizon": 2},
        training={"epochs": 1},
    )
    return train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir


def test_the_figure_draws_every_origin_as_scored(run_dir: Path) -> None:
    run = open_run(run_dir)
    ds = evaluate.run_dataset(run)
    kept: dict[str, Any] = {}
    doc = evaluate.backtest_run(run, data=(ds.names, [s.values for s in ds.series]), keep=kept)
    given = sorted(int(k) for k, v in doc["intervals"].items() if "refused" not in v)
    assert given and sorted(kept["bands"]) == given  # a band per level the backtest scored, none refused
    scored = np.mean(np.abs(kept["model"] - kept["true"]) / kept["scale"])
    assert scored == pytest.approx(doc["model"]["mase"])  # what is drawn is what metrics.json scores

    fig, drawn = backtest_figure(run, ds, kept)

    assert drawn == 2 and len(fig.axes) == 2
    ax = fig.axes[0]  # series A
    origins = [o for i, o in kept["jobs"] if i == 0]
    assert origins == list(range(80, 100, 2))
    actual = ax.lines[0]
    assert list(actual.get_ydata()) == list(range(origins[0] - 24, 100))  # 24 rows of context, then the test part
    blue = [ln for ln in ax.lines if ln.get_color() == "tab:blue"]
    forecasts = [ln for ln in blue if ln.get_linestyle() == "-"]
    joins = [ln for ln in blue if ln.get_linestyle() == "--"]  # a thin dash from the last known value: the next
    assert len(forecasts) == len(joins) == len(origins)  # origin's line no longer seems to forecast a peak it read
    for n, (line, join, o) in enumerate(zip(forecasts, joins, origins, strict=True)):
        assert list(line.get_ydata()) == list(kept["model"][n, :, 0])
        assert list(join.get_ydata()) == [o - 1, kept["model"][n, 0, 0]] and join.get_linewidth() < 1
    naive = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert [list(ln.get_ydata()) for ln in naive] == [[o - 1, o - 1] for o in origins]  # season 1: the last value
    assert len(ax.collections) == len(origins) * len(given)  # one band per origin and level
    lo, hi = kept["bands"][given[0]]
    covered = np.mean((kept["true"][:10] >= lo[:10]) & (kept["true"][:10] <= hi[:10]))
    assert "A: y, 10 origins" in ax.get_title()
    assert f"{given[0]} %: {100 * covered:.0f} % covered" in ax.get_title()


def test_one_step_origins_draw_seasonal_naive_and_the_intervals_visibly(run_dir: Path) -> None:
    from matplotlib.collections import LineCollection

    run = open_run(run_dir)
    ds = evaluate.run_dataset(run)
    kept: dict[str, Any] = {}
    evaluate.backtest_run(run, data=(ds.names, [s.values for s in ds.series]), horizon=1, keep=kept)
    ax = backtest_figure(run, ds, kept)[0].axes[0]
    origins = [o for i, o in kept["jobs"] if i == 0]
    naive = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert len(naive) == len(origins) and all(ln.get_marker() == "x" for ln in naive)  # a point each, marked
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]  # lo to hi at the step's time
    assert len(bars) == len(origins) * len(kept["bands"]) and len(ax.collections) == len(bars)
    drawn = sorted(tuple(c.get_segments()[0][:, 1].round(9)) for c in bars[: len(kept["bands"])])  # origin 0's
    want = sorted((round(lo[0, 0, 0], 9), round(hi[0, 0, 0], 9)) for lo, hi in kept["bands"].values())
    assert drawn == want


def test_evaluate_plot_writes_the_png_and_says_so(run_dir: Path, tmp_path: Path) -> None:
    import matplotlib.image

    png = tmp_path / "plots" / "backtest.png"  # a missing folder is made
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run_dir), "--json", "--plot", str(png)])

    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["origins"] == 20  # --json: stdout holds the document alone
    assert f"plot written to {png}" in " ".join(res.stderr.split()) and "replacing" not in res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(png).shape
    assert width > height  # two series side by side, one target
    again = CliRunner().invoke(app, ["evaluate", "--run", str(run_dir), "--plot", str(png)])
    assert f"plot written to {png}, replacing the file that was there" in " ".join(again.stdout.split())


def test_a_plot_that_cannot_be_written_is_named_and_changes_nothing(run_dir: Path, tmp_path: Path) -> None:
    (run_dir / "metrics.json").write_text('{"mine": 1}\n')  # evaluate would rewrite it: it must not here
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    before = sorted(p.name for p in tmp_path.iterdir())

    res = CliRunner().invoke(app, ["evaluate", "--run", str(run_dir), "--plot", str(blocker / "backtest.png")])

    assert res.exit_code == 1, res.output
    said = " ".join(res.stderr.split())
    assert str(blocker / "backtest.png") in said and f"{blocker} is a file, not a folder" in said
    assert "Traceback" not in res.output
    assert (run_dir / "metrics.json").read_text() == '{"mine": 1}\n'
    assert blocker.read_text() == "not a folder" and sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_plot_and_metrics_json_are_written_together_and_an_unchanged_one_is_left_alone(
    run_dir: Path, tmp_path: Path
) -> None:
    """A metrics.json that cannot be written fails evaluate naming it, and the user's plot of that name is kept
    (it was replaced first); a metrics.json that evaluate would write unchanged is not written again, so a run
    in a read-only folder can be evaluated at its own horizon."""
    metrics = run_dir / "metrics.json"
    kept = metrics.read_bytes()
    plot = tmp_path / "mine.png"
    plot.write_bytes(b"my own plot")
    metrics.unlink()
    metrics.mkdir()  # cannot be replaced by a file
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run_dir), "--plot", str(plot)])
    assert res.exit_code == 1 and "metrics.json" in " ".join(res.stderr.split()), res.output
    assert plot.read_bytes() == b"my own plot" and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    metrics.rmdir()
    metrics.write_bytes(kept)
    node = metrics.stat().st_ino
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert metrics.read_bytes() == kept and metrics.stat().st_ino == node  # the same file, never replaced


def test_the_figure_draws_the_first_series_and_the_last_origins_of_many(run_dir: Path) -> None:
    from seqcast import plot

    run = open_run(run_dir)
    ds = evaluate.run_dataset(run)
    kept: dict[str, Any] = {}
    evaluate.backtest_run(run, data=(ds.names, [s.values for s in ds.series]), keep=kept)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plot, "PLOT_ORIGINS", 3)
        fig, drawn = backtest_figure(run, ds, kept, max_series=1)
    assert drawn == 1 and len(fig.axes) == 1
    ax = fig.axes[0]
    assert "10 origins, the last 3 drawn" in ax.get_title()
    assert [ln.get_ydata()[0] for ln in ax.lines if ln.get_linestyle() == "--"] == [93, 95, 97]
    assert ax.lines[0].get_ydata()[0] == 94 - 24  # the context starts before the first origin drawn


def test_forecast_plot_shades_the_bounds_the_table_holds(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`forecast --interval --plot` draws the bands of the CSV it writes, each level's lo and hi per series."""
    from seqcast import plot

    drawn: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    real = plot.plot_forecast

    def keep(*args: Any, bands: dict[int, tuple[np.ndarray, np.ndarray]] | None = None, **kw: Any) -> int:
        drawn.update(bands or {})
        return real(*args, bands=bands, **kw)

    monkeypatch.setattr(plot, "plot_forecast", keep)
    csv, png = tmp_path / "f.csv", tmp_path / "f.png"
    args = ["forecast", "--run", str(run_dir), "--steps", "2", "--interval", "80", "--interval", "95"]
    res = CliRunner().invoke(app, [*args, "--output", str(csv), "--plot", str(png)])

    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pandas as pd

    table = pd.read_csv(csv)
    assert sorted(drawn) == [80, 95]
    for level, (lo, hi) in drawn.items():
        assert lo.shape == hi.shape == (2, 2, 1)  # series, steps, targets
        assert table[f"y_lo_{level}"].tolist() == pytest.approx(lo.reshape(-1).tolist(), rel=1e-12)
        assert table[f"y_hi_{level}"].tolist() == pytest.approx(hi.reshape(-1).tolist(), rel=1e-12)
    assert (drawn[95][0] <= drawn[80][0]).all() and (drawn[80][1] <= drawn[95][1]).all()


def test_a_series_whose_test_part_is_shorter_than_the_horizon_is_named_as_left_out(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    """A (60 rows) has a test part of 12 rows and B (30) one of 6: at horizon 8 only A is scored, and train and
    evaluate say so; at evaluate --horizon 4 both are, and nothing is said."""
    long, short = index_csv(60, ["A"]), index_csv(30, ["B"]).split("\n", 1)[1]
    cfg = write_project(long + short, data={"series_column": "s"}, evaluate={"horizon": 8}, training={"epochs": 1})
    res = CliRunner().invoke(app, ["train", str(cfg), "--output-dir", str(tmp_path / "run")])
    said = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "1 series left out of the backtest's scores" in said and "evaluate.horizon=8" in said, said
    assert "so no origin fits in it: 'B' (6 rows)" in said and "'A' (" not in said, said  # B alone
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["origins"] == 1  # A's one origin of 8
    res = CliRunner().invoke(app, ["evaluate", "--run", str(tmp_path / "run"), "--horizon", "7", "--json"])
    said = " ".join(res.output.split())
    assert res.exit_code == 0 and "left out of the backtest's scores" in said and "--horizon=7" in said, said
    res = CliRunner().invoke(app, ["evaluate", "--run", str(tmp_path / "run"), "--horizon", "4", "--json"])
    assert res.exit_code == 0 and "left out" not in res.output, res.output
    assert json.loads(res.stdout)["origins"] == 3 + 1  # A: 12 // 4, B: 6 // 4
    got: dict[str, Any] = {}

    def draw(run: Any, ds: Any, kept: dict[str, Any]) -> int:
        got["figure"] = backtest_figure(run, ds, kept)[0]
        return 2

    evaluate.evaluate(tmp_path / "run", horizon=7, draw=draw)
    titles = {ax.get_title(): ax for ax in got["figure"].axes}
    b = titles["B: y: no backtest origin (a test part of 6 rows, horizon 7)"]  # B's panel: its end, not empty
    assert len(b.lines) == 1 and b.lines[0].get_ydata()[-1] == 29


def test_a_data_file_cut_since_training_is_named_where_no_origin_is_left(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    """A (60 rows) and B (30) trained with test parts from rows 48 and 24; then the file is cut. B's 20 rows end
    before its test part: it has none (not '-4 rows'), and its panel says so; with A cut to 50 rows no origin of
    --horizon 8 is left, and the error names --horizon (not the config's evaluate.horizon, though both are 8) and
    the changed file."""
    long, short = index_csv(60, ["A"]), index_csv(30, ["B"]).split("\n", 1)[1]
    cfg = write_project(long + short, data={"series_column": "s"}, evaluate={"horizon": 8}, training={"epochs": 1})
    assert CliRunner().invoke(app, ["train", str(cfg), "--output-dir", str(tmp_path / "run")]).exit_code == 0
    keep = lambda rows: "".join(ln + "\n" for ln in rows)  # noqa: E731
    lines = (tmp_path / "data.csv").read_text().splitlines()
    (tmp_path / "data.csv").write_text(keep(lines[: 1 + 60 + 20]))  # B's first 20 rows
    got: dict[str, Any] = {}

    def draw(run: Any, ds: Any, kept: dict[str, Any]) -> int:
        got["figure"] = backtest_figure(run, ds, kept)[0]
        return 2

    _, _, _, notes = evaluate.evaluate(tmp_path / "run", horizon=4, draw=draw)
    said = " ".join(notes)
    assert "the data file" in said and "so no origin fits in it: 'B' (none: the data ends before it)" in said, said
    titles = [ax.get_title() for ax in got["figure"].axes]
    assert "B: y: no backtest origin (no test part now)" in titles, titles
    (tmp_path / "data.csv").write_text(keep(lines[: 1 + 50] + lines[61 : 61 + 20]))  # A's first 50 rows too
    res = CliRunner().invoke(app, ["evaluate", "--run", str(tmp_path / "run"), "--horizon", "8"])
    said = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "--horizon: the test part is shorter than --horizon=8 in every series (the longest has 2 rows)" in said
    assert "the data file has changed since training (series 'A' had 60 rows" in said, said


def test_evaluate_places_the_test_part_by_the_first_timestamp_trained_when_rows_were_added_before_it(
    write_project: WriteProject, index_csv: Callable[..., str], tmp_path: Path
) -> None:
    """Ten earlier rows put before every series of the data file: evaluate scores the same test part as train did
    (it scored rows the model trained on, by the stored row positions), and says so; a file that lost a series'
    first trained row is refused, naming the series, and metrics.json is kept."""
    cfg = write_project(index_csv(50, ["A", "B"]), data={"series_column": "s"}, evaluate={"horizon": 2})
    run = tmp_path / "run"
    assert CliRunner().invoke(app, ["train", str(cfg), "--output-dir", str(run)]).exit_code == 0
    trained = json.loads((run / "metrics.json").read_text())
    earlier = "".join(f"{1990 + i},{s},{i - 10}\n" for s in "AB" for i in range(10))
    (tmp_path / "data.csv").write_text(index_csv(50, ["A", "B"]) + earlier)
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--json"])
    said = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "has changed since the run was trained" in said and "are left out" in said, said
    assert "series 'A': 10, series 'B': 10 rows" in said, said
    doc = json.loads(res.stdout)
    assert doc["origins"] == trained["origins"]
    for method in ("model", "naive", "seasonal_naive"):
        assert doc[method] == pytest.approx(trained[method], rel=1e-6), method
    (tmp_path / "data.csv").write_text(index_csv(50, ["A", "B"]).replace("2000,A,0\n", ""))
    kept = (run / "metrics.json").read_bytes()
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run)])
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "series 'A' no longer holds its first row as trained (2000)" in said, said
    assert (run / "metrics.json").read_bytes() == kept


def test_a_one_step_forecast_draws_each_of_many_levels_as_a_bar(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """forecast --steps 1 with seven levels: a band over one time has no width, so each level is a bar from its lo
    to its hi (the CSV's bounds), the narrowest darkest but still translucent (seven levels crashed on an opacity
    over 1, and a one-step band drew nothing)."""
    from matplotlib.collections import LineCollection

    from seqcast import plot

    figures: list[Any] = []
    real = plot._save
    monkeypatch.setattr(plot, "_save", lambda fig, path: (figures.append(fig), real(fig, path))[1])
    levels = [50, 60, 70, 75, 80, 85, 90]
    csv, png = tmp_path / "f.csv", tmp_path / "f.png"
    args = ["forecast", "--run", str(run_dir), "--steps", "1", *(a for lv in levels for a in ("--interval", str(lv)))]
    res = CliRunner().invoke(app, [*args, "--output", str(csv), "--plot", str(png)])

    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pandas as pd

    row = pd.read_csv(csv).iloc[0]  # series A
    bars = [c for c in figures[0].axes[0].collections if isinstance(c, LineCollection)]
    assert len(bars) == len(levels)
    assert [c.get_label() for c in bars] == [f"{lv} % interval" for lv in sorted(levels, reverse=True)]
    for bar in bars:
        level = int(str(bar.get_label()).split()[0])
        assert tuple(bar.get_segments()[0][:, 1]) == pytest.approx((row[f"y_lo_{level}"], row[f"y_hi_{level}"]))
    alphas = [bar.get_alpha() for bar in bars]
    assert alphas == sorted(alphas) and alphas[0] == pytest.approx(0.15) and alphas[-1] == pytest.approx(0.75)


def test_an_hourly_runs_first_and_last_times_keep_their_hour_and_old_runs_still_compare(
    write_project: WriteProject, tmp_path: Path
) -> None:
    """preprocess.json writes an hourly series' midnight first time as 2024-03-01 00:00, as its last time (with
    its hour) and window-preview write it. A run written before, with 2024-03-01, still compares equal to the
    same data file (no change said) and still places its test part when rows are added before its first time."""
    hours = lambda n, start: "".join(  # noqa: E731
        f"{np.datetime64('2024-03-01T00:00') + np.timedelta64(start + i, 'h')},{start + i}\n".replace("T", " ")
        for i in range(n)
    )
    cfg = write_project("time,y\n" + hours(50, 0), data={"time_column": "time"}, evaluate={"horizon": 2})
    run = tmp_path / "run"
    assert CliRunner().invoke(app, ["train", str(cfg), "--output-dir", str(run)]).exit_code == 0
    pre = json.loads((run / "preprocess.json").read_text())
    assert (pre["series"][0]["first"], pre["series"][0]["last"]) == ("2024-03-01 00:00", "2024-03-03 01:00")
    trained = json.loads((run / "metrics.json").read_text())
    pre["series"][0]["first"] = "2024-03-01"  # as a run trained by an earlier version wrote it
    (run / "preprocess.json").write_text(json.dumps(pre))
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--json"])
    assert res.exit_code == 0, res.output
    assert "changed" not in res.output, res.output
    (tmp_path / "data.csv").write_text("time,y\n" + hours(6, -6) + hours(50, 0))
    res = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--json"])
    said = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "has changed since the run was trained" in said and "the series: 6 rows" in said, said
    doc = json.loads(res.stdout)
    assert doc["origins"] == trained["origins"]
    assert doc["model"] == pytest.approx(trained["model"], rel=1e-6)


def test_an_n_a_in_the_mase_by_series_table_alone_is_explained(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A series without a MASE scale shows n/a in evaluate's 'MASE by series' table: the footnote that says why
    was printed only for an n/a of the overall or a target's scores. The table title says '1 origin', not '1
    origins'."""
    import io

    from rich.console import Console

    from seqcast import report
    from seqcast.metrics import NO_SCALE

    doc = json.loads((run_dir / "metrics.json").read_text())
    assert len(doc["per_series"]) > 1
    text = io.StringIO()
    monkeypatch.setattr(report, "out", Console(file=text, width=200))
    report.metrics_table(doc, by_series=True)  # every score finite: no footnote (every run of 2 series had one)
    assert "n/a" not in text.getvalue(), text.getvalue()
    doc["per_series"]["A"] = {m: None for m in ("model", "naive", "seasonal_naive")} | {
        f"{m}_why": NO_SCALE for m in ("model", "naive", "seasonal_naive")
    }
    text = io.StringIO()
    monkeypatch.setattr(report, "out", Console(file=text, width=200))
    report.metrics_table(doc | {"origins": 1}, by_series=True)
    said = " ".join(text.getvalue().split())
    assert "test backtest: 1 origin x horizon 2" in said, said
    assert f"n/a: {NO_SCALE}" in said, said


def test_the_plots_draw_the_first_targets_of_many_and_say_so(
    write_project: WriteProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wide file's targets are capped as its series are (260 made a PNG of 68,000 pixels): with PLOT_TARGETS
    at 1, a run of two targets draws one panel per series, titled 'the first 1 of 2 targets'."""
    from seqcast import plot

    rows = "".join(f"{2000 + t},{t},{2 * t}\n" for t in range(60))
    cfg = write_project("year,y,z\n" + rows, data={"targets": ["y", "z"]}, evaluate={"horizon": 2})
    run = train_run(load_config(cfg), output_dir=tmp_path / "run").run_dir
    monkeypatch.setattr(plot, "PLOT_TARGETS", 1)
    got: dict[str, Any] = {}

    def draw(run: Any, ds: Any, kept: dict[str, Any]) -> int:
        got["figure"] = backtest_figure(run, ds, kept)[0]
        return 1

    evaluate.evaluate(run, draw=draw)
    fig = got["figure"]
    assert [ax.get_title().split(",")[0] for ax in fig.axes if ax.get_visible()] == ["y"]
    assert fig._suptitle is not None and fig._suptitle.get_text() == "the first 1 of 2 targets"
