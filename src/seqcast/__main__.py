"""The `seqcast` command (its console script) and `python -m seqcast`.

Loading the command line takes a moment (typer, rich, pydantic: ~0.2 s). A Ctrl-C, SIGTERM or SIGHUP in it exits 130
with one line, as it does once a command runs (cli.guarded), not with a traceback (Ctrl-C) or silently (SIGTERM: 143).
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def _interrupted(signum: int, frame: object) -> None:
    sys.stderr.write("error: interrupted; nothing that was there before has changed\n")
    raise SystemExit(130)


def main() -> Any:
    """The `seqcast` entry point: seqcast.cli.main, with the signals handled while it loads."""
    from seqcast.errors import STOP_SIGNALS  # (read before any handler is set: nohup's SIGHUP stays ignored)

    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupted)
    from seqcast.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    main()
