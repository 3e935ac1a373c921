"""Decimal marks and thousands separators in CSV files not separated by commas, as Excel writes them where the
comma is the decimal mark (10,03; 1.020,50): read where they are beyond doubt, refused where they are not."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seqcast.errors import DataError

DECIMAL_COMMA = (  # the hint for a number with a comma in it, or a dot that may group thousands
    "numbers are read with '.' as the decimal mark and no thousands separator: write the file so (pandas: "
    "read_csv(path, sep=';', decimal=',', thousands='.') or read_csv(path, thousands=','), then "
    ".to_csv(new_path, index=False))"
)


COMMA_NUMBER = re.compile(r"\s*[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?\s*")  # 10,03: a decimal comma
_GROUPED_COMMA = re.compile(r"\s*[+-]?[1-9]\d{0,2}(\.\d{3})+,\d*\s*")  # 1.020,50: thousands grouped by dots
_GROUPED = re.compile(r"\s*[+-]?[1-9]\d{0,2}(\.\d{3})+\s*")  # 1.120: a decimal point, or a dot grouping thousands
_HUNDREDS = re.compile(r"\s*[+-]?[1-9]\d{2}\s*")  # 963


class Dots:
    """What the parts read so far (a large file's chunks, a folder's files) showed of each column's dots, so that
    1.120 in one part beside 963 in another is refused as it is within one: the first value whose dots all group
    thousands (value, line, file), the first 963 or 10,03 beside them, and the columns where a dot groups nothing
    (2.5: '.' is their decimal mark). A refusal waits for the last part (check): a 2.5 anywhere in the column
    shows its dots are decimal marks, as it does within one file."""

    def __init__(self) -> None:
        self.grouped: dict[str, tuple[str, int, Path, str]] = {}  # value, line, file, its separator
        self.beside: dict[str, str] = {}
        self.decimal: set[str] = set()
        self.pending: dict[str, tuple[str, int, str, Path, str]] = {}  # _thousands' value, line, beside, file, sep

    def check(self) -> None:
        """Refuse the first column whose dots may group thousands, unless a part showed them decimal marks."""
        for name, (value, line, beside, path, sep) in self.pending.items():
            if name not in self.decimal:
                raise _thousands(name, value, line, beside, path, sep)


def decimal_commas(
    cols: dict[str, np.ndarray], lines: np.ndarray, path: Path, sep: str, dots: Dots | None = None
) -> dict[str, np.ndarray]:
    """The columns of a file not separated by commas, with '.' for ',' in the values written with a decimal comma
    (10,03: how Excel writes its semicolon-separated CSVs in much of Europe), in every column where most values
    with a comma are such numbers. Other columns (names, dates) are left as they are, and so is a value such as
    1.234,5 or 7,5 % among decimal commas, for the number check to name by its line.

    A column whose only dots group thousands in the way Excel writes them (1.120 beside 963) is refused, naming
    the first such line: read with '.' as the decimal mark it would be 1.12, silently a thousandth of its value."""
    for name, col in cols.items():
        values = col.tolist()
        comma = {v for v in values if isinstance(v, str) and "," in v}
        numbers = {v for v in comma if COMMA_NUMBER.fullmatch(v)}
        dotted = {v for v in values if isinstance(v, str) and "." in v and v not in comma}
        decimal = bool(comma) and len(numbers) * 2 > len(comma)  # most values with a comma are decimal commas
        thousands = [v for v in comma if _GROUPED_COMMA.fullmatch(v)] if comma and not decimal else []
        if thousands and (len(numbers) + len(thousands)) * 2 > len(comma):  # 1.020,50 beside 950,25: Excel's
            i = next(i for i, v in enumerate(values) if v in thousands)  # numbers with their thousands grouped
            raise _thousands(name, values[i].strip(), lines[i], "", path, sep)
        grouped = (decimal or not comma) and dotted and all(_GROUPED.fullmatch(v) for v in dotted)  # 1.120: beside
        # 10,03 or 963 (names are told apart: no value of a hundred or a decimal comma beside them)
        looked = dots is not None and name not in dots.decimal and (name in dots.grouped or name not in dots.beside)
        beside = None  # a 963 or 10,03 of this part, where it matters: the scan is a regex per value
        if grouped or looked:
            beside = next((v.strip() for v in values if v in numbers or isinstance(v, str) and _HUNDREDS.fullmatch(v)),
                          None)  # fmt: skip
        if grouped:
            before = dots.beside.get(name) if dots is not None and name not in dots.decimal else None
            i = next(i for i, v in enumerate(values) if v in dotted)
            if beside is not None or before is not None:
                refusal = (values[i].strip(), int(lines[i]), beside or str(before), path, sep)
                if dots is None:
                    raise _thousands(name, *refusal)
                dots.pending.setdefault(name, refusal)  # said after the last part, unless one shows a 2.5
            if dots is not None:
                dots.grouped.setdefault(name, (values[i].strip(), int(lines[i]), path, sep))
        elif dots is not None and dotted and (decimal or not comma):
            dots.decimal.add(name)  # 2.5: its dots are decimal marks
        if dots is not None and beside is not None and name not in dots.decimal:
            if name in dots.grouped:  # 1.120 in a part before, 963 here
                value, line, where, its_sep = dots.grouped[name]
                dots.pending.setdefault(name, (value, line, beside, where, its_sep))
            dots.beside.setdefault(name, beside)
        if decimal:
            cols[name] = np.asarray([v.replace(",", ".") if v in numbers else v for v in values], dtype=object)
    return cols


_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "bars"}


def _thousands(column: str, value: str, line: int, beside: str, path: Path, sep: str) -> DataError:
    """The refusal of 1.120 beside 963 or 10,03: a dot that may group thousands, as Excel writes numbers in a file
    separated by semicolons, which seqcast does not guess at."""
    said = f"column {column!r}, line {line}: {value!r}"
    if not beside:  # 1.020,50: the dot groups thousands beyond doubt
        return DataError(f"{said} groups its thousands with '.' (as Excel writes numbers in a file separated by "
                         f"{_SEPARATORS.get(sep, 'semicolons')}): seqcast reads numbers without a thousands separator",
                         where=str(path), hint=DECIMAL_COMMA.replace("sep=';'", f"sep={sep!r}"))  # fmt: skip
    return DataError(
        f"{said} beside values such as {beside!r} may be "
        f"{value.replace('.', '')} with '.' grouping its thousands (as Excel writes numbers in a file separated by "
        f"{_SEPARATORS.get(sep, 'semicolons')}) or {float(value)!r}: seqcast will not guess",
        where=str(path),
        hint=DECIMAL_COMMA.replace("sep=';'", f"sep={sep!r}"),
    )
