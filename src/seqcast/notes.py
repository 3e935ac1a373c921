"""The notes commands print on stderr: those alike but for names and numbers (a gap filled in each of 500
series) cut to a few, with a line saying how many more there are."""

from __future__ import annotations

import collections
import re

NOTES_ALIKE = 5  # notes of one shape shown at most (one per series: a gap filled in each of 500 series)
_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]|\d[\d.,:T+-]*")


def grouped(notes: list[str]) -> list[str]:
    """`notes` with those alike but for names and numbers (quoted text, lists, numbers, times) cut to the first
    NOTES_ALIKE of their shape, and a line saying how many more there are."""
    shapes = [_VARYING.sub("_", n) for n in notes]
    count = collections.Counter(shapes)
    seen: collections.Counter[str] = collections.Counter()
    out = []
    for n, shape in zip(notes, shapes, strict=True):
        seen[shape] += 1
        if seen[shape] <= NOTES_ALIKE:
            out.append(n)
        if seen[shape] == NOTES_ALIKE and count[shape] > NOTES_ALIKE:
            out.append(f"(and {count[shape] - NOTES_ALIKE:,} more notes like the last)")
    return out
