"""Identifiers, names and places of the synthetic county, and the recording noise put on them.

Everything here is vectorised over numpy arrays and deterministic given the ``rng`` passed in
(one ``np.random.Generator``; the same seed gives the same output). Identifiers follow the real
rules (DOMAIN.md "Identifiers") so ingest's validators and ``python-stdnum`` accept them, yet none
can name a real person or place:

- ``identifiers``: NHS numbers (test range) and permanent and temporary UPNs (real check letters).
- ``names`` and ``name_pools``: surnames, forenames and middle names by heritage (Zipf-like pools).
- ``name_errors``: nicknames and other spellings, typing errors, changed surnames.
- ``dob_errors``: day/month swaps and one-day or one-year slips in dates of birth.
- ``wider_errors``: names the wrong way round, blanks, OCR and phonetic errors, partial postcodes (off by
  default; ``synth.identifier_noise``).
- ``places``: LSOA codes above any ONS code, postcodes in the non-existent area "RP".
- ``codepoints``: strings as code-point matrices, which the others edit in bulk.
"""

from __future__ import annotations

from pipeline.synthetic.identities.dob_errors import apply_dob_errors
from pipeline.synthetic.identities.identifiers import (
    UPN_ALPHABET,
    nhs_check_digit,
    nhs_numbers,
    temporary_upns,
    upn_check_letter,
    upns,
)
from pipeline.synthetic.identities.name_errors import apply_forename_variants, apply_surname_changes, apply_typos
from pipeline.synthetic.identities.name_pools import FORENAME_POOLS, FORENAME_VARIANTS, GROUP_HERITAGE, SURNAME_POOLS
from pipeline.synthetic.identities.names import forenames, middlenames, surnames
from pipeline.synthetic.identities.places import POSTCODE_AREA, UK_POSTCODE_RE, make_lsoas, make_postcodes
from pipeline.synthetic.identities.wider_errors import (
    apply_ocr_errors,
    apply_phonetic_respellings,
    blank_dob_parts,
    blank_values,
    partial_postcodes,
    swap_names,
)

__all__ = [
    "FORENAME_POOLS",
    "FORENAME_VARIANTS",
    "GROUP_HERITAGE",
    "POSTCODE_AREA",
    "SURNAME_POOLS",
    "UK_POSTCODE_RE",
    "UPN_ALPHABET",
    "apply_dob_errors",
    "apply_forename_variants",
    "apply_ocr_errors",
    "apply_phonetic_respellings",
    "apply_surname_changes",
    "apply_typos",
    "blank_dob_parts",
    "blank_values",
    "forenames",
    "make_lsoas",
    "make_postcodes",
    "middlenames",
    "nhs_check_digit",
    "nhs_numbers",
    "partial_postcodes",
    "surnames",
    "swap_names",
    "temporary_upns",
    "upn_check_letter",
    "upns",
]
