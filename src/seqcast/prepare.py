"""Into model units: the scaler fitted on each series' training part and the transform (transforms.py, each
step with its inverse), applied to every series into one float32 buffer; `Prepared` holds the result.

Model units are what the network reads and predicts (preprocess.json records how to get there). Training's
tf.data pipeline applies window_norm in the graph (dataset.py): the same subtraction, in TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from seqcast import lead
from seqcast.config import Config
from seqcast.data import Dataset, Parts
from seqcast.errors import ConfigError, DataError
from seqcast.layout import Plan, check_positive, plan
from seqcast.transforms import Transform

_STAT_ROWS = 1 << 18  # rows per block when fitting a scaler: no temporary as large as the training part


def _blockwise(a: np.ndarray, reduce: Any) -> np.ndarray:
    """reduce(a, axis=0) (np.min or np.max) a block of rows at a time: (columns,)."""
    return reduce(np.stack([reduce(a[k : k + _STAT_ROWS], axis=0) for k in range(0, len(a), _STAT_ROWS)]), axis=0)


def _mean_std(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population std) per column of a (rows, columns), two passes over blocks of rows.

    np.std of the whole part builds a temporary of its size (a - mean), 1.6 GB for 50M values; blocks keep the
    temporaries at _STAT_ROWS rows. A part of one block gives numpy's own numbers exactly.
    """
    if len(a) <= _STAT_ROWS:
        return a.mean(axis=0), a.std(axis=0)
    blocks = range(0, len(a), _STAT_ROWS)
    mean = np.sum([a[k : k + _STAT_ROWS].sum(axis=0) for k in blocks], axis=0) / len(a)
    sq = np.sum([np.square(a[k : k + _STAT_ROWS] - mean).sum(axis=0) for k in blocks], axis=0)
    return mean, np.sqrt(sq / len(a))


def _pooled(kind: str, parts: Callable[[], Iterator[np.ndarray]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(center, scale) per column of the n rows of all parts together, the global scope's statistics.

    parts() yields every series' training part (rows, columns), read a part and a block of rows at a time (twice
    for a standard scaler), so that no temporary holds them all; n rows of one block in all give numpy's own
    numbers over their concatenation exactly.
    """
    if kind == "minmax":
        ends = [(_blockwise(a, np.min), _blockwise(a, np.max)) for a in parts() if len(a)]
        lo, hi = np.min([e[0] for e in ends], axis=0), np.max([e[1] for e in ends], axis=0)
        return lo, hi - lo
    if n <= _STAT_ROWS:
        return _mean_std(np.concatenate(list(parts())))
    total: Any = 0.0
    for a in parts():
        for k in range(0, len(a), _STAT_ROWS):
            total = total + a[k : k + _STAT_ROWS].sum(axis=0)
    mean, sq = total / n, 0.0
    for a in parts():
        for k in range(0, len(a), _STAT_ROWS):
            sq = sq + np.square(a[k : k + _STAT_ROWS] - mean).sum(axis=0)
    return mean, np.sqrt(sq / n)


@dataclass
class Scaler:
    """Per-column affine scaling fitted on the training part: each series' own (scope series), or one set for
    every series, fitted on all their training parts together (scope global)."""

    kind: str
    center: np.ndarray  # (n_series, n_inputs); with scope global every row is the same
    scale: np.ndarray  # (n_series, n_inputs)
    scope: str = "series"  # series | global (data.scaler_scope)
    names: list[str] = field(default_factory=list)  # the series of the rows, for messages

    @classmethod
    def fit(
        cls, kind: str, ds: Dataset, parts: list[Parts], transform: Transform | None = None, scope: str = "series"
    ) -> Scaler:
        """The scaler `kind` fitted on each series' training part, or on all of them together with scope global
        (after the transform's log, if it has one)."""
        k, f = len(ds.series), len(ds.inputs)
        center, scale = np.zeros((k, f)), np.ones((k, f))

        def train(i: int) -> np.ndarray:
            rows = ds.series[i].values[: parts[i].train_end]
            return transform.pre(rows, len(ds.targets)) if transform else rows

        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, by name
            if scope == "global" and kind != "none":
                n = sum(p.train_end for p in parts)
                center[:], scale[:] = _pooled(kind, lambda: (train(i) for i in range(k)), n)
            elif scope == "series":
                for i in range(k):
                    rows = train(i)
                    if kind == "standard":
                        center[i], scale[i] = _mean_std(rows)
                    elif kind == "minmax":
                        lo, hi = _blockwise(rows, np.min), _blockwise(rows, np.max)
                        center[i], scale[i] = lo, hi - lo
            static = [ds.inputs.index(c) for c in ds.static]
            if static and scope == "series" and kind != "none":  # constant per series: only across series do they vary
                n = sum(p.train_end for p in parts)
                center[:, static], scale[:, static] = _pooled(kind, lambda: (train(i)[:, static] for i in range(k)), n)
        bad = ~(np.isfinite(center) & np.isfinite(scale))
        if bad.any():  # values near the float64 limit (1e308): their mean or spread overflows
            i, j = (int(v[0]) for v in np.nonzero(bad))
            if scope == "global":  # the statistics of all series: name the one with the largest value
                peaks = [np.nanmax(np.abs(s.values[: p.train_end, j])) for s, p in zip(ds.series, parts, strict=True)]
                i = int(np.argmax(peaks))
            who = f"series {ds.series[i].name!r}, " if ds.series[i].name else ""
            big = float(np.nanmax(np.abs(ds.series[i].values[: parts[i].train_end, j])))
            raise DataError(
                f"{who}column {ds.inputs[j]!r}: values up to {big:.3g} overflow the {kind} scaler's statistics",
                where=ds.source,
                hint="express the column in other units (divide it by a power of ten)",
            )
        if scope == "series" and kind != "none" and k > 1:
            _constant_covariates(ds, scale)
        scale[~(scale > 1e-12)] = 1.0  # a constant column is centred, never divided by zero
        return cls(kind, center, scale, scope, ds.names)

    def transform(self, i: int, values: np.ndarray) -> np.ndarray:
        """values (n, inputs) of series i, scaled."""
        return (values - self.center[i]) / self.scale[i]

    def inverse(self, i: int, values: np.ndarray, n_cols: int | None = None) -> np.ndarray:
        """Original units of the first n_cols columns (all when None)."""
        k = values.shape[-1] if n_cols is None else n_cols
        return values * self.scale[i, :k] + self.center[i, :k]

    def to_json(self, names: list[str], columns: list[str]) -> dict[str, Any]:
        """The statistics as preprocess.json records them: {kind, scope, series: {series: {column: {center,
        scale}}}}, and with scope global also {global: {column: {center, scale}}}, the statistics every series
        shares (each series' entry repeats them, so that the per-series format reads as before)."""

        def stats(i: int) -> dict[str, dict[str, float]]:
            return {
                c: {"center": float(self.center[i, j]), "scale": float(self.scale[i, j])} for j, c in enumerate(columns)
            }

        doc: dict[str, Any] = {"kind": self.kind, "scope": self.scope}
        if self.scope == "global":
            doc["global"] = stats(0)
        return doc | {"series": {n: stats(i) for i, n in enumerate(names)}}

    @classmethod
    def from_json(cls, doc: dict[str, Any], names: list[str], columns: list[str]) -> Scaler:
        """The scaler preprocess.json recorded, for the series `names` in that order. With scope global or kind
        none (new_series_ok) a series the run never saw is scaled as every other one is."""
        scope = doc.get("scope", "series")  # runs from before data.scaler_scope: per series
        same = doc["global"] if scope == "global" else None
        if doc["kind"] == "none":
            same = {c: {"center": 0.0, "scale": 1.0} for c in columns}
        stats = [doc["series"][n] if same is None else same for n in names]
        center = np.array([[st[c]["center"] for c in columns] for st in stats])
        scale = np.array([[st[c]["scale"] for c in columns] for st in stats])
        return cls(doc["kind"], center, scale, scope, list(names))


def new_series_ok(doc: dict[str, Any]) -> bool:
    """Can a series the run never saw be put into model units? Only when its scaling rests on no statistics of
    its own: preprocess.json's scaler (doc) of scope global, or of kind none.

    window_norm is not enough under a per-series scaler: a window minus its last row, (x - x_last) / scale_i,
    is free of the series' shift but still divided by its own scale, which a new series does not have.
    """
    return doc.get("scope", "series") == "global" or doc["kind"] == "none"


@dataclass
class Prepared:
    """The plan plus everything fitted on the training part: scaler, transform, model-unit arrays."""

    plan: Plan
    scaler: Scaler
    transform: str
    transform_why: str
    arrays: list[np.ndarray]  # per series (n, inputs) in model units
    flat: np.ndarray | None = None  # (rows, inputs): all series one after another, `arrays` are views of it
    released: list[dict[str, Any]] | None = None  # series_doc() once release_data() freed the original units
    transform_scores: dict[str, float] = field(default_factory=dict)  # auto: validation MASE of each candidate

    @property
    def cfg(self) -> Config:
        return self.plan.cfg

    @property
    def ds(self) -> Dataset:
        return self.plan.ds

    @property
    def n_targets(self) -> int:
        return len(self.ds.targets)

    def seeded(self, k: int) -> Prepared:
        """The same data for the k-th network of several (an ensemble member, an `auto` trial's): training.seed + k."""
        cfg = self.cfg.model_copy(deep=True)
        cfg.training.seed = self.cfg.training.seed + k
        return replace(self, plan=replace(self.plan, cfg=cfg))

    def refit(self, epochs: int) -> Prepared:
        """The same model units laid out for training.refit: every series' validation part joined to its training
        part, `epochs` epochs, no early stopping (nothing is left to watch)."""
        from seqcast.layout import refit_plan

        cfg = self.cfg.model_copy(deep=True)
        cfg.training.epochs = epochs
        cfg.training.early_stopping.patience = None
        return replace(self, plan=replace(refit_plan(self.plan), cfg=cfg))

    def preprocess_doc(self) -> dict[str, Any]:
        """preprocess.json: columns, layout, transform and why, scaler statistics, every series."""
        cfg, ds = self.cfg, self.ds
        return {
            "format": 1,
            "targets": ds.targets,
            "features": ds.features,
            "past_features": ds.past,
            "static": ds.static,
            "series_ids": ds.names if cfg.data.series_id else [],  # data.series_id: the identity columns' series
            "inputs": ds.inputs,
            "time_column": cfg.data.time_column,
            "series_column": cfg.data.series_column,
            "time_kind": ds.time_kind,
            "time_utc": ds.utc,  # the times had UTC offsets (read as UTC): a history must have them too
            "frequency": ds.freq.alias if ds.freq else None,
            "mode": cfg.windows.mode,
            "kind": cfg.model.kind,
            "look_back": cfg.windows.look_back,
            "horizon": cfg.windows.horizon,
            "num_steps": cfg.windows.num_steps,
            "streams": cfg.windows.streams,
            "batch_size": self.plan.batch_size,
            "transform": self.transform,
            "transform_requested": cfg.data.transform,
            "transform_reason": self.transform_why,
            "transform_keeps_static": True,  # static and identity inputs are not transformed (Transform.fixed)
            "features_lead": bool(lead.of_data(ds)),  # lead.py
            "transform_scores": self.transform_scores,
            "scaler": self.scaler.to_json(ds.names, ds.inputs),
            "series": self.series_doc(),
        }

    def series_doc(self) -> list[dict[str, Any]]:
        """Name, rows, first and last timestamp and split of every series (kept by release_data)."""
        return self.released if self.released is not None else series_doc(self.ds, self.plan.parts)

    @property
    def steps(self) -> Transform:
        """The transform as steps (transforms.py)."""
        return Transform.parse(self.transform, self.cfg.evaluate.season, fixed=len(self.ds.static))

    def release_data(self) -> None:
        """Free every series' values and time axis in original units: training reads only the model units.

        The float64 values and the int64/datetime64 times are 1.25x the raw data and would sit unused through
        training (the backtest at the end reads the data file again, in the run's own terms). Afterwards each
        series keeps its name, its first and last timestamp and no values; preprocess_doc is unchanged.
        Nothing may read ds.series[i].values or .times after this. `prepare(release=True)` does it as early
        as it can.
        """
        if self.released is None:
            self.released = self.series_doc()
        _drop_times(self.ds)
        _drop_values(self.ds)


def series_doc(ds: Dataset, parts: list[Parts]) -> list[dict[str, Any]]:
    """What preprocess.json records of every series: name, rows, first and last timestamp, split ends, each
    target's lowest and highest value in the training part (levels.py) and each known-ahead feature's
    (feature_range: forecast notes --future values outside it), and the sha256 of its values (values_sha256:
    evaluate tells the data a run was trained on from a file changed since)."""
    from seqcast import timeaxis

    cols = lead.of_data(ds)  # the features known ahead (read one row ahead): --future gives them
    fine = ds.freq is not None and ds.freq.sub_daily  # an hourly series' midnight as 2024-03-01 00:00, as in preview
    ahead = [ds.inputs[j] for j in cols]
    return [
        {
            "name": s.name,
            "rows": len(s),
            "first": timeaxis.fmt(s.times[0], ds.time_kind, fine),
            "last": timeaxis.fmt(s.times[-1], ds.time_kind, fine),
            "train_end": p.train_end,
            "val_end": p.val_end,
            "train_range": train_range(s.values[: p.train_end, : len(ds.targets)]),
            "values_sha256": values_sha256(s.values),
        }
        | ({"feature_range": dict(zip(ahead, train_range(s.values[: p.train_end, cols]), strict=True))} if cols else {})
        for s, p in zip(ds.series, parts, strict=True)
    ]


def values_sha256(values: np.ndarray) -> str:
    """The sha256 of a series' values (rows, inputs) as float64, read in place (no copy of a long series)."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).data).hexdigest()


def train_range(rows: np.ndarray) -> list[list[float] | None]:
    """[lowest, highest] of every target column of a training part (None for a column with no value)."""
    out: list[list[float] | None] = []
    for col in rows.T:
        known = col[np.isfinite(col)]
        out.append([float(known.min()), float(known.max())] if len(known) else None)
    return out


def _drop_times(ds: Dataset) -> None:
    for s in ds.series:
        if len(s.times) > 2:
            s.times = s.times[[0, -1]]  # a copy: no view keeps the whole axis alive


def _drop_values(ds: Dataset) -> None:
    for s in ds.series:
        s.values = np.empty((0, s.values.shape[1]), s.values.dtype)


def _constant_covariates(ds: Dataset, scale: np.ndarray) -> None:
    """A note per covariate constant in the training part of some series but not all (a promotion flag never set in
    one store's history): scaled per series it has no spread there, so a later change reaches that series' network
    input in other units than in the series where it varied."""
    for j in range(len(ds.targets), len(ds.inputs)):
        flat = [s.name for s, sc in zip(ds.series, scale[:, j], strict=True) if not sc > 1e-12]
        if not flat or len(flat) == len(ds.series) or ds.inputs[j] in ds.static:
            continue
        more = f" and {len(flat) - 5} more" if len(flat) > 5 else ""
        note = (
            f"column {ds.inputs[j]!r} is constant in the training part of series {flat[:5]}{more}: scaled per "
            "series, it has no spread there to scale by, so a later change reaches the network in other units "
            "than where it varied; data.scaler_scope: global scales every series alike"
        )
        if note not in ds.notes:  # fitted again after a log transform
            ds.notes.append(note)


def plan_and_scale(cfg: Config, ds: Dataset | None = None) -> tuple[Plan, Scaler]:
    """The layout of the data (loaded unless given) and the scaler fitted on its training parts."""
    p = plan(cfg, ds)
    return p, Scaler.fit(cfg.data.scaler, p.ds, p.parts, scope=cfg.data.scaler_scope)


def build(p: Plan, scaler: Scaler, transform: str, why: str, *, release: bool = False) -> Prepared:
    """The data in model units under `transform` (transforms.py; `auto` is resolved above).

    The scaler is fitted again after a log, on the log values. release=True (what `seqcast train` asks): the
    original units are freed as soon as they are not needed, the time axes before the model-unit buffer is
    filled and the values after it (Prepared.release_data); the peak then holds the values and the float32
    model units, not the time axes too.
    """
    try:
        steps = Transform.parse(transform, p.cfg.evaluate.season, fixed=len(p.ds.static))
    except ValueError as exc:
        raise ConfigError(str(exc), where="data.transform") from None
    if steps.per_window and p.cfg.stateful:
        raise ConfigError(
            f"{steps.window_step} needs look-back windows; use difference in stateful mode",
            where="data.transform",
        )
    if steps.log:
        check_positive(p.ds)
        scaler = Scaler.fit(scaler.kind, p.ds, p.parts, steps, scaler.scope)
    released = None
    if release:  # the time axes are not read past this point: free them before the buffer is filled
        released = series_doc(p.ds, p.parts)
        _drop_times(p.ds)
    flat, arrays = model_arrays(p.ds, scaler, steps)
    prep = Prepared(p, scaler, steps.name, why, arrays, flat, released)
    if release:
        prep.release_data()
    return prep


def model_arrays(ds: Dataset, scaler: Scaler, transform: Transform) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every series in model units: one (rows, inputs) float32 buffer and a view of it per series.

    float32 because the model computes in float32: transforms are computed in float64 (a block of rows at a
    time) and rounded once, the numbers a float64 buffer cast per batch would give, at half the memory. The
    buffer is 64-byte aligned so that window_dataset hands it to TensorFlow without a copy.
    """
    lengths = [len(s) for s in ds.series]
    flat = aligned_empty((sum(lengths), len(ds.inputs)), np.float32)
    arrays, o = [], 0
    block = 1 << 16  # rows at a time: the float64 temporaries of scaling stay small (2 MiB per 4 columns)
    n_t, cols = len(ds.targets), lead.of_data(ds)
    for i, (s, n) in enumerate(zip(ds.series, lengths, strict=True)):
        for k in range(0, n, block):
            lo = max(k - transform.lost, 0)  # the rows before the block the seasonal step and difference need
            extra = int(bool(cols) and k + block < n)  # data.features one row ahead: the next block's first row
            rows = lead.lead(s.values[lo : k + block + extra], cols)[: min(k + block, n) - lo]  # (lead.py)
            units = transform.forward(scaler.transform(i, transform.pre(rows, n_t)))
            part = flat[o + k : o + min(k + block, n)]
            with np.errstate(over="ignore"):  # a value past float32's range is refused just below, by name
                part[:] = units[k - lo :]
            if np.isinf(part).any():  # beyond float32, the model's dtype (3.4e38), once scaled
                raise DataError(
                    f"{s.label} has values too large for the model's float32 units once scaled (data.scaler: "
                    f"{scaler.kind}; largest {float(np.abs(s.values[k : k + block]).max()):.3g})",
                    where=ds.source,
                    hint="express the columns in other units (divide them by a power of ten)"
                    + (", or set data.scaler to standard" if scaler.kind != "standard" else ""),
                )
        arrays.append(flat[o : o + n])
        o += n
    return flat, arrays


def aligned_empty(shape: tuple[int, int], dtype: Any) -> np.ndarray:
    """np.empty(shape, dtype) starting on a 64-byte boundary (TensorFlow copies a less aligned buffer)."""
    nbytes = shape[0] * shape[1] * np.dtype(dtype).itemsize
    buf = np.empty(nbytes + 64, np.uint8)
    skip = -buf.ctypes.data % 64
    return buf[skip : skip + nbytes].view(dtype).reshape(shape)
