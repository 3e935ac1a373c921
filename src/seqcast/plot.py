"""Pictures: the forecast with its history (forecast --plot), the test-part backtest (evaluate --plot) and the
layout of windows and streams (window-preview --plot). matplotlib is imported inside the functions; PNGs are
written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqcast import files
from seqcast.data import Dataset
from seqcast.evaluate import scores
from seqcast.layout import Plan
from seqcast.run import Run
from seqcast.windows import StreamLayout

PLOT_SERIES = 12  # series drawn by --plot: the first ones (thousands of panels take minutes and gigabytes)
PLOT_TARGETS = 12  # targets drawn per series: the first ones (a wide sensor file's 260 made a 68,000-pixel PNG)
PLOT_ORIGINS = 30  # backtest origins drawn per series by evaluate --plot: the last ones


HISTORY = 200  # the rows of history a forecast's plot draws before the forecast


def plot_forecast(
    run: Run,
    ds: Dataset,
    times: list[np.ndarray],
    pred: np.ndarray,
    path: Path,
    tail: int = HISTORY,
    max_series: int = PLOT_SERIES,
    bands: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> int:
    """History (last `tail` rows) and forecast per series and target, small multiples, the intervals in `bands`
    (level -> (lo, hi)) shaded, the widest palest; returns the series drawn."""
    targets = run.pre["targets"][:PLOT_TARGETS]
    k = min(len(ds.series), max_series)
    fig, panel = _small_multiples(k, len(targets), 4.2, 2.4)
    _some_targets(fig, run)
    for i, s in enumerate(ds.series[:k]):
        for j, t in enumerate(targets):
            ax = panel(i, j)
            ax.plot(s.times[-tail:], s.values[-tail:, j], color="black", lw=0.9, label="history")
            ax.plot(
                np.concatenate([s.times[-1:], times[i]]),
                np.concatenate([s.values[-1:, j], pred[i, :, j]]),
                color="tab:blue",
                lw=1.4,
                label="forecast",
            )
            for n, (level, (lo, hi)) in enumerate(shaded := sorted((bands or {}).items(), reverse=True)):
                _band(ax, times[i], lo[i, :, j], hi[i, :, j], _alpha(n, len(shaded)), f"{level} % interval")
            ax.set_title(f"{s.name + ': ' if s.name else ''}{t}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", labelrotation=25)  # every panel keeps its dates (autofmt_xdate hides them)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    _save(fig, path)
    return k


def _alpha(n: int, count: int) -> float:
    """The opacity of the n-th of `count` nested bands, widest first: 0.15, 0.30, 0.45, ..., the narrowest at most
    0.75 however many levels there are (they overlap: the inner ones look darker still)."""
    return 0.15 + min(0.15, 0.6 / max(count - 1, 1)) * n


def _band(ax: Any, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: float, label: str | None) -> None:
    """An interval from lo to hi over the times x; over one time a band has no width: a bar from lo to hi."""
    if len(x) == 1:
        ax.vlines(x, lo, hi, lw=3, color="tab:blue", alpha=alpha, label=label)
    else:
        ax.fill_between(x, lo, hi, lw=0, color="tab:blue", alpha=alpha, label=label)


def plot_backtest(run: Run, ds: Dataset, kept: dict[str, Any], path: Path, max_series: int = PLOT_SERIES) -> int:
    """The test-part backtest (what evaluate.backtest kept) into a PNG; returns the series drawn."""
    fig, drawn = backtest_figure(run, ds, kept, max_series)
    _save(fig, path)
    return drawn


def _some_targets(fig: Any, run: Run) -> None:
    """Say on the figure that it draws the first PLOT_TARGETS targets only, when the run has more."""
    if (n := len(run.pre["targets"])) > PLOT_TARGETS:
        fig.suptitle(f"the first {PLOT_TARGETS} of {n} targets", fontsize=9)


def backtest_figure(run: Run, ds: Dataset, kept: dict[str, Any], max_series: int = PLOT_SERIES) -> tuple[Any, int]:
    """Small multiples per series and target: the series over its last PLOT_ORIGINS backtest origins, the
    model's forecast from each origin (a thin dash from the last known value) with its interval bands, the widest
    palest, and seasonal naive's dotted; the title gives the panel's MASE beside seasonal naive's and the
    coverage of the narrowest interval. Returns (the matplotlib figure, the series drawn)."""
    targets = run.pre["targets"][:PLOT_TARGETS]
    jobs, true, scale = kept["jobs"], kept["true"], np.broadcast_to(kept["scale"], kept["true"].shape)
    h, season = true.shape[1], run.cfg.evaluate.season
    test_start = {str(s["name"]): int(s["val_end"]) for s in run.pre["series"]}
    k = min(len(ds.series), max_series)
    fig, panel = _small_multiples(k, len(targets), 4.6, 2.6)
    _some_targets(fig, run)
    bands = sorted(kept["bands"].items(), reverse=True)  # widest first, palest
    for i, s in enumerate(ds.series[:k]):
        mine = [n for n, (si, _) in enumerate(jobs) if si == i]
        shown = mine[-PLOT_ORIGINS:]
        for j, t in enumerate(targets):
            ax = panel(i, j)
            if not shown:  # the series as it ends, and why nothing is scored there
                start = test_start.get(s.name, len(s))
                t0 = min(start, len(s) - 1)
                a = max(0, t0 - max(2 * h, season + h, 24))
                ax.plot(s.times[a:], s.values[a:, j], color="black", lw=0.9, label="actual")
                if start < len(s):
                    ax.axvspan(s.times[t0], s.times[-1], color="grey", alpha=0.08, lw=0, label="test part")
                why = ("no test part now" if start >= len(s) else f"a test part of {len(s) - start} rows, horizon {h}"
                       if len(s) - start < h else "every origin crosses a row data.missing: drop removed")  # fmt: skip
                ax.set_title(f"{s.name + ': ' if s.name else ''}{t}: no backtest origin ({why})", fontsize=8)
                ax.tick_params(labelsize=7)
                continue
            first, last = jobs[shown[0]][1], jobs[shown[-1]][1] + h
            a = max(0, first - max(2 * h, season + h, 24))
            ax.plot(s.times[a:last], s.values[a:last, j], color="black", lw=0.9, label="actual")
            t0 = test_start.get(s.name, first)
            ax.axvspan(s.times[max(t0, a)], s.times[last - 1], color="grey", alpha=0.08, lw=0, label="test part")
            for q, n in enumerate(shown):
                o = jobs[n][1]
                when = s.times[o - 1 : o + h]
                ax.plot(when[:2], [s.values[o - 1, j], kept["model"][n, 0, j]], color="tab:blue", lw=0.6, ls="--",
                        alpha=0.6)  # fmt: skip  # the origin's last known value: a thin dash, no forecast of its time
                ax.plot(
                    when[1:], kept["model"][n, :, j], color="tab:blue", lw=1.2, marker="." if h > 1 else "o", ms=3,
                    label="forecast" if q == 0 else None,
                )  # fmt: skip
                ax.plot(
                    when[1:], kept["seasonal_naive"][n, :, j], color="tab:orange", lw=0.8, ls=":",
                    marker="x" if h == 1 else None, ms=3, label="seasonal naive" if q == 0 else None,
                )  # fmt: skip  # one step per origin: a line of one point shows nothing, a marker does
                for b, (level, (lo, hi)) in enumerate(bands):
                    _band(ax, when[1:], lo[n, :, j], hi[n, :, j], _alpha(b, len(bands)),
                          f"{level} % interval" if q == 0 else None)  # fmt: skip
            ax.set_title(_backtest_title(s.name, t, kept, mine, j, scale, len(shown)), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", labelrotation=25)
            if i == 0 and j == 0:
                ax.legend(fontsize=6)
    return fig, k


def _backtest_title(
    name: str, target: str, kept: dict[str, Any], mine: list[int], j: int, scale: np.ndarray, shown: int
) -> str:
    """'A: y, 4 origins' over 'MASE 0.52 (seasonal naive 0.84), 80 %: 83 % covered' for one panel."""
    true = kept["true"][mine, :, j]
    model, naive = (scores(kept[key][mine, :, j], true, scale[mine, :, j]) for key in ("model", "seasonal_naive"))
    metric = "mase" if np.isfinite(model["mase"]) else "mae"  # no MASE scale: a constant history
    score = f"{metric.upper()} {model[metric]:.3g} (seasonal naive {naive[metric]:.3g})"
    levels = sorted(kept["bands"])
    if levels:
        lo, hi = kept["bands"][levels[0]]
        inside = (true >= lo[mine, :, j]) & (true <= hi[mine, :, j])
        score += f", {levels[0]} %: {100 * np.mean(inside):.0f} % covered"
    origins = f"{len(mine)} origin{'s' * (len(mine) != 1)}" + (f", the last {shown} drawn" if shown < len(mine) else "")
    return f"{name + ': ' if name else ''}{target}, {origins}\n{score}"


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, loaded with Ctrl-C and SIGTERM held until it is done: a signal inside
    the initialisation of its C extensions became "ImportError: initialization failed" and could abort Python's
    teardown (exit 134; seen by an audit's stress run of forecast --plot). Then the signal stops the command."""
    from seqcast.rundir import signals_held

    with signals_held():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    return plt


def _small_multiples(k: int, m: int, width: float, height: float) -> tuple[Any, Any]:
    """A figure for k series of m targets: the series in up to 3 columns (4 series: 2 x 2, not 3 + 1), each a
    column of m panels of width x height inches, the panels past the k-th series blank; (figure, panel(i, j))."""
    plt = pyplot()
    cols = min(3, int(np.ceil(np.sqrt(k))))
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows * m, cols, figsize=(width * cols, height * rows * m), squeeze=False)
    for extra in range(k, rows * cols):
        r, c = divmod(extra, cols)
        for j in range(m):
            axes[r * m + j, c].axis("off")

    def panel(i: int, j: int) -> Any:
        r, c = divmod(i, cols)
        return axes[r * m + j, c]

    return fig, panel


def _save(fig: Any, path: Path) -> None:
    """The figure in the format its suffix names (PNG, SVG, PDF, JPEG), written atomically; the figure is closed."""
    import io

    plt = pyplot()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=files.plot_format(path), dpi=110)
    plt.close(fig)
    files.atomic_write(path, buf.getvalue())  # the folder is made if missing; a failure names the file


def plot_preview(p: Plan, path: str, limit: int | None = None, max_series: int = PLOT_SERIES) -> int:
    """A PNG of each series (the first `max_series`) with its windows or stateful chunks coloured by batch (a
    sequential map with its scale, so that no two batches look alike and none looks like the split) and the split
    hatched; returns the series drawn."""
    plt = pyplot()
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    ds, stateful = p.ds, isinstance(p.train, StreamLayout)
    bs = p.cfg.training.batch_size
    batches = p.train.batches if isinstance(p.train, StreamLayout) else max(1, -(-len(p.train.series) // bs))
    cmap, norm = plt.get_cmap("viridis"), Normalize(0, max(batches - 1, 1))
    k = min(len(ds.series), max_series)  # and a last, thin row for the batches' colour scale
    fig, axes = plt.subplots(k + 1, 1, figsize=(12, 1.9 * k + 1.4), squeeze=False, height_ratios=[1] * k + [0.07])
    for i, ax in enumerate(axes[:k, 0]):
        s, pt = ds.series[i], p.parts[i]
        x = s.times
        ax.plot(x, s.values[:, 0], color="black", lw=0.8, label=ds.targets[0])
        for name, hatch in (("val", "//"), ("test", "xx")):
            lo, hi = pt.bounds(name)
            if hi > lo:
                ax.axvspan(x[lo], x[hi - 1], facecolor="none", edgecolor="0.7", hatch=hatch, lw=0, label=f"{name} part")
        if isinstance(p.train, StreamLayout):
            lay, named = p.train, set()
            for b in range(lay.batches):
                for j in range(lay.streams):
                    a, e = lay.chunk(b, i * lay.streams + j)
                    a, e = max(a, lay.real_first[i]), max(e, lay.real_first[i])
                    if e <= a:  # padding only
                        continue
                    ax.axvspan(x[a], x[e - 1], color=cmap(norm(b)), alpha=0.35, lw=0)
                    if j not in named:  # at its first real rows: a padded stream's come in a later batch
                        named.add(j)
                        ax.text(x[a], 1.0, f" stream {j}", fontsize=7, va="bottom", transform=ax.get_xaxis_transform())
            ax.set_title(
                f"{s.name or 'the series'}: {lay.batches} batch{'es' if lay.batches != 1 else ''} x {lay.num_steps} "
                f"steps, {lay.streams} stream{'s' if lay.streams != 1 else ''}, "
                f"{lay.padded[i]} padded step{'s' if lay.padded[i] != 1 else ''} before the first row",
                fontsize=9,
                pad=12,
            )
        else:
            win = p.train
            mine = np.flatnonzero(win.series == i)
            shown = mine if limit is None else mine[:limit]
            step = max(1, len(shown) // 40)  # at most ~40 windows drawn, evenly spread
            y0, y1 = np.nanmin(s.values[:, 0]), np.nanmax(s.values[:, 0])
            for n, kk in enumerate(shown[::step]):
                a, e = win.input_range(int(kk))
                ta, te = win.target_range(int(kk))
                level = y0 + (y1 - y0) * (0.05 + 0.9 * (n % 20) / 20)
                ax.plot([x[a], x[e - 1]], [level, level], color=cmap(norm(kk // bs)), lw=2)
                ax.plot([x[ta], x[te - 1]], [level, level], color="tab:red", ls="none", marker="o", ms=2.5)  # dots:
                # a many_to_many window's targets are its inputs one row on, a line over them would hide their colour
            ax.set_title(
                f"{s.name or 'the series'}: {len(mine)} training windows of look_back {win.shape.look_back} "
                f"({'every one' if step == 1 else f'one in {step}'} drawn, at heights of their own)",
                fontsize=9,
            )
            ax.add_line(Line2D([], [], color=cmap(0.5), lw=2, label="window inputs"))
            ax.add_line(Line2D([], [], color="tab:red", lw=2, marker="o", ms=2.5, label="targets"))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, borderaxespad=0)
    shuffled = " (the order before shuffling)" if not stateful and p.cfg.training.shuffle is not False else ""
    bar = fig.colorbar(plt.cm.ScalarMappable(norm, cmap), cax=axes[k, 0], orientation="horizontal")
    bar.set_label(f"batch{shuffled}", fontsize=8)
    bar.ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # batches are whole numbers
    bar.ax.tick_params(labelsize=7)
    _save(fig, Path(path))
    return k
