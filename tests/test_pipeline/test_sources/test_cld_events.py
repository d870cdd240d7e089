"""The CLD reading (event IDs, latest versions, closed services, person keys, deaths) and ASCOF 2B/2C."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline.ingest.cld_links import linked_person_rows
from pipeline.ingest.files import read_table_frames
from pipeline.ingest.tables import ingest_table
from pipeline.sources.cld_ascof import ascof_2b_2c, long_term_support_65
from pipeline.sources.cld_events import (
    cld_events,
    close_unreported_services,
    death_dates,
    latest_versions,
    with_event_ids,
    with_person_key,
)
from pipeline.sources.registry import table_spec

RES = "Long term support: Residential care"
NURSING = "Long term support: Nursing care"
COMMUNITY = "Long term support: Community"
Q = {1: ("2024-04-01", "2024-06-30"), 2: ("2024-07-01", "2024-09-30"), 3: ("2024-10-01", "2024-12-31"),
     4: ("2025-01-01", "2025-03-31")}


def row(quarter: int, person: str, start: str, *, kind: str = "Service", service: str = RES,
        component: str = "Long Term Residential Care", mechanism: str = "CASSR Commissioned Support",
        outcome: str = "Continuation of support or services", end: str | None = None, ref: str = "R1",
        nhs: str | None = None, client: str = "Service user", born: tuple[int, int] = (1940, 6),
        death: str | None = None, line: int = 2) -> dict:
    """One stacked CLD row as staged (clear values)."""
    return {
        "la_code": "E10000099", "period_start": pd.Timestamp(Q[quarter][0]), "period_end": pd.Timestamp(Q[quarter][1]),
        "la_person_id": person, "nhs_number": nhs, "birth_year": born[0], "birth_month": born[1],
        "death_date": pd.Timestamp(death) if death else pd.NaT, "client_type": client, "event_type": kind,
        "event_reference": ref, "event_start": pd.Timestamp(start), "event_end": pd.Timestamp(end) if end else pd.NaT,
        "event_outcome": outcome, "service_type": service if kind == "Service" else None,
        "service_component": component if kind == "Service" else None,
        "delivery_mechanism": mechanism if kind == "Service" else None,
        "_source_file": f"cld/CLD_2024_Q{quarter}.csv", "_source_row": line,
    }


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_the_event_id_ignores_the_reference_and_splits_on_each_nhse_field():
    rows = frame(
        row(1, "A", "2024-05-01", ref="R1"),
        row(2, "A", "2024-05-01", ref="R9"),  # same event, new reference
        row(1, "A", "2024-05-01", ref="R1", mechanism="Direct Payment"),  # another event, same reference
        row(1, "A", "2024-05-01", component="Short Term Residential Care"),
        row(1, "B", "2024-05-01"),
        row(1, "A", "2024-05-02"),
    )
    ids = with_event_ids(rows)["event_id"]
    assert ids[0] == ids[1]
    assert ids.nunique() == 5


def test_the_latest_submission_wins_and_a_same_period_resubmission_stacked_later_wins():
    rows = frame(
        row(1, "A", "2024-05-01", kind="Request", outcome="Progress to assessment, review or reassessment",
            end="2024-05-10"),
        row(2, "A", "2024-05-01", kind="Request", outcome="NFA - Support declined", end="2024-05-10", line=7),
        row(2, "A", "2024-05-01", kind="Request", outcome="NFA - Other", end="2024-05-10", line=3),
    )
    latest = latest_versions(with_event_ids(rows))
    assert len(latest) == 1
    assert latest.loc[0, "event_outcome"] == "NFA - Support declined"
    assert latest.loc[0, "versions"] == 3
    assert latest.loc[0, "first_period_end"] == pd.Timestamp(Q[1][1])


def test_open_services_not_reported_next_period_are_closed_at_their_last_period_end():
    rows = frame(
        row(1, "A", "2024-04-10"), row(2, "A", "2024-04-10"),  # disappears after Q2
        row(1, "B", "2024-04-10"), row(2, "B", "2024-04-10"), row(3, "B", "2024-04-10"),  # still open in the latest
        row(1, "C", "2024-04-10", end="2024-06-01", outcome="NFA - Deceased"),  # ended and recorded
    )
    read = close_unreported_services(latest_versions(with_event_ids(rows))).set_index("la_person_id")
    assert read.loc["A", "event_end"] == pd.Timestamp(Q[2][1]) and read.loc["A", "end_inferred"]
    assert pd.isna(read.loc["B", "event_end"]) and not read.loc["B", "end_inferred"]
    assert read.loc["C", "event_end"] == pd.Timestamp("2024-06-01") and not read.loc["C", "end_inferred"]


def test_the_person_key_is_the_nhs_number_recorded_on_any_row_else_the_la_id():
    rows = frame(row(1, "A", "2024-05-01", nhs="9434765919"), row(2, "A", "2024-05-01"),
                 row(1, "B", "2024-05-01"))
    keys = with_person_key(rows)["person_key"]
    assert list(keys) == ["nhs:9434765919", "nhs:9434765919", "la:B"]


def test_ons_deaths_override_cld_where_an_nhs_number_is_known():
    rows = with_person_key(frame(
        row(1, "A", "2024-05-01", nhs="9434765919", death="2024-06-01"),
        row(1, "B", "2024-05-01", death="2024-06-15"),
        row(1, "C", "2024-05-01", nhs="9434765900"),
    ))
    ons = pd.DataFrame({"nhs_number": ["9434765919", "9434765900", "9999999999"],
                        "date_of_death": pd.to_datetime(["2024-05-30", "2024-08-01", "2024-01-01"])})
    deaths = death_dates(rows, ons).set_index("person_key")
    assert deaths.loc["nhs:9434765919", "death_date"] == pd.Timestamp("2024-05-30")
    assert deaths.loc["nhs:9434765919", "death_source"] == "ons"
    assert deaths.loc["la:B", "death_source"] == "cld"  # no NHS number: CLD's date stands
    assert deaths.loc["nhs:9434765900", "death_date"] == pd.Timestamp("2024-08-01")  # unknown to CLD
    assert len(deaths) == 3
    assert len(death_dates(rows)) == 2


def test_ascof_2c_counts_new_council_funded_care_home_admissions_on_a_planted_example():
    rows = frame(
        row(1, "new65", "2024-05-01", born=(1940, 1)),  # counts (2C)
        row(2, "new65", "2024-05-01", born=(1940, 1)),  # the same event resubmitted: counted once
        row(1, "nursing", "2024-06-01", service=NURSING, component="Long Term Nursing Care", born=(1945, 3)),
        row(1, "respite", "2024-05-01", component="Short Term Residential Care", born=(1940, 1)),  # short: no
        row(1, "selffund", "2024-05-01", outcome="NFA - Self-funded client or under 12wk disregard",
            end="2024-06-01", born=(1940, 1)),  # ended self-funded: no
        row(1, "carer", "2024-05-01", client="Carer", born=(1940, 1)),  # not a service user: no
        row(1, "home", "2024-05-01", service=COMMUNITY, component="Home Support", born=(1940, 1)),  # not a home
        # in a home until 2023-09: a move in 2024-05 is not new (within 12 months)
        row(1, "returning", "2023-01-01", end="2023-09-01", outcome="Admitted to hospital", born=(1938, 2)),
        row(1, "returning", "2024-05-01", born=(1938, 2)),
        # in a home until 2022: new again in 2024
        row(1, "longago", "2021-01-01", end="2022-01-01", outcome="Admitted to hospital", born=(1938, 2)),
        row(1, "longago", "2024-05-01", born=(1938, 2)),
        row(1, "young", "2024-07-01", born=(1980, 7)),  # 2B
        row(1, "turning65", "2024-05-15", born=(1959, 6)),  # 64 at the start: 2B
        row(1, "before", "2024-03-01", born=(1940, 1)),  # before the year
    )
    events = cld_events(rows)
    result = ascof_2b_2c(events, date(2024, 4, 1), {"2B": 200_000, "2C": 100_000}).set_index("measure")
    assert result.loc["2C", "admissions"] == 3  # new65, nursing, longago
    assert result.loc["2B", "admissions"] == 2  # young, turning65
    assert result.loc["2C", "per_100k"] == pytest.approx(3.0)
    assert result.loc["2B", "per_100k"] == pytest.approx(1.0)


def test_share_of_65_plus_with_long_term_support_during_the_year_and_at_its_end():
    rows = frame(
        row(1, "a", "2024-05-01", service=COMMUNITY, component="Home Support"),
        row(4, "a", "2024-05-01", service=COMMUNITY, component="Home Support"),
        row(1, "b", "2023-05-01", end="2024-06-01", outcome="NFA - Deceased"),
        row(1, "c", "2024-05-01", born=(1990, 1)),  # too young
        row(1, "d", "2024-05-01", kind="Request", end="2024-05-05", outcome="NFA - Other"),  # not a service
    )
    share = long_term_support_65(cld_events(rows), date(2024, 4, 1), 100)
    assert share["people_during_year"] == 2 and share["people_at_year_end"] == 1
    assert share["during_year"] == pytest.approx(0.02)


def test_linked_person_rows_one_per_given_link_and_none_from_a_release_1_file():
    text = pd.DataFrame({
        "LA_Person_Unique_Identifier": ["1", "2", "3"], "Reporting_Period_End_Date": ["2024-06-30"] * 3,
        "Adult_1_Linked_Person_ID": ["9", "", None], "adult_2_linked_person_id": ["8", None, "7"],
        "_source_file": "cld/x.csv", "_source_row": [2, 3, 4], "_reader_flags": None,
    })
    links = linked_person_rows(text, "cld/x.csv")
    assert list(zip(links["Linked_Person_ID"], links["Linked_Person_Slot"], links["_source_row"], strict=True)) == [
        ("9", "1", 2), ("8", "2", 2), ("7", "2", 4)]
    r1 = linked_person_rows(text.drop(columns=["Adult_1_Linked_Person_ID", "adult_2_linked_person_id"]), "x")
    assert r1.empty and {"Linked_Person_ID", "_source_row"} <= set(r1.columns)


def test_two_carers_linking_one_person_in_one_file_stay_two_links(tmp_path):
    header = ("LA_Person_Unique_Identifier,Reporting_Period_End_Date,Adult_1_Linked_Person_ID\n"
              "c1,2024-06-30,p9\nc2,2024-06-30,p9\nc3,2024-06-30,\n")
    path = tmp_path / "cld" / "CLD_2024_Q1.csv"
    path.parent.mkdir()
    path.write_text(header)
    spec = table_spec("cld_carer_link")
    result = ingest_table(read_table_frames(spec, [path], tmp_path), spec, date(2026, 3, 31))
    assert result.quarantined.empty
    assert list(result.accepted["la_person_id"]) == ["p9", "p9"]
    assert list(result.accepted["cld_row"]) == [2, 3] == list(result.accepted["_source_row"])
