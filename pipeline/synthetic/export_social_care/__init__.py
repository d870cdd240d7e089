"""Children's social care extracts, one module per format.

- ``case_records``: the case-management person table (``csc_persons.csv``, cp1252, dd/mm/yyyy).
- ``ssda903``: placement episodes and the SSDA903 header and episodes per collection year.
- ``cin_census``: the CIN census tables per collection year (written as XML by ``cin_xml``).
- ``early_help``: early help episodes in riskpipe's local format.
- ``relationships``: case-management relationships of known children to their parents (``csc_relationship.csv``).
"""

from __future__ import annotations

from pipeline.synthetic.export_social_care.case_records import DMY, csc_persons
from pipeline.synthetic.export_social_care.cin_census import FACTOR_RULES, assessment_factors, cin_census_frames
from pipeline.synthetic.export_social_care.early_help import early_help_records
from pipeline.synthetic.export_social_care.relationships import csc_relationships
from pipeline.synthetic.export_social_care.ssda903 import care_episodes, ssda903_returns

__all__ = [
    "DMY",
    "FACTOR_RULES",
    "assessment_factors",
    "care_episodes",
    "cin_census_frames",
    "csc_persons",
    "csc_relationships",
    "early_help_records",
    "ssda903_returns",
]
