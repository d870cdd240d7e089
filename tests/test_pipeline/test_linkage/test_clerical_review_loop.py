"""The clerical review loop end to end: sample -> decisions -> estimates with intervals -> gate.

A small project is built by hand: clear staged records of 30 children in social care and health, their
tokens made with a real key as pseudonymise makes them, a person index with two false links and six missed
ones, and the scored pairs ``link`` keeps. The "reviewer" decides each pair by who the two records really
belong to, so the estimates can be checked against the population's own precision (24/26) and recall (24/30).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ethics.fairness_checks import check_linkage_quality
from pipeline.cli import app
from pipeline.core.io import read_csv_table, read_json, write_csv, write_json, write_parquet
from pipeline.core.paths import project_paths
from pipeline.linkage.clerical_review import ClericalReviewError
from pipeline.linkage.persistent_ids import person_index_digest
from pipeline.linkage.review_pairs import review_population
from pipeline.linkage.review_records import source_records
from pipeline.linkage.review_stage import (
    SHEET,
    decisions_path,
    gate_linkage_evidence,
    review_path,
    run_review_record,
    run_review_sample,
    sample_path,
    scored_pairs_path,
)
from pipeline.privacy.clear_outputs import ClearOutputRefused
from pipeline.privacy.keys import generate_key, load_key
from pipeline.privacy.reidentify import tokenise_local_ids
from pipeline.privacy.scan_pii import scan_file
from pipeline.sources.registry import person_sources

PARAMS = Path(__file__).resolve().parents[3] / "params.yaml"
SOURCES = {s.name: s for s in person_sources()}
FORENAMES = ["Amara", "Kofi", "Isla", "Noah", "Priya", "Oscar"]
SURNAMES = ["Okafor", "Mensah", "Nowak", "Begum", "Walker", "Clarke", "Hussain"]
N = 30
LENIENT = SimpleNamespace(min_linkage_precision=0.5, min_linkage_recall=0.5, min_group_size=20)
STRICT = SimpleNamespace(min_linkage_precision=0.99, min_linkage_recall=0.99, min_group_size=20)


def token(source: str, values: pd.Series, key) -> pd.Series:
    spec = SOURCES[source]
    return tokenise_local_ids(values, spec.person_key, spec.person_key_privacy, key)


def people() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"child": [f"T{i}" for i in range(N)],
                         "forename": [FORENAMES[i % 6] for i in range(N)],
                         "surname": [f"{SURNAMES[i % 7]}{'-Ali' * (i % 2)}" for i in range(N)],
                         "dob": pd.to_datetime("2012-01-01") + pd.to_timedelta(rng.integers(0, 2000, N), unit="D"),
                         "sex": ["F", "M"] * (N // 2),
                         "postcode": [f"LS{i % 9 + 1} {i % 8 + 1}AB" for i in range(N)],
                         "nhs_number": [f"94{i:08d}" for i in range(N)]})


def write_run(paths, key, missed: range = range(24, 30), renamed: int | None = None) -> pd.DataFrame:
    """Staged tables, person index, scored pairs and linkage.json of one link run; returns the truth per pair.

    Pair i is social care record C<i> and health record H<i> (the same child). Children 24-29 are missed
    (scored, not linked), and C24-H25 and C26-H27 are false links. ``renamed``: that child's social care
    record carries a new local ID this run (a new token: its pairs are new pairs).
    """
    kids = people()
    csc = kids.assign(la_child_id=[f"C{i}" if i != renamed else f"C{i}x" for i in range(N)]).drop(columns="child")
    health = kids.assign(hes_id=[f"H{i}" for i in range(N)], surname=kids["surname"].str.upper()).drop(
        columns="child")
    write_parquet(csc, paths.staged_table("csc_person"))
    write_parquet(health, paths.staged_table("nhs_patient"))
    c_tok, h_tok = token("social_care", csc["la_child_id"], key), token("health", health["hes_id"], key)
    person = {("social_care", c): f"P{i:08d}" for i, c in enumerate(c_tok)}
    person |= {("health", h): f"P{i + 100:08d}" for i, h in enumerate(h_tok)}
    for i in range(N):
        if i not in missed:
            person[("health", h_tok[i])] = person[("social_care", c_tok[i])]
    for c, h in ((24, 25), (26, 27)):  # false links
        person[("health", h_tok[h])] = person[("social_care", c_tok[c])]
    index = pd.DataFrame([(t, k, p) for (t, k), p in person.items()], columns=["table", "record_key_tok", "person_id"])
    write_parquet(index, paths.person_index)
    rng = np.random.default_rng(9)
    rows = [(c_tok[i], h_tok[i], i not in missed, float(rng.uniform(0.96, 1.0)) if i not in missed
             else float(rng.uniform(0.5, 0.9))) for i in range(N)]
    rows += [(c_tok[c], h_tok[h], False, 0.97) for c, h in ((24, 25), (26, 27))]
    rows += [(c_tok[i], h_tok[i + 1], False, float(rng.uniform(0.5, 0.9))) for i in range(20)]
    scored = pd.DataFrame({"source_l": "social_care", "record_key_tok_l": [r[0] for r in rows], "source_r": "health",
                           "record_key_tok_r": [r[1] for r in rows], "match_weight": 1.0,
                           "match_probability": [r[3] for r in rows]})
    write_parquet(review_population(scored, index), scored_pairs_path(paths))
    write_json({"people": int(index["person_id"].nunique()),
                "person_ids": {"index_digest": person_index_digest(index)}}, paths.reports / "linkage.json")
    return index


def decide_by_truth(sheet: pd.DataFrame) -> pd.DataFrame:
    """The reviewer: a pair is a match when both local IDs are the same child's (C7 and H7)."""
    same = sheet["local_id_1"].str.strip("Cx") == sheet["local_id_2"].str.strip("H")
    return sheet.assign(decision=np.where(same, "match", "non-match"))


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "project"
    paths = project_paths(root)
    generate_key(root / ".secrets" / "pseudo.key")
    # a fixed key: tokens order the pairs the seeded sample draws from, so a random key made the sample (and
    # whether its interval held the true recall) change from run to run
    (root / ".secrets" / "pseudo.key").write_text("3f9a1c7e5b2d8064f1e3a9c5d7b20486e1f3a5c7d9b0e2f4a6c8e0b2d4f6a8c1")
    key = load_key(root / ".secrets" / "pseudo.key")
    write_run(paths, key)
    return SimpleNamespace(paths=paths, key=key, key_file=root / ".secrets" / "pseudo.key", clerk=tmp_path / "clerk")


def sample(project, per_stratum: int = 8, **kw):
    return run_review_sample(project.paths, key_file=project.key_file, floor=0.5, link_threshold=0.95,
                             out_dir=project.clerk, per_stratum=per_stratum, seed=3, **kw)


def test_sample_decisions_estimates_and_gate(project):
    drawn = sample(project)
    sheet = read_csv_table(project.clerk / SHEET)
    assert len(sheet) == drawn.pairs and drawn.carried == 0
    assert set(drawn.strata) == {"link 0.95-0.99", "link 0.99-0.999", "link 0.999-1", "near-miss 0.5-0.8",
                                 "near-miss 0.8-0.95"}
    assert not {"stratum", "match_probability", "linked"} & set(sheet.columns)  # the reviewer judges blind
    # the two records side by side, in clear, as the staged tables hold them
    assert {"forename_1", "forename_2", "surname_1", "surname_2", "dob_1", "dob_2", "postcode_1"} <= set(sheet.columns)
    assert sheet["surname_1"].str.upper().eq(sheet["surname_2"]).any()
    assert "Okafor" in (project.clerk / "linkage_review.html").read_text()

    filled = decide_by_truth(sheet)
    filled.loc[filled.index[:3], "reviewer"] = "b.second"  # a colleague's rows keep their name
    write_csv(filled, project.clerk / SHEET)
    result = run_review_record(project.paths, decisions=project.clerk / SHEET, reviewer="a.clerk")
    precision, recall = 24 / 26, 24 / 30
    for name, truth in (("precision", precision), ("recall", recall)):  # a sample: intervals, and they hold the truth
        low, high = result[f"{name}_ci"]
        assert low <= result[name] <= high and high - low > 0.05 and low <= truth <= high, (name, result)
    assert result["reviewers"] == ["a.clerk", "b.second"] and result["recorded_by"]["reviewer"] == "a.clerk"
    assert result["recorded_by"]["os_user"] and len(result["decisions_sha256"]) == 64
    assert result["person_index"] == read_json(project.paths.reports / "linkage.json")["person_ids"]["index_digest"]

    evidence = SimpleNamespace(linkage=gate_linkage_evidence(project.paths,
                                                             read_json(project.paths.reports / "linkage.json")))
    assert check_linkage_quality(evidence, LENIENT).status == "pass"
    assert check_linkage_quality(evidence, STRICT).status == "fail"


def test_a_full_review_gives_the_populations_figures(project):
    sample(project, per_stratum=1000)
    write_csv(decide_by_truth(read_csv_table(project.clerk / SHEET)), project.clerk / SHEET)
    result = run_review_record(project.paths, decisions=project.clerk / SHEET, reviewer="a.clerk")
    assert result["precision"] == pytest.approx(24 / 26) and result["recall"] == pytest.approx(24 / 30)


def test_nothing_clear_is_written_inside_the_project(project):
    for inside in ("data/review", "reports", "outputs/clerk"):
        with pytest.raises(ClearOutputRefused, match="tokens only"):
            run_review_sample(project.paths, key_file=project.key_file, floor=0.5, link_threshold=0.95,
                              out_dir=project.paths.root / inside, per_stratum=5, seed=3)
    assert not sample_path(project.paths).exists()
    result = CliRunner().invoke(app, ["review-linkage", "sample", "--out", str(project.paths.reports / "x"),
                                      "--root", str(project.paths.root), "--params", str(PARAMS)])
    assert result.exit_code == 2 and "Refused" in result.output

    sample(project)
    write_csv(decide_by_truth(read_csv_table(project.clerk / SHEET)), project.clerk / SHEET)
    run_review_record(project.paths, decisions=project.clerk / SHEET, reviewer="a.clerk")
    clear = people()
    words = {*clear["forename"], *clear["surname"], *clear["nhs_number"], *clear["postcode"], "C7", "H7"}
    for written in (sample_path(project.paths), decisions_path(project.paths), review_path(project.paths)):
        text = written.read_text()
        assert not [w for w in words if w in text], written
        assert scan_file(written) == [], written  # scan-pii finds nothing either
    assert scan_file(project.clerk / SHEET)  # the reviewer's sheet outside the project is clear, as it should be


def test_decisions_carry_over_for_pairs_that_did_not_change(project):
    sample(project, per_stratum=1000)
    write_csv(decide_by_truth(read_csv_table(project.clerk / SHEET)), project.clerk / SHEET)
    run_review_record(project.paths, decisions=project.clerk / SHEET, reviewer="a.clerk")
    old_sheet = project.clerk / "old.csv"
    (project.clerk / SHEET).rename(old_sheet)

    write_run(project.paths, project.key, renamed=3)  # a re-link: child 3's social care record has a new ID
    with pytest.raises(ClericalReviewError, match="the sample was drawn from person index .* draw a new sample"):
        run_review_record(project.paths, decisions=old_sheet, reviewer="a.clerk")
    drawn = sample(project, per_stratum=1000)
    sheet = read_csv_table(project.clerk / SHEET)
    new_pairs = sheet["local_id_1"].eq("C3x")
    assert new_pairs.sum() == 2 and sheet.loc[new_pairs, "decision"].isna().all()
    assert sheet.loc[~new_pairs, "decision"].notna().all() and drawn.carried == len(sheet) - 2
    assert (sheet.loc[~new_pairs, "reviewer"] == "a.clerk").all()
    assert decide_by_truth(sheet).loc[~new_pairs, "decision"].tolist() == sheet.loc[~new_pairs, "decision"].tolist()
    store = read_csv_table(decisions_path(project.paths))
    write_csv(store.assign(decided_at="2026-01-05T09:00:00+00:00"), decisions_path(project.paths))  # a month ago
    write_csv(decide_by_truth(sheet), project.clerk / SHEET)
    run_review_record(project.paths, decisions=project.clerk / SHEET, reviewer="c.third")
    store = read_csv_table(decisions_path(project.paths)).set_index("pair_id")
    carried = sheet.loc[~new_pairs, "pair_id"]
    assert (store.loc[carried, "decided_at"] == "2026-01-05T09:00:00+00:00").all()  # unchanged: first date kept
    assert (store.loc[sheet.loc[new_pairs, "pair_id"], "reviewer"] == "c.third").all()


def test_the_gate_refuses_a_review_of_another_person_index(project):
    sample(project)
    write_csv(decide_by_truth(read_csv_table(project.clerk / SHEET)), project.clerk / SHEET)
    reviewed = run_review_record(project.paths, decisions=project.clerk / SHEET, reviewer="a.clerk")["person_index"]
    index = write_run(project.paths, project.key, missed=range(25, 30))  # re-linked: child 24 now linked
    evidence = SimpleNamespace(linkage=gate_linkage_evidence(project.paths,
                                                             read_json(project.paths.reports / "linkage.json")))
    check = check_linkage_quality(evidence, LENIENT)
    assert check.status == "not_evaluable"
    assert (f"the clerical review is of person index {reviewed[:16]}, the current one is "
            f"{person_index_digest(index)[:16]}: review again") in check.evidence


def test_an_unusable_sheet_is_refused_by_line_and_column_without_its_values(project):
    sample(project)
    sheet = decide_by_truth(read_csv_table(project.clerk / SHEET))
    typo = sheet.copy()
    typo.loc[2, "decision"] = "Okafor?"
    write_csv(typo, project.clerk / "typo.csv")
    with pytest.raises(ClericalReviewError, match=r"typo.csv lines \[4\], column decision") as caught:
        run_review_record(project.paths, decisions=project.clerk / "typo.csv", reviewer="a.clerk")
    assert "Okafor" not in str(caught.value)
    foreign = sheet.copy()
    foreign.loc[0, "pair_id"] = "0" * 20
    write_csv(foreign, project.clerk / "foreign.csv")
    with pytest.raises(ClericalReviewError, match=r"lines \[2\], column pair_id: not a pair of the sample"):
        run_review_record(project.paths, decisions=project.clerk / "foreign.csv", reviewer="a.clerk")
    with pytest.raises(ClericalReviewError, match="exists"):
        sample(project)
    assert not review_path(project.paths).exists()


def test_a_school_record_is_its_latest_census_with_its_address(project):
    pupils = pd.DataFrame({"census_date": pd.to_datetime(["2024-01-18", "2025-01-16", "2025-01-16"]),
                           "pupil_record_id": ["r1", "r2", "r3"], "school_id": "S1",
                           "upn": ["A123456789012", "A123456789012", "B123456789012"],
                           "forename": ["Isla", "Isla", "Noah"], "surname": ["Nowak", "Nowak-Begum", "Clarke"],
                           "dob": pd.to_datetime(["2013-02-03"] * 3)})
    addresses = pd.DataFrame({"census_date": pupils["census_date"], "pupil_record_id": ["r1", "r2", "r3"],
                              "school_id": "S1", "postcode": ["LS1 1AA", "LS2 2BB", "LS3 3CC"]})
    wanted = token("school", pd.Series(["A123456789012"]), project.key)
    got = source_records(SOURCES["school"], {"school_pupil": pupils, "school_address": addresses}, set(wanted),
                         project.key)
    assert got[["local_id", "surname", "postcode", "dob"]].to_dict("records") == [
        {"local_id": "A123456789012", "surname": "Nowak-Begum", "postcode": "LS2 2BB", "dob": "2013-02-03"}]
    assert json.dumps(got["record_key_tok"].tolist()) == json.dumps(wanted.tolist())


def test_link_keeps_every_scored_pair_with_whether_it_was_linked(person_tables):
    from pipeline.core.config import LinkParams
    from pipeline.linkage.stage import link_person_records

    tables, _ = person_tables
    result = link_person_records(tables, LinkParams(u_max_pairs=2e5, review_sample_size=20))
    pairs = result.scored_pairs
    assert len(pairs) == result.report["scored_pairs"] and pairs["pair_id"].is_unique
    assert pairs["match_probability"].min() >= 0.5
    person = result.person_index.set_index(["table", "record_key_tok"])["person_id"]
    left = person.reindex(pd.MultiIndex.from_frame(pairs[["source_l", "record_key_tok_l"]])).to_numpy()
    right = person.reindex(pd.MultiIndex.from_frame(pairs[["source_r", "record_key_tok_r"]])).to_numpy()
    assert (pairs["linked"].to_numpy() == (left == right)).all() and pairs["linked"].any() and not pairs["linked"].all()
    assert not [c for c in pairs.columns if c not in
                ("pair_id", "source_l", "record_key_tok_l", "source_r", "record_key_tok_r", "match_weight",
                 "match_probability", "linked")]  # tokens and scores only


def test_the_commands_draw_and_record_a_review(project):
    root = ["--root", str(project.paths.root)]
    record = ["review-linkage", "record", "--decisions", str(project.clerk / SHEET), "--by", "a.clerk", *root]
    refused = CliRunner().invoke(app, record)
    assert refused.exit_code == 2 and "draw a sample first" in refused.output
    drawn = CliRunner().invoke(app, ["review-linkage", "sample", "--out", str(project.clerk), "--per-stratum", "6",
                                     *root, "--params", str(PARAMS)])
    assert drawn.exit_code == 0, drawn.output
    assert "pairs drawn" in drawn.output and "0 already decided" in drawn.output
    write_csv(decide_by_truth(read_csv_table(project.clerk / SHEET)), project.clerk / SHEET)
    recorded = CliRunner().invoke(app, record)
    assert recorded.exit_code == 0, recorded.output
    stored = read_json(review_path(project.paths))
    assert f"precision {stored['precision']:.4f}" in recorded.output and "recall" in recorded.output
