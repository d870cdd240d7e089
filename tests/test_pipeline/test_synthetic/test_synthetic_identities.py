"""Identifier generators and recording noise of the synthetic county (pipeline/synthetic/identities/).

Check digits are cross-checked with python-stdnum, edit distances with jellyfish: both are
independent of the code under test.
"""

from __future__ import annotations

import re

import jellyfish
import numpy as np
import pandas as pd
import pytest
from stdnum.gb import nhs, upn

from pipeline.synthetic import identities as ids

GROUPS = np.array(["White", "Mixed", "Asian", "Black", "Other"])
# The 121 postcode areas in use (Royal Mail), so the synthetic area can be checked not to be one.
REAL_AREAS = set("""AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT
    DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL
    LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO
    SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE""".split())


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def people(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r = rng(seed)
    return r.choice(GROUPS, n, p=[0.7, 0.07, 0.13, 0.06, 0.04]), r.choice(["M", "F"], n)


# ---------------------------------------------------------------- NHS numbers
def test_nhs_numbers_are_unique_test_range_and_pass_stdnum():
    numbers = ids.nhs_numbers(rng(), 300_000)
    assert len(numbers) == 300_000 and len(set(numbers)) == 300_000
    assert all(len(x) == 10 and x.startswith("9") for x in numbers[:1000])
    sample = rng(1).choice(numbers, 5000, replace=False)
    assert all(nhs.is_valid(x) for x in sample)


def test_nhs_check_digit_against_stdnum_including_never_issued_bodies():
    bodies = rng(2).integers(900_000_000, 1_000_000_000, 5000)
    ours = ids.nhs_check_digit(bodies)
    for body, check in zip(bodies, ours, strict=True):
        if check == 10:  # never issued: no digit completes a valid number
            assert not any(nhs.is_valid(f"{body}{d}") for d in range(10))
        else:
            assert nhs.is_valid(f"{body}{check}")
    assert (ours == 10).any(), "some bodies must be never-issued, or the redraw is not exercised"


# ---------------------------------------------------------------- UPNs
def test_upn_check_letter_matches_stdnum_for_permanent_and_temporary_bodies():
    r = rng(3)
    digits = r.integers(0, 10, (4000, 12)).astype(str)
    bodies = np.array(["".join(row) for row in digits])
    letters = r.choice(list(ids.UPN_ALPHABET), 4000)
    temp_bodies = np.array([b[:11] + c for b, c in zip(bodies, letters, strict=True)])
    for body in (bodies, temp_bodies):
        ours = ids.upn_check_letter(body)
        assert list(ours) == [upn.calc_check_digit(b) for b in body]
    assert ids.upn_check_letter(np.array(["801200005001"]))[0] == "B"  # stdnum's documented example


def test_upn_check_letter_rejects_bad_characters():
    with pytest.raises(ValueError):
        ids.upn_check_letter(np.array(["80120000500I"]))  # I is not in the table
    with pytest.raises(ValueError):
        ids.upn_check_letter(np.array(["8012000050"]))  # too short
    with pytest.raises(ValueError):
        ids.upn_check_letter(np.array(["8012000050012"]))  # too long


def test_upns_unique_and_valid_at_scale_even_when_school_years_overflow():
    r = rng(4)
    n = 300_000
    schools = r.choice([f"{s:04d}" for s in range(2001, 2021)], n)  # 20 schools
    year = r.integers(10, 20, n)  # 200 school-years: ~1,500 children each, more than 999 serials
    out = ids.upns(rng(5), "938", schools, year)
    assert len(set(out)) == n
    assert all(upn.is_valid(x) for x in rng(6).choice(out, 5000, replace=False))
    assert (pd.Series(out).str[1:4] == "938").all()
    assert (pd.Series(out).str[4:8].to_numpy() == schools).all(), "establishment is kept on spill"
    spilled = pd.Series(out).str[8:10].astype(int).to_numpy() != year
    assert 0 < spilled.mean() < 0.5
    assert (pd.Series(out).str[-3:].astype(int).between(1, 999)).all()


def test_temporary_upns_end_in_a_letter_pass_stdnum_and_differ_from_permanent():
    r = rng(8)
    schools = r.choice(["2001", "2002", "3001"], 20_000)
    year = r.integers(18, 22, 20_000)
    temp = ids.temporary_upns(rng(9), "938", schools, year)
    perm = ids.upns(rng(9), "938", schools, year)
    assert len(set(temp)) == len(temp)
    assert all(re.fullmatch(r"[A-Z]\d{11}[A-Z]", x) for x in temp)
    assert all(upn.is_valid(x) for x in temp[:5000])
    assert not set(temp) & set(perm)


def test_upns_are_deterministic_given_the_seed():
    schools, year = np.array(["2001"] * 50 + ["2002"] * 50), np.full(100, 21)
    assert (ids.upns(rng(1), "938", schools, year) == ids.upns(rng(1), "938", schools, year)).all()
    assert (ids.upns(rng(1), "938", schools, year) != ids.upns(rng(2), "938", schools, year)).any()


# ---------------------------------------------------------------- names
def test_name_pools_are_sizeable():
    all_surnames = {s for pool in ids.SURNAME_POOLS.values() for s in pool}
    assert len(all_surnames) >= 150
    for sex in "MF":
        assert len({f for pools in ids.FORENAME_POOLS.values() for f in pools[sex]}) >= 100
    names = [n for pool in ids.SURNAME_POOLS.values() for n in pool]
    names += [n for pools in ids.FORENAME_POOLS.values() for pool in pools.values() for n in pool]
    assert all(n.isascii() for n in names), "cp1252 exports need plain spellings"


def test_names_differ_by_group_and_are_zipf_like():
    group, sex = people(60_000)
    surnames = pd.Series(ids.surnames(rng(), group))
    by_group = surnames.groupby(group).agg(lambda s: s.value_counts().index[0])
    assert by_group["White"] == "Smith"
    assert {"Khan", "Patel"} <= set(surnames[group == "Asian"].value_counts().index[:8])
    white, asian = set(surnames[group == "White"]), set(surnames[group == "Asian"])
    assert len(white & asian) < 0.2 * len(asian)
    counts = surnames[group == "White"].value_counts()
    assert counts.iloc[0] > 5 * counts.median(), "a few names should be much more common than most"

    forenames = pd.Series(ids.forenames(rng(), group, sex))
    assert forenames[(group == "Asian") & (sex == "M")].str.match(r"^(Muhammad|Mohamm?[ae]d)$").mean() > 0.05
    boys, girls = set(forenames[sex == "M"]), set(forenames[sex == "F"])
    assert len(boys & girls) < 0.1 * len(boys)


def test_middlenames_are_empty_about_forty_percent():
    group, sex = people(40_000)
    middle = ids.middlenames(rng(), group, sex)
    assert abs((middle == "").mean() - 0.4) < 0.02
    assert (pd.Series(middle[middle != ""]).str.len() > 1).all()


def test_names_are_deterministic_given_the_seed():
    group, sex = people(1000)
    assert (ids.forenames(rng(3), group, sex) == ids.forenames(rng(3), group, sex)).all()
    assert (ids.surnames(rng(3), group) == ids.surnames(rng(3), group)).all()


# ---------------------------------------------------------------- forename variants
def test_forename_variants_change_only_names_with_variants_at_the_rate():
    names = np.array(["Mohammed"] * 20_000 + ["William"] * 20_000 + ["Zog"] * 5000)
    out = ids.apply_forename_variants(rng(), names, 0.3)
    changed = out != names
    assert not changed[names == "Zog"].any()
    assert abs(changed[names != "Zog"].mean() - 0.3) < 0.02
    spellings = {"Muhammad", "Mohammad", "Mohamed", "Mohamad", "Muhammed"}
    assert set(out[(names == "Mohammed") & changed]) <= spellings
    assert set(out[(names == "William") & changed]) == {"Bill", "Will", "Billy"}


def test_forename_variants_are_symmetric_for_spellings_and_keep_capitals():
    assert "Mohammed" in ids.FORENAME_VARIANTS["Muhammad"] and "Muhammad" in ids.FORENAME_VARIANTS["Mohammed"]
    assert "Ayesha" in ids.FORENAME_VARIANTS["Aisha"] and "Aisha" in ids.FORENAME_VARIANTS["Ayesha"]
    out = ids.apply_forename_variants(rng(), np.array(["ELIZABETH"] * 200), 1.0)
    assert set(out) <= {"BETH", "LIZ", "LIZZIE", "ELIZA"} and len(set(out)) > 1


# ---------------------------------------------------------------- typos
def test_typos_are_exactly_one_edit_at_the_rate():
    group, sex = people(30_000)
    names = np.concatenate([ids.forenames(rng(), group, sex), ids.surnames(rng(), group)])
    out = ids.apply_typos(rng(11), names, 0.2)
    changed = out != names
    assert abs(changed.mean() - 0.2) < 0.01
    distances = {jellyfish.damerau_levenshtein_distance(a, b) for a, b in zip(names[changed], out[changed],
                                                                              strict=True)}
    assert distances == {1}


def test_typos_keep_case_style_and_leave_empty_strings():
    group, _ = people(5000)
    upper = np.strings.upper(ids.surnames(rng(), group))
    out = ids.apply_typos(rng(12), upper, 1.0)
    assert (out != upper).all()
    assert all(s == s.upper() for s in out)
    title = ids.surnames(rng(), group)
    out = ids.apply_typos(rng(13), title, 1.0)
    assert all(a[0] == b[0] for a, b in zip(title, out, strict=True) if len(a) > 1)
    short = np.array(["", "A", "Al", "O'Brien-Smith"] * 500)
    out = ids.apply_typos(rng(14), short, 1.0)
    assert (out[short == ""] == "").all()
    pairs = [(a, b) for a, b in zip(short, out, strict=True) if a]
    assert all(jellyfish.damerau_levenshtein_distance(a, b) == 1 for a, b in pairs)


def test_typos_are_deterministic():
    names = np.array(["Smith", "Jones", "Khan"] * 100)
    assert (ids.apply_typos(rng(1), names, 0.5) == ids.apply_typos(rng(1), names, 0.5)).all()


# ---------------------------------------------------------------- surname changes
def test_surname_changes_hyphenate_or_replace_never_keep():
    group, _ = people(20_000)
    old = ids.surnames(rng(), group)
    new = ids.apply_surname_changes(rng(15), old, 0.25, group)
    changed = new != old
    assert abs(changed.mean() - 0.25) < 0.015
    o, n = pd.Series(old[changed]), pd.Series(new[changed])
    hyphenated = n.str.contains("-") & ~o.str.contains("-")
    parts = n[hyphenated].str.split("-")
    assert all(old_name in p for old_name, p in zip(o[hyphenated], parts, strict=True))
    assert 0.4 < hyphenated.mean() < 0.6
    assert (n.str.lower() != o.str.lower()).all()
    double = np.array(["Smith-Jones"] * 100)
    dropped = ids.apply_surname_changes(rng(16), double, 1.0, np.full(100, "White"))
    assert set(dropped) <= {"Smith", "Jones"}


# ---------------------------------------------------------------- dates of birth
def test_dob_errors_are_valid_dates_of_the_expected_kinds_and_rates():
    r = rng(17)
    n = 200_000
    dob = np.datetime64("2005-01-01") + r.integers(0, 7000, n).astype("timedelta64[D]")
    dob[:100] = np.datetime64("NaT")
    out = ids.apply_dob_errors(rng(18), dob, swap_rate=0.2, typo_rate=0.05)
    assert out.dtype == np.dtype("datetime64[D]")
    assert np.isnat(out[:100]).all() and not np.isnat(out[100:]).any()

    before, after = pd.Series(dob[100:]), pd.Series(out[100:])
    swappable = (before.dt.day <= 12) & (before.dt.day != before.dt.month)
    changed = after != before
    swapped = changed & (after.dt.day == before.dt.month) & (after.dt.month == before.dt.day) & (
        after.dt.year == before.dt.year)
    days = (after - before).dt.days.abs()
    year_off = ((after.dt.year - before.dt.year).abs() == 1) & (after.dt.month == before.dt.month) & (
        after.dt.day == before.dt.day)
    assert not (swapped & ~swappable).any()
    assert abs(swapped[swappable].mean() - 0.2 * 0.95) < 0.01  # swaps not later undone by a slip
    slipped = changed & ~swapped
    # what is neither a clean swap nor unchanged is a one-day or one-year slip (possibly of a swap)
    assert ((days[slipped] == 1) | year_off[slipped] | swappable[slipped]).all()
    assert abs((changed & ~swappable).mean() / (~swappable).mean() - 0.05) < 0.005


def test_dob_errors_on_29_february_stay_valid():
    dob = np.full(2000, np.datetime64("2008-02-29"))
    out = pd.Series(ids.apply_dob_errors(rng(19), dob, 0.0, 1.0))
    assert set((out - pd.Timestamp("2008-02-29")).dt.days) <= {-1, 1}


# ---------------------------------------------------------------- LSOAs and postcodes
def test_uk_postcode_regex_accepts_real_formats_and_rejects_bad_ones():
    for good in ("SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "RP12 3AB"):
        assert ids.UK_POSTCODE_RE.match(good), good
    for bad in ("SW1A1AA", "RP1 1CA", "RP1 1AK", "QP1 1AA", "RP1 AAA", "rp1 1aa", "RPP1 1AA"):
        assert not ids.UK_POSTCODE_RE.match(bad), bad


def test_lsoas_unique_synthetic_codes_with_districts():
    lsoas = ids.make_lsoas(rng(), 2000)
    assert lsoas["lsoa_code"].is_unique
    assert lsoas["lsoa_code"].str.fullmatch(r"E01\d{6}").all()
    assert (lsoas["lsoa_code"].str[3:].astype(int) >= 100_000).all(), "above every real E01 code"
    assert lsoas["district"].str.fullmatch(r"RP\d{1,2}[A-Z]?").all()
    assert 100 < lsoas["district"].nunique() <= 2000 / 10


def test_postcodes_valid_unique_and_one_sector_per_lsoa():
    assert ids.POSTCODE_AREA not in REAL_AREAS
    lsoas = ids.make_lsoas(rng(), 2000)
    postcodes = ids.make_postcodes(rng(20), lsoas, per_lsoa=40)
    assert len(postcodes) == 2000 * 40 and postcodes["postcode"].is_unique
    assert postcodes["postcode"].str.match(ids.UK_POSTCODE_RE).all()
    sectors = postcodes["postcode"].str[:-2]
    assert (sectors.groupby(postcodes["lsoa_code"]).nunique() == 1).all()
    district = postcodes["lsoa_code"].map(lsoas.set_index("lsoa_code")["district"])
    assert (postcodes["postcode"].str.split(" ").str[0] == district).all()


def test_postcodes_refuse_more_than_a_sector_holds():
    lsoas = ids.make_lsoas(rng(), 100, lsoas_per_district=100)
    with pytest.raises(ValueError):
        ids.make_postcodes(rng(), lsoas, per_lsoa=100)


def test_places_are_deterministic():
    a = ids.make_postcodes(rng(1), ids.make_lsoas(rng(1), 50), 10)
    b = ids.make_postcodes(rng(1), ids.make_lsoas(rng(1), 50), 10)
    pd.testing.assert_frame_equal(a, b)
