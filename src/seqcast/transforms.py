"""data.transform: the steps between the original values and the network's model units, each with its inverse.

  [log]          targets -> log(targets)                  positive series whose swing grows with their level
  scale          (x - center) / scale                      per series and column, fitted on the training part
  [seasonal]     u[t] = s[t] - s[t - season]               the network sees this year's change on last year's
  [seasonal_mean] u[t] = s[t] - (s[t - season] + s[t - 2 season]) / 2   the same on a steadier seasonal reference
  [deseason]     u[t] = s[t] - index[t]                    the season removed, the level kept: index[t] is the mean
                 of s[t - season] and s[t - 2 season] minus the mean of the two seasons before t (every phase twice)
  [difference]   u[t] = u[t] - u[t - 1]                    changes instead of levels
  [window_norm]  every window minus its last row           shapes instead of levels (look-back windows only)
  [window_mean]  every window minus its mean               the same around a steadier level (noisy series)
  [window_trend] every window minus the line through its   trends continued: a network that predicts zero
                 last row at its least-squares slope       extends the window's slope (Holt's idea, per window)

A transform is written as its steps joined by '+', in that order: `none`, `log`, `difference`, `window_norm`,
`seasonal`, `log+seasonal`, `log+window_norm`, `seasonal+difference`, ... With `seasonal` or `difference`, a
network that predicts zero predicts seasonal naive or naive: it learns what they miss. The scaler is fitted after
the log. Pure numpy; scaling itself is prepare.Scaler's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEPS = ("log", "seasonal", "seasonal_mean", "deseason", "difference", "window_norm", "window_mean", "window_trend")
SEASONAL_STEPS = ("seasonal", "seasonal_mean", "deseason")  # one reference for the seasonal step
WINDOW_STEPS = ("window_norm", "window_mean", "window_trend")  # per window: each window minus its reference


@dataclass(frozen=True)
class Transform:
    """The steps of one data.transform, in their fixed order."""

    log: bool = False
    season: int = 0  # the lag of the seasonal difference; 0: no seasonal step
    difference: bool = False
    # The step applied per window (one of WINDOW_STEPS; look-back windows only), or "": each window minus its last
    # row (window_norm), its mean (window_mean) or the line of its trend (window_trend)
    window_step: str = ""
    # The seasonal step (one of SEASONAL_STEPS; "" when season is 0), which names its reference: the value a
    # season before (seasonal), the mean of the two seasons before (seasonal_mean), or their seasonal index (deseason)
    seasonal_step: str = ""
    # The last `fixed` inputs (data.static and data.series_id: one value per series) stay as scaled: a difference
    # or a window's reference would make them 0, and the network could not tell the series apart
    fixed: int = 0

    @classmethod
    def parse(cls, name: str, season: int = 1, fixed: int = 0) -> Transform:
        """The transform `name` ('none', or steps joined by '+' in the order of STEPS); ValueError if invalid."""
        steps = [] if name == "none" else name.split("+")
        unknown = [s for s in steps if s not in STEPS]
        if unknown or not steps and name != "none":
            import difflib

            close = [m for u in unknown for m in difflib.get_close_matches(u, STEPS, n=1, cutoff=0.75)][:1]
            mean = f" (did you mean {close[0]!r} for {unknown[0]!r}?)" if close and len(unknown) == 1 else ""
            raise ValueError(f"{name!r} is not a transform{mean}: 'none', or steps of {', '.join(STEPS)} joined by '+'")
        if len(set(steps)) != len(steps) or steps != sorted(steps, key=STEPS.index):
            raise ValueError(f"{name!r}: each step once, in the order {' + '.join(STEPS)}")
        levels = [s for s in steps if s in ("difference", *WINDOW_STEPS)]
        if len(levels) > 1:
            raise ValueError(f"{name!r}: {' and '.join(levels)} each remove the level; use one of them")
        references = [s for s in steps if s in SEASONAL_STEPS]
        if len(references) > 1:
            raise ValueError(f"{name!r}: {' and '.join(references)} are references for one step; use one of them")
        if references and season < 2:
            raise ValueError(f"{name!r}: the seasonal step needs evaluate.season of 2 or more (it is {season})")
        step = references[0] if references else ""
        window = next((s for s in steps if s in WINDOW_STEPS), "")
        return cls("log" in steps, season if step else 0, "difference" in steps, window, step, fixed)

    @property
    def name(self) -> str:
        """The transform as it is written in the config and preprocess.json."""
        on = {"log": self.log, "difference": self.difference, self.window_step: True, self.seasonal_step: True}
        return "+".join(s for s in STEPS if on.get(s)) or "none"

    @property
    def two_seasons(self) -> bool:
        """The seasonal step's reference reads two seasons back (seasonal_mean, deseason), not one."""
        return self.seasonal_step in ("seasonal_mean", "deseason")

    @property
    def deseason(self) -> bool:
        """The seasonal step subtracts a seasonal index: the level stays."""
        return self.seasonal_step == "deseason"

    @property
    def per_window(self) -> bool:
        """A step applied per window (window_norm, window_mean, window_trend): look-back windows only."""
        return bool(self.window_step)

    @property
    def keeps_level(self) -> bool:
        """No step removes the level (`none`, `log`, `deseason`): the network reads levels, and knows only its
        training part's (levels.py). The seasonal changes, the difference and the per-window steps each remove it;
        deseason keeps it."""
        return self.seasonal_step in ("", "deseason") and not (self.difference or self.per_window)

    @property
    def lost(self) -> int:
        """Rows at the start of a series with no model units (the lags of the seasonal step and the difference)."""
        return self.season_rows + int(self.difference)

    @property
    def season_rows(self) -> int:
        """Rows the seasonal step reads before a row: one season, or two for seasonal_mean and deseason."""
        return self.season * (2 if self.two_seasons else 1)

    def _reference(self, past: np.ndarray, k: int) -> np.ndarray:
        """The seasonal step's reference for position k of `past` (rows on axis 1): the value one season before,
        the mean of the values one and two seasons before, or (deseason) that mean minus the mean of all the
        rows of those two seasons: the seasonal index of k's phase."""
        m = self.season
        if self.two_seasons:
            same = 0.5 * (past[:, k - m] + past[:, k - 2 * m])
            return same - past[:, k - 2 * m : k].mean(axis=1) if self.deseason else same
        return past[:, k - m]

    def pre(self, values: np.ndarray, n_targets: int) -> np.ndarray:
        """Before scaling: the log of the targets (n, inputs); a ValueError names nothing, the caller does."""
        if not self.log:
            return values
        out = np.array(values, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[..., :n_targets] = np.log(out[..., :n_targets])
        return out

    def post(self, values: np.ndarray) -> np.ndarray:
        """After unscaling the targets: the inverse of pre."""
        return np.exp(values) if self.log else values

    def forward(self, scaled: np.ndarray) -> np.ndarray:
        """(n, inputs) scaled values in model units (the per-window steps aside: normalise_window); the first
        `lost` rows are NaN and never used."""
        out = np.asarray(scaled, dtype=np.float64)
        if self.season:
            m, lagged = self.season, np.full_like(out, np.nan)
            if self.two_seasons:
                lagged[2 * m :] = out[2 * m :] - 0.5 * (out[m:-m] + out[: -2 * m])
                if self.deseason:  # plus the mean of the two seasons before each row: the level stays
                    total = np.concatenate([np.zeros_like(out[:1]), np.cumsum(out, axis=0)])
                    lagged[2 * m :] += (total[2 * m : -1] - total[: -2 * m - 1]) / (2 * m)
            else:
                lagged[m:] = out[m:] - out[:-m]
            out = lagged
        if self.difference:
            changed = np.full_like(out, np.nan)
            changed[1:] = np.diff(out, axis=0)
            out = changed
        if self.fixed and (self.season or self.difference):  # what the steps above changed, put back
            out[:, out.shape[1] - self.fixed :] = np.asarray(scaled, dtype=np.float64)[:, out.shape[1] - self.fixed :]
        return out

    def inverse(self, pred: np.ndarray, tail: np.ndarray) -> np.ndarray:
        """Scaled values of predictions in model units (the per-window step already undone: denormalise).

        pred: (jobs, steps, targets); tail: (jobs, lost, targets) the scaled rows just before each origin.
        """
        out = np.asarray(pred, dtype=np.float64)
        if self.difference:  # integrate from the last known level (of the seasonal changes, when seasonal)
            n = tail.shape[1]
            level = tail[:, -1] - self._reference(tail, n - 1) if self.season else tail[:, -1]
            out = level[:, None, :] + np.cumsum(out, axis=1)
        if self.season:  # this step's value = its change + the reference: seasons before (known, or forecast)
            r = self.season_rows
            past = np.concatenate([tail[:, tail.shape[1] - r :], np.empty_like(out)], axis=1)
            for k in range(out.shape[1]):
                past[:, r + k] = out[:, k] + self._reference(past, r + k)
            out = past[:, r:]
        return out


# The level-free candidates of `auto` for look-back windows. window_trend joined window_norm on 2026-12-04, chosen
# on the development series' validation splits (bench/ACCURACY.md): it won on the smooth trend (austres, MASE
# halved on both seeds) and was not chosen elsewhere.
LOOKBACK_LEVEL_FREE: tuple[str, ...] = ("window_norm", "window_trend")
# The seasonal candidates of `auto` (season > 1). For look-back windows deseason+window_norm
# replaced `seasonal`, chosen on the development series' validation splits (bench/ACCURACY.md): seasonal changes
# left the quarterly series at seasonal naive, a network on deseasonalised windows beat it by 12-15 %.
LOOKBACK_SEASONAL: tuple[str, ...] = ("deseason+window_norm",)
STATEFUL_SEASONAL: tuple[str, ...] = ("seasonal",)


def auto_candidates(mode: str, season: int) -> list[str]:
    """The transforms `auto` tries, simplest first: levels, the level-free ones (window_norm and window_trend for
    look-back windows, difference for stateful models) and, where a season applies (season > 1), the seasonal one
    (deseason+window_norm for look-back windows, seasonal for stateful models). The log is not tried: on
    validation it was never chosen over these (bench/ACCURACY.md); `log+...` stays for a user to set."""
    level_free = LOOKBACK_LEVEL_FREE if mode == "lookback" else ("difference",)
    seasonal = (LOOKBACK_SEASONAL if mode == "lookback" else STATEFUL_SEASONAL) if season > 1 else ()
    return ["none", *level_free, *seasonal]


def normalise_window(
    x: np.ndarray, step: str = "window_norm", fixed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(batch, look_back, inputs) windows -> (the windows minus their reference, level, slope).

    window_norm: the reference is the last row; window_mean: the mean over time; window_trend: the line through
    the last row at the window's least-squares slope per step (slope (batch, 1, inputs); None for the other two).
    level: (batch, 1, inputs). Output k steps after the window's last row gets level + k * slope back
    (denormalise). The last `fixed` inputs (Transform.fixed) keep their values: their reference is 0.
    """
    slope = None
    if step == "window_mean":
        level = x.mean(axis=1, keepdims=True, dtype=np.float64).astype(x.dtype)
    else:
        level = x[:, -1:, :]
    if step == "window_trend":
        t = np.arange(x.shape[1], dtype=np.float64) - (x.shape[1] - 1)  # steps from the last row: -(L - 1) .. 0
        tc = (t - t.mean())[None, :, None]
        centred = x - x.mean(axis=1, keepdims=True)
        slope = (tc * centred).sum(axis=1, keepdims=True) / ((tc**2).sum() or 1.0)  # float64; 0 for one row
    if fixed:
        level = level.copy()
        level[:, :, level.shape[2] - fixed :] = 0
        if slope is not None:
            slope[:, :, slope.shape[2] - fixed :] = 0
    if slope is None:
        return x - level, level, None
    return (x - (level + slope * t[None, :, None])).astype(x.dtype), level, slope


def denormalise(y: np.ndarray, level: np.ndarray, slope: np.ndarray | None) -> np.ndarray:
    """(batch, h, targets) outputs in window units -> model units: the inverse of normalise_window for the rows
    1..h after the window's last one."""
    n_t = y.shape[2]
    if slope is None:
        return y + level[:, :, :n_t]
    k = np.arange(1, y.shape[1] + 1)[None, :, None]
    return (y + (level[:, :, :n_t] + k * slope[:, :, :n_t])).astype(y.dtype)
