"""The features stage's memory savings (issue #17) change no output: each leaner step gives what the plain one gave.

Tables read one at a time, person ids looked up rather than merged, unread person key tokens dropped, feature
columns typed before one concat and the leakage proof kept per index date: each is checked here against the
formulation it replaced, on the hand-made adults' county of ``test_adult_features``.
"""

from __future__ import annotations

import pandas as pd
import pytest

import features.events
import features.events_link
import features.window as features_window
from features import registry
from features.build import _by_row, build_events, compute_features, type_feature
from features.cohorts import build_cohort
from features.events import record_keys
from features.events_link import attach_person_id, unread_person_keys
from features.report import leakage_proof
from features.stage import PseudoTablesOnDemand, read_pseudo_tables
from features.window import aggregate_before_index, connect_duckdb
from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths

from .conftest import spec_with
from .test_adult_features import adult_index, adult_tables

SPEC = spec_with("emergency_admission", index_dates={"first_year": 2018, "last_year": 2020},
                 split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None})


def merged_person_id(table: pd.DataFrame, person_index: pd.DataFrame, source: str, key: str) -> pd.DataFrame:
    """The definition the lookup replaces: an inner merge on the token (left order kept)."""
    keys = person_index.loc[person_index["table"] == source, ["record_key_tok", "person_id"]]
    keys = keys.astype({"record_key_tok": "str", "person_id": "str"}).drop_duplicates("record_key_tok")
    return table.merge(keys, left_on=key, right_on="record_key_tok", how="inner").drop(columns="record_key_tok")


def assert_events_equal(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert list(got) == list(expected)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], check_exact=True, obj=name)


@pytest.mark.parametrize("all_linked", [True, False])
def test_person_ids_are_looked_up_as_the_merge_attached_them(all_linked):
    index = pd.DataFrame({"table": ["health", "health", "health", "gp"],
                          "record_key_tok": ["t1", "t2", "t1", "t3"], "person_id": ["P1", "P2", "P9", "P3"]})
    tokens = ["t2", "t1", "t2", "t1"] + ([] if all_linked else ["t3", "tx"])  # t3 is another source's token
    table = pd.DataFrame({"hes_id_tok": tokens, "code": [str(i) for i in range(len(tokens))]},
                         index=range(10, 10 + len(tokens))).astype("str")

    got = attach_person_id(table, "ecds_attendance", index, "health", "hes_id_tok")

    expected = merged_person_id(table, index, "health", "hes_id_tok")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["person_id"].tolist()[:4] == ["P2", "P1", "P2", "P1"]  # the first person of a duplicated token
    dropped = attach_person_id(table, "ecds_attendance", index, "health", "hes_id_tok", keep_key=False)
    pd.testing.assert_frame_equal(dropped, expected.drop(columns="hes_id_tok"), check_exact=True)


def test_unread_person_keys_are_the_big_tables_tokens_and_dropping_them_changes_no_event(monkeypatch):
    keys = record_keys()
    assert {"hes_outpatient", "gp_medication"} <= unread_person_keys() <= set(keys)
    kept = build_events(adult_tables(), adult_index())
    monkeypatch.setattr(features.events_link, "unread_person_keys", lambda: set())  # every token kept, as before
    assert_events_equal(kept, build_events(adult_tables(), adult_index()))


def test_tables_read_on_demand_build_the_events_the_tables_read_at_once_do(tmp_path):
    paths = project_paths(tmp_path / "project")
    for name, frame in adult_tables().items():
        write_parquet(frame, paths.pseudo_table(name))
    columns = features.events.source_columns()
    on_demand = PseudoTablesOnDemand(paths, columns)

    assert list(on_demand) == list(columns) and "no_such_table" not in on_demand
    assert_events_equal(build_events(on_demand, adult_index()),
                        build_events(read_pseudo_tables(paths, columns), adult_index()))


@pytest.fixture(scope="module")
def computed():
    events = build_events(adult_tables(), adult_index())
    cohort = build_cohort(events, SPEC)
    features = registry.spec_features(SPEC)
    con = connect_duckdb(threads=1)
    frame, latest = compute_features(con, cohort, events, features)
    return con, events, cohort, features, frame, latest


def test_features_typed_before_one_concat_are_the_features_typed_after_it(computed):
    con, events, cohort, features, frame, _ = computed
    by_domain: dict[str, dict[str, str]] = {}
    for f in features.values():
        if f.sql is not None:
            by_domain.setdefault(f.domain, {})[f.name] = f.sql
    parts = [cohort]
    for domain, expressions in by_domain.items():
        agg = aggregate_before_index(con, cohort, events[domain], expressions)
        parts.append(_by_row(agg.drop(columns="_max_event_date"), cohort["row_id"]))
    expected = pd.concat(parts, axis=1)
    expected = expected.assign(**{f.name: type_feature(expected[f.name], f.kind, f.fill)
                                  for f in features.values() if f.sql is not None})

    assert len(frame) > 0 and len(by_domain) > 1
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_the_leakage_proof_from_the_latest_row_of_each_index_date_is_the_proof_from_every_row(computed):
    con, events, cohort, features, frame, latest = computed
    every = []
    for domain in dict.fromkeys(f.domain for f in features.values() if f.sql is not None):
        agg = aggregate_before_index(con, cohort, events[domain], {"_n": "count(*)"})
        every.append(agg[["row_id", "_max_event_date"]].rename(columns={"_max_event_date": "max_event_date"})
                     .assign(domain=domain))
    every = pd.concat(every, ignore_index=True)

    assert len(latest) <= len(every)  # one row per domain and index date, not one per cohort row and domain
    assert leakage_proof(frame, latest) == leakage_proof(frame, every)


def test_the_cohort_queried_in_slices_gets_the_features_of_one_query(computed, monkeypatch):
    con, events, cohort, features, frame, latest = computed
    assert len(cohort) > 3
    monkeypatch.setattr(features_window, "COHORT_ROWS_PER_QUERY", 3)  # a slice boundary inside every index date

    sliced, sliced_latest = compute_features(con, cohort, events, features)

    pd.testing.assert_frame_equal(sliced, frame, check_exact=True)
    assert leakage_proof(frame, sliced_latest) == leakage_proof(frame, latest)
