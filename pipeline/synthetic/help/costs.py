"""The programmes' descriptions and costs, and the unit costs of the outcomes they may avoid.

Values are as published in the named source and price year (not uprated); riskpipe's impact stage uprates
and splits them. Where a source gives a weekly cost the yearly one is 52 weeks of it. Values marked
"indicative" are of the right order for an English council but were not checked against the source's
current edition: a council replaces this file with its own.
"""

from __future__ import annotations

PROGRAMMES = [
    {"programme": "early_help_offer", "name": "Early help family support offer",
     "description": "a targeted early help offer (key worker, whole-family plan, about 3-6 months) made to "
                    "children on the monthly list and to others referred by professionals or their families",
     "kind": "offer", "cost_per_family_gbp": 2300, "price_year": 2019, "agency": "council: early help",
     },
    {"programme": "key_worker", "name": "Family key-worker programme",
     "description": "Local Area Coordination style key workers based in wards, rolled out in three waves; "
                    "families in the ward can go to them without a referral",
     "kind": "area", "cost_per_family_gbp": 1800, "price_year": 2024, "agency": "council: children's services"},
    {"programme": "pilot", "name": "Local Area Coordination pilot",
     "description": "a one-ward pilot of a Local Area Coordinator working with families and the community",
     "kind": "area", "cost_per_family_gbp": 1500, "price_year": 2024, "agency": "council: communities"},
]

UNIT_COSTS = [
    {"outcome": "care_entry", "description": "a year looked after in local authority foster care (52 weeks at "
     "£646 per child per week)", "value_gbp": 33592, "price_year": 2017, "value_type": "fiscal", "cashable": "Y",
     "agency": "council: children's social care", "per": "child-year",
     "source": "PSSRU Unit Costs of Health and Social Care 2017 (children's services, foster care)"},
    {"outcome": "care_entry", "description": "a year looked after, all placement types (indicative: residential "
     "placements raise the mean well above foster care)", "value_gbp": 58000, "price_year": 2023,
     "value_type": "fiscal", "cashable": "Y", "agency": "council: children's social care", "per": "child-year",
     "source": "DfE section 251 outturn, looked-after children spend per child looked after (indicative)"},
    {"outcome": "care_entry", "description": "social value of a child kept safely at home (wellbeing; "
     "indicative)", "value_gbp": 10000, "price_year": 2015, "value_type": "social", "cashable": "N",
     "agency": "child and family", "per": "entry avoided", "source": "GMCA Unit Cost Database v1.4 (indicative)"},
    {"outcome": "referral", "description": "a referral to children's social care with a single assessment "
     "(social work time; indicative)", "value_gbp": 1900, "price_year": 2015, "value_type": "fiscal",
     "cashable": "N", "agency": "council: children's social care", "per": "referral",
     "source": "GMCA Unit Cost Database v1.4, children in need (indicative)"},
    {"outcome": "referral", "description": "partner agencies' time on a referral and assessment (police, school, "
     "health; indicative)", "value_gbp": 400, "price_year": 2015, "value_type": "economic", "cashable": "N",
     "agency": "partners", "per": "referral", "source": "GMCA Unit Cost Database v1.4 (indicative)"},
]
