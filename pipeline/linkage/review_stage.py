"""``riskpipe review-linkage``: the IO of the clerical review loop (sample, record, and what the gate reads).

``sample`` (the data controller, holding the key and data/staged): draw a stratified sample of the scored
pairs ``link`` kept (``data/linked/scored_pairs.parquet``), reuse earlier decisions on the same pairs, and
write the two records of each pair in clear text to a folder the reviewer names *outside* the project
(a CSV sheet to fill in and an HTML page to read). Inside the project only tokens are written: the sample
drawn (``reports/linkage_clerical_sample.json``).

``record``: read the filled sheet back (only ``pair_id``, ``decision`` and ``reviewer``; its clear columns
are ignored), estimate precision and recall with intervals weighted by the strata
(:mod:`pipeline.linkage.clerical_review`), keep every pair's latest decision
(``reports/linkage_clerical_decisions.csv``: tokens and decisions) and write the result with its digest and
the person index it judged to ``reports/linkage_clerical_review.json``, a file ``link`` never overwrites.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.io import read_csv_table, read_json, read_parquet, write_csv, write_json, write_text
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.clerical_review import ClericalReviewError, draw_sample, estimate_quality, stratify
from pipeline.linkage.persistent_ids import person_index_digest
from pipeline.linkage.review_pairs import (
    PAIR_KEYS,
    carry_decisions,
    gate_review,
    merge_decisions,
    read_filled_decisions,
    strata_edges,
)
from pipeline.linkage.review_records import render_review_html, side_by_side, source_records
from pipeline.privacy.clear_outputs import refuse_clear_output
from pipeline.privacy.fingerprint import verify_pseudo_key
from pipeline.privacy.keys import load_key
from pipeline.sources.registry import person_sources

SHEET, PAGE = "linkage_review_sheet.csv", "linkage_review.html"
SAMPLE_COLUMNS = ["pair_id", *PAIR_KEYS, "stratum", "stratum_pairs", "linked", "match_probability"]
DECISION_STORE_COLUMNS = ["pair_id", *PAIR_KEYS, "decision", "reviewer", "os_user", "decided_at", "person_index"]


def scored_pairs_path(paths: ProjectPaths) -> Path:
    """``data/linked/scored_pairs.parquet``: every scored pair's tokens, probability and ``linked`` (link)."""
    return paths.linked / "scored_pairs.parquet"


def sample_path(paths: ProjectPaths) -> Path:
    return paths.reports / "linkage_clerical_sample.json"


def decisions_path(paths: ProjectPaths) -> Path:
    return paths.reports / "linkage_clerical_decisions.csv"


def review_path(paths: ProjectPaths) -> Path:
    return paths.reports / "linkage_clerical_review.json"


@dataclass(frozen=True)
class DrawnSample:
    """What ``review-linkage sample`` wrote: pairs drawn, of which decided before, by stratum, and where."""

    pairs: int
    carried: int
    strata: dict[str, int]
    sheet: Path
    page: Path


def current_index_digest(paths: ProjectPaths) -> str:
    """The digest of ``data/linked/person_index.parquet`` (:func:`person_index_digest`)."""
    return person_index_digest(read_parquet(paths.person_index, columns=["table", "record_key_tok", "person_id"]))


def read_decision_store(paths: ProjectPaths) -> pd.DataFrame | None:
    """Every pair's latest decision (``DECISION_STORE_COLUMNS``), or None before the first review."""
    return read_csv_table(decisions_path(paths)) if decisions_path(paths).exists() else None


def run_review_sample(paths: ProjectPaths, *, key_file: Path, floor: float, link_threshold: float, out_dir: Path,
                      per_stratum: int, seed: int, force: bool = False) -> DrawnSample:
    """Draw the sample and write the reviewer's sheet and page to ``out_dir`` (outside the project).

    Args:
        floor: the near-miss floor (``link.threshold_match_probability``: every scored pair is at or above it).
        link_threshold: ``link.cluster_threshold_match_probability`` (band edge between near-misses and links).
        per_stratum: pairs drawn from each stratum (all of a smaller one).

    Raises:
        ClearOutputRefused: ``out_dir`` lies inside data/, reports/ or outputs/ (checked before anything is read).
        ClericalReviewError: ``out_dir`` already holds a sheet (pass ``force``), or link kept no scored pairs.
        PseudonymisationKeyError / KeyFingerprintMismatch: no key, or not the key the index was made with.
    """
    refuse_clear_output(out_dir, paths, command="review-linkage sample",
                        why="the review sheet shows both records of each pair in clear text")
    sheet_file, page_file = Path(out_dir) / SHEET, Path(out_dir) / PAGE
    if sheet_file.exists() and not force:
        raise ClericalReviewError(f"{sheet_file} exists (a review in progress?); record it first, or pass --force")
    key = load_key(key_file)
    verify_pseudo_key(paths, key, linked=True)  # under another key no staged record would match a token
    pairs = read_parquet(scored_pairs_path(paths))
    link_edges, near_miss_edges = strata_edges(floor, link_threshold)
    pairs["stratum"] = stratify(pairs, link_edges, near_miss_edges)
    sample = draw_sample(pairs[pairs["stratum"].notna()].reset_index(drop=True), per_stratum, seed, key="pair_id")
    if sample.empty:
        raise ClericalReviewError(f"{scored_pairs_path(paths)} holds no scored pair at or above {floor}: "
                                  "nothing to review")
    sample = carry_decisions(sample, read_decision_store(paths))
    sheet = side_by_side(sample, read_clear_records(paths, sample, key))
    write_csv(sheet, sheet_file)
    write_text(render_review_html(sheet, SHEET), page_file)
    write_json({"person_index": current_index_digest(paths), "drawn_at": now(), "seed": seed,
                "per_stratum": per_stratum, "link_edges": link_edges, "near_miss_edges": near_miss_edges,
                "strata": {str(k): int(v) for k, v in pairs["stratum"].value_counts().sort_index().items()},
                "pairs": sample[SAMPLE_COLUMNS].astype({"linked": bool}).to_dict("records")}, sample_path(paths))
    return DrawnSample(pairs=len(sample), carried=int(sample["carried"].sum()),
                       strata=sample.groupby("stratum").size().astype(int).to_dict(), sheet=sheet_file,
                       page=page_file)


def read_clear_records(paths: ProjectPaths, sample: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """The sample's records in clear from data/staged (``source``, ``record_key_tok``, ``local_id``, fields)."""
    wanted: dict[str, set[str]] = {}
    for side in ("l", "r"):
        for source, token in zip(sample[f"source_{side}"], sample[f"record_key_tok_{side}"], strict=True):
            wanted.setdefault(str(source), set()).add(str(token))
    parts = []
    for source in person_sources():
        if source.name not in wanted or not paths.staged_table(source.persons.table).exists():
            continue
        names = [source.persons.table, *([source.persons.address_table] if source.persons.address_table else [])]
        tables = {n: read_parquet(paths.staged_table(n)) for n in names if paths.staged_table(n).exists()}
        parts.append(source_records(source, tables, wanted[source.name], key).assign(source=source.name))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["source", "record_key_tok", "local_id"], dtype="string")


def run_review_record(paths: ProjectPaths, *, decisions: Path, reviewer: str, confidence: float = 0.95
                      ) -> dict[str, Any]:
    """Read a filled sheet, estimate precision and recall, store the decisions and the result.

    Raises:
        ClericalReviewError: no reviewer name, no sample drawn, the person index changed since the sample was
            drawn, or the sheet is unusable (names file, line and column).
    """
    if not reviewer.strip():
        raise ClericalReviewError("--by must name the reviewer")
    if not sample_path(paths).exists():
        raise ClericalReviewError(f"{sample_path(paths)} not found: draw a sample first (`riskpipe review-linkage "
                                  "sample`)")
    drawn = read_json(sample_path(paths))
    current = current_index_digest(paths)
    if drawn["person_index"] != current:
        raise ClericalReviewError(
            f"the sample was drawn from person index {drawn['person_index'][:16]}, the current one is {current[:16]} "
            "(re-linked since): draw a new sample with `riskpipe review-linkage sample` (decisions on pairs that "
            "did not change carry over)")
    sample = pd.DataFrame(drawn["pairs"], columns=SAMPLE_COLUMNS)
    reviewed = read_filled_decisions(read_csv_table(decisions), sample, reviewer, decisions)
    os_user, when = getpass.getuser(), now()
    result = estimate_quality(reviewed[[*SAMPLE_COLUMNS, "decision", "reviewer"]], confidence)
    result |= {"person_index": current, "recorded_at": when, "recorded_by": {"reviewer": reviewer.strip(),
               "os_user": os_user}, "sample_drawn_at": drawn["drawn_at"], "pairs_drawn": int(len(sample)),
               "pairs_not_reviewed": int(len(sample) - len(reviewed)), "strata_sizes": drawn["strata"]}
    recorded = reviewed.assign(os_user=os_user, decided_at=when, person_index=current)[DECISION_STORE_COLUMNS]
    write_csv(merge_decisions(read_decision_store(paths), recorded.astype("string")), decisions_path(paths))
    write_json(result, review_path(paths))
    return result


def gate_linkage_evidence(paths: ProjectPaths, linkage: dict[str, Any] | None) -> dict[str, Any] | None:
    """reports/linkage.json with the stored clerical review merged in for the gate (:func:`gate_review`).

    The current index digest is the one ``link`` wrote into the report (``person_ids.index_digest``), or
    the person index's own where the report predates it.
    """
    if linkage is None or not review_path(paths).exists():
        return linkage
    current = (linkage.get("person_ids") or {}).get("index_digest")
    if not current and paths.person_index.exists():
        current = current_index_digest(paths)
    return gate_review(linkage, read_json(review_path(paths)), current)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
