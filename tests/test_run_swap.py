"""The swap that puts a complete run in place never deletes what a user owns: files saved into the run while it
trained, a folder made where none was, hidden backups named like seqcast's own files or folders; what a complete
run must do at once (its checkpoint removed, runs/latest) happens with Ctrl-C held, as the swap does."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from seqcast import rundir
from seqcast.checkpoint import drop_checkpoint
from seqcast.errors import DataError


def marked_run(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "model.keras").write_text(text)
    (path / rundir.MARKER).write_text("a run seqcast wrote\n")
    return path


def new_run(work: Path) -> None:
    (work / "model.keras").write_text("today's model")


@pytest.mark.parametrize("exchange", [True, False])
def test_a_file_saved_into_the_run_while_it_trained_keeps_the_old_run_and_the_new_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:  # a file system without RENAME_EXCHANGE
        monkeypatch.setattr(rundir, "_exchange", lambda a, b: False)
    target = marked_run(tmp_path / "runs" / "mine", "yesterday's model")
    done: list[Path] = []
    with pytest.raises(DataError) as err, rundir.staging(target, True, committed=done.append) as work:
        new_run(work)
        (target / "my_forecast.csv").write_text("saved while it trained")  # checked before training: not there yet
    kept = tmp_path / "runs" / "mine-2"
    said = " ".join(err.value.render().split())
    assert said.startswith(
        f"{target}: the new run is complete, but {target} holds files seqcast did not write (my_forecast.csv): "
        "--overwrite replaces the run as a whole and would delete them; "
        f"it is kept as {kept}, and {target} is as it was"
    ), said
    assert (target / "my_forecast.csv").read_text() == "saved while it trained"
    assert (target / "model.keras").read_text() == "yesterday's model"
    assert (kept / "model.keras").read_text() == "today's model" and (kept / rundir.MARKER).is_file()
    assert done == [kept]
    assert sorted(p.name for p in target.parent.iterdir()) == ["mine", "mine-2"]  # no staging folder left


def test_a_folder_made_where_the_run_goes_while_it_trained_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "new"
    with pytest.raises(DataError) as err, rundir.staging(target, False) as work:
        new_run(work)
        target.mkdir()
        (target / "mine.txt").write_text("precious")
    assert "already exists and is not empty" in err.value.message
    assert (target / "mine.txt").read_text() == "precious"
    assert (tmp_path / "runs" / "new-2" / "model.keras").read_text() == "today's model"


def test_a_swap_the_system_refuses_is_one_message_and_the_new_run_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = marked_run(tmp_path / "runs" / "mine", "yesterday's model")

    def refuse(tmp: Path, to: Path) -> None:
        raise PermissionError(1, "Operation not permitted", str(to))

    monkeypatch.setattr(rundir, "_commit", refuse)
    with pytest.raises(DataError) as err, rundir.staging(target, True) as work:
        new_run(work)
    assert "the new run is complete, but cannot put it in place: Operation not permitted" in err.value.message
    assert (target / "model.keras").read_text() == "yesterday's model"
    assert (tmp_path / "runs" / "mine-2" / "model.keras").read_text() == "today's model"


def test_a_ctrl_c_during_the_swap_waits_until_the_run_is_complete_and_its_aftermath_done(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "mine"
    events: list[str] = []

    def committed(where: Path) -> None:
        signal.raise_signal(signal.SIGINT)  # a Ctrl-C right after the swap
        events.append(f"committed {where.name}")

    with pytest.raises(KeyboardInterrupt), rundir.staging(target, False, committed=committed) as work:
        new_run(work)
    assert events == ["committed mine"]  # the checkpoint and runs/latest are done before the interrupt
    assert (target / "model.keras").read_text() == "today's model"


def test_the_user_s_hidden_backups_are_never_taken_for_seqcast_s_own(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    target = marked_run(runs / "mine", "yesterday's model")
    (target / ".state.npz.bak").write_text("my backup")
    with pytest.raises(Exception) as err:  # --overwrite would delete it: refused, naming it
        rundir.check_target(target, True)
    assert ".state.npz.bak" in str(err.value)
    (target / ".state.npz.bak").unlink()
    (target / ".state.npz.x1y2z3.seqcast-tmp").write_text("")  # an atomic write's leftover is seqcast's
    rundir.check_target(target, True)
    backup = marked_run(runs / ".mine.old-backup", "a backup of mine")
    notes = runs / ".mine.partial-notes"
    notes.mkdir()
    (notes / "x.txt").write_text("keep")
    rundir.recover(target)  # what every command does first: only the swap's own folders are touched
    assert (backup / "model.keras").read_text() == "a backup of mine" and (notes / "x.txt").read_text() == "keep"


def test_a_complete_run_s_checkpoint_keeps_the_user_s_files(tmp_path: Path) -> None:
    ck = tmp_path / "runs" / ".mine.checkpoint"
    (ck / "member-0").mkdir(parents=True)
    for name in ("model.keras", "state.json", "command.txt"):
        (ck / name).write_text("seqcast's")
    assert drop_checkpoint(ck) is None and not ck.exists()
    (ck / "member-0").mkdir(parents=True)
    (ck / "state.json").write_text("seqcast's")
    (ck / "notes.txt").write_text("mine")
    note = drop_checkpoint(ck)
    assert note == f"the checkpoint folder {ck} was kept: it holds files seqcast did not write (notes.txt)"
    assert sorted(p.name for p in ck.iterdir()) == ["notes.txt"]


def test_an_output_inside_a_checkpoint_or_through_a_link_to_nothing_is_refused(tmp_path: Path) -> None:
    from seqcast.errors import ConfigError
    from seqcast.files import check_output

    ck = tmp_path / "runs" / ".mine.checkpoint"
    ck.mkdir(parents=True)
    (ck / "command.txt").write_text("seqcast train ...")
    with pytest.raises(ConfigError) as err:
        check_output(ck / "command.txt", "--output", {})
    assert "is inside a training's checkpoint" in err.value.message and err.value.where == "--output"
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "nowhere" / "x.csv")
    with pytest.raises(ConfigError) as err:
        check_output(tmp_path / "dangling.csv", "--output", {})
    assert "is a symbolic link to nothing" in err.value.message
    assert not (tmp_path / "nowhere").exists()
    check_output(tmp_path / "fine.csv", "--output", {})  # a new file beside them: fine


def test_a_crash_between_the_renames_is_recovered_through_runs_latest_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    old = marked_run(runs / ".mine.old-999999999", "yesterday's model")  # the pid of no running process
    for name in rundir.RUN_FILES:
        (old / name).write_text("x")
    (runs / "latest").symlink_to("mine")  # names the run that is, for now, aside
    monkeypatch.chdir(tmp_path)
    assert rundir.resolve_run(None) == (runs / "mine").resolve()
    assert (runs / "mine" / "model.keras").is_file() and not old.exists()


def test_a_folder_shared_by_hosts_leaves_another_host_s_swap_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging and aside folders carry their host beside their pid: a pid that runs nowhere here may run on
    the host that shares the folder (NFS), mid-training or mid-swap; only this host's dead processes' are undone."""
    import os

    runs = tmp_path / "runs"
    other = "0badc0de" if rundir.HOST != "0badc0de" else "0badc0df"
    theirs_aside = marked_run(runs / f".mine.old-999999999-{other}", "their old run, mid-swap")
    theirs_staging = marked_run(runs / f".mine.partial-999999999-{other}_ab12", "their run, training")
    ours_aside = marked_run(runs / f".yours.old-999999999-{rundir.HOST}", "yesterday's model")
    ours_staging = marked_run(runs / f".yours.partial-999999999-{rundir.HOST}_cd34", "a killed training")
    rundir.recover(runs / "mine")
    rundir.recover(runs / "yours")
    assert (theirs_aside / "model.keras").read_text() == "their old run, mid-swap" and not (runs / "mine").exists()
    assert (theirs_staging / "model.keras").read_text() == "their run, training"
    assert (runs / "yours" / "model.keras").read_text() == "yesterday's model"
    assert not ours_aside.exists() and not ours_staging.exists()

    monkeypatch.setattr(rundir, "_exchange", lambda a, b: False)  # the aside folder's name, where it is used
    renamed: list[str] = []
    rename = Path.rename
    monkeypatch.setattr(Path, "rename", lambda self, to: (renamed.append(Path(to).name), rename(self, to))[1])
    with rundir.staging(runs / "yours", True) as work:
        assert work.name.startswith(f".yours.partial-{os.getpid()}-{rundir.HOST}_")
        new_run(work)
    assert renamed == [f".yours.old-{os.getpid()}-{rundir.HOST}", "yours"]
    assert (runs / "yours" / "model.keras").read_text() == "today's model"


@pytest.mark.parametrize(
    ("holder", "said"),
    [
        ("4242 update build-server-7", "another seqcast update (process 4242 on build-server-7) is writing"),
        ("4242 train", "another seqcast train (process 4242) is writing"),  # an older seqcast's lock: no host
        (None, "another seqcast train (process {pid}) is writing"),  # this host's: no host named
    ],
)
def test_the_lock_names_the_host_of_a_holder_on_another_machine(tmp_path: Path, holder: str | None, said: str) -> None:
    """On a folder shared by machines the holder's pid alone would send the user looking on the wrong host."""
    import os

    target = tmp_path / "runs" / "mine"
    target.parent.mkdir(parents=True)
    with rundir.lock(target):
        if holder is not None:
            (target.parent / ".mine.lock").write_text(holder)  # the same file: the lock holds
        with pytest.raises(DataError) as err, rundir.lock(target):
            pass
    assert said.format(pid=os.getpid()) in err.value.message, err.value.message
