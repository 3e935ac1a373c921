"""The command line: load the config, call one library function, render the result.

TensorFlow is imported only inside the commands that need it (train, forecast, evaluate).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from seqcast import __version__, files
from seqcast.errors import STOP_SIGNALS, ConfigError, SeqcastError, quiet_unraisable
from seqcast.files import write_stdout
from seqcast.helptext import Group, command_options

app = typer.Typer(
    cls=Group,
    name="seqcast",
    help="Forecast time series from CSV files with Keras recurrent networks (LSTM, GRU, SimpleRNN).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False, "process": False}  # process: the seqcast command, not a caller in process (main)
T = TypeVar("T")

ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML config file.", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a config key, value parsed as YAML; repeat for more: --set model.units=[64,32].",
    ),
]


def _set_debug(value: bool) -> bool:
    if value:  # `seqcast train CONFIG --debug` as well as `seqcast --debug train CONFIG`
        _state["debug"] = True
    return value


DebugOpt = Annotated[bool, typer.Option("--debug", callback=_set_debug, help="Show tracebacks for errors.")]
RunOpt = Annotated[Path | None, typer.Option("--run", metavar="DIR", help="Run directory. Default: runs/latest.")]
HORIZON_HELP = "Steps per backtest origin. Default: the run's evaluate.horizon; another H leaves metrics.json as it is."


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug


def debug_enabled() -> bool:
    """Was --debug given (tracebacks, TensorFlow's own logs)?"""
    return _state["debug"]


def ignore_stops(signals: Iterable[int]) -> None:
    """Ignore these stop signals: while a command says why it stops, and after it has (main)."""
    for sig in signals:
        signal.signal(sig, signal.SIG_IGN)


def guarded(fn: Callable[[], T], overrides: list[str] | None = None) -> T:
    """Run fn; a SeqcastError becomes one message on stderr and its exit code. A config error filed under a key
    that --set gave (`overrides`) says --set: it may arise long after the config was read (a column, a size)."""

    from seqcast import console, errors

    errors._signalled.clear()
    errors.committed.clear()
    held = threading.current_thread() is threading.main_thread()  # signal handlers belong to the main thread
    saved = {sig: signal.signal(sig, errors.on_signal) for sig in errors.STOP_SIGNALS} if held else {}
    try:
        try:
            result = fn()
            errors.check_interrupted()  # a Ctrl-C whose KeyboardInterrupt a __del__ swallowed (quiet_unraisable)
            return result
        except Exception as exc:  # a library that turned a signal's KeyboardInterrupt into its own error: interrupted
            if errors._signalled and not isinstance(exc, SeqcastError):
                raise KeyboardInterrupt from None
            if (usage := errors.known(exc)) is not exc:  # a path too long: a usage error, not an unexpected one
                raise usage from None
            raise
    except SeqcastError as exc:
        from seqcast.config import set_gave

        ignore_stops(saved)  # the command stops: more signals (a held Ctrl-C) would only cut its message short
        if isinstance(exc, ConfigError) and exc.where and set_gave(exc.where, overrides or []):
            exc.where = f"--set: {exc.where}"
        if _state["debug"]:  # the traceback, then the same message and exit code as without --debug
            traceback.print_exc()
        console.error(console.safe(exc.render()))  # file names and cell values are text, never rich markup
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ignore_stops(saved)
        done = errors.committed  # written whole before the signal: they stay, and the user should know
        console.error(  # a failed command changes nothing that was there before: said, so that no one checks by hand
            f"interrupted after writing {console.safe(', '.join(done))} (complete)"
            if done
            else "interrupted; nothing that was there before has changed"
        )
        raise typer.Exit(130) from None
    except BrokenPipeError:  # the reader went away (seqcast evaluate --json | head): nothing is wrong, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes stdout
        raise typer.Exit(0) from None
    except Exception as exc:  # an unexpected fault: still one message, traceback with --debug
        ignore_stops(saved)
        if _state["debug"]:
            traceback.print_exc()
            console.error(console.safe(f"{type(exc).__name__}: {exc}"))
            raise typer.Exit(1) from None
        console.error(console.safe(f"{type(exc).__name__}: {exc}") + "\n  (run with --debug for the traceback)")
        raise typer.Exit(1) from None
    finally:  # the handlers put back for an in-process caller (tests); the process ends ignoring them (main)
        for sig, handler in saved.items():
            signal.signal(sig, signal.SIG_IGN if _state["process"] else handler)
        errors._signalled.clear()  # a command run in process after this one (tests, a library user) starts afresh
        errors.committed.clear()


@app.command("window-preview", **command_options("window-preview"))
def window_preview(
    config: ConfigArg,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="K",
            help="Rows of the layout to show, and series of the split table. Default: 12; --json in stateful mode: "
            "every row of the training part.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout (docs/reference.md).")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Also draw the layout into this image (.png, .svg, .pdf or .jpg)."),
    ] = None,
    overrides: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show which rows become which samples, batches, streams and targets, and every tensor's shape."""

    from seqcast import console
    from seqcast.config import load_config
    from seqcast.layout import plan
    from seqcast.plot import plot_preview
    from seqcast.preview import preview_doc, text_lines, train_refusals

    def go() -> None:
        if limit is not None and limit < 0:  # checked here, not by Click: its range shows in --help as [x>=0]
            raise ConfigError(f"must be 0 or more rows, got {limit}", where="--limit")
        cfg = load_config(config, overrides or [])
        shown_rows = 12 if limit is None else limit
        rows = None if limit is None and as_json and cfg.stateful else shown_rows  # stateful JSON: every row
        if plot is not None:
            files.check_output(plot, "--plot", {"the data (data.path)": cfg.data.path, "the config": config})
        with console.busy(f"reading {Path(cfg.data.path).name}"):  # seconds for millions of rows
            p = plan(cfg)
        doc = preview_doc(p, limit=rows)
        doc["notes"] = [*doc["notes"], *train_refusals(p)]  # what train would refuse here, with the data's notes
        before = files.existing(plot)
        if plot is not None:  # first: a plot that cannot be written fails the command before anything is printed
            with files.together():  # an interrupt after it names it
                drawn = plot_preview(p, str(plot), limit=None)
        console.notes(doc["notes"])  # stderr, with --json too
        if as_json:
            write_stdout(json.dumps(doc) + "\n")
        else:
            shown = doc | {"series": doc["series"][:shown_rows]}  # thousands of series: the first --limit
            for table in console.preview_tables(console.plain(shown), total_series=len(doc["series"])):
                console.out.print(table)
            for line in text_lines(doc):
                console.out.print(console.safe(line))
        if plot is not None:  # with --json on stderr, as evaluate's
            more = f" (the first {drawn} of {len(p.ds.series)} series)" if drawn < len(p.ds.series) else ""
            said = console.safe(f"layout drawn to {plot}{more}{console.replacing(plot, before)}")
            (console.err if as_json else console.out).print(said)

    guarded(go, overrides)


@app.command("train", **command_options("train"))
def train(
    config: ConfigArg,
    overrides: SetOpt = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", metavar="DIR", help="Run directory (overrides output.dir).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a non-empty run directory once the new run is complete.")
    ] = False,
    resume: Annotated[
        Path | None, typer.Option("--resume", metavar="DIR", help="Continue an interrupted run from its checkpoint.")
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress, header or tables: warnings, and the run directory's path."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run directory and its metrics as one JSON document on stdout.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Load the CSV, build windows or stateful batches, train, evaluate, write a run directory."""
    from seqcast.config import load_config

    def go() -> None:
        cfg = load_config(config, overrides or [])
        import shlex

        from seqcast import console, report, rundir
        from seqcast.pipeline import Hooks, train_run

        given = ["seqcast", "train", str(config)] + [w for o in overrides or [] for w in ("--set", o)]
        rundir.TRAIN_COMMAND.set(shlex.join(given))  # a resume hint repeats the config and its --set options

        hooks = Hooks(note=console.note)
        if not quiet:
            hooks.info = console.note
            hooks.prepared = lambda prep: console.train_header(prep, to_stderr=as_json)
            hooks.progress = console.epoch_progress
            hooks.busy = console.busy
        result = train_run(
            cfg,
            config_path=config,
            output_dir=output_dir,
            overwrite=overwrite,
            resume=resume,
            hooks=hooks,
            debug=debug_enabled(),
        )
        if not result.chief:
            return
        if as_json:
            doc = {"run_dir": str(result.run_dir), "epochs": len(result.rows), "seconds": result.seconds}
            doc |= {"refit": result.refit} if result.refit else {}
            write_stdout(files.strict_json(doc | {"metrics": result.metrics}) + "\n")
        elif quiet:
            write_stdout(f"{result.run_dir}\n")  # for a script: RUN=$(seqcast train CONFIG -q)
        else:
            try:
                last = result.prep.cfg.training.early_stopping.patience is None  # the last epoch's weights are kept
                report.train_summary(result.rows, result.seconds, result.run_dir, result.metrics, result.refit, last)
            except Exception as exc:  # a display fault must not fail a written run
                console.note(f"the run is complete in {result.run_dir}, but its summary could not be shown: {exc}")
        console.notes(result.closing)  # what to make of the scores, last (stderr, with --json and --quiet too)

    guarded(lambda: contextvars.copy_context().run(go), overrides)  # TRAIN_COMMAND is this command's only


@app.command("forecast", **command_options("forecast"))
def forecast(
    steps: Annotated[int, typer.Option("--steps", metavar="N", help="Steps to forecast for every series.")],
    run: RunOpt = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", metavar="CSV", help="History to forecast from (default: the state the run keeps)."),
    ] = None,
    future: Annotated[
        Path | None, typer.Option("--future", metavar="CSV", help="CSV with future values of data.features.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write the forecast to this .csv (.txt, no suffix) or .parquet (.pq) file (- for stdout).",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", metavar="FILE", help="Draw history and forecast into this image (.png, .svg, .pdf or .jpg)."
        ),
    ] = None,
    interval: Annotated[
        list[float] | None,  # read as numbers, so that 80.5 is refused in the words 49 is
        typer.Option(
            "--interval",
            metavar="LEVEL",
            help="Add a conformal prediction interval at LEVEL % (50-99; repeat for more): <target>_lo_LEVEL, "
            "<target>_hi_LEVEL.",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Autoregressive N-step forecast for every series, from the end of its history."""

    def go() -> None:
        if steps <= 0:
            raise ConfigError(f"must be a positive number of steps, got {steps}", where="--steps")
        from seqcast import console, history
        from seqcast import forecast as fc
        from seqcast import plot as plots
        from seqcast.levels import range_notes
        from seqcast.run import load_run
        from seqcast.table import write_table

        if steps > fc.MAX_STEPS:  # before reading anything
            fc.check_steps(steps, 1)
        r = load_run(run)
        to_stdout = output is not None and str(output) == "-"
        given = {"the training data (data.path)": r.cfg.data.path, "the --data file": data, "the --future file": future}
        owned = {what: path for what, path in given.items() if path is not None}
        table = None if to_stdout else output
        if table is not None:
            files.check_output(table, "--output", owned)
        if plot is not None:
            files.check_output(plot, "--plot", owned, {"--output": table} if table is not None else None)
        levels = sorted(set(interval or []))  # checked as whole percentages by the forecast
        with console.busy(f"forecasting {steps:,} step{'s' if steps != 1 else ''}"):
            frame, ds, pred, bands = fc.forecast(r, steps, data, future, levels)
        warm = history.warm_notes(r, ds) if data is not None else []  # a stateful model's states from few rows
        console.notes([*ds.notes, *fc.gap_notes(r, ds), *warm, *range_notes(r, ds)])
        drawn, before = 0, files.existing(table, plot)
        writing = " and ".join(f"the {w}" for w, p in (("table", table), ("plot", plot)) if p is not None)
        why = None  # seconds for a table of millions of rows, or a plot that reads the data file for its history
        with files.together(), console.busy(f"writing {writing}") if writing else contextlib.nullcontext():
            if table is not None:  # the table and the plot are replaced together or not at all
                write_table(frame, table)
            if plot is not None:  # from state.npz: the plot's history before its rows comes from the data file
                shown, why = history.plot_history(r, ds, plots.HISTORY) if data is None else (ds, None)
                drawn = plots.plot_forecast(r, shown, history.future_times(r, ds, steps), pred, plot, bands=bands)
        if why:
            console.note(why)
        if to_stdout:
            write_stdout(frame.to_csv())
        console.forecast_table(frame, steps, output, plot, drawn, to_stderr=to_stdout, replaced=before)

    guarded(go)


@app.command("evaluate", **command_options("evaluate"))
def evaluate(
    run: RunOpt = None,
    horizon: Annotated[int | None, typer.Option("--horizon", metavar="H", help=HORIZON_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Draw each origin's forecast and intervals into this image (.png, .svg, .pdf, .jpg).",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Rolling-origin backtest on the test split: model vs naive and seasonal-naive baselines, intervals' coverage."""

    def go() -> None:
        if horizon is not None and horizon <= 0:
            raise ConfigError(f"must be a positive number of steps, got {horizon}", where="--horizon")
        from seqcast import console, report, rundir
        from seqcast.evaluate import evaluate as backtest

        draw = None
        if plot is not None:  # drawn from what the backtest kept, before metrics.json is written
            from seqcast.plot import plot_backtest
            from seqcast.run import run_config

            data_path = run_config(rundir.resolve_run(run)).data.path
            files.check_output(plot, "--plot", {"the training data (data.path)": data_path})  # before the backtest

            def draw(opened: Any, ds: Any, kept: dict[str, Any]) -> int:
                return plot_backtest(opened, ds, kept, path=plot)

        before = files.existing(plot)
        with console.busy("backtest on the test part"):  # seconds on a long series
            doc, _, drawn, notes = backtest(run, horizon, draw)
        console.notes(notes)  # stderr, with --json too
        if as_json:
            write_stdout(files.strict_json(doc) + "\n")
        else:
            report.metrics_table(doc, by_series=True)
        if plot is not None:
            console.plot_written(plot, *drawn, to_stderr=as_json, replaced=before)

    guarded(go)


@app.command("update", **command_options("update"))
def update(
    data: Annotated[Path, typer.Option("--data", metavar="CSV", help="New rows (older rows of a series are skipped).")],
    run: RunOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Advance the run's saved state (state.npz) over new rows, without retraining."""

    def go() -> None:
        from seqcast import console
        from seqcast.update import update as advance

        with console.busy(f"reading {data.name}"):
            doc = advance(run, data)
        console.notes(doc.get("notes", []))  # stderr, with --json too
        if as_json:
            write_stdout(files.strict_json(doc) + "\n")
        else:
            console.update_table(doc)

    guarded(go)


def main() -> Any:
    """The `seqcast` entry point."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # its plugin lookup in every package: ~30 ms
    sys.unraisablehook = quiet_unraisable(sys.unraisablehook)  # a signal in TensorFlow's __del__: no traceback
    _state["process"] = True
    try:
        return app()
    except OSError as exc:  # --help or --version into a full disk (the commands' own output is guarded)
        sys.stderr.write(f"error: stdout: cannot write: {exc.strerror or exc}\n")
        raise SystemExit(1) from None
    except SystemExit:  # the command has ended and said why: a Ctrl-C or SIGTERM as TensorFlow shuts down changes
        ignore_stops(STOP_SIGNALS)  # nothing (success stays 0; a held Ctrl-C printed dozens of messages, or hung)
        raise
