"""Family features for the children's models: what services recorded about a child's parents and siblings.

Essex's NEET model lacked parents' histories and whether a sibling was a teenage parent; the adults'
records of the whole-population county and the family links of the link stage
(``data/linked/family_links.parquet``: ``parent_of`` and ``sibling_of`` from children's social care
relationship records, :mod:`pipeline.linkage.family_relations`) supply them.

Scoring a child on a parent's records is a decision the IG board takes explicitly (``ethics/checklist.yaml``
item ``family_records``), so the features exist for a model only when its spec opts in, per relation:
``features.family: [parent, sibling]`` (default none: a spec without it builds exactly what it built before).

Point in time: a relative's event reaches the child's history on the later of its own date and the date the
link was recorded (the council could not connect the two before then), as an event of the ``family`` domain
keyed by the child; the usual join then counts only those strictly before the index date, and the leakage
perturbation cuts this domain like every other.

On a list, an adult's special-category data is never shown: the specific features (a parent's emergency
attendances, mental health, adult social care; a sibling's pregnancy) are ``show_on_list=False``, and the
two that may be shown read only "family circumstances known to services" (``features.wording.family_wording``),
which discloses no condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from features.feature import Feature
from features.person_lookup import keyed_by_person
from pipeline.sources.codes import ECDS_INJURY_INTENT

FAMILY_GROUP = FAMILY_DOMAIN = "family"
RELATIONS = ("parent", "sibling")
# ECDS SNOMED CT diagnoses of an attendance for self-harm or for alcohol or drug misuse (DOMAIN_ADULTS §2.3)
SELF_HARM_DIAGNOSES = frozenset({"82313006"})
SUBSTANCE_DIAGNOSES = frozenset({"25702006", "66590003"})
# GP SNOMED CT: depressive disorder, schizophrenia (serious mental illness register)
MENTAL_HEALTH_GP_CODES = frozenset({"35489007", "58214004"})
MENTAL_HEALTH_SUPPORT = "Mental health support"  # CLD Primary_Support_Reason (R2 wording)
TEENAGE_MOTHER_MAX_AGE = 19  # a sibling's delivery before 20: a teenage parent (conception data are not held)
FAMILY_EVENT_COLUMNS = ("person_id", "event_date", "relation", "kind")
ED_KINDS = ("ed_assault", "ed_self_harm", "ed_substance")


def _flag(name: str, relation: str, kinds: Sequence[str], description: str, *, shown: bool = False) -> Feature:
    where = " OR ".join(f"e.kind = '{k}'" for k in kinds)
    return Feature(name, description, "family links", "ever", "binary", "model", FAMILY_GROUP, FAMILY_DOMAIN,
                   f"CAST(bool_or(e.relation = '{relation}' AND ({where})) AS INTEGER)", 0, show_on_list=shown)


PARENT_KINDS = (*ED_KINDS, "mental_health", "adult_social_care")
FEATURES: tuple[Feature, ...] = (
    _flag("family_parent_ed_assault_ever", "parent", ["ed_assault"],
          "A parent attended an emergency department after an assault"),
    _flag("family_parent_ed_self_harm_ever", "parent", ["ed_self_harm"],
          "A parent attended an emergency department after self-harm"),
    _flag("family_parent_ed_substance_ever", "parent", ["ed_substance"],
          "A parent attended an emergency department with alcohol or drug misuse"),
    Feature("family_parent_ed_harm_36m", "A parent's emergency attendances for assault, self-harm or alcohol or "
            "drug misuse in the last 3 years", "family links", "36m", "numeric", "model", FAMILY_GROUP, FAMILY_DOMAIN,
            "count(*) FILTER (WHERE e.relation = 'parent' AND e.kind IN ('ed_assault', 'ed_self_harm', "
            "'ed_substance') AND e.event_date >= c.index_date - INTERVAL 36 MONTH)", 0, show_on_list=False),
    _flag("family_parent_mental_health_ever", "parent", ["mental_health"],
          "A parent's GP or adult social care records show mental-health treatment or support"),
    _flag("family_parent_adult_social_care_ever", "parent", ["adult_social_care"],
          "A parent is known to adult social care"),
    _flag("family_parent_known_ever", "parent", PARENT_KINDS,
          "Any of the parent facts above (shown on lists only as family circumstances known to services)", shown=True),
    _flag("family_sibling_looked_after_ever", "sibling", ["looked_after"],
          "A brother or sister has been looked after by the council", shown=True),
    _flag("family_sibling_teen_parent_ever", "sibling", ["teen_parent"],
          "A sister gave birth before the age of 20 (hospital delivery record)"),
)
RELATION_OF = {f.name: f.name.split("_")[1] for f in FEATURES}


def family_feature_names(relations: Sequence[str]) -> list[str]:
    """The family features of the relations a spec opts into (``features.family``), in declaration order."""
    return [f.name for f in FEATURES if RELATION_OF[f.name] in relations]


def relative_events(ecds: pd.DataFrame, cld: pd.DataFrame, gp: pd.DataFrame, care: pd.DataFrame,
                    deliveries: pd.DataFrame) -> pd.DataFrame:
    """The dated facts about any person that a family feature can use: ``person_id, event_date, kind``.

    Args:
        ecds: linked ``ecds_attendance`` (``person_id``, ``arrival_date``, ``injury_intent``, ``diagnoses``:
            comma-joined SNOMED CT codes).
        cld: linked ``cld_event`` (``person_id``, ``event_start``, ``primary_support_reason``): any row is
            contact with adult social care; a mental-health support reason is also mental-health support.
        gp: linked ``gp_event`` (``person_id``, ``event_date``, ``snomed``).
        care: the ``care`` event frame (``person_id``, ``event_date``: a looked-after episode starts).
        deliveries: ``person_id``, ``event_date``, ``age_years`` of admissions with a delivery diagnosis.
    """
    codes = ecds["diagnoses"].fillna("").astype("str").str.split(",")
    intent = ecds["injury_intent"].astype("string")
    def coded(wanted: frozenset[str]) -> pd.Series:
        return codes.map(lambda c: bool(wanted.intersection(c))).astype(bool)

    def intent_is(kind: str) -> pd.Series:
        return intent.eq(ECDS_INJURY_INTENT[kind]).fillna(False).astype(bool)

    kinds = {"ed_assault": intent_is("assault"), "ed_self_harm": intent_is("self_harm") | coded(SELF_HARM_DIAGNOSES),
             "ed_substance": coded(SUBSTANCE_DIAGNOSES)}
    parts = [pd.DataFrame({"person_id": ecds.loc[hit, "person_id"], "event_date": ecds.loc[hit, "arrival_date"],
                           "kind": kind}) for kind, hit in kinds.items()]
    parts.append(pd.DataFrame({"person_id": cld["person_id"], "event_date": cld["event_start"],
                               "kind": "adult_social_care"}))
    mh_cld = cld["primary_support_reason"].astype("string").str.lower().eq(MENTAL_HEALTH_SUPPORT.lower()).fillna(False)
    mh_gp = gp["snomed"].astype("string").isin(MENTAL_HEALTH_GP_CODES).fillna(False)
    parts += [pd.DataFrame({"person_id": cld.loc[mh_cld, "person_id"], "event_date": cld.loc[mh_cld, "event_start"],
                            "kind": "mental_health"}),
              pd.DataFrame({"person_id": gp.loc[mh_gp, "person_id"], "event_date": gp.loc[mh_gp, "event_date"],
                            "kind": "mental_health"}),
              pd.DataFrame({"person_id": care["person_id"], "event_date": care["event_date"], "kind": "looked_after"})]
    young = deliveries[deliveries["age_years"] <= TEENAGE_MOTHER_MAX_AGE]
    parts.append(pd.DataFrame({"person_id": young["person_id"], "event_date": young["event_date"],
                               "kind": "teen_parent"}))
    out = pd.concat(parts, ignore_index=True).dropna(subset=["person_id", "event_date"])
    out = out.assign(person_id=out["person_id"].astype("str"), event_date=pd.to_datetime(out["event_date"]))
    return out.drop_duplicates(ignore_index=True)


def family_events(relatives: pd.DataFrame, links: pd.DataFrame, relations: Sequence[str]) -> pd.DataFrame:
    """The ``family`` event frame: each relative's facts as events of the child (``FAMILY_EVENT_COLUMNS``).

    Args:
        relatives: :func:`relative_events`.
        links: ``data/linked/family_links.parquet`` (``person_id_a``, ``person_id_b``, ``relation``,
            ``first_seen``): ``parent_of`` (a = parent, b = child) and ``sibling_of`` (either way round).
        relations: the relations wanted (``RELATIONS``).

    Returns:
        ``person_id`` (the child), ``event_date`` (the later of the fact's date and the link's ``first_seen``),
        ``relation`` (parent | sibling), ``kind``.
    """
    pairs = []
    if "parent" in relations:
        parent = links[links["relation"] == "parent_of"]
        pairs.append(pd.DataFrame({"relative": parent["person_id_a"], "child": parent["person_id_b"],
                                   "known": parent["first_seen"], "relation": "parent"}))
    if "sibling" in relations:
        sib = links[links["relation"] == "sibling_of"]
        for one, other in (("person_id_a", "person_id_b"), ("person_id_b", "person_id_a")):
            pairs.append(pd.DataFrame({"relative": sib[one], "child": sib[other], "known": sib["first_seen"],
                                       "relation": "sibling"}))
    if not pairs:
        return empty_family_events()
    pairs = pd.concat(pairs, ignore_index=True).astype({"relative": "str", "child": "str"})
    wanted = {"parent": PARENT_KINDS, "sibling": ("looked_after", "teen_parent")}
    joined = pairs.merge(relatives, left_on="relative", right_on="person_id")
    joined = joined[pd.Series([k in wanted[r] for r, k in zip(joined["relation"], joined["kind"], strict=True)],
                              index=joined.index, dtype=bool)]
    known = pd.to_datetime(joined["known"]).astype("datetime64[ns]")
    when = pd.to_datetime(joined["event_date"]).astype("datetime64[ns]")
    when = when.where(known.isna() | (when >= known), known)  # not the child's history before the link existed
    out = pd.DataFrame({"person_id": joined["child"].to_numpy(), "event_date": when.to_numpy(),
                        "relation": joined["relation"].to_numpy(), "kind": joined["kind"].to_numpy()})
    return out.reset_index(drop=True)


def empty_family_events() -> pd.DataFrame:
    """A ``family`` event frame with no events."""
    return pd.DataFrame({"person_id": pd.Series([], dtype="str"), "event_date": pd.Series([], dtype="datetime64[ns]"),
                         "relation": pd.Series([], dtype="str"), "kind": pd.Series([], dtype="str")})


def with_family(events: Mapping[str, pd.DataFrame], family: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """``events`` with the ``family`` domain (empty when ``family`` is None), given the frames' ``person_key``."""
    out = dict(events)
    frame = empty_family_events() if family is None else family
    out[FAMILY_DOMAIN] = keyed_by_person(frame, events["person"]["person_id"])
    return out


# ICD-10 primary diagnoses of a delivery: O80-O84 (delivery), Z37 (outcome of delivery)
DELIVERY_PREFIXES = ("O80", "O81", "O82", "O83", "O84", "Z37")


def deliveries(admissions: pd.DataFrame, person: pd.DataFrame) -> pd.DataFrame:
    """Admissions for a delivery with the mother's age: ``person_id, event_date, age_years``.

    Args:
        admissions: linked ``hes_admission`` (``person_id``, ``admission_date``, ``diag_01``).
        person: the ``person`` event frame (``person_id``, ``birth_year``, ``birth_month``).
    """
    hit = admissions["diag_01"].astype("string").str.upper().str.startswith(DELIVERY_PREFIXES).fillna(False)
    rows = admissions.loc[hit, ["person_id", "admission_date"]].astype({"person_id": "str"})
    born = person[["person_id", "birth_year", "birth_month"]].astype({"person_id": "str"})
    rows = rows.merge(born, on="person_id", how="inner")
    when = pd.to_datetime(rows["admission_date"])
    months = (when.dt.year - rows["birth_year"]) * 12 + (when.dt.month - rows["birth_month"])
    return pd.DataFrame({"person_id": rows["person_id"], "event_date": when, "age_years": months // 12})
