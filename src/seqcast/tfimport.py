"""Import TensorFlow and Keras once, without the C++ start-up chatter on stderr.

TensorFlow's native code prints CUDA probing messages straight to file descriptor 2 before
its log level applies; a CPU user needs none of them. `seqcast --debug` keeps them.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def import_tf(quiet: bool = True) -> Any:
    """The tensorflow module, imported with native stderr output silenced (unless quiet=False)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not quiet:
        import tensorflow as tf

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
    return tf
