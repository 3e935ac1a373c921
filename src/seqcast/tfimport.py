"""Import TensorFlow and Keras once, without the C++ start-up chatter on stderr.

TensorFlow's native code prints CUDA probing messages straight to file descriptor 2 before
its log level applies, and its Python logger warns about expected retracing; a CPU user needs none
of them. `seqcast --debug` keeps them.

SEQCAST_LOGICAL_CPUS=N splits the CPU into N logical devices (for training.distribute: mirrored on a
machine without GPUs, and its tests); it must apply before TensorFlow initialises its devices.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from seqcast.errors import check_interrupted


def import_tf(quiet: bool = True) -> Any:
    """The tensorflow module, imported with native stderr output silenced (unless quiet=False)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not quiet:
        import tensorflow as tf

        _logical_cpus(tf)
        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()  # device probing prints here too
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    check_interrupted()  # a Ctrl-C that the import swallowed
    # Python-side warnings too (e.g. "triggered tf.function retracing" when transform: auto trains several
    # candidate models one after another: each is a new model, so tracing again is expected).
    tf.get_logger().setLevel("ERROR")
    _logical_cpus(tf)
    return tf


def _logical_cpus(tf: Any) -> None:
    """Honour SEQCAST_LOGICAL_CPUS=N: N logical CPU devices (a no-op once devices are initialised)."""
    raw = os.environ.get("SEQCAST_LOGICAL_CPUS", "").strip()
    n = int(raw) if raw.isdigit() else 0
    if n > 1:
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
        except RuntimeError:  # devices already initialised in this process
            pass
