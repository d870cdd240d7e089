"""XML text built a column at a time: escaped values, ``<tag>value</tag>`` lines, nested groups.

Each function maps a pandas Series of values to a Series of XML fragments (one per row), so a
whole table becomes text without building an element tree. An empty value gives an empty
fragment, which is how optional elements are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def xml_text(values: pd.Series) -> pd.Series:
    """Strings with NA as "" and XML special characters escaped."""
    out = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    if out.str.contains(r"[&<>]", regex=True).any():
        out = out.str.replace("&", "&amp;").str.replace("<", "&lt;").str.replace(">", "&gt;")
    return out


def xml_dates(values: pd.Series) -> pd.Series:
    """ISO dates (xs:date) with NaT as ""."""
    days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D")
    return pd.Series(np.where(np.isnat(days), "", text), index=values.index, dtype=str)


def element(tag: str, values: pd.Series, depth: int) -> pd.Series:
    """``<tag>value</tag>`` lines, or "" where the value is empty (the element is then omitted)."""
    pad = "  " * depth
    return (pad + f"<{tag}>" + values + f"</{tag}>\n").where(values != "", "")


def join_groups(keys: pd.Series | np.ndarray, texts: pd.Series) -> pd.Series:
    """``texts`` concatenated per key, in the order given, indexed by key.

    A plain ``"".join`` per group: pandas' ``groupby().agg("".join)`` builds a Series per group
    and is about fifty times slower here.
    """
    codes, uniques = pd.factorize(np.asarray(keys))
    order = np.argsort(codes, kind="stable")
    lines = texts.to_numpy(dtype=object)[order].tolist()
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(uniques)))].tolist()
    return pd.Series(["".join(lines[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
                     index=uniques, dtype=object)


def repeated(tag: str, joined: pd.Series, depth: int) -> pd.Series:
    """One ``<tag>`` line per item of a ';'-joined list (e.g. Disabilities, AssessmentFactors)."""
    items = xml_text(joined).str.split(";").explode().str.strip()
    items = items[items.notna() & (items != "")]
    lines = join_groups(items.index.to_numpy(), element(tag, items, depth))
    return lines.reindex(joined.index, fill_value="").astype(str)


def wrap(tag: str, inner: pd.Series, depth: int) -> pd.Series:
    """``<tag>`` around non-empty ``inner`` lines; "" where ``inner`` is empty."""
    pad = "  " * depth
    return (pad + f"<{tag}>\n" + inner + pad + f"</{tag}>\n").where(inner != "", "")


def coded(values: pd.Series, mapping: dict, table: str, column: str) -> pd.Series:
    """``values`` translated by ``mapping`` into the schema's codes.

    Raises:
        ValueError: a value has no code (names the table, first row and column).
    """
    mapped = values.map(lambda v: mapping.get(v.strip() if isinstance(v, str) else v))
    bad = mapped.isna()
    if bad.any():
        raise ValueError(f"{table}: row {int(np.flatnonzero(bad)[0])}, column '{column}': "
                         f"{int(bad.sum())} value(s) not in {sorted(set(map(str, mapping)))}")
    return mapped.astype(str)


def nest(child: pd.DataFrame, key: str, parents: pd.Series, sort: str) -> pd.Series:
    """``child``'s ``frag`` text joined per parent key (ordered by ``sort``), aligned to ``parents``.

    Raises:
        ValueError: a child row refers to a key that is not in ``parents``.
    """
    if child.empty:
        return pd.Series("", index=parents.index, dtype=str)
    orphans = ~child[key].isin(parents)
    if orphans.any():
        raise ValueError(f"{int(orphans.sum())} row(s) refer to a {key} that is not in the parent table")
    ordered = child.sort_values([key, sort], kind="stable")
    joined = join_groups(ordered[key], ordered["frag"])
    return parents.map(joined).fillna("").astype(str)
