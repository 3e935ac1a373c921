"""Model units: scaled values, then optionally differenced or normalised per window.

Recurrent networks cannot extrapolate to a level they never saw: a trending series drifts out
of the scaled range its training part covered. `difference` models x[t] - x[t-1]; `window_norm`
subtracts each window's last input row from its inputs and targets, so the network sees shapes,
not levels. `auto` picks per data set from the training and validation parts only (see choose()).
"""

from __future__ import annotations

import numpy as np

from seqcast.data import Dataset, Parts, Scaler


def to_model_units(scaled: np.ndarray, transform: str) -> np.ndarray:
    """(n, inputs) scaled values in model units; for `difference` row 0 is NaN and never used."""
    if transform != "difference":
        return scaled
    out = np.empty_like(scaled)
    out[0] = np.nan
    out[1:] = np.diff(scaled, axis=0)
    return out


def out_of_range(ds: Dataset, parts: list[Parts], scaler: Scaler) -> float:
    """How far the validation part leaves the training part's range, in training ranges (0 = inside)."""
    worst = 0.0
    n_t = len(ds.targets)
    for i, (s, p) in enumerate(zip(ds.series, parts, strict=True)):
        if p.val_end <= p.train_end:
            continue
        train = scaler.transform(i, s.values[: p.train_end])[:, :n_t]
        val = scaler.transform(i, s.values[p.train_end : p.val_end])[:, :n_t]
        lo, hi = train.min(axis=0), train.max(axis=0)
        width = np.maximum(hi - lo, 1e-12)
        excess = np.maximum(val.max(axis=0) - hi, 0) + np.maximum(lo - val.min(axis=0), 0)
        worst = max(worst, float((excess / width).max()))
    return worst


def choose(ds: Dataset, parts: list[Parts], scaler: Scaler, mode: str) -> tuple[str, str]:
    """(transform, why) for `auto`: levels when the validation part stays in the trained range, else changes.

    Look-back models get per-window normalisation, stateful models differences (no window to normalise).
    Only the training and validation parts are looked at: the test part stays unseen.
    """
    drift = out_of_range(ds, parts, scaler)
    level_free = "window_norm" if mode == "lookback" else "difference"
    if drift > 0.05:
        return level_free, f"validation values leave the training range by {drift:.0%} of it: trend or level shift"
    return "none", f"validation values stay within the training range (excess {drift:.0%})"
