"""The adults' health code lists and field checks: SNOMED CT ids, BNF codes, treatment specialties."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.sources import codes
from pipeline.sources.validators import check_bnf_code, check_snomed, check_snomed_list, check_treatment_specialty

ECDS_LISTS = (codes.ECDS_ACUITY, codes.ECDS_ARRIVAL_MODE, codes.ECDS_DISCHARGE_DESTINATION)


@pytest.mark.parametrize("code_list", ECDS_LISTS)
def test_every_ecds_code_list_entry_is_a_valid_snomed_concept_id(code_list):
    # a transcription slip in a code list would fail its Verhoeff check digit
    values = pd.Series(sorted(codes.ecds_codes(code_list)))
    assert check_snomed(values).isna().all()


def test_other_listed_snomed_codes_are_valid_concept_ids():
    listed = [*codes.ECDS_INJURY_INTENT.values(), *codes.GP_CARER_CODES, codes.ECDS_DEAD_ON_ARRIVAL]
    assert check_snomed(pd.Series(listed)).isna().all()


def test_ecds_codes_reads_both_ways_of_writing_a_code_list():
    assert codes.ecds_codes({"1064891000000107": "immediate"}) == {"1064891000000107"}
    assert codes.ecds_codes({"died": ("305398007",), "home": ("306689006",)}) == {"305398007", "306689006"}


def test_snomed_rules():
    # the last is a description id (partition 11) with a valid check digit: a real id, but not a concept
    values = pd.Series(["306689006", " 306689006 ", "306689007", "12345", "0306689006", "abc", None,
                        "1064891000000107", "1064891000000111"])
    assert check_snomed(values).tolist() == [
        None, None, "invalid_snomed_check_digit", "invalid_snomed_format", "invalid_snomed_format",
        "invalid_snomed_format", None, None, "snomed_not_a_concept"]


def test_a_snomed_list_reports_its_first_failing_code():
    values = pd.Series(["306689006,19712007", "306689006,306689007", "306689006,,19712007"])
    assert check_snomed_list(values).tolist() == [None, "invalid_snomed_check_digit", "invalid_snomed_format"]


def test_bnf_and_treatment_specialty_shapes():
    bnf = pd.Series(["0205051R0AAAAAA", "0407010H0", "4.8.1", "04.07.01", "aspirin", "02"])
    assert check_bnf_code(bnf).tolist() == [None, None, None, None, "invalid_bnf_code", "invalid_bnf_code"]
    specialty = pd.Series(["430", "300", "43", "43O"])
    assert check_treatment_specialty(specialty).tolist() == [None, None, "invalid_treatment_specialty",
                                                             "invalid_treatment_specialty"]
