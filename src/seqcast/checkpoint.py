"""Checkpoint and resume: after every complete epoch the model (optimizer included), the history and the early
stopping state are written to a folder beside the run, so that `--resume` ends exactly where an uninterrupted
run would have.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqcast import rundir
from seqcast.config import Config
from seqcast.errors import ConfigError, DataError, Interrupted, some
from seqcast.rundir import COMMAND_STAMP, TRAIN_COMMAND


@dataclass
class Session:
    """What a checkpoint must carry for a resumed run to end exactly where an uninterrupted one would."""

    checkpoint: Path | None = None
    epochs_done: int = 0
    best: float = float("inf")
    best_epoch: int = 0
    wait: int = 0
    best_weights: list[np.ndarray] | None = None
    interrupted: bool = False
    saved_epoch: int = 0  # the last epoch written to the checkpoint
    states_kept: bool = False  # resumed with the states its last epoch left (training.reset_states: never)


STATES = "states.npz"  # training.reset_states: never: the stateful layers' states at the epoch's end


def keeps_states(cfg: Config) -> bool:
    """Does a checkpoint keep the stateful layers' states (STATES)? Only training.reset_states: never carries them
    from one epoch into the next; every other setting starts an epoch from zero states."""
    return cfg.stateful and cfg.training.reset_states == "never"


def save_checkpoint(path: Path, model: Any, rows: list[dict[str, Any]], session: Session, cfg: Config) -> None:
    """Write the checkpoint folder atomically: model.keras (optimizer included), state.json, best.npz."""
    import json

    tmp = path.parent / (path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.keras")
    state = {
        "epochs_done": len(rows),
        "rows": rows,
        "best": session.best if np.isfinite(session.best) else None,  # strict JSON: no Infinity
        "best_epoch": session.best_epoch,
        "wait": session.wait,
        "config": resumable(cfg),
    }
    (tmp / "state.json").write_text(json.dumps(state))
    if session.best_weights is not None:
        np.savez(tmp / "best.npz", *session.best_weights)
    if keeps_states(cfg):  # the states the next epoch starts from (the model file keeps none): a resumed fit
        from seqcast.model import state_parts  # starts from them

        np.savez(tmp / STATES, *(np.asarray(p) for p in state_parts(model)))
    for stamp in (DATA_STAMP, COMMAND_STAMP):  # written before training (stamp_data): they stay with it
        if (path / stamp).is_file():
            shutil.copy2(path / stamp, tmp / stamp)
    old = path.parent / (path.name + ".old")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def resumable(cfg: Config) -> dict[str, Any]:
    """The config a checkpoint must match to be resumed (output and epoch count may differ)."""
    doc = cfg.to_dict()
    doc.pop("output", None)
    doc["training"].pop("epochs", None)
    return doc


def is_checkpoint(folder: Path) -> bool:
    """A checkpoint that holds something to resume: one model's (state.json), or an ensemble's (a member's
    member-k/state.json, or a finished member-k.keras)."""
    members = [*folder.glob("member-*/state.json"), *folder.glob("member-*.keras")]
    return (folder / "state.json").exists() or bool(members)


RUN_STAMP = "run.json"  # an ensemble's checkpoint: the whole run's resumable config, written before its first member


def differences(saved: Any, now: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two config documents, each with both values."""
    if isinstance(saved, dict) and isinstance(now, dict):
        keys = sorted(set(saved) | set(now))
        return [d for k in keys for d in differences(saved.get(k), now.get(k), f"{prefix}{k}.")]
    return [] if saved == now else [f"{prefix.rstrip('.')} ({saved!r} in the checkpoint, {now!r} now)"]


def _refuse_other_config(saved: dict[str, Any], cfg: Config) -> None:
    # where the data file lies may differ (another host of a multi_worker cluster, a project folder moved): what
    # it holds is checked by its fingerprint (DATA_STAMP)
    diff = [d for d in differences(saved, resumable(cfg)) if not d.startswith("data.path ")]
    if diff:
        raise ConfigError(
            f"the config differs from the checkpoint's: {'; '.join(diff[:5])}"
            + (f"; and {len(diff) - 5} more" if len(diff) > 5 else ""),
            where="--resume",
            hint="resume with the config it was trained with (only training.epochs and output may change)",
        )


DATA_STAMP = "data.json"  # the data a checkpoint was trained on: each series' values_sha256 (preprocess.json's)


def stamp_data(folder: Path, series: list[dict[str, Any]], resuming: bool = False) -> None:
    """Write into a checkpoint folder, before training, the fingerprint of the data it trains on and the command
    that trains it (for the resume hints)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / DATA_STAMP).write_text(json.dumps({s["name"]: s.get("values_sha256") for s in series}))
    if not (resuming and (folder / COMMAND_STAMP).is_file()):  # a resume, refused or not, keeps the first command
        (folder / COMMAND_STAMP).write_text(TRAIN_COMMAND.get() + "\n", encoding="utf-8")  # resume_command's


def check_resumable(path: Path, cfg: Config, series: list[dict[str, Any]] | None = None) -> None:
    """Refuse (exit 2), before anything is trained, a checkpoint that another config wrote: one network's for an
    ensemble or the other way round (model.ensemble), or an ensemble's whose run.json differs; and (exit 1) one
    whose data (`series`, as preprocess.json records them) has changed since (data.json; a checkpoint from before
    it is not checked). One network's state.json is checked when it is loaded."""
    import json

    try:
        was = json.loads((path / DATA_STAMP).read_text()) if series is not None else {}
    except (OSError, ValueError):  # none (a checkpoint from before it), or unreadable: not checked
        was = {}
    now = {s["name"]: s.get("values_sha256") for s in series or []}
    other = [n for n in sorted(set(was) | set(now)) if was and was.get(n) != now.get(n)]
    if other:
        raise DataError(
            f"the data has changed since this checkpoint was trained on it: series {some(other)} "
            f"{'is' if len(other) == 1 else 'are'} not as they were (rows or values)",
            where=str(cfg.data.path),
            hint="resume with the data it was trained on, or start afresh (delete the checkpoint folder)",
        )

    members, single, n = any(path.glob("member-*")), (path / "state.json").exists(), cfg.model.ensemble
    if n > 1 and single and not members or n == 1 and members and not single:
        held = "one network" if single else "an ensemble of networks"
        raise ConfigError(
            f"{path} is the checkpoint of {held}, and model.ensemble is {n} here",
            where="--resume",
            hint="resume with the config it was trained with (only training.epochs and output may change)",
        )
    stamp = path / RUN_STAMP
    if n > 1 and stamp.exists():
        try:
            saved = json.loads(stamp.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{stamp} is damaged ({exc}): this checkpoint cannot be resumed", where="--resume"
            ) from None
        _refuse_other_config(saved, cfg)


def load_checkpoint(path: Path, cfg: Config) -> tuple[Any, list[dict[str, Any]], Session]:
    """(model, history rows, session) from a checkpoint folder, checked against the config."""
    import json

    import keras

    state_file = path / "state.json"
    if not state_file.exists() or not (path / "model.keras").exists():
        raise ConfigError(f"{path} is not a seqcast checkpoint (no state.json / model.keras)", where="--resume")
    try:
        state = json.loads(state_file.read_text())
        config, rows = state["config"], list(state["rows"])
        best_value = float("inf") if state["best"] is None else float(state["best"])
        counts = int(state["epochs_done"]), int(state["best_epoch"]), int(state["wait"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{state_file} is damaged ({exc}): this checkpoint cannot be resumed", where="--resume"
        ) from None
    _refuse_other_config(config, cfg)
    try:
        model = keras.saving.load_model(path / "model.keras", safe_mode=True)
        best = None
        if (path / "best.npz").exists():
            with np.load(path / "best.npz", allow_pickle=False) as z:
                best = [z[f"arr_{i}"] for i in range(len(z.files))]
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError... for a model it will not load
        raise ConfigError(
            f"the checkpoint's model cannot be loaded safely: {exc}", where=f"--resume {path / 'model.keras'}"
        ) from None
    session = Session(path, counts[0], best_value, counts[1], counts[2], best)
    if keeps_states(cfg) and (path / STATES).exists():
        from seqcast.model import set_states

        with np.load(path / STATES, allow_pickle=False) as z:
            session.states_kept = set_states(model, [z[f"arr_{i}"] for i in range(len(z.files))])
    return model, rows, session


def check_target(
    cfg: Config, target: Path, overwrite: bool, protected: dict[str, Path], resume: Path | None, series: Any
) -> None:
    """Refuse what train would write over: --resume of no checkpoint or of another config's or data's (`series()`,
    the data's series_doc, hashed only then), a fresh training over an interrupted one's checkpoint, a non-empty
    output.dir."""
    if resume is not None:  # an option's error before the refusal of output.dir, which would hide it
        if not is_checkpoint(resume):
            what = "is not a seqcast checkpoint (no state.json)" if Path(resume).exists() else "not found"
            raise ConfigError(f"{resume} {what}", where="--resume")
        check_resumable(resume, cfg, series())  # another config's or data's: refused before anything
    elif is_checkpoint(rundir.checkpoint_dir(target)):  # a fresh training would write over it
        with rundir.lock(target):  # unless it is a running training's own: then that training is named
            pass
        refuse_interrupted(target, resume)
    rundir.check_target(target, overwrite, protected)  # before training; checked again under the lock


def refuse_interrupted(target: Path, resume: Path | None) -> None:
    """A fresh training (no --resume) into `target` beside an interrupted one's checkpoint would replace it:
    refused, naming the folder. check_target says it before anything; train says it again under the lock, which a
    training stopped meanwhile (its checkpoint kept) may have held while check_target looked."""
    if resume is None and is_checkpoint(kept := rundir.checkpoint_dir(target)):
        raise ConfigError(  # named by its folder: --resume was not given
            f"{kept} holds the checkpoint of an interrupted training into {target}; a new training would replace it",
            hint=f"continue it with: {rundir.resume_command(kept)}; or delete that folder to start afresh",
        )


def _not_ours(folder: Path) -> list[str]:
    """The names in a checkpoint folder that seqcast did not write there (a user's files), sorted."""
    ours = rundir.CHECKPOINT_FILES
    return sorted(p.name for p in folder.iterdir() if p.name not in ours and not p.name.startswith("member-"))


def drop_checkpoint(checkpoint: Path) -> str | None:
    """Remove the run's own checkpoint once the run is complete: what seqcast wrote there; a note, and the folder
    kept, when it holds anything else too (a user's file)."""
    if not checkpoint.is_dir():
        return None
    others = _not_ours(checkpoint)
    if not others:
        shutil.rmtree(checkpoint, ignore_errors=True)
        return None
    for p in checkpoint.iterdir():
        if p.name not in others:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
    return (
        f"the checkpoint folder {checkpoint} was kept: it holds files seqcast did not write ({', '.join(others[:5])})"
    )


def drop_resumed(resume: Path | None, checkpoint: Path) -> str | None:
    """Remove a --resume checkpoint once its run is complete, unless it holds anything else (then a note)."""
    if resume is None or not resume.is_dir() or resume.resolve() == checkpoint.resolve():
        return None
    others = _not_ours(resume)
    if others:
        return f"the checkpoint {resume} was kept: it holds other files too ({', '.join(others[:5])})"
    shutil.rmtree(resume, ignore_errors=True)
    return None


def save_whole(model: Any, path: Path) -> None:
    """model.save to `path` whole or not at all: written beside it, then renamed. A Ctrl-C during the save (fit has
    returned: the signal stops the command at once) left a half-written member-k.keras that every --resume failed
    to load; now it leaves the member's own checkpoint, from which --resume finishes it."""
    import os

    part = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def load_kept(path: Path) -> Any:
    """A finished network a checkpoint keeps (member-k.keras, member-k-refit.keras), refused by name if it cannot be
    loaded: deleting it makes --resume train that network again from its own checkpoint."""
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError... for a model it will not load
        raise ConfigError(
            f"the checkpoint's {path.name} cannot be loaded safely: {exc}",
            where=f"--resume {path}",
            hint=f"delete {path}: --resume then trains that network again from its own checkpoint",
        ) from None


@contextlib.contextmanager
def resume_at(checkpoint: Path, inside: bool, resume: Path | None = None) -> Iterator[None]:
    """Ctrl-C in a fit whose checkpoint lies `inside` the run's (an ensemble member, a refit): name the run's, the
    folder --resume takes; in a resumed training that saved nothing yet (the run's checkpoint is removed), the
    --resume folder it came from, still whole."""
    try:
        yield
    except Interrupted:
        if is_checkpoint(checkpoint) and inside:
            where, hint = checkpoint, rundir.resume_command(checkpoint)
        elif not is_checkpoint(checkpoint) and resume is not None and is_checkpoint(resume):
            where, hint = resume, rundir.resume_command(checkpoint, kept=resume)
        else:
            raise
        raise Interrupted(
            f"training interrupted; the checkpoint of the training so far is kept at {where}",
            hint=f"resume with: {hint}",
        ) from None
