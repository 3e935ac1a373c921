"""Fuzz window-preview: random CSV contents and random config values never crash the CLI.

Whatever the input, the exit status is 0, 1 or 2, a failure says why on stderr in one clear message, and
no exception escapes (the CLI's catch-all "ErrorType: message (run with --debug ...)" counts as a crash:
it means a fault without a clear message).
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas  # noqa: F401  (imported up front: its first import must not count against the deadline)
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqcast.cli import app

runner = CliRunner()

NAMES = ["time", "year", "s", "y", "x", "z", "", " y ", "y", "[/x]", "[bold]", "α", "a b", "nan"]


def _dates() -> st.SearchStrategy[str]:
    day = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1))
    return st.one_of(
        day.map(str),
        day.map(lambda d: f"{d} 12:00"),
        day.map(lambda d: d.strftime("%d/%m/%Y")),
        day.map(lambda d: d.strftime("%b %d %Y")),
    )


CELLS = st.one_of(
    st.integers(-5, 60).map(str),
    st.integers(1990, 2035).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "NA", "nan", "inf", "-inf", "null", "-", "1e400", "1,5", "0x10", "True", "[/x]", "[b]"]),
    _dates(),
    st.text(max_size=6),
)


ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 200),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-2, 10), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
COLUMNS = st.sampled_from(NAMES)

# every key the fuzzer changes, with values that are valid for it (wrong types come from ANY)
KEYS: dict[str, st.SearchStrategy[Any]] = {
    "data.path": st.sampled_from(["data.csv", "nope.csv", ".", "sub/data.csv"]),
    "data.time_column": st.one_of(st.none(), st.sampled_from(["year", "time"]), COLUMNS),
    "data.series_column": st.one_of(st.none(), st.just("s"), COLUMNS),
    "data.targets": st.one_of(st.just(["y"]), st.lists(COLUMNS, min_size=1, max_size=2), COLUMNS),
    "data.features": st.one_of(st.just([]), st.just(["x"]), st.lists(COLUMNS, max_size=2)),
    "data.missing": st.sampled_from(["error", "interpolate", "ffill", "drop"]),
    "data.split.val": st.sampled_from([0.1, 0.0, 2, 0.5, 0.99, 1.0, 40]),
    "data.split.test": st.sampled_from([0.2, 0.0, 3, 0.9, 100]),
    "data.scaler": st.sampled_from(["standard", "minmax", "none"]),
    "data.transform": st.sampled_from(["none", "difference", "window_norm", "auto"]),
    "windows.mode": st.sampled_from(["lookback", "stateful"]),
    "windows.look_back": st.integers(1, 30),
    "windows.horizon": st.integers(1, 6),
    "windows.stride": st.integers(1, 5),
    "windows.num_steps": st.integers(1, 12),
    "windows.streams": st.integers(1, 4),
    "model.kind": st.sampled_from(["many_to_one", "many_to_many", "encoder_decoder"]),
    "model.cell": st.sampled_from(["lstm", "gru", "simple_rnn"]),
    "model.units": st.lists(st.integers(1, 8), min_size=1, max_size=3),
    "training.batch_size": st.integers(1, 16),
    "training.shuffle": st.sampled_from([None, True, False]),
    "training.reset_states": st.sampled_from(["epoch", "batch", "never"]),
    "evaluate.season": st.integers(1, 12),
}


def rarely(draw: st.DrawFn, odds: int) -> bool:
    """True one time in `odds` (hypothesis favours small integers, so not `integers(...) == 0`)."""
    return draw(st.sampled_from([False] * (odds - 1) + [True]))


@st.composite
def projects(draw: st.DrawFn) -> tuple[str, dict[str, Any] | str]:
    """(CSV text, config): mostly a consistent pair with a few faults planted, sometimes garbage."""
    if rarely(draw, 15):
        return draw(st.text(max_size=80)), {"data": {"path": "data.csv", "targets": ["y"]}}
    header = draw(
        st.sampled_from([["year", "s", "y", "x"], ["time", "y"], ["time", "s", "y"], ["y", "x"], ["year", "y", "x"]])
    )
    if rarely(draw, 10):
        header = draw(st.lists(COLUMNS, min_size=1, max_size=5))
    series = draw(st.sampled_from([["A", "B"], ["A", "", "[/x]"], ["A"]])) if "s" in header else [""]
    start = draw(st.sampled_from([date(2020, 1, 1), date(2020, 1, 31), date(1999, 12, 31)]))
    step = draw(st.sampled_from([1, 7, 31]))
    n = draw(st.one_of(st.integers(0, 8), *[st.integers(16, 60)] * 4))
    rows = []
    for i in range(n):
        k = i // len(series)
        cols = {"year": str(2000 + k), "time": str(start + timedelta(days=step * k)), "s": series[i % len(series)]}
        rows.append([cols.get(h, f"{(i * 37 % 11) / 3:.3f}") for h in header])
    for _ in range(draw(st.integers(0, 2))):  # plant faults in the table
        if not rows:
            break
        r = draw(st.integers(0, len(rows) - 1))
        fault = draw(st.integers(0, 4))
        if fault <= 1:
            if rows[r]:
                rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(CELLS)
        elif fault == 2:
            rows[r] = rows[r] + [draw(CELLS)] if draw(st.booleans()) else rows[r][:-1]
        elif fault == 3:
            rows.insert(draw(st.integers(0, len(rows))), list(rows[r]))  # a repeated row
        else:
            del rows[r]  # a gap in the time axis
    if len(rows) > 3 and rarely(draw, 6):
        i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
        rows[i], rows[j] = rows[j], rows[i]
    csv = ",".join(header) + "\n" + "".join(",".join(c.replace("\n", " ") for c in r) + "\n" for r in rows)

    time_column = next((h for h in header if h in ("year", "time")), None)
    cfg: dict[str, Any] = {
        "data": {
            "path": "data.csv",
            "time_column": time_column,
            "series_column": "s" if "s" in header else None,
            "targets": ["y"],
            "features": ["x"] if "x" in header else [],
            "transform": draw(KEYS["data.transform"]),
        },
        "windows": {"mode": draw(KEYS["windows.mode"]), "look_back": draw(st.integers(1, 8)), "num_steps": 4},
        "model": {"kind": draw(st.sampled_from(["many_to_one", "many_to_many"])), "units": [4], "ensemble": 1},
        "training": {"batch_size": 8},
    }
    if cfg["windows"]["mode"] == "stateful":
        cfg["windows"]["streams"] = draw(st.integers(1, 3))
    for _ in range(draw(st.integers(0, 3))):  # plant faults (or just other valid choices) in the config
        key = draw(st.sampled_from(sorted(KEYS)))
        *path, last = key.split(".")
        node = cfg
        for part in path:
            node = node.setdefault(part, {})
        how = draw(st.sampled_from(["valid"] * 7 + ["any", "any", "drop"]))
        if how == "drop":
            node.pop(last, None)
        else:
            node[last] = draw(ANY) if how == "any" else draw(KEYS[key])
    if rarely(draw, 21):
        cfg[draw(st.sampled_from(["data", "windows", "extra"]))] = {draw(st.text(max_size=6)): draw(ANY)}
    if rarely(draw, 21):
        return csv, draw(st.text(max_size=40))
    return csv, cfg


SETS = st.lists(
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from(["windows.look_back", "data.targets", "model.units", "training", "data.split.val", "x.y", ""]),
        st.one_of(st.integers(-1, 9).map(str), st.sampled_from(["[y]", "[3, 2]", "null", "{a: 1}", "[", "0.5"])),
    ),
    max_size=2,
)


MARKUP_CSV = "year,s,y\n" + "".join(f"{2000 + i},{s},{i}\n" for s in ("[/x]", "[bold]A") for i in range(40))


def _check(csv: str, cfg: dict[str, Any] | str, sets: list[str], as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data.csv").write_text(csv, encoding="utf-8", errors="surrogatepass")
        path = folder / "cfg.yaml"
        path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg), encoding="utf-8", errors="surrogatepass")
        args = ["window-preview", str(path), *(a for s in sets for a in ("--set", s))]
        res = runner.invoke(app, [*args, "--json"] if as_json else args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code in (0, 1, 2), (res.exit_code, res.output)
    assert "Traceback" not in res.output
    assert "run with --debug" not in res.stderr, f"a fault without a clear message:\n{res.stderr}"
    if res.exit_code:
        assert res.stderr.strip(), "a failed command must say why on stderr"
        assert res.stderr.count("error:") == 1, res.stderr
    elif as_json:
        json.loads(res.stdout)  # stdout holds one JSON document and nothing else


@settings(
    max_examples=60,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(project=projects(), sets=st.one_of(st.just([]), st.just([]), st.just([]), SETS), as_json=st.booleans())
@example(  # series names that look like rich markup, in the tables of a successful preview
    project=(MARKUP_CSV, {"data": {"path": "data.csv", "time_column": "year", "series_column": "s", "targets": ["y"]}}),
    sets=["windows.look_back=4"],
    as_json=False,
)
@example(
    project=(MARKUP_CSV, {"data": {"path": "data.csv", "time_column": "year", "series_column": "s", "targets": ["y"]}}),
    sets=["windows.mode=stateful", "model.kind=many_to_many", "windows.num_steps=4", "windows.streams=2"],
    as_json=False,
)
@example(
    project=("year,y\n2000,1\n2001,[/b]\n", {"data": {"path": "data.csv", "targets": ["y"]}}), sets=[], as_json=False
)
def test_window_preview_never_crashes(
    project: tuple[str, dict[str, Any] | str], sets: list[str], as_json: bool
) -> None:
    _check(*project, sets, as_json)
