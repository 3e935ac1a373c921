"""The YAML config: nested pydantic models, `--set` overrides, errors that name the key."""

from __future__ import annotations

import contextlib
import difflib
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from seqcast.config_data import BIG as BIG
from seqcast.config_data import DataConfig as DataConfig
from seqcast.config_data import Resample as Resample
from seqcast.config_data import Split as Split
from seqcast.config_data import _KeyedError, _Section, home
from seqcast.errors import ConfigError
from seqcast.transforms import Transform


class WindowsConfig(_Section):
    """windows: look-back windows or stateful streams, and their sizes."""

    mode: Literal["lookback", "stateful"] = "lookback"
    look_back: int = Field(24, gt=0, le=BIG)  # unset with evaluate.season > 1: max(12, season + 1), see Config
    horizon: int = Field(1, gt=0, le=BIG)
    stride: int = Field(1, gt=0, le=BIG)
    num_steps: int = Field(96, gt=0, le=BIG)
    streams: int = Field(8, gt=0, le=BIG)


def _quoted_int(v: Any) -> bool:
    """A quoted whole number ("64"), which a key that takes a list takes as a list of one, as it takes 64; not
    "64,32", which a list is written [64, 32] for (pydantic then says a list is due)."""
    return isinstance(v, str) and v.strip().lstrip("+-").isdigit()


class ModelConfig(_Section):
    """model: the kind (many_to_one, many_to_many, encoder_decoder), the cell and the layers."""

    # unset: many_to_many for look-back windows with evaluate.season > 1 and one step per sample, see Config
    kind: Literal["many_to_one", "many_to_many", "encoder_decoder"] = "many_to_one"
    cell: Literal["lstm", "gru", "simple_rnn"] = "lstm"
    units: list[int] = Field(default_factory=lambda: [64, 32], min_length=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    # networks trained with seeds seed .. seed + ensemble - 1 and averaged (one model.keras; model.merge). 3: on the
    # development series' validation parts, geometric mean MASE 0.527 against 0.532 for one network, and half
    # the spread between seeds, for little more time on small series (bench/ACCURACY.md)
    ensemble: int = Field(3, ge=1, le=16)

    @field_validator("units", mode="before")
    @classmethod
    def _one_size_is_a_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, int) or _quoted_int(v) else v  # "64", a quoted number, is 64 as elsewhere: [64]

    @field_validator("units")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        for k, u in enumerate(v):
            which = f"layer {k} has" if len(v) > 1 else "the layer has"
            if u <= 0:
                raise ValueError(f"{which} {u} units: every layer needs at least 1 unit")
            if u > 65_536:
                raise ValueError(f"{which} {u:,} units: a layer of more than 65,536 is beyond what seqcast trains")
        return v

    @model_validator(mode="after")
    def _ensemble_fits(self) -> ModelConfig:
        """The ensemble's networks are side by side in one layer (model.merge): that layer is what must fit."""
        if self.ensemble * max(self.units) > 65_536:
            wide = f"{self.ensemble} networks (model.ensemble) of {max(self.units):,} units side by side"
            raise _KeyedError("units", f"{wide} make a layer of {self.ensemble * max(self.units):,} units, beyond the "
                              "65,536 seqcast trains", ("ensemble",))  # fmt: skip
        return self


class EarlyStopping(_Section):
    # null switches early stopping off; 20, not 10: small series plateau for 10+ epochs (bench/ACCURACY.md)
    """training.early_stopping: epochs without improvement before stopping (null: off)."""

    patience: int | None = Field(20, ge=1, le=BIG)  # 0 stopped before the first epoch: null switches it off


class TrainingConfig(_Section):
    """training: epochs, batches, optimizer, loss, state resets, shuffling, devices, seed."""

    epochs: int = Field(50, gt=0, le=1_000_000)
    batch_size: int = Field(32, gt=0, le=1_000_000)
    learning_rate: float = Field(0.001, gt=0)
    loss: Literal["mse", "mae", "huber"] = "mse"
    reset_states: Literal["epoch", "batch", "never"] = "epoch"
    shuffle: bool | None = None
    distribute: Literal["none", "mirrored", "multi_worker"] = "none"
    early_stopping: EarlyStopping = EarlyStopping()
    seed: int = Field(0, ge=0, lt=2**32)  # what numpy, Python and TensorFlow all take
    tensorboard: bool = False
    # after training, train the kept network again on the training and validation parts together, for the
    # epochs early stopping chose; the validation scores and the intervals' calibration stay the first one's.
    # null: on for look-back windows, off for stateful models. Chosen on the long-test validation protocol
    # (geometric mean MASE over the 12 look-back series 0.610 -> 0.564, 0.596 -> 0.541 on two seeds; on the
    # short one +4.6 % / +3.2 %, most of both austres's); the stateful sample got worse (0.68 -> 1.08)
    # (bench/ACCURACY.md)
    refit: bool | None = None


class EvaluateConfig(_Section):
    """evaluate: the season of seasonal naive and MASE, the backtest horizon, the interval levels reported."""

    season: int = Field(1, gt=0, le=BIG)
    horizon: int = Field(1, gt=0, le=BIG)
    intervals: list[int] = Field(default_factory=lambda: [80, 95], max_length=50)  # conformal levels (intervals.py)
    # each bound from its own tail of the signed errors (intervals.py): for one-sided errors; a tie on average on
    # the development series' validation parts, so off by default (bench/ACCURACY.md)
    asymmetric_intervals: bool = False

    @field_validator("intervals", mode="before")
    @classmethod
    def _one_level_is_a_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, int) or _quoted_int(v) else v  # "80": [80]

    @field_validator("intervals")
    @classmethod
    def _levels(cls, v: list[int]) -> list[int]:
        bad = [x for x in v if not 50 <= x <= 99]
        if bad:
            raise ValueError(f"interval levels are whole percentages from 50 to 99, not {bad[0]}")
        return sorted(set(v))


class OutputConfig(_Section):
    """output: the run directory."""

    dir: Path | None = None


def default_look_back(season: int) -> int:
    """windows.look_back when unset: 24, or with seasonal data (evaluate.season > 1) one whole season and the step
    before it, at least 12 steps (bench/ACCURACY.md)."""
    return max(12, season + 1) if season > 1 else int(WindowsConfig.model_fields["look_back"].default)


class Config(_Section):
    """The whole config, one section per step; cross-section rules are checked here."""

    data: DataConfig
    windows: WindowsConfig = WindowsConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    output: OutputConfig = OutputConfig()

    @model_validator(mode="after")
    def _combinations(self) -> Config:
        stateful = self.windows.mode == "stateful"
        if stateful and self.training.shuffle:
            raise _KeyedError(
                "training.shuffle",
                "true cannot be used with windows.mode: stateful "
                "(row r of batch k+1 must continue row r of batch k); remove it or set it false",
            )
        if self.training.seed + self.model.ensemble > 2**32:  # network k trains with seed + k: each must be a seed
            raise _KeyedError("training.seed", f"{self.training.seed} + model.ensemble={self.model.ensemble} - 1 is "
                              f"past the last seed, {2**32 - 1}: the networks take seeds seed, seed + 1, ...",
                              also=("model.ensemble",))  # fmt: skip
        if stateful and self.model.kind == "encoder_decoder":
            raise _KeyedError("model.kind", "encoder_decoder works on look-back windows; use windows.mode: lookback")
        direct = not stateful and self.model.kind != "many_to_many"  # answers windows.horizon steps at once
        if self.data.past_features and not (direct and self.evaluate.horizon <= self.windows.horizon):
            raise _KeyedError("data.past_features", (
                "past-only inputs (known up to the forecast origin) need a direct head that forecasts "
                "evaluate.horizon steps at once: windows.mode lookback, model.kind many_to_one or encoder_decoder, "
                f"windows.horizon >= evaluate.horizon (it is {self.windows.horizon} < {self.evaluate.horizon})"
                if direct
                else f"past-only inputs need a direct head: {self.windows.mode} {self.model.kind} feeds its forecasts "
                "back as inputs, beside their values after the origin, unknown (use look-back many_to_one or "
                "encoder_decoder)"
            ))  # fmt: skip
        if self.data.transform != "auto":
            try:
                steps = Transform.parse(self.data.transform, self.evaluate.season)
            except ValueError as exc:
                raise _KeyedError("data.transform", str(exc)) from None
            if steps.per_window and stateful:
                raise _KeyedError("data.transform", f"{steps.window_step} needs look-back windows; use difference")
        if self.training.shuffle is None:
            self.training.shuffle = not stateful
        if self.training.refit is None:
            self.training.refit = not stateful
        if (
            "kind" not in self.model.model_fields_set
            and not stateful
            and self.evaluate.season > 1
            and not self.data.past_features
            and self.windows.horizon == 1
        ):
            # seasonal look-back windows: a target at every step of the window (many_to_many) beat one at its end on
            # both validation protocols and three seeds (long-test 0.564 / 0.540 / 0.554 -> 0.551 / 0.523 / 0.538,
            # short 0.466 / 0.453 / 0.475 -> 0.440 / 0.444 / 0.464); without a season it lost. The test part, run
            # once after, did not confirm it (0.754 -> 0.773, sunspots 43 % worse); kept as validation chose it
            # (bench/ACCURACY.md)
            self.model.kind = "many_to_many"
        if "look_back" not in self.windows.model_fields_set:
            self.windows.look_back = default_look_back(self.evaluate.season)
        return self

    @property
    def stateful(self) -> bool:
        return self.windows.mode == "stateful"

    @property
    def inputs(self) -> list[str]:
        """Model input columns, in order: targets then features."""
        return self.data.targets + self.data.features

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain YAML-able data."""
        return self.model_dump(mode="json")


def _all_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        for ann in [field.annotation, *get_args(field.annotation)]:  # a section, or an optional one (resample)
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                keys += _all_keys(ann, prefix + name + ".")
    return keys


def _error_text(err: ValidationError, given: list[list[str]] | None = None) -> tuple[str, bool]:
    """One line per key at fault, in the config's words (no pydantic type tags such as `.int`, no class names),
    and whether every one is a key that `given` (--set's keys) set."""
    ordered = _all_keys(Config)
    known, by_key, values, from_set = set(ordered), dict[str, list[str]](), dict[str, str](), []
    for e in err.errors():
        loc, parts = e["loc"], list[str | int]()
        for i, p in enumerate(loc):  # data.split.val.float -> data.split.val: a union's branch is no key
            last = e["type"] == "extra_forbidden" and i == len(loc) - 1
            if isinstance(p, int) or last or ".".join(map(str, [*parts, p])) in known:
                parts.append(p)
        key, msg, ctx = ".".join(map(str, parts)), e["msg"], e.get("ctx") or {}
        named = [key]  # the keys the error names: it is --set's if --set gave any of them
        if isinstance(ctx.get("error"), _KeyedError):  # its key is relative to the section the error arose in
            named = [".".join(filter(None, [key, k])) for k in (ctx["error"].key, *ctx["error"].also)]
            gave = [k for k in named if any(key_within(k, ".".join(g)) for g in given or [])]  # said first: --set's
            key, msg = (gave or named)[0], str(ctx["error"])
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif e["type"] == "extra_forbidden":
            prefix, _, last_key = key.rpartition(".")
            siblings = [k for k in ordered if k.rpartition(".")[0] == prefix]
            names = [k.rpartition(".")[2] for k in siblings]  # MODEL: another case first
            same_case = [n for n in names if n.lower() == last_key.lower()][:1]
            near = same_case or difflib.get_close_matches(last_key, names, n=1, cutoff=0.6)
            dotted = str(loc[-1])  # model.units: in a file, --set's way of naming a key
            if "." in dotted:  # model.units, or model.unitz: nested, it is right or gets its own suggestion
                head, _, rest = dotted.partition(".")
                msg = f"unknown key; a file nests its keys ({head}: {{{rest}: ...}}); dots are for --set"
            elif near:
                msg = f"unknown key; did you mean {(prefix + '.' if prefix else '') + near[0]!r}?"
            else:
                msg = f"unknown key; valid keys here: {', '.join(k.rpartition('.')[2] for k in siblings)}"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] in ("path_type", "too_short"):  # pydantic's "Input is not a valid path for <class ...>"
            short = f"should have at least {ctx.get('min_length')} entry"
            msg = "should be a file path" if e["type"] == "path_type" else short
            values[key] = "null" if e.get("input") is None else repr(e.get("input"))
        else:  # pydantic's own words: "Input should be a valid integer, unable to parse string as an integer"
            if e["type"] in ("model_type", "dict_type"):
                keys = [k.rpartition(".")[2] for k in ordered if k.rpartition(".")[0] == key]
                msg = f"should be a section of keys ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''})"
            msg = msg.replace("Input should be", "should be").split(", unable to")[0]
            if e["type"] == "list_type" and isinstance(e.get("input"), str) and "," in e["input"]:  # 64,32
                msg = f"should be a list, written in brackets: [{e['input']}]"
            if isinstance(e.get("input"), (str, int, float, bool, type(None))):
                values[key] = "null" if e["input"] is None else repr(e["input"])
        by_key.setdefault(key, [])
        if msg not in by_key[key]:
            by_key[key].append(msg)
        from_set.append(any(key_within(k, ".".join(g)) for k in named for g in given or []))
    lines = []
    for key, msgs in by_key.items():
        if len(msgs) > 1 and all(m.startswith("should be ") for m in msgs):  # a union: a number or an integer
            msgs = ["should be " + " or ".join(m[len("should be ") :] for m in msgs)]
        msg = "; ".join(msgs) + (f", not {values[key]}" if key in values else "")
        lines.append(f"{key}: {msg}" if key else msg)
    return "\n".join(lines), bool(from_set) and all(from_set)


def set_gave(where: str, overrides: list[str]) -> bool:
    """Whether `where`, a config key, is one that --set gave (or a section, or a key inside one, that it gave); a file
    path (data.yaml) is no key, nor a `where` that names --set already."""
    if not any(k == where or k.startswith(where + ".") for k in _all_keys(Config)):
        return False
    keys = []
    for text in overrides:
        with contextlib.suppress(ConfigError):  # a malformed --set was refused before anything else
            keys.append(".".join(parse_override(text)[0]))
    return any(key_within(where, k) for k in keys)


def key_within(key: str, given: str) -> bool:
    """Whether the config key `key` is the key `given`, inside it, or a section holding it."""
    return key == given or key.startswith(given + ".") or given.startswith(key + ".")


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping, where PyYAML keeps the last one silently
    (a second `training:` section would drop the first one's settings)."""


def _unique_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`: merged keys may be given again
            continue
        key, line = loader.construct_object(key_node), key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: construct_mapping says so
            break
        if first is not None:
            where = f"lines {first} and {line}" if first != line else f"line {line}"
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice ({where})", key_node.start_mark
            )
        seen[key] = line
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _load(text: str) -> Any:
    """The document in `text`, read as yaml.safe_load reads it but for keys given twice."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split 'a.b=value' into (['a', 'b'], YAML-parsed value)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got {text!r}", hint="for example --set training.epochs=5")
    try:
        value = _load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        why = " ".join(str(getattr(exc, "problem", None) or exc).split())  # the scanner's words, not its excerpt
        shut = {"[": ("list", "]"), "{": ("mapping", "}")}.get(raw.strip()[:1])  # cut short: quoting makes it a text
        hint = (f"close the {shut[0]}: --set '{key}={raw.strip()}{shut[1]}'" if shut and shut[1] not in raw
                else f"""quote a text value: --set '{key}="{raw}"'""")  # fmt: skip
        raise ConfigError(f"--set {key}: value {raw!r} is not valid YAML ({why})", hint=hint) from None
    path = [p.strip() for p in key.split(".")]  # ' model . units': as YAML would read the nested keys
    if not all(path):  # .model, model..units, model.
        raise ConfigError(f"--set {key.strip()}: a key with an empty part", hint="for example --set model.units=[64]")
    return path, value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `--set` overrides to the raw config mapping (before validation)."""
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for i, part in enumerate(path[:-1]):
            nxt = node.setdefault(part, {})
            if nxt is None:  # an empty or null section (`resample: null`): --set fills it in
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                where = ".".join(path[: i + 1])
                raise ConfigError(f"--set {'.'.join(path)}: {where} is not a section")
            node = nxt
        node[path[-1]] = value
    return raw


def read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path`, read safely (yaml.SafeLoader), a key given twice refused."""
    if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO or device: reading it may never end
        raise ConfigError(f"cannot read config file {path}: not a regular file (a pipe, device or socket)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError as exc:  # named by its line, as a data file's is
        if exc.object[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Windows' "Unicode" text
            hint = "save it as UTF-8, or convert it: iconv -f utf-16 -t utf-8"
            raise ConfigError(f"cannot read config file {path}: it is UTF-16 text", hint=hint) from None
        line = exc.object[: exc.start].count(b"\n") + 1  # the bytes read_text decoded
        raise ConfigError(
            f"cannot read config file {path}: it is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} "
            f"on line {line})",
            hint="save it as UTF-8, or convert it, e.g. iconv -f cp1252 -t utf-8",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        raw = _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        pos = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(f"malformed YAML at {pos}: {exc.problem}", where=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}", where=str(path)) from None
    if raw is None:
        raise ConfigError("the config file is empty; it needs at least data.path and data.targets", where=str(path))
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of sections (data:, windows:, ...)", where=str(path))
    return raw


def validate(raw: dict[str, Any], *, source: str, base_dir: Path, given: list[list[str]] | None = None) -> Config:
    """Validate a raw mapping; relative data.path resolves against base_dir. An error in keys that --set gave
    (`given`) names --set, not the file."""
    # An empty section (`windows:` with nothing under it) means "all defaults".
    raw = {k: ({} if v is None and k != "data" else v) for k, v in raw.items()}
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        text, by_set = _error_text(exc, given)
        raise ConfigError(text, where="--set" if by_set else source) from None
    if not cfg.data.path.is_absolute():
        cfg.data.path = (base_dir / cfg.data.path).resolve()
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read, override and validate a config; output.dir defaults to runs/<config stem>."""
    path = Path(path)
    raw = apply_overrides(read_yaml(path), overrides or [])
    given = [parse_override(text)[0] for text in overrides or []]
    cfg = validate(raw, source=str(path), base_dir=path.resolve().parent, given=given)
    if cfg.output.dir is None:
        cfg.output.dir = Path("runs") / path.stem
    try:
        cfg.output.dir = full_path(home(cfg.output.dir))
    except ValueError as exc:  # ~user of no such user
        raise ConfigError(str(exc), where="output.dir") from None
    return cfg


def full_path(path: Path | str) -> Path:
    """`path` made absolute with its folder's `..` and links resolved (a run directory printed as
    /home/me/runs/x, not /home/me/src/../runs/x) and its last name kept as given: a link there is named as a link."""
    path = Path(path).absolute()
    return path.resolve() if path.name in ("", ".", "..") else path.parent.resolve() / path.name
