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
    methods' forecasts and true (origins, horizon, targets), scale (origins, 1, targets), names: each origin's."""
    of = np.asarray(names, dtype=object)
    out: dict[str, Any] = {}
    for name in dict.fromkeys(names):  # in the order of the origins: the data's
        mine = of == name
        cells = {k: (np.abs(p[mine] - true[mine]) / scale[mine]).ravel() for k, p in methods.items()}
        out[name] = {
            k: float(c[np.isfinite(c)].mean()) if np.isfinite(c).any() else float("nan") for k, c in cells.items()
        }
    return out
