"""Pictures: the forecast with its history (forecast --plot) and the layout of windows and streams
(window-preview --plot). matplotlib is imported inside the functions; PNGs are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqcast import rundir
from seqcast.data import Dataset
from seqcast.layout import Plan
from seqcast.run import Run
from seqcast.windows import StreamLayout

PLOT_SERIES = 12  # series drawn by --plot: the first ones (thousands of panels take minutes and gigabytes)


def plot_forecast(
    run: Run,
    ds: Dataset,
    times: list[np.ndarray],
    pred: np.ndarray,
    path: Path,
    tail: int = 200,
    max_series: int = PLOT_SERIES,
    bands: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> int:
    """History (last `tail` rows) and forecast per series and target, small multiples, the intervals in `bands`
    (level -> (lo, hi)) shaded, the widest palest; returns the series drawn."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = run.pre["targets"]
    k, m = min(len(ds.series), max_series), len(targets)
    cols = min(3, int(np.ceil(np.sqrt(k))))  # 4 series: 2 x 2, not 3 + 1
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows * m, cols, figsize=(4.2 * cols, 2.4 * rows * m), squeeze=False)
    for i, s in enumerate(ds.series[:k]):
        r, c = divmod(i, cols)
        for j, t in enumerate(targets):
            ax = axes[r * m + j, c]
            ax.plot(s.times[-tail:], s.values[-tail:, j], color="black", lw=0.9, label="history")
            ax.plot(
                np.concatenate([s.times[-1:], times[i]]),
                np.concatenate([s.values[-1:, j], pred[i, :, j]]),
                color="tab:blue",
                lw=1.4,
                label="forecast",
            )
            for n, (level, (lo, hi)) in enumerate(sorted((bands or {}).items(), reverse=True)):
                ax.fill_between(
                    times[i], lo[i, :, j], hi[i, :, j], color="tab:blue", alpha=0.15 + 0.15 * n, lw=0,
                    label=f"{level} % interval",
                )  # fmt: skip
            ax.set_title(f"{s.name + ': ' if s.name else ''}{t}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", labelrotation=25)  # every panel keeps its dates (autofmt_xdate hides them)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    for extra in range(k, rows * cols):
        r, c = divmod(extra, cols)
        for j in range(m):
            axes[r * m + j, c].axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    rundir.atomic_write(path, buf.getvalue())
    return k


def plot_preview(p: Plan, path: str, limit: int | None = None) -> None:
    """A PNG of each series with its windows or stateful chunks shaded by batch and the split marked."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = p.ds
    k = len(ds.series)
    fig, axes = plt.subplots(k, 1, figsize=(11, 1.9 * k + 1.0), sharex=False, squeeze=False)
    cmap = plt.get_cmap("tab10")
    for i, ax in enumerate(axes[:, 0]):
        s, pt = ds.series[i], p.parts[i]
        x = s.times
        ax.plot(x, s.values[:, 0], color="black", lw=0.8, label=ds.targets[0])
        for name, color in (("val", "tab:orange"), ("test", "tab:red")):
            lo, hi = pt.bounds(name)
            if hi > lo:
                ax.axvspan(x[lo], x[hi - 1], color=color, alpha=0.12, label=name)
        if isinstance(p.train, StreamLayout):
            lay = p.train
            for b in range(lay.batches):
                for j in range(lay.streams):
                    a, e = lay.chunk(b, i * lay.streams + j)
                    a, e = max(a, lay.real_first[i]), max(e, lay.real_first[i])
                    if e <= a:  # padding only
                        continue
                    ax.axvspan(x[a], x[e - 1], color=cmap(b % 10), alpha=0.25, lw=0)
                    if b == 0:
                        ax.text(x[a], ax.get_ylim()[1], f"stream {j}", fontsize=7, va="top")
            ax.set_title(
                f"{s.name or 'series'}: {lay.batches} batches x {lay.num_steps} steps, "
                f"{lay.streams} streams, {lay.padded[i]} padded steps before the first row",
                fontsize=9,
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
                ax.plot([x[a], x[e - 1]], [level, level], color=cmap((kk // p.cfg.training.batch_size) % 10), lw=2)
                ax.plot([x[ta], x[te - 1]], [level, level], color="tab:green", lw=2)
            ax.set_title(
                f"{s.name or 'series'}: {len(mine)} training windows of look_back "
                f"{win.shape.look_back} (every {step}th drawn; green = targets)",
                fontsize=9,
            )
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    rundir.atomic_write(Path(path), buf.getvalue())  # the folder is made if missing; a failure names the file
