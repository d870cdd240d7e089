"""Typed configuration: ``params.yaml`` loaded into pydantic models.

Each stage reads only its own section. Unknown or misspelt keys fail at load time with a
message naming the key, so a typo in a council's params file can never be silently ignored.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


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


class Params(Section):
    """All of ``params.yaml``. Later stages add their sections here."""

    synth: SynthParams = SynthParams()


class ConfigError(ValueError):
    """params.yaml could not be loaded; the message says which key and why."""


def load_params(path: Path | str = "params.yaml") -> Params:
    """Load and validate ``params.yaml``.

    Raises:
        ConfigError: the file is missing, is not YAML, or has an unknown/invalid key.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: parameters file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown key '{where}' (check the spelling against the documented keys)")
            else:
                problems.append(f"'{where}': {err['msg']}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None
