"""The backtest's scores: MAE, RMSE, sMAPE and MASE of forecasts against the truth, over all and per series."""

from __future__ import annotations

from typing import Any

import numpy as np

METRICS = ("mae", "rmse", "smape", "mase")
NO_SCALE = "no MASE scale: the history before the test part is constant, or not longer than evaluate.season"


def scores(pred: np.ndarray, true: np.ndarray, scale: np.ndarray) -> dict[str, Any]:
    """MAE, RMSE, sMAPE (percent, 0-200) and MASE of pred vs true (..., targets), MASE scaled per column."""
    err = pred - true
    denom = np.abs(pred) + np.abs(true)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    out = {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "smape": float(100 * np.mean(smape)),
        "mase": float(np.nanmean(np.abs(err) / scale)) if np.isfinite(scale).any() else float("nan"),
    }
    return out | ({} if np.isfinite(out["mase"]) else {"mase_why": NO_SCALE})


def by_series(methods: dict[str, np.ndarray], true: np.ndarray, scale: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Each method's MASE per series, over its origins, steps and the targets that have a scale (NaN: none has);
    methods' forecasts and true (origins, horizon, targets), scale (origins, 1, targets), names: each origin's.
    One pass over the origins (bincount), not one per series."""
    index = {n: k for k, n in enumerate(dict.fromkeys(names))}  # in the order of the origins: the data's
    code = np.fromiter((index[n] for n in names), dtype=np.int64, count=len(names))
    out: dict[str, Any] = {n: {} for n in index}
    for k, p in methods.items():
        cells = (np.abs(p - true) / scale).reshape(len(names), -1)
        known = np.isfinite(cells)
        total = np.bincount(code, np.where(known, cells, 0.0).sum(axis=1), minlength=len(index))
        count = np.bincount(code, known.sum(axis=1), minlength=len(index))
        for n, j in index.items():
            out[n][k] = float(total[j] / count[j]) if count[j] else float("nan")
            out[n] |= {} if count[j] else {f"{k}_why": NO_SCALE}  # (strict JSON's null needs a reason)
    return out
