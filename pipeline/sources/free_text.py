"""The field check of a one-line free-text reason (validator ``free_text``): kept only when it cannot name anyone.

Free text in case-management records often names people ("spoke to Mum", "Jack's school"). No detector can
tell a name from another word, so a reason is removed (the column's ``on_invalid="null"``) when it holds an
identifier ``scan-pii`` would find, any capitalised word after the first, or more than ``FREE_TEXT_MAX``
characters. Acronyms (CAMHS, GP) pass: they have no lower-case letter after the capital.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.privacy import identifier_detectors as found

FREE_TEXT_MAX = 200
FREE_TEXT_RULES = ("identifier_in_free_text", "possible_name_in_free_text", "free_text_too_long")
# a capitalised word after the first (``Mum``, ``Jack``): possibly a name
_CAPITALISED_LATER = r"\s\W*[A-Z][a-z]"


def _rules(text: pd.Series) -> np.ndarray:
    """One rule or None per distinct text value (the first that applies, in ``FREE_TEXT_RULES`` order)."""
    identifier = (found.nhs_number_mask(text) | found.upn_mask(text.str.upper()) | found.postcode_mask(text)
                  | text.str.contains(found.LABELLED_LOCAL_ID).to_numpy(dtype=bool)
                  | text.str.contains(found.LABELLED_DOB).to_numpy(dtype=bool))
    capitalised = text.str.contains(_CAPITALISED_LATER).to_numpy(dtype=bool)
    too_long = (text.str.len() > FREE_TEXT_MAX).to_numpy(dtype=bool)
    return np.select([identifier, capitalised, too_long], list(FREE_TEXT_RULES), None)


def check_free_text(values: pd.Series) -> pd.Series:
    """Rules per value (null where the text may be kept, or is null): see the module docstring.

    ``identifier_in_free_text`` (an NHS number, UPN, full postcode, labelled local ID or date of birth),
    ``possible_name_in_free_text``, ``free_text_too_long``; each distinct value is checked once.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rules = np.append(np.asarray(_rules(pd.Series(uniques, dtype="str")), dtype=object), None)
    return pd.Series(rules[codes], index=values.index, dtype="object")
