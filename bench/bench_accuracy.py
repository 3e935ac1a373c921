"""Forecast accuracy on the development series: seqcast's defaults against statsforecast's AutoETS, AutoARIMA and
AutoTheta, naive and seasonal naive, all scored on seqcast's own origins and MASE scale.

For each series a config holds only the data keys, evaluate.season and evaluate.horizon (split val 0.1, test 0.2):
every other choice is seqcast's default. `seqcast train` (seqcast.pipeline.train_run, in process) writes
metrics.json: the rolling-origin backtest on the test part (origins every `horizon` steps, each forecasting
`horizon` steps from all data before it; MASE scaled by the in-sample seasonal-naive MAE before the test part).
The anchors go through the same seqcast.evaluate.backtest on the same data, refitted at every origin on all the
data before it (statsforecast models' `forecast(y, h)`, univariate, per series and target). Also scored:
configs/tanks_stateful.yaml as it is (the stateful sample must beat seasonal naive).

--validation scores the same configs on the series cut before their test part, the validation part standing in
for the test part (its size; the inner validation part of the same size just before it): what every default of
seqcast is chosen by. The test part of a development series is never used to choose anything.

Series (all offline, none of the classic R data sets): ../shared/data (sunspots, nile, wineind, woolyrnq,
ausbeer, austres), the project's tanks (four hourly series, two targets), statsmodels (co2 monthly, realgdp,
unemp and cpi quarterly, elnino monthly) and pmdarima (heartrate).

Usage: python bench/bench_accuracy.py [--smoke] [--validation] [--seeds 0,1,2] [--series a,b] [--set KEY=VALUE]...
       [--json FILE] [--no-write]
  --smoke: nile only, 2 epochs, anchors computed afresh, the report built and not written (CI; needs the
  bench extra: pip install '.[bench]').
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from _common import HERE, ROOT, machine

SHARED = HERE / "data"  # copies of the development series of ../shared/data (bench/data/README.md)
CACHE = HERE / ".accuracy_anchors.json"  # anchors are deterministic: computed once per series and split
METHODS = ("AutoETS", "AutoARIMA", "AutoTheta")
LEVELS = (80, 95)  # the interval levels scored (seqcast's default evaluate.intervals)

# name: where the data comes from, its columns, season and horizon, and what it is
SERIES: dict[str, dict[str, Any]] = {
    "sunspots": {"csv": "sunspots_yearly.csv", "time": "year", "targets": ["sunactivity"], "season": 11, "horizon": 11,
                 "about": "yearly sunspot numbers 1700-2008, ~11-year cycle"},
    "nile": {"csv": "nile_yearly.csv", "time": "year", "targets": ["volume"], "season": 1, "horizon": 5,
             "about": "yearly Nile flow 1871-1970, level shift in 1898"},
    "wineind": {"csv": "wineind_monthly.csv", "time": "month", "targets": ["sales"], "season": 12, "horizon": 12,
                "about": "Australian wine sales, monthly 1980-1994"},
    "woolyrnq": {"csv": "woolyrnq_quarterly.csv", "time": "quarter", "targets": ["tonnes"], "season": 4,
                 "horizon": 4, "about": "Australian wool production, quarterly 1965-1994"},
    "ausbeer": {"csv": "ausbeer_quarterly.csv", "time": "quarter", "targets": ["megalitres"], "season": 4,
                "horizon": 4, "about": "Australian beer production, quarterly 1956-2008"},
    "austres": {"csv": "austres_quarterly.csv", "time": "quarter", "targets": ["thousands"], "season": 4,
                "horizon": 4, "about": "Australian residents, quarterly 1971-1993 (trend)"},
    "tanks": {"csv": "tanks", "time": "time", "series": "tank", "targets": ["pressure", "temperature"], "season": 24,
              "horizon": 24, "about": "the project's four hourly tanks, two targets (look-back defaults)"},
    "co2": {"csv": "co2", "time": "month", "targets": ["co2"], "season": 12, "horizon": 12, "missing": "interpolate",
            "about": "monthly Mauna Loa CO2 1958-2001 (statsmodels' weekly, averaged): trend + yearly cycle"},
    "realgdp": {"csv": "realgdp", "time": "quarter", "targets": ["realgdp"], "season": 4, "horizon": 4,
                "about": "quarterly US real GDP 1959-2009 (statsmodels macrodata): trend"},
    "unemp": {"csv": "unemp", "time": "quarter", "targets": ["unemp"], "season": 4, "horizon": 4,
              "about": "quarterly US unemployment rate 1959-2009 (macrodata): cycles"},
    "cpi": {"csv": "cpi", "time": "quarter", "targets": ["cpi"], "season": 4, "horizon": 4,
            "about": "quarterly US consumer prices 1959-2009 (macrodata): growing trend"},
    "elnino": {"csv": "elnino", "time": "month", "targets": ["sst"], "season": 12, "horizon": 12,
               "about": "monthly Pacific sea surface temperature 1950-2010 (statsmodels elnino)"},
    "heartrate": {"csv": "heartrate", "time": None, "targets": ["bpm"], "season": 1, "horizon": 10,
                  "about": "a heart rate, 150 readings (pmdarima)"},
}  # fmt: skip


def issue_set(name: str) -> bool:
    """Whether a series is in the set issue #15 measures intervals on: the project's samples and ../shared/data."""
    return name == "tanks_stateful" or SERIES[name]["csv"] == "tanks" or SERIES[name]["csv"].endswith(".csv")


def write_csv(name: str, path: Path) -> None:
    """The series as a CSV seqcast reads."""
    spec = SERIES[name]
    src = spec["csv"]
    if src.endswith(".csv"):
        path.write_text((SHARED / src).read_text())
        return
    if src == "tanks":
        path.write_text((ROOT / "sample_data" / "tanks.csv").read_text())
        return
    import statsmodels.api as sm

    if src == "co2":
        monthly = sm.datasets.co2.load_pandas().data.resample("MS").mean()
        rows = [f"{t:%Y-%m-%d},{'' if np.isnan(v) else round(float(v), 4)}" for t, v in monthly["co2"].items()]
    elif src in ("realgdp", "unemp", "cpi"):
        macro = sm.datasets.macrodata.load_pandas().data
        rows = [
            f"{int(y)}-{3 * (int(q) - 1) + 1:02d}-01,{v}"
            for y, q, v in zip(macro.year, macro.quarter, macro[src], strict=True)
        ]
    elif src == "elnino":
        table = sm.datasets.elnino.load_pandas().data
        rows = [f"{int(r.YEAR)}-{m + 1:02d}-01,{r.iloc[m + 1]}" for _, r in table.iterrows() for m in range(12)]
    else:  # heartrate
        import pmdarima.datasets as pm

        rows = [f"{k},{v:.4f}" for k, v in enumerate(pm.load_heartrate())]
    head = f"{spec['time'] or 'k'},{spec['targets'][0]}"
    path.write_text(head + "\n" + "\n".join(rows) + "\n")


def minimal_config(name: str, csv: Path, folder: Path, split: dict[str, Any] | None = None) -> Path:
    """The config under test: the data keys, evaluate.season and evaluate.horizon, nothing else."""
    spec = SERIES[name]
    data: dict[str, Any] = {"path": str(csv), "targets": spec["targets"], "split": split or {"val": 0.1, "test": 0.2}}
    if spec["time"]:
        data["time_column"] = spec["time"]
    for key in ("series", "missing"):
        if key in spec:
            data["series_column" if key == "series" else key] = spec[key]
    doc = {"data": data, "evaluate": {"season": spec["season"], "horizon": spec["horizon"]}}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def validation_copy(config: Path, folder: Path, long_test: bool = False) -> Path:
    """The config on its data cut before the test part: the validation part (rows) becomes the test part, or with
    long_test the test part's number of rows before the cut does, after an inner validation part of the validation
    part's size (the proportions of the full split: the intervals' staleness over a test part twice as long)."""
    from seqcast.config import load_config
    from seqcast.data import load_dataset

    cfg = load_config(config)
    ds = load_dataset(cfg.data)
    n = min(len(s) for s in ds.series)
    val, test = cfg.data.split.rows(n)
    import pandas as pd

    frame = pd.read_csv(cfg.data.path)
    key = cfg.data.series_column
    cut = frame.groupby(key, sort=False).head(n - test) if key else frame.head(n - test)
    csv = folder / f"{config.stem}-validation.csv"
    cut.to_csv(csv, index=False)
    doc = yaml.safe_load(config.read_text())
    doc["data"]["path"] = str(csv)
    doc["data"]["split"] = {"val": val, "test": test if long_test else val}
    out = folder / f"{config.stem}-validation.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def train_seqcast(config: Path, out: Path, overrides: list[str]) -> dict[str, Any]:
    """seqcast train (in process); the run's metrics, chosen transform and why, epochs and seconds."""
    import keras

    from seqcast.config import load_config
    from seqcast.pipeline import train_run

    keras.backend.clear_session()
    cfg = load_config(config, overrides)
    t0 = time.perf_counter()
    with inside(out.parent):
        result = train_run(cfg, config_path=config, output_dir=out, overwrite=True)
    pre = json.loads((result.run_dir / "preprocess.json").read_text())
    return {
        "mase": result.metrics["model"]["mase"],
        "seasonal_naive": result.metrics["seasonal_naive"]["mase"],
        "naive": result.metrics["naive"]["mase"],
        "origins": result.metrics["origins"],
        "transform": pre["transform"],
        "reason": pre.get("transform_reason", ""),
        "epochs": len(result.rows),
        "seconds": time.perf_counter() - t0,
        "intervals": result.metrics.get("intervals", {}),
    }


def make_model(method: str, season: int, n: int) -> Any:
    """A statsforecast model; AutoARIMA approximates its search as R's auto.arima does by default (n > 150 or
    season > 12: minutes per fit otherwise on the hourly tanks)."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    if method == "AutoARIMA":
        return AutoARIMA(season_length=season, approximation=n > 150 or season > 12)
    return {"AutoETS": AutoETS, "AutoTheta": AutoTheta}[method](season_length=season)


def anchors(config: Path) -> dict[str, Any]:
    """MASE of each statsforecast method through seqcast.evaluate.backtest on the run's test part, and seconds."""
    from seqcast.config import load_config
    from seqcast.data import load_dataset, split_parts
    from seqcast.evaluate import backtest

    cfg = load_config(config)
    ds = load_dataset(cfg.data)
    parts = split_parts(ds, cfg.data)
    values = [s.values for s in ds.series]
    test_starts = [p.val_end for p in parts]
    h, season, n_t = cfg.evaluate.horizon, cfg.evaluate.season, len(ds.targets)
    out: dict[str, Any] = {}
    for method in METHODS:
        t0 = time.perf_counter()

        def model_forecast(jobs: list[tuple[int, int]], method: str = method) -> np.ndarray:
            pred = np.empty((len(jobs), h, n_t))
            for j, (i, o) in enumerate(jobs):
                for t in range(n_t):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        y = values[i][:o, t].copy()
                        pred[j, :, t] = make_model(method, season, len(y)).forecast(y=y, h=h)["mean"]
            return pred

        doc = backtest(values, test_starts, h, season, ds.targets, model_forecast)
        out[method] = doc["model"]["mase"]
        out[f"{method}_s"] = time.perf_counter() - t0
        out["seasonal_naive"], out["naive"], out["origins"] = (
            doc["seasonal_naive"]["mase"],
            doc["naive"]["mase"],
            doc["origins"],
        )
    return out


def ets_intervals(config: Path, levels: tuple[int, ...] = LEVELS) -> dict[str, Any]:
    """AutoETS's own prediction intervals (statsforecast, level=...) on seqcast's test origins, refitted at every
    origin: coverage, width and MSIS per level, scaled as seqcast scales them (seqcast.intervals.interval_scores)."""
    from seqcast.config import load_config
    from seqcast.data import load_dataset, split_parts
    from seqcast.evaluate import mase_scale, origins
    from seqcast.intervals import interval_scores

    cfg = load_config(config)
    ds = load_dataset(cfg.data)
    parts = split_parts(ds, cfg.data)
    h, season, n_t = cfg.evaluate.horizon, cfg.evaluate.season, len(ds.targets)
    lo: dict[int, list[np.ndarray]] = {lv: [] for lv in levels}
    hi: dict[int, list[np.ndarray]] = {lv: [] for lv in levels}
    true, scale = [], []
    for s, p in zip(ds.series, parts, strict=True):
        y_all = s.values[:, :n_t]
        sc = mase_scale(y_all[: p.val_end], season)
        for o in origins(p.val_end, len(y_all), h):
            band = {lv: (np.empty((h, n_t)), np.empty((h, n_t))) for lv in levels}
            for t in range(n_t):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = make_model("AutoETS", season, o).forecast(y=y_all[:o, t].copy(), h=h, level=list(levels))
                for lv in levels:
                    band[lv][0][:, t], band[lv][1][:, t] = f[f"lo-{lv}"], f[f"hi-{lv}"]
            for lv in levels:
                lo[lv].append(band[lv][0])
                hi[lv].append(band[lv][1])
            true.append(y_all[o : o + h])
            scale.append(np.broadcast_to(sc, (h, n_t)))
    t_, s_ = np.stack(true), np.stack(scale)
    return {str(lv): interval_scores(np.stack(lo[lv]), np.stack(hi[lv]), t_, s_, lv) for lv in levels}


def cached_anchors(key: str, config: Path, compute: Any = None) -> dict[str, Any]:
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    if key not in cache:
        cache[key] = (compute or anchors)(config)
        CACHE.write_text(json.dumps(cache, indent=1))
    return cache[key]


def geomean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in finite)) if finite else float("nan")


def fmt(v: float | None) -> str:
    return f"{v:.3f}" if v is not None and math.isfinite(v) else "n/a"


def run(args: argparse.Namespace) -> dict[str, Any]:
    names = args.series.split(",") if args.series else [*SERIES, "tanks_stateful"]
    seeds = [int(s) for s in args.seeds.split(",")]
    overrides = list(args.set or [])
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if args.keep:  # the run directories stay, for --rescore
            folder = args.keep.resolve()
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_accuracy_")))
        for name in names:
            if name == "tanks_stateful":
                config = ROOT / "configs" / "tanks_stateful.yaml"
                local = folder / "tanks_stateful.yaml"
                doc = yaml.safe_load(config.read_text())
                doc["data"]["path"] = str(ROOT / "sample_data" / "tanks.csv")
                local.write_text(yaml.safe_dump(doc, sort_keys=False))
                config = local
            else:
                csv = folder / f"{name}.csv"
                write_csv(name, csv)
                config = minimal_config(name, csv, folder)
            if args.validation:
                config = validation_copy(config, folder, args.long_test)
            runs = []
            for seed in [] if args.anchors_only else seeds:
                extra = ["training.epochs=2"] if args.smoke else []
                if args.mimo and name in SERIES:  # experiment: one window predicts the whole horizon
                    extra.append(f"windows.horizon={SERIES[name]['horizon']}")
                try:
                    r = train_seqcast(
                        config, folder / f"run-{name}-{seed}", [f"training.seed={seed}", *overrides, *extra]
                    )
                except Exception as exc:  # an override that does not apply to this series (log of a negative...)
                    if args.smoke or not args.set:
                        raise
                    print(f"  {name} seed {seed}: not applicable ({str(exc).splitlines()[0]})", flush=True)
                    continue
                runs.append({**r, "seed": seed})
                msg = f"MASE {fmt(r['mase'])} (seasonal naive {fmt(r['seasonal_naive'])}), transform {r['transform']}"
                print(f"  {name} seed {seed}: {msg}, {r['epochs']} epochs, {r['seconds']:.0f} s", flush=True)
            entry: dict[str, Any] = {"runs": runs, "mase": statistics.fmean(r["mase"] for r in runs) if runs else None}
            if not args.no_anchors:  # a smoke run computes them afresh and keeps no cache
                part = ("validation|long-test" if args.long_test else "validation") if args.validation else "test"
                key = f"{name}|{part}"
                entry["anchors"] = anchors(config) if args.smoke else cached_anchors(key, config)
                a = entry["anchors"]
                print(f"  {name}: " + ", ".join(f"{m} {fmt(a[m])}" for m in METHODS), flush=True)
                if not args.validation:
                    ets_key = key + "|ets_intervals"
                    entry["ets_intervals"] = (
                        ets_intervals(config) if args.smoke else cached_anchors(ets_key, config, ets_intervals)
                    )
            results[name] = entry
    return results


def summary(results: dict[str, Any]) -> dict[str, float]:
    """Geometric mean MASE per method over the series that have every method."""
    names = [n for n, e in results.items() if "anchors" in e]
    out = {"seqcast": geomean([results[n]["mase"] for n in names])}
    for method in (*METHODS, "seasonal_naive", "naive"):
        out[method] = geomean([results[n]["anchors"][method] for n in names])
    return out


def report(results: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    groups: dict[str, list[str]] = {}
    for name, e in results.items():
        groups.setdefault(",".join(str(r.get("seed", "?")) for r in e["runs"]), []).append(name)
    seeds = "; ".join(f"{k} ({', '.join(v)})" for k, v in groups.items()) if len(groups) > 1 else args.seeds
    g = summary(results)
    rows = []
    for name, e in results.items():
        a = e["anchors"]
        runs = e["runs"]
        best = min((*METHODS, "seasonal_naive"), key=lambda m: a[m] if math.isfinite(a[m]) else math.inf)
        ratio = e["mase"] / a["seasonal_naive"] if a["seasonal_naive"] else float("nan")
        rows.append(
            f"| {name} | {a['origins']} | **{fmt(e['mase'])}** ({', '.join(fmt(r['mase']) for r in runs)}) "
            f"| {fmt(a['seasonal_naive'])} | {fmt(a['naive'])} | {fmt(a['AutoETS'])} | {fmt(a['AutoARIMA'])} "
            f"| {fmt(a['AutoTheta'])} | {ratio:.2f} | {best} | {', '.join(sorted({r['transform'] for r in runs}))} "
            f"| {statistics.fmean(r['seconds'] for r in runs):.0f} |"
        )
    part = "validation part (the series cut before their test part)" if args.validation else "test part"
    table = "\n".join(rows)
    lines = [
        "| series | origins | seqcast (seeds) | seasonal naive | naive | AutoETS | AutoARIMA | AutoTheta "
        "| seqcast / s. naive | best anchor | transform | train s |",
        "|" + "---|" * 12,
        table,
        "",
        "| geometric mean MASE | seqcast | AutoETS | AutoARIMA | AutoTheta | seasonal naive | naive |",
        "|---|---|---|---|---|---|---|",
        f"| {len(results)} series, {part} | **{fmt(g['seqcast'])}** | {fmt(g['AutoETS'])} | {fmt(g['AutoARIMA'])} "
        f"| {fmt(g['AutoTheta'])} | {fmt(g['seasonal_naive'])} | {fmt(g['naive'])} |",
    ]
    lines += interval_report(results)
    head = (
        f"{machine('seqcast', 'statsforecast')}\n\nCommand: `python bench/bench_accuracy.py"
        f"{' --validation' if args.validation else ''}{' --merge ' + args.merge if args.merge else ''}` ("
        f"{seconds / 60:.0f} min). MASE on the {part}; training "
        f"seeds {seeds} (mean, each in brackets); overrides {args.set or 'none'}.\n"
    )
    return head + "\n" + "\n".join(lines) + "\n"


def interval_report(results: dict[str, Any]) -> list[str]:
    """The intervals' test coverage per series (mean over seeds) beside AutoETS's own intervals on the same
    origins, MSIS at 95 % (scaled like MASE), and how far coverage is from the level on average and at worst."""

    def level_of(r: dict[str, Any], lv: int) -> dict[str, Any] | None:
        v = r.get("intervals", {}).get(str(lv))
        return v if v and "refused" not in v else None

    rows: list[str] = []
    gaps: dict[int, list[float]] = {lv: [] for lv in LEVELS}
    ets_gaps: dict[int, list[float]] = {lv: [] for lv in LEVELS}
    mine: dict[int, list[float]] = {lv: [] for lv in LEVELS}  # the same, over issue_set's series only
    ets_mine: dict[int, list[float]] = {lv: [] for lv in LEVELS}
    for name, e in results.items():
        if not any(r.get("intervals") for r in e["runs"]):
            continue
        cells = []
        for lv in LEVELS:
            got = [level_of(r, lv) for r in e["runs"]]
            if any(g is None for g in got):
                why = next((r["intervals"].get(str(lv), {}).get("refused", "") for r in e["runs"]), "")
                cells.append(f"refused ({why.split(';')[0]})" if why else "n/a")
                continue
            cov = statistics.fmean(g["coverage"] for g in got)  # type: ignore[index]
            gaps[lv].append(100 * (cov - lv / 100))
            if issue_set(name):
                mine[lv].append(gaps[lv][-1])
            each = ", ".join(format(g["coverage"], ".0%") for g in got)  # type: ignore[index]
            cells.append(f"{cov:.1%} ({each})")
        r95 = [level_of(r, 95) for r in e["runs"]]
        msis = statistics.fmean(g["score"] for g in r95) if all(r95) else float("nan")  # type: ignore[index]
        sn = statistics.fmean(g["seasonal_naive"]["score"] for g in r95) if all(r95) else float("nan")  # type: ignore[index]
        errors = " + ".join(  # the fewest errors a level rests on, of the validation part, then the training part's
            str(min(r["intervals"][str(lv)].get(key, 0) for r in e["runs"] for lv in LEVELS))
            for key in ("errors", "training_errors")
        )
        ets = e.get("ets_intervals", {})
        ets_cells = [f"{ets[str(lv)]['coverage']:.1%}" if str(lv) in ets else "n/a" for lv in LEVELS]
        for lv in LEVELS:  # the reference: AutoETS's own intervals on every series (none refused)
            if str(lv) in ets:
                ets_gaps[lv].append(100 * (ets[str(lv)]["coverage"] - lv / 100))
                if issue_set(name):
                    ets_mine[lv].append(ets_gaps[lv][-1])
        rows.append(
            f"| {name} | {errors} | {cells[0]} | {cells[1]} | {fmt(msis)} | {fmt(sn)} | {ets_cells[0]} "
            f"| {ets_cells[1]} | {fmt(ets.get('95', {}).get('score'))} |"
        )
    if not rows:
        return []
    out = [
        "",
        "Prediction intervals (conformal, calibrated on the validation and training parts), test coverage: mean over "
        "seeds (each in brackets); MSIS at 95 % scaled like MASE; AutoETS: statsforecast's own intervals, same "
        "origins.",
        "",
        "| series | errors: val. + train. (fewest) | seqcast 80 % | seqcast 95 % | seqcast MSIS 95 | s. naive MSIS 95 "
        "| AutoETS 80 % | AutoETS 95 % | AutoETS MSIS 95 |",
        "|" + "---|" * 9,
        *rows,
        "",
        "| level | series | mean coverage - level (points) | worst series (points) | AutoETS: series, mean, worst |",
        "|---|---|---|---|---|",
    ]
    for what, per, ref in (("all", gaps, ets_gaps), ("samples + ../shared/data", mine, ets_mine)):
        for lv in LEVELS:
            g, r = per[lv], ref[lv]
            against = f"{len(r)}, {statistics.fmean(r):+.1f}, {max(r, key=abs):+.1f}" if r else "n/a"
            if g:
                out.append(
                    f"| {lv} % ({what}) | {len(g)} | {statistics.fmean(g):+.1f} | {max(g, key=abs):+.1f} | {against} |"
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--validation", action="store_true", help="score on the validation part (choosing defaults)")
    ap.add_argument(
        "--long-test",
        action="store_true",
        help="with --validation: a test stand-in as long as the test part (the full split's proportions)",
    )
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--series", default=None)
    ap.add_argument("--set", action="append", help="a config override for every series, KEY=VALUE")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    ap.add_argument("--no-anchors", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="train in this folder and keep the run directories")
    ap.add_argument("--mimo", action="store_true", help="experiment: windows.horizon = evaluate.horizon")
    ap.add_argument("--anchors-only", action="store_true", help="compute (and cache) the anchors, train nothing")
    ap.add_argument("--no-write", action="store_true", help="print the report, do not touch bench/ACCURACY.md")
    ap.add_argument("--merge", default=None, help="report the --json files A,B,... of earlier runs (series in order)")
    ap.add_argument(
        "--level-free",
        default=None,
        help="experiment: the level-free candidates of `auto` for look-back windows, e.g. window_norm,window_mean",
    )
    ap.add_argument(
        "--seasonal",
        default=None,
        help="experiment: the seasonal candidates of `auto` for look-back windows, e.g. seasonal,deseason+window_norm",
    )
    args = ap.parse_args()
    from seqcast import transforms  # experiment arms: only the candidates of `auto` differ

    if args.seasonal:
        transforms.LOOKBACK_SEASONAL = tuple(args.seasonal.split(","))
    if args.level_free:
        transforms.LOOKBACK_LEVEL_FREE = tuple(args.level_free.split(","))
    if args.smoke:
        args.series, args.seeds = "nile", "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print(machine("seqcast", "statsforecast"), flush=True)
    t0 = time.perf_counter()
    if args.merge:  # parts run separately (the hourly tanks with fewer seeds): one report
        results = {k: v for f in args.merge.split(",") for k, v in json.loads(Path(f).read_text()).items()}
        text = report(results, args, sum(r["seconds"] for e in results.values() for r in e["runs"]))
        print(text)
        if not args.no_write:
            write_section("validation" if args.validation else "test", text)
        return
    results = run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.smoke:  # the report is built, so its code runs in CI, and not written
        assert math.isfinite(results["nile"]["mase"]) and math.isfinite(results["nile"]["anchors"]["AutoETS"]), results
        text = report(results, args, time.perf_counter() - t0)
        assert "| nile |" in text and "Prediction intervals" in text, text
        print(f"smoke run OK: the report built ({len(text.splitlines())} lines), nothing written")
        return
    if args.no_anchors or args.anchors_only:
        print(json.dumps({n: e.get("anchors", e["mase"]) for n, e in results.items()}, indent=1))
        return
    text = report(results, args, time.perf_counter() - t0)
    print(text)
    if not args.no_write:
        write_section("validation" if args.validation else "test", text)


def write_section(part: str, text: str) -> None:
    path = HERE / "ACCURACY.md"
    doc = path.read_text() if path.exists() else "# Forecast accuracy (bench_accuracy.py)\n"
    start, end = f"<!-- {part}:start -->", f"<!-- {part}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end) :] if start in doc else doc + "\n" + block
    path.write_text(doc)


if __name__ == "__main__":
    main()
