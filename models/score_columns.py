"""The names of the released learner's columns in scores.parquet, and the guard against files written before them.

A spec releases one learner (``release: lightgbm | logistic | penalised | rule``, :mod:`models.few_events`). Its
calibrated probability and its uncalibrated ranking margin are stored as ``score_released`` and
``margin_released`` whichever learner it is: the evaluation, gate, card and list read "the model" from these two
columns. ``score_logistic``/``margin_logistic`` and ``score_rule``/``probability_rule`` stay the baselines'.
No separate LightGBM column is kept: when another learner is released LightGBM is not fitted at all.

Files written before this name (the released learner's scores were then called ``score_lightgbm`` and
``margin_lightgbm``, whatever the learner) are refused with a message saying to re-run the train stage, rather
than renamed on reading: a column named after LightGBM that may hold a logistic or rule score is exactly the
misreading the rename ends, and a re-run is cheap and leaves no doubt which code wrote the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

RELEASED_SCORE = "score_released"  # the released learner's calibrated probability
RELEASED_MARGIN = "margin_released"  # its uncalibrated margin (the rule's points), which ranks rows at capacity
OLD_NAMES = {"score_lightgbm": RELEASED_SCORE, "margin_lightgbm": RELEASED_MARGIN}  # before 2026-11-28


class ScoresFromOlderRun(ValueError):
    """A scores file holds the released learner's scores under their old names (``score_lightgbm``)."""


def check_score_columns(columns: Iterable[str], path: Path | str) -> None:
    """Refuse a scores file written before the model-neutral names (module docstring).

    Args:
        columns: the file's column names.
        path: the file, named in the message.

    Raises:
        ScoresFromOlderRun: the file has ``score_lightgbm``/``margin_lightgbm`` and not ``score_released``.
    """
    present = set(columns)
    old = sorted(name for name in OLD_NAMES if name in present)
    if old and RELEASED_SCORE not in present:
        renamed = ", ".join(f"{name} (now {OLD_NAMES[name]})" for name in old)
        raise ScoresFromOlderRun(
            f"{path} was written by an older riskpipe: it stores the released learner's scores as {renamed}. "
            "Re-run the train stage for this model (`riskpipe train --model <model>` or `dvc repro train@<model>`) "
            "so the file is written with the model-neutral names.")
