"""Features computed for whole cohort rows by a function rather than one SQL aggregate per feature.

Most features are DuckDB aggregates over one event domain (``features.window``). A few need a step SQL
over one person's events cannot take: the older-carer register's (issue #18) are about the carers open
on the index date, each carer's records aggregated first and then the carers combined (the frailest carer,
the youngest carer's age). A features module registers such a group's builder here; the registry declares
its features with ``sql=None``; ``features.build.features_with_context`` calls the builder on the same
events every other feature reads, so the leakage perturbation rebuilds these features too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from features.feature import Feature

RowBuilder = Callable[[pd.DataFrame, Mapping[str, pd.DataFrame]], pd.DataFrame]
_ROW_BUILDERS: dict[str, RowBuilder] = {}


def row_feature_builder(group: str) -> Callable[[RowBuilder], RowBuilder]:
    """Register the decorated function as the builder of feature group ``group``: called with the cohort
    (``row_id, person_id, index_date``, others carried) and the event frames, it returns ``row_id`` and one
    column per feature of the group."""

    def register(build: RowBuilder) -> RowBuilder:
        _ROW_BUILDERS[group] = build
        return build

    return register


def add_row_features(frame: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                     features: Mapping[str, Feature]) -> pd.DataFrame:
    """``frame`` with the columns of every row-built group among ``features`` (filled with each feature's
    ``fill`` where the builder gave the row nothing).

    Raises:
        ValueError: a builder left out a feature its group declares.
    """
    groups = {f.group for f in features.values() if f.sql is None and f.group in _ROW_BUILDERS}
    for group in sorted(groups):
        built = _ROW_BUILDERS[group](frame, events).set_index("row_id")
        names = [f.name for f in features.values() if f.group == group]
        missing = sorted(set(names) - set(built.columns))
        if missing:
            raise ValueError(f"row features of group {group!r} did not build {missing}")
        values = built[names].reindex(frame["row_id"].to_numpy())
        for f in (features[n] for n in names):
            column = pd.to_numeric(values[f.name], errors="coerce").astype("float64")
            if f.fill is not None:
                column = column.fillna(f.fill)
            typed = column.astype("int8") if f.kind == "binary" and f.fill is not None else column
            frame = frame.assign(**{f.name: typed.to_numpy()})
    return frame
