"""The wider identifier errors (issue 15): what each does, and that they leave the county's other draws alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import IdentifierNoise
from pipeline.synthetic import identities
from pipeline.synthetic.records import postcode_at, recorded_identity

WIDER = {"names_swapped": 0.2, "forename_missing": 0.1, "dob_missing": 0.05, "dob_part_missing": 0.2,
         "ocr_error": 0.2, "phonetic_respelling": 0.2}


def _people(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"person_id": np.arange(n), "forename": rng.choice(["Sophie", "Michael", "Philippa"], n),
                         "surname": rng.choice(["Clarke", "Heath", "Mitchell"], n),
                         "dob": np.datetime64("2010-03-04") + rng.integers(0, 900, n).astype("timedelta64[D]"),
                         "ethnicity_group": rng.choice(["White", "Asian"], n)})


def test_wider_errors_off_change_nothing_and_on_change_no_other_draw():
    people = _people()
    plain_rng, wide_rng = np.random.default_rng(9), np.random.default_rng(9)
    plain = recorded_identity(plain_rng, people, IdentifierNoise())
    wide = recorded_identity(wide_rng, people, IdentifierNoise(**WIDER))
    assert plain_rng.random() == wide_rng.random()  # the county's own stream is where it was
    assert plain.equals(recorded_identity(np.random.default_rng(9), people, IdentifierNoise()))
    only_swaps = recorded_identity(np.random.default_rng(9), people, IdentifierNoise(names_swapped=0.2))
    swapped = (only_swaps["forename"] == plain["surname"]) & (only_swaps["surname"] == plain["forename"])
    assert 0.15 < swapped.mean() < 0.25
    assert 0.05 < (wide["forename"] == "").mean() < 0.2 and 0.02 < wide["dob"].isna().mean() < 0.1
    known = wide["dob"].notna()
    moved = wide.loc[known, "dob"] != plain.loc[known, "dob"]
    assert 0.1 < moved.mean() < 0.3 and (wide.loc[known & (wide["dob"] != plain["dob"]), "dob"].dt.day == 1).all()
    fore = wide["forename"]
    changed = (fore != plain["forename"]) & (fore != plain["surname"]) & (fore != "")
    assert changed.mean() > 0.2  # OCR and phonetic changes


def test_ocr_and_phonetic_errors_keep_the_first_letter_and_capitals():
    rng = np.random.default_rng(0)
    ocr = identities.apply_ocr_errors(rng, np.array(["Mitchell", "HEATH", "Mitchell"]), 1.0)
    assert [n[0] for n in ocr] == ["M", "H", "M"] and ocr[1].isupper() and ocr[0] != "Mitchell"
    assert list(identities.apply_phonetic_respellings(rng, np.array(["Philippa", "STEPHEN", "Bo"]), 1.0)) == \
        ["Phylippa", "STEFEN", "Bo"]  # never the first letter


def test_postcodes_cut_to_outward_code_or_blank_only_when_asked():
    history = pd.DataFrame({"household_id": [1, 2], "from_date": pd.to_datetime(["1900-01-01"] * 2),
                            "postcode": ["RP1 2AB", "RP3 4CD"]})
    hid = np.array([1, 2] * 500)
    when = np.array(["2020-01-01"] * 1000, dtype="datetime64[D]")
    plain = postcode_at(history, hid, when, np.random.default_rng(1), 0.0)
    assert set(plain) == {"RP1 2AB", "RP3 4CD"}
    noisy = postcode_at(history, hid, when, np.random.default_rng(1), 0.0,
                        IdentifierNoise(postcode_partial=0.3, postcode_missing=0.1))
    values = pd.Series(noisy).value_counts(normalize=True)
    assert 0.2 < values[["RP1", "RP3"]].sum() < 0.4 and 0.05 < values.get("", 0) < 0.15
