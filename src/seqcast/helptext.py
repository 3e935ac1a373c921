"""How --help shows seqcast: each command's line in the list, its example, the usage lines and the commands' order."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

# name: (its line in `seqcast --help`, in the order of a run's life; the example its own --help ends with)
ABOUT = {
    "train": (
        "Train on a config's CSV, evaluate, write a run directory.",
        "seqcast train configs/quickstart.yaml --set training.epochs=5",
    ),
    "forecast": (
        "Forecast N steps for every series, with intervals.",
        "seqcast forecast --steps 24 --interval 80 --output fc.csv --plot fc.png",
    ),
    "evaluate": (
        "Backtest a run on its test part against naive baselines.",
        "seqcast evaluate --run runs/quickstart --horizon 12 --plot backtest.png",
    ),
    "update": (
        "Advance a run's saved state over new rows.",
        "seqcast update --run runs/quickstart --data new_rows.csv",
    ),
    "window-preview": (
        "Show which rows become which samples, batches and streams.",
        "seqcast window-preview configs/tanks_stateful.yaml --limit 6",
    ),
}


class Command(TyperCommand):
    """Usage lines as Click writes them: `seqcast train [OPTIONS] CONFIG`, not typer's `{CONFIG}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, an argument shown by its name alone: typer adds a type tag (`CONFIG <path>`)."""
        params = super().get_params(ctx)
        for p in params:
            if isinstance(p, TyperArgument):
                p.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """An option's value Click could not convert, in words: typer's are pydantic's ('Input should be a valid
        integer, unable to parse string as an integer')."""
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as exc:
            exc.message = plain_words(exc.message)
            raise

    def format_epilog(self, ctx: Any, formatter: Any) -> None:  # the example on a line of its own, to copy whole
        formatter.write(f"\n  Example:\n    {self.epilog}\n" if self.epilog else "")  # (Click would rewrap it)


def plain_words(message: str) -> str:
    """'Input should be a valid integer, unable to parse string as an integer' -> 'should be a whole number'."""
    if not message.startswith("Input should be"):
        return message
    said = message[len("Input ") :].split(", unable to")[0]
    return said.replace("a valid integer", "a whole number").replace("a valid number", "a number")


class Group(TyperGroup):
    """The commands in ABOUT's order (Typer lists them as they were defined)."""

    def list_commands(self, ctx: Any) -> list[str]:
        have = super().list_commands(ctx)
        return [n for n in ABOUT if n in have] + [n for n in have if n not in ABOUT]


def command_options(name: str) -> dict[str, Any]:
    """app.command's options for the command `name`: its class, its line in the list and its example."""
    short, example = ABOUT[name]
    return {"cls": Command, "short_help": short, "epilog": example}
