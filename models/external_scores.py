"""`riskpipe audit`: the same evaluation on any scored file (vendor tools, rule scores, our own).

A council can audit a tool it already runs: observed outcome, the tool's score, the groups to
compare, and how the tool flags people (a score threshold, a fixed number, or a fraction). Cells
with fewer than ``min_n`` rows or ``min_positives`` positives are suppressed in everything written.
Pure: ``models.external_scores_stage`` reads the scored file and writes the results.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape

from models.metrics.calibration import calibration_metrics
from models.metrics.discrimination import discrimination_with_ci
from models.metrics.fairness import group_metrics
from models.metrics.operating_point import selection_weights

GROUP_FIELDS = ["n", "positives", "prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc", "oe_ratio",
                "brier", "diff_selection_rate", "diff_tpr", "diff_fpr", "ratio_selection_rate", "ratio_tpr",
                "ratio_fpr"]


def flag_rows(score: pd.Series, *, threshold: float | None = None, top_k: int | None = None,
              top_frac: float | None = None) -> np.ndarray:
    """Which rows the tool flags: ``score >= threshold``, the top ``k``, or the top fraction.

    Top-k ties at the cut are shared pro rata (the expected flag under a random choice among them).

    Raises:
        ValueError: not exactly one rule given.
    """
    given = [v is not None for v in (threshold, top_k, top_frac)]
    if sum(given) != 1:
        raise ValueError("give exactly one of --threshold, --top-k, --top-frac")
    values = score.to_numpy(dtype=np.float64)
    if threshold is not None:
        return (values >= threshold).astype(np.float64)
    k = top_k if top_k is not None else math.ceil(top_frac * len(values))
    return selection_weights(values, int(k))


def _clean(value):
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def audit_scores(frame: pd.DataFrame, *, label: str, score: str, groups: list[str], threshold: float | None = None,
                 top_k: int | None = None, top_frac: float | None = None, n_boot: int = 200, seed: int = 0,
                 min_n: int = 10, min_positives: int = 5) -> dict:
    """Audit one scored file.

    Args:
        frame: one row per person; ``label`` (0/1 outcome; rows where it is missing are left out and
            counted), ``score`` (higher = more risk) and each of ``groups``.

    Returns:
        ``{"rule", "rows_excluded_missing_label", "overall": {...}, "by_group": {col: {value: {...}}}}``;
        calibration figures only when every score lies in [0, 1] (a probability).
    """
    missing = [c for c in [label, score, *groups] if c not in frame.columns]
    if missing:
        raise KeyError(f"columns not in the scores file: {missing}")
    rows = frame[frame[label].notna() & frame[score].notna()].reset_index(drop=True)
    y = pd.to_numeric(rows[label]).astype("int64").to_numpy()
    s = pd.to_numeric(rows[score]).astype("float64")
    flags = flag_rows(s, threshold=threshold, top_k=top_k, top_frac=top_frac)
    is_probability = bool(len(s) and s.between(0, 1).all())
    probability = s.to_numpy() if is_probability else np.full(len(s), np.nan)
    overall_table = group_metrics(y, flags, probability, rows.assign(_all="all"), {"overall": ["_all"]}, n_boot=0,
                                  min_n=min_n, min_positives=min_positives, ranking=s.to_numpy())
    overall = {k: _clean(v) for k, v in overall_table.iloc[0][GROUP_FIELDS[:11]].items()}
    overall.update(discrimination_with_ci(y, [s], n_boot=n_boot, seed=seed)[0])
    if is_probability:
        overall.update({k: _clean(v) for k, v in calibration_metrics(y, probability).items()})
    else:
        overall["oe_ratio"] = overall["brier"] = None
    table = group_metrics(y, flags, probability, rows, {g: [g] for g in groups}, n_boot=n_boot, seed=seed,
                          min_n=min_n, min_positives=min_positives, ranking=s.to_numpy())
    by_group: dict[str, dict] = {}
    for _, row in table.iterrows():
        cell = {"suppressed": True} if row["suppressed"] else {
            **{k: _clean(row[k]) for k in GROUP_FIELDS if k in row},
            **{k: [_clean(row[f"{k}_ci_low"]), _clean(row[f"{k}_ci_high"])]
               for k in ("diff_selection_rate", "diff_tpr", "diff_fpr")},
            "suppressed": False,
        }
        if not is_probability:
            cell.pop("oe_ratio", None), cell.pop("brier", None)
        by_group.setdefault(row["attribute"], {})[str(row["group"])] = cell
    rule = ({"threshold": threshold} if threshold is not None else
            {"top_k": top_k} if top_k is not None else {"top_frac": top_frac})
    return {"rule": rule, "rows": int(len(rows)), "rows_excluded_missing_label_or_score": int(len(frame) - len(rows)),
            "score_is_probability": is_probability, "suppression": {"min_n": min_n, "min_positives": min_positives},
            "overall": overall, "by_group": by_group}


AUDIT_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Audit of {{ score }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.2em .5em;text-align:right}th{background:#eee}.s{color:#777}</style></head><body>
<h1>Audit of score <code>{{ score }}</code> against <code>{{ label }}</code></h1>
<p>{{ audit.rows }} rows audited ({{ audit.rows_excluded_missing_label_or_score }} left out: outcome or score missing).
Flagging rule: {% for k, v in audit.rule.items() %}{{ k }} = {{ v }}{% endfor %}.
Groups with fewer than {{ audit.suppression.min_n }} people or {{ audit.suppression.min_positives }} outcomes are
suppressed.</p>
<h2>Overall</h2><table>{% for k, v in audit.overall.items() %}<tr><th>{{ k }}</th><td>{{ fmt(v) }}</td></tr>
{% endfor %}</table>
{% for attribute, cells in audit.by_group.items() %}<h2>By {{ attribute }}</h2><table><tr><th>group</th>
{% for f in fields %}<th>{{ f }}</th>{% endfor %}</tr>{% for group, cell in cells.items() %}<tr><th>{{ group }}</th>
{% if cell.suppressed %}<td class="s" colspan="{{ fields|length }}">suppressed (small numbers)</td>{% else %}
{% for f in fields %}<td>{{ fmt(cell.get(f)) }}</td>{% endfor %}{% endif %}</tr>{% endfor %}</table>{% endfor %}
<p>Selection rate, TPR (share of people with the outcome who were flagged), FPR and PPV (share of flagged people
who had the outcome) cannot all be equal across groups whose base rates differ; read them together.</p>
</body></html>"""


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def render_audit_html(audit: dict, *, label: str, score: str) -> str:
    """A readable, self-contained HTML page of an ``audit_scores`` result."""
    env = Environment(autoescape=select_autoescape(default=True))
    fields = ["n", "positives", "prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc", "oe_ratio"]
    return env.from_string(AUDIT_TEMPLATE).render(audit=audit, label=label, score=score, fields=fields, fmt=_format)
