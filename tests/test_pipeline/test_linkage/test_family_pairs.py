"""The family links' quality counted on frames (pipeline/linkage/family_pairs.py) equals the same counts on
Python sets of pairs, the way it was counted before (#17: at a million people the sets were the slow part).

The reference below is the set-based code as it stood, kept here as the plain computation; a seeded random
county of true people, person ids, links (wrong, reversed, repeated, self and unknown ones among them) and
truth is scored both ways and every figure of the report must match exactly.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.linkage.family import MAX_PEOPLE_AT_ADDRESS, latest_addresses, true_person_of
from pipeline.linkage.family_pairs import in_pairs, pair_frame, pair_quality, quality_by_group, unordered
from pipeline.linkage.family_quality import carer_quality, household_quality, person_groups
from pipeline.linkage.family_relations import evaluate_relations
from pipeline.linkage.persons import AGE_BANDS

# ---- the set-based reference (the code before #17's rewrite) ----
_BAND_ORDER = {label: i for i, (_, _, label) in enumerate(AGE_BANDS)}


def _ref_quality(predicted: set, true: set) -> dict:
    hits = len(predicted & true)
    return {"predicted_pairs": len(predicted), "true_pairs": len(true), "true_positive_pairs": hits,
            "precision": hits / len(predicted) if predicted else None, "recall": hits / len(true) if true else None}


def _ref_by_group(predicted: set, true: set, groups_of, min_group: int) -> dict:
    order = lambda g: (_BAND_ORDER.get(g, len(_BAND_ORDER)), g)  # noqa: E731
    out = {}
    for group in sorted({g for p in predicted | true for g in groups_of(p)}, key=order):
        q = _ref_quality({p for p in predicted if group in groups_of(p)}, {p for p in true if group in groups_of(p)})
        out[group] = {"suppressed": True} if min(q["true_pairs"], q["predicted_pairs"]) < min_group else q
    return out


def _ref_predicted(rows: pd.DataFrame, true_of: pd.Series, ordered: bool) -> set:
    ta, tb = rows["person_id_a"].map(true_of), rows["person_id_b"].map(true_of)
    pairs = {(str(a), str(b)) for a, b in zip(ta, tb, strict=True) if pd.notna(a) and pd.notna(b) and a != b}
    return pairs if ordered else {tuple(sorted(p)) for p in pairs}


def _ref_unordered(groups: pd.DataFrame, group: str) -> set:
    both = groups.merge(groups, on=group, suffixes=("_a", "_b"))
    both = both[both["person_id_a"] < both["person_id_b"]]
    return set(zip(both["person_id_a"], both["person_id_b"], strict=True))


def _ref_by_groups(predicted, true, groups, members, min_group):
    return {f"by_{c}": _ref_by_group(predicted, true, lambda p, g=g: {g.get(m, "Unknown") for m in members(p)},
                                     min_group) for c, g in groups.items()}


def _ref_household(rows, true_of, truth, addresses, people, groups, min_group):
    seen = set(truth.loc[truth["source"].isin({"gp"}), "true_person_id"].astype(str))
    now = addresses[addresses["end"].isna()][["person_id", "uprn"]].astype(str)
    now = now[now["person_id"].isin(seen)].drop_duplicates("person_id")
    now = now[now.groupby("uprn")["person_id"].transform("size") <= MAX_PEOPLE_AT_ADDRESS]
    true, predicted = _ref_unordered(now, "uprn"), _ref_predicted(rows, true_of, ordered=False)
    same = _ref_unordered(people[["person_id", "household_id"]].dropna().astype(str), "household_id")
    return {**_ref_quality(predicted, true),
            "same_household_share": len(predicted & same) / len(predicted) if predicted else None,
            **_ref_by_groups(predicted, true, groups, lambda p: p, min_group)}


def _ref_carer(rows, true_of, truth, caring, people, groups, min_group, sources):
    seen = set(truth.loc[truth["source"].isin(sources), "true_person_id"].astype(str))
    true = {p for p in zip(caring["carer_id"].astype(str), caring["cared_for_id"].astype(str), strict=True)
            if p[0] in seen and p[1] in seen}
    predicted = _ref_predicted(rows, true_of, ordered=True)
    household = dict(zip(people["person_id"].astype(str), people["household_id"].astype(str), strict=True))
    together = {p for p in true if household.get(p[0]) is not None and household.get(p[0]) == household.get(p[1])}
    return {**_ref_quality(predicted, true),
            "recall_within_household": len(predicted & together) / len(together) if together else None,
            **_ref_by_groups(predicted, true, groups, lambda p: (p[1],), min_group)}


def _ref_relations(links, index, truth, people, min_group):
    true_of = true_person_of(index, truth)
    people = people.assign(person_id=people["person_id"].astype(str))
    known_child = set(truth.loc[truth["source"] == "social_care", "true_person_id"].astype(str))
    recorded = set(truth["true_person_id"].astype(str))
    kids = people[(people["role"] == "child") & people["person_id"].isin(known_child)]
    adults = people[people["role"].isin(["mother", "father"]) & people["person_id"].isin(recorded)]
    group_of = dict(zip(kids["person_id"], kids["ethnicity_group"].astype(str), strict=True))
    parents = adults[["person_id", "household_id"]].merge(kids[["person_id", "household_id"]], on="household_id",
                                                          suffixes=("_a", "_b"))
    sib = kids[["person_id", "household_id"]].merge(kids[["person_id", "household_id"]], on="household_id",
                                                     suffixes=("_a", "_b"))
    sib = sib[sib["person_id_a"] < sib["person_id_b"]]
    true_pairs = {"parent_of": set(zip(parents["person_id_a"], parents["person_id_b"], strict=True)),
                  "sibling_of": set(zip(sib["person_id_a"], sib["person_id_b"], strict=True))}
    out = {}
    for relation, true in true_pairs.items():
        pairs = _ref_predicted(links[links["relation"] == relation], true_of, ordered=relation == "parent_of")
        out[relation] = {**_ref_quality(pairs, true), "by_ethnicity_group": _ref_by_group(
            pairs, true, lambda p: {group_of.get(p[1], "Unknown")}, min_group)}
    return out


# ---- a seeded random county ----
@pytest.fixture(scope="module")
def county():
    rng = np.random.default_rng(17)
    n_people, n_homes = 600, 220
    people = pd.DataFrame({
        "person_id": [f"T{i:04d}" for i in range(n_people)],
        "household_id": pd.Series(rng.integers(0, n_homes, n_people).astype(str)).where(rng.random(n_people) > 0.05),
        "ethnicity_group": rng.choice(["White", "Asian", "Black", "Mixed", "Other"], n_people),
        "role": rng.choice(["child", "mother", "father", "adult"], n_people, p=[0.4, 0.2, 0.2, 0.2]),
        "dob": pd.to_datetime("1930-01-01") + pd.to_timedelta(rng.integers(0, 34000, n_people), unit="D"),
        "death_date": pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, n_people),
                                                                                unit="D")).where(
            rng.random(n_people) < 0.1)})
    sources = ["gp", "social_care", "adult_social_care", "health"]
    records = pd.DataFrame({"source": rng.choice(sources, 1500), "true_person_id": rng.choice(people["person_id"],
                                                                                              1500)})
    records = records.assign(record_key_tok=[f"k{i}" for i in range(len(records))])
    # one person id per true person, with a few merges and splits so some person ids stand for someone else
    pid = records["true_person_id"].str[1:].astype(int)
    pid = np.where(rng.random(len(pid)) < 0.05, rng.integers(0, n_people, len(pid)), pid)
    index = pd.DataFrame({"table": records["source"], "record_key_tok": records["record_key_tok"],
                          "person_id": [f"P{i:05d}" for i in pid]}).astype("string")
    truth = records[["source", "record_key_tok", "true_person_id"]].astype("string")
    persons = index["person_id"].unique()
    links = pd.concat([pd.DataFrame({"person_id_a": rng.choice([*persons, "Pnobody"], 400),
                                     "person_id_b": rng.choice([*persons, "Pnobody"], 400), "relation": relation,
                                     "source": source})
                       for relation, source in [("same_household", "gp"), ("carer_of", "gp_carer_code"),
                                                ("carer_of", "adult_social_care"), ("parent_of", "social_care"),
                                                ("sibling_of", "social_care")]], ignore_index=True)
    # true pairs found, both ways round, repeated, and a self pair
    same = people.dropna(subset=["household_id"]).merge(people, on="household_id")
    same = same[same["person_id_x"] != same["person_id_y"]].sample(300, random_state=1)
    found = pd.DataFrame({"person_id_a": "P" + same["person_id_x"].str[1:].str.zfill(5),
                          "person_id_b": "P" + same["person_id_y"].str[1:].str.zfill(5)})
    links = pd.concat([links, *[found.assign(relation=r, source=s) for r, s in
                                [("same_household", "gp"), ("carer_of", "gp_carer_code"),
                                 ("parent_of", "social_care"), ("sibling_of", "social_care")]],
                       links.head(30), links.head(3).assign(person_id_b=links["person_id_a"].head(3))],
                      ignore_index=True).astype("string")
    at_home = people.dropna(subset=["household_id"])  # most live at their household's address, some moved on
    addresses = pd.concat([pd.DataFrame({"person_id": at_home["person_id"], "uprn": "u" + at_home["household_id"],
                                         "start": pd.Timestamp("2012-01-01")}),
                           pd.DataFrame({"person_id": rng.choice(people["person_id"], 300),
                                         "uprn": rng.integers(0, 260, 300).astype(str),
                                         "start": pd.to_datetime("2010-01-01")
                                         + pd.to_timedelta(rng.integers(0, 5000, 300), unit="D")})],
                          ignore_index=True)
    addresses["end"] = addresses["start"].where(rng.random(len(addresses)) < 0.2)
    homes = people.dropna(subset=["household_id"]).sample(120, random_state=2)  # a crowded communal address
    addresses = pd.concat([addresses, pd.DataFrame({"person_id": homes["person_id"].head(MAX_PEOPLE_AT_ADDRESS + 3),
                                                    "uprn": "care-home", "start": pd.Timestamp("2015-01-01"),
                                                    "end": pd.NaT})], ignore_index=True)
    caring = same.sample(150, random_state=3)[["person_id_x", "person_id_y"]].set_axis(
        ["carer_id", "cared_for_id"], axis=1)
    return {"people": people, "index": index, "truth": truth, "links": links, "addresses": addresses,
            "caring": caring, "true_of": true_person_of(index, truth)}


@pytest.mark.parametrize("min_group", [1, 5, 40])
@pytest.mark.parametrize("as_of", [None, date(2026, 3, 31)])
def test_household_and_carer_quality_equal_the_set_computation(county, min_group, as_of):
    c = county
    groups = person_groups(c["people"], as_of)
    homes = c["links"][c["links"]["relation"] == "same_household"]
    args = (c["true_of"], c["truth"], c["addresses"], c["people"], groups, min_group)
    got, expected = household_quality(homes, *args), _ref_household(homes, *args)
    assert got == expected
    assert got["true_positive_pairs"] > 20 and got["predicted_pairs"] > got["true_positive_pairs"]  # not trivial
    carers = c["links"][c["links"]["relation"] == "carer_of"]
    for sources in ({"gp"}, {"gp", "adult_social_care"}):
        args = (c["true_of"], c["truth"], c["caring"], c["people"], groups, min_group, sources)
        got = carer_quality(carers, *args)
        assert got == _ref_carer(carers, *args)
    assert got["true_positive_pairs"] > 10 and got["recall_within_household"] is not None


@pytest.mark.parametrize("min_group", [1, 10])
def test_parent_and_sibling_quality_equal_the_set_computation(county, min_group):
    c = county
    got = evaluate_relations(c["links"], c["index"], c["truth"], c["people"], min_group)
    assert got == _ref_relations(c["links"], c["index"], c["truth"], c["people"], min_group)
    assert got["sibling_of"]["true_positive_pairs"] > 0 and got["parent_of"]["true_positive_pairs"] > 0


def test_address_and_carer_link_quality_equal_the_set_computation(county):
    from pipeline.linkage.family import evaluate_family_links

    c = county
    links = c["links"].replace({"relation": {"same_household": "same_address"},
                                "source": {"gp": "adult_social_care+gp"}})
    got = evaluate_family_links(links, c["index"], c["truth"], c["caring"], c["addresses"],
                                c["people"][["person_id", "household_id"]])
    true_of = c["true_of"]
    expected = {}
    for relation in ("carer_of", "same_address"):
        rows = links[links["relation"] == relation]
        sources = {{"gp_carer_code": "gp"}.get(s, s) for joined in rows["source"] for s in joined.split("+")}
        seen = set(c["truth"].loc[c["truth"]["source"].isin(sources), "true_person_id"].astype(str))
        pairs = _ref_predicted(rows, true_of, ordered=relation == "carer_of")
        if relation == "carer_of":
            true = set(zip(c["caring"]["carer_id"].astype(str), c["caring"]["cared_for_id"].astype(str), strict=True))
        else:
            latest = latest_addresses(c["addresses"]).astype(str)
            latest = latest[latest["person_id"].isin(seen)]
            latest = latest[latest.groupby("uprn")["person_id"].transform("size") <= MAX_PEOPLE_AT_ADDRESS]
            true = _ref_unordered(latest, "uprn")
        true = {p for p in true if p[0] in seen and p[1] in seen}
        expected[relation] = _ref_quality(pairs, true)
        if relation == "same_address":
            homes = _ref_unordered(c["people"][["person_id", "household_id"]].dropna().astype(str), "household_id")
            expected[relation]["same_household_share"] = len(pairs & homes) / len(pairs) if pairs else None
    assert got == expected
    assert got["same_address"]["true_positive_pairs"] > 0


def test_pair_frames_behave_as_sets():
    a = pair_frame(["x", "y", "x", "z"], ["y", "x", "y", "z"])
    assert list(a.itertuples(index=False, name=None)) == [("x", "y"), ("y", "x"), ("z", "z")]
    assert set(unordered(a).itertuples(index=False, name=None)) == {("x", "y"), ("z", "z")}
    b = pair_frame(["y", "q"], ["x", "r"])
    assert in_pairs(a, b).tolist() == [False, True, False]
    assert pair_quality(a, b) == _ref_quality({("x", "y"), ("y", "x"), ("z", "z")}, {("y", "x"), ("q", "r")})
    empty = pair_frame([], [])
    assert pair_quality(empty, empty) == _ref_quality(set(), set())
    assert quality_by_group(empty, b, ["a", "b"], {"y": "G"}, 1) == _ref_by_group(
        set(), {("y", "x"), ("q", "r")}, lambda p: {{"y": "G"}.get(m, "Unknown") for m in p}, 1)


def test_recorded_parents_first_found_person_equals_the_per_group_lambda():
    """``recorded_parents`` takes, per recorded person ID, the first person found on its rows with ``first``;
    it was a Python lambda per group (half the family links' time at 100,000 people)."""
    rng = np.random.default_rng(4)
    n = 3000
    parent = pd.Series(pd.array([f"P{i}" if i % 3 else None for i in rng.integers(0, 400, n)], dtype="string"))
    keys = pd.Series(pd.array([f"r{i}" if i % 11 else None for i in rng.integers(0, 900, n)], dtype="string"))
    expected = parent.groupby(keys).agg(lambda s: s.dropna().iloc[0] if s.notna().any() else pd.NA)
    got = parent.groupby(keys).first()
    assert got.index.equals(expected.index)
    assert keys.map(got).astype("string").equals(keys.map(expected).astype("string"))
    assert got.isna().any() and got.notna().any()
