"""Education extracts as councils receive them, one module per format.

- ``pupils``: establishments per pupil-year, UPNs and the school-recorded identity.
- ``school_census``: the six spring school census tables per census year.
- ``ks2``: NPD-style KS2 scaled scores.
- ``nccis``: NCCIS activity spells at academic age 16 and 17.
"""

from __future__ import annotations

from pipeline.synthetic.export_education.ks2 import ks2_results
from pipeline.synthetic.export_education.nccis import nccis_records
from pipeline.synthetic.export_education.pupils import assign_schools, build_pupil_identities
from pipeline.synthetic.export_education.school_census import (
    CENSUS_DATE_FORMAT,
    LANGUAGE,
    census_dates,
    school_census_tables,
)

__all__ = [
    "CENSUS_DATE_FORMAT",
    "LANGUAGE",
    "assign_schools",
    "build_pupil_identities",
    "census_dates",
    "ks2_results",
    "nccis_records",
    "school_census_tables",
]
