"""The ``synth`` section of ``params.yaml``: the synthetic county and the faults that may be planted in it.

Split from :mod:`pipeline.core.config`, which re-exports every name here; only the synthetic county
(``riskpipe synth``, pipeline/synthetic) reads these.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


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
