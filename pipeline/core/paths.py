"""Every data, report and output location riskpipe uses, in one place.

Paths are relative to the project root (the directory holding ``params.yaml``) unless
a caller passes another root, so that tests can run the pipeline in a temporary folder.

The ledger (the sign-off and list-issue logs, their anchors and key) lies at fixed places, never
parameters: a release path whose record could be pointed at another file could be bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """Locations of the pipeline's inputs and outputs under one project root."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def truth(self) -> Path:
        return self.data / "truth"

    @property
    def staged(self) -> Path:
        return self.data / "staged"

    @property
    def quarantine(self) -> Path:
        return self.data / "quarantine"

    @property
    def pseudo(self) -> Path:
        return self.data / "pseudo"

    @property
    def linked(self) -> Path:
        return self.data / "linked"

    @property
    def features(self) -> Path:
        return self.data / "features"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def secrets(self) -> Path:
        return self.root / ".secrets"

    @property
    def signoff_log(self) -> Path:
        """ethics/signoffs.jsonl: the keyed hash chain of human sign-offs (committed with the code)."""
        return self.root / "ethics" / "signoffs.jsonl"

    @property
    def audit_log(self) -> Path:
        """outputs/audit.jsonl: the keyed hash chain of every risk list issued."""
        return self.outputs / "audit.jsonl"

    @property
    def ledger_key(self) -> Path:
        """.secrets/ledger.key: the HMAC key of both logs (``riskpipe keygen --ledger``; $RISKPIPE_LEDGER_KEY wins)."""
        return self.secrets / "ledger.key"

    @property
    def ledger_anchors(self) -> Path:
        """reports/ledger/: one ``<log>.anchor.json`` per log (entry count and head hash), beside the lineage."""
        return self.reports / "ledger"

    def ledger_anchor(self, log_name: str) -> Path:
        return self.ledger_anchors / f"{log_name}.anchor.json"

    def staged_table(self, table: str) -> Path:
        return self.staged / f"{table}.parquet"

    def quarantine_table(self, table: str) -> Path:
        return self.quarantine / f"{table}.csv"

    def pseudo_table(self, table: str) -> Path:
        return self.pseudo / f"{table}.parquet"

    @property
    def person_index(self) -> Path:
        return self.linked / "person_index.parquet"

    @property
    def splink_model(self) -> Path:
        return self.linked / "splink_model.json"

    def model_reports(self, model: str) -> Path:
        return self.reports / model

    def features_table(self, model: str) -> Path:
        """data/features/<model>.parquet: one row per person x index date (the features stage's output)."""
        return self.features / f"{model}.parquet"

    def model_artifacts(self, model: str) -> Path:
        """data/models/<model>/: scores.parquet, run.json and train_summary.json (the train stage's outputs)."""
        return self.data / "models" / model


def project_paths(root: Path | str = ".") -> ProjectPaths:
    """Return the paths for a project rooted at ``root``."""
    return ProjectPaths(Path(root))
