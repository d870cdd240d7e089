"""Monthly recording series: how often each code of a watched column is recorded, overall and by group.

Pure functions over one pseudonymised table at a time. A series is one (column, code, breakdown, group):
per month, ``coded`` rows carrying the code out of ``rows`` rows of the table in that group, and
``expected``: the rows that would carry it had each age (in single years at the row's date) recorded it
at its share over the whole series (indirect standardisation), so a county whose children grow older
raises the expected count of teenage codes instead of showing a "break". Months in which the group has
no rows at all are left out (a census table has rows only in census months).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from pipeline.monitor.changepoint import BreakTest, best_break, is_recording_break

ALL = "all"  # the breakdown of a series over every row


@dataclass(frozen=True)
class MonitorSettings:
    """How strict the monitor is (``monitor`` in params.yaml).

    Attributes:
        alpha: largest p-value reported as a break, Bonferroni-adjusted over split points and over every
            series of the column (family-wise).
        min_ratio: smallest change in a code's share, up or down, reported (1.5: +50% or -33%).
        min_coded: fewest expected coded rows in the shorter segment.
        min_segment: fewest periods on each side of a break.
        min_rows: fewest rows a group needs over the whole series to be tested at all.
    """

    alpha: float = 1e-3
    min_ratio: float = 1.5
    min_coded: int = 20
    min_segment: int = 6
    min_rows: int = 200


def code_values(values: pd.Series, prefix: int | None) -> pd.Series:
    """Codes as the monitor counts them: stripped text, cut to ``prefix`` characters when given; blank = <NA>."""
    text = values.astype("string").str.strip()
    if prefix:
        text = text.str[:prefix]
    return text.mask(text == "")


def age_in_years(rows: pd.DataFrame, dates: pd.Series) -> pd.Series:
    """Age in whole years at ``dates`` from ``birth_year``/``birth_month`` (capped at 25; -1 where unknown)."""
    if "birth_year" not in rows.columns:
        return pd.Series(-1, index=rows.index, dtype="int64")
    born = pd.to_numeric(rows["birth_year"], errors="coerce") * 12 + pd.to_numeric(
        rows.get("birth_month", pd.Series(7, index=rows.index)), errors="coerce").fillna(7) - 1
    at = dates.dt.year * 12 + dates.dt.month - 1
    return ((at - born) // 12).clip(0, 25).fillna(-1).astype("int64")


def monthly_counts(rows: pd.DataFrame, *, date_column: str, column: str, prefix: int | None,
                   breakdowns: Sequence[str]) -> pd.DataFrame:
    """Per breakdown, group, month and code: rows carrying the code, rows expected to, and rows of the table.

    Args:
        rows: one table's rows with ``date_column``, ``column``, each breakdown column and (for the age
            standardisation) ``birth_year``/``birth_month`` where known.
        breakdowns: columns to split the series by (``ethnicity_group``, ``imd_quintile``); every row
            also counts towards the ``all`` breakdown.

    Returns:
        ``breakdown, group, month (period[M]), code, coded, expected, rows`` — one row per series and month
        with a row of the table (``coded`` 0 where the code is absent); a blank code is a code of its own
        ("(blank)"), so a code that becomes blank shows.
    """
    dates = pd.to_datetime(rows[date_column], errors="coerce")
    dated = rows.assign(month=dates.dt.to_period("M"), age=age_in_years(rows, dates),
                        code=code_values(rows[column], prefix).fillna("(blank)"))
    dated = dated[dated["month"].notna()]
    frames = []
    for breakdown in (ALL, *breakdowns):
        group = (pd.Series(ALL, index=dated.index) if breakdown == ALL else dated[breakdown].astype("string"))
        keyed = dated.assign(breakdown=breakdown, group=group)
        frames.append(keyed[keyed["group"].notna()][["breakdown", "group", "month", "age", "code"]])
    keyed = pd.concat(frames, ignore_index=True)
    series_keys, strata = ["breakdown", "group"], ["breakdown", "group", "month", "age"]
    totals = keyed.groupby(strata, observed=True).size().rename("rows").reset_index()
    coded = keyed.groupby([*strata, "code"], observed=True).size().rename("coded").reset_index()
    # each age's share of the code over the whole series: the rate the expected counts assume
    by_age = coded.groupby([*series_keys, "age", "code"], observed=True)["coded"].sum().reset_index()
    age_rows = totals.groupby([*series_keys, "age"], observed=True)["rows"].sum().rename("age_rows").reset_index()
    by_age = by_age.merge(age_rows, on=[*series_keys, "age"])
    by_age["share"] = by_age["coded"] / by_age["age_rows"]
    expected = totals.merge(by_age[[*series_keys, "age", "code", "share"]], on=[*series_keys, "age"])
    expected = (expected.assign(expected=expected["rows"] * expected["share"])
                .groupby([*series_keys, "month", "code"], observed=True)["expected"].sum().reset_index())
    observed = coded.groupby([*series_keys, "month", "code"], observed=True)["coded"].sum().reset_index()
    month_rows = totals.groupby([*series_keys, "month"], observed=True)["rows"].sum().reset_index()
    out = expected.merge(observed, on=[*series_keys, "month", "code"], how="left").merge(
        month_rows, on=[*series_keys, "month"])
    out["coded"] = out["coded"].fillna(0).astype("int64")
    return out[["breakdown", "group", "month", "code", "coded", "expected", "rows"]]


def _series(counts: pd.DataFrame) -> Iterator[tuple[tuple[str, str, str], pd.DataFrame]]:
    """Each (breakdown, group, code) series, in month order."""
    ordered = counts.sort_values(["breakdown", "group", "code", "month"], kind="stable")
    for (breakdown, group, code), series in ordered.groupby(["breakdown", "group", "code"], sort=False):
        yield (str(breakdown), str(group), str(code)), series


def find_breaks(counts: pd.DataFrame, settings: MonitorSettings) -> tuple[pd.DataFrame, int]:
    """Test every series of :func:`monthly_counts` output (one column) for one step change.

    Each series' p-value is Bonferroni-adjusted twice: over its split points (:func:`best_break`) and over
    every series tested for the column (each code, overall and in each group), so ``alpha`` bounds the
    chance of any false break in the column, not in each of its hundreds of series.

    Returns:
        ``breakdown, group, code, month (first month after the break), share_before, share_after, ratio,
        rows_before, rows_after, coded_before, coded_after, dispersion, p_value`` (one row per break,
        strongest first), and the number of series tested.
    """
    tests = []
    for (breakdown, group, code), series in _series(counts):
        if series["rows"].sum() < settings.min_rows:
            continue
        test = best_break(series["coded"].to_numpy(), series["expected"].to_numpy(), series["rows"].to_numpy(),
                          min_segment=settings.min_segment)
        tests.append((breakdown, group, code, series, test))
    found = []
    for breakdown, group, code, series, test in tests:
        if test is None:
            continue
        test = replace(test, p_value=min(1.0, test.p_value * len(tests)))
        if is_recording_break(test, alpha=settings.alpha, min_ratio=settings.min_ratio,
                              min_coded=settings.min_coded):
            found.append(_break_row(breakdown, group, code, series, test))
    columns = ["breakdown", "group", "code", "month", "share_before", "share_after", "ratio", "rows_before",
               "rows_after", "coded_before", "coded_after", "dispersion", "p_value"]
    breaks = pd.DataFrame(found, columns=columns).astype({"ratio": "object"})
    return breaks.sort_values("p_value", kind="stable").reset_index(drop=True), len(tests)


def _break_row(breakdown: str, group: str, code: str, series: pd.DataFrame, test: BreakTest) -> dict:
    return {"breakdown": breakdown, "group": group, "code": code, "month": str(series["month"].iloc[test.split]),
            "share_before": test.share_before, "share_after": test.share_after,
            "ratio": test.ratio if np.isfinite(test.ratio) else None, "rows_before": test.records_before,
            "rows_after": test.records_after, "coded_before": test.coded_before, "coded_after": test.coded_after,
            "dispersion": test.dispersion, "p_value": test.p_value}
