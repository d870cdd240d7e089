"""CLD events as NHSE and DHSC read them: event IDs, latest versions, closed services, people, deaths, carers.

Client Level Data submissions stack: each quarter's file reports every event active or completed in the
quarter, resubmitted rows are never deleted, and a later submission may change an event's outcome or
end date. These pure functions turn the stacked rows (staged ``cld_event``, or its pseudonymised
version: every function works on clear values or on tokens alike) into one row per event, following
the known quirks (DOMAIN_ADULTS.md §2.1):

1. the submitted ``event_reference`` is not reliable, so :func:`with_event_ids` builds the event ID from
   LA, person, start date, event type, service type, component and delivery mechanism;
2. :func:`latest_versions` keeps the latest submitted version of each event;
3. :func:`close_unreported_services` ends an open service that does not reappear in the next period;
4. :func:`with_person_key` uses the person's NHS number where one is recorded, else the LA person ID;
5. :func:`death_dates` takes CLD's incomplete ``death_date`` and lets ONS deaths override it where an
   NHS number is present (the ``ons_deaths`` argument: the ``deaths`` source once it is ingested).

:func:`carer_edges` turns ``cld_carer_link`` rows into carer -> cared-for edges for family links.
"""

from __future__ import annotations

import pandas as pd

EVENT_ID_FIELDS = ("la_code", "person", "event_start", "event_type", "service_type", "service_component",
                   "delivery_mechanism")
VERSION_ORDER = ("period_end", "period_start", "_source_file", "_source_row")


def person_columns(events: pd.DataFrame) -> tuple[str, str]:
    """The LA person ID and NHS number columns of ``events``: tokens when pseudonymised, else clear values."""
    if "la_person_id_tok" in events.columns:
        return "la_person_id_tok", "nhs_number_tok"
    return "la_person_id", "nhs_number"


def with_event_ids(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` with ``event_id``: the NHSE/DHSC event identity, one text value per distinct event.

    Args:
        events: CLD rows with ``la_code``, ``la_person_id`` (or ``la_person_id_tok``), ``event_start``,
            ``event_type``, ``service_type``, ``service_component``, ``delivery_mechanism``.

    Returns:
        a copy with ``event_id`` (the fields joined by ``|``, blanks as empty text). Two rows share an
        ID exactly when they agree on every field, whatever their ``event_reference``.
    """
    person, _ = person_columns(events)
    fields = [person if f == "person" else f for f in EVENT_ID_FIELDS]
    parts = []
    for name in fields:
        values = events[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d")
        else:
            text = values.astype("str")
        parts.append(text.where(values.notna(), ""))
    event_id = parts[0].str.cat(parts[1:], sep="|")
    return events.assign(event_id=event_id.astype("str"))


def latest_versions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per ``event_id``: the version from the latest submission.

    Versions are ordered by ``period_end``, then ``period_start``, then file and row (a resubmission of
    one period stacked later in the files wins). ``first_period_end`` and ``last_period_end`` say
    in which submissions the event was first and last reported; ``versions`` counts them.

    Args:
        events: CLD rows with ``event_id`` (:func:`with_event_ids`) and the version columns present.

    Returns:
        the latest row of each event plus ``versions``, ``first_period_end``, ``last_period_end``,
        sorted by ``event_id``.
    """
    order = [c for c in VERSION_ORDER if c in events.columns]
    ordered = events.sort_values(["event_id", *order], kind="stable")
    seen = ordered.groupby("event_id", sort=False)["period_end"].agg(["size", "min", "max"])
    latest = ordered.drop_duplicates("event_id", keep="last").set_index("event_id")
    latest["versions"] = seen["size"]
    latest["first_period_end"] = seen["min"]
    latest["last_period_end"] = seen["max"]
    return latest.reset_index()


def close_unreported_services(latest: pd.DataFrame) -> pd.DataFrame:
    """End open services that were not reported again in the next period (as NHSE does).

    A service is active in every period it is open, so an open service missing from a later submission
    of its LA has ended unreported; it is closed on the last day of the last period it was reported in.
    Services of an LA's latest period stay open (nothing later can say otherwise).

    Args:
        latest: one row per event (:func:`latest_versions`) with ``la_code``, ``event_type``,
            ``event_end`` and ``last_period_end``.

    Returns:
        a copy with ``event_end`` filled for those services and ``end_inferred`` (bool) marking them.
    """
    newest = latest.groupby("la_code", dropna=False)["last_period_end"].transform("max")
    unreported = (latest["event_type"].eq("Service") & latest["event_end"].isna()
                  & latest["last_period_end"].lt(newest)).fillna(False).astype(bool)
    out = latest.copy()
    out["event_end"] = out["event_end"].mask(unreported, out["last_period_end"])
    out["end_inferred"] = unreported.to_numpy()
    return out


def with_person_key(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` with ``person_key``: the person's NHS number where any row of the LA ID records one, else the LA ID.

    The NHS number of an LA person ID is its latest recorded one (by ``period_end``), so a person whose
    number is missing on some submissions keeps one key. Keys say which kind they are (``nhs:`` or
    ``la:``) so a number can never be taken for an LA ID.

    Args:
        events: CLD rows with the LA person ID and NHS number columns (clear or tokens) and ``period_end``.

    Returns:
        a copy with ``person_key`` (text).
    """
    person, nhs = person_columns(events)
    known = events.loc[events[nhs].notna(), [person, nhs, "period_end"]]
    traced = known.sort_values("period_end", kind="stable").drop_duplicates(person, keep="last").set_index(person)[nhs]
    number = events[person].map(traced)
    key = ("nhs:" + number.astype("str")).where(number.notna(), "la:" + events[person].astype("str"))
    return events.assign(person_key=key.astype("str"))


def death_dates(events: pd.DataFrame, ons_deaths: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each person's date of death: CLD's own where recorded, overridden by ONS deaths by NHS number.

    CLD's ``death_date`` is incomplete (councils learn of some deaths late or never); DHSC overrides it
    with ONS deaths where an NHS number is present. ``ons_deaths`` is that register (the ``deaths``
    source), keyed the same way as ``events`` (clear NHS numbers or ``nhs_number_tok``).

    Args:
        events: CLD rows with ``person_key`` (:func:`with_person_key`), ``death_date`` and ``period_end``.
        ons_deaths: optional ONS deaths: ``nhs_number`` (or ``nhs_number_tok``) and ``date_of_death`` (the
            ``death_registration`` table of the ``deaths`` source) or ``death_date``.

    Returns:
        ``person_key``, ``death_date``, ``death_source`` (``cld`` or ``ons``): one row per person with a date.
    """
    recorded = events.loc[events["death_date"].notna(), ["person_key", "death_date", "period_end"]]
    cld = (recorded.sort_values("period_end", kind="stable").drop_duplicates("person_key", keep="last")
           [["person_key", "death_date"]].assign(death_source="cld"))
    if ons_deaths is None or ons_deaths.empty:
        return cld.reset_index(drop=True)
    _, nhs = person_columns(events)
    # the deaths source stages the date as date_of_death; a hand-made register may say death_date
    ons = ons_deaths.rename(columns={"date_of_death": "death_date"})
    ons = ons.loc[ons["death_date"].notna(), [nhs, "death_date"]].drop_duplicates(nhs, keep="last")
    ons = ons.assign(person_key="nhs:" + ons[nhs].astype("str"), death_source="ons")[
        ["person_key", "death_date", "death_source"]]
    ons = ons[ons["person_key"].isin(events["person_key"])]
    merged = pd.concat([cld[~cld["person_key"].isin(ons["person_key"])], ons], ignore_index=True)
    return merged.sort_values("person_key", ignore_index=True)


def carer_edges(events: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Carer -> cared-for edges from ``cld_carer_link`` rows joined to the CLD rows they were read from.

    Args:
        events: ``cld_event`` rows (clear or pseudonymised) with ``_source_file``, ``_source_row``,
            ``client_type``, ``period_end`` and the LA person ID.
        links: ``cld_carer_link`` rows of the same run: the person cared for in the LA person ID column,
            ``_source_file``, ``_source_row``.

    Returns:
        ``carer_id``, ``cared_for_id`` (LA person IDs or their tokens), ``client_type`` (the carer's
        latest), ``first_reported``, ``last_reported`` (period ends), ``rows``: one row per distinct
        pair, a person never linked to themself.
    """
    person, _ = person_columns(events)
    rows = events[["_source_file", "_source_row", person, "client_type", "period_end"]].rename(
        columns={person: "carer_id"})
    joined = links[["_source_file", "_source_row", person]].rename(columns={person: "cared_for_id"}).merge(
        rows, on=["_source_file", "_source_row"], how="inner", validate="m:1")
    joined = joined[joined["carer_id"].notna() & joined["cared_for_id"].notna()
                    & joined["carer_id"].ne(joined["cared_for_id"])]
    joined = joined.sort_values("period_end", kind="stable")
    edges = joined.groupby(["carer_id", "cared_for_id"], sort=True).agg(
        client_type=("client_type", "last"), first_reported=("period_end", "min"),
        last_reported=("period_end", "max"), rows=("period_end", "size"))
    return edges.reset_index()


def cld_events(events: pd.DataFrame) -> pd.DataFrame:
    """The whole reading: event IDs, latest versions, unreported services closed, person keys.

    Args:
        events: stacked ``cld_event`` rows (staged or pseudonymised).

    Returns:
        one row per event with ``event_id``, ``person_key``, ``versions``, ``first_period_end``,
        ``last_period_end`` and ``end_inferred`` added (see the functions above).
    """
    keyed = with_person_key(events)
    return close_unreported_services(latest_versions(with_event_ids(keyed)))
