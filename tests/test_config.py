"""The YAML config: defaults, `--set` overrides, errors that name the key, paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqcast.config import Config, Split, apply_overrides, load_config, parse_override
from seqcast.errors import ConfigError

BASE = "data:\n  path: data.csv\n  targets: [y]\n"


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    (tmp_path / "data.csv").write_text("year,y\n2000,1\n")
    return tmp_path / "cfg.yaml"


def config_error(path: Path, text: str, overrides: list[str] | None = None) -> str:
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    assert err.value.exit_code == 2
    return err.value.render()


def test_defaults_filled_in(cfg_file: Path) -> None:
    cfg_file.write_text(BASE)
    cfg = load_config(cfg_file)
    assert cfg.data.targets == ["y"] and cfg.data.features == []
    assert (cfg.data.missing, cfg.data.scaler, cfg.data.transform) == ("error", "standard", "auto")
    assert (cfg.data.split.val, cfg.data.split.test) == (0.1, 0.2)
    w = cfg.windows
    assert (w.mode, w.look_back, w.horizon, w.stride, w.num_steps, w.streams) == ("lookback", 24, 1, 1, 96, 8)
    assert (cfg.model.kind, cfg.model.cell, cfg.model.units, cfg.model.dropout) == ("many_to_one", "lstm", [64, 32], 0)
    t = cfg.training
    assert (t.epochs, t.batch_size, t.learning_rate, t.loss, t.reset_states) == (50, 32, 0.001, "mse", "epoch")
    assert t.shuffle is True  # lookback mode: shuffled
    assert (t.distribute, t.early_stopping.patience, t.seed) == ("none", 20, 0)
    assert (cfg.evaluate.season, cfg.evaluate.horizon) == (1, 1)
    assert not cfg.stateful and cfg.inputs == ["y"]


@pytest.mark.parametrize(
    ("extra", "kind", "look_back"),
    [
        ("", "many_to_one", 24),  # no season: one target at the window's end, 24 steps
        ("evaluate:\n  season: 4\n", "many_to_many", 12),  # seasonal: a target at every step, max(12, season + 1)
        ("evaluate:\n  season: 24\n", "many_to_many", 25),
        ("evaluate:\n  season: 4\nmodel:\n  kind: many_to_one\n", "many_to_one", 12),  # a kind set is kept
        ("evaluate:\n  season: 4\nwindows:\n  horizon: 3\n", "many_to_one", 12),  # several steps per sample
        ("evaluate:\n  season: 4\nwindows:\n  mode: stateful\n", "many_to_one", 12),  # stateful: not measured
        ("evaluate:\n  season: 4\nwindows:\n  look_back: 6\nmodel:\n  cell: gru\n", "many_to_many", 6),
    ],
)
def test_kind_and_look_back_resolve_by_season(cfg_file: Path, extra: str, kind: str, look_back: int) -> None:
    cfg_file.write_text(BASE + extra)
    cfg = load_config(cfg_file)
    assert (cfg.model.kind, cfg.windows.look_back) == (kind, look_back)
    assert Config.model_validate(cfg.to_dict()).to_dict() == cfg.to_dict()  # the resolved values are written out


def test_seasonal_look_back_with_past_features_keeps_a_direct_head(cfg_file: Path) -> None:
    (cfg_file.parent / "data.csv").write_text("year,y,p\n2000,1,2\n")
    cfg_file.write_text(BASE + "  past_features: [p]\nevaluate:\n  season: 4\n")
    assert load_config(cfg_file).model.kind == "many_to_one"  # many_to_many would need the future of p


def test_resolved_config_round_trips(cfg_file: Path) -> None:
    cfg_file.write_text(BASE + "windows:\n  mode: stateful\n")
    cfg = load_config(cfg_file)
    doc = cfg.to_dict()
    assert doc["training"]["shuffle"] is False  # stateful: never shuffled, and the default is written out
    assert doc["windows"]["mode"] == "stateful"
    assert Config.model_validate(yaml.safe_load(yaml.safe_dump(doc))).to_dict() == doc


def test_relative_data_path_resolves_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "configs").mkdir()
    cwd = tmp_path / "work" / "here"  # a different depth: resolving against cwd would give work/sample/x.csv
    cwd.mkdir(parents=True)
    path = tmp_path / "configs" / "tanks.yaml"
    path.write_text("data:\n  path: ../sample/x.csv\n  targets: y\n")
    monkeypatch.chdir(cwd)
    cfg = load_config(path)
    assert cfg.data.path == (tmp_path / "sample" / "x.csv").resolve()
    assert cfg.data.targets == ["y"]  # one name is a list of one
    # output.dir defaults to runs/<config stem>, against the current directory
    assert cfg.output.dir == (cwd / "runs" / "tanks").absolute()
    # a relative config path works the same
    assert load_config(Path("../../configs/tanks.yaml")).data.path == (tmp_path / "sample" / "x.csv").resolve()


def test_absolute_data_path_and_explicit_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "abs.csv"
    path = tmp_path / "c.yaml"
    path.write_text(f"data:\n  path: {data}\n  targets: [y]\noutput:\n  dir: out/here\n")
    cfg = load_config(path)
    assert cfg.data.path == data
    assert cfg.output.dir == tmp_path / "out" / "here"


def test_output_dir_is_printed_without_dot_dot_and_a_link_as_its_last_name_stays_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path.resolve()
    (tmp_path / "work").mkdir()
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    (tmp_path / "work" / "link").symlink_to(tmp_path / "elsewhere" / "deep")
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  path: x.csv\n  targets: [y]\noutput:\n  dir: ../runs/x\n")
    monkeypatch.chdir(tmp_path / "work")
    assert load_config(path).output.dir == tmp_path / "runs" / "x"  # not <tmp>/work/../runs/x
    # a `..` after a link means the link target's parent, as the file system reads it
    assert load_config(path, ["output.dir=link/../y"]).output.dir == tmp_path / "elsewhere" / "y"
    # the last name is kept: a link there is refused as a link by train, not followed
    assert load_config(path, ["output.dir=link"]).output.dir == tmp_path / "work" / "link"
    assert load_config(path, ["output.dir=.."]).output.dir == tmp_path


def test_set_overrides_reach_nested_keys_and_parse_yaml(cfg_file: Path) -> None:
    cfg_file.write_text(BASE + "model:\n  units: [8]\n")
    cfg = load_config(
        cfg_file,
        [
            "model.units=[64,32]",
            "training.epochs=3",
            "training.learning_rate=1e-2",
            "data.split.test=5",
            "training.early_stopping.patience=null",
            "model.cell=gru",
            "data.features=[a, b]",
        ],
    )
    assert cfg.model.units == [64, 32]
    assert cfg.training.epochs == 3
    assert cfg.training.learning_rate == 0.01
    assert cfg.data.split.test == 5 and isinstance(cfg.data.split.test, int)
    assert cfg.training.early_stopping.patience is None
    assert cfg.model.cell == "gru"
    assert cfg.data.features == ["a", "b"]


def test_set_creates_missing_sections(cfg_file: Path) -> None:
    cfg_file.write_text(BASE)
    cfg = load_config(cfg_file, ["windows.mode=stateful", "windows.num_steps=12"])
    assert cfg.stateful and cfg.windows.num_steps == 12 and cfg.training.shuffle is False


def test_parse_override() -> None:
    assert parse_override("model.units=[64,32]") == (["model", "units"], [64, 32])
    assert parse_override(" training.shuffle =false") == (["training", "shuffle"], False)
    assert parse_override("data.path=a=b.csv") == (["data", "path"], "a=b.csv")
    assert parse_override("output.dir=") == (["output", "dir"], None)


def test_apply_overrides_on_raw_mapping() -> None:
    raw = {"data": {"path": "x.csv"}}
    assert apply_overrides(raw, ["data.split.val=0.3", "model.units=16"]) == {
        "data": {"path": "x.csv", "split": {"val": 0.3}},
        "model": {"units": 16},
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training", "--set expects KEY=VALUE, got 'training'"),
        ("=3", "--set expects KEY=VALUE, got '=3'"),
        ("data.path.x=1", "--set data.path.x: data.path is not a section"),
        ("model.units=[1,", "--set model.units: value '[1,' is not valid YAML"),
        ("model.units=[64, 32", "hint: close the list: --set 'model.units=[64, 32]'"),  # quoting makes a text
        ("data.split={val: 0.1", "hint: close the mapping: --set 'data.split={val: 0.1}'"),
        ("data.time_format=%d.%m.%Y", "value '%d.%m.%Y' is not valid YAML (expected alphabetic or numeric character"),
        ("data.time_format=%d.%m.%Y", """hint: quote a text value: --set 'data.time_format="%d.%m.%Y"'"""),
        (".model=1", "--set .model: a key with an empty part"),
        ("model..units=[4]", "--set model..units: a key with an empty part"),
        ("MODEL.units=[4]", "--set: MODEL: unknown key; did you mean 'model'?"),
    ],
)
def test_bad_set_overrides(cfg_file: Path, override: str, message: str) -> None:
    assert message in config_error(cfg_file, BASE, [override])


def test_a_quoted_number_is_a_list_of_one_where_a_list_is_due(cfg_file: Path) -> None:
    """As "5" is 5 for a number: "64" is [64] for model.units, as 64 is; "80" is [80] for evaluate.intervals."""
    cfg_file.write_text(BASE + 'model:\n  units: "64"\nevaluate:\n  intervals: "80"\n')
    cfg = load_config(cfg_file)
    assert cfg.model.units == [64] and cfg.evaluate.intervals == [80]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("training:\n  epochs: 0\n", "training.epochs: should be greater than 0, not 0"),
        ("windows:\n  look_back: -2\n", "windows.look_back: should be greater than 0, not -2"),
        ("model:\n  units: [4, 0]\n", "model.units: layer 1 has 0 units: every layer needs at least 1 unit"),
        ("model:\n  units: -1\n", "model.units: the layer has -1 units: every layer needs at least 1 unit"),
        ("model:\n  dropout: 1.0\n", "model.dropout: should be less than 1, not 1.0"),
        ("model:\n  cell: transformer\n", "model.cell: should be 'lstm', 'gru' or 'simple_rnn', not 'transformer'"),
        ("training:\n  epochs: many\n", "training.epochs: should be a valid integer, not 'many'"),
        ("data:\n  split: {val: 1.5}\n", "data.split.val: a fraction must be below 1"),
        ("data:\n  split: {test: -0.1}\n", "data.split.test: must be a fraction in [0, 1) or a row count"),
    ],
)
def test_errors_name_the_key(cfg_file: Path, text: str, message: str) -> None:
    # later sections replace the base's keys, so merge by hand: the data section stays valid
    raw = yaml.safe_load(BASE)
    for section, values in yaml.safe_load(text).items():
        raw.setdefault(section, {}).update(values)
    rendered = config_error(cfg_file, yaml.safe_dump(raw))
    assert rendered.startswith(f"{cfg_file}: {message}")


@pytest.mark.parametrize(
    ("override", "message"),
    [  # pydantic's union branches (.float, .int) and class names (Split) are no keys a user could look up
        ("data.split.val=abc", "--set: data.split.val: should be a valid number or a valid integer, not 'abc'"),
        ("data.split=0.2", "--set: data.split: should be a section of keys (val, test), not 0.2"),
        (
            "data=null",
            "--set: data: should be a section of keys (path, time_column, time_format, series_column, ...), not null",
        ),  # fmt: skip
        ("model.units=[a]", "--set: model.units.0: should be a valid integer, not 'a'"),
        ("model.units=64,32", "--set: model.units: should be a list, written in brackets: [64,32], not '64,32'"),
        ("model.units=[]", "--set: model.units: should have at least 1 entry, not []"),
        (
            "data.transform=log+diference",
            "--set: data.transform: 'log+diference' is not a transform (did you mean 'difference' for 'diference'?)",
        ),  # fmt: skip
        ("data.path=a: b", "--set: data.path: should be a file path, not {'a': 'b'}"),
        (
            "model.units=[40000]",
            "--set: model.units: 3 networks (model.ensemble) of 40,000 units side by side make a "
            "layer of 120,000 units, beyond the 65,536 seqcast trains",
        ),  # fmt: skip
        (
            "data.transform=foo",
            "--set: data.transform: 'foo' is not a transform: 'auto' (the default: chosen on "
            "validation), 'none', or steps of",
        ),  # fmt: skip
    ],
)
def test_errors_are_in_the_configs_words(cfg_file: Path, override: str, message: str) -> None:
    text = config_error(cfg_file, BASE, [override])
    assert text.startswith(message)
    assert "Input should" not in text and ".float" not in text and ".int" not in text and "class" not in text


def test_an_error_names_the_file_unless_every_key_at_fault_came_from_set(cfg_file: Path) -> None:
    assert config_error(cfg_file, BASE, ["training.epocs=2"]).startswith("--set: training.epocs: unknown key")
    bad = BASE + "training:\n  epochs: 0\n"
    assert config_error(cfg_file, bad, ["model.dropout=0.1"]).startswith(f"{cfg_file}: training.epochs")
    both = config_error(cfg_file, bad, ["model.dropout=1.0"])  # one key from each: the file is named
    assert both.startswith(f"{cfg_file}: ") and "model.dropout" in both and "training.epochs" in both
    assert config_error(cfg_file, bad, ["training.epochs=-1"]).startswith("--set: training.epochs")


def test_a_clash_of_two_keys_is_sets_when_set_gave_either(cfg_file: Path) -> None:
    """A column in targets and features: --set's error if --set gave the targets, the features, or both, named by
    the key --set gave (the one the user just changed), not by the one the file gave."""
    with_x = BASE + "  features: [x]\n"
    clash = "column 'x' is listed in targets and in features: each column has one role"
    assert config_error(cfg_file, with_x, ["data.targets=[y, x]"]) == f"--set: data.targets: {clash}"
    assert (
        config_error(cfg_file, with_x, ["data.targets=[y, x]", "data.features=[x]"]) == f"--set: data.features: {clash}"
    )
    assert config_error(cfg_file, BASE, ["data.features=[y]"]).startswith("--set: data.features: column 'y'")
    assert config_error(cfg_file, BASE + "  features: [y]\n", ["training.epochs=2"]).startswith(f"{cfg_file}: ")


def test_an_empty_data_path_is_refused_and_a_tilde_is_the_home_folder(
    cfg_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """data.path "" was the config's own folder, read as a folder of data; `~` is expanded as in output.dir."""
    assert config_error(cfg_file, BASE.replace("data.csv", '""')) == (
        f"{cfg_file}: data.path: should be the data file or folder, not an empty path"
    )
    assert "data.path: '~nosuchuser/d.csv': no home folder for '~nosuchuser'" in config_error(
        cfg_file, BASE.replace("data.csv", "~nosuchuser/d.csv")
    )  # was RuntimeError, an unexpected error (exit 1)
    monkeypatch.setenv("HOME", str(cfg_file.parent / "home"))
    cfg_file.write_text(BASE.replace("data.csv", "~/d.csv"))
    assert load_config(cfg_file).data.path == cfg_file.parent / "home" / "d.csv"


def test_one_interval_level_is_a_list_of_one(cfg_file: Path) -> None:
    cfg_file.write_text(BASE + "evaluate:\n  intervals: 90\n")
    assert load_config(cfg_file).evaluate.intervals == [90]


def test_error_names_the_key_via_set(cfg_file: Path) -> None:
    assert (
        config_error(cfg_file, BASE, ["training.epochs=0"]) == "--set: training.epochs: should be greater than 0, not 0"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trainig:\n  epochs: 3\n", "trainig: unknown key; did you mean 'training'?"),
        ("training:\n  epoch: 3\n", "training.epoch: unknown key; did you mean 'training.epochs'?"),
        ("windows:\n  lookback: 3\n", "windows.lookback: unknown key; did you mean 'windows.look_back'?"),
        ("data:\n  scaling: none\n", "data.scaling: unknown key; did you mean 'data.scaler'?"),
        (
            "windows:\n  zzz: 3\n",
            "windows.zzz: unknown key; valid keys here: mode, look_back, horizon, stride, num_steps, streams",
        ),
    ],
)
def test_unknown_key_suggests_the_closest(cfg_file: Path, text: str, message: str) -> None:
    raw = yaml.safe_load(BASE)
    for section, values in yaml.safe_load(text).items():
        raw.setdefault(section, {}).update(values)
    assert config_error(cfg_file, yaml.safe_dump(raw)) == f"{cfg_file}: {message}"


def test_missing_required_keys(cfg_file: Path) -> None:
    assert config_error(cfg_file, "data:\n  path: x.csv\n") == f"{cfg_file}: data.targets: required key is missing"
    assert config_error(cfg_file, "windows: {}\n") == f"{cfg_file}: data: required key is missing"


def test_shuffle_with_stateful_is_an_error_naming_training_shuffle(cfg_file: Path) -> None:
    rendered = config_error(cfg_file, BASE + "windows:\n  mode: stateful\ntraining:\n  shuffle: true\n")
    assert rendered.startswith(f"{cfg_file}: training.shuffle: true cannot be used with windows.mode: stateful")
    # shuffle false is fine with stateful, shuffle true is fine with lookback
    cfg_file.write_text(BASE + "windows:\n  mode: stateful\ntraining:\n  shuffle: false\n")
    assert load_config(cfg_file).training.shuffle is False
    cfg_file.write_text(BASE + "training:\n  shuffle: false\n")
    assert load_config(cfg_file).training.shuffle is False


def test_encoder_decoder_with_stateful_names_model_kind(cfg_file: Path) -> None:
    rendered = config_error(cfg_file, BASE + "windows:\n  mode: stateful\nmodel:\n  kind: encoder_decoder\n")
    assert rendered.startswith(f"{cfg_file}: model.kind: encoder_decoder works on look-back windows")


def test_column_in_targets_and_features(cfg_file: Path) -> None:
    rendered = config_error(cfg_file, "data:\n  path: d.csv\n  targets: [y]\n  features: [y]\n")
    assert (
        rendered
        == f"{cfg_file}: data.features: column 'y' is listed in targets and in features: each column has one role"
    )
    rendered = config_error(cfg_file, "data:\n  path: d.csv\n  targets: [y]\n  past_features: [x]\n  static: [x]\n")
    assert (
        rendered
        == f"{cfg_file}: data.static: column 'x' is listed in past_features and in static: each column has one role"
    )
    rendered = config_error(cfg_file, "data:\n  path: d.csv\n  targets: [y]\n  static: [v, v]\n")
    assert rendered == f"{cfg_file}: data.static: column 'v' is listed twice: each column has one role"
    rendered = config_error(cfg_file, "data:\n  path: d.csv\n  targets: [y]\n  time_column: t\n  series_column: t\n")
    assert rendered == (
        f"{cfg_file}: data.series_column: 't' is data.time_column too: the times and the series' names need a "
        "column each"
    )


def test_malformed_yaml_gives_line_and_column(cfg_file: Path) -> None:
    rendered = config_error(cfg_file, BASE + "windows:\n  look_back: : 3\n")
    assert rendered == f"{cfg_file}: malformed YAML at line 5, column 14: mapping values are not allowed here"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the config file is empty; it needs at least data.path and data.targets"),
        ("- data\n", "the config must be a mapping of sections (data:, windows:, ...)"),
    ],
)
def test_empty_or_non_mapping_config(cfg_file: Path, text: str, message: str) -> None:
    assert config_error(cfg_file, text) == f"{cfg_file}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE + "model.units: [3]\n",
            "model.units: unknown key; a file nests its keys (model: {units: ...}); dots are for --set",
        ),
        (
            BASE + "model.unitz: [3]\n",
            "model.unitz: unknown key; a file nests its keys (model: {unitz: ...}); dots are for --set",
        ),
        (
            BASE + "model:\n  units.x: [3]\n",
            "model.units.x: unknown key; a file nests its keys (units: {x: ...}); dots are for --set",
        ),
        ("data:\n  path: null\n  targets: [y]\n", "data.path: should be a file path, not null"),
        (
            BASE + "  split: {val: 1.0}\n",
            "data.split.val: a fraction must be below 1 (1.0 would be every row; for one row write 1)",
        ),
    ],
)
def test_keys_a_file_gets_wrong(cfg_file: Path, text: str, message: str) -> None:
    assert config_error(cfg_file, text) == f"{cfg_file}: {message}"


def test_a_config_not_in_utf8_is_named_by_its_line(cfg_file: Path) -> None:
    cfg_file.write_bytes(b"data:\n  path: d\xe9ta.csv\n  targets: [y]\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file)
    assert err.value.render() == (
        f"cannot read config file {cfg_file}: it is not UTF-8 text (byte b'\\xe9' on line 2)\n"
        "  hint: save it as UTF-8, or convert it, e.g. iconv -f cp1252 -t utf-8"
    )


def test_a_utf16_config_is_named_as_such(cfg_file: Path) -> None:
    cfg_file.write_bytes(BASE.encode("utf-16"))
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file)
    assert err.value.render() == (
        f"cannot read config file {cfg_file}: it is UTF-16 text\n"
        "  hint: save it as UTF-8, or convert it: iconv -f utf-16 -t utf-8"
    )


def test_set_keys_are_read_as_yaml_reads_them_spaces_around_the_dots_aside() -> None:
    assert parse_override(" model . units =[3]") == (["model", "units"], [3])


def test_config_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found: .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_split_rows() -> None:
    assert Split(val=0.1, test=0.2).rows(100) == (10, 20)
    assert Split(val=0.15, test=0.3).rows(20) == (3, 6)
    assert Split(val=3, test=2.0).rows(100) == (3, 2)  # 2.0 is a row count
    assert isinstance(Split(test=2.0).test, int)
    assert Split(val=0, test=0.0).rows(7) == (0, 0)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"time_format": "%d.%m.%Y"}, "needs data.time_column"),
        ({"time_column": "t", "time_format": "dd.mm.yyyy"}, "has no % directive"),
    ],
)
def test_a_time_format_needs_a_time_column_and_strftime_directives(tmp_path: Path, data: dict, why: str) -> None:
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"data": {"path": "d.csv", "targets": ["y"], **data}}))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "cfg.yaml")
    assert "data.time_format" in str(err.value) and why in str(err.value), str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("column", "have", "hint"),
    [
        ("Sales", ["date", "sales"], "did you mean 'sales'?"),  # case
        ("temperatur", ["time", "temperature"], "did you mean 'temperature'?"),  # a close spelling
        ("store", ["order_date", "store_id", "y"], "did you mean 'store_id'?"),  # a whole part of the name
        ("date", ["order_date", "store_id", "y"], "did you mean 'order_date'?"),
        ("sales,promo", ["sales", "promo"], "a list of columns is written in brackets: [sales,promo]"),
        ("id", ["store_id", "y"], "did you mean 'store_id'?"),
        ("x", ["year", "y"], None),  # nothing near: no guess
        ("price", ["year", "y"], None),
    ],
)
def test_a_missing_column_gets_the_hint_a_user_would_need(column: str, have: list[str], hint: str | None) -> None:
    from seqcast.errors import near

    assert near(column, have) == hint


@pytest.mark.parametrize(
    ("name", "have", "same"),
    [
        ("north", ["North", "South"], ["North"]),
        ("101", ["0101", "0202"], ["0101"]),  # a spreadsheet drops a number's leading zeros
        ("0101", ["101", "11"], ["101"]),
        ("101", ["1010", "0110"], []),  # another number
        ("Tank E", ["Tank D"], []),  # no typo guessed: another series may be named so
        ("2", ["²", "02"], ["02"]),  # '²' is a digit to str.isdigit, and no number to int()
        ("1.0", ["1", "2", "10"], ["1"]),  # an integer id that pandas read as a float (a column with a null)
        ("01.0", ["1"], ["1"]),
        ("1.5", ["1", "15"], []),
        ("a.0", ["a"], []),  # not a number
    ],
)
def test_a_series_name_is_matched_but_for_case_spacing_and_leading_zeros(
    name: str, have: list[str], same: list[str]
) -> None:
    from seqcast.errors import same_series

    assert same_series(name, have) == same


def test_set_gave_names_config_keys_only() -> None:
    """cli.guarded files a config error under --set when its key came from --set: a key, its section or a key
    inside it; never a file path that happens to start like a section (data.yaml)."""
    from seqcast.config import set_gave

    assert set_gave("windows.look_back", ["windows.look_back=3"])
    assert set_gave("data.targets", ["data={path: x.csv, targets: [y]}"])  # inside a section --set gave
    assert set_gave("data", ["data.path=x.csv"])  # a section holding the key --set gave
    assert not set_gave("data.yaml", ["data={path: x.csv}"])  # a file named like a section
    assert not set_gave("model.units", ["model.ensemble=4"])  # a sibling key
    assert not set_gave("--set: model.units", ["model.units=[4]"])  # said already
    assert not set_gave("model.units", ["model.units=[4"])  # a malformed --set, refused before: ignored here
