"""The warmed state a run keeps: state.npz, written by `seqcast train`, advanced by `seqcast update`, read by
`seqcast forecast` (without --data), which then reads no history at all.

A stateful model forecasts from the h (and c) of every recurrent layer after the last known row of each series,
and from its answer to that row (the next step); a look-back model from the window of its last rows. Both are
computed once at the end of training from the whole history, then advanced over new rows only: the model is not
retrained, and an update costs the new rows, whatever the length of the history.

state.npz (numpy's npz format, no pickles):
  series          (n,) the series' names, in the run's order; time_kind: datetime, integer or none
  last_time       (n,) each series' last timestamp (datetime64[ns], or int64); rows_seen (n,) rows so far
  tail            (n, T, inputs) the last T rows in original units (float64) and tail_times (n, T): T is the
                  look-back window (1 row for a stateful model) plus the rows the transform reads before it
  tail_units      (n, T - lost, inputs) float32: those rows in model units but for a per-window step (window_norm:
                  each window a forecast reads minus its last row), which depends on the window
  layer<k>_h, layer<k>_c   (n, units) float32: recurrent layer k's state after the last row. A look-back model's
                  are those Keras holds after predicting from its last window from zero states: the layers' at
                  the end of the window (an encoder_decoder's decoder layers: after decoding the forecast from
                  it); its forecasts do not read them (every window starts from zeros)
  answer          (n, steps, targets) float32: the model's output at the last row, in model units: its
                  forecast of the next step(s) (stateful models). With data.features read one row ahead
                  (lead.py), the layers' states and the answer are those after the row before the last: the
                  last row's input needs the next step's features, which a forecast's --future gives
  run             the sha256 of model.keras: a state.npz from another run is refused
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import engine, files, rundir
from seqcast.data import Dataset, Series
from seqcast.errors import DataError, some
from seqcast.lead import lead, of_run
from seqcast.run import Run

FILE = "state.npz"
State = dict[str, np.ndarray]  # the arrays of state.npz


def fingerprint(run: Run) -> str:
    """The sha256 of the run's model.keras."""
    return hashlib.sha256((run.path / "model.keras").read_bytes()).hexdigest()


def stateful(run: Run) -> bool:
    return bool(run.pre["mode"] == "stateful")


def tail_length(run: Run) -> int:
    """T: the rows a forecast reads, in original units (the window, or the last row, and the transform's own)."""
    return (1 if stateful(run) else int(run.pre["look_back"])) + run.steps.lost


def build(run: Run, ds: Dataset, batch: int = 4096) -> State:
    """The state after each series' last row of ds (the whole history): see the module doc."""
    names, t_len, first, cols = ds.names, tail_length(run), run.steps.lost, of_run(run.pre)
    need = t_len + bool(cols and stateful(run))  # led: the state is after the row before the last
    short = [s.name for s in ds.series if len(s) < need]
    if short:
        raise DataError(f"series {some(short)} have fewer than the {need} rows a forecast starts from")
    scaler = run.scaler(names)
    st: State = {
        "series": np.array(names, dtype=str),
        "time_kind": np.array(ds.time_kind),
        "last_time": np.array([s.times[-1] for s in ds.series]),
        "rows_seen": np.array([len(s) for s in ds.series], dtype=np.int64),
        "tail": np.stack([s.values[-t_len:] for s in ds.series]).astype(np.float64),
        "tail_times": np.stack([s.times[-t_len:] for s in ds.series]),
        "run": np.array(fingerprint(run)),
    }
    st["tail_units"] = _tail_units(run, scaler, st["tail"])
    if stateful(run):
        model = run.model
        per_step = run.pre["kind"] == "many_to_many"
        layers: list[list[list[np.ndarray]]] = [[[] for _ in r.zero_state(0)] for r in model.recurrent]
        answers = []
        for a in range(0, len(names), batch):
            group = range(a, min(a + batch, len(names)))
            units = [run.units(scaler, i, lead(ds.series[i].values, cols))[first:].astype(np.float32) for i in group]
            units = [u[:-1] for u in units] if cols else units  # led: the last row waits for the next features
            span = max(len(u) for u in units) - 1
            x = np.zeros((len(units), span, units[0].shape[1]), np.float32)
            for r, u in enumerate(units):
                x[r, : len(u) - 1] = u[:-1]
            rows = np.arange(len(units))
            with engine.one_blas_thread():
                model.states = model.warm(x, rows, np.array([len(u) - 1 for u in units]))
                y = model(np.stack([u[-1:] for u in units]))  # the last row, from the state before it
            answers.append(y[:, -1:] if per_step else y)
            for k, layer in enumerate(model.states):
                for s, arr in enumerate(layer):
                    layers[k][s].append(arr.copy())
        for keys, per_layer in zip(state_keys(run), layers, strict=True):
            st |= {key: np.concatenate(parts) for key, parts in zip(keys, per_layer, strict=True)}
        st["answer"] = np.concatenate(answers).astype(np.float32)
    else:
        st |= _window_states(run, st["tail_units"])
    return st


def _window_states(run: Run, units: np.ndarray) -> State:
    """A look-back model's h (and c) per layer after predicting from each series' last window (tail_units' last
    look_back rows, normalised as a forecast normalises them) from zero states: each layer's at the end of the
    window; an encoder_decoder's decoder layers, which read the encoder's repeated output rather than the rows,
    after decoding the forecast from it."""
    from seqcast.transforms import normalise_window

    if not len(units):
        return {}
    look_back = int(run.pre["look_back"])
    x = np.asarray(units[:, -look_back:], dtype=np.float32)
    if run.steps.per_window:
        x = normalise_window(x, run.steps.window_step, run.steps.fixed)[0]
    model = run.model
    with engine.one_blas_thread():
        if run.pre["kind"] == "encoder_decoder":  # not a stack warm() can run: a RepeatVector between its layers
            model.reset(len(x))
            model(x)
            layers = model.states
        else:
            layers = model.warm(x, np.arange(len(x)), np.full(len(x), look_back))
    out: State = {}
    for keys, layer in zip(state_keys(run), layers, strict=True):
        out |= {key: arr.copy() for key, arr in zip(keys, layer, strict=True)}
    return out


def _tail_units(run: Run, scaler: Any, tail: np.ndarray) -> np.ndarray:
    first, cols = run.steps.lost, of_run(run.pre)
    return np.stack([run.units(scaler, i, lead(t, cols))[first:] for i, t in enumerate(tail)]).astype(np.float32)


def save(path: Path, st: State) -> None:
    """state.npz, written atomically."""
    buf = io.BytesIO()
    np.savez(buf, **st)  # type: ignore[arg-type]
    files.atomic_write(path, buf.getvalue())


def state_keys(run: Run) -> list[tuple[str, ...]]:
    """Per recurrent layer, the state.npz keys of its states: (layer<k>_h,), or (layer<k>_h, layer<k>_c) for an
    LSTM, in the engine's (and Keras's) order."""
    return [
        tuple(f"layer{k}_{s}" for s in ("h", "c")[: len(r.zero_state(0))]) for k, r in enumerate(run.model.recurrent)
    ]


def layer_states(run: Run, st: State) -> list[tuple[np.ndarray, ...]]:
    """Per recurrent layer, (h,) or (h, c) of every series, ready to be the engine's states."""
    return [tuple(st[key].copy() for key in keys) for keys in state_keys(run)]


def refuse_if_updated(run: Run, ds: Dataset) -> None:
    """A run without state.npz (trained before runs kept it, or copied without it) whose updates.csv (rundir.UPDATES)
    logs rows added to a series whose rows in the run's data file (`ds`) are fewer than training read and update
    added: the file ends before some of them, and a forecast from it would silently start there. A file grown by
    all of them holds them."""
    import csv
    import json

    log, added = run.path / rundir.UPDATES, dict[str, int]()
    if not log.is_file():
        return
    for row in csv.DictReader(io.StringIO(log.read_text(errors="replace"))):  # an edited line is no fault here
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            for name, n in json.loads(row.get("series") or "{}").items():
                added[name] = added.get(name, 0) + int(n)
    trained = {s["name"]: int(s["rows"]) for s in run.pre["series"]}
    behind = [s.name for s in ds.series if len(s) < trained.get(s.name, 0) + added.get(s.name, 0)]  # some missing
    if behind:
        rows = sum(added[n] for n in behind)
        raise DataError(
            f"the run has no {FILE}, but its updates.csv logs {rows} row(s) that seqcast update added to series "
            f"{behind[:5]} since training, which the run's data file ends before: a forecast from it would start "
            "before them",
            where=str(run.path),
            hint=f"put the run's {FILE} back, or forecast with --data CSV holding every row up to the newest",
        )


def load(run: Run, command: str = "forecast") -> State:
    """state.npz of the run, checked against its model and preprocessing; a missing, damaged or foreign file is
    a DataError naming it, with a hint for `command` (forecast can read a history with --data instead)."""
    path = run.path / FILE
    hint = "train the run again" + (", or forecast with --data" if command == "forecast" else "")

    def bad(why: str) -> DataError:
        return DataError(f"{FILE} {why}", where=str(path), hint=hint)

    if not path.exists():
        raise DataError(f"the run has no {FILE} (trained before runs kept their state)", where=str(run.path),
                        hint=hint)  # fmt: skip
    if not zipfile.is_zipfile(path):  # numpy would read it as a pickle, and advise loading it as one
        raise bad("is damaged: it is no .npz archive (numpy's zip of arrays), and no file seqcast wrote")
    try:
        with np.load(path, allow_pickle=False) as z:
            st = {k: z[k] for k in z.files}
    except Exception as exc:  # a damaged zip, a truncated array, an object array: all the same to a user
        why = "holds Python objects, which seqcast never loads" if "pickle" in str(exc) else f"{exc}"
        raise bad(f"cannot be read ({type(exc).__name__}: {why})") from None
    need = ["series", "time_kind", "last_time", "rows_seen", "tail", "tail_times", "tail_units", "run"]
    if stateful(run):
        need += [key for keys in state_keys(run) for key in keys] + ["answer"]
    if "run" in st and str(st["run"]) != fingerprint(run):  # first: another kind of run's lacks this one's arrays
        raise bad("belongs to another run: its model.keras is not this run's")
    missing = [k for k in need if k not in st]
    if missing:
        raise bad(f"has no {missing}")
    n, t_len, n_in = len(st["series"]), tail_length(run), len(run.pre["inputs"])
    shapes = {
        "last_time": (n,), "rows_seen": (n,), "tail": (n, t_len, n_in), "tail_times": (n, t_len),
        "tail_units": (n, t_len - run.steps.lost, n_in),
    }  # fmt: skip
    for r, keys in zip(run.model.recurrent, state_keys(run), strict=True):  # a look-back run's may be absent
        shapes |= {key: (n, r.units) for key in keys if key in st or stateful(run)}
    if stateful(run):
        shapes["answer"] = (n, *st["answer"].shape[1:2], run.n_targets)
    for key, shape in shapes.items():
        if st[key].shape != shape:
            raise bad(f"has {key} of shape {st[key].shape}, the run needs {shape}")
    for key in ("tail", "tail_units", "answer", *[k for k in st if k.startswith("layer")]):
        if key in st and not np.isfinite(st[key]).all():
            raise bad(f"has values in {key} that are not finite")
    known = set(run.pre["scaler"]["series"])
    foreign = [s for s in st["series"].tolist() if s not in known]
    if foreign:
        raise bad(f"names series {some(foreign)} that the run has no scaling for")
    return st


def dataset(run: Run, st: State) -> Dataset:
    """The tails as a dataset: the history a forecast reads, each series' last T rows."""
    kind = str(st["time_kind"])
    series = [
        Series(str(n), st["tail_times"][i], st["tail"][i], _breaks(st["tail_times"][i], run.freq, kind))
        for i, n in enumerate(st["series"].tolist())
    ]
    past, static = run.pre.get("past_features", []), run.pre.get("static", [])
    first = (st["rows_seen"] - st["tail"].shape[1]).tolist()  # the tail's first row in each series' history
    targets, features = run.pre["targets"], run.pre["features"]
    return Dataset(series, targets, features, kind, run.freq, FILE, past=past, static=static, first_rows=first)  # type: ignore[arg-type]


def _breaks(times: np.ndarray, freq: Any, kind: str) -> np.ndarray:
    """The rows of a tail that do not follow the row before on the run's time grid: gaps data.missing: drop left
    (Series.breaks), so that a forecast from the state says what a forecast from the history says of them."""
    from seqcast import timeaxis

    at = timeaxis.steps_from_first(times, freq) if kind != "none" and freq is not None and len(times) > 1 else None
    return np.zeros(0, dtype=np.int64) if at is None else (np.flatnonzero(np.diff(at) != 1) + 1).astype(np.int64)


def advance(run: Run, st: State, new: dict[int, tuple[np.ndarray, np.ndarray]]) -> State:
    """The state after the rows `new[i] = (times, values (k, inputs) original units)` of series i, in order,
    continuing each series' last row (gaps already handled)."""
    st = dict(st)
    names = st["series"].tolist()
    scaler = run.scaler(names)
    t_len, first = tail_length(run), run.steps.lost
    tail, times = st["tail"].copy(), st["tail_times"].copy()
    st["last_time"], st["rows_seen"] = st["last_time"].copy(), st["rows_seen"].copy()
    if stateful(run):
        model, per_step = run.model, run.pre["kind"] == "many_to_many"
        states = layer_states(run, st)
        answer = st["answer"].copy()
        by_rows: dict[int, list[int]] = {}
        for i, (_, v) in new.items():
            by_rows.setdefault(len(v), []).append(i)
        cols = of_run(run.pre)  # led: the state is one row behind the tail, whose last row waits (lead.py)
        for idx in by_rows.values():  # series with as many new rows run as one batch
            x = np.stack([
                run.units(scaler, i, lead(np.concatenate([tail[i][t_len - first - bool(cols):], new[i][1]]), cols))[
                    first : len(new[i][1]) + first
                ]
                for i in idx
            ]).astype(np.float32)  # fmt: skip
            model.states = [tuple(s[idx] for s in layer) for layer in states]
            with engine.one_blas_thread():
                y = model(x)
            answer[idx] = y[:, -1:] if per_step else y
            for layer, after in zip(states, model.states, strict=True):
                for whole, part in zip(layer, after, strict=True):
                    whole[idx] = part
        for keys, layer_now in zip(state_keys(run), states, strict=True):
            st |= dict(zip(keys, layer_now, strict=True))
        st["answer"] = answer
    for i, (t, v) in new.items():
        tail[i] = np.concatenate([tail[i], v])[-t_len:]
        times[i] = np.concatenate([times[i], t])[-t_len:]
        st["last_time"][i] = t[-1]
        st["rows_seen"][i] += len(v)
    st["tail"], st["tail_times"] = tail, times
    st["tail_units"] = _tail_units(run, scaler, tail)
    if not stateful(run):
        st |= _window_states(run, st["tail_units"])
    return st
