"""training.distribute: none | mirrored | multi_worker, and what a training loop needs to run under it.

- none: the default strategy, tf.distribute.get_strategy() (one device, no copies).
- mirrored: tf.distribute.MirroredStrategy over this machine's GPUs, or its (logical) CPUs when it has none.
- multi_worker: tf.distribute.MultiWorkerMirroredStrategy; the cluster and this process's task come from the
  standard TF_CONFIG environment variable. The same `seqcast train CONFIG` runs on every worker; the chief
  (task "chief", or worker 0 when the cluster has no chief) alone writes the run directory and checkpoint.

The batch (training.batch_size in look-back mode, series x streams in stateful mode) is the GLOBAL batch:
every step, each of the R replicas takes its own part of it, the loss is averaged over the global batch
and the gradients are summed over the replicas, so R replicas train like one device with that batch.

Stateful mode: replica i owns the fixed, contiguous rows [i * B/R, (i + 1) * B/R) of every batch, and every
recurrent state variable is created per replica (tf.VariableSynchronization.ON_READ) with B/R rows, so
row r of batch k+1 still continues row r of batch k on the replica that holds it. B must divide by R.

Keras is imported inside the functions; TensorFlow only when a strategy is asked for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from typing import Any

from seqcast.config import Config
from seqcast.errors import ConfigError, DataError

KEY = "training.distribute"
_strategies: dict[str, Any] = {}


def tf_config() -> dict[str, Any] | None:
    """The parsed TF_CONFIG environment variable, or None when it is not set."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the TF_CONFIG environment variable is not valid JSON ({exc})", where=KEY) from None
    if not isinstance(doc, dict):
        raise ConfigError("the TF_CONFIG environment variable must be a JSON object", where=KEY)
    return doc


def check(cfg: Config) -> None:
    """Refuse a multi_worker run without a usable TF_CONFIG (exit 2), before any data is read; and a mirrored run
    with a TF_CONFIG that is not JSON (TensorFlow's MirroredStrategy reads it too, and failed on it)."""
    if cfg.training.distribute == "mirrored":
        tf_config()
    if cfg.training.distribute != "multi_worker":
        return
    doc = tf_config()
    example = (
        'for example TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\' on the first host and index 1 on the second'
    )
    if doc is None:
        raise ConfigError(
            "multi_worker needs the cluster in the TF_CONFIG environment variable", where=KEY, hint=example
        )
    cluster, task = doc.get("cluster"), doc.get("task")
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise ConfigError("TF_CONFIG needs a 'cluster' and a 'task' entry", where=KEY, hint=example)
    kind, index = task.get("type"), task.get("index", 0)
    if kind not in ("chief", "worker"):
        raise ConfigError(f"TF_CONFIG task type {kind!r}: seqcast runs only 'chief' and 'worker' tasks", where=KEY)
    hosts = cluster.get(kind)
    if not isinstance(hosts, list) or not isinstance(index, int) or not 0 <= index < len(hosts):
        raise ConfigError(f"TF_CONFIG task {kind} {index} is not in the cluster's {kind} list", where=KEY)


def is_chief(cfg: Config) -> bool:
    """Whether this process writes the run directory: always, except a non-chief multi_worker task."""
    if cfg.training.distribute != "multi_worker":
        return True
    check(cfg)
    doc = tf_config()
    assert doc is not None
    task, cluster = doc["task"], doc["cluster"]
    if task["type"] == "chief":
        return True
    return "chief" not in cluster and int(task.get("index", 0)) == 0


def task_name() -> str:
    """'worker 1' for TF_CONFIG's task (for messages)."""
    doc = tf_config() or {}
    task = doc.get("task") or {}
    return f"{task.get('type', 'worker')} {task.get('index', 0)}"


def get_strategy(cfg: Config) -> Any:
    """The tf.distribute strategy for training.distribute (one per kind and process).

    multi_worker must be created before TensorFlow runs any op in the process; fit() asks for it first.
    """
    import tensorflow as tf

    kind = cfg.training.distribute
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind not in _strategies:
        if kind == "mirrored":
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _strategies[kind] = tf.distribute.MirroredStrategy([d.name for d in devices])
        else:
            check(cfg)
            timeout = cluster_timeout()
            _limit_cluster_wait(tf, timeout)
            with _watchdog(timeout):
                try:
                    _strategies[kind] = tf.distribute.MultiWorkerMirroredStrategy()
                except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as exc:
                    raise _no_cluster(timeout, _reason(exc)) from exc
    return _strategies[kind]


def _no_cluster(timeout: int, why: str) -> DataError:
    return DataError(
        f"multi_worker: the cluster of TF_CONFIG did not come together within {timeout} s ({why})",
        where=KEY,
        hint="start the same `seqcast train CONFIG` on every host of TF_CONFIG's cluster; if the chief "
        "refused the run (see its messages), fix that first. SEQCAST_CLUSTER_TIMEOUT sets the wait",
    )


# The watchdog's child: it waits `timeout` seconds for the task's pipe to close, deaf to the stop signals (a Ctrl-C
# reaches the whole process group), then says why the task ends: the wait outlasted (argv 2), or the task is gone
# (argv 3: a signal ended it). On a terminal it first clears the spinner's line and shows the cursor it hid.
_WATCH = """\
import os, select, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
    signal.signal(s, signal.SIG_IGN)
gone = select.select([0], [], [], float(sys.argv[1]))[0]
sys.stderr.write(("\\r\\x1b[2K\\x1b[?25h" if os.isatty(2) else "") + sys.argv[3 if gone else 2] + "\\n")
"""


@contextlib.contextmanager
def _watchdog(timeout: int) -> Iterator[None]:
    """End the process (exit 1, the error on stderr) when the block outlasts `timeout` seconds, and let a Ctrl-C,
    SIGTERM or SIGHUP end it at once. TensorFlow's wait for a peer that never starts (context.ensure_initialized)
    holds the GIL in C++, past the coordination service's registration timeout: no Python thread or signal
    handler runs. So the command line's stop signals take their default action meanwhile (the process ends as the
    signal's: exit 130 on a Ctrl-C, 129 on SIGHUP), the message comes from a child process that outlives the task's pipe
    (its stderr is ours), and the timeout's exit from faulthandler's watchdog, a C thread, a second after the
    child's message. train asks for the strategy before anything is written (pipeline.train): nothing is left."""
    import faulthandler
    import signal
    import subprocess
    import sys
    import threading

    from seqcast import errors

    said = "error: " + _no_cluster(timeout, "no answer from the other tasks").render()
    gone = "error: interrupted while this task waited for the other tasks of TF_CONFIG; nothing was written"
    read, write = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCH, str(timeout), said, gone],
            stdin=read, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        os.close(read)
    # only the command line's own handlers (a notebook's Ctrl-C must not end its kernel), in the main thread alone
    ours = [sig for sig in errors.STOP_SIGNALS if signal.getsignal(sig) is errors.on_signal]
    main = threading.current_thread() is threading.main_thread()
    saved = {sig: signal.signal(sig, signal.SIG_DFL) for sig in ours} if main else {}
    with open(os.devnull, "w") as nowhere:  # faulthandler's tracebacks: the message above says it all
        faulthandler.dump_traceback_later(timeout + 1, exit=True, file=nowhere)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            child.kill()  # before the pipe closes: its closing would say "interrupted"
            child.wait()
            os.close(write)


def cluster_timeout() -> int:
    """Seconds a multi_worker task waits for every other task to join: SEQCAST_CLUSTER_TIMEOUT, default 600."""
    raw = os.environ.get("SEQCAST_CLUSTER_TIMEOUT", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 600


def _limit_cluster_wait(tf: Any, seconds: int) -> None:
    """Bound the cluster registration of TensorFlow's coordination service (its default waits about an hour).

    While a task waits there, neither Ctrl-C nor SIGTERM reaches Python. This configures the service exactly
    as MultiWorkerMirroredStrategy would, plus the timeout; it uses TensorFlow internals, so when they are
    not there (another TensorFlow version) TensorFlow's own default applies.
    """
    try:
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
        from tensorflow.python.distribute import multi_worker_util
        from tensorflow.python.eager import context

        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        spec = resolver.cluster_spec()
        if context.context().coordination_service is not None or resolver.task_type not in ("chief", "worker"):
            return
        jobs = [
            coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
            for job in ("chief", "worker")
            if job in spec.jobs
        ]
        context.context().configure_coordination_service(
            service_type="standalone",
            service_leader=multi_worker_util.coordination_leader(spec),
            coordinated_jobs=jobs,
            cluster_register_timeout_in_ms=seconds * 1000,
        )
    except (ImportError, AttributeError, TypeError):
        return


def _reason(exc: Exception) -> str:
    """The informative line of a TensorFlow error message."""
    text = re.sub(r"\{\{[^}]*\}\}", "", str(getattr(exc, "message", exc)))  # {{function_node ...}} prefixes
    lines = [line.strip().rstrip(":") for line in text.splitlines() if line.strip()]
    for line in lines:
        if any(k in line for k in ("aborted", "is down", "Deadline", "Connection", "unavailable", "Unavailable")):
            return line
    return lines[0] if lines else type(exc).__name__


def lost_peer(exc: Exception, kept: str = "") -> DataError:
    """The error for a multi_worker step that failed because another task stopped or became unreachable."""
    return DataError(
        f"multi_worker: a task of the cluster stopped or became unreachable during training ({_reason(exc)}){kept}",
        where=KEY,
        hint="every task must run to the end; restart `seqcast train` on every host "
        "(add --resume with the chief's checkpoint, copied to every host, to continue from its last epoch)",
    )


def is_lost_peer(cfg: Config, exc: BaseException) -> bool:
    """Whether exc is TensorFlow reporting a failed peer (or aborted collectives) in a multi_worker run."""
    import tensorflow as tf

    kinds = (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.CancelledError,
        tf.errors.AbortedError,
    )
    return cfg.training.distribute == "multi_worker" and isinstance(exc, kinds)


def replica_rows(cfg: Config, batch: int, replicas: int) -> int:
    """Stateful mode: the rows (streams) each replica owns, batch / replicas; a ConfigError when uneven."""
    if batch % replicas:
        raise ConfigError(
            f"stateful mode: the batch of {batch} rows (series x windows.streams) cannot be split evenly over "
            f"{replicas} replicas; every replica must own a fixed block of rows so that each row continues itself",
            where=KEY,
            hint=f"choose windows.streams so that series x streams is a multiple of {replicas}, "
            "or set training.distribute: none",
        )
    return batch // replicas


@contextlib.contextmanager
def per_replica_states() -> Iterator[None]:
    """Enter inside strategy.scope(): recurrent state variables are then created per replica (ON_READ).

    A mirrored state would be one tensor forced equal on every replica; each replica's rows need their own.
    Reading one outside a replica (a checkpoint never does) gives replica 0's rows.
    """
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        yield  # the default strategy: plain variables
        return

    def creator(next_creator: Any, **kwargs: Any) -> Any:
        if kwargs.get("name") == "rnn_state" and not kwargs.get("trainable", True):
            kwargs["synchronization"] = tf.VariableSynchronization.ON_READ
            kwargs["aggregation"] = tf.VariableAggregation.ONLY_FIRST_REPLICA
        return next_creator(**kwargs)

    with tf.variable_creator_scope(creator):
        yield


def distribute_dataset(strategy: Any, dataset: Any) -> Any:
    """A tf.data dataset of global batches, split per step over the replicas (and workers) of strategy."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def replica_blocks(strategy: Any, *arrays: Any) -> tuple[Any, ...]:
    """Per-replica values: replica i gets the contiguous rows [i * n/R, (i + 1) * n/R) of each array."""
    out = []
    for a in arrays:

        def block(ctx: Any, a: Any = a) -> Any:
            rows = a.shape[0] // ctx.num_replicas_in_sync
            return a[ctx.replica_id_in_sync_group * rows : (ctx.replica_id_in_sync_group + 1) * rows]

        out.append(strategy.experimental_distribute_values_from_function(block))
    return tuple(out)
