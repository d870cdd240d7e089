"""The one place a pandera schema is built from a TableSpec, and its failures turned into problems.

Column checks carry field-level rules (code lists, identifier check digits, formats, ranges);
``nullable=False`` on row-required columns and dataframe-wide checks carry the row-level rules
(missing key, dates out of order, events before birth or after the extract date). Validation is
lazy, so every failure of every row is collected; only row indices and rule names are kept,
never the failing values.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from pipeline.privacy.actions import Privacy
from pipeline.sources.spec import Kind, TableSpec
from pipeline.sources.validators import VALIDATORS

DTYPES = {
    Kind.STR: "str",
    Kind.INT: "Int64",
    Kind.FLOAT: "Float64",
    Kind.DATE: "datetime64[us]",
    Kind.BOOL: "boolean",
}
PROBLEM_COLUMNS = ["row", "column", "rule", "level"]


def empty_problems() -> pd.DataFrame:
    """A typed, empty problems frame (``row``, ``column``, ``rule``, ``level``)."""
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "column": pd.Series(dtype="str"),
            "rule": pd.Series(dtype="str"),
            "level": pd.Series(dtype="str"),
        }
    )


def _validator_check(name: str, rule: str) -> pa.Check:
    check_values, _ = VALIDATORS[name]
    return pa.Check(lambda s: check_values(s).ne(rule).fillna(True).astype(bool), error=rule)


def _column_checks(col) -> list[pa.Check]:
    checks = []
    if col.codes is not None:
        checks.append(pa.Check.isin(sorted(col.codes), error="unknown_code"))
    if col.validator:
        checks += [_validator_check(col.validator, rule) for rule in VALIDATORS[col.validator][1]]
    if col.valid_range is not None:
        low, high = col.valid_range
        checks.append(pa.Check.in_range(low, high, error="out_of_range"))
    return checks


def _row_checks(spec: TableSpec, extract_date: date) -> list[pa.Check]:
    names = {c.name for c in spec.columns}
    checks = []
    for earlier, later in spec.date_order:
        checks.append(
            pa.Check(
                lambda df, e=earlier, lt=later: ~(df[lt] < df[e]).fillna(False),
                error=f"{later}_before_{earlier}",
            )
        )
    if spec.identified_by:
        *first, last = spec.identified_by
        checks.append(
            pa.Check(
                lambda df, cols=list(spec.identified_by): df[cols].notna().any(axis=1),
                error="no_" + (f"{'_'.join(first)}_or_{last}" if first else last),
            )
        )
    dob = next((c.name for c in spec.columns if c.privacy == Privacy.DOB), None)
    dates = [c for c in spec.columns if c.kind == Kind.DATE and c.privacy != Privacy.DOB]
    if dob:
        for col in dates:
            checks.append(
                pa.Check(
                    lambda df, c=col.name: ~(df[c] < df[dob]).fillna(False), error=f"{col.name}_before_dob"
                )
            )
    limit = pd.Timestamp(extract_date)
    for col in [c for c in spec.columns if c.kind == Kind.DATE and not c.future_ok]:
        checks.append(
            pa.Check(
                lambda df, c=col.name: ~(df[c] > limit).fillna(False), error=f"{col.name}_after_extract_date"
            )
        )
    assert all(c in names for pair in spec.date_order for c in pair), f"{spec.name}: bad date_order"
    assert set(spec.identified_by) <= names, f"{spec.name}: bad identified_by"
    return checks


def build_schema(spec: TableSpec, extract_date: date) -> pa.DataFrameSchema:
    """Build the pandera schema of staged table ``spec`` (canonical names and types).

    Args:
        spec: the table's declaration.
        extract_date: dates after it are impossible (except columns declared ``future_ok``).

    Returns:
        A schema over the spec's canonical columns; other columns (``_source_*``) pass through.
    """
    columns = {
        col.name: pa.Column(DTYPES[col.kind], checks=_column_checks(col), nullable=not col.row_required)
        for col in spec.columns
    }
    return pa.DataFrameSchema(columns, checks=_row_checks(spec, extract_date), strict=False)


def find_problems(df: pd.DataFrame, spec: TableSpec, extract_date: date) -> pd.DataFrame:
    """Validate typed ``df`` against the spec's schema and list every failure.

    Args:
        df: typed frame with the spec's canonical columns and a unique index.
        spec: the table's declaration.
        extract_date: the date the extract was taken.

    Returns:
        DataFrame with columns ``row`` (index label in ``df``), ``column``, ``rule``, ``level``
        (``row``: the row must be quarantined; ``field``: the value is flagged or nulled).

    Raises:
        TypeError: a column does not have its canonical type (a bug in typing, not in the data).
    """
    try:
        build_schema(spec, extract_date).validate(df, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return empty_problems()
    bad_types = cases[cases["check"].astype(str).str.startswith("dtype(")]
    cases = cases[cases["index"].notna()]
    if len(bad_types):
        raise TypeError(f"{spec.name}: column(s) {sorted(set(bad_types['column']))} have the wrong type")
    row_level = (cases["schema_context"] == "DataFrameSchema") | (cases["check"] == "not_nullable")
    rule = cases["check"].astype(str).where(cases["check"] != "not_nullable", "missing_" + cases["column"])
    out = pd.DataFrame(
        {
            "row": cases["index"].astype("int64"),
            "column": cases["column"].astype(str).where(~(cases["schema_context"] == "DataFrameSchema"), ""),
            "rule": rule,
            "level": row_level.map({True: "row", False: "field"}),
        }
    )
    return out.drop_duplicates().reset_index(drop=True)
