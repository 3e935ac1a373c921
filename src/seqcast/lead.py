"""data.features, the inputs known ahead, are read one row ahead: the model's input row of time t holds the targets
of t and the features of t + 1, the time its output forecasts. A holiday flag then acts on the holiday's own
forecast, and a planned setting on the step it is planned for.

Every path that turns rows into model units leads them first (training arrays, backtests, forecasts, state.npz,
`update`), so they agree. The last row of a history has no next row: in training it is never an input (a target
always follows an input); a forecast gives it the first row of --future, a backtest the row after its origin, and
a stateful run's state.npz stops one row before it (the forecast reads it with the --future row). past_features
(observed up to the origin only) and static columns are never led. Runs trained before preprocess.json recorded
`features_lead` read each row's features with its own targets, and are forecast as they were trained.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def columns(n_targets: int, features: list[str], past: list[str], static: list[str]) -> list[int]:
    """The input columns (after the targets) that are led: data.features, not past_features nor static ones."""
    return [n_targets + k for k, c in enumerate(features) if c not in past and c not in static]


def of_data(ds: Any) -> list[int]:
    """The led input columns of a dataset (data.Dataset) as training reads it."""
    return columns(len(ds.targets), ds.features, ds.past, ds.static)


def of_run(pre: dict[str, Any]) -> list[int]:
    """The led input columns of a run (preprocess.json); none for a run from before `features_lead`."""
    if not pre.get("features_lead"):
        return []
    return columns(len(pre["targets"]), pre["features"], pre.get("past_features", []), pre.get("static", []))


def lead(rows: np.ndarray, cols: list[int], after: np.ndarray | None = None) -> np.ndarray:
    """rows (time, inputs) with the columns `cols` one row ahead: row t holds row t + 1's; the last row holds
    `after` (the next row's values of those columns, in the order of cols), or keeps its own when none is given."""
    if not cols or not len(rows):
        return rows
    out = np.array(rows, copy=True)
    out[:-1, cols] = rows[1:, cols]
    if after is not None:
        out[-1, cols] = after
    return out


def ahead(future: np.ndarray, cols: list[int], n_targets: int) -> np.ndarray:
    """Known future rows (steps, inputs after the targets) led the same way: step k holds step k + 1's values of
    the led columns; the last step, which feeds no forecast step, keeps its own."""
    return lead(future, [c - n_targets for c in cols])


def origins(
    values: list[np.ndarray],
    jobs: list[tuple[int, int]],
    future: list[np.ndarray] | None,
    cols: list[int],
    n_targets: int,
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """The series and the known future of every job (series i, origin o) of forecast.forecast_origins, led. A job
    whose origin is its series' end reads the first of its future rows as its last row's next values."""
    if not cols:
        return values, future
    after: dict[int, np.ndarray] = {}
    for j, (i, o) in enumerate(jobs):
        if future is not None and o == len(values[i]) and len(future[j]):
            after[i] = future[j][0, [c - n_targets for c in cols]]
    led = [lead(v, cols, after.get(i)) for i, v in enumerate(values)]
    return led, None if future is None else [ahead(f, cols, n_targets) for f in future]
