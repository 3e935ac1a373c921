"""The readers name the line an editor shows: blank lines and quoted fields over several lines counted, in the
light reader (csv module) and in the chunked pandas reader alike; a Ctrl-C that pandas swallows still stops."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqcast import errors, read
from seqcast.cli import guarded
from seqcast.errors import DataError

# a record: ("plain", k) a row of numbers, ("blank",) an empty line, ("quoted", k) a row whose label spans two lines
Piece = tuple[str, int]
pieces = st.lists(
    st.one_of(
        st.tuples(st.just("plain"), st.integers(0, 99)),
        st.tuples(st.just("blank"), st.just(0)),
        st.tuples(st.just("quoted"), st.integers(0, 99)),
    ),
    min_size=1,
    max_size=30,
).filter(lambda ps: any(kind != "blank" for kind, _ in ps))


def write(path: Path, ps: list[Piece]) -> list[int]:
    """Write a CSV `label,y` of the pieces; return the file line where each record starts (header: line 1)."""
    text, line, starts = ["label,y\n"], 2, []
    for kind, k in ps:
        if kind == "blank":
            text.append("\n")
            line += 1
            continue
        starts.append(line)
        text.append(f'"two\nlines {k}",{k}\n' if kind == "quoted" else f"one {k},{k}\n")
        line += 2 if kind == "quoted" else 1
    path.write_text("".join(text))
    return starts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=pieces, chunk=st.integers(1, 7))
def test_both_readers_give_each_record_the_line_it_starts_on(
    ps: list[Piece], chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    starts = write(path, ps)
    light = list(read.read_tables(path))
    monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)  # every file through pandas, in chunks of `chunk` rows
    monkeypatch.setattr(read, "_CHUNK_ROWS", chunk)
    chunks = list(read.read_tables(path))
    for tables in (light, chunks):
        assert np.concatenate([lines for _, lines in tables]).tolist() == starts
        assert np.concatenate([t["y"] for t, _ in tables]).tolist() == [str(k) for kind, k in ps if kind != "blank"]


def test_plain_files_keep_the_fast_count(tmp_path: Path) -> None:
    """No blank line and no quote: the position of a record is its line (no second pass with the csv module)."""
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "blank.csv").write_text("a,b\n1,2\n\n3,4\n")
    (tmp_path / "crlf.csv").write_text("a,b\r\n1,2\r\n\r\n3,4\r\n")
    (tmp_path / "quote.csv").write_text('a,b\n"1",2\n')
    assert read._one_line_per_record(tmp_path / "plain.csv")
    assert not read._one_line_per_record(tmp_path / "blank.csv")
    assert not read._one_line_per_record(tmp_path / "crlf.csv")
    assert not read._one_line_per_record(tmp_path / "quote.csv")
    assert not read._one_line_per_record(tmp_path / "blank.csv", block=5)  # "\n\n" across two blocks


@pytest.fixture(params=[False, True], ids=["csv module", "pandas"])
def through_pandas(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Each test that takes it runs twice: small files through the csv module, then every file through pandas."""
    if request.param:
        monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
    return bool(request.param)


@pytest.mark.parametrize(
    ("header", "sep"),
    [("when,y,name", ","), ("when;y;name", ";"), ("when\ty\tname", "\t"), ("when|y|name", "|"), ("y", ",")],
)
def test_semicolons_tabs_and_bars_separate_fields_when_the_header_has_no_comma(
    header: str, sep: str, through_pandas: bool, tmp_path: Path
) -> None:
    """Both readers: the header decides the separator; a name quoted with a comma in it does not count."""
    path = tmp_path / "d.csv"
    fields = [["2020-01-01", "1.5", f'"a{sep} b"'], ["2020-01-02", "2.5", "c"]]
    width = len(header.split(sep))
    path.write_text(header + "\n" + "".join(sep.join(r[:width]) + "\n" for r in fields))
    assert read.delimiter(path) == sep
    (table, lines) = next(read.read_tables(path))
    want = {"when": ["2020-01-01", "2020-01-02"], "y": ["1.5", "2.5"], "name": [f"a{sep} b", "c"]}
    if width == 1:
        want = {"y": ["2020-01-01", "2020-01-02"]}
    assert {c: v.tolist() for c, v in table.items()} == want
    assert lines.tolist() == [2, 3]
    (tmp_path / "q.csv").write_text('"a,b";c\n1;2\n')
    assert read.delimiter(tmp_path / "q.csv") == ";"


def test_decimal_commas_are_read_in_files_not_separated_by_commas(through_pandas: bool, tmp_path: Path) -> None:
    """Excel's semicolon-separated CSV: 10,03 is 10.03; a name or a date with a comma is left as it is."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text(
        "Datum;Filiale;Umsatz;Kosten\n01.01.2020;Nord, Alt;10,03;-,5\n02.01.2020;Nord, Alt;11;2,5e1\n"
    )
    (table, _) = next(read.read_tables(tmp_path / "d.csv"))
    assert table["Filiale"].tolist() == ["Nord, Alt", "Nord, Alt"]
    ds = load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="Datum", targets=["Umsatz"], features=["Kosten"]))
    np.testing.assert_array_equal(ds.series[0].values, [[10.03, -0.5], [11.0, 25.0]])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('Datum,Umsatz\n2020-01-01,"10,03"\n', "'10,03' is not a number"),
        ("Datum;Umsatz\n2020-01-01;1.234,5\n", "'1.234,5' groups its thousands with '.'"),
        # among decimal commas, the first grouped one is named, not the first comma (950,25 is a number)
        ("Datum;Umsatz\n2020-01-01;950,25\n2020-01-02;1.020,50\n2020-01-03;1.105,75\n", "'1.020,50' groups its"),
    ],
    ids=["quoted in a comma-separated file", "a thousands separator", "thousands among decimal commas"],
)
def test_a_comma_in_a_number_is_refused_with_the_way_to_convert_the_file(tmp_path: Path, text: str, value: str) -> None:
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="Datum", targets=["Umsatz"]))
    rendered = " ".join(err.value.render().split())
    line = 3 if "950,25" in text else 2
    assert f"column 'Umsatz', line {line}: {value}" in rendered, rendered
    assert "'.' as the decimal mark" in rendered and "decimal=','" in rendered and err.value.exit_code == 1


def test_a_value_among_decimal_commas_that_is_not_one_is_named_by_its_own_line(
    through_pandas: bool, tmp_path: Path
) -> None:
    """The others are numbers with decimal commas, so the message names line 4, not the first of them (line 2); a
    chunked read (_CHUNK_ROWS) names it too, not its chunk's first line."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text("t;y\n1;7,8923\n2;8,5\n3;1.007,88\n4;9\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t", targets=["y"]))
    assert err.value.message == "column 'y', line 4: '1.007,88' is not a number"
    assert "thousands='.'" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("text", "values"),
    [("t;y\n1;5\n2;5.125\n3;12.250\n", [5, 5.125, 12.25]), ("y\n1120,5\n1160,5\n", [1120.5, 1160.5])],
    ids=["dots with no three-digit number beside them", "one column of decimal commas"],
)
def test_dots_that_cannot_group_thousands_and_a_lone_column_of_decimal_commas_are_read(
    through_pandas: bool, tmp_path: Path, text: str, values: list[float]
) -> None:
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text(text)
    ds = load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t" if "t;" in text else None, targets=["y"]))
    assert ds.series[0].values[:, 0].tolist() == values


def test_dots_that_may_group_thousands_are_refused_not_read_as_a_thousandth(
    through_pandas: bool, tmp_path: Path
) -> None:
    """Excel (German) writes 1120 as 1.120 in a file separated by semicolons: beside 963 it is no decimal point."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text("year;volume\n1871;963\n1872;1.120\n1873;1.160\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="year", targets=["volume"]))
    assert err.value.message == (
        "column 'volume', line 3: '1.120' beside values such as '963' may be 1120 with '.' grouping its thousands (as "
        "Excel writes numbers in a file separated by semicolons) or 1.12: seqcast will not guess"
    )
    assert err.value.exit_code == 1 and "thousands='.'" in (err.value.hint or "")


def test_dots_grouping_thousands_in_one_chunk_or_file_beside_963_in_another_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1.300 read in one chunk of a large file (or one file of a folder) beside 963 in another is as ambiguous
    as within one: refused, naming its line and file. Each part was looked at alone, and 1.300 read as 1.3,
    silently a thousandth of its value. A column whose dots are decimal marks (2.5) in any part is read as is."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    rows = [f"{k};{v}" for k, v in enumerate(["963", "970", "1.300", "1.320"])]
    (tmp_path / "d.csv").write_text("t;y\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
    monkeypatch.setattr(read, "_CHUNK_ROWS", 2)  # 963, 970 in one chunk; 1.300, 1.320 in the next
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t", targets=["y"]))
    assert err.value.message.startswith("column 'y', line 4: '1.300' beside values such as '963' may be 1300")
    monkeypatch.undo()
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.csv").write_text("t;y\n0;1.300\n1;1.320\n")  # the thousands first, 963 in the file after
    (folder / "b.csv").write_text("t;y\n2;963\n3;970\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=folder, time_column="t", targets=["y"]))
    assert err.value.where == str(folder / "a.csv"), err.value.where
    assert err.value.message.startswith("column 'y', line 2: '1.300' beside values such as '963' may be 1300")
    (folder / "b.csv").write_text("t;y\n2;963\n3;2.5\n")  # a dot that groups nothing: '.' is the decimal mark
    assert load_dataset(DataConfig(path=folder, time_column="t", targets=["y"])).series[0].values[:, 0].tolist() == [
        1.3,
        1.32,
        963.0,
        2.5,
    ]
    (folder / "a.csv").write_text("t;y\n0;1.125\n1;963\n")  # the doubt within one file, a 2.5 in the next: read,
    got = load_dataset(DataConfig(path=folder, time_column="t", targets=["y"])).series[0].values[:, 0].tolist()
    assert got == [1.125, 963.0, 963.0, 2.5]  # as one file of these rows is (it was refused at the first file)


@pytest.mark.parametrize(("sep", "said"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_thousands_dot_among_decimal_commas_is_refused_with_the_files_separator(
    through_pandas: bool, tmp_path: Path, sep: str, said: str
) -> None:
    """Among decimal commas a dot can only group thousands: 1.120 is not read as 1.12; the hint's read_csv has the
    file's own separator."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text(f"t{sep}y\n1{sep}963,5\n2{sep}1.120\n3{sep}970,25\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t", targets=["y"]))
    assert err.value.message == (
        f"column 'y', line 3: '1.120' beside values such as '963,5' may be 1120 with '.' grouping its thousands (as "
        f"Excel writes numbers in a file separated by {said}) or 1.12: seqcast will not guess"
    )
    assert f"read_csv(path, sep={sep!r}, decimal=','" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("head", "what", "hint"),
    [
        (b"PK\x03\x04\x14\x00", "a zip archive (an Excel .xlsx workbook is one)", "read_excel"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1", "an Excel .xls workbook", "read_excel"),
        (b"\x1f\x8b\x08\x00", "gzip-compressed", "gunzip"),
        ("t\ty\n1\t2\n".encode("utf-16"), "UTF-16 text (Excel's 'Unicode Text')", "iconv -f utf-16 -t utf-8"),
    ],
    ids=["xlsx", "xls", "gzip", "utf-16"],
)
def test_a_workbook_an_archive_or_utf16_is_named_for_what_it_is(
    through_pandas: bool, tmp_path: Path, head: bytes, what: str, hint: str
) -> None:
    """Not 'not UTF-8 text' with a cp1252 hint, nor a header without rows: what the file is and how to make a CSV."""
    path = tmp_path / "sales.xlsx"
    path.write_bytes(head + bytes(64))
    with pytest.raises(DataError) as err:
        list(read.read_tables(path))
    assert err.value.message == f"cannot read the file: it is {what}, not CSV text"
    assert hint in (err.value.hint or "") and err.value.where == str(path) and err.value.exit_code == 1


def test_a_folders_hidden_and_lock_files_are_not_read(tmp_path: Path) -> None:
    """Excel leaves ~$name beside a workbook it has open, macOS ._name beside a file copied to a foreign disk."""
    (tmp_path / "2024-03.csv").write_text("t,y\n1,1\n")
    (tmp_path / "2024-04.csv").write_text("t,y\n2,2\n")
    for junk in ("~$2024-03.csv", "._2024-03.csv", ".hidden.csv"):
        (tmp_path / junk).write_bytes(b"\x00\x05\x16\x07")
    assert [p.name for p in read.data_files(tmp_path)] == ["2024-03.csv", "2024-04.csv"]


def test_a_file_that_is_not_utf8_is_named_with_the_way_to_convert_it(through_pandas: bool, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes("Datum;Umsatz (€)\n01.01.2020;10\n".encode("cp1252"))
    with pytest.raises(DataError) as err:
        list(read.read_tables(tmp_path / "d.csv"))
    assert err.value.message == "cannot read the file: it is not UTF-8 text (byte b'\\x80' on line 1)"
    assert "CSV UTF-8" in (err.value.hint or "") and err.value.where == str(tmp_path / "d.csv")


def test_a_byte_that_is_not_utf8_far_into_a_chunked_file_is_named_by_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file is read in chunks: the decoder's position was its chunk's (position 159748 for a byte 13 MB
    in). The line is the file's."""
    monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
    monkeypatch.setattr(read, "_CHUNK_ROWS", 10)
    rows = [f"{i},{i}\n".encode() for i in range(50)]
    rows[37] = "37,K\xe4se\n".encode("cp1252")
    (tmp_path / "d.csv").write_bytes(b"a,b\n" + b"".join(rows))
    with pytest.raises(DataError) as err:
        list(read.read_tables(tmp_path / "d.csv"))
    assert err.value.message == "cannot read the file: it is not UTF-8 text (byte b'\\xe4' on line 39)"


@pytest.mark.parametrize("through_pandas", [False, True])
@pytest.mark.parametrize(
    ("row", "said"),
    [("5,6", "line 5 has 2 fields, the header has 3"), ("5,6,7,8", "line 5 has 4 fields, the header has 3")],
)
def test_a_row_with_too_few_or_too_many_fields_is_named_by_both_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, through_pandas: bool, row: str, said: str
) -> None:
    """A short row was NaN to pandas (a large file's reader), read as a missing value and filled or dropped by
    data.missing; a long one got pandas' own 'Error tokenizing data'. Both readers say what the light one says."""
    if through_pandas:
        monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
        monkeypatch.setattr(read, "_CHUNK_ROWS", 2)
    (tmp_path / "d.csv").write_text("a,b,c\n1,2,3\n1,2,3\n1,,3\n" + row + "\n1,2,3\n")
    with pytest.raises(DataError) as err:
        list(read.read_tables(tmp_path / "d.csv"))
    assert err.value.message == said


@pytest.mark.parametrize("through_pandas", [False, True])
def test_a_quote_never_closed_gets_the_hint_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, through_pandas: bool
) -> None:
    if through_pandas:
        monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
    (tmp_path / "d.csv").write_text('a,b\n1,2\n"x,3\n' + "".join(f"{i},{'z' * 200}\n" for i in range(800)))
    with pytest.raises(DataError) as err:
        list(read.read_tables(tmp_path / "d.csv"))
    assert (
        err.value.hint
        == 'a quote (") that is never closed makes the rest of the file one field: close it, or remove it'
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('a,b\n1,2\n\n\n"x\ny",4\n5,6,7\n', "line 7 has 3 fields, the header has 2"),  # pandas said line 6
        ("a,b\n1,2\n1,2\n   \n5,6\n7,8\n", "line 4 has 1 fields, the header has 2"),  # pandas read it, lines off by one
        ("a,b\n1,2,\n3,4,\n", "line 2 has 3 fields, the header has 2"),  # pandas took column a for the index
    ],
)
def test_a_ragged_row_is_named_by_its_line_by_both_readers(
    through_pandas: bool, tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        list(read.read_tables(path))
    assert err.value.message == said


def test_a_ctrl_c_that_pandas_swallows_still_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_self: Callable[..., None]
) -> None:
    """pandas' C parser turns a KeyboardInterrupt into a ParserError or drops it: the CLI's handler remembers the
    signal, and the reader stops at the next chunk (exit 130, 'interrupted'), not with a read error or success."""
    path = tmp_path / "d.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(50)))
    monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
    monkeypatch.setattr(read, "_CHUNK_ROWS", 10)

    def swallowed() -> int:
        try:  # what the C parser does with the KeyboardInterrupt of a Ctrl-C
            signal_self(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        return sum(len(lines) for _, lines in read.read_tables(path))

    assert guarded(lambda: sum(len(lines) for _, lines in read.read_tables(path))) == 50  # no signal: all rows
    with pytest.raises(typer.Exit) as stopped:
        guarded(swallowed)
    assert stopped.value.exit_code == 130
    assert not errors._signalled  # forgotten once the command is over
    assert guarded(lambda: sum(len(lines) for _, lines in read.read_tables(path))) == 50  # the next one reads


def test_a_swallowed_signal_changes_no_file_of_the_users(tmp_path: Path, signal_self: Callable[..., None]) -> None:
    """A command whose Ctrl-C or SIGTERM a library swallowed writes nothing: neither one file nor the files that a
    command writes together (a forecast and its plot); what was there stays."""
    from seqcast import files

    old, new = tmp_path / "old.csv", tmp_path / "new.png"
    old.write_text("kept\n")

    def swallowed(write: Callable[[], None]) -> Callable[[], None]:
        def command() -> None:
            try:
                signal_self(signal.SIGTERM)
            except KeyboardInterrupt:  # a library's except clause
                pass
            write()

        return command

    def both() -> None:
        with files.together():
            files.atomic_write(old, b"forecast\n")
            files.atomic_write(new, b"plot")

    for write in (lambda: files.atomic_write(old, b"forecast\n"), both):
        with pytest.raises(typer.Exit) as stopped:
            guarded(swallowed(write))
        assert stopped.value.exit_code == 130
        assert old.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]
    guarded(both)  # the signal is forgotten once the command is over: the next one writes
    assert old.read_text() == "forecast\n" and new.read_bytes() == b"plot"


def test_an_interrupt_after_the_outputs_are_written_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while a forecast's table is printed, after its CSV and plot were written: exit 130, and the message
    names them as written whole; before anything is written it says that nothing has changed."""
    from seqcast import files

    out, plot = tmp_path / "f.csv", tmp_path / "p.png"

    def command(write: bool) -> Callable[[], None]:
        def go() -> None:
            if write:
                with files.together():
                    files.atomic_write(out, b"forecast\n")
                    files.atomic_write(plot, b"plot")
            raise KeyboardInterrupt  # while the table is printed

        return go

    for write in (False, True):
        with pytest.raises(typer.Exit) as stopped:
            guarded(command(write))
        assert stopped.value.exit_code == 130
        said = " ".join(capsys.readouterr().err.split())
        whole = f"error: interrupted after writing {out}, {plot} (complete)"
        assert said == (whole if write else "error: interrupted; nothing that was there before has changed")
    assert not errors.committed  # forgotten once the command is over


def test_a_librarys_own_error_for_a_signal_is_an_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    """matplotlib turns a Ctrl-C in its import into "ImportError: initialization failed" (seen by a stress run of
    forecast --plot): with a signal caught, that is exit 130 "interrupted", not an unexpected error (exit 1)."""

    def importing() -> None:
        with contextlib.suppress(KeyboardInterrupt):  # the signal's KeyboardInterrupt, inside the import
            errors.on_signal(signal.SIGINT, None)
        raise ImportError("initialization failed")

    with pytest.raises(typer.Exit) as stopped:
        guarded(importing)
    assert stopped.value.exit_code == 130 and "interrupted" in capsys.readouterr().err
    with pytest.raises(typer.Exit) as failed:  # without a signal it stays an unexpected error
        guarded(lambda: (_ for _ in ()).throw(ImportError("initialization failed")))
    assert failed.value.exit_code == 1 and "ImportError: initialization failed" in capsys.readouterr().err


def test_a_signal_while_matplotlib_loads_waits_until_it_has_loaded(
    monkeypatch: pytest.MonkeyPatch, signal_self: Callable[..., None]
) -> None:
    """A Ctrl-C inside matplotlib's import became "ImportError: initialization failed" and could abort Python's
    teardown (an audit's stress run of forecast --plot): it is held until the import is done, then stops."""
    import matplotlib

    from seqcast import plot

    loaded: list[str] = []

    def use(backend: str, *args: object, **kwargs: object) -> None:  # stands in for the import's own work
        signal_self(signal.SIGINT, 10**5)  # the handler would run here, inside the import, if the signal were not held
        loaded.append(backend)

    monkeypatch.setattr(matplotlib, "use", use)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job (CI) starts ignoring it
    try:
        with pytest.raises(KeyboardInterrupt):
            plot.pyplot()
    finally:
        signal.signal(signal.SIGINT, before)
    assert loaded == ["Agg"]  # the import finished before the signal was handled


def test_sigterm_stops_a_command_as_ctrl_c_does_and_the_handlers_are_put_back(
    capsys: pytest.CaptureFixture[str],
    signal_self: Callable[..., None],
) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    def work() -> None:
        signal_self(signal.SIGTERM, 10**7)
        raise AssertionError("SIGTERM did not stop the command")

    with pytest.raises(typer.Exit) as stopped:
        guarded(work)
    assert stopped.value.exit_code == 130
    assert "interrupted" in capsys.readouterr().err
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_parquet_row_is_named_by_its_number_from_1(tmp_path: Path) -> None:
    """A parquet file has no lines: its rows are numbered from 1 (messages call them rows: read.line_word)."""
    import pandas as pd

    pd.DataFrame({"year": np.arange(2000, 2040), "y": np.arange(40.0)}).to_parquet(tmp_path / "d.parquet")
    ((table, lines),) = read.read_tables(tmp_path / "d.parquet")
    assert lines.tolist() == list(range(1, 41)) and table["y"][5] == 5.0


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_command_line_loads_exits_130_with_one_line(sig: str) -> None:
    """The `seqcast` entry point (seqcast.__main__.main) handles a signal from its first line: one that comes as it
    imports seqcast.cli (~0.2 s of typer, rich and pydantic) printed a KeyboardInterrupt traceback (Ctrl-C) or
    ended the process silently with 143 (SIGTERM). The signal is sent exactly as that import starts."""
    import subprocess
    import sys

    script = f"""
import builtins, os, signal, sys
from seqcast.__main__ import main
real = builtins.__import__
def hooked(name, *args, **kwargs):
    if name == "seqcast.cli":
        os.kill(os.getpid(), signal.{sig})
    return real(name, *args, **kwargs)
builtins.__import__ = hooked
sys.argv = ["seqcast", "--version"]
sys.exit(main())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert done.stderr == "error: interrupted; nothing that was there before has changed\n"
    assert done.stdout == ""  # --version never ran


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("True", "as 1 and 0"),
        ("no", "as 1 and 0"),
        ("north", "(get_dummies); a missing value is written blank"),
        ("12.5kg", None),
    ],
    ids=["a boolean as pandas writes it", "a yes/no word", "a category in a feature", "a number with a unit"],
)
def test_a_word_where_a_number_belongs_gets_the_way_to_encode_it(tmp_path: Path, value: str, hint: str | None) -> None:
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text(f"t,y,promo\n1,5,0\n2,6,{value}\n3,7,1\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t", targets=["y"], features=["promo"]))
    assert err.value.message == f"column 'promo', line 3: {value!r} is not a number"
    assert err.value.exit_code == 1
    assert (hint in err.value.hint) if hint and err.value.hint else (hint is None and err.value.hint is None)


def test_a_word_in_a_target_column_is_no_category_but_may_be_a_missing_value(tmp_path: Path) -> None:
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text("t,y\n1,5\n2,?\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t", targets=["y"]))
    assert err.value.hint == "a missing value is written blank or NA (data.missing handles it)"


def test_a_later_file_or_chunk_is_held_to_the_iso_dates_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder's first file of ISO dates, then a file of 01/01/2024 (day-first, so meant): the later file was
    guessed on its own, month-first, and 12 days became 12 months, silently. It is refused, naming its line, as
    a mixed format within one file is; so is a large file's later chunk."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "2023-12.csv").write_text("time,y\n2023-12-30,1\n2023-12-31,2\n")
    (folder / "2024-01.csv").write_text("time,y\n01/01/2024,3\n02/01/2024,4\n")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=folder, time_column="time", targets=["y"]))
    assert err.value.where == str(folder / "2024-01.csv")
    assert err.value.message == (
        "time column 'time', line 2: '01/01/2024' is read as %m/%d/%Y, but the times in 2023-12.csv as ISO dates "
        "(2024-03-01 13:00)"
    )
    (folder / "2024-01.csv").write_text("time,y\n2024-01-01,3\n2024-01-02,4\n")  # ISO in both: read as one series
    assert len(load_dataset(DataConfig(path=folder, time_column="time", targets=["y"])).series[0]) == 4
    (folder / "2024-01.csv").write_text("time,y\n2024-01-01,3\n2024-1-2,4\n")  # unpadded: %Y-%m-%d, as in one file
    assert len(load_dataset(DataConfig(path=folder, time_column="time", targets=["y"])).series[0]) == 4
    one = tmp_path / "one.csv"
    one.write_text("time,y\n2023-12-30,1\n2023-12-31,2\n01/01/2024,3\n01/02/2024,4\n")
    monkeypatch.setattr(read, "_PANDAS_ABOVE", 0)
    monkeypatch.setattr(read, "_CHUNK_ROWS", 2)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(path=one, time_column="time", targets=["y"]))
    assert err.value.message.startswith("time column 'time', line 4: '01/01/2024' is read as "), err.value
    assert err.value.message.endswith("but the times before line 4 as ISO dates (2024-03-01 13:00)")


def test_columns_without_a_name_are_unnamed_as_pandas_says_not_two_of_one_name(tmp_path: Path) -> None:
    """Excel writes a sheet's empty columns as unnamed ones (time,y,,): two blank names were refused as 'both
    named '''. They are 'Unnamed: 2' and 'Unnamed: 3', as pandas calls them, and the file reads."""
    from seqcast.config import DataConfig
    from seqcast.data import load_dataset

    (tmp_path / "d.csv").write_text("t,y,,\n1,10,,\n2,11,,\n")
    table, _ = next(read.read_tables(tmp_path / "d.csv"))
    assert list(table) == ["t", "y", "Unnamed: 2", "Unnamed: 3"]
    assert load_dataset(DataConfig(path=tmp_path / "d.csv", time_column="t", targets=["y"])).series[0].values[
        :, 0
    ].tolist() == [10.0, 11.0]


@pytest.mark.parametrize("cut", [1, 2, 3, 6, 9])
def test_a_line_of_spaces_across_two_blocks_of_the_scan_is_seen(tmp_path: Path, cut: int) -> None:
    """The byte scan that lets a record's position give its line reads the file a block at a time: a line of
    spaces whose newline fell more than two bytes before a block's end was missed (pandas skips such a line, so
    every later line number was one short)."""
    path = tmp_path / "d.csv"
    head = b"t,y\n1,2\n"
    path.write_bytes(head + b"      \n3,4\n")
    assert not read._one_line_per_record(path, block=len(head) + cut)
    path.write_bytes(head + b"3,4\n5,6\n")
    assert read._one_line_per_record(path, block=len(head) + cut)
