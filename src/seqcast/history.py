"""The series a forecast starts from and the rows it needs ahead: the history (the run's data file or --data),
the future timestamps at the run's frequency, and the known future values of data.features (--future).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqcast import timeaxis
from seqcast.data import Dataset
from seqcast.errors import DataError
from seqcast.run import Run
from seqcast.timeaxis import Freq


def history_dataset(run: Run, data: Path | None) -> Dataset:
    """The series to forecast from: --data, or the training file of the run."""
    from seqcast.data import load_dataset

    dcfg = run.cfg.data.model_copy()
    if data is not None:
        dcfg.path = data.absolute()
    ds = load_dataset(dcfg)
    if ds.freq is not None and run.freq is not None and ds.freq != run.freq:
        raise DataError(
            f"the history has a step of {ds.freq.alias}, but the run was trained on data with a step of "
            f"{run.freq.alias}: its forecasts would be {run.freq.alias} steps stamped as {ds.freq.alias}",
            where=str(dcfg.path),
            hint="resample the history to the run's frequency",
        )
    known = set(run.pre["scaler"]["series"])
    unknown = [n for n in ds.names if n not in known]
    if unknown:
        raise DataError(
            f"series {unknown[:5]} were not in the training data, so the run has no scaling for them",
            where=str(dcfg.path),
        )
    return ds


def future_times(run: Run, ds: Dataset, steps: int) -> list[np.ndarray]:
    """The `steps` timestamps after each series' last, at the run's frequency."""
    freq = run.freq
    if freq is None and ds.time_kind == "datetime":
        raise DataError("the run does not know the series' frequency, so it cannot continue the timestamps")
    out = []
    for s in ds.series:
        try:
            out.append(timeaxis.future(s.times[-1], freq or Freq("integer", 1), steps))
        except ValueError as exc:
            who = f"series {s.name!r}: " if s.name else ""
            raise DataError(f"{who}{steps} steps ahead: {exc}", where="--steps", hint="forecast fewer steps") from None
    return out


def read_future(
    run: Run, ds: Dataset, path: Path | None, steps: int
) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
    """(future feature rows per series (steps, features) or None, future timestamps per series)."""
    times = future_times(run, ds, steps)
    feats = run.pre["features"]
    if not feats:
        return None, times
    if path is None:
        raise DataError(
            f"the model also takes the features {feats}: their future values are needed",
            hint=f"pass --future CSV with columns {run.cfg.data.time_column or 'step'}, {', '.join(feats)}"
            + (f" and {run.cfg.data.series_column}" if run.cfg.data.series_column else ""),
        )
    from seqcast.data import load_dataset

    fcfg = run.cfg.data.model_copy(
        update={"path": path.absolute(), "targets": feats, "features": [], "missing": "error"}
    )
    fut = load_dataset(fcfg)
    by_name = {s.name: s for s in fut.series}
    out = []
    for s, want in zip(ds.series, times, strict=True):
        f = by_name.get(s.name)
        have = {} if f is None else {t: k for k, t in enumerate(f.times.tolist())}
        rows = [have.get(t) for t in want.tolist()]
        if None in rows:
            first = want[rows.index(None)]
            raise DataError(
                f"no future values of {feats}{' for series ' + repr(s.name) if s.name else ''} at "
                f"{timeaxis.fmt(first, ds.time_kind)} (the forecast needs {steps} steps)",
                where=str(path),
            )
        assert f is not None
        out.append(f.values[np.asarray(rows, dtype=np.int64)])
    return out, times
