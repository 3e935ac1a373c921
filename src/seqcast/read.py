"""Read CSV and parquet files into columns of text, a file (or a chunk of rows) at a time.

Plain CSVs are read with the csv module so that window-preview stays instant; parquet files and large CSVs go
through pandas (imported only then). Every error names the file and, where it can, the line.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from seqcast.errors import DataError, EmptyFile, NoRows, check_interrupted, listed
from seqcast.files import PARQUET
from seqcast.marks import COMMA_NUMBER, Dots, decimal_commas

# bytes: past this a CSV is read by pandas' C parser. Below it the csv module is faster, pandas' import included
# (bench_cli.py: 0.30 s against 0.36 s at 8.2 MiB, 0.72 s against 0.53 s at 16.3 MiB; they cross near 10 MiB)
_PANDAS_ABOVE = 10 * 2**20


# A table is {column: (rows,) array}, with the file line of every row (the header is line 1).
Table = tuple[dict[str, np.ndarray], np.ndarray]


def _check_header(header: list[str], path: Path) -> list[str]:
    """The column names, stripped; two columns of one name (after stripping spaces) would be merged: refused. A
    column without a name is 'Unnamed: k' (k from 0), as pandas calls it: Excel writes a sheet's empty columns
    so (time,y,,), and a config cannot name them."""
    names = [str(h).strip() or f"Unnamed: {k}" for k, h in enumerate(header)]
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in seen:
            same = f"{header[seen[name]]!r} and {header[k]!r}" if header[seen[name]] != header[k] else repr(name)
            raise DataError(
                f"columns {seen[name] + 1} and {k + 1} of the header are both named {same}"
                + (" once spaces are stripped" if header[seen[name]] != header[k] else ""),
                where=str(path),
                hint="give every column its own name",
            )
        seen[name] = k
    return names


def delimiter(path: Path) -> str:
    """The CSV's field separator: a comma, unless the header (quoted names aside) has none and has semicolons,
    tabs or bars (Excel writes semicolons where the comma is the decimal mark; UCI's household power file too),
    or is one name over a number with a decimal comma (a file of one column: no field separator at all)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = re.sub(r'"[^"]*"', "", fh.readline())
        if not header.strip():  # the names must be on line 1: every line an error names counts from there
            below = next((k for k, line in enumerate(fh, start=2) if line.strip()), None)
            if below is not None:
                raise DataError(
                    f"line 1 is blank, and the column names are on line {below}",
                    where=str(path),
                    hint=f"delete the blank line{'s' if below > 2 else ''} above the column names",
                )
        if header.lstrip().startswith("#"):  # a comment above the names ('# exported from sensor A'), not a header
            _refuse_comments(path, header, fh)
        first = fh.readline() if not any(c in header for c in ",;\t|") else ""
    if COMMA_NUMBER.fullmatch(first):  # one column, of numbers with decimal commas: no separator to split them
        return ";"
    counts = {d: header.count(d) for d in ";\t|"}
    best = max(counts, key=lambda d: counts[d])
    return best if "," not in header and counts[best] else ","


def _refuse_comments(path: Path, header: str, fh: TextIO) -> None:
    """Line 1 begins with '#', and the first line that does not reads as column names (no field begins with a
    digit) with other fields than line 1, or line 1 is '# ' and words: comment lines above the column names, which
    would be read as the header. A header '#,time,y' or '#id,t,y' over rows of numbers is one."""
    below = next(((k, line) for k, line in enumerate(fh, start=2) if line.strip() and not line.startswith("#")), None)
    fh.seek(0)
    fh.readline()
    if below is None:
        return
    k, names = below
    sep = next((d for d in ",;\t|" if d in names), ",")
    fields = [f.strip().lstrip("+-") for f in re.sub(r'"[^"]*"', "n", names).split(sep)]
    if any(f[:1].isdigit() for f in fields):  # a row of data: line 1 is the header, its width a row's matter
        return
    if header.count(sep) != len(fields) - 1 or re.match(r"#\s", header):
        raise DataError(
            f"line 1 is a comment ({header.strip()[:60]!r}), and the column names are on line {k}",
            where=str(path),
            hint=f"delete the line{'s' if k > 2 else ''} above the column names: seqcast reads line 1 as the header",
        )


def _csv_header(path: Path, sep: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(csv.reader(fh, delimiter=sep, skipinitialspace=True), [])


def header(path: Path) -> list[str]:
    """The column names of a data file, or of a folder's first file, stripped as they are read; [] where they
    cannot be read (for a note: the read itself says what is wrong with the file)."""
    try:
        first = data_files(path)[0]
        if first.suffix.lower() in PARQUET:
            import pyarrow.parquet as pq

            return [str(n).strip() for n in pq.read_schema(first).names]
        return [str(h).strip() for h in _csv_header(first, delimiter(first))]
    except (DataError, OSError, ValueError, csv.Error):  # UnicodeDecodeError is a ValueError
        return []


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(file line where it starts, fields) of every record after the header; blank lines skipped but counted, and
    a quoted field over several lines counted as all of them, so that an error names the line an editor shows."""
    before = reader.line_num  # type: ignore[attr-defined]
    for r in reader:
        if r:
            yield before + 1, r
        before = reader.line_num  # type: ignore[attr-defined]


def _read_csv_light(path: Path, dots: Dots | None = None) -> Table:
    sep = delimiter(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=sep, skipinitialspace=True)
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise EmptyFile(str(path))
        header = _check_header(header, path)
        rows = [r for r in reader if r]
        one_line_each = reader.line_num == len(rows) + 1  # no blank line, no field over several lines
    if not rows:
        raise NoRows(header, str(path))
    lines = np.arange(len(rows)) + 2 if one_line_each else _record_lines(path, sep)[0]  # a second pass, for those
    width = len(header)
    for i, r in enumerate(rows):
        if len(r) != width:
            raise DataError(f"line {lines[i]} has {len(r)} fields, the header has {width}", where=str(path))
    cols = list(zip(*rows, strict=True))
    table = {h: np.asarray(c, dtype=object) for h, c in zip(header, cols, strict=True)}
    return (decimal_commas(table, lines, path, sep, dots) if sep != "," else table), lines


def line_word(path: Path | str) -> str:
    """What a message counts a file's rows in: 'line' of a CSV; 'row' of a parquet file, which has no lines."""
    return "row" if Path(path).suffix.lower() in PARQUET else "line"


def _read_parquet(path: Path) -> Table:
    """A parquet file's columns. It has no lines: its 'lines' are its rows' numbers from 1 (line_word)."""
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except (ValueError, ImportError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        check_interrupted()
        raise DataError(f"cannot read the file: {exc}", where=str(path)) from None
    check_interrupted()
    named = [n for n in df.index.names if n is not None and n not in df.columns]
    if named:  # a column written as the index (df.set_index("date").to_parquet(...)) is a column of the file
        df = df.reset_index(level=named)
    names = _check_header([str(c) for c in df.columns], path)
    if df.empty:
        raise NoRows(names, str(path))
    # a null (pandas' NA in an Int64 or string column, None, NaN) reads as None: a missing value, or a missing name
    null: Any = None  # (pandas-stubs type na_value without None)
    table = {n: df[c].to_numpy(dtype=object, na_value=null) for n, c in zip(names, df.columns, strict=True)}
    return table, np.arange(len(df)) + 1


def data_files(path: Path) -> list[Path]:
    """The file itself, or every .csv / .parquet file of a folder in name order, but hidden ones (.name, and
    macOS's ._name) and Excel's lock files (~$name), which an open workbook leaves beside its file."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in {".csv", *PARQUET} and not p.name.startswith((".", "~$"))
        )
        if not files:
            others = _others(path)
            has = f" (it holds {listed(others, quote=False)})" if others else ""
            raise DataError(f"the folder holds no .csv or .parquet files{has}", where=str(path))
        return files
    if not path.exists():
        raise DataError("data file not found", where=str(path), hint="check data.path in the config")
    _regular(path)
    return [path]


def left_out(path: Path) -> list[str]:
    """A folder's files and folders that data_files does not read (a .tsv, a .csv.gz, a subfolder), said in a note:
    a series in one of them would be missing without a word. Hidden and lock files are not named."""
    other = _others(path) if path.is_dir() else []
    if not other:
        return []
    return [f"not read, as data.path reads a folder's .csv and .parquet files only: {listed(other, quote=False)}"]


def _others(folder: Path) -> list[str]:
    """The names of a folder's entries that are no .csv or .parquet file, hidden and lock files left out."""
    kept = {".csv", *PARQUET}
    return sorted(p.name + "/" * p.is_dir() for p in folder.iterdir() if not p.name.startswith((".", "~$"))
                  and (not p.is_file() or p.suffix.lower() not in kept))  # fmt: skip


def _regular(path: Path) -> None:
    """Refuse a FIFO, a device or a socket: reading one may never end (/dev/zero, a pipe nobody writes)."""
    if not path.is_file():
        raise DataError("not a regular file (a pipe, device or socket): seqcast reads files", where=str(path))


_CHUNK_ROWS = 200_000  # rows per chunk of a large CSV: each chunk becomes numbers before the next is read


def _read_pandas_chunks(path: Path, dots: Dots | None = None) -> Iterator[Table]:
    import pandas as pd

    own, dots = dots is None, dots if dots is not None else Dots()  # its chunks are one file, as a folder's files
    sep = delimiter(path)
    names = _check_header(_csv_header(path, sep), path)
    lines, fields = (None, None) if _one_line_per_record(path) else _record_lines(path, sep)
    width = None  # each line's fields (_line_fields), known here for a record's first line
    ragged: tuple[int, int] | None = None  # (line, fields) of a record whose fields are not the header's
    if lines is not None and fields is not None:
        width = np.full(int(lines.max(initial=1)), len(names), dtype=np.int64)
        width[lines - 1] = fields
        bad = np.flatnonzero(fields != len(names))  # named by its line (pandas counts a quoted field's lines apart)
        ragged = (int(lines[bad[0]]), int(fields[bad[0]])) if len(bad) else None
    else:  # a first row longer than the header: pandas would take its first column for the index, unsaid
        n = _first_fields(path, sep)
        ragged = (2, n) if n is not None and n > len(names) else None
    if ragged:
        raise DataError(f"line {ragged[0]} has {ragged[1]} fields, the header has {len(names)}", where=str(path))
    try:
        seen = 0
        with pd.read_csv(
            path, sep=sep, skipinitialspace=True, dtype=str, keep_default_na=False, chunksize=_CHUNK_ROWS
        ) as reader:  # closed however the reading stops
            for df in reader:
                check_interrupted()  # pandas' C parser may have swallowed a Ctrl-C
                if df.empty:
                    continue
                cols = dict(zip(names, (df[c].to_numpy(dtype=object) for c in df.columns), strict=True))
                at = None if lines is None else lines[seen : seen + len(df)]
                at = at if at is not None and len(at) == len(df) else np.arange(len(df)) + seen + 2
                if (cols[names[-1]] == "").any():  # pandas gives a row short of fields "" where they are missing,
                    width = width if width is not None else _line_fields(path, sep)  # as a blank: counted in the
                    short = at[width[at - 1] < len(names)]  # bytes (once, where a last field is blank)
                    if len(short):
                        raise DataError(f"line {short[0]} has {width[short[0] - 1]} fields, the header has "
                                        f"{len(names)}", where=str(path))  # fmt: skip
                yield (decimal_commas(cols, at, path, sep, dots) if sep != "," else cols), at
                seen += len(df)
    except pd.errors.EmptyDataError:
        raise EmptyFile(str(path)) from None
    except UnicodeDecodeError:
        raise
    except (ValueError, pd.errors.ParserError) as exc:
        check_interrupted()  # a Ctrl-C that the C parser reported as a read error
        wide = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))  # as the light reader says
        said = f"cannot read the file: {exc}".strip()
        why = f"line {wide[2]} has {wide[3]} fields, the header has {wide[1]}" if wide else said
        raise DataError(why, where=str(path), hint=_quote_hint(str(exc))) from None
    check_interrupted()
    if own:
        dots.check()  # 1.120 in one chunk, 963 in another (unless a 2.5 in any shows its dots decimal marks)
    if not seen:
        raise NoRows(names, str(path))


def _one_line_per_record(path: Path, block: int = 1 << 20) -> bool:
    """Is every line after the header one record: no blank line, no quote (a quoted field may span lines)? Then a
    record's position gives its line; a scan of the bytes, a block at a time."""
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            text = tail + chunk
            if b'"' in chunk or re.search(rb"\n[ \t]*\r?\n", text):  # a quote, or a blank line (spaces too)
                return False
            end = re.search(rb"\n[ \t]*\r?$", text)  # a line of spaces may run on into the next block
            tail = text[end.start() :] if end else text[-1:]
    return True


def _first_fields(path: Path, sep: str) -> int | None:
    """The fields of the first record after the header, or None without one."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        row = next(itertools.islice(csv.reader(fh, delimiter=sep, skipinitialspace=True), 1, 2), None)
    return None if row is None else len(row)


def _line_fields(path: Path, sep: str, block: int = 1 << 20) -> np.ndarray:
    """The fields on each line of a file with one record per line (no quote): its separators plus one, counted in
    its bytes a block at a time; [k] is line k + 1's."""
    counts, carry, partial, mark, nl = [], 0, False, ord(sep), ord("\n")
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            b = np.frombuffer(chunk, dtype=np.uint8)
            seps, ends = np.cumsum(b == mark), np.flatnonzero(b == nl)
            if len(ends):
                per = np.diff(seps[ends], prepend=0)
                per[0] += carry
                counts.append(per)
                carry, partial = int(seps[-1] - seps[ends[-1]]), bool(ends[-1] < len(b) - 1)
            else:
                carry, partial = carry + int(seps[-1]), True
    counts += [np.asarray([carry])] if partial else []
    return np.concatenate(counts or [np.zeros(0)]).astype(np.int64) + 1


def _record_lines(path: Path, sep: str) -> tuple[np.ndarray, np.ndarray]:
    """The file line where each record after the header starts, and its fields (csv module: slower, only for such
    files)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=sep, skipinitialspace=True)
        next(reader, None)
        flat = np.fromiter((v for line, row in _records(reader) for v in (line, len(row))), dtype=np.int64)
    return flat[0::2], flat[1::2]


_NOT_TEXT = {  # the first bytes of files often given for a CSV: (what the file is, how to make it a CSV)
    b"PK\x03\x04": (
        "a zip archive (an Excel .xlsx workbook is one)",
        "Excel: save as 'CSV UTF-8'; pandas: read_excel(path).to_csv(new_path, index=False); another archive: unzip it",
    ),
    b"\xd0\xcf\x11\xe0": (
        "an Excel .xls workbook",
        "Excel: save as 'CSV UTF-8'; pandas: read_excel(path).to_csv(new_path, index=False)",
    ),
    b"\x1f\x8b": ("gzip-compressed", "decompress it (gunzip) and give the CSV it holds"),
    b"\xff\xfe": (
        "UTF-16 text (Excel's 'Unicode Text')",
        "save it as UTF-8 (Excel: 'CSV UTF-8'), or convert it: iconv -f utf-16 -t utf-8",
    ),
    b"\xfe\xff": ("UTF-16 text", "save it as UTF-8, or convert it: iconv -f utf-16 -t utf-8"),
}


def _text(path: Path) -> None:
    """Refuse a file that is no CSV text by its first bytes, saying what it is: a workbook, an archive, UTF-16."""
    with path.open("rb") as fh:
        head = fh.read(4)
    for magic, (what, hint) in _NOT_TEXT.items():
        if head.startswith(magic):
            raise DataError(f"cannot read the file: it is {what}, not CSV text", where=str(path), hint=hint)


def read_tables(path: Path, dots: Dots | None = None) -> Iterator[Table]:
    """The columns of one CSV or parquet file, with errors naming the file; a large CSV in chunks of rows. `dots`:
    what a folder's files before this one showed of their columns' dots (Dots)."""
    if not path.exists():
        raise DataError("data file not found", where=str(path), hint="check data.path in the config")
    _regular(path)
    try:
        if path.suffix.lower() in PARQUET:
            yield _read_parquet(path)
            return
        _text(path)
        if path.stat().st_size > _PANDAS_ABOVE:
            yield from _read_pandas_chunks(path, dots)
        else:
            yield _read_csv_light(path, dots)
    except UnicodeDecodeError as exc:  # named by its line: a large file's position would be its chunk's
        byte, line = _first_non_utf8(path) or (exc.object[exc.start : exc.start + 1], None)
        raise DataError(
            f"cannot read the file: it is not UTF-8 text (byte {byte!r}{f' on line {line}' if line else ''})",
            where=str(path),
            hint="save it as UTF-8 (Excel: 'CSV UTF-8'), or convert it, e.g. iconv -f cp1252 -t utf-8",
        ) from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"cannot read the file: {exc}", where=str(path), hint=_quote_hint(str(exc))) from None


def _first_non_utf8(path: Path) -> tuple[bytes, int] | None:
    """The first byte that is not UTF-8 and its line (a line of a quoted field with line breaks is counted)."""
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return raw[exc.start : exc.start + 1], n
    return None


UNCLOSED = 'a quote (") that is never closed makes the rest of the file one field: close it, or remove it'


def _quote_hint(why: str) -> str | None:
    """What an unclosed quote does to a CSV reader: the rest of the file one field (Python's csv: 'field larger
    than field limit'; pandas: 'EOF inside string')."""
    if "field larger than field limit" in why or "EOF inside string" in why:
        return UNCLOSED
    return None
