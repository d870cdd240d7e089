"""Every data, report and output location riskpipe uses, in one place.

Paths are relative to the project root (the directory holding ``params.yaml``) unless
a caller passes another root, so that tests can run the pipeline in a temporary folder.

The ledger (the sign-off and list-issue logs, their anchors and key) lies at fixed places, never
parameters: a release path whose record could be pointed at another file could be bypassed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml


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
        """ethics/ledger/signoffs.jsonl: the keyed chain of human sign-offs (an installation record, not in git)."""
        return self.root / "ethics" / "ledger" / "signoffs.jsonl"

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
    def pseudo_key_record(self) -> Path:
        """data/pseudo_key.json: the fingerprint of the key data/pseudo was made with (written by pseudonymise)."""
        return self.data / "pseudo_key.json"

    @property
    def key_in_use(self) -> Path:
        """data/key_in_use.json: the current key's fingerprint (the ``key`` stage, re-run on every ``dvc repro``)."""
        return self.data / "key_in_use.json"

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

    def features_as_of_table(self, model: str) -> Path:
        """data/features_as_of/<model>.parquet: the test year's rows built over the person index as it stood on
        the test index date (``riskpipe features --as-of-test``), labelled with the full build's outcome."""
        return self.data / "features_as_of" / f"{model}.parquet"

    def model_artifacts(self, model: str) -> Path:
        """data/models/<model>/: scores.parquet, run.json and train_summary.json (the train stage's outputs)."""
        return self.data / "models" / model


def project_paths(root: Path | str = ".") -> ProjectPaths:
    """Return the paths for a project rooted at ``root``."""
    return ProjectPaths(Path(root))


# Which command makes each output, as (pattern on the path relative to the root, command). The first
# match wins; ``{m}`` in the command is the model named by the path.
_PRODUCERS: tuple[tuple[str, str], ...] = (
    (r"data/(raw|truth)(/.*)?", "synth"),  # or a council's own extracts copied into data/raw/
    (r"data/(staged|quarantine)(/.*)?|reports/ingest\.(json|md)", "ingest"),
    (r"data/pseudo(/.*)?|data/pseudo_key\.json|reports/pseudonymise\.json", "pseudonymise"),
    (r"data/key_in_use\.json", "key-fingerprint"),
    (r"data/linked(/.*)?|reports/linkage(\.json|\.md|_review\.csv)", "link"),
    (r"data/features/(?P<m>[^/]+)\.parquet|reports/(?P<m2>[^/]+)/features\.json", "features --model {m}"),
    (r"data/models/(?P<m>[^/]+)(/.*)?", "train --model {m}"),
    (r"reports/(?P<m>[^/]+)/(metrics\.json|group_metrics\.csv|calibration\.csv|roc\.csv|plots(/.*)?)",
     "evaluate --model {m}"),
    (r"reports/(?P<m>[^/]+)/(governance|release)\.json", "govern --model {m}"),
    (r"reports/(?P<m>[^/]+)/(model_card\.(html|md)|atrs\.json)", "card --model {m}"),
    (r"\.secrets/pseudo\.key", "keygen"),
    (r"\.secrets/ledger\.key", "keygen --ledger"),
)


def producing_command(path: Path | str, root: Path | str = ".") -> str | None:
    """The ``riskpipe`` command that writes ``path`` (``link``, ``train --model neet18``), or None if none does."""
    try:
        relative = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        relative = Path(path).as_posix()
    for pattern, command in _PRODUCERS:
        # anchored at a path component: a root other than ``root`` still names data/models/<model>/run.json
        found = re.search(rf"(?:^|/)(?:{pattern})$", relative)
        if found:
            model = next((v for k, v in found.groupdict().items() if v), "<model>")
            return command.format(m=model)
    return None


class StageInputMissing(FileNotFoundError):
    """A stage's input is not there; the message says which command makes it."""


class ConfiguredFileMissing(FileNotFoundError):
    """A file params.yaml names (checklist, thresholds, contexts folder) is not there; the message names the key."""


def missing_input_message(path: Path | str, root: Path | str = ".") -> str:
    """``<path> not found: run `riskpipe <command>` first`` (or a plain "not found" for a file no stage makes)."""
    command = producing_command(path, root)
    if command is None:
        return f"{path} not found"
    if command == "synth":
        return (f"{path} not found: copy the extracts into data/raw/ (docs/own_extracts.md), or run `riskpipe synth` "
                "for the synthetic county")
    return f"{path} not found: run `riskpipe {command}` first (or `dvc repro`)"


def require_input(path: Path | str, root: Path | str = ".") -> Path:
    """``path`` if it exists.

    Raises:
        StageInputMissing: it does not; the message names the command that makes it.
    """
    if not Path(path).exists():
        raise StageInputMissing(missing_input_message(path, root))
    return Path(path)


def dvc_tracked_folders(root: Path | str = ".") -> list[Path]:
    """Folders and files DVC tracks under ``root``: every ``outs`` of dvc.yaml (up to a ``${...}`` part) and each
    ``*.dvc`` file's target. Empty when there is no dvc.yaml."""
    root = Path(root)
    tracked = [p.with_suffix("") for p in (*root.glob("*.dvc"), *root.glob("data/**/*.dvc")) if p.is_file()]
    dvc_file = root / "dvc.yaml"
    if not dvc_file.exists():
        return tracked
    stages = (yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}).get("stages", {})
    for stage in stages.values():
        body = stage.get("do", stage) if isinstance(stage, dict) else {}
        for out in body.get("outs", []) if isinstance(body, dict) else []:
            name = next(iter(out)) if isinstance(out, dict) else str(out)
            fixed = name.split("${", 1)[0].rstrip("/")
            if fixed:
                tracked.append(root / fixed)
    return tracked
