"""Inputs kept out of the years their source could not describe (issue #18).

A source whose extract starts late (adult social care's Client Level Data, from April 2023) leaves its inputs 0
for almost everyone in earlier index years: structural zeros, the source held no records, not "no care". A
learner fitted on those years learns its coefficients from a handful of rows and then applies them to the later
years, where the input has switched on (the older-carer register's penalised model fell from the rule's AUROC of
0.77 to 0.71, calibration slope 0.35). So an input is fitted only on years where its source could have held the
facts it counts: features.json ``input_coverage`` (``features.coverage``) gives, per input, the first index date
whose whole look-back lies on or after the source's start.

For the inputs not covered in some of the fitted years there are two choices, and the second is the default:

(a) fit on the covered training years only, when those years (with the validation year, which is never
    dropped) still hold ``MIN_EVENTS`` events and non-events, the fewest the pipeline fits a learned model on,
    and no more than half of the training years are given up for it (one input is not worth most of the
    history every other input describes);
(b) otherwise leave the input out of the fitted learners.

Structural zeros are never imputed, the features frame is never changed (only the columns and years the learners
see), and the rule score, fixed by experts, is not touched: it reads the frame as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.ld_register import MIN_EVENTS
from pipeline.sources.registry import SourceRegistryError, get_source


@dataclass(frozen=True)
class CoveredInputs:
    """What the learners see once inputs are kept to the years their source covers.

    Attributes:
        feature_columns: the inputs the learners are fitted on (the spec's, less those left out).
        train_years: the training years the learners are fitted on (the spec's, or the covered ones under (a)).
        left_out: run.json ``inputs_left_out``: ``{input, source (as lists name it), covered_from,
            training_years_uncovered, reason}`` per input left out, in plain words.
        restricted: run.json ``training_years_restricted``: None, or ``{years, dropped_years, inputs, reason}``
            when (a) fitted on the covered training years only.
    """

    feature_columns: list[str]
    train_years: list[int]
    left_out: list[dict[str, Any]] = field(default_factory=list)
    restricted: dict[str, Any] | None = None


def _source_words(source: str) -> str:
    try:
        return ", ".join(get_source(s.strip()).display_name for s in source.split(","))
    except SourceRegistryError:
        return source


def span_words(years: Sequence[int]) -> str:
    """``2014-2023`` for consecutive years, ``2014, 2016`` otherwise."""
    years = sorted(int(y) for y in years)
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def _window_words(window: str) -> str:
    """``12m`` -> ``12-month input``, ``6y`` -> ``6-year input``."""
    unit = {"m": "month", "y": "year"}.get(window[-1:])
    return f"{window[:-1]}-{unit} input" if unit and window[:-1].isdigit() else f"{window} input"


def uncovered_years(index_dates: pd.Series, years: Sequence[int], covered_from: str) -> list[int]:
    """The ``years`` holding an index date before ``covered_from`` (``index_dates``: earliest per index year)."""
    start = pd.Timestamp(covered_from)
    return [int(y) for y in years if y in index_dates.index and index_dates[y] < start]


def _enough(features: pd.DataFrame, years: Sequence[int], min_events: int) -> tuple[bool, int, int]:
    labelled = features.loc[features["index_year"].isin(list(years)), "outcome"].dropna()
    events = int(labelled.sum())
    return min(events, len(labelled) - events) >= min_events, events, len(labelled) - events


def cover_inputs(features: pd.DataFrame, feature_columns: Sequence[str], coverage: Mapping[str, Mapping[str, Any]],
                 train_years: Sequence[int], validation_year: int, *, min_events: int = MIN_EVENTS,
                 max_share_dropped: float = 0.5) -> CoveredInputs:
    """Keep each input to the fitted years its source covers: (a) or (b) of the module docstring.

    Inputs are taken in the order of how few fitted years their gap costs; each is kept by dropping its
    uncovered training years while the years left hold ``min_events`` events and non-events, else left out. An
    input uncovered in the validation year is always left out (calibration and the penalty are chosen there).

    Args:
        features: ``index_year, index_date, outcome`` (Int8, <NA> = not matured); never changed.
        feature_columns: the spec's inputs.
        coverage: features.json ``input_coverage`` (``features.coverage``): input -> ``source, covered_from``; an
            input not in it is covered in every year.
        train_years, validation_year: the spec's split.
        min_events: the fewest events and non-events (a) may fit on.
        max_share_dropped: the largest share of the training years (a) may give up.
    """
    first_date = pd.to_datetime(features["index_date"]).groupby(features["index_year"].astype("int64")).min()
    fitted = [*sorted(int(y) for y in train_years), int(validation_year)]
    gaps = {c: uncovered_years(first_date, fitted, coverage[c]["covered_from"]) for c in feature_columns
            if c in coverage}
    gaps = {c: g for c, g in gaps.items() if g}
    years, kept_by_restriction, left_out = list(fitted[:-1]), [], []
    for name in sorted(gaps, key=lambda c: (len(gaps[c]), list(feature_columns).index(c))):
        entry, gap = coverage[name], gaps[name]
        source = _source_words(str(entry.get("source", "")))
        window = str(entry.get("window") or "ever")
        holds = (f"{source} holds records from {entry.get('source_starts', entry['covered_from'])}, so this "
                 f"{'input' if window in ('ever', 'now', 'latest') else _window_words(window)}"
                 f" is complete only from index date {entry['covered_from']}")
        remaining = [y for y in years if y not in gap]
        ok, events, non_events = _enough(features, [*remaining, fitted[-1]], min_events)
        affordable = len(fitted[:-1]) - len(remaining) <= max_share_dropped * len(fitted[:-1])
        if validation_year not in gap and remaining and ok and affordable:
            years = remaining
            kept_by_restriction.append(name)
            continue
        why = (f"the validation year {validation_year} is among them" if validation_year in gap else
               "no training year is covered" if not remaining else
               f"fitting on the covered years alone would give up {len(fitted) - 1 - len(remaining)} of "
               f"{len(fitted) - 1} training years" if not affordable else
               f"the covered years hold {events} events and {non_events:,} non-events, fewer than the "
               f"{min_events} of each needed to fit on them alone")
        left_out.append({"input": name, "source": source, "covered_from": entry["covered_from"],
                         "training_years_uncovered": gap,
                         "reason": f"{holds}; index years {span_words(gap)} are before that and {why}: left out of the "
                                   "fitted learners rather than read as structural zeros (the rule is unchanged)"})
    dropped = [y for y in fitted[:-1] if y not in years]
    restricted = None
    if dropped:
        restricted = {"years": years, "dropped_years": dropped, "inputs": kept_by_restriction,
                      "reason": f"{', '.join(kept_by_restriction)} are complete only from index year {min(years)}: "
                                f"the learners are fitted on training years {span_words(years)}, not "
                                f"{span_words(dropped)}, which still hold at least {min_events} events and non-events"}
    gone = {e["input"] for e in left_out}
    return CoveredInputs([c for c in feature_columns if c not in gone], years, left_out, restricted)

