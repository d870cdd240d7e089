"""Reading the score stage's lists (``outputs/risk_lists/<model>/``) and shaping rows for people.

The list's data file is read generically (``risk_list.parquet`` if present, else ``risk_list.csv``;
docs/contracts.md "Risk lists"): the columns the app relies on are ``rank`` and ``person_token``; ``risk``
(in words and numbers; else made from ``risk_percent``), ``status``/``approval`` (DRAFT or approved),
``band``, ``reasons`` and ``protective_factors`` (one phrase per line, or "; "-joined), what the model
cannot see (a column whose name holds ``cannot_see`` or ``not_seen``; else the "no ... record" phrases of
``records_seen``/``sources_seen``, else ``<source>_last_record`` reading "no record"), ``locality`` (for
team assignments) and ``list_date`` are used where present. The parquet file's per-person detail
(``reason_<i>_*``, ``risk_probability``, ``hidden_contributions``, ``index_date``) is neither shown nor
exported; every other column is shown on the person's page as it is.

What the pages call the people on a list (children, adults) is the population the listed model was trained for,
read where the score stage read it when it issued the list: ``population`` in ``data/models/<model>/run.json``
(:func:`list_nouns`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ethics.gate import run_population
from features.populations import UnknownPopulationError, get_population
from pipeline.core.io import read_csv_table, read_json, read_parquet
from pipeline.core.paths import ProjectPaths

LIST_FILES = ("risk_list.parquet", "risk_list.csv")
SHOWN_ON_LIST = 3  # reasons on the list page; the person's page shows them all
NO_RECORD = "no record"


class ListNotFound(LookupError):
    """The model has no list file yet (``riskpipe score`` has not run for it)."""


@dataclass(frozen=True)
class Nouns:
    """What a list's pages call its people: ``plural`` ("children", "adults") and ``singular`` ("child")."""

    plural: str
    singular: str


NEUTRAL = Nouns("people", "person")  # the list's population cannot be told: never guess "children"


def list_nouns(paths: ProjectPaths, model: str) -> Nouns:
    """The nouns of ``model``'s population (``features.populations.Population.plural``/``singular``).

    The population is run.json's, worked out as the score stage and the gate do when they issue and judge the list
    (:func:`ethics.gate.run_population`; for a run.json written before train recorded it, from its inputs).
    Without a run.json, or with a population this code does not know, the pages say "people"/"person" rather than guess.
    """
    run_file = paths.model_artifacts(model) / "run.json"
    if not run_file.exists():
        return NEUTRAL
    try:
        population = get_population(run_population(read_json(run_file)))
    except UnknownPopulationError:
        return NEUTRAL
    return Nouns(population.plural, population.singular)


def list_folder(paths: ProjectPaths, model: str) -> Path:
    return paths.outputs / "risk_lists" / model


def list_file(paths: ProjectPaths, model: str) -> Path:
    """The list's data file.

    Raises:
        ListNotFound: none written.
    """
    for name in LIST_FILES:
        path = list_folder(paths, model) / name
        if path.exists():
            return path
    raise ListNotFound(f"no risk list for {model} yet: run `riskpipe score --model {model}`")


@functools.lru_cache(maxsize=16)
def _read(path: str, mtime_ns: int, size: int) -> pd.DataFrame:  # noqa: ARG001 - the cache key
    frame = read_parquet(Path(path)) if path.endswith(".parquet") else read_csv_table(Path(path))
    return frame.astype("string").fillna("")


def read_list(paths: ProjectPaths, model: str) -> pd.DataFrame:
    """The model's list as text columns (blank for missing), cached until the file changes.

    Raises:
        ListNotFound: no list file.
    """
    path = list_file(paths, model)
    stat = path.stat()
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


def scoped(frame: pd.DataFrame, localities: list[str] | None) -> pd.DataFrame:
    """The rows a team may see: all (``localities`` None), or those whose ``locality`` is one of them.

    A list without a ``locality`` column gives no rows to a locality-bound team: whose children they are
    cannot be told, so none are shown.
    """
    if localities is None:
        return frame
    if "locality" not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame["locality"].isin(localities)]


def is_draft(frame: pd.DataFrame) -> bool:
    """True unless every row says the list comes from an approved release (an empty list counts as draft)."""
    if frame.empty:
        return True
    if "status" in frame.columns:
        return bool((frame["status"].str.upper() != "APPROVED").any())
    return bool(frame.get("approval", pd.Series(["DRAFT"])).str.upper().str.startswith("DRAFT").any())


def list_date(frame: pd.DataFrame, path: Path) -> date:
    """The date the list was issued: its ``list_date`` column where present, else the file's date (UTC)."""
    if "list_date" in frame.columns and not frame.empty and frame["list_date"].iloc[0]:
        return date.fromisoformat(str(frame["list_date"].iloc[0])[:10])
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date()


def release_of(frame: pd.DataFrame) -> str:
    """The release a list came from, as an offer records it: the approval reference, or DRAFT."""
    if is_draft(frame) or "approval" not in frame.columns:
        return "DRAFT"
    return str(frame["approval"].iloc[0])


def risk_in_words(percent: str) -> str:
    """"33.3" -> "about 1 in 3" (for lists without a ``risk`` text); blank or unreadable reads "not given"."""
    try:
        value = float(percent)
    except (TypeError, ValueError):
        return "not given"
    if value <= 0:
        return "less than 1 in 1,000"
    one_in = max(1, round(100 / value))
    return f"about 1 in {one_in:,}"


def phrases(text: str) -> list[str]:
    """A cell holding several phrases (one per line, or "; "-joined) as its phrases (empty cell: none)."""
    text = str(text)
    parts = text.splitlines() if "\n" in text else text.split("; ")
    return [p.strip() for p in parts if p.strip()]


def unseen_reader(columns: list[str]) -> Callable[[Mapping[str, Any]], list[str]]:
    """How to read what the model cannot see from a row with these ``columns``: the list's own column where it has
    one, else the sources with no record (the "no ... record" phrases of ``records_seen``/``sources_seen``, else
    the ``<source>_last_record`` columns). Chosen once per list, since every row has the same columns."""
    own = next((c for c in columns if "cannot_see" in c or "not_seen" in c), None)
    if own is not None:
        return lambda row: phrases(row[own])
    seen = next((c for c in ("records_seen", "sources_seen") if c in columns), None)
    if seen is not None:
        return lambda row: [p for p in phrases(row[seen]) if p.lower().startswith("no ")]
    last = [(c, f"no {c.removesuffix('_last_record').replace('_', ' ')} record") for c in columns
            if c.endswith("_last_record")]
    return lambda row: [text for c, text in last if str(row[c]).strip().lower() == NO_RECORD]


def cannot_see(row: pd.Series) -> list[str]:
    """What the model cannot see for this child (:func:`unseen_reader`)."""
    return unseen_reader(list(row.index))(row)


@dataclass(frozen=True)
class ListRow:
    """One person on a list as the pages show them."""

    rank: str
    token: str
    risk_text: str
    band: str
    reasons: list[str]
    protective: list[str]
    unseen: list[str]
    other: list[tuple[str, str]] = field(default_factory=list)

    @property
    def top_reasons(self) -> list[str]:
        return self.reasons[:SHOWN_ON_LIST]

    @property
    def sources_missing(self) -> bool:
        """Whether some source holds no record of the child (a "no ..." phrase), rather than "every ... holds one"."""
        return any(p.lower().startswith("no ") for p in self.unseen)


def label(column: str) -> str:
    """A column name for people: ``social_care_last_record`` -> "Social care last record"."""
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


SHAPED = {"rank", "person_token", "risk", "risk_percent", "band", "reasons", "protective_factors"}
# per-person detail the parquet file adds for the app's own use; neither shown as text nor exported
DETAIL_PREFIXES = ("reason_", "risk_probability", "hidden_contributions", "index_date")


def list_columns(frame: pd.DataFrame) -> list[str]:
    """The columns people read (the CSV's): ``frame``'s less the per-person detail columns."""
    return [c for c in frame.columns if not c.startswith(DETAIL_PREFIXES)]


def risk_text(row: Mapping[str, Any]) -> str:
    """The calibrated risk in words and numbers: the list's ``risk`` text where it has one ("about 1 in 4 (24%)"),
    else made from ``risk_percent``."""
    if str(row.get("risk", "")).strip():
        return str(row["risk"])
    return f"{risk_in_words(row.get('risk_percent'))} ({row.get('risk_percent', '')}%)"


def _row_shaper(columns: list[str]) -> Callable[[Mapping[str, Any]], ListRow]:
    """A function shaping one row (a mapping of ``columns``) as :class:`ListRow`; what depends only on the columns
    (which are shown under ``other``, their labels, where the unseen sources are read) is worked out once."""
    other = [(c, label(c)) for c in columns if not c.startswith(DETAIL_PREFIXES) and c not in SHAPED
             and "cannot_see" not in c and "not_seen" not in c]
    unseen = unseen_reader(columns)

    def shape(row: Mapping[str, Any]) -> ListRow:
        return ListRow(rank=str(row.get("rank", "")), token=str(row["person_token"]), risk_text=risk_text(row),
                       band=str(row.get("band", "")), reasons=phrases(row.get("reasons", "")),
                       protective=phrases(row.get("protective_factors", "")), unseen=unseen(row),
                       other=[(name, str(row[c])) for c, name in other])
    return shape


def shape_row(row: pd.Series) -> ListRow:
    """A list row as :class:`ListRow`; ``other`` holds every other column people read, labelled for them."""
    return _row_shaper(list(row.index))(row.to_dict())


def shape_rows(frame: pd.DataFrame) -> list[ListRow]:
    """Every row of ``frame``, in rank order.

    The rows are read as plain dicts (``to_dict("records")``) and shaped by one :func:`_row_shaper`: building a
    Series and a frame per row was most of a 200-row list page's time.
    """
    if "rank" in frame.columns:
        frame = frame.iloc[pd.to_numeric(frame["rank"], errors="coerce").argsort(kind="stable")]
    shape = _row_shaper(list(frame.columns))
    return [shape(row) for row in frame.to_dict("records")]
