"""The config's `data` section (the file, its columns, missing values, split, scaling, transform) and the base
every section shares: pydantic models; seqcast.config assembles them into the whole config."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seqcast.timeaxis import Freq
from seqcast.transforms import Transform

BIG = 2**31 - 1  # sizes and counts above this overflow the int32 and int64 arithmetic they end up in


class _Section(BaseModel):
    # allow_inf_nan=False: .nan and .inf are refused by name (split.val: .nan crashed in arithmetic)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        """YAML's true/false are not numbers: `split.val: true` must not mean 1."""
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                kinds = _types(field.annotation)
                numeric = bool(kinds & {int, float}) and bool not in kinds
                value = data.get(name)
                if numeric and (
                    isinstance(value, bool) or isinstance(value, list) and any(isinstance(v, bool) for v in value)
                ):
                    shown = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
                    needed = "a number or a text" if str in kinds else "a number"
                    raise _KeyedError(name, f"{shown} is a boolean, not a number; {needed} is needed here")
        return data


def _types(annotation: Any) -> set[Any]:
    """The types a field's annotation admits (int | None -> {int, NoneType}; list[float] -> {float}); a Literal's
    values are no types: Literal["error", "interpolate"] admits none of int, float or bool."""
    if get_origin(annotation) is Literal:
        return set()
    args = get_args(annotation)
    return set().union(*(_types(a) for a in args)) if args else {annotation}


class Split(_Section):
    """Chronological split per series: fractions in [0, 1) or whole row counts."""

    val: float | int = 0.1
    test: float | int = 0.2

    @field_validator("val", "test", mode="before")
    @classmethod
    def _finite(cls, v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"must be a finite number, not {v}")
        return v

    @field_validator("val", "test")
    @classmethod
    def _non_negative(cls, v: float | int) -> float | int:
        if v < 0:
            raise ValueError("must be a fraction in [0, 1) or a row count >= 1, not negative")
        if isinstance(v, float) and v >= 1:
            if v == 1:  # a whole of the rows, as a fraction: none would be left; one row is written 1
                raise ValueError("a fraction must be below 1 (1.0 would be every row; for one row write 1)")
            if v.is_integer():
                return int(v)
            raise ValueError("a fraction must be below 1 (or give a whole row count)")
        return v

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> Split:
        if isinstance(self.val, float) and isinstance(self.test, float) and self.val + self.test >= 1:
            raise ValueError(
                f"val {self.val} + test {self.test} leave no rows for training: fractions must add up to less than 1"
            )
        return self

    def rows(self, n: int) -> tuple[int, int]:
        """(val rows, test rows) for a series of n rows."""

        def count(v: float | int) -> int:
            return int(round(n * v)) if isinstance(v, float) else int(v)

        return count(self.val), count(self.test)


class Resample(_Section):
    """data.resample: events onto a regular grid (resample.py): the bin size and how each column is aggregated."""

    freq: str | int  # a pandas offset alias (1h, 15min, 1D, B, W, MS, QS, YE, ...) or an integer step for integer times
    how: str | dict[str, str] = "mean"  # mean | sum | last | first, or {column: how} (unnamed columns: mean)

    @field_validator("freq", mode="before")
    @classmethod
    def _an_alias(cls, v: Any) -> Any:
        f = None if isinstance(v, bool) or not isinstance(v, str | int) or "-" in str(v) else Freq.parse(v)
        if f is None or f.step <= 0:
            raise ValueError(
                f"{v!r} is not a frequency seqcast can bin by; give a positive step such as 1h, 15min, 1D, B "
                "(business days), W (weeks from Monday), MS, QS, YS, ME or an integer for integer times"
            )
        return v

    @field_validator("how", mode="before")
    @classmethod
    def _hows(cls, v: Any) -> Any:
        named = v.items() if isinstance(v, dict) else [(None, v)]
        for col, how in named:
            if how not in ("mean", "sum", "last", "first"):
                raise ValueError(f"{'' if col is None else f'{col}: '}{how!r} is not one of mean, sum, last, first")
        return v

    @property
    def step(self) -> Freq:
        """The frequency of the grid."""
        f = Freq.parse(self.freq)
        assert f is not None  # checked when the config was read
        return f


def home(path: str | Path) -> Path:
    """`path` with `~` as the home folder (data.path, output.dir); a ValueError for `~user` of no such user."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise ValueError(f"{str(path)!r}: no home folder for {str(path).split('/')[0]!r}") from None


class DataConfig(_Section):
    """data: the file, its columns, missing values, the split, the scaler and the transform."""

    path: Path
    time_column: str | None = None
    # the time column's strftime format ('%d.%m.%Y'); unset: whole numbers, ISO dates, or the format pandas guesses
    # from the first row, day-first where month-first does not fit (timeaxis); `train` writes the one it read in
    time_format: str | None = None
    series_column: str | None = None
    targets: list[str] = Field(min_length=1)
    features: list[str] = []  # inputs known ahead: the forecast reads their future values (--future)
    past_features: list[str] = []  # inputs observed up to the forecast origin only: no --future, a direct head
    static: list[str] = []  # columns constant per series (a region, a tank volume), fed at every step
    series_id: bool = False  # one 0/1 input column per training series: a learned vector per series (data.py)
    missing: Literal["error", "interpolate", "ffill", "drop"] = "error"
    split: Split = Split()
    scaler: Literal["standard", "minmax", "none"] = "standard"
    # series: statistics per series; global: one set per column over every series' training part, so that a
    # series the run never saw is scaled as the others were and `forecast --data` can forecast it
    scaler_scope: Literal["series", "global"] = "series"
    transform: str = "auto"  # auto, or transforms.py's steps joined by '+': none, log+seasonal, window_norm, ...
    resample: Resample | None = None

    @field_validator("targets", "features", "past_features", "static", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def covariates(self) -> list[str]:
        """Every input that is not a target, in the model's input order: features, past_features, static."""
        return [*self.features, *self.past_features, *self.static]

    @property
    def inputs(self) -> list[str]:
        """The model's input columns: targets, then the covariates."""
        return [*self.targets, *self.covariates]

    @field_validator("transform")
    @classmethod
    def _a_transform(cls, v: str) -> str:
        try:
            if v != "auto":
                Transform.parse(v, season=2)  # its steps; the season is checked against evaluate.season in Config
        except ValueError as exc:  # the config takes `auto` too, the default
            raise ValueError(
                str(exc).replace(": 'none',", ": 'auto' (the default: chosen on validation), 'none',")
            ) from None
        return v

    @field_validator("path", mode="before")
    @classmethod
    def _a_path(cls, v: Any) -> Any:
        """`~` is the home folder, as in output.dir; an empty path would be the config's own folder, read as data."""
        if isinstance(v, str) and not v.strip():
            raise ValueError("should be the data file or folder, not an empty path")
        return home(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _columns_distinct(self) -> DataConfig:
        lists = {"targets": self.targets, "features": self.features, "past_features": self.past_features}
        lists["static"] = self.static
        seen: dict[str, str] = {}
        for key, cols in lists.items():
            for c in cols:
                if c in seen:
                    where = "twice" if seen[c] == key else f"in {seen[c]} and in {key}"
                    raise _KeyedError(key, f"column {c!r} is listed {where}: each column has one role", (seen[c],))
                seen[c] = key
        if self.series_id and self.series_column is None:
            raise _KeyedError("series_id", "an input column per series needs data.series_column (the series' names)")
        if self.series_column is not None and self.series_column == self.time_column:
            raise _KeyedError(
                "series_column", f"{self.series_column!r} is data.time_column too: the times and the series' names "
                "need a column each"
            )  # fmt: skip
        for key in ("time_column", "series_column"):
            col = getattr(self, key)
            if col is not None and col in self.inputs:
                raise ValueError(f"{key} {col!r} cannot also be a target or an input")
        if self.time_column is None and "step" in [*self.targets, self.series_column]:
            raise ValueError(
                "a column named 'step' needs data.time_column: without one, the forecast numbers its rows in a "
                "column 'step', which would clash with it"
            )
        return self

    @model_validator(mode="after")
    def _time_format(self) -> DataConfig:
        if self.time_format is None:
            return self
        if self.time_column is None:
            raise _KeyedError("time_format", "a format for the times needs data.time_column, the column they are in")
        if "%" not in self.time_format:
            raise _KeyedError(
                "time_format", f"{self.time_format!r} has no % directive: write it as strftime does, e.g. '%d.%m.%Y'"
            )
        return self

    @model_validator(mode="after")
    def _resample_needs_time(self) -> DataConfig:
        if self.resample is None:
            return self
        if self.time_column is None:
            raise _KeyedError("resample", "resampling bins rows by their time: it needs data.time_column")
        how = self.resample.how
        if isinstance(how, dict):
            columns = self.inputs
            unknown = [c for c in how if c not in columns]
            if unknown:
                raise _KeyedError(  # also: a typo in a column list (--set data.features=[rainn]) is the fault
                    "resample.how",
                    f"{unknown[0]!r} is not a target or feature; the columns are {columns}",
                    also=("targets", "features", "past_features", "static"),
                )
        summed = [c for c in self.static if isinstance(how, dict) and how.get(c, "first") not in ("first", "last")]
        if summed:
            raise _KeyedError(
                "resample.how", f"{summed[0]!r} is a data.static column, one value per series: bin it by first or last"
            )
        if self.static:  # binned as it is (a mean of 0.3s is not 0.3 to the last bit; a sum is no size at all)
            named = how if isinstance(how, dict) else {}
            full = {c: named.get(c, how if isinstance(how, str) else "mean") for c in self.inputs}
            object.__setattr__(self.resample, "how", full | {c: named.get(c, "first") for c in self.static})
        return self


class _KeyedError(ValueError):
    """A cross-field error that belongs to one key; `also`: the other keys of its section it names (the message
    says --set when any of them came from --set)."""

    def __init__(self, key: str, message: str, also: tuple[str, ...] = ()) -> None:
        self.key, self.also = key, also
        super().__init__(message)
