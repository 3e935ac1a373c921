"""The levels a network has seen: a transform that keeps the level (`none`, `log`, `deseason`) leaves the network
the levels of its training part and no others; where a series has moved beyond them it tends to pull its forecast
back towards those it knows (pmdarima's heart rate: a last value of 82.6, below every training value, and a
forecast that starts at 90.6 and climbs). preprocess.json keeps each target's training range (`train_range`);
forecast says when the rows it starts from leave it, train says the same of the test part. A level-free transform
(window_norm, difference, the seasonal changes) has no range to leave.
"""

from __future__ import annotations

import numpy as np

from seqcast.data import Dataset
from seqcast.run import Run

RANGE_NOTES = 5  # series x targets named at most; the rest are counted


def range_notes(run: Run, ds: Dataset) -> list[str]:
    """With a transform that keeps the level (Transform.keeps_level), the targets whose rows this forecast starts from
    (a look-back model's last look_back rows, a stateful model's last row) leave the range of the training part
    (preprocess.json's train_range): the network never saw that level and may pull its forecast back to the levels
    it knows. A level-free transform has no such limit. Runs from before train_range say nothing."""
    reads = 1 if run.pre["mode"] == "stateful" else int(run.pre["look_back"])
    rows = [(s.label, s.name, s.values[-reads:]) for s in ds.series]
    return outside_training_range(run, rows, "the rows this forecast starts from")


def leaves(values: np.ndarray, span: list[float] | tuple[float, float]) -> tuple[float, bool] | None:
    """Where the finite `values` leave the training range `span` = (lowest, highest): the value furthest out and
    whether it lies above; None when they stay inside (or none is finite). The one range test of the target notes
    here and the --future feature notes (history.outside_training)."""
    col = values[np.isfinite(values)]
    if not len(col):
        return None
    (lo, hi), low, high = span, float(col.min()), float(col.max())
    if low >= lo and high <= hi:
        return None
    above = high - hi >= lo - low
    return (high if above else low), above


def pooled(spans: list[list[float] | None]) -> list[float] | None:
    """The range of several series' training ranges together, one column's (None where no series has one): what
    a series new to a global run is measured against, its targets here and its --future features (history)."""
    had = [s for s in spans if s]
    return [min(s[0] for s in had), max(s[1] for s in had)] if had else None


def _pooled(spans: list[list[list[float] | None]]) -> list[list[float] | None] | None:
    """Per target, the range of every series' training parts together (None where no series has one)."""
    if not spans:
        return None
    return [pooled(list(c)) for c in zip(*spans, strict=True)]


def _apart(x: float, other: float) -> str:
    """x to 4 significant digits, or as many more as it takes to tell it from `other` (6.0004 beside 6: not "6")."""
    for digits in range(4, 16):
        if f"{x:.{digits}g}" != f"{other:.{digits}g}":
            return f"{x:.{digits}g}"
    return f"{x:.4g}"


def outside_training_range(run: Run, rows: list[tuple[str, str, np.ndarray]], what: str) -> list[str]:
    """Notes for each (label, name, values (n, inputs)) whose targets leave their series' training range, when the
    run's transform keeps the level; `what` names the rows (range_notes; the test part at the end of train)."""
    if not run.steps.keeps_level:
        return []
    known = {d["name"]: d["train_range"] for d in run.pre["series"] if d.get("train_range")}
    ours = {d["name"] for d in run.pre["series"]}
    found = []
    for label, name, values in rows:
        new = name not in ours  # a series the run never saw (data.scaler_scope: global): every series' range
        spans = (_pooled(list(known.values())) if new else known.get(name)) or []
        for j, span in enumerate(spans):
            out = leaves(values[:, j], span) if span is not None else None
            if out is None:
                continue
            (lo, hi), (far, above) = span, out
            where = f"{_apart(far, hi if above else lo)}, {'above' if above else 'below'}"
            edge = f"the {'highest' if above else 'lowest'} training value{' of any series' if new else ''} "
            edge += f"({_apart(hi if above else lo, far)})"
            gap = far - hi if above else lo - far
            share = "less than 1%" if gap < 0.005 * (hi - lo) else f"{gap / max(hi - lo, 1e-300):.0%}"  # not "0%"
            by = f"by {share} of the training range" if hi > lo else f"by {gap:.4g} (a constant there)"
            found.append(f"{label}, target {run.pre['targets'][j]!r}: {what} reach {where} {edge} {by}")
    if not found:
        return []
    more = f" (and {len(found) - RANGE_NOTES} more)" if len(found) > RANGE_NOTES else ""
    free = "difference" if run.pre["mode"] == "stateful" else "window_norm or difference"
    return [
        *found[:RANGE_NOTES],
        f"data.transform {run.pre['transform']} keeps the level: the network has not seen these levels{more} and "
        f"may pull its forecast back towards those it knows; a level-free transform ({free}) does not depend on them",
    ]
