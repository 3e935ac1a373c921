"""`seqcast train` as a library call: config -> layout and scaler -> transform (chosen by select.py when `auto`)
-> model units -> fit -> run directory with its backtest. Returns a TrainResult; prints nothing itself: what a
user should see goes through the Hooks the caller passes (the command line passes rich's).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqcast import distribute, errors, files, rundir
from seqcast.checkpoint import (
    RUN_STAMP,
    check_target,
    drop_checkpoint,
    drop_resumed,
    is_checkpoint,
    load_kept,
    refuse_interrupted,
    resumable,
    resume_at,
    save_whole,
    stamp_data,
)
from seqcast.config import Config, full_path
from seqcast.data import Dataset
from seqcast.fit import Interrupted, Note, fit, silent
from seqcast.layout import Plan, check_backtest, refit_rows
from seqcast.model import check_size
from seqcast.notes import grouped
from seqcast.prepare import Prepared, Scaler, build, plan_and_scale, series_doc
from seqcast.select import Progress, choose


@dataclass
class Hooks:
    """What a caller wants to see while a run trains; every hook does nothing by default.

    note: messages a user must see (data notes, where a checkpoint is kept, a first Ctrl-C);
    info: remarks on the way (the auto trials, how replicas share a batch, a worker done);
    prepared: called once the data is in model units, before training (the command line prints its header);
    progress(epochs, label): a Keras callback showing the epochs of a fit (the run's, or an auto trial's);
    busy(message): a context around a silent wait (TensorFlow's import) that shows it is under way.
    """

    note: Note = silent
    info: Note = silent
    prepared: Callable[[Prepared], None] = field(default=lambda prep: None)
    progress: Progress | None = None
    busy: Callable[[str], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext


@dataclass
class TrainResult:
    """A written run: where it is, its backtest (metrics.json), its history rows and the training time."""

    run_dir: Path
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]
    seconds: float
    prep: Prepared
    chief: bool = True  # a multi_worker task other than the chief trains its share and writes nothing
    refit: dict[str, Any] | None = None  # training.refit: what preprocess.json records of it
    # notes on the scores (a level without an interval, the safety net, the test part leaving the training range):
    # for the caller to say after them; the command line prints them last
    closing: list[str] = field(default_factory=list)


def prepare(
    cfg: Config,
    ds: Dataset | None = None,
    *,
    release: bool = False,
    hooks: Hooks | None = None,
    planned: tuple[Plan, Scaler] | None = None,
) -> Prepared:
    """Load and lay out the data, fit the scaler on the training parts, choose (auto) and apply the transform.

    planned: plan_and_scale's result, when the caller has it already (train_run checks the data and its output
    folder before the auto trials).
    """
    hooks = hooks or Hooks()
    p, scaler = planned if planned is not None else plan_and_scale(cfg, ds)
    transform: str = cfg.data.transform
    why, scores = "set in the config", dict[str, float]()
    if transform == "auto":
        transform, why, scores = choose(cfg, p, scaler, hooks.info, hooks.progress)  # trains each candidate
    prep = build(p, scaler, transform, why, release=release)
    prep.transform_scores = scores
    return prep


def train_run(
    cfg: Config,
    *,
    config_path: Path | None = None,
    output_dir: Path | None = None,
    overwrite: bool = False,
    resume: Path | None = None,
    hooks: Hooks | None = None,
    debug: bool = False,
) -> TrainResult:
    """Train, evaluate on the test split and write the run directory.

    debug: show TensorFlow's own log lines. A multi_worker task other than the chief trains its share and writes
    nothing (see _train_worker).
    """
    from seqcast.tfimport import import_tf

    hooks = hooks or Hooks()
    check_size(cfg, len(cfg.inputs), len(cfg.data.targets))  # before TensorFlow allocates anything
    distribute.check(cfg)  # multi_worker: TF_CONFIG names the cluster and this task
    target = full_path(output_dir if output_dir is not None else cfg.output.dir or "runs/run")
    if output_dir is not None:  # the run's config.yaml says where the run is (the caller's config is left as it was)
        cfg = cfg.model_copy(deep=True)
        cfg.output.dir = target
    protected = {"the data": Path(cfg.data.path)} | ({"the config": Path(config_path)} if config_path else {})
    # data and config errors come first, before anything touches the disk and before a refusal of output.dir;
    # the refusals then come before TensorFlow's import and the auto trials, which take seconds to minutes
    with hooks.busy(f"reading {Path(cfg.data.path).name}"):  # seconds for millions of rows
        planned = plan_and_scale(cfg)
    laid = planned[0]
    check_backtest(cfg, laid.ds, laid.parts)
    chief = distribute.is_chief(cfg)
    if chief:
        check_target(cfg, target, overwrite, protected, resume, lambda: series_doc(laid.ds, laid.parts))
    with hooks.busy("importing TensorFlow"):
        import_tf(quiet=not debug)
    if cfg.training.distribute == "multi_worker":  # the cluster joined (or given up on) before anything is written
        with hooks.busy(f"waiting for the cluster of TF_CONFIG ({distribute.task_name()})"):
            distribute.get_strategy(cfg)
    # from here on only the model-unit buffer holds the data (the original units are freed: 1.25x the raw data
    # less while training)
    prep = prepare(cfg, release=True, hooks=hooks, planned=planned)
    for n in grouped(prep.ds.notes):  # those alike (one per series) grouped
        hooks.note(n)
    if not chief:
        return _train_worker(prep, target, resume, hooks)
    rundir.prepare_parent(target)
    with rundir.lock(target):  # one train at a time into output.dir; the checkpoint beside it is its own
        rundir.check_target(target, overwrite, protected)
        refuse_interrupted(target, resume)  # a training that held the lock meanwhile may have left one
        hooks.prepared(prep)
        metrics, fitted, seconds, closing = _train_and_commit(prep, target, overwrite, protected, resume, hooks)
    # the run is complete and in place: nothing from here on may turn that into a failure
    return TrainResult(target, metrics, fitted.rows, seconds, prep, refit=fitted.refit, closing=closing)


def _train_and_commit(
    prep: Prepared,
    target: Path,
    overwrite: bool,
    protected: dict[str, Path],
    resume: Path | None,
    hooks: Hooks,
) -> tuple[dict[str, Any], Fitted, float, list[str]]:
    """Train into a staging folder and swap it into place; SIGTERM stops like Ctrl-C (the staging is removed).

    The signal is remembered too (errors.on_signal): Python drops a KeyboardInterrupt raised in a weakref callback
    or __del__ ("Exception ignored in"), so each fit and the commit check for it (errors.check_interrupted)."""
    import signal
    import threading

    checkpoint = rundir.checkpoint_dir(target)
    main = threading.current_thread() is threading.main_thread()
    stops = [sig for sig in errors.STOP_SIGNALS if sig != signal.SIGINT]  # (Ctrl-C is Python's KeyboardInterrupt)
    previous = {sig: signal.signal(sig, errors.on_signal) for sig in stops} if main else {}
    caught = len(errors._signalled)  # an in-process caller's next train starts without this one's signals
    said: list[str] = []

    def committed(where: Path) -> None:  # the run is whole: its checkpoint has served, and it is the newest
        said.extend(filter(None, [drop_checkpoint(checkpoint), drop_resumed(resume, checkpoint)]))
        said.extend(filter(None, [rundir.point_latest(where)]))

    try:
        with rundir.staging(target, overwrite, protected, committed) as work:
            result = _train_into(work, prep, checkpoint, resume, hooks)
            errors.check_interrupted()  # a signal that a library swallowed: nothing is committed
    except BaseException as exc:
        if checkpoint.exists() and not is_checkpoint(checkpoint):  # stopped before any epoch was saved: run.json
            shutil.rmtree(checkpoint, ignore_errors=True)  # alone resumes nothing
        elif checkpoint.exists() and not isinstance(exc, Interrupted) and getattr(exc, "where", "") != "--resume":
            # (Interrupted names it already, and a refused --resume is about that very checkpoint)
            hooks.note(
                f"the checkpoint of the training so far is kept at {checkpoint}: resume with "
                f"{rundir.resume_command(checkpoint)}, or delete it"
            )
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if previous:
            del errors._signalled[caught:]
    for note in said:
        hooks.note(note)
    return result


def _train_into(
    work: Path, prep: Prepared, checkpoint: Path, resume: Path | None, hooks: Hooks
) -> tuple[dict[str, Any], Fitted, float, list[str]]:
    """Train and write every run file into the staging folder `work`."""
    from seqcast import calibration, engine, intervals, state
    from seqcast import run as runs
    from seqcast.evaluate import backtest_run, run_dataset, unscored
    from seqcast.levels import outside_training_range
    from seqcast.select import losing_note, trial_epochs

    cfg = prep.cfg
    t0 = time.perf_counter()
    fitted = _fit_ensemble(prep, work, checkpoint, resume, hooks)
    seconds = time.perf_counter() - t0
    with hooks.busy("writing the model, and each series' state after its last row"):  # seconds on long series
        fitted.model.save(work / "model.keras")
        cfg.data.time_format = cfg.data.time_format or prep.ds.time_format  # new rows are read as these were
        (work / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True), "utf-8")
        doc = prep.preprocess_doc() | ({"refit": fitted.refit} if fitted.refit else {})
        files.write_json(work / "preprocess.json", doc)
        (work / "history.csv").write_text(history_csv(fitted.rows))
        opened = runs.open_run(work)
        # the network that never saw the validation part: the validation scores and the calibration are its
        judged = opened if fitted.judged is fitted.model else runs.Run(work, cfg, doc, engine.from_keras(fitted.judged))
        _check_unchanged(opened, ds := run_dataset(opened))  # read again: the values were released to train
        names, values = data = ds.names, [s.values for s in ds.series]
        state.save(work / state.FILE, state.build(opened, ds))  # where forecast and update start from
    breaks = [s.breaks for s in ds.series]  # data.missing: drop's gaps: no origin is scored across one
    with hooks.busy("calibrating the intervals, then the backtest on the test part"):  # seconds on long series
        calibrated = calibration.calibrate(judged, values, names, breaks)  # the test part chooses nothing
        metrics = backtest_run(
            opened, horizon=cfg.evaluate.horizon, data=data, calibration=calibrated, breaks=breaks, judged=judged
        )
    files.write_json(work / "calibration.json", calibrated)
    files.write_json(work / "metrics.json", metrics)
    # what to make of the scores: the caller says it after them (TrainResult.closing), the safety net plainly
    trials = trial_epochs(cfg) if doc.get("transform_scores") else 0  # auto's
    lost = losing_note(metrics.get("validation") or {}, cfg.evaluate, trials)
    ends = {d["name"]: d["val_end"] for d in doc["series"]}
    tests = [(s.label, s.name, s.values[ends[s.name] :]) for s in ds.series if s.name in ends]
    closing = [
        *intervals.train_notes(calibrated, cfg.evaluate.intervals, doc["targets"]),
        *([lost] if lost else []),
        *unscored(names, values, ends, metrics, "evaluate.horizon"),
        *outside_training_range(opened, tests, "the test part's values"),
    ]
    return metrics, fitted, seconds, closing


def _check_unchanged(run: Any, ds: Dataset) -> None:
    """Refuse the data file read again after training (the original values were released to train) when it is not
    what the run trained on: its scores, intervals and state would be of rows the model never saw, and preprocess.json
    would disagree with them. The checkpoint is kept: the file put back, --resume finishes the run."""
    from seqcast.evaluate import data_changes

    changed = data_changes(run, ds)
    if changed:
        raise errors.DataError(
            f"the data file changed while the run trained ({errors.listed(changed, 3, quote=False, sep='; ')}): the "
            "run would score and start its forecasts from other rows than those it trained on",
            where=str(run.cfg.data.path),
            hint="put the file back as it was and resume, or train again on the file as it is now",
        )


@dataclass
class Fitted:
    """What training made: the model the run keeps, its history rows, and the network its validation scores and
    calibration come from (the same model, unless training.refit trained the kept one on the validation part too)."""

    model: Any
    rows: list[dict[str, Any]]
    judged: Any
    refit: dict[str, Any] | None = None  # training.refit: its epochs (per network of an ensemble), the rows it added


def _fit_ensemble(prep: Prepared, work: Path, checkpoint: Path, resume: Path | None, hooks: Hooks) -> Fitted:
    """One fit, or with model.ensemble N, N fits (seeds seed .. seed + N - 1) merged into one model that outputs
    their mean (model.merge); with training.refit each network is trained again on the training and validation
    parts together (_refit) and those make the kept model.

    An ensemble's checkpoint folder holds member-k/ (the member in training) and member-k.keras (each member done),
    member-k-refit/ and member-k-refit.keras likewise, so that --resume continues with the fit it stopped in.
    History rows (the first fits') gain a `member` column.
    """
    refit = refit_rows(prep.plan) > 0
    # one plain fit's checkpoint is the run's and its Ctrl-C message names it; any other fit's lies inside the run's
    inside = prep.cfg.model.ensemble > 1 or refit
    with resume_at(checkpoint, inside, resume):
        return _fit_networks(prep, refit, work, checkpoint, resume, hooks)


def _fit_networks(
    prep: Prepared, refit: bool, work: Path, checkpoint: Path, resume: Path | None, hooks: Hooks
) -> Fitted:
    """_fit_ensemble's fits: the networks, each refit after its first fit with training.refit."""
    from seqcast.model import merge

    cfg, n = prep.cfg, prep.cfg.model.ensemble
    stamp_data(checkpoint, prep.series_doc(), resume is not None)  # --resume checks the data (and makes the folder)
    if n == 1:
        bar = _bar(hooks, cfg, "epoch")
        model, rows = fit(
            prep, workdir=work, checkpoint=checkpoint, resume=resume, callbacks=bar, note=hooks.note, info=hooks.info
        )
        if not refit:
            return Fitted(model, rows, model)
        again = resume / "refit" if resume is not None and (resume / "refit").exists() else None
        final, epochs = _refit(prep, rows, work, checkpoint / "refit", again, hooks, "refit", say=True)
        return Fitted(final, rows, model, {"epochs": epochs, "rows_added": refit_rows(prep.plan)})
    members, finals, counts, rows = [], [], [], []
    (checkpoint / RUN_STAMP).write_text(json.dumps(resumable(cfg)))  # --resume checks the whole run's config
    for k in range(n):
        member = prep.seeded(k)
        done = checkpoint / f"member-{k}.keras"
        if resume is not None and (resume / f"member-{k}.keras").exists():
            model = load_kept(resume / f"member-{k}.keras")
            member_rows = _member_rows(resume, k)
        else:
            start = resume / f"member-{k}" if resume is not None and (resume / f"member-{k}").exists() else None
            bar = _bar(hooks, cfg, f"member {k + 1}/{n}")
            model, member_rows = fit(
                member,
                workdir=work,
                checkpoint=checkpoint / f"member-{k}",
                resume=start,
                callbacks=bar, note=hooks.note, info=hooks.info, logs=f"member-{k}",
            )  # fmt: skip
            checkpoint.mkdir(parents=True, exist_ok=True)  # this member is finished: a resumed run loads it instead
            files.atomic_write(checkpoint / f"member-{k}.csv", history_csv(member_rows).encode())  # of training it
            save_whole(model, done)  # again, its history first: a member-k.keras always has its member-k.csv
        members.append(model)
        rows += [r | {"member": k} for r in member_rows]
        if refit:
            kept = resume / f"member-{k}-refit.keras" if resume is not None else None
            if kept is not None and kept.exists():
                finals.append(load_kept(kept))
                counts.append(refit_epochs(member.cfg, member_rows))
                continue
            again = resume / f"member-{k}-refit" if resume is not None else None
            final, e = _refit(
                member, member_rows, work, checkpoint / f"member-{k}-refit",
                again if again is not None and again.exists() else None, hooks, f"refit {k + 1}/{n}", say=k == 0,
            )  # fmt: skip
            save_whole(final, checkpoint / f"member-{k}-refit.keras")
            finals.append(final)
            counts.append(e)
    batch = prep.plan.batch_size if cfg.stateful else None
    judged = merge(members, cfg, len(prep.ds.inputs), prep.n_targets, batch_size=batch)
    if not refit:
        return Fitted(judged, rows, judged)
    kept_model = merge(finals, cfg, len(prep.ds.inputs), prep.n_targets, batch_size=batch)
    return Fitted(kept_model, rows, judged, {"epochs": counts, "rows_added": refit_rows(prep.plan)})


def refit_epochs(cfg: Config, rows: list[dict[str, Any]]) -> int:
    """The epochs of the network a fit kept: early stopping's best epoch (by val_loss, or loss without a
    validation loss), else every epoch it ran."""
    import numpy as np

    if cfg.training.early_stopping.patience is None or not rows:
        return max(len(rows), 1)
    watched = [r["val_loss"] for r in rows]
    if not np.isfinite(watched).any():
        watched = [r["loss"] for r in rows]
    return int(np.nanargmin(watched)) + 1


def _refit(
    prep: Prepared,
    rows: list[dict[str, Any]],
    work: Path,
    checkpoint: Path,
    resume: Path | None,
    hooks: Hooks,
    label: str,
    say: bool = True,
) -> tuple[Any, int]:
    """training.refit: a new network of the same seed trained on the training and validation parts together for
    the epochs the first fit kept; (that network, its epochs)."""
    epochs = refit_epochs(prep.cfg, rows)
    joined = prep.refit(epochs)
    if say:
        hooks.info(
            "training.refit: each network is trained again on the training and validation parts together "
            f"({refit_rows(prep.plan)} more rows), for the epochs early stopping kept; the validation scores and the "
            "intervals are the first network's"
        )
    model, _ = fit(
        joined,
        workdir=work,
        checkpoint=checkpoint,
        resume=resume,
        callbacks=_bar(hooks, joined.cfg, label),
        note=hooks.note, info=hooks.info, logs=checkpoint.name,  # refit, member-k-refit: as the checkpoint's
    )  # fmt: skip
    return model, epochs


def _member_rows(folder: Path, k: int) -> list[dict[str, Any]]:
    """The history rows of a finished ensemble member, as its checkpoint folder keeps them."""
    path = folder / f"member-{k}.csv"
    if not path.exists():
        return []
    with path.open() as fh:
        return [{key: (int(v) if key == "epoch" else float(v)) for key, v in row.items()} for row in csv.DictReader(fh)]


def _bar(hooks: Hooks, cfg: Config, label: str) -> list[Any] | None:
    """The progress callback of one fit of the run, if the caller wants one."""
    if hooks.progress is None:
        return None
    return [hooks.progress(cfg.training.epochs, label)]


def _train_worker(prep: Prepared, target: Path, resume: Path | None, hooks: Hooks) -> TrainResult:
    """A non-chief multi_worker task: train in step with the chief into a throwaway folder, write nothing.

    Returns the run directory the chief writes. With --resume, every worker needs the checkpoint at that
    path (a shared folder, or a copy).
    """
    import tempfile

    hooks.prepared(prep)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seqcast-worker-") as tmp:  # every fit the chief runs, in step with it
        rows = _fit_ensemble(prep, Path(tmp), Path(tmp) / "checkpoint", resume, hooks).rows
    hooks.info(f"{distribute.task_name()}: training done; the chief writes the run directory, this task nothing")
    return TrainResult(target, {}, rows, time.perf_counter() - t0, prep, chief=False)


def history_csv(rows: list[dict[str, Any]]) -> str:
    """history.csv: epoch, loss, val_loss, seconds (and member, for an ensemble)."""
    buf = io.StringIO()
    fields = ["epoch", "loss", "val_loss", "seconds"] + (["member"] if rows and "member" in rows[0] else [])
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()
