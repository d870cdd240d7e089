"""Synthetic adults: the TRUE lives of the county's whole population (issue #17).

The simulation (people and households, health, social care, care homes and deaths, caring) produces
an :class:`AdultLives`: pandas frames of what really happened, before any recording. The exporters
(``pipeline/synthetic/export_adult_health*.py``, ``export_adult_social_care*.py``) turn them into files in
real formats with recording noise. Dates are datetime64; ids int64; codes str. ``person_id`` values
of children and parents are those of the existing county (``data/truth/people.parquet``); new adults
get ids above them.

Built by ``lives.simulate_adults`` (people.py, health.py, hospital.py, emergency_care.py, care_homes.py,
social_care.py, caring.py, adversity.py, places.py; the year loop in simulate.py); ``rates.py`` measures
the base rates; ``county.py`` wires it into the county. ``people.arrive_date`` is when someone came to
live here (up to 40 years before 2012 for those already here then); people who arrive after the
reference date are listed but have no address, registration or event.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd


@dataclass(frozen=True)
class AdultLives:
    """The whole population's true event tables (one DataFrame per field).

    Attributes:
        people: person_id, household_id, role (mother | father | adult | older | child), dob,
            sex (F/M), ethnicity (the county's ethnicity code), ethnicity_group, forename, surname,
            nhs_number (10-digit str), arrive_date, leave_date (NaT = stays), death_date (NaT = alive
            at the reference date), death_cause_icd10, death_place (home | hospital | care_home |
            hospice), learning_disability (bool), gp_practice (e.g. "M85001"), lsoa_code, imd_decile,
            self_funder (bool: would pay for own care).
        addresses: person_id, uprn (12-digit str), postcode, lsoa_code, start, end (NaT = current).
            Moves included; everyone in a household shares the uprn while together.
        gp_registrations: person_id, gp_practice, start, end (NaT = current; ends at death or leaving).
        gp_events: person_id, date, snomed (str), value (float or NaN), unit (str or ""), concept
            (short internal name, e.g. "dementia", "ld", "carer", "care_home_resident",
            "efi_deficit:falls", "copd").
        medications: person_id, date, bnf_code (str, BNF chapter.section...), quantity (int),
            repeat (bool).
        admissions: one row per hospital SPELL: person_id, spell_id (int64), admission_date,
            discharge_date, admission_method (HES ADMIMETH: "21","22",... emergency; "11","12","13"
            elective; "31" maternity), admission_source (ADMISORC: "19" usual residence,
            "54"/"65"/"85" care home...), discharge_method ("1" discharged, "4" died),
            discharge_destination (DISDEST: "19","54","65","85","79" died...), diagnoses (tuple of
            ICD-10 codes, first = primary), n_episodes (>=1 consultant episodes in the spell),
            via_ed_attendance_id (attendance_id or -1).
        attendances: emergency department: person_id, attendance_id (int64), arrival_date,
            department_type ("01".."04"), attendance_category ("1" first unplanned, "4" planned
            follow-up), arrival_mode ("ambulance" | "own" | "police"), acuity ("immediate" |
            "very_urgent" | "urgent" | "standard" | "low"), chief_complaint (SNOMED str),
            injury_intent ("" | "assault" | "self_harm" | "accident"), diagnosis_snomed (str),
            substance_involved (bool), discharge ("home" | "residential_home" | "nursing_home" |
            "admitted" | "died" | "transfer"), departure_date.
        outpatients: person_id, appointment_date, attended (bool), first_attendance (bool),
            specialty (TRETSPEF str).
        care_home_entries: person_id, entry_date, setting ("residential" | "nursing"), funding
            ("council" | "self"), permanent (bool), route ("community" | "hospital_discharge").
        asc_events: adult social care TRUE events, council-funded only (self-funders never appear):
            person_id, event_id (int64), event_type ("Request" | "Assessment" | "Service" |
            "Review"), start, end (NaT = open service), client_type ("Service user" | "Carer"),
            primary_support_reason (DOMAIN_ADULTS §2.1 label), route_of_access, assessment_type,
            service_type (CLD Service_Type label, e.g. "Long Term Support: Residential"),
            service_component, delivery_mechanism, unit_cost (float), planned_units_per_week,
            outcome (Event_Outcome label), review_reason, hours_caring (carers), linked_person_id
            (the cared-for person for a Carer event, else -1).
        caring: carer_id, cared_for_id, start, end (NaT = ongoing), hours_per_week, relationship
            ("parent" | "spouse" | "child" | "other").
        adversity: person_id (parent), kind ("domestic_abuse" | "substance_misuse" |
            "mental_health"), start, end: the parents' adversity that drives their children's needs
            (from the household latents), now also a cause of their OWN records.
    """

    people: pd.DataFrame
    addresses: pd.DataFrame
    gp_registrations: pd.DataFrame
    gp_events: pd.DataFrame
    medications: pd.DataFrame
    admissions: pd.DataFrame
    attendances: pd.DataFrame
    outpatients: pd.DataFrame
    care_home_entries: pd.DataFrame
    asc_events: pd.DataFrame
    caring: pd.DataFrame
    adversity: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return every table by field name (e.g. to write them as ``truth/adults_<name>.parquet``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


__all__ = ["AdultLives"]
