"""`seqcast window-preview` through the CLI: tables, the JSON document of SPEC.md, plots, errors, no TensorFlow."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from seqcast.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
WriteProject = Callable[..., Path]
IndexCsv = Callable[..., str]

runner = CliRunner()


def invoke(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def preview_json(*args: object) -> dict[str, Any]:
    res = invoke("window-preview", *args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # stdout holds one JSON document and nothing else


def assert_one_error(res: Result, code: int, message: str) -> None:
    """Exit `code`, one message on stderr containing `message`, nothing on stdout, no traceback."""
    assert res.exit_code == code, res.output
    assert res.stdout == ""
    assert res.stderr.startswith("error: ")
    assert res.stderr.count("error:") == 1
    assert message in " ".join(res.stderr.split())  # rich may wrap long lines
    assert "Traceback" not in res.output


def assert_stateful_rows(doc: dict[str, Any]) -> None:
    """Row r of batch b + 1 continues row r of batch b; every chunk and its targets lie in the training part."""
    batch = doc["batch_size"]
    train = {s["name"]: s["train"] for s in doc["series"]}
    rows = doc["rows"]
    for k, r in enumerate(rows):
        assert (r["batch"], r["row"]) == divmod(k, batch)
        lo, hi = train[r["series"]]
        assert lo <= r["start"] <= r["end"] <= hi and lo <= r["target_start"] and r["target_end"] <= hi
        # padded steps come first; the real rows fill the rest of the chunk (none: a chunk of padding only)
        assert r["end"] - r["start"] + r["padding"] == doc["x_shape"][1]
        if r["end"] > r["start"] and (r["padding"] == 0 or doc["y_shape"][1] != doc["x_shape"][1]):
            assert r["target_end"] - r["target_start"] == doc["y_shape"][1]
        if k >= batch:
            prev = rows[k - batch]
            assert (prev["series"], prev["stream"]) == (r["series"], r["stream"])
            assert r["start"] == prev["end"]


# ---------------------------------------------------------------- help


def test_help_lists_every_command() -> None:
    res = invoke("--help")
    assert res.exit_code == 0
    for command in ("window-preview", "train", "forecast", "evaluate", "update"):
        assert command in res.stdout


USAGE = {
    "window-preview": "Usage: seqcast window-preview [OPTIONS] CONFIG",
    "train": "Usage: seqcast train [OPTIONS] CONFIG",
    "forecast": "Usage: seqcast forecast [OPTIONS]",
    "evaluate": "Usage: seqcast evaluate [OPTIONS]",
    "update": "Usage: seqcast update [OPTIONS]",
}
METAVARS = {
    "window-preview": ["--limit K", "--plot FILE", "--set KEY=VALUE"],
    "train": ["--set KEY=VALUE", "--output-dir DIR", "--resume DIR"],
    "forecast": [
        "--steps N",
        "--run DIR",
        "--data CSV",
        "--future CSV",
        "--output FILE",
        "--plot FILE",
        "--interval LEVEL",
    ],
    "evaluate": ["--run DIR", "--horizon H"],
    "update": ["--data CSV", "--run DIR"],
}


@pytest.mark.parametrize("command", ["window-preview", "train", "forecast", "evaluate", "update"])
def test_every_command_has_help_with_real_metavars_and_an_example(command: str) -> None:
    res = invoke(command, "--help")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == USAGE[command]
    for option in METAVARS[command]:
        assert option in res.stdout, option
    assert "list[str]" not in res.stdout and "<int>" not in res.stdout and "{" not in res.stdout
    assert not re.search(r"[A-Z] <\w+>", res.stdout), res.stdout  # no type tag after a metavar: CONFIG <path>
    assert not re.search(r"\[x?[<>]=?", res.stdout), res.stdout  # nor Click's range tag: [x>=0]
    import typer.main

    example = typer.main.get_command(app).commands[command].epilog  # type: ignore[attr-defined]
    assert example.startswith(f"seqcast {command} ")
    assert f"\n  Example:\n    {example}\n" in res.stdout  # on one line, however narrow the terminal: to copy
    assert len(f"    {example}") <= 80  # and that line fits an 80-column terminal


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forecast", "--steps", "abc"], "Invalid value for '--steps': should be a whole number"),
        (["forecast", "--steps", "2", "--interval", "abc"], "Invalid value for '--interval': should be a number"),
        (["window-preview", "c.yaml", "--limit", "x"], "Invalid value for '--limit': should be a whole number"),
        (["window-preview", "c.yaml", "--limit", "-1"], "error: --limit: must be 0 or more rows, got -1"),
    ],
)
def test_an_option_value_of_the_wrong_kind_is_said_in_words(args: list[str], message: str) -> None:
    res = invoke(*args)
    assert res.exit_code == 2
    assert message in " ".join(res.output.split()), res.output  # not pydantic's 'Input should be a valid integer'


def test_the_command_list_is_in_a_runs_order_each_on_one_whole_line() -> None:
    """seqcast --help lists train, forecast, evaluate, update, window-preview, each summary whole (Click cut the
    first sentence of each docstring at 45 characters with '...'), and --set says it repeats."""
    res = invoke("--help")
    listed = res.stdout.split("Commands:")[1].split()
    names = [w for w in listed if w in ("train", "forecast", "evaluate", "update", "window-preview")]
    assert names == ["train", "forecast", "evaluate", "update", "window-preview"]
    assert "..." not in res.stdout.split("Commands:")[1]
    assert "repeat for more" in " ".join(invoke("train", "--help").stdout.split())


# ---------------------------------------------------------------- lookback mode


def test_table_output_mentions_shapes(write_project: WriteProject) -> None:
    cfg = write_project()
    res = invoke("window-preview", cfg)
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    # 40 yearly rows; train [0, 28); windows of 5 inputs + 1 target: starts 0..22
    title = "look-back windows of the training part (23 windows, 3 batches, shuffled each epoch); the first 12 of 23, "
    title += "before shuffling"  # --limit 12 by default, listed in the order before shuffling
    assert f"\n{title}\n" in res.stdout  # a line of its own, whole, though the table below is narrower
    assert max(len(line) for line in res.stdout.splitlines() if "┃ batch" in line) < len(title)
    assert "[0, 28)" in out and "[28, 32)" in out and "[32, 40)" in out
    assert "(8, 5, 1)" in out and "(8, 1, 1)" in out
    assert "layer 0 lstm h" in out and "layer 0 lstm c" in out and "(8, 4)" in out
    assert "[22, 27)" not in out  # --limit 12 by default: the last window is not listed
    assert "[11, 16)" in out and "2011..2015" in out


def test_a_layout_train_would_refuse_is_shown_with_a_note_saying_so(write_project: WriteProject) -> None:
    cfg = write_project(evaluate={"horizon": 9})  # 40 rows, the test part [32, 40): 8 rows
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["series"][0]["test"] == [32, 40]  # shown as it is, and said in the document's notes too
    assert [n for n in doc["notes"] if n.startswith("seqcast train would stop here: evaluate.horizon:")]
    said = " ".join(res.stderr.split())
    assert "seqcast train would stop here: evaluate.horizon: the test part of" in said, said
    assert "is shorter than evaluate.horizon=9 in every series (the longest has 8 rows)" in said
    fine = invoke("window-preview", write_project(evaluate={"horizon": 8}), "--json")
    assert fine.exit_code == 0 and "would stop" not in fine.stderr, fine.stderr


def test_json_lookback_follows_the_spec(write_project: WriteProject) -> None:
    doc = preview_json(write_project(), "--limit", 100)
    assert doc["mode"] == "lookback"
    assert doc["x_shape"] == [8, 5, 1] and doc["y_shape"] == [8, 1, 1]
    assert doc["batches"] == 3 and doc["windows"] == 23
    assert len(doc["rows"]) == 23
    for k, r in enumerate(doc["rows"]):
        assert r["batch"] == k // 8 and r["row"] == k % 8 and r["series"] == ""
        assert (r["start"], r["end"], r["target_start"], r["target_end"]) == (k, k + 5, k + 5, k + 6)
        assert (r["time_start"], r["time_end"]) == (str(2000 + k), str(2004 + k))
        assert r["target_end"] <= 28  # no training target from val or test
    assert doc["layers"] == [
        {"layer": 0, "cell": "lstm", "units": 4, "members": 1, "states": {"h": [8, 4], "c": [8, 4]}}
    ]
    assert doc["series"] == [
        {"name": "", "rows": 40, "train": [0, 28], "val": [28, 32], "test": [32, 40], "first": "2000", "last": "2039"}
    ]
    assert (doc["targets"], doc["features"], doc["frequency"], doc["notes"]) == (["y"], [], 1, [])


@pytest.mark.parametrize(
    ("positive", "transform", "season", "candidates", "first"),
    [
        (
            False,
            "auto",
            4,
            ["none", "window_norm", "window_trend", "deseason+window_norm"],
            8,
        ),  # y = 0 in the first row
        (True, "auto", 1, ["none", "window_norm", "window_trend"], 0),  # positive targets: the log is not tried either
        (False, "seasonal+difference", 4, None, 5),
    ],
)
def test_the_transform_and_the_rows_it_reads_first(
    write_project: WriteProject,
    index_csv: IndexCsv,
    positive: bool,
    transform: str,
    season: int,
    candidates: list[str] | None,
    first: int,
) -> None:
    """window-preview names what `auto` will try and why the first window starts where it does: the rows the
    transform (the most demanding candidate) reads before its first value."""
    csv = index_csv(40).replace("2000,0\n", "2000,40\n" if positive else "2000,0\n")
    cfg = write_project(csv, data={"transform": transform}, evaluate={"season": season, "horizon": 1})
    doc = preview_json(cfg, "--limit", 1)
    assert doc["transform"] == {"name": transform, "candidates": candidates, "first_row": first}
    assert doc["rows"][0]["start"] == first
    res = invoke("window-preview", cfg)
    out = " ".join(res.stdout.split())
    if candidates:
        assert (
            f"data.transform auto: train tries {', '.join(candidates)} (briefly, scored on the validation part)" in out
        )
    else:
        assert f"data.transform {transform}; model inputs start at row 5 of every series: it reads the 5 rows" in out
    assert ("model inputs start at row" in out) == (first > 0)


@pytest.mark.parametrize(
    ("mode", "by_range"), [("lookback", ["none", "window_norm"]), ("stateful", ["none", "difference"])]
)
def test_auto_without_a_validation_part_says_train_chooses_by_range_and_has_no_intervals(
    write_project: WriteProject, mode: str, by_range: list[str]
) -> None:
    """split.val 0: train runs no trial (select.choose_by_range) and calibrates no interval; window-preview says
    so, rather than that train tries every candidate on a validation part there is not."""
    windows = {"mode": mode, "num_steps": 4, "streams": 2} if mode == "stateful" else {"look_back": 5}
    model = {"kind": "many_to_many"} if mode == "stateful" else {}
    cfg = write_project(data={"transform": "auto", "split": {"val": 0, "test": 0.2}}, windows=windows, model=model)
    doc = preview_json(cfg, "--limit", 1)
    assert doc["transform"]["by_range"] == by_range
    assert [n for n in doc["notes"] if n.startswith("no validation part (data.split.val): train calibrates no")]
    out = " ".join(invoke("window-preview", cfg).stdout.split())
    assert f"no validation part to score candidates on (data.split.val), so train takes {' or '.join(by_range)}" in out
    assert "train tries" not in out
    with_val = preview_json(write_project(data={"transform": "auto"}, windows=windows, model=model))
    assert "by_range" not in with_val["transform"] and not [n for n in with_val["notes"] if "no validation" in n]


def test_a_stateful_model_left_at_the_default_kind_is_said_to_learn_from_one_step_per_chunk(
    write_project: WriteProject,
) -> None:
    windows = {"mode": "stateful", "num_steps": 4, "streams": 2}
    sparse = "model.kind many_to_one (the default): a stateful model learns from one target per chunk of "
    doc = preview_json(write_project(windows=windows))
    assert doc["y_shape"][1] == 1 and [n for n in doc["notes"] if n.startswith(sparse + "windows.num_steps=4")]
    for kind in ("many_to_one", "many_to_many"):  # chosen: nothing to say
        chosen = preview_json(write_project(windows=windows, model={"kind": kind}))
        assert not [n for n in chosen["notes"] if sparse in n]
    assert not [n for n in preview_json(write_project())["notes"] if sparse in n]  # look-back windows


def test_stateful_keys_given_to_look_back_windows_are_said_to_be_unread(write_project: WriteProject) -> None:
    idle = "not read by look-back windows (every sample starts from zero states); windows.mode: stateful reads them"
    doc = preview_json(write_project(windows={"streams": 4}, training={"reset_states": "batch"}))
    assert f"windows.streams, training.reset_states: {idle}" in doc["notes"]
    assert not [n for n in preview_json(write_project())["notes"] if idle in n]  # unset: nothing to say
    at_defaults = write_project(windows={"num_steps": 96, "streams": 8}, training={"reset_states": "epoch"})
    assert not [n for n in preview_json(at_defaults)["notes"] if idle in n]  # as a run's config.yaml holds them
    windows = {"mode": "stateful", "num_steps": 4, "streams": 2}
    stateful = write_project(windows=windows, training={"reset_states": "batch"})
    assert not [n for n in preview_json(stateful)["notes"] if idle in n]
    # and the other way round: the look-back keys a stateful model does not read (its batch is series x streams)
    other = "not read by a stateful model (its batch is series x windows.streams, its chunks follow each other)"
    set_all = write_project(windows=windows | {"stride": 2}, training={"batch_size": 16})  # look_back 5: the base's
    assert (
        f"windows.look_back, training.batch_size, windows.stride: {other}; windows.mode: lookback reads them"
        in preview_json(set_all)["notes"]
    )
    defaults = windows | {"look_back": 24}
    assert not [
        n for n in preview_json(write_project(windows=defaults, training={"batch_size": 32}))["notes"] if other in n
    ]
    seasonal = write_project(  # as a run's config.yaml holds it
        windows=defaults | {"look_back": 25}, evaluate={"season": 24}, training={"batch_size": 32}
    )
    assert not [n for n in preview_json(seasonal)["notes"] if other in n]  # 25: the default with season 24


@pytest.mark.parametrize(
    ("kind", "val", "need"),
    [
        ("many_to_many", 3, 4),
        ("many_to_many", 4, None),
        ("many_to_one", 3, 4),
        ("many_to_one", 4, None),
        ("many_to_many", 1, 4),
    ],  # fmt: skip
)
def test_a_stateful_validation_part_too_short_to_score_is_said(
    write_project: WriteProject, kind: str, val: int, need: int | None
) -> None:
    """Stateful validation scores the targets of one chunk (num_steps 4; many_to_one reads a whole chunk first): a
    shorter validation part gives no val_loss at all, which window-preview and train say, naming both keys."""
    cfg = write_project(
        data={"split": {"val": val, "test": 8}},
        windows={"mode": "stateful", "num_steps": 4, "streams": 1},
        model={"kind": kind},
    )
    notes = [n for n in preview_json(cfg)["notes"] if n.startswith("the validation part (")]
    if need is None:
        assert not notes
        return
    assert notes == [
        f"the validation part ({val} row{'s' * (val != 1)} in the shortest series) is shorter than the {need} rows "
        f"a stateful {kind} "
        "model needs to score it (windows.num_steps=4): training gets no val_loss, and early stopping follows the "
        "training loss; raise data.split.val or lower windows.num_steps"
    ]


def test_the_series_whose_validation_part_is_too_short_for_every_other_is_named(
    write_project: WriteProject, index_csv: IndexCsv
) -> None:
    """A's and B's validation parts (0.1 of 60 rows: 6) are long enough; C's (0.1 of 20: 2) is not, and costs
    every series its val_loss: the note names C and the way out that keeps the others' (leaving it out)."""
    csv = index_csv(60, ["A", "B"]) + index_csv(20, ["C"]).split("\n", 1)[1]
    cfg = write_project(
        csv,
        data={"series_column": "s", "split": {"val": 0.1, "test": 0.2}},
        windows={"mode": "stateful", "num_steps": 4, "streams": 1},
        model={"kind": "many_to_many"},
    )
    notes = [n for n in preview_json(cfg)["notes"] if n.startswith("the validation part")]
    assert notes == [
        "the validation part of series 'C' (2 rows) is shorter than the 4 rows a stateful many_to_many model needs "
        "to score it (windows.num_steps=4), and every series is scored on as many rows as the shortest part has: "
        "training gets no val_loss, and early stopping follows the training loss; raise data.split.val or lower "
        "windows.num_steps, or leave that series out of the data"
    ]
    # C with no validation row at all costs the others theirs too: said as well (nothing was said)
    cfg = write_project(
        index_csv(60, ["A", "B"]) + index_csv(3, ["C"]).split("\n", 1)[1],
        data={"series_column": "s", "split": {"val": 0.1, "test": 0.2}},
        windows={"mode": "stateful", "num_steps": 4, "streams": 1},
        model={"kind": "many_to_many"},
    )
    notes = [n for n in preview_json(cfg)["notes"] if n.startswith("the validation part")]
    assert len(notes) == 1 and notes[0].startswith("the validation part of series 'C' (0 rows) is shorter"), notes


@pytest.mark.parametrize("reset", ["epoch", "batch", "never"])
def test_window_preview_says_when_states_are_reset(write_project: WriteProject, reset: str) -> None:
    """The policy the training header states is shown by window-preview too, and the stateful layout's heading
    does not say that row r continues row r across batches whose states are reset between them."""
    windows = {"mode": "stateful", "num_steps": 4, "streams": 1}
    cfg = write_project(windows=windows, model={"kind": "many_to_many"}, training={"reset_states": reset})
    doc = preview_json(cfg)
    assert doc["reset_states"] == reset and f"training.reset_states: {reset}" in doc["states"] or reset == "epoch"
    text = " ".join(invoke("window-preview", cfg).stdout.split())
    assert f"states: {doc['states']}" in text
    between = "training.reset_states: batch resets the states between batches"
    assert (between in text) == (reset == "batch")
    lookback = preview_json(write_project())
    assert lookback["reset_states"] is None and "starts from zero states (stateful=False)" in lookback["states"]


@pytest.mark.parametrize(("num_steps", "streams"), [(30, 2), (4, 2)])
def test_a_stateful_layout_of_mostly_padding_is_said(write_project: WriteProject, num_steps: int, streams: int) -> None:
    windows = {"mode": "stateful", "num_steps": num_steps, "streams": streams}
    doc = preview_json(write_project(windows=windows, model={"kind": "many_to_many"}))
    said = [n for n in doc["notes"] if "of the stateful batches' steps are padding" in n]
    share = doc["padding"]["fraction"]
    assert (said == [f"{share:.0%} of the stateful batches' steps are padding (windows.num_steps={num_steps}, "
                     f"windows.streams={streams}): training spends most of its time on nothing; shorter chunks or "
                     "fewer streams pad less"]) if share > 0.5 else not said  # fmt: skip
    assert (share > 0.5) == (num_steps == 30)


def test_json_many_to_many_targets_are_inputs_shifted_by_one(write_project: WriteProject) -> None:
    cfg = write_project(model={"kind": "many_to_many", "units": [4]}, windows={"look_back": 4, "stride": 3})
    doc = preview_json(cfg, "--limit", 100)
    assert doc["x_shape"] == [8, 4, 1] and doc["y_shape"] == [8, 4, 1]
    assert [r["start"] for r in doc["rows"]] == list(range(0, 24, 3))  # last target row 27 < 28
    for r in doc["rows"]:
        assert (r["target_start"], r["target_end"]) == (r["start"] + 1, r["end"] + 1)


def test_limit_cuts_the_rows(write_project: WriteProject) -> None:
    cfg = write_project()
    assert len(preview_json(cfg)["rows"]) == 12
    assert len(preview_json(cfg, "--limit", 3)["rows"]) == 3
    assert preview_json(cfg, "--limit", 0)["rows"] == []


def test_set_overrides_reach_the_preview(write_project: WriteProject) -> None:
    cfg = write_project()
    doc = preview_json(cfg, "--set", "windows.look_back=3", "--set", "model.units=[2,3]", "--set", "model.cell=gru")
    assert doc["x_shape"] == [8, 3, 1]
    assert [layer["states"] for layer in doc["layers"]] == [{"h": [8, 2]}, {"h": [8, 3]}]


@pytest.mark.parametrize(
    ("cell", "states"),
    [("lstm", ["h", "c"]), ("gru", ["h"]), ("simple_rnn", ["h"])],
)
@pytest.mark.parametrize("mode", ["lookback", "stateful"])
def test_state_shapes_per_cell(
    write_project: WriteProject, index_csv: IndexCsv, cell: str, states: list[str], mode: str
) -> None:
    cfg = write_project(
        index_csv(40, ["A", "B", "C"]),
        data={"series_column": "s"},
        windows={"mode": mode, "num_steps": 4, "streams": 2},
        model={"cell": cell, "units": [5, 3, 7], "kind": "many_to_many"},
    )
    doc = preview_json(cfg)
    batch = 3 * 2 if mode == "stateful" else 8  # stateful: series x streams; lookback: training.batch_size
    assert doc["x_shape"][0] == batch
    assert doc["layers"] == [
        {"layer": i, "cell": cell, "units": u, "members": 1, "states": {s: [batch, u] for s in states}}
        for i, u in enumerate([5, 3, 7])
    ]


# ---------------------------------------------------------------- stateful mode


def test_json_stateful_follows_the_spec(write_project: WriteProject, index_csv: IndexCsv) -> None:
    cfg = write_project(
        index_csv(40, ["A", "B"]),
        data={"series_column": "s"},
        windows={"mode": "stateful", "num_steps": 3, "streams": 2},
        model={"kind": "many_to_many", "units": [4]},
    )
    doc = preview_json(cfg, "--limit", 1000)
    assert doc["mode"] == "stateful"
    # train [0, 28): the last target is row 27, so 27 input rows; chunks of 3 in 2 streams: 5 chunks (30 slots),
    # the first 3 of them padding before row 0; no row is dropped
    assert doc["x_shape"] == [4, 3, 1] and doc["y_shape"] == [4, 3, 1]
    assert (doc["batches"], doc["batch_size"], doc["streams"]) == (5, 4, 2)
    assert doc["padding"]["rows"] == {"A": 3, "B": 3} and doc["padding"]["dropped"] == 0
    assert len(doc["rows"]) == 5 * 4
    assert doc["rows"][:4] == [
        {"batch": 0, "row": 0, "series": "A", "stream": 0, "start": 0, "end": 0, "padding": 3, "target_start": 1,
         "target_end": 1, "time_start": None, "time_end": None},
        {"batch": 0, "row": 1, "series": "A", "stream": 1, "start": 12, "end": 15, "padding": 0, "target_start": 13,
         "target_end": 16, "time_start": "2012", "time_end": "2014"},
        {"batch": 0, "row": 2, "series": "B", "stream": 0, "start": 0, "end": 0, "padding": 3, "target_start": 1,
         "target_end": 1, "time_start": None, "time_end": None},
        {"batch": 0, "row": 3, "series": "B", "stream": 1, "start": 12, "end": 15, "padding": 0, "target_start": 13,
         "target_end": 16, "time_start": "2012", "time_end": "2014"},
    ]  # fmt: skip
    assert doc["rows"][4]["start"] == 0 and doc["rows"][4]["end"] == 3  # then row 0 continues with rows 0..2
    assert_stateful_rows(doc)
    assert max(r["target_end"] for r in doc["rows"]) == 28  # the newest training rows are kept
    assert sorted(t for r in doc["rows"] if r["series"] == "A" for t in range(r["start"], r["end"])) == list(range(27))
    assert doc["layers"] == [
        {"layer": 0, "cell": "lstm", "units": 4, "members": 1, "states": {"h": [4, 4], "c": [4, 4]}}
    ]


def test_stateful_series_of_different_lengths_are_padded(write_project: WriteProject, index_csv: IndexCsv) -> None:
    csv = index_csv(40, ["long"]) + index_csv(20, ["short"]).split("\n", 1)[1]
    cfg = write_project(
        csv,
        data={"series_column": "s", "split": {"val": 0, "test": 0}},
        windows={"mode": "stateful", "num_steps": 2, "streams": 3},
        model={"kind": "many_to_one", "units": [4]},
        training={"shuffle": False},
    )
    doc = preview_json(cfg, "--limit", 1000)
    # many_to_one, horizon 1: 39 and 19 usable rows; rounds of 3 x 2 = 6 rows: 7 chunks (42 slots) for both
    assert doc["batches"] == 7 and doc["x_shape"] == [6, 2, 1] and doc["y_shape"] == [6, 1, 1]
    assert doc["padding"]["rows"] == {"long": 3, "short": 23} and doc["padding"]["dropped"] == 0
    assert doc["padding"]["fraction"] == round(26 / (7 * 6 * 2), 4)  # of 7 batches x 6 rows x 2 steps
    assert_stateful_rows(doc)
    for name, usable in (("long", 39), ("short", 19)):  # every usable row is an input once: nothing trimmed
        mine = [r for r in doc["rows"] if r["series"] == name]
        assert sorted(t for r in mine for t in range(r["start"], r["end"])) == list(range(usable))
        assert sum(r["target_end"] - r["target_start"] for r in mine) == usable // 2 + (usable % 2 > 0)
    res = invoke("window-preview", cfg)
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert "padded rows per series (30.9% of the batches' steps): {'long': 3, 'short': 23}" in out and "masked" in out
    assert "row r of batch k+1 continues row r of batch k (7 batches of 6 rows)" in out


def test_one_batch_of_one_row_is_said_in_the_singular(write_project: WriteProject) -> None:
    """One series, one stream, one chunk: '1 batch of 1 row', and X's inputs are the targets alone."""
    cfg = write_project(windows={"mode": "stateful", "num_steps": 30, "streams": 1})  # 40 rows: 28 for training
    res = invoke("window-preview", cfg)
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert "(1 batch of 1 row)" in out and "(batch, time steps, inputs: the targets)" in out, out


def test_notes_go_to_stderr_or_into_the_json(write_project: WriteProject, index_csv: IndexCsv) -> None:
    lines = index_csv(40).splitlines()
    cfg = write_project("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n")
    note = "rows were not in time order; sorted by year"
    res = invoke("window-preview", cfg)
    assert res.exit_code == 0 and note in res.stderr and note not in res.stdout
    assert preview_json(cfg)["notes"] == [note]


# ---------------------------------------------------------------- plot


def test_plot_writes_a_png(write_project: WriteProject, index_csv: IndexCsv, tmp_path: Path) -> None:
    cfg = write_project(
        index_csv(40, ["A", "B"]),
        data={"series_column": "s"},
        windows={"mode": "stateful", "num_steps": 3, "streams": 2},
        model={"kind": "many_to_many"},
    )
    png = tmp_path / "layout.png"
    res = invoke("window-preview", cfg, "--plot", png)
    assert res.exit_code == 0, res.output
    assert f"layout drawn to {png}" in " ".join(res.stdout.split()) and "replacing" not in res.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    again = invoke("window-preview", cfg, "--plot", png)
    assert f"layout drawn to {png}, replacing the file that was there" in " ".join(again.stdout.split())
    quiet = invoke("window-preview", cfg, "--plot", png, "--json")  # said on stderr: stdout is the JSON alone
    assert quiet.exit_code == 0 and json.loads(quiet.stdout)["mode"] == "stateful", quiet.output
    assert f"layout drawn to {png}, replacing the file that was there" in " ".join(quiet.stderr.split())


@pytest.mark.parametrize("mode", ["lookback", "stateful"])
def test_plot_draws_the_first_series_of_many_and_says_so(
    write_project: WriteProject, index_csv: IndexCsv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """15 series: the plot draws the first 12 (PLOT_SERIES, as forecast's and evaluate's) and a colour bar, and says
    so (every series' panel took 45 s and a 67,000-pixel PNG at 320 series)."""
    from seqcast import plot

    figures: list[Any] = []
    real = plot._save
    monkeypatch.setattr(plot, "_save", lambda fig, path: (figures.append(fig), real(fig, path))[1])
    names = [f"S{k:02d}" for k in range(15)]
    extra = {"windows": {"mode": "stateful", "num_steps": 3}} if mode == "stateful" else {}
    cfg = write_project(index_csv(30, names), data={"series_column": "s"}, **extra)
    png = tmp_path / "layout.png"
    res = invoke("window-preview", cfg, "--plot", png)
    assert res.exit_code == 0, res.output
    assert f"layout drawn to {png} (the first 12 of 15 series)" in " ".join(res.stdout.split())
    assert len(figures[0].axes) == plot.PLOT_SERIES + 1  # 12 panels and the colour bar
    assert [ax.get_title().split(":")[0] for ax in figures[0].axes[: plot.PLOT_SERIES]] == names[:12]


def test_plot_names_every_stream_once_a_padded_one_where_its_rows_begin(
    write_project: WriteProject, index_csv: IndexCsv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A (40 rows) and B (26) in 2 streams of 3 steps: the padding fills stream 0 of each in the first batch, whose
    label was drawn only in batch 0 and so never; each stream is now named once, at its first real rows."""
    from seqcast import plot

    figures: list[Any] = []
    real = plot._save
    monkeypatch.setattr(plot, "_save", lambda fig, path: (figures.append(fig), real(fig, path))[1])
    csv = index_csv(40, ["A"]) + index_csv(26, ["B"]).split("\n", 1)[1]
    cfg = write_project(csv, data={"series_column": "s"}, windows={"mode": "stateful", "num_steps": 3, "streams": 2})
    res = invoke("window-preview", cfg, "--plot", tmp_path / "p.png")
    assert res.exit_code == 0, res.output
    for ax in figures[0].axes[:2]:
        assert sorted(t.get_text() for t in ax.texts) == [" stream 0", " stream 1"], ax.get_title()


def test_plot_with_json_keeps_stdout_json(write_project: WriteProject, tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    doc = preview_json(write_project(), "--plot", png)
    assert doc["mode"] == "lookback"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- errors


def test_config_error_exits_2(write_project: WriteProject) -> None:
    cfg = write_project(training={"epochs": 0})
    assert_one_error(invoke("window-preview", cfg), 2, f"{cfg}: training.epochs: should be greater than 0, not 0")
    assert_one_error(invoke("window-preview", cfg, "--json"), 2, "training.epochs: should be greater than 0, not 0")


def test_bad_set_exits_2(write_project: WriteProject) -> None:
    res = invoke("window-preview", write_project(), "--set", "windows.look_back")
    assert_one_error(res, 2, "--set expects KEY=VALUE, got 'windows.look_back'")


def test_shuffle_with_stateful_exits_2(write_project: WriteProject) -> None:
    res = invoke("window-preview", write_project(), "--set", "windows.mode=stateful", "--set", "training.shuffle=true")
    assert_one_error(res, 2, "training.shuffle: true cannot be used with windows.mode: stateful")


def test_malformed_yaml_exits_2(write_project: WriteProject) -> None:
    cfg = write_project(raw="data:\n  path: data.csv\n  targets: [y\n")
    assert_one_error(invoke("window-preview", cfg), 2, "malformed YAML at line")


def test_missing_config_exits_2(tmp_path: Path) -> None:
    assert_one_error(invoke("window-preview", tmp_path / "nope.yaml"), 2, "config file not found")


def test_target_not_a_column_exits_2(write_project: WriteProject) -> None:
    cfg = write_project(data={"targets": ["pressure"]})
    assert_one_error(invoke("window-preview", cfg), 2, "data.targets: 'pressure' is not a column of")
    assert "--set" not in invoke("window-preview", cfg).stderr  # the key is the config file's


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("data.static=[x]", "data.static"),
        ("data.features=x", "data.features"),
        ("data={path: data.csv, time_column: year, targets: [x]}", "data.targets"),
    ],
)
def test_a_column_that_set_named_is_said_to_be_sets(write_project: WriteProject, override: str, key: str) -> None:
    """A column --set named that the file lacks: the message says the key came from --set, not the file."""
    res = invoke("window-preview", write_project(), "--set", override)
    assert_one_error(res, 2, f"error: --set: {key}: 'x' is not a column of")
    assert "its columns are ['year', 'y']" in " ".join(res.stderr.split())


def test_a_config_error_found_in_the_data_names_set_when_set_gave_its_key(write_project: WriteProject) -> None:
    """Errors that only the data reveals (a look-back longer than the series, a model too big to train) are
    filed under their key: --set's when --set gave it, the file's otherwise."""
    cfg = write_project()
    res = invoke("window-preview", cfg, "--set", "windows.look_back=100")
    assert_one_error(res, 2, "error: --set: windows.look_back: the series is shorter than windows.look_back")
    res = invoke("window-preview", write_project(windows={"look_back": 100}), "--set", "training.epochs=2")
    assert_one_error(res, 2, "error: windows.look_back: the series is shorter")
    res = invoke("train", cfg, "--set", "model.units=[16000]", "--set", "model.ensemble=4")  # refused before TF
    assert_one_error(res, 2, "error: --set: model.units: [16000] x model.ensemble 4 makes a model of")


def test_data_error_exits_1(write_project: WriteProject, tmp_path: Path) -> None:
    cfg = write_project("year,y\n2000,1\n2001,abc\n2002,3\n")
    assert_one_error(
        invoke("window-preview", cfg), 1, f"{tmp_path / 'data.csv'}: column 'y', line 3: 'abc' is not a number"
    )


def test_missing_data_file_exits_1(write_project: WriteProject, tmp_path: Path) -> None:
    cfg = write_project(data={"path": "gone.csv"})
    assert_one_error(invoke("window-preview", cfg, "--json"), 1, f"{tmp_path / 'gone.csv'}: data file not found")


def test_a_look_back_longer_than_the_series_is_a_config_error(write_project: WriteProject, index_csv: IndexCsv) -> None:
    cfg = write_project(index_csv(5), windows={"look_back": 10})
    assert_one_error(invoke("window-preview", cfg), 2, "windows.look_back: the series is shorter than")
    assert "windows.look_back + horizon (11 rows needed)" in invoke("window-preview", cfg).stderr


def test_stateful_too_short_exits_1(write_project: WriteProject) -> None:
    # 28 training rows, many_to_one with 30 target steps: not one input row has its targets
    cfg = write_project(windows={"mode": "stateful", "horizon": 30}, model={"kind": "many_to_one"})
    assert_one_error(invoke("window-preview", cfg), 1, "has 28 training rows: not enough for one input row")


def test_debug_shows_the_exception(write_project: WriteProject) -> None:
    cfg = write_project(training={"epochs": 0})
    res = invoke("--debug", "window-preview", cfg)
    assert res.exit_code == 2  # a config error's code, as without --debug
    assert "Traceback" in res.stderr and "ConfigError" in res.stderr
    assert "training.epochs" in res.stderr.split("Traceback")[-1].split("\n", 1)[-1]


# ---------------------------------------------------------------- the sample configs


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_sample_configs_preview(config: Path) -> None:
    raw = yaml.safe_load(config.read_text())
    doc = preview_json(config, "--limit", 100_000)
    windows = raw.get("windows", {})
    assert doc["mode"] == windows.get("mode", "lookback")
    n_in = len(raw["data"]["targets"]) + len(raw["data"].get("features", []))
    assert doc["x_shape"][2] == n_in and doc["y_shape"][2] == len(raw["data"]["targets"])
    assert len(doc["layers"]) == len(raw["model"]["units"])
    assert doc["rows"]
    if doc["mode"] == "stateful":
        assert doc["x_shape"][:2] == [len(doc["series"]) * windows["streams"], windows["num_steps"]]
        assert len(doc["rows"]) == doc["batches"] * doc["batch_size"]
        assert_stateful_rows(doc)
    else:
        assert doc["x_shape"][1] == windows["look_back"]
        assert len(doc["rows"]) == doc["windows"]
        train = {s["name"]: s["train"][1] for s in doc["series"]}
        assert all(r["target_end"] <= train[r["series"]] for r in doc["rows"])
        assert all(r["end"] - r["start"] == windows["look_back"] for r in doc["rows"])


# ---------------------------------------------------------------- no TensorFlow


WRAPPER = """
import json, os, runpy, sys
sys.argv = ["seqcast", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("seqcast", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code or 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
with open(os.environ["SEQCAST_TEST_REPORT"], "w") as fh:
    json.dump({"code": code, "heavy": heavy, "seqcast": "seqcast.cli" in sys.modules}, fh)
"""


@pytest.mark.parametrize("args", [["--help"], ["window-preview", "CONFIG", "--json"]], ids=["help", "preview"])
def test_help_and_preview_do_not_import_tensorflow(
    write_project: WriteProject, tmp_path: Path, args: list[str]
) -> None:
    cfg = write_project(windows={"mode": "stateful", "num_steps": 3, "streams": 2}, model={"kind": "many_to_many"})
    report = tmp_path / "report.json"
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    env = {**os.environ, "SEQCAST_TEST_REPORT": str(report)}
    argv = [str(cfg) if a == "CONFIG" else a for a in args]
    proc = subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(report.read_text())
    assert result["seqcast"] and result["code"] == 0
    assert result["heavy"] == []
    if args[0] == "--help":
        assert "window-preview" in proc.stdout
    else:
        assert json.loads(proc.stdout)["mode"] == "stateful"


def test_python_m_seqcast_window_preview(write_project: WriteProject) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "seqcast", "window-preview", str(write_project()), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["x_shape"] == [8, 5, 1]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "seqcast.preview" in imported
    assert not {m for m in imported if m.split(".")[0] in ("tensorflow", "keras")}


def test_a_reader_that_goes_away_stops_the_output_quietly(write_project: WriteProject, index_csv: IndexCsv) -> None:
    """`seqcast window-preview | head -3`: the pipe closes early; seqcast exits 0 without a message."""
    cfg = write_project(index_csv(3000))
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqcast", "window-preview", str(cfg), "--limit", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)  # the first bytes, then the reader goes away with a long table still to come
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Error" not in err and "error" not in err, err


def _hourly(offsets: list[str]) -> str:
    return "time,y\n" + "".join(f"2024-03-01T{h % 24:02d}:00:00{o},{h}\n" for h, o in enumerate(offsets))


def test_times_with_utc_offsets_are_read_as_utc_with_a_note(write_project: WriteProject) -> None:
    cfg = write_project(_hourly(["+05:00"] * 20), data={"time_column": "time"}, windows={"look_back": 3})
    res = invoke("window-preview", cfg, "--json")
    assert res.exit_code == 0, res.output
    assert "Warning" not in res.stderr  # numpy's "no explicit representation of timezones" is not the user's
    assert "time column 'time' has UTC offsets: the times are read, and forecasts stamped, in UTC" in " ".join(
        res.stderr.split()
    )
    assert json.loads(res.stdout)["rows"][0]["time_start"].startswith("2024-02-29 19:00")  # 00:00+05:00


def test_times_mixing_utc_offsets_and_none_are_refused_at_the_line(write_project: WriteProject) -> None:
    cfg = write_project(_hourly([""] * 5 + ["Z"] + [""] * 14), data={"time_column": "time"})
    res = invoke("window-preview", cfg)
    assert_one_error(res, 1, "line 7: '2024-03-01T05:00:00Z' has a UTC offset, and the first row has none")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args", [["window-preview", "--json"], ["window-preview"], ["--help"], ["--version"]])
def test_a_full_stdout_is_one_message_naming_stdout(write_project: WriteProject, args: list[str]) -> None:
    import subprocess
    import sys

    cfg = write_project()
    command = [*args[:1], *([str(cfg)] if args[0] == "window-preview" else []), *args[1:]]
    with open("/dev/full", "w") as full:
        res = subprocess.run(
            [sys.executable, "-m", "seqcast", *command],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert res.returncode == 1
    assert res.stderr == "error: stdout: cannot write: No space left on device\n"


@pytest.mark.parametrize("code", [0, None, 1, 130])
def test_after_a_command_has_ended_a_late_ctrl_c_cannot_change_its_exit_or_its_message(
    monkeypatch: pytest.MonkeyPatch, code: int | None
) -> None:
    """Success stays 0; a failure or an interrupt keeps its one message (a held Ctrl-C printed one per signal
    that met the handlers put back as the command ended, and could end in a death by SIGINT)."""
    import signal

    from seqcast import cli

    def done() -> None:
        raise SystemExit(code)

    monkeypatch.setattr(cli, "app", done)
    monkeypatch.setitem(cli._state, "process", False)  # main sets it: put back for the tests after this one
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    assert cli.STOP_SIGNALS == stops  # (conftest: the suite's signals are a terminal's)
    before = {sig: signal.getsignal(sig) for sig in stops}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        with pytest.raises(SystemExit):
            cli.main()
        for sig in stops:
            assert signal.getsignal(sig) is signal.SIG_IGN, sig
    finally:  # every one put back: a SIGHUP left ignored here was inherited by every later test's `seqcast` child
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_stateful_json_rows_cover_the_training_part_without_limit() -> None:
    config = Path(__file__).resolve().parent.parent / "configs" / "tanks_stateful.yaml"
    doc = preview_json(config)  # no --limit
    assert len(doc["rows"]) == doc["rows_total"] == doc["batches"] * doc["batch_size"]
    by_slot = {(r["batch"], r["row"]): r for r in doc["rows"]}
    for (b, r), row in by_slot.items():  # row r of batch b + 1 continues row r of batch b
        if (b + 1, r) in by_slot:
            assert by_slot[(b + 1, r)]["start"] == row["end"] and by_slot[(b + 1, r)]["series"] == row["series"]
    lookback = preview_json(config.parent / "quickstart.yaml")
    assert len(lookback["rows"]) == 12 < lookback["rows_total"]  # look-back windows: the first 12, the total said
    # hourly rows: midnight is a time like the others (2024-03-02 00:00), not a date alone beside 23:00
    assert (lookback["series"][0]["first"], lookback["rows"][0]["time_end"]) == ("2024-03-01 00:00", "2024-03-02 00:00")


def test_limit_zero_shows_no_series_and_no_rows_but_every_count_and_shape() -> None:
    config = Path(__file__).resolve().parent.parent / "configs" / "quickstart.yaml"
    res = invoke("window-preview", config, "--limit", 0)
    assert res.exit_code == 0, res.output
    assert "the first 0 of 4 series" in res.stdout
    assert "Tank A" not in res.stdout  # the first series' name: no row of the split table
    assert "[0, 1152)" not in res.stdout  # nor of the layout
    doc = preview_json(config)
    assert f"{doc['windows']} windows" in " ".join(res.stdout.split())  # the counts stay in the titles
    assert "(64, 24, 2)" in res.stdout  # and the shapes in their table


def test_a_windows_horizon_that_many_to_many_does_not_read_is_said() -> None:
    config = Path(__file__).resolve().parent.parent / "configs" / "quickstart.yaml"
    unread = "windows.horizon=6 is not read: a many_to_many model answers the next step at every input step"
    doc = preview_json(config, "--set", "model.kind=many_to_many", "--set", "windows.horizon=6")
    assert [n for n in doc["notes"] if n.startswith(unread)] and doc["y_shape"][1] == doc["x_shape"][1]
    for args in (["--set", "model.kind=many_to_many"], ["--set", "windows.horizon=6"]):  # each alone is read
        assert not [n for n in preview_json(config, *args)["notes"] if "is not read" in n]


def test_the_split_table_keeps_dates_whole_in_80_columns(write_project: WriteProject) -> None:
    """The hourly first and last times wrap below their date, and the row ranges below their first bound, rather
    than the dates being cut to '2024-03…'."""
    import io

    import numpy as np
    from rich.console import Console

    from seqcast import console

    days = np.datetime64("2024-03-01T00", "h") + np.arange(24 * 60)  # the quickstart's: 1440 hourly rows
    rows = "".join(f"{str(d).replace('T', ' ')}:00,Tank A,{k}\n" for k, d in enumerate(days))
    doc = preview_json(write_project("t,s,y\n" + rows, data={"time_column": "t", "series_column": "s"}))
    buf = io.StringIO()
    Console(file=buf, width=80).print(console.preview_tables(doc)[0])
    lines = buf.getvalue().splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in buf.getvalue()
    assert "│ 2024-03-01 │ 2024-04-29 │" in next(ln for ln in lines if ln.startswith("│"))


@pytest.mark.parametrize("raised", ["interrupted", "keyboard"])
def test_a_signal_while_a_command_says_why_it_stops_cuts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], raised: str, signal_self: Callable[..., None]
) -> None:
    """A held Ctrl-C: the fit stops and raises Interrupted, and the next SIGINT came as its message was printed:
    the message was lost (exit 130, empty stderr). Stop signals are ignored from the first word of the message."""
    import signal

    import typer

    from seqcast import cli, console, errors

    def fn() -> None:
        if raised == "interrupted":
            raise errors.Interrupted("training interrupted; the checkpoint of epoch 3 is kept at ck")
        raise KeyboardInterrupt

    real = console.error

    def error(message: str) -> None:
        signal_self(signal.SIGINT, 10**5)  # the next signal of the held Ctrl-C
        real(message)

    monkeypatch.setattr(console, "error", error)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(typer.Exit) as stop:
        cli.guarded(fn)
    assert stop.value.exit_code == 130
    said = capsys.readouterr().err
    assert said.startswith("error: training interrupted" if raised == "interrupted" else "error: interrupted"), said
    assert signal.getsignal(signal.SIGINT) is before  # an in-process caller gets its handler back


def test_a_signal_a_library_swallowed_still_ends_the_command_as_interrupted(capsys: pytest.CaptureFixture[str]) -> None:
    """A Ctrl-C whose KeyboardInterrupt landed in a __del__ (dropped, and now silent: errors.quiet_unraisable) left
    only its mark: a command that then finished exited 0 as if no one had pressed it."""
    import signal

    import typer

    from seqcast import cli, errors

    with pytest.raises(typer.Exit) as stop:
        cli.guarded(lambda: errors._signalled.append(signal.SIGINT))
    assert stop.value.exit_code == 130
    assert capsys.readouterr().err == "error: interrupted; nothing that was there before has changed\n"
