"""What the commands print stays readable with many series: notes alike but for names and numbers (one per series)
are cut to a few, with how many more there are; messages that list series count the rest; the MAE table shows a
few steps of a long horizon."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqcast.config import DataConfig
from seqcast.data import load_dataset, split_parts
from seqcast.errors import DataError, listed
from seqcast.notes import NOTES_ALIKE, grouped
from seqcast.preview import text_lines


def test_notes_alike_are_cut_to_the_first_few_and_counted() -> None:
    filled = [
        f"{k} row(s) with missing values of series 's{k:03d}' filled (data.missing: interpolate)" for k in range(9)
    ]
    other = "rows of series 'A' were not in time order; sorted by date"
    gaps = [f"1 missing timestamp(s) of series 'b{k}' at frequency D (first: 2024-01-{k + 10}); data.missing: ffill"
            for k in range(6)]  # fmt: skip
    notes = [filled[0], other, *filled[1:], *gaps]
    assert grouped(notes) == [
        filled[0], other, *filled[1:NOTES_ALIKE],
        f"(and {9 - NOTES_ALIKE} more notes like the last)",
        *gaps[:NOTES_ALIKE],
        f"(and {6 - NOTES_ALIKE} more notes like the last)",
    ]  # fmt: skip


def test_notes_under_the_limit_or_of_other_shapes_are_all_kept() -> None:
    notes = [f"series 's{k}' note" for k in range(NOTES_ALIKE)] + ["a note", "another note", "a note"]
    assert grouped(notes) == notes


def test_listed_quotes_the_first_names_and_counts_the_rest() -> None:
    assert listed(["a", "b"]) == "'a', 'b'"
    assert listed([f"s{k}" for k in range(1205)]) == "'s0', 's1', 's2', 's3', 's4' and 1,200 more"


def test_every_series_too_short_for_the_split_is_counted(tmp_path: Path) -> None:
    lines = ["s,t,y"] + [f"{name},{t},{t}" for name, n in (("A", 30), ("B", 5), ("C", 30), ("D", 6), ("E", 4))
                          for t in range(n)]  # fmt: skip
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    cfg = DataConfig(
        path=tmp_path / "d.csv", time_column="t", series_column="s", targets=["y"], split={"val": 2, "test": 2}
    )
    ds = load_dataset(cfg)
    with pytest.raises(DataError) as err:
        split_parts(ds, cfg, min_train=3)
    assert " ".join(err.value.render().split()) == (
        f"{tmp_path / 'd.csv'}: series 'B' has 5 rows: after data.split val=2 and test=2 rows, 1 remain for training, "
        "fewer than the 3 needed (so have 2 more series: 'D', 'E') hint: lower data.split.val / data.split.test, or "
        "leave those series out of the data"
    )


def test_window_preview_lists_the_padding_of_ten_series_and_counts_the_rest() -> None:
    pad = {"how": "padded", "fraction": 0.5, "rows": {f"s{k}": k for k in range(25)}}
    doc = {"states": "s", "scaler": {}, "transform": {}, "refit": None, "features": [], "resample": None,
           "mode": "stateful", "padding": pad}  # fmt: skip
    import seqcast.preview as preview

    with pytest.MonkeyPatch.context() as mp:  # the lines before the padding's are not what this test is about
        mp.setattr(preview, "scaler_text", lambda _: "")
        mp.setattr(preview, "transform_text", lambda _: "")
        line = text_lines(doc)[-1]
    shown = ", ".join(f"'s{k}': {k}" for k in range(10))
    assert line == f"padded; padded rows per series (50.0% of the batches' steps): {{{shown}, and 15 more}}"


@pytest.mark.parametrize(
    ("h", "season", "steps"),
    [(12, 24, [1, 2, 3, 6, 12]), (24, 24, [1, 2, 3, 6, 12, 18, 24]), (48, 24, [1, 2, 3, 12, 24, 36, 48]),
     (14, 7, [1, 2, 3, 6, 7, 12, 14]), (100, 12, [1, 2, 3, 25, 50, 75, 100]), (2, 1, [1, 2])],
)  # fmt: skip
def test_the_mae_table_shows_the_first_steps_regular_ones_the_last_and_season_ends(
    h: int, season: int, steps: list[int]
) -> None:
    from seqcast.report import shown_steps

    assert shown_steps(h, season) == steps
