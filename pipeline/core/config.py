"""Typed configuration: ``params.yaml`` loaded into pydantic models.

Each stage reads only its own section. Unknown or misspelt keys fail at load time with a
message naming the key, so a typo in a council's params file can never be silently ignored.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from pipeline.core.synth_params import Section, SynthParams  # the synth section (and every section's base)

# Model specs ship beside this package (models/specs/<name>.yaml). They are found by path: pipeline.core
# sits below models/ and must not import it; models.spec takes these from here.
MODEL_SPECS_DIR = Path(__file__).resolve().parents[2] / "models" / "specs"
MODEL_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# keys that were parameters once, and where their setting lives now (load_config names it rather than a misspelling)
MOVED_KEYS = {"evaluate.min_group_n": "published group tables blank groups smaller than the gate's min_group_size "
                                      "(ethics/thresholds.yaml, or the file govern.thresholds_file names)"}


def list_model_specs(specs_dir: Path | None = None) -> list[str]:
    """Names of every model spec under ``specs_dir`` (default ``models/specs``), sorted."""
    return sorted(p.stem for p in (specs_dir or MODEL_SPECS_DIR).glob("*.yaml"))



class PseudonymiseParams(Section):
    """Pseudonymisation (`riskpipe pseudonymise`). The key itself is never a parameter."""

    key_file: Path = Field(
        Path(".secrets/pseudo.key"),
        description="key file made by `riskpipe keygen`, relative to the project root; "
        "$RISKPIPE_PSEUDO_KEY takes precedence",
    )


class SparkParams(Section):
    """Splink on Spark (`link.backend: spark`; docs/spark.md). Ignored on DuckDB."""

    master: str | None = Field(
        None, description="Spark master, e.g. local[2]; None = the one spark-submit or the managed service gives, "
        "else local[*]"
    )
    shuffle_partitions: int = Field(8, gt=0, description="spark.sql.shuffle.partitions (about 2-3 x the cores)")
    driver_memory: str | None = Field(
        "2g", description="spark.driver.memory of a session riskpipe starts (None = Spark's default)"
    )
    work_dir: str = Field(
        "data/.spark", description="checkpoints and local spill, relative to the project root; on a cluster a "
        "shared URI (hdfs://, s3a://, dbfs:/)"
    )
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"] = Field("ERROR", description="Spark's own log level")


class LinkParams(Section):
    """Linkage into one person index (`riskpipe link`) and ad-hoc linkage (`riskpipe link-pair`)."""

    backend: Literal["duckdb", "spark"] = Field(
        "duckdb", description="Splink backend; spark needs `pip install riskpipe[spark]` and Java 17+"
    )
    spark: SparkParams = Field(default_factory=SparkParams, description="Spark session settings (backend: spark)")
    threshold_match_probability: float = Field(
        0.5, gt=0, lt=1, description="pairs scored at or above this are kept (review sample, report)"
    )
    cluster_threshold_match_probability: float = Field(
        0.95, gt=0, lt=1, description="probabilistic pairs at or above this join two records into one person"
    )
    max_records_per_person: dict[str, int] = Field(
        default_factory=dict,
        description="source -> most records of it one person may hold, overriding the source's declared "
        "max_records_per_person (pipeline/sources/<source>.py); links are taken strongest first and one that "
        "would exceed a limit is refused (siblings stay apart). Names must be person sources",
    )
    extract_date: date = Field(date(2026, 3, 31), description="age bands in the report are ages at this date")
    seed: int = Field(20260331, description="seed for u estimation by random sampling")
    u_max_pairs: float = Field(1e7, gt=0, description="random pairs sampled to estimate u-probabilities")
    em_max_pairs: float = Field(
        5e6, gt=0, description="most blocked pairs one EM session trains on (a seeded-hash sample beyond this)"
    )
    blocking_geography: Literal["postcode_district"] | None = Field(
        None, description="None = the county's prediction blocking rules; postcode_district = rules that also "
        "need the same district, so blocked pairs grow with the records at national scale "
        "(pipeline/linkage/model.py, docs/spark.md)",
    )
    duckdb_threads: int | None = Field(None, gt=0, description="DuckDB threads for Splink (None = all cores)")
    duckdb_memory_limit: str | None = Field(
        "3GB", description="DuckDB memory limit for Splink, e.g. 3GB; past it DuckDB spills to disk (None = 80% of RAM)"
    )
    prior_recall: float = Field(
        0.7, gt=0, le=1, description="assumed recall of exact-identifier rules, to estimate the match prior"
    )
    review_sample_size: int = Field(200, ge=0, description="pairs near the threshold in linkage_review.csv")
    review_band: tuple[float, float] = Field(
        (0.5, 0.99), description="match-probability band the clerical-review sample is drawn from"
    )
    pair_threshold_match_probability: float | None = Field(
        None, gt=0, lt=1, description="link-pair: default minimum match probability of a returned pair "
        "(None = the threshold with the best F1 the fitted model expects)",
    )


class IngestSource(Section):
    """Where one source's raw extracts are and which of its tables to ingest."""

    raw_dir: Path | None = Field(
        None, description="folder holding this source's extracts (relative to the project root); "
        "omitted = the source's declared default (pipeline/sources/<source>.py)"
    )
    tables: list[str] | None = Field(None, description="tables to ingest; omitted = all of the source's")
    files: dict[str, str] = Field(
        default_factory=dict, description="table -> file glob under raw_dir, replacing the default layout"
    )
    optional: bool = Field(False, description="its extracts may be absent this run (else no files = error)")
    optional_tables: list[str] = Field(default_factory=list, description="its tables whose files may be absent")


class IngestParams(Section):
    """`riskpipe ingest`: raw extracts to validated, typed tables in data/staged."""

    extract_date: date | None = Field(
        None, description="date the extracts were taken; later event dates are impossible (None = today)"
    )
    collection_year: int | None = Field(
        None, description="SSDA903/CIN year for files whose folder, name and content give none"
    )
    sources: dict[str, IngestSource] = Field(
        default_factory=dict,
        description="per source (by its registry name: school, nccis, social_care, health, reference …): "
        "raw folder, tables, file globs; a source not named here is ingested from its declared defaults",
    )


class GovernParams(Section):
    """The governance gate, sign-offs and model cards (`riskpipe govern`, `signoff`, `card`)."""

    checklist_file: Path | None = Field(None, description="checklist YAML; None = the packaged ethics/checklist.yaml")
    thresholds_file: Path | None = Field(
        None, description="pre-registered thresholds YAML; None = the packaged ethics/thresholds.yaml"
    )
    contexts_dir: Path | None = Field(None, description="per-model context YAMLs; None = packaged ethics/contexts")
    organisation: str | None = Field(None, description="the council, for the ATRS record")


class ScoreParams(Section):
    """Risk lists for early help teams (`riskpipe score`)."""

    draft_mode: bool = Field(
        False, description="with no approved version, issue DRAFT lists from the candidate (never operational)"
    )
    max_reasons: int = Field(3, ge=0, le=10, description="reasons per person, from LightGBM contributions")
    max_protective: int = Field(3, ge=0, le=10, description="protective factors per person")
    band_multiples: dict[str, float] = Field(
        default_factory=lambda: {"very high": 10.0, "high": 5.0, "raised": 2.0},
        description="band name -> minimum risk as a multiple of the test-year base rate",
    )


class FeaturesParams(Section):
    """`riskpipe features --model M`: cohorts, point-in-time features and outcomes per model spec."""

    extract_date: date = Field(
        date(2026, 3, 31), description="date the extracts were taken: outcome windows ending later are immature"
    )
    duckdb_threads: int | None = Field(None, gt=0, description="DuckDB threads (None = all cores)")
    duckdb_memory_limit: str | None = Field("4GB", description="DuckDB memory limit, e.g. 4GB (None = default)")
    leakage_sample_rows: int = Field(
        300, ge=0, description="rows rebuilt with every event on or after their index date deleted; their features "
        "must not change (features.leakage; 0 = no check, and the gate's leakage_guard cannot pass)")


class TrainParams(Section):
    """`riskpipe train --model M`: learners, calibration and MLflow logging (model settings live in the spec)."""

    lightgbm_threads: int | None = Field(None, gt=0, description="LightGBM threads (None = all cores)")
    calibration_folds: int = Field(5, ge=2, description="folds of the validation year used to choose the method")
    max_training_rows: int | None = Field(
        500_000, gt=0, description="the learners are fitted on a seeded sample of whole people when the training "
        "years hold more rows than this (models.training_sample; null = every row); the validation, "
        "test and score years are never sampled")


class EvaluateParams(Section):
    """`riskpipe evaluate --model M` and `riskpipe audit`: bootstrap, reliability bins, small-cell suppression.

    The smallest group published is not set here: it is the gate's ``min_group_size`` (the thresholds file,
    ``govern.thresholds_file``), so the published group tables and the gate's check of them cannot disagree.
    """

    n_boot: int = Field(1000, ge=0, description="bootstrap replicates for 95% percentile CIs (0 = no CIs; the "
                                                "gate needs them)")
    seed: int = Field(20260331, description="seed of the bootstrap")
    reliability_bins: int = Field(10, ge=2, description="equal-frequency bins of the reliability curve and ECE")
    min_group_positives: int = Field(5, ge=0, description="groups with fewer outcomes are suppressed")


class MonitorParams(Section):
    """`riskpipe monitor`: breaks in recording practice (each watched code's monthly rate, allowing for age)."""

    alpha: float = Field(1e-3, gt=0, lt=1, description="largest p-value reported as a break (family-wise per column)")
    min_ratio: float = Field(1.5, gt=1, description="smallest change in a code's rate, up or down, reported")
    min_coded: int = Field(20, ge=1, description="fewest expected coded rows in the shorter segment")
    min_segment: int = Field(6, ge=2, description="fewest months on each side of a break")
    min_rows: int = Field(200, ge=1, description="fewest rows a group needs over the whole series to be tested")


class ImpactParams(Section):
    """`riskpipe impact`: effects of offers and programmes, their costs and the impact cards (reports/impact/)."""

    horizons: list[int] = Field(default_factory=lambda: [12], description="follow-up windows in months after the "
                                "offer (or run) date; an outcome is counted only once its window has ended")
    outcomes: list[Literal["care_entry", "referral"]] = Field(
        default_factory=lambda: ["care_entry", "referral"],
        description="care_entry: a new period of care (SSDA903 RNE S); referral: a children's social care "
        "referral (CIN census referral date)")
    programmes: list[str] | None = Field(None, description="programmes to evaluate (programmes.csv); None = all")
    min_cell: int = Field(10, ge=1, description="cells (group counts, outcomes) below this are suppressed")
    n_boot: int = Field(200, ge=0, description="bootstrap replicates where an estimator needs them")
    folds: int = Field(5, ge=2, description="cross-fitting folds of the doubly robust (AIPW) estimator")
    trim: float = Field(0.01, ge=0, lt=0.5, description="propensities outside [trim, 1 - trim] are trimmed")
    seed: int = Field(20260331, description="seed of cross-fitting, bootstrap and placebo draws")


class Params(Section):
    """All of ``params.yaml``. Later stages add their sections here.

    ``models`` is the one list of the models the pipeline builds: dvc.yaml runs every per-model stage
    (features, train, evaluate, govern, card, score) once for each name (``foreach: ${models}``), and
    the benchmark and ``make demo`` read it too. Each name needs ``models/specs/<name>.yaml``.
    """

    models: list[str] = Field(default_factory=list, description="model spec names (models/specs/<name>.yaml)")
    synth: SynthParams = SynthParams()
    pseudonymise: PseudonymiseParams = PseudonymiseParams()
    link: LinkParams = LinkParams()
    ingest: IngestParams = IngestParams()
    features: FeaturesParams = FeaturesParams()
    govern: GovernParams = GovernParams()
    score: ScoreParams = ScoreParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    monitor: MonitorParams = MonitorParams()
    impact: ImpactParams = ImpactParams()

    @field_validator("models")
    @classmethod
    def _each_model_has_a_spec(cls, names: list[str]) -> list[str]:
        badly_named = [n for n in names if not re.match(MODEL_NAME_PATTERN, n)]
        if badly_named:
            raise ValueError(f"model names are lower-case letters, digits and _: {badly_named}")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"models listed more than once: {twice}")
        missing = [n for n in names if not (MODEL_SPECS_DIR / f"{n}.yaml").is_file()]
        if missing:
            known = ", ".join(list_model_specs()) or "none"
            raise ValueError(f"no model spec for {missing} (models/specs/<name>.yaml); known specs: {known}")
        return names


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
            if err["type"] == "extra_forbidden" and where in MOVED_KEYS:
                problems.append(f"'{where}' is no longer a parameter: {MOVED_KEYS[where]}")
            elif err["type"] == "extra_forbidden":
                problems.append(f"unknown key '{where}' (check the spelling against the documented keys)")
            else:
                problems.append(f"'{where}': {err['msg']}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None
