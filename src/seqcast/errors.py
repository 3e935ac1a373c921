"""The one error type library code raises; only the CLI turns it into an exit code."""

from __future__ import annotations


class SeqcastError(Exception):
    """A fault the user can fix. `where` names the file, key, column or row at fault."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """The message as the command line prints it: where, what, and the hint."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(SeqcastError):
    """A usage or config error: exit status 2."""

    exit_code = 2


class DataError(SeqcastError):
    """A data or runtime error: exit status 1."""

    exit_code = 1


class MissingColumn(ConfigError):
    """A column the config names is not in the file: a config error while training (exit 2); a data error (exit 1)
    where a command's file lacks a column of the run (history.columns_of)."""

    def __init__(self, column: str, key: str, have: list[str], source: str) -> None:
        self.column, self.key, self.have, self.source = column, key, have, source
        super().__init__(f"{column!r} is not a column of {source}; its columns are {have}", where=key)
