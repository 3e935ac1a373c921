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

A transform is written as its steps joined by '+', in that order: `none`, `log`, `difference`, `window_norm`,
`seasonal`, `log+seasonal`, `log+window_norm`, `seasonal+difference`, ... With `seasonal` or `difference`, a
network that predicts zero predicts seasonal naive or naive: it learns what they miss. The scaler is fitted after
the log. Pure numpy; scaling itself is prepare.Scaler's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEPS = ("log", "seasonal", "seasonal_mean", "deseason", "difference", "window_norm", "window_mean")
SEASONAL_STEPS = ("seasonal", "seasonal_mean", "deseason")  # one reference for the seasonal step
WINDOW_STEPS = ("window_norm", "window_mean")  # applied per window: each window minus its reference level


@dataclass(frozen=True)
class Transform:
    """The steps of one data.transform, in their fixed order."""

    log: bool = False
    season: int = 0  # the lag of the seasonal difference; 0: no seasonal step
    difference: bool = False
    window_norm: bool = False
    window_mean: bool = False
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
            raise ValueError(f"{name!r} is not a transform: 'none', or steps of {', '.join(STEPS)} joined by '+'")
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
        return cls(
            "log" in steps, season if step else 0, "difference" in steps, "window_norm" in steps,
            "window_mean" in steps, step, fixed,
        )  # fmt: skip

    @property
    def name(self) -> str:
        """The transform as it is written in the config and preprocess.json."""
        on = {"log": self.log, "difference": self.difference, "window_norm": self.window_norm}
        on |= {"window_mean": self.window_mean, self.seasonal_step: bool(self.seasonal_step)}
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
        """A step applied per window (window_norm, window_mean): look-back windows only."""
        return self.window_norm or self.window_mean

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
        """(n, inputs) scaled values in model units (window_norm aside, applied per window); the first
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
        """Scaled values of predictions in model units (window_norm already undone).

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


LOOKBACK_LEVEL_FREE: tuple[str, ...] = ("window_norm",)  # the level-free candidates of `auto` for look-back windows
# The seasonal candidates of `auto` (season > 1). For look-back windows deseason+window_norm
# replaced `seasonal`, chosen on the development series' validation splits (bench/ACCURACY.md): seasonal changes
# left the quarterly series at seasonal naive, a network on deseasonalised windows beat it by 12-15 %.
LOOKBACK_SEASONAL: tuple[str, ...] = ("deseason+window_norm",)
STATEFUL_SEASONAL: tuple[str, ...] = ("seasonal",)


def auto_candidates(mode: str, season: int) -> list[str]:
    """The transforms `auto` tries, simplest first: levels, the level-free one (window_norm for look-back windows,
    difference for stateful models) and, where a season applies (season > 1), the seasonal one
    (deseason+window_norm for look-back windows, seasonal for stateful models). The log is not tried: on
    validation it was never chosen over these (bench/ACCURACY.md); `log+...` stays for a user to set."""
    level_free = LOOKBACK_LEVEL_FREE if mode == "lookback" else ("difference",)
    seasonal = (LOOKBACK_SEASONAL if mode == "lookback" else STATEFUL_SEASONAL) if season > 1 else ()
    return ["none", *level_free, *seasonal]


def normalise_window(x: np.ndarray, mean: bool = False, fixed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`window_norm` (or with mean `window_mean`): (the window minus its last row (its mean over time), that
    reference (batch, 1, inputs)); add the reference back to the output. The last `fixed` inputs (Transform.fixed)
    keep their values: their reference is 0."""
    ref = x.mean(axis=1, keepdims=True, dtype=np.float64).astype(x.dtype) if mean else x[:, -1:, :]
    if fixed:
        ref = ref.copy()
        ref[:, :, ref.shape[2] - fixed :] = 0
    return x - ref, ref
