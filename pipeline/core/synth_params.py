"""The ``synth`` section of ``params.yaml``: the synthetic county and the faults that may be planted in it.

Split from :mod:`pipeline.core.config`, which re-exports every name here; only the synthetic county
(``riskpipe synth``, pipeline/synthetic) reads these.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """Base for every params section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasurementBias(Section):
    """Ways the recording of events differs by group at equal latent need (synthetic only).

    Multipliers are applied to the rate at which an event is *recorded*, not to the
    underlying need, so fairness audits downstream have a real bias to find.
    """

    referral_rate_by_ethnicity: dict[str, float] = Field(
        default_factory=lambda: {"Black": 1.35, "Mixed": 1.30, "Asian": 0.85}
    )
    referral_rate_most_deprived: float = Field(
        1.25, description="multiplier on referrals for households in IMD deciles 1-2"
    )
    nccis_not_known_by_ethnicity: dict[str, float] = Field(
        default_factory=lambda: {"Black": 1.8, "Other": 2.0, "Mixed": 1.4}
    )
    nccis_not_known_base: float = Field(0.025, ge=0, le=1)


class RecordingBreak(Section):
    """A planted change in recording practice (synthetic only; the monitor and the gate must find it).

    From ``start`` on, ``code`` in ``table.column`` is recorded ``factor`` times as often as it happens:
    0 = it stops being recorded (those rows get ``recorded_as`` instead), 2 = other rows of the table are
    recorded as it, so it appears twice as often (the Hackney FGM lesson).
    """

    table: str = Field(description="staged table name, e.g. ae_attendance")
    column: str = Field(description="staged column name, e.g. diagnosis")
    code: str = Field(description="the code, or its prefix (T74 matches T741)")
    start: date
    factor: float = Field(ge=0)
    recorded_as: str = Field("", description="what the code is recorded as once it stops (factor 0)")


class IdentifierNoise(Section):
    """Error rates for identifiers recorded by each source (DOMAIN.md 'Linkage realities')."""

    name_typo: float = Field(0.03, ge=0, le=1)
    forename_variant: float = Field(0.04, ge=0, le=1, description="nickname or transliteration")
    surname_change: float = Field(0.03, ge=0, le=1, description="hyphenated or changed surname")
    dob_day_month_swap: float = Field(0.01, ge=0, le=1)
    dob_typo: float = Field(0.01, ge=0, le=1, description="one day or one year off")
    postcode_lag: float = Field(0.25, ge=0, le=1, description="record keeps the previous postcode")
    nhs_missing_social_care: float = Field(0.20, ge=0, le=1)
    nhs_missing_hes: float = Field(0.01, ge=0, le=1)
    upn_missing_social_care: float = Field(0.12, ge=0, le=1, description="UN1-UN7 recorded instead")
    temporary_upn: float = Field(0.02, ge=0, le=1)
    # wider error patterns (issue 15), off by default so the demo county's records stay as they were; drawn from
    # their own random stream, so switching them on changes no other error
    names_swapped: float = Field(0.0, ge=0, le=1, description="forename and surname recorded the other way round")
    forename_missing: float = Field(0.0, ge=0, le=1, description="forename left blank")
    dob_part_missing: float = Field(0.0, ge=0, le=1, description="day (or day and month) of birth unknown, "
                                    "recorded as the 1st (or 1 January)")
    dob_missing: float = Field(0.0, ge=0, le=1, description="date of birth left blank (ingest quarantines the row)")
    ocr_error: float = Field(0.0, ge=0, le=1, description="a name's letter read as a look-alike (rn/m, cl/d, h/b)")
    phonetic_respelling: float = Field(0.0, ge=0, le=1, description="a name spelt as it sounds (ph/f, ee/ea, ie/y)")
    postcode_missing: float = Field(0.0, ge=0, le=1, description="postcode left blank")
    postcode_partial: float = Field(0.0, ge=0, le=1, description="postcode recorded by its outward code only")
    minority_extra_error: float = Field(
        1.8, ge=1, description="multiplier on name errors for ethnic-minority children"
    )
    extra_error_by_ethnicity: dict[str, float] = Field(
        default_factory=dict, description="fault injection: multiplier on one ethnicity group's name errors and "
        "on its social-care records' missing NHS numbers and UPNs, e.g. {Black: 6.0} (a linkage failure in one group)"
    )


class RiskDecay(Section):
    """Fault injection: from ``from_year`` on, NEET-by-18 risk depends on a child's circumstances only ``strength``
    times as much as before, at about the same average risk (the model's relationships decay out of time)."""

    from_year: int | None = Field(None, description="first Year 9 census year affected; None = no decay")
    strength: float = Field(1.0, ge=0, le=1, description="0 = risk no longer depends on the child; 1 = unchanged")


class AdultsParams(Section):
    """The whole population (issue #17): adults, older people, carers and households next to the children.

    Off by default: the children's extracts are byte-identical either way (the adults draw from their
    own random stream). Rates are the DOMAIN_ADULTS.md §3 bands the simulation is calibrated to.
    """

    enabled: bool = Field(False, description="simulate adults and write their truth and extracts")
    population: int = Field(
        0, ge=0, description="everyone resident at the reference date; 0 = sized so 0-17s are ~21% (England)"
    )
    start_year: int = Field(2013, description="first financial year simulated (2013 = from 1 April 2012)")
    emergency_per_1000: dict[str, float] = Field(
        default_factory=lambda: {"18-44": 62.0, "45-64": 85.0, "65-74": 150.0, "75-84": 280.0, "85+": 500.0},
        description="emergency admissions per 1,000 person-years by age band (S33-S36)",
    )
    persistent_shape: float = Field(2.0, gt=0, description="gamma shape of each person's lasting admission risk")
    transient_shape: float = Field(0.8, gt=0, description="gamma shape of each year's passing shock")
    care_home_entry_65: float = Field(
        0.0095, ge=0, le=1, description="permanent care-home entries per person 65+ per year, all tenures"
    )
    care_home_entry_18_64: float = Field(0.000149, ge=0, le=1, description="the same for ages 18-64")
    self_funder_share_65: float = Field(0.40, ge=0, le=1, description="65+ who would pay for their own care")
    learning_disability_rate: float = Field(0.026, ge=0, le=1, description="true LD prevalence (all ages)")
    ld_on_gp_register: float = Field(0.36, ge=0, le=1, description="share of people with LD a GP codes")
    ld_with_older_parents_per_100k: float = Field(
        52.0, ge=0, description="adults with LD living with a parent aged 70+ (Mencap: 29,000 in England)"
    )
    asc_requests_65: float = Field(0.09, ge=0, le=1, description="people 65+ with a request for support per year")
    asc_requests_18_64: float = Field(0.012, ge=0, le=1, description="the same for ages 18-64")
    outpatients_per_year: float = Field(1.2, ge=0, description="outpatient appointments per adult-year (age 50)")

    @field_validator("emergency_per_1000")
    @classmethod
    def _every_band(cls, value: dict[str, float]) -> dict[str, float]:
        bands = {"18-44", "45-64", "65-74", "75-84", "85+"}
        if set(value) != bands or any(v < 0 for v in value.values()):
            raise ValueError(f"emergency_per_1000 needs a rate >= 0 for exactly the bands {sorted(bands)}")
        return value


class KeyWorkerParams(Section):
    """The family key-worker programme (kind area): rolled out ward by ward in waves, some wards never."""

    waves: list[date] = Field(
        default_factory=lambda: [date(2023, 7, 1), date(2024, 4, 1), date(2025, 1, 1)],
        description="go-live date of each wave (first day of a quarter)",
    )
    wards_per_wave: int = Field(5, ge=1, description="wards that go live in each wave; the rest never do")
    max_effect: float = Field(0.30, ge=0, lt=1, description="relative reduction of referrals once fully running")
    ramp_quarters: int = Field(6, ge=1, description="quarters from go-live until the effect is full (linear)")


class PilotParams(Section):
    """A one-ward pilot of the same kind of programme, with a long pre-period (for synthetic control)."""

    go_live: date = Field(date(2024, 4, 1), description="first day of a quarter")
    effect: float = Field(0.50, ge=0, lt=1, description="relative reduction of referrals in the pilot ward")
    ramp_quarters: int = Field(2, ge=1, description="quarters from go-live until the effect is full")


class HelpRecordingBreak(Section):
    """A recording change with no real change: from ``start`` one ward records a CIN assessment factor about
    ``factor`` times as often as the county does (the Hackney FGM lesson); ``recording_regime.csv`` lists it."""

    start: date = Field(date(2023, 10, 1), description="first day recorded the new way")
    code: str = Field("3B", description="CIN assessment factor code (3B: domestic violence, parent/carer)")
    factor: float = Field(2.0, ge=1, description="how many times as often the factor is recorded (1 = no break)")


class HelpParams(Section):
    """The help the synthetic county gives (issue #19): monthly lists, an early-help offer, area programmes.

    Off by default, so a county built without it is byte-identical to one built before it existed (help
    draws only from its own random stream). Effects are relative reductions for the children they reach;
    the realised truth is written to data/truth/help/.
    """

    enabled: bool = Field(False, description="run lists, offers and programmes, and write their records")
    years: int = Field(3, ge=1, le=10, description="years of monthly list runs before the reference date")
    capacity_per_1000: float = Field(3.0, gt=0, description="children listed per monthly run per 1,000 children")
    score_correlation: float = Field(
        0.75, gt=0, le=1, description="correlation of the council's score (log-odds) with the true care-entry "
        "log-odds (which hold the confounder the score cannot see)"
    )
    override_share: float = Field(0.10, ge=0, lt=1, description="listed children not offered; as many offered "
                                  "from just below the cut")
    outside_list_share: float = Field(0.30, ge=0, description="professional and self referrals per run, as a "
                                      "share of capacity")
    acceptance: float = Field(0.60, gt=0, lt=1, description="share accepting an offer (at confounder u = 0)")
    effect_care: float = Field(0.50, ge=0, le=1, description="relative reduction of care entry within 12 months "
                               "of the offer, for those who accept")
    effect_referral: float = Field(0.60, ge=0, le=1, description="relative reduction of social-care referral "
                                   "within 12 months of the offer, for those who accept")
    confounder_strength: float = Field(
        0.5, ge=0, description="unobserved u ~ N(0,1): adds this times u to the log-odds of care entry and to the "
        "log of the referral rate, and takes it from the log-odds of accepting (0 = no confounding)"
    )
    wards: int = Field(24, ge=8, description="wards (groups of LSOAs): the area unit of programmes; at least the "
                       "waves' wards, the pilot and two never-treated")
    key_worker: KeyWorkerParams = KeyWorkerParams()
    pilot: PilotParams = PilotParams()
    recording_break: HelpRecordingBreak = HelpRecordingBreak()


class SynthParams(Section):
    """The synthetic county (`riskpipe synth`)."""

    seed: int = 20260331
    children: int = Field(30_000, gt=0)
    reference_date: date = date(2026, 3, 31)
    first_birth: date = date(2000, 9, 1)
    last_birth: date = date(2024, 8, 31)
    first_census_year: int = Field(2010, description="first spring school census exported")
    first_social_care_year: int = Field(2012, description="first SSDA903/CIN collection year exported")
    leave_county_rate: float = Field(0.012, ge=0, le=1, description="yearly chance a household moves away")
    move_within_rate: float = Field(0.08, ge=0, le=1, description="yearly chance a household moves within")
    neighbourhoods: int = Field(0, ge=0, description="number of LSOAs; 0 = one per ~150 children")
    measurement_bias: MeasurementBias = MeasurementBias()
    identifier_noise: IdentifierNoise = IdentifierNoise()
    recording_breaks: list[RecordingBreak] = Field(default_factory=list, description="planted recording changes")
    risk_decay: RiskDecay = RiskDecay()
    adults: AdultsParams = AdultsParams()
    help: HelpParams = HelpParams()
