"""training.distribute: mirrored over two logical CPUs and multi_worker over two local processes train like one device.

Every run goes through `python -m seqcast train` in a subprocess: logical devices and the multi-worker cluster
must be set up before TensorFlow initialises, once per process.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import keras  # (a missing Keras fails these tests, never skips them)
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from seqcast import distribute
from seqcast.cli import app
from seqcast.config import load_config
from seqcast.errors import ConfigError
from seqcast.rundir import MARKER, RUN_FILES

MODES = {
    "lookback": [],
    "stateful": ["--set", "windows.mode=stateful", "--set", "model.kind=many_to_many"],
}
ATOL = 1e-4


def write_config(tmp: Path) -> Path:
    """Two daily series of 80 rows (sine target, cosine feature); units 4, 2 epochs, global batch 31.

    Look-back: 94 training windows, so the last batch of each epoch has 1 window and one replica of two gets
    none. Stateful: 2 series x 2 streams = 4 rows per batch, 2 per replica.
    """
    data = tmp / "sine.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "series", "y", "x"])
        for k, name in enumerate("AB"):
            for t in range(80):
                day = np.datetime64("2022-01-01") + np.timedelta64(t, "D")
                w.writerow([str(day), name, round(np.sin(0.4 * t + k), 6), round(np.cos(0.4 * t + 2 * k), 6)])
    doc: dict[str, Any] = {
        "data": {
            "path": str(data),
            "time_column": "time",
            "series_column": "series",
            "targets": ["y"],
            "features": ["x"],
            "transform": "none",
        },
        "windows": {"look_back": 8, "horizon": 2, "num_steps": 8, "streams": 2},
        "model": {"units": [4], "ensemble": 1},
        "training": {"epochs": 2, "batch_size": 31, "learning_rate": 0.02, "early_stopping": {"patience": None}},
    }
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "SEQCAST_LOGICAL_CPUS")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(extra)
    return env


def _cmd(config: Path, distribute_: str, mode: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "seqcast",
        "train",
        str(config),
        "--output-dir",
        "out",
        "--set",
        f"training.distribute={distribute_}",
        *MODES[mode],
        *extra,
    ]


def _single(config: Path, mode: str, cwd: Path) -> Path:
    """The one-device reference run (training.distribute: none, the same global batch)."""
    cwd.mkdir()
    res = subprocess.run(
        _cmd(config, "none", mode, "-q"), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    return cwd / "out"


def _assert_same_training(reference: Path, run: Path) -> None:
    a = keras.saving.load_model(reference / "model.keras")
    b = keras.saving.load_model(run / "model.keras")
    assert tuple(a.inputs[0].shape) == tuple(b.inputs[0].shape)  # a stateful model keeps the whole batch
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wb, wa, atol=ATOL, rtol=0)
    ha = [r.split(",")[:3] for r in (reference / "history.csv").read_text().splitlines()[1:]]
    hb = [r.split(",")[:3] for r in (run / "history.csv").read_text().splitlines()[1:]]
    assert len(ha) == len(hb) == 2
    np.testing.assert_allclose(np.array(hb, float), np.array(ha, float), atol=ATOL, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_mirrored_over_two_logical_cpus_matches_one_device(tmp_path: Path, mode: str) -> None:
    config = write_config(tmp_path)
    reference = _single(config, mode, tmp_path / "single")
    (tmp_path / "mirrored").mkdir()
    res = subprocess.run(
        _cmd(config, "mirrored", mode),
        cwd=tmp_path / "mirrored",
        env=_env(SEQCAST_LOGICAL_CPUS="2"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "training.distribute mirrored: 2 replicas" in res.stderr  # really two devices
    assert sorted(p.name for p in (tmp_path / "mirrored" / "out").iterdir()) == sorted([*RUN_FILES, MARKER])
    _assert_same_training(reference, tmp_path / "mirrored" / "out")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _cluster(
    config: Path, mode: str, folder: Path, *extra: str
) -> tuple[list[subprocess.Popen[bytes]], list[str], list[Path]]:
    """Two workers of one multi_worker cluster on free local ports, each in its own folder; (processes, logs, dirs)."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    dirs = [folder / "chief", folder / "worker"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for index, cwd in enumerate(dirs):
            cwd.mkdir(parents=True)
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            env = _env(TF_CONFIG=tf_config, SEQCAST_CLUSTER_TIMEOUT="120")
            with (folder / f"log{index}.txt").open("wb") as log:  # a file: a full pipe would block the process
                procs.append(
                    subprocess.Popen(
                        _cmd(config, "multi_worker", mode, "-q", *extra), cwd=cwd, env=env, stdout=log, stderr=log
                    )
                )
        deadline = time.monotonic() + 300
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return procs, [(folder / f"log{i}.txt").read_text() for i in range(2)], dirs


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_multi_worker_two_processes_chief_writes_and_matches_one_device(tmp_path: Path, mode: str) -> None:
    config = write_config(tmp_path)
    reference = _single(config, mode, tmp_path / "single")
    for attempt in range(3):  # a port found free may be taken by another process before a worker binds it
        procs, logs, dirs = _cluster(config, mode, tmp_path / f"try{attempt}")
        if not any("address already in use" in log.lower() for log in logs):
            break
    assert [p.returncode for p in procs] == [0, 0], logs
    chief, worker = dirs
    assert sorted(p.name for p in (chief / "out").iterdir()) == sorted([*RUN_FILES, MARKER])
    assert (chief / "runs" / "latest").resolve() == (chief / "out").resolve()
    assert not [p.name for p in chief.iterdir() if p.name.startswith(".")], "no checkpoint or staging left"
    assert list(worker.iterdir()) == [], "the worker writes no run directory, checkpoint or runs/latest"
    _assert_same_training(reference, chief / "out")


@pytest.mark.slow
def test_multi_worker_trains_an_ensemble_and_its_refits_in_step_with_one_device(tmp_path: Path) -> None:
    """Every fit of the chief (two members, each refit on train + val) has its twin on the worker."""
    config = write_config(tmp_path)
    extra = ("--set", "model.ensemble=2", "--set", "training.refit=true")
    (tmp_path / "single").mkdir()
    res = subprocess.run(
        _cmd(config, "none", "lookback", "-q", *extra), cwd=tmp_path / "single", env=_env(), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    reference = tmp_path / "single" / "out"
    for attempt in range(3):
        procs, logs, dirs = _cluster(config, "lookback", tmp_path / f"try{attempt}", *extra)
        if not any("address already in use" in log.lower() for log in logs):
            break
    assert [p.returncode for p in procs] == [0, 0], logs
    run = dirs[0] / "out"
    refit = json.loads((reference / "preprocess.json").read_text())["refit"]
    assert refit["epochs"] == [2, 2] and json.loads((run / "preprocess.json").read_text())["refit"] == refit
    a, b = (keras.saving.load_model(r / "model.keras") for r in (reference, run))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wb, wa, atol=ATOL, rtol=0)


def test_multi_worker_without_tf_config_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    config = write_config(tmp_path)
    res = CliRunner().invoke(app, ["train", str(config), "-q", "--set", "training.distribute=multi_worker"])
    assert res.exit_code == 2
    assert "training.distribute" in res.stderr and "TF_CONFIG" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_chief_and_bad_tf_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(write_config(tmp_path), ["training.distribute=multi_worker"])
    two = ["127.0.0.1:1", "127.0.0.1:2"]

    def tf_config(cluster: dict[str, Any], kind: str, index: int) -> None:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}}))

    tf_config({"worker": two}, "worker", 0)
    assert distribute.is_chief(cfg)
    tf_config({"worker": two}, "worker", 1)
    assert not distribute.is_chief(cfg)
    tf_config({"chief": two[:1], "worker": two[1:]}, "worker", 0)
    assert not distribute.is_chief(cfg)  # a named chief writes, not worker 0
    tf_config({"chief": two[:1], "worker": two[1:]}, "chief", 0)
    assert distribute.is_chief(cfg)
    assert distribute.is_chief(load_config(write_config(tmp_path)))  # distribute none: always

    for bad in ["{not json", json.dumps({"task": {"type": "worker", "index": 0}})]:
        monkeypatch.setenv("TF_CONFIG", bad)
        with pytest.raises(ConfigError) as err:
            distribute.check(cfg)
        assert err.value.where == "training.distribute"
    tf_config({"worker": two}, "worker", 2)
    with pytest.raises(ConfigError, match="not in the cluster"):
        distribute.check(cfg)
    tf_config({"worker": two, "ps": two}, "ps", 0)
    with pytest.raises(ConfigError, match="only 'chief' and 'worker'"):
        distribute.check(cfg)
    monkeypatch.setenv("TF_CONFIG", "{not json")  # mirrored: TensorFlow's MirroredStrategy reads it too
    with pytest.raises(ConfigError, match="the TF_CONFIG environment variable is not valid JSON"):
        distribute.check(load_config(write_config(tmp_path), ["training.distribute=mirrored"]))
    distribute.check(load_config(write_config(tmp_path)))  # distribute none reads no TF_CONFIG
    monkeypatch.delenv("TF_CONFIG")
    distribute.check(load_config(write_config(tmp_path), ["training.distribute=mirrored"]))  # none set: fine


def test_stateful_rows_must_split_evenly_over_replicas(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path), ["windows.mode=stateful"])
    assert distribute.replica_rows(cfg, 4, 2) == 2
    assert distribute.replica_rows(cfg, 4, 1) == 4
    with pytest.raises(ConfigError) as err:
        distribute.replica_rows(cfg, 6, 4)
    assert err.value.where == "training.distribute"
    assert "each row continues itself" in err.value.message


@pytest.mark.slow
def test_mirrored_with_a_batch_smaller_than_its_replicas_is_refused_naming_the_key(tmp_path: Path) -> None:
    """Look-back windows: a replica without a sample of the batch failed deep in Keras (input shapes [0, 256])."""
    config = write_config(tmp_path)
    (tmp_path / "mirrored").mkdir()
    res = subprocess.run(
        _cmd(config, "mirrored", "lookback", "--set", "training.batch_size=1"),
        cwd=tmp_path / "mirrored", env=_env(SEQCAST_LOGICAL_CPUS="2"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    said = " ".join(res.stderr.split())
    assert (
        "error: --set: training.batch_size: training.batch_size=1 is smaller than the 2 replicas of "
        "training.distribute: mirrored, and each replica needs a share of every batch"
    ) in said, said
    assert not (tmp_path / "mirrored" / "out").exists()


@pytest.mark.slow
def test_a_multi_worker_task_whose_peers_never_start_gives_up_after_the_timeout(tmp_path: Path) -> None:
    """TensorFlow waits for them in C++ holding the GIL, past its own registration timeout, deaf to Ctrl-C: the
    watchdog ends the task with one message after SEQCAST_CLUSTER_TIMEOUT, before anything is written."""
    import socket
    import time

    config = write_config(tmp_path)
    with socket.socket() as a, socket.socket() as b:  # two free ports, let go of before the task binds one
        a.bind(("localhost", 0))
        b.bind(("localhost", 0))
        ports = [a.getsockname()[1], b.getsockname()[1]]
    cluster = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": 0}}
    (tmp_path / "w0").mkdir()
    t0 = time.monotonic()
    res = subprocess.run(
        _cmd(config, "multi_worker", "lookback"), cwd=tmp_path / "w0", capture_output=True, text=True, timeout=240,
        env=_env(TF_CONFIG=json.dumps(cluster), SEQCAST_CLUSTER_TIMEOUT="3"),
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    said = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert said == [
        "error: training.distribute: multi_worker: the cluster of TF_CONFIG did not come together within 3 s (no "
        "answer from the other tasks)"
    ], res.stderr
    assert time.monotonic() - t0 < 120  # not TensorFlow's hour
    assert sorted(p.name for p in (tmp_path / "w0").iterdir()) == []  # nothing written: no run, lock or checkpoint


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP], ids=["SIGINT", "SIGHUP"])
def test_a_multi_worker_task_waiting_for_its_peers_stops_at_a_signal(tmp_path: Path, sig: int) -> None:
    """TensorFlow's wait for the cluster holds the GIL, so no Python handler runs: a Ctrl-C or a closed terminal
    there ends the task at once as the signal's default does (it was ignored until SEQCAST_CLUSTER_TIMEOUT), its
    watchdog saying why, and nothing is written. (SIGTERM is TensorFlow's there: its preemption notifier.)"""
    config = write_config(tmp_path)
    with socket.socket() as a, socket.socket() as b:
        a.bind(("localhost", 0))
        b.bind(("localhost", 0))
        ports = [a.getsockname()[1], b.getsockname()[1]]
    cluster = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": 0}}
    (tmp_path / "w0").mkdir()
    proc = subprocess.Popen(
        _cmd(config, "multi_worker", "lookback"), cwd=tmp_path / "w0", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_env(TF_CONFIG=json.dumps(cluster), SEQCAST_CLUSTER_TIMEOUT="600"),
    )  # fmt: skip
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")

    def watching() -> bool:  # the wait began: the watchdog child runs (not any child of the task's), and the
        status = Path(f"/proc/{proc.pid}/status").read_text()  # task no longer catches the signal (SigCgt: its
        caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)  # handlers)
        if caught & (1 << (sig - 1)):  # a fixed sleep after the child appeared was once too short on a busy machine
            return False
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):
                if b"select.select" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return True
        return False

    deadline = time.monotonic() + 120
    try:
        while not watching() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watching(), "the task never began to wait for its cluster with the signal's default action"
        time.sleep(1.0)  # into TensorFlow's wait
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -sig, err  # the shell's 130 (Ctrl-C) or 143
    assert time.monotonic() - t0 < 30  # not the 600 s of the timeout
    said = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert said == [
        "error: interrupted while this task waited for the other tasks of TF_CONFIG; nothing was written"
    ], err
    assert sorted(p.name for p in (tmp_path / "w0").iterdir()) == []


def test_the_cluster_watchdog_changes_only_the_command_line_s_handlers_and_runs_in_any_thread() -> None:
    """A notebook's own Ctrl-C handler is left as it is (the default action would end its kernel); the command
    line's (errors.on_signal) take their default action during the wait and are put back after it; and a train
    called from another thread, where signal handlers cannot be set, waits all the same."""
    import threading

    from seqcast import distribute, errors

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not sent")

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, mine)
    signal.signal(signal.SIGTERM, errors.on_signal)
    try:
        with distribute._watchdog(60):
            assert signal.getsignal(signal.SIGINT) is mine
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGTERM) is errors.on_signal
        failed: list[BaseException] = []

        def elsewhere() -> None:
            try:
                with distribute._watchdog(60):
                    pass
            except BaseException as exc:  # (a ValueError: signal only works in main thread)
                failed.append(exc)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert failed == []
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
