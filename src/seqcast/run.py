"""Open a trained run directory: its config, preprocessing record and model (as numpy layers), each checked,
and checked against the others. Forecast and evaluate start here; no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import engine, rundir
from seqcast.config import Config, validate
from seqcast.errors import DataError
from seqcast.prepare import Scaler
from seqcast.timeaxis import Freq
from seqcast.transforms import Transform
from seqcast.windows import PAD_VALUE


@dataclass
class Run:
    """A trained run: its config, preprocessing and the model as numpy layers."""

    path: Path
    cfg: Config
    pre: dict[str, Any]
    model: engine.NumpyModel
    _files: dict[str, Any] = field(default_factory=dict, repr=False)  # optional run files, read once

    @property
    def freq(self) -> Freq | None:
        return Freq.parse(self.pre["frequency"])

    @property
    def n_targets(self) -> int:
        return len(self.pre["targets"])

    @property
    def steps(self) -> Transform:
        """The run's transform as steps (transforms.py)."""
        fixed = len(self.pre.get("static", [])) if self.pre.get("transform_keeps_static") else 0  # older runs: 0
        return Transform.parse(self.pre["transform"], self.cfg.evaluate.season, fixed=fixed)

    def scaler(self, names: list[str]) -> Scaler:
        """The run's scaler for the series `names`, in that order."""
        return Scaler.from_json(self.pre["scaler"], names, self.pre["inputs"])

    def units(self, scaler: Scaler, i: int, rows: np.ndarray) -> np.ndarray:
        """Model units of rows (original units) of series i: the log, the scaling, the seasonal step and the
        difference (the per-window steps aside); the first `steps.lost` rows have none (nan)."""
        tf = self.steps
        out = tf.forward(scaler.transform(i, tf.pre(rows, self.n_targets)))
        if self.pre["mode"] == "stateful" and (out == PAD_VALUE).all(axis=-1).any():  # as training refuses it
            raise DataError(
                f"{'series ' + repr(scaler.names[i]) if scaler.names else 'a series'} has a row whose every input is "
                f"{PAD_VALUE} in model units, the value that marks padding: model.keras's Masking layer would skip it",
                hint="leave the row out (train refuses such a row too)",
            )
        return out

    def calibration(self) -> dict[str, Any] | None:
        """calibration.json (the conformal quantiles of the intervals, intervals.py), checked; None if absent.
        Read once: the levels' check, the table and the plot of one forecast share it."""
        if "calibration" not in self._files:
            path = self.path / "calibration.json"
            self._files["calibration"] = read_calibration(path, self.pre) if path.exists() else None
        return self._files["calibration"]


def load_run(path: Path | None) -> Run:
    """Open a complete run directory (default runs/latest)."""
    return open_run(rundir.resolve_run(path))


def run_config(p: Path) -> Config:
    """A run directory's config.yaml, checked; damaged, it is a DataError (the run's own copy, not the user's)."""
    from seqcast.config import read_yaml
    from seqcast.errors import ConfigError

    try:
        return validate(read_yaml(p / "config.yaml"), source=str(p / "config.yaml"), base_dir=p)
    except ConfigError as exc:  # the run's own copy, not the user's config: a damaged run (exit 1)
        raise DataError(
            f"the run's config is damaged: {exc.message}",
            where=exc.where or str(p / "config.yaml"),
            hint="put config.yaml back as train wrote it, or train the run again (a run of an earlier seqcast may "
            "hold a value this one refuses, such as training.early_stopping.patience: 0, which trained nothing)",
        ) from None


def open_run(p: Path) -> Run:
    """Read a run directory (complete, or still being written by train): config, preprocessing record and model,
    each checked, and checked against the others. A damaged or mismatched file is a DataError naming it."""
    cfg = run_config(p)
    pre = read_preprocess(p / "preprocess.json")
    model = engine.load(p / "model.keras")
    inputs, targets = pre["inputs"], pre["targets"]
    stateful = pre["mode"] == "stateful"
    if (model.n_inputs, model.n_targets, model.stateful) != (len(inputs), len(targets), stateful):
        raise DataError(
            f"model.keras takes {model.n_inputs} inputs and predicts {model.n_targets} targets"
            f"{' (stateful)' if model.stateful else ''}, but preprocess.json records {len(inputs)} inputs {inputs} "
            f"and {len(targets)} targets ({pre['mode']}): the files come from different runs",
            where=str(p),
        )
    return Run(p, cfg, pre, model)


_PRE_KEYS = {
    "targets": list,
    "features": list,
    "inputs": list,
    "mode": str,
    "kind": str,
    "look_back": int,
    "horizon": int,
    "transform": str,
    "scaler": dict,
    "series": list,
}


def _json_object(path: Path) -> tuple[dict[str, Any], Callable[[str], DataError]]:
    """(the JSON object in a run file, bad(why): the DataError naming that file); unreadable or not an object is
    already bad."""
    import json

    def bad(why: str) -> DataError:
        return DataError(f"{path.name} {why}", where=str(path), hint="train the run again")

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise bad(f"cannot be read: {exc}") from None
    if not isinstance(doc, dict):
        raise bad("is not a JSON object")
    return doc, bad


def read_preprocess(path: Path) -> dict[str, Any]:
    """preprocess.json, checked: every key forecast and evaluate read, with finite scaler statistics."""
    import math

    pre, bad = _json_object(path)
    for key, kind in _PRE_KEYS.items():
        if not isinstance(pre.get(key), kind) or isinstance(pre.get(key), bool):
            raise bad(f"has no valid {key!r} (expected a {kind.__name__})")
    if pre["inputs"] != pre["targets"] + pre["features"]:
        raise bad(f"lists inputs {pre['inputs']} that are not its targets then features")
    stats = pre["scaler"].get("series")
    if not isinstance(stats, dict) or not stats:
        raise bad("has no scaler statistics per series")
    scope = pre["scaler"].setdefault("scope", "series")  # runs from before data.scaler_scope: per series
    if scope not in ("series", "global"):
        raise bad(f"has a scaler scope {scope!r}, neither 'series' nor 'global'")
    if scope == "global":  # the statistics every series shares, and a series the run never saw is scaled by
        stats = stats | {None: pre["scaler"].get("global")}
    for name, cols in stats.items():
        for col in pre["inputs"]:
            cell = cols.get(col) if isinstance(cols, dict) else None
            ok = isinstance(cell, dict) and all(
                isinstance(cell.get(k), (int, float)) and math.isfinite(cell[k]) for k in ("center", "scale")
            )
            if not ok or cell["scale"] <= 0:  # type: ignore[index]
                who = "the global scope" if name is None else f"series {name!r}"
                raise bad(f"has no finite, positive scaler statistics for {who}, column {col!r}")
        extra = sorted(set(cols) - set(pre["inputs"]))
        if extra:
            raise bad(f"has scaler statistics for {extra}, which are not among its inputs {pre['inputs']}")
    return pre


def _check_tails(doc: dict[str, Any], targets: list[str], h: int, bad: Any) -> None:
    """An asymmetric calibration's `tails`: per table, level and target how far below ("lo") and above ("hi")
    the forecast each bound lies, a finite number per step (of either sign) or null where too few errors."""
    import math

    from seqcast.intervals import needed_for

    tables = doc.get("tails")
    if not isinstance(tables, dict) or set(tables) != {"quantiles", "seasonal_naive"}:
        raise bad("has no valid 'tails' ('quantiles' and 'seasonal_naive'), which 'asymmetric' needs")
    for key, table in tables.items():
        if not isinstance(table, dict):
            raise bad(f"has no valid 'tails' {key!r}")
        for level, per in table.items():
            if not (level.isdigit() and 50 <= int(level) <= 99):
                raise bad(f"has 'tails' {key!r} for level {level!r}, no whole percentage from 50 to 99")
            enough = [c >= needed_for(doc, int(level)) for c in doc["errors"]]
            ok = isinstance(per, dict) and set(per) == set(targets)
            ok = ok and all(
                isinstance(sides, dict)
                and set(sides) == {"lo", "hi"}
                and all(
                    isinstance(qs, list)
                    and len(qs) == h
                    and all(
                        (isinstance(q, (int, float)) and math.isfinite(q)) if e else (q is None)
                        for q, e in zip(qs, enough, strict=True)
                    )
                    for qs in sides.values()
                )
                for sides in per.values()
            )
            if not ok:
                raise bad(
                    f"has no valid 'tails' {key!r} for level {level!r} (per target {targets}, lo and hi, {h} steps)"
                )
        lost = [lv for lv in doc["levels"] if str(lv) not in table and max(doc["errors"]) >= needed_for(doc, lv)]
        if lost:
            raise bad(f"has no 'tails' {key!r} for level {lost[0]!r}, one of its 'levels'")


def read_calibration(path: Path, pre: dict[str, Any]) -> dict[str, Any]:
    """calibration.json, checked against preprocess.json: per-step error counts, quantiles per whole level 50-99
    and target (a number >= 0 per step, or null), a finite positive scale per series and target."""
    import math

    from seqcast.intervals import needed

    doc, bad = _json_object(path)
    h, space = doc.get("horizon"), doc.get("space")
    if not isinstance(h, int) or isinstance(h, bool) or h < 1 or space not in ("original", "log"):
        raise bad("has no valid 'horizon' or 'space'")
    for key in ("errors", "training_errors"):
        counts = doc.get(key)
        if key == "training_errors" and counts is None:  # older runs pooled no training errors
            continue
        if not isinstance(counts, list) or len(counts) != h or not all(isinstance(c, int) and c >= 0 for c in counts):
            raise bad(f"has no valid {key!r} (a count per step, {h} steps)")
    targets, levels = pre["targets"], doc.get("levels", [])
    if not isinstance(levels, list) or not all(isinstance(lv, int) and 50 <= lv <= 99 for lv in levels):
        raise bad("has no valid 'levels' (whole percentages from 50 to 99)")
    for key in ("quantiles", "seasonal_naive"):
        table = doc.get(key)
        if not isinstance(table, dict):
            raise bad(f"has no valid {key!r}")
        for level, per in table.items():
            if not (level.isdigit() and 50 <= int(level) <= 99):
                raise bad(f"has {key!r} for level {level!r}, no whole percentage from 50 to 99")
            ok = isinstance(per, dict) and set(per) == set(targets)
            ok = ok and all(
                isinstance(qs, list)
                and len(qs) == h
                and all(q is None or (isinstance(q, (int, float)) and math.isfinite(q) and q >= 0) for q in qs)
                for qs in per.values()
            )
            if not ok:
                raise bad(f"has no valid {key!r} for level {level!r} (per target {targets}, {h} steps)")
            enough = [c >= needed(int(level)) for c in doc["errors"]]
            if any(q is None and e for qs in per.values() for q, e in zip(qs, enough, strict=True)):
                raise bad(f"has a null {key!r} quantile for level {level!r} at a step whose errors suffice for it")
        lost = [lv for lv in levels if str(lv) not in table and max(doc["errors"]) >= needed(lv)]
        if lost:
            raise bad(f"has no {key!r} for level {lost[0]!r}, one of its 'levels'")
    if doc.get("asymmetric", False) not in (False, True):
        raise bad("has no valid 'asymmetric' (true or false)")
    if doc.get("asymmetric"):
        _check_tails(doc, targets, h, bad)
    scales = doc.get("scales")
    if not isinstance(scales, dict):
        raise bad("has no valid 'scales'")
    for name, row in scales.items():
        if not (
            isinstance(row, list)
            and len(row) == len(targets)
            and all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0 for x in row)
        ):
            raise bad(f"has no valid scale for series {name!r}")
    unscaled = [s["name"] for s in pre.get("series", []) if s["name"] not in scales]
    if unscaled:
        raise bad(f"has no scale for series {unscaled[0]!r}, one the run was trained on")
    return doc
