"""The card's sentence on the inputs a version's learners were not fitted on because their source starts late
(run.json ``inputs_left_out``, ``models.input_coverage``; issue #18)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.input_coverage import span_words


def describe_left_out(left_out: Sequence[Mapping[str, Any]] | None) -> str:
    """One sentence from run.json ``inputs_left_out``: which inputs, which source, from when, and which years; "-"
    when none was left out (or the version was trained before run.json recorded it)."""
    if not left_out:
        return "-"
    one = len(left_out) == 1
    names = ", ".join(str(e["input"]) for e in left_out)
    sources = list(dict.fromkeys(str(e.get("source") or "its source") for e in left_out))
    starts = ", ".join(sorted(dict.fromkeys(str(e["covered_from"]) for e in left_out)))
    years = span_words(sorted({int(y) for e in left_out for y in e.get("training_years_uncovered") or []}))
    return (f"{names} {'was' if one else 'were'} left out of the fitted learners because {', '.join(sources)} "
            f"{'holds' if len(sources) == 1 else 'hold'} records only from a later date (complete from index date "
            f"{starts}): in index years {years} {'it' if one else 'they'} counted nothing, or only part of "
            f"{'its' if one else 'their'} look-back, because the source held no records then, not because nothing "
            "happened; the rule is unchanged.")
