"""Adult social care Client Level Data (CLD) code lists: Release 1 and Release 2 labels, and R1 -> R2.

CLD replaced SALT from 2024/25 after a year of dual running in 2023/24; Release 2 of the specification
changed many value labels (mostly to sentence case) and DHSC maps Release 1 values to Release 2
(DOMAIN_ADULTS.md §2.1). Staged CLD holds Release 2 labels: each ``R1_TO_R2`` map is the column's
``recode`` (matched case-insensitively, so a label differing only in case needs no entry; en and em
dashes are accepted for hyphens). Labels marked [A] in docs/formats.md are riskpipe's spelling where
the specification's exact R2 wording was not checked.
"""

from __future__ import annotations

CLIENT_TYPE = frozenset({"Service user", "Carer", "Carer known by association"})
CLIENT_CARER_TYPES = frozenset({"Carer", "Carer known by association"})
EVENT_TYPE = frozenset({"Request", "Assessment", "Service", "Review"})

GENDER_RECODE = {"Male": "M", "Female": "F", "Other": "U", "Unknown": "U", "Not known": "U", "M": "M", "F": "F",
                 "U": "U"}

# 2021 census categories (England), the CLD Ethnicity values; their first word gives the riskpipe group
ETHNICITY = frozenset(
    {
        "White: English, Welsh, Scottish, Northern Irish or British", "White: Irish",
        "White: Gypsy or Irish Traveller", "White: Roma", "White: Any other White background",
        "Mixed or Multiple ethnic groups: White and Black Caribbean",
        "Mixed or Multiple ethnic groups: White and Black African",
        "Mixed or Multiple ethnic groups: White and Asian",
        "Mixed or Multiple ethnic groups: Any other Mixed or Multiple background",
        "Asian or Asian British: Indian", "Asian or Asian British: Pakistani", "Asian or Asian British: Bangladeshi",
        "Asian or Asian British: Chinese", "Asian or Asian British: Any other Asian background",
        "Black, Black British, Caribbean or African: Caribbean", "Black, Black British, Caribbean or African: African",
        "Black, Black British, Caribbean or African: Any other Black, Black British, or Caribbean background",
        "Other ethnic group: Arab", "Other ethnic group: Any other ethnic group", "Refused", "Not known",
    }
)

SERVICE_TYPE_R1_TO_R2 = {
    "Short Term Support: ST-Max": "Short term support: ST-Max",
    "Short Term Support: Ongoing Low Level": "Short term support: Ongoing low level",
    "Short Term Support: Other Short Term": "Short term support: Other short term",
    "Long Term Support: Nursing Care": "Long term support: Nursing care",
    "Long Term Support: Residential Care": "Long term support: Residential care",
    "Long Term Support: Community": "Long term support: Community",
    "Long Term Support: Prison": "Long term support: Prison",
    "Carer Support: Direct to Carer": "Unpaid carer support: Direct to carer",
    "Carer Support: Support involving the person cared-for":
        "Unpaid carer support: Support involving the person cared-for",
}
SERVICE_TYPE = frozenset(SERVICE_TYPE_R1_TO_R2.values())
LTS_CARE_HOME = frozenset({"Long term support: Nursing care", "Long term support: Residential care"})
LONG_TERM_SUPPORT_PREFIX = "Long term support"

SERVICE_COMPONENT = frozenset(
    {
        "Reablement", "Short Term Nursing Care", "Short Term Residential Care", "Long Term Nursing Care",
        "Long Term Residential Care", "Home Support", "Day Support", "Meals", "Transport", "Equipment",
        "Direct Payment", "Shared Lives", "Community Supported Living", "Professional Support (Social Worker)",
        "Learning/Education/Employment Support", "End of Life Care", "Emergency Support",
        "Other Short Term Support", "Other Long Term Support", "Carer Respite", "Carer Sitting Service",
        "Carer Universal Services", "Other Carer Support",
    }
)
DELIVERY_MECHANISM = frozenset({"Direct Payment", "CASSR Managed Personal Budget", "CASSR Commissioned Support"})

PRIMARY_SUPPORT_REASON_R1_TO_R2 = {
    "Physical Support: Access & mobility only": "Physical support: Access and mobility only",
    "Physical Support: Personal care support": "Physical support: Personal care support",
    "Sensory Support: Support for visual impairment": "Sensory support: Support for visual impairment",
    "Sensory Support: Support for hearing impairment": "Sensory support: Support for hearing impairment",
    "Sensory Support: Support for dual impairment": "Sensory support: Support for dual impairment",
    "Support with Memory & Cognition": "Support with memory and cognition",
    "Learning Disability Support": "Learning disability support",
    "Mental Health Support": "Mental health support",
    "Social Support: Substance misuse support": "Social support: Substance misuse support",
    "Social Support: Asylum seeker support": "Social support: Asylum seeker support",
    "Social Support: Support for Social Isolation/Other": "Social support: Support for social isolation or other",
    "Social Support: Support to Carer": "Social support: Support to carer",
    "Unknown": "Unknown",
    # shorter R1 spellings seen in extracts (and in DOMAIN_ADULTS.md)
    "Social Support: Substance misuse": "Social support: Substance misuse support",
    "Social Support: Asylum seeker": "Social support: Asylum seeker support",
    "Social Support: Social Isolation/Other": "Social support: Support for social isolation or other",
}
PRIMARY_SUPPORT_REASON = frozenset(PRIMARY_SUPPORT_REASON_R1_TO_R2.values())

NFA_SELF_FUNDED = "NFA - Self-funded client or under 12wk disregard"
EVENT_OUTCOME_R1_TO_R2 = {
    "Progress to Reablement/ST-Max": "Progress to reablement/ST-Max",
    "Progress to Assessment": "Progress to assessment, review or reassessment",
    "Admitted to hospital": "Admitted to hospital",
    "Progress to Re-assessment / Unplanned Review": "Progress to assessment, review or reassessment",
    "Progress to Support Planning / Services": "Progress to support planning or services",
    "Progress to End of Life Care": "Progress to support planning or services",
    "No change in package": "Continuation of support or services",
    "Service ended as planned": "NFA - Support ended as planned",
    "Progress to financial assessment": "Progress to support planning or services",
    "Provision of service": "Continuation of support or services",
    "NFA - Deceased": "NFA - Deceased",
    "NFA - Moved to another LA": "NFA - Responsibility moved to another LA",
    "NFA - 100% NHS funded care": "NFA - Referral to NHS services or NHS funded social care",
    "NFA - Information & Advice / Signposting only": "NFA - Information and advice or signposting",
    "NFA - Self-funded client (inc. 12wk disregard)": NFA_SELF_FUNDED,
    "NFA - Support declined": "NFA - Support declined",
    "NFA - Support ended: other reason": "NFA - Support ended for other reason",
    "NFA - No services offered: other reason": "NFA - No services offered for other reason",
    "NFA - Other": "NFA - Other",
}
EVENT_OUTCOME = frozenset(EVENT_OUTCOME_R1_TO_R2.values()) | {"NFA - Referral to other service within the LA"}

ROUTE_OF_ACCESS = frozenset(
    {"Community", "Hospital discharge", "Support for carer", "Diversion", "Planned entry (transition)",
     "Self-funder with depleted funds"}
)
ASSESSMENT_TYPE_R1_TO_R2 = {
    "Short Term Assessment": "Short term assessment",
    "Long Term Support Assessment": "Long term assessment",
    "Carer Assessment": "Carer assessment",
    "Joint Carer Assessment": "Joint carer assessment",
}
ASSESSMENT_TYPE = frozenset(ASSESSMENT_TYPE_R1_TO_R2.values())
METHOD_OF_ASSESSMENT = frozenset({"Face to face", "Telephone", "Video", "Other"})
FUNDING_STATUS = frozenset({"Fully LA funded", "Joint funded", "Self-funded", "Unknown"})
ACCOMMODATION_SETTLED = frozenset(
    {"Owner occupier", "Tenant", "Tenant - private landlord", "Settled mainstream housing with family/friends",
     "Supported accommodation", "Shared Lives", "Approved premises", "Sheltered/extra care", "Traveller site"}
)
ACCOMMODATION_UNSETTLED = frozenset(
    {"Rough sleeper", "Night shelter", "Refuge", "Temporary accommodation", "Short-term guest with family/friends",
     "Acute/long-term healthcare facility", "Registered care home", "Registered nursing home", "Prison",
     "Other temporary", "Unknown"}
)
ACCOMMODATION_STATUS = ACCOMMODATION_SETTLED | ACCOMMODATION_UNSETTLED
EMPLOYMENT_STATUS = frozenset(
    {"Paid: less than 16 hours a week", "Paid: 16 or more hours a week", "Paid: hours unknown",
     "Not in paid employment: seeking work", "Not in paid employment: not seeking work or retired",
     "Not in paid employment: voluntary work only", "Unknown"}
)
YES_NO_UNKNOWN = frozenset({"Yes", "No", "Unknown"})
REVIEW_REASON = frozenset({"Planned", "Unplanned"})
COST_FREQUENCY = frozenset({"Hourly", "Daily", "Weekly", "Four-weekly", "Monthly", "Annually", "One-off"})

# dashes as systems export them: an en or em dash in an R1 label reads as the hyphen
_DASHES = ("\u2013", "\u2014")


def with_dash_variants(recode: dict[str, str]) -> dict[str, str]:
    """``recode`` plus the same keys written with an en or em dash wherever they hold `` - ``."""
    out = dict(recode)
    for key, value in recode.items():
        if " - " in key:
            out.update({key.replace(" - ", f" {dash} "): value for dash in _DASHES})
    return out


def r1_label(r2_label: str, r1_to_r2: dict[str, str]) -> str:
    """The Release 1 label written for a Release 2 ``r2_label`` (the first R1 label mapping to it; itself if none)."""
    for r1, r2 in r1_to_r2.items():
        if r2 == r2_label:
            return r1
    return r2_label
