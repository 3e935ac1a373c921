"""data.static (one value per series, scaled across series) and data.past_features (known up to the forecast
origin only): read, checked, scaled, shown, and forecast exactly as plain Keras does by hand."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import keras  # a missing or broken Keras fails these tests: it must never skip them
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from seqcast.cli import app
from seqcast.config import load_config
from seqcast.data import load_dataset, split_parts
from seqcast.errors import ConfigError, DataError
from seqcast.prepare import Scaler

runner = CliRunner()
N = {"A": 60, "B": 48}
SIZE = {"A": 3.0, "B": 7.0}


def panel_csv(vary_static_at: int | None = None) -> str:
    """Two yearly-indexed series: y = a wave on the time index scaled by the tank's size (static), x = a sensor
    reading that leads y by one step (a past-only covariate)."""
    lines = ["t,tank,y,x,size"]
    for name, n in N.items():
        for t in range(n):
            size = SIZE[name] + (1 if vary_static_at == t and name == "B" else 0)
            y = SIZE[name] * np.sin(t / 4) + 0.05 * t
            x = SIZE[name] * np.sin((t + 1) / 4)
            lines.append(f"{t},{name},{y:.6f},{x:.6f},{size}")
    return "\n".join(lines) + "\n"


def project(tmp: Path, *, csv: str | None = None, **sections: Any) -> Path:
    (tmp / "panel.csv").write_text(csv if csv is not None else panel_csv())
    doc: dict[str, Any] = {
        "data": {
            "path": "panel.csv",
            "time_column": "t",
            "series_column": "tank",
            "targets": ["y"],
            "static": ["size"],
            "transform": "none",
        },
        "windows": {"look_back": 6, "horizon": 1},
        "model": {"units": [4], "ensemble": 1},
        "training": {"epochs": 2, "batch_size": 16},
        "evaluate": {"intervals": []},
        "output": {"dir": str(tmp / "run")},
    }
    for key, value in sections.items():
        doc[key] = doc.get(key, {}) | value
    path = tmp / "cfg.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def invoke(*args: object, code: int = 0) -> Any:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == code, res.output
    return res


# ---------------------------------------------------------------- static: read, checked, scaled


def test_static_columns_follow_the_features_in_the_input_order(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path, data={"past_features": ["x"]}))
    ds = load_dataset(cfg.data)
    assert ds.inputs == ["y", "x", "size"] and ds.past == ["x"] and ds.static == ["size"]
    assert [float(s.values[0, 2]) for s in ds.series] == [3.0, 7.0]


def test_a_static_column_that_varies_is_refused_naming_column_series_and_line(tmp_path: Path) -> None:
    """The file lines of the series' first row and of the one that differs (A holds lines 2-61, B from 62 on)."""
    cfg = project(tmp_path, csv=panel_csv(vary_static_at=17))
    with pytest.raises(DataError) as err:
        load_dataset(load_config(cfg).data)
    msg = "static column 'size' of series 'B' is not constant: 7 at line 62 (its first row), 8 at line 79"
    assert msg in err.value.message
    lines = panel_csv(vary_static_at=17).splitlines()
    assert lines[62 - 1].startswith("0,B,") and lines[79 - 1].endswith(",8.0")  # what an editor shows there
    res = invoke("window-preview", cfg, code=1)
    assert "data.features or data.past_features" in " ".join(res.stderr.split())


def test_a_static_value_written_with_float_arithmetic_noise_is_the_same_value(tmp_path: Path) -> None:
    """0.30000000000000004 is 0.3 (a size computed, a re-exported file); a real change is refused with digits
    enough to see it."""
    text = panel_csv().replace(",3.0\n", ",0.3\n")  # A's size 0.3, one row written as arithmetic leaves it
    lines = text.splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",0.30000000000000004"
    cfg = project(tmp_path, csv="\n".join(lines) + "\n")
    ds = load_dataset(load_config(cfg).data)
    assert {float(v) for v in ds.series[0].values[:, 1]} == {0.3, 0.30000000000000004}  # kept as read
    lines[5] = lines[5].rsplit(",", 1)[0] + ",0.3000001"
    (tmp_path / "panel.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_dataset(load_config(cfg).data)
    assert "static column 'size' of series 'A' is not constant: 0.3 at line 2 (its first row), 0.3000001 at line 6" in (
        err.value.message
    )


def test_resampled_static_columns_are_binned_as_they_are(tmp_path: Path) -> None:
    """A mean of 0.3s is not 0.3 to the last bit and a sum is no size at all: a static column is binned by first
    unless data.resample.how names first or last; sum or mean for it is refused naming the key."""
    events = "t,tank,y,size\n" + "".join(f"{k // 3},{n},{k},{size}\n" for n, size in (("A", 0.3), ("B", 0.7))
                                         for k in range(60))  # fmt: skip  # three events per step
    doc = {"resample": {"freq": 1, "how": "sum"}, "targets": ["y"], "static": ["size"]}
    cfg = load_config(project(tmp_path, csv=events, data=doc))
    assert cfg.data.resample is not None and cfg.data.resample.how == {"y": "sum", "size": "first"}
    ds = load_dataset(cfg.data)
    np.testing.assert_array_equal(ds.series[0].values[:4, 0], [0 + 1 + 2, 3 + 4 + 5, 6 + 7 + 8, 9 + 10 + 11])
    assert [set(s.values[:, 1].tolist()) for s in ds.series] == [{0.3}, {0.7}]
    with pytest.raises(ConfigError) as err:
        load_config(project(tmp_path, csv=events, data=doc | {"resample": {"freq": 1, "how": {"size": "mean"}}}))
    assert "'size' is a data.static column, one value per series: bin it by first or last" in err.value.message


def test_static_columns_are_scaled_across_series(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path))
    ds = load_dataset(cfg.data)
    parts = split_parts(ds, cfg.data)
    sc = Scaler.fit("standard", ds, parts)  # scope series: the targets per series, the static column pooled
    pooled = np.concatenate([s.values[: p.train_end, 1] for s, p in zip(ds.series, parts, strict=True)])
    np.testing.assert_allclose(sc.center[:, 1], pooled.mean())
    np.testing.assert_allclose(sc.scale[:, 1], pooled.std())
    for i, (s, p) in enumerate(zip(ds.series, parts, strict=True)):
        np.testing.assert_allclose(sc.center[i, 0], s.values[: p.train_end, 0].mean())
    scaled = [sc.transform(i, s.values[:1])[0, 1] for i, s in enumerate(ds.series)]
    assert scaled[0] < 0 < scaled[1]  # the network sees which tank is the larger


def test_preview_shows_the_roles_of_the_inputs(tmp_path: Path) -> None:
    cfg = project(tmp_path, data={"past_features": ["x"]}, windows={"horizon": 2}, evaluate={"horizon": 2})
    doc = json.loads(invoke("window-preview", cfg, "--json").stdout)
    assert (doc["features"], doc["past_features"], doc["static"]) == (["x", "size"], ["x"], ["size"])
    assert doc["x_shape"] == [16, 6, 3]
    text = " ".join(invoke("window-preview", cfg).stdout.split())
    assert "inputs, in this order: targets ['y']; past_features ['x'] (up to the forecast origin only" in text
    assert "static ['size'] (one value per series" in text


def test_the_training_header_names_each_kind_of_input_and_the_cell_as_keras_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seqcast import console
    from seqcast.pipeline import prepare

    sections = {"windows": {"horizon": 2}, "evaluate": {"horizon": 2}, "model": {"cell": "simple_rnn"}}
    cfg = load_config(project(tmp_path, data={"past_features": ["x"], "series_id": True}, **sections))
    console.train_header(prepare(cfg))  # no TensorFlow: the transform is set
    said = " ".join(capsys.readouterr().out.split())
    assert "targets ['y'], past_features ['x'], static ['size'], series_id (2 columns)" in said
    assert "model many_to_one SimpleRNN(4)" in said and "features ['x', 'size'" not in said


# ---------------------------------------------------------------- past_features: where they are allowed


@pytest.mark.parametrize(
    ("sections", "says"),
    [
        ({"windows": {"mode": "stateful"}, "model": {"kind": "many_to_many"}}, "stateful many_to_many feeds its"),
        (
            {"windows": {"mode": "stateful", "horizon": 3}, "model": {"kind": "many_to_one"}},
            "stateful many_to_one feeds",
        ),
        ({"model": {"kind": "many_to_many"}}, "lookback many_to_many feeds its forecasts back as inputs"),
        ({"windows": {"horizon": 2}, "evaluate": {"horizon": 3}}, "windows.horizon >= evaluate.horizon (it is 2 < 3)"),
    ],
)
def test_past_features_without_a_direct_head_are_a_config_error(
    tmp_path: Path, sections: dict[str, Any], says: str
) -> None:
    extra = {k: v for k, v in sections.items() if k != "model"}
    cfg = project(
        tmp_path,
        data={"past_features": ["x"]},
        model={"units": [4], "ensemble": 1} | sections.get("model", {}),
        **extra,
    )
    res = invoke("window-preview", cfg, code=2)
    text = " ".join(res.stderr.split())
    assert "data.past_features" in text and says in text


# ---------------------------------------------------------------- end to end, against plain Keras by hand


def by_hand(run: Path, csv: Path, steps: int) -> dict[str, np.ndarray]:
    """The forecast of a look-back many_to_one model with plain Keras: the last look_back rows of every series,
    scaled as preprocess.json says, then (horizon 1) each prediction appended with the series' static value."""
    import pandas as pd

    model = keras.saving.load_model(run / "model.keras")
    pre = json.loads((run / "preprocess.json").read_text())
    data = pd.read_csv(csv)
    for n in pre["series_ids"]:  # data.series_id: a 0/1 column per training series, 1 in its own rows
        data[f"series={n}"] = (data.tank == n).astype(float)
    out = {}
    for name in N:
        stats = pre["scaler"]["series"][name]
        center = np.array([stats[c]["center"] for c in pre["inputs"]])
        scale = np.array([stats[c]["scale"] for c in pre["inputs"]])
        rows = (data[data.tank == name][pre["inputs"]].to_numpy() - center) / scale
        window, got = rows[-pre["look_back"] :].astype(np.float32), []
        while len(got) < steps:
            y = np.asarray(model(window[None]))[0]  # (horizon, targets), model units
            got += list(y[:, 0])
            if pre["past_features"]:
                break  # a direct forecast: one call
            new = np.column_stack([y[:, 0], np.repeat(window[-1:, 1:], len(y), 0)])  # the static value repeated
            window = np.concatenate([window, new])[-pre["look_back"] :].astype(np.float32)
        out[name] = np.array(got[:steps]) * scale[0] + center[0]
    return out


@pytest.mark.slow
def test_static_forecast_needs_no_future_and_equals_plain_keras(tmp_path: Path) -> None:
    cfg = project(tmp_path)
    invoke("train", cfg, "--quiet")
    out = tmp_path / "fc.csv"
    invoke("forecast", "--run", tmp_path / "run", "--steps", 4, "--output", out)  # no --future: static only
    import pandas as pd

    fc = pd.read_csv(out)
    expect = by_hand(tmp_path / "run", tmp_path / "panel.csv", 4)
    for name in N:
        np.testing.assert_allclose(fc[fc.tank == name]["y"].to_numpy(), expect[name], atol=1e-5, rtol=1e-5)
    doc = json.loads(invoke("evaluate", "--run", tmp_path / "run", "--json").stdout)
    assert doc["origins"] > 0 and np.isfinite(doc["model"]["mase"])


def test_future_columns_of_static_and_past_features_are_said_to_be_unread(tmp_path: Path) -> None:
    """A --future file that carries the static size and the past-only x beside the known feature: the forecast
    reads neither (size is each series' own, x has no future), and a user who filled them must hear so."""
    import pandas as pd

    csv = pd.read_csv(io.StringIO(panel_csv()))
    csv["w"] = csv["t"] % 3  # a known-ahead feature (data.features)
    csv.to_csv(tmp_path / "panel.csv", index=False)
    cfg = project(tmp_path, csv=(tmp_path / "panel.csv").read_text(), data={"features": ["w"], "past_features": ["x"]},
                  windows={"look_back": 6, "horizon": 2}, evaluate={"horizon": 2})  # fmt: skip
    invoke("train", cfg, "--quiet")
    run, fut = tmp_path / "run", tmp_path / "future.csv"
    rows = [f"{t},{name},{t % 3},{99.0},{SIZE[name] + 50}" for name, n in N.items() for t in (n, n + 1)]
    fut.write_text("t,tank,w,x,size\n" + "\n".join(rows) + "\n")
    first = invoke("forecast", "--run", run, "--steps", 2, "--future", fut, "--output", tmp_path / "a.csv")
    said = " ".join(first.stderr.split())
    assert (
        "the --future file's columns 'x', 'size' are not read: data.past_features are known up to the forecast "
        "origin only; data.static values are each series' own, from its history" in said
    ), said
    fut.write_text("t,tank,w\n" + "\n".join(r.rsplit(",", 2)[0] for r in rows) + "\n")  # the known column only
    second = invoke("forecast", "--run", run, "--steps", 2, "--future", fut, "--output", tmp_path / "b.csv")
    assert "not read" not in second.stderr
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()  # x and size changed nothing


@pytest.mark.slow
def test_past_features_forecast_directly_and_are_never_read_ahead(tmp_path: Path) -> None:
    cfg = project(
        tmp_path,
        data={"past_features": ["x"], "static": []},
        windows={"look_back": 6, "horizon": 3},
        evaluate={"horizon": 3},
    )
    invoke("train", cfg, "--quiet")
    run, out = tmp_path / "run", tmp_path / "fc.csv"
    invoke("forecast", "--run", run, "--steps", 3, "--output", out)  # no --future needed
    import pandas as pd

    fc = pd.read_csv(out)
    expect = by_hand(run, tmp_path / "panel.csv", 3)
    for name in N:
        np.testing.assert_allclose(fc[fc.tank == name]["y"].to_numpy(), expect[name], atol=1e-5, rtol=1e-5)

    res = invoke("forecast", "--run", run, "--steps", 4, code=2)  # a fifth step would need x ahead
    text = " ".join(res.stderr.split())
    assert "--steps" in text and "data.past_features ['x']" in text and "windows.horizon=3" in text
    assert "hint: forecast at most 3 steps" in text and "(then give --future)" in text
    res = invoke("evaluate", "--run", run, "--horizon", 4, code=2)
    text = " ".join(res.stderr.split())
    assert "--horizon" in text and "hint: backtest at most 3 steps" in text and "--future" not in text

    # a backtest origin's forecast depends on x before the origin only: change x after it, the same forecast
    from seqcast import run as runs
    from seqcast.forecast import forecast_origins

    opened = runs.open_run(run)
    ds = load_dataset(opened.cfg.data)
    values = [s.values.copy() for s in ds.series]
    jobs = [(0, 40), (1, 30)]
    fut = [values[i][o : o + 3, 1:] for i, o in jobs]
    before = forecast_origins(opened, values, ds.names, jobs, 3, fut)
    for (i, o), f in zip(jobs, fut, strict=True):
        values[i][o:, 1] += 100.0
        f[:, 0] += 100.0
    after = forecast_origins(opened, values, ds.names, jobs, 3, fut)
    np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------- data.series_id: a learned vector per series


def test_series_id_adds_one_column_per_training_series(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path, data={"series_id": True}))
    ds = load_dataset(cfg.data)
    assert ds.inputs == ["y", "size", "series=A", "series=B"] and ds.static == ["size", "series=A", "series=B"]
    assert [s.values[:, 2:].tolist()[0] for s in ds.series] == [[1.0, 0.0], [0.0, 1.0]]
    assert all((s.values[:, 2:] == s.values[:1, 2:]).all() for s in ds.series)  # one value per series
    # at forecast time the run's list decides the columns, whatever the file holds; a series outside it is refused
    only_b = load_dataset(cfg.data, ["B", "A"])
    assert only_b.inputs[2:] == ["series=B", "series=A"] and only_b.series[0].values[0, 2:].tolist() == [0.0, 1.0]
    with pytest.raises(DataError) as err:
        load_dataset(cfg.data, ["A"])
    assert "series ['B'] were not in the training data: with data.series_id" in err.value.message


def test_series_id_needs_a_series_column(tmp_path: Path) -> None:
    cfg = project(tmp_path, data={"series_id": True, "series_column": None})
    res = invoke("window-preview", cfg, code=2)
    assert "data.series_id: an input column per series needs data.series_column" in " ".join(res.stderr.split())


@pytest.mark.slow
def test_series_id_run_forecasts_evaluates_and_refuses_a_new_series(tmp_path: Path) -> None:
    cfg = project(tmp_path, data={"series_id": True, "scaler_scope": "global"})
    text = " ".join(invoke("window-preview", cfg).stdout.split())
    assert "series identity: 2 columns series=<name>" in text
    # a global scaler alone would let forecast --data take a new series; the identity columns do not
    assert json.loads(invoke("window-preview", cfg, "--json").stdout)["scaler"]["new_series"] is False
    assert json.loads(invoke("window-preview", cfg, "--json", "--set", "data.series_id=false").stdout)["scaler"][
        "new_series"
    ]
    invoke("train", cfg, "--quiet")
    run, out = tmp_path / "run", tmp_path / "fc.csv"
    pre = json.loads((run / "preprocess.json").read_text())
    assert pre["series_ids"] == ["A", "B"] and pre["inputs"] == ["y", "size", "series=A", "series=B"]
    invoke("forecast", "--run", run, "--steps", 3, "--output", out)
    import pandas as pd

    fc = pd.read_csv(out)
    expect = by_hand(run, tmp_path / "panel.csv", 3)  # the identity columns repeated like any static column
    for name in N:
        np.testing.assert_allclose(fc[fc.tank == name]["y"].to_numpy(), expect[name], atol=1e-5, rtol=1e-5)
    doc = json.loads(invoke("evaluate", "--run", run, "--json").stdout)
    assert np.isfinite(doc["model"]["mase"])
    # a global scaler would forecast a new series, but it has no identity column: refused by name
    z = tmp_path / "z.csv"
    z.write_text("\n".join(line.replace(",B,", ",Z,") for line in panel_csv().splitlines() if ",A," not in line))
    res = invoke("forecast", "--run", run, "--steps", 3, "--data", z, code=1)
    assert "series ['Z'] were not in the training data: with data.series_id" in " ".join(res.stderr.split())


@pytest.mark.parametrize("transform", ["window_norm", "difference", "deseason+window_norm"])
@pytest.mark.parametrize("series_id", [False, True])
def test_static_and_identity_inputs_pass_through_the_level_free_transforms(
    tmp_path: Path, transform: str, series_id: bool
) -> None:
    """A difference or a window's reference made every constant-per-series input 0, so two series with the same
    history got the same forecast whatever their static values and identities: they keep their values now."""
    import pandas as pd

    rows = [f"{t},{name},{np.sin(t / 4) + 0.05 * t:.6f},{np.sin((t + 1) / 4):.6f},{SIZE[name]}" for name in N
            for t in range(48)]  # fmt: skip
    cfg = project(tmp_path, csv="t,tank,y,x,size\n" + "\n".join(rows) + "\n",
                  data={"transform": transform, "series_id": series_id, "scaler_scope": "global"},
                  evaluate={"season": 4, "intervals": []})  # fmt: skip
    invoke("train", cfg, "--quiet")
    run = tmp_path / "run"
    pre = json.loads((run / "preprocess.json").read_text())
    assert pre["transform_keeps_static"] and len(pre["static"]) == 1 + 2 * series_id
    units = np.load(run / "state.npz")["tail_units"]  # (series, rows, inputs)
    fixed = units[:, :, -len(pre["static"]) :]
    assert (fixed == fixed[:, :1]).all() and not np.allclose(fixed[0], fixed[1])  # constant, one value per series
    out = invoke("forecast", "--run", run, "--steps", 3, "--data", tmp_path / "panel.csv", "--output", "-").stdout
    fc = pd.read_csv(io.StringIO(out))
    a, b = (fc[fc.tank == n]["y"].to_numpy() for n in N)
    assert np.abs(a - b).max() > 1e-6, (a, b)  # the same history, another size (and identity): another forecast


def test_update_refuses_new_rows_whose_static_value_is_not_the_series_own(tmp_path: Path) -> None:
    """train and forecast --data refuse a static column that changes; update did not, and the state carried the
    new value into every forecast."""
    invoke("train", project(tmp_path), "--quiet")
    run = tmp_path / "run"
    before = (run / "state.npz").read_bytes()
    (tmp_path / "bad.csv").write_text("t,tank,y,x,size\n60,A,0.5,0.5,4.0\n61,A,0.5,0.5,4.0\n")
    res = invoke("update", "--run", run, "--data", tmp_path / "bad.csv", code=1)
    assert "series 'A': static column 'size' is 4 at 60, but 3 in the run" in " ".join(res.output.split())
    assert (run / "state.npz").read_bytes() == before
    (tmp_path / "good.csv").write_text("t,tank,y,x,size\n60,A,0.5,0.5,3.0\n61,A,0.5,0.5,3.0\n")
    invoke("update", "--run", run, "--data", tmp_path / "good.csv")
    assert (run / "state.npz").read_bytes() != before


def test_forecast_data_says_when_a_static_value_is_not_the_run_s(tmp_path: Path) -> None:
    """update refuses a static value unlike the series' own; forecast --data forecasts with it (a what-if) and
    says so, naming the series, the column and both values, where it used to change the numbers without a word."""
    invoke("train", project(tmp_path), "--quiet")
    run, out = tmp_path / "run", tmp_path / "fc.csv"
    same = invoke("forecast", "--run", run, "--steps", 2, "--data", tmp_path / "panel.csv", "--output", out)
    assert "static column" not in same.output
    lines = panel_csv().splitlines()
    bigger = [ln[: ln.rindex(",")] + ",9.0" if ",B," in ln else ln for ln in lines]  # B: 7 -> 9 on every row
    (tmp_path / "what_if.csv").write_text("\n".join(bigger) + "\n")
    res = invoke("forecast", "--run", run, "--steps", 2, "--data", tmp_path / "what_if.csv", "--output", out)
    said = " ".join(res.output.split())
    assert "static column 'size' differs from the run's value in series 'B': 9 (the run: 7): the forecast uses" in said
    assert "'A':" not in said


def test_a_covariate_constant_in_one_series_training_part_is_said_once() -> None:
    """Store B never ran a promotion in its training part: scaled per series, its flag has no spread there, and a
    later promotion would reach its network in other units than A's. Said once (the scaler is fitted again after
    a log), naming the column and the series; a global scaling, or a flag constant everywhere, says nothing."""
    from seqcast.data import Dataset, Parts, Series

    t = np.arange(20)
    promo_a, promo_b = (t % 5 == 0).astype(float), np.where(t >= 15, 1.0, 0.0)  # B: first promotion in its test part
    ds = Dataset(
        [Series("A", t, np.column_stack([t + 1.0, promo_a])), Series("B", t, np.column_stack([t + 2.0, promo_b]))],
        ["y"], ["promo"], "integer", None, "memory",
    )  # fmt: skip
    parts = [Parts(12, 15, 20)] * 2
    Scaler.fit("standard", ds, parts)
    Scaler.fit("standard", ds, parts)
    said = [n for n in ds.notes if "constant in the training part" in n]
    assert said == [
        "column 'promo' is constant in the training part of series ['B']: scaled per series, it has no spread there "
        "to scale by, so a later change reaches the network in other units than where it varied; "
        "data.scaler_scope: global scales every series alike"
    ]
    ds.notes.clear()
    Scaler.fit("standard", ds, parts, scope="global")
    for s in ds.series:
        s.values[:, 1] = 0.0
    Scaler.fit("standard", ds, parts)
    assert ds.notes == []


def test_the_static_value_note_is_one_per_column_with_five_series_and_full_digits() -> None:
    from types import SimpleNamespace

    from seqcast.static import changed

    series = [SimpleNamespace(name=f"S{k}", label=f"series 'S{k}'", values=np.array([[0.0, 1234567.0 + k]]))
              for k in range(8)]  # fmt: skip
    known = {f"S{k}": np.array([0.0, 1234567.0 + (k != 0)]) for k in range(8)}  # S0 keeps its value
    said = changed(["y", "size", "series=S0"], ["size", "series=S0"], known, series)
    assert said == [
        "static column 'size' differs from the run's value in series 'S2': 1234569 (the run: 1234568); series "
        "'S3': 1234570 (the run: 1234568); series 'S4': 1234571 (the run: 1234568); series 'S5': 1234572 (the run: "
        "1234568); series 'S6': 1234573 (the run: 1234568) and 1 more: the forecast uses the history's (update "
        "would refuse it)"
    ]
    alone = SimpleNamespace(name="", label="the series", values=np.array([[0.0, 9.0]]))  # no series column
    assert changed(["y", "size"], ["size"], {"": np.array([0.0, 7.0])}, [alone]) == [
        "static column 'size' differs from the run's value in the series: 9 (the run: 7): the forecast uses the "
        "history's (update would refuse it)"
    ]
