"""The card's first screen: headline performance in counts of children, and what the gate decided and why.

:func:`headline_performance` is the one function that turns metrics.json into the sentences a
reviewer reads ("of the 200 children flagged, about 10 ..."); the numbers it returns are written into
the card and the ATRS record, which the card stage logs to the version's MLflow run, so what a person
reads and what MLflow holds are the same figures. :func:`summarise_gate` puts governance.json's
failing checks and unsigned items into words, grouped by who must act.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from scipy.stats import binomtest

CONFIDENCE = 0.95
FAILING = ("fail", "not_evaluable")


class Headline(BaseModel):
    """Test-year performance at capacity, as counts of children (None where metrics.json lacks a figure).

    Attributes:
        flagged: children on a list of the capacity's length (capacity, or fewer when the year had fewer).
        found, found_low, found_high: of those, how many had the outcome, with a 95% interval (the
            evaluation's bootstrap interval, else Wilson's).
        random: how many a list of the same length drawn at random would hold (prevalence x flagged).
        rule, rule_low, rule_high: the same count for the council's rule score, with its interval.
        cases, cases_found: children in the test year who had the outcome, and how many the list held.
        sentences: the figures above in plain English, in reading order.
    """

    outcome_phrase: str
    test_year_children: int | None
    flagged: int | None
    found: float | None
    found_low: float | None
    found_high: float | None
    random: float | None
    rule: float | None
    rule_low: float | None
    rule_high: float | None
    cases: float | None
    cases_found: float | None
    sentences: list[str]


def count_interval(hits: float, flagged: int) -> tuple[float, float]:
    """95% Wilson interval for the number of children with the outcome among ``flagged`` (hits rounded)."""
    k = min(max(int(round(hits)), 0), flagged)
    ci = binomtest(k, flagged).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return ci.low * flagged, ci.high * flagged


def found_interval(block: dict[str, Any], found: float | None, flagged: int | None) -> tuple:
    """95% interval for the children with the outcome among ``flagged``: the bootstrap interval of precision
    at capacity (metrics.json) where there is one, else :func:`count_interval`."""
    if found is None or not flagged:
        return None, None
    ci = block.get("precision_at_capacity_ci") or []
    if len(ci) == 2 and all(isinstance(v, int | float) for v in ci):
        return ci[0] * flagged, ci[1] * flagged
    return count_interval(found, flagged)


def about(count: float | None) -> str:
    """A count of children for people: whole numbers from 5 up, one decimal below (0.3 is not 'about 0')."""
    if count is None:
        return "-"
    if count >= 5:
        return f"{round(count):,}"
    text = f"{count:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _number(block: dict[str, Any], key: str) -> float | None:
    value = block.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def headline_performance(metrics: dict[str, Any], outcome_phrase: str, people: str = "children") -> Headline:
    """Counts of children behind precision, lift and recall at capacity on the test year.

    Args:
        metrics: metrics.json (``capacity``, ``test`` and ``baselines.rule`` blocks with ``n, prevalence,
            precision_at_capacity, recall_at_capacity``).
        outcome_phrase: what the outcome is, after "would", e.g. "enter care within 12 months".
        people: what the population's people are called ("children", "adults").
    """
    test = metrics.get("test") or {}
    rule = (metrics.get("baselines") or {}).get("rule") or {}
    n, capacity = _number(test, "n"), _number(metrics, "capacity")
    flagged = int(min(capacity, n)) if capacity and n else None
    precision, prevalence = _number(test, "precision_at_capacity"), _number(test, "prevalence")
    found = precision * flagged if precision is not None and flagged else None
    found_ci = found_interval(test, found, flagged)
    rule_precision = _number(rule, "precision_at_capacity")
    rule_found = rule_precision * flagged if rule_precision is not None and flagged else None
    rule_ci = found_interval(rule, rule_found, flagged)
    gain = test.get("precision_gain_over_rule") or {}
    gain_ci = gain.get("ci") or [None, None]
    random = prevalence * flagged if prevalence is not None and flagged else None
    cases = prevalence * n if prevalence is not None and n else None
    recall = _number(test, "recall_at_capacity")
    cases_found = recall * cases if recall is not None and cases is not None else None
    sentences = []
    if found is not None:
        sentences.append(f"Of the {flagged:,} {people} the model would flag in the test year, about {about(found)} "
                         f"would {outcome_phrase} (95% interval {about(found_ci[0])} to {about(found_ci[1])}).")
        sentences.append(f"That leaves about {about(flagged - found)} of the {flagged:,} who would not: most "
                         f"{people} on any list will not have the outcome, and must not be treated as if they will.")
    if random is not None:
        sentences.append(f"A list of {flagged:,} {people} picked at random would hold about {about(random)}.")
    if rule_found is not None:
        sentences.append(f"The council's existing rule score, on a list of the same length, finds about "
                         f"{about(rule_found)} (95% interval {about(rule_ci[0])} to {about(rule_ci[1])}).")
        if found is not None and all(isinstance(v, int | float) for v in gain_ci):
            sentences.append(f"Compared on the same {people}, the model's list holds {found - rule_found:+.1f} "
                             f"{people} with the outcome against the rule's (95% interval of the paired difference "
                             f"{gain_ci[0] * flagged:+.1f} to {gain_ci[1] * flagged:+.1f}).")
    if cases is not None and cases_found is not None:
        sentences.append(f"Of the {int(n):,} {people} scored in the test year, about {about(cases)} went on to "
                         f"{outcome_phrase}; the list would have included about {about(cases_found)} of them.")
    return Headline(outcome_phrase=outcome_phrase, test_year_children=int(n) if n else None, flagged=flagged,
                    found=found, found_low=found_ci[0], found_high=found_ci[1], random=random, rule=rule_found,
                    rule_low=rule_ci[0], rule_high=rule_ci[1], cases=cases, cases_found=cases_found,
                    sentences=sentences)


class RoleItems(BaseModel):
    role: str
    items: list[str]


class GateSummary(BaseModel):
    """The gate's decision in words: the automatic checks that fail, who has yet to sign what, anything else.

    Attributes:
        approved: the gate's status is ``approved``.
        failing_checks: one sentence per automatic check that failed or could not be evaluated.
        unsigned: per signing role, the human items waiting for (or refused) that role's sign-off.
        other_reasons: reasons not tied to one checklist item (a broken log, governance not run).
    """

    approved: bool
    failing_checks: list[str]
    unsigned: list[RoleItems]
    other_reasons: list[str]


# checklist id words shown in capitals
ACRONYMS = {"dpia": "DPIA", "siro": "SIRO", "dpo": "DPO", "auroc": "AUROC", "fnr": "FNR"}
# a Python list of quoted names inside an evidence string, as some checks write it
QUOTED_LIST = re.compile(r"\[((?:'[^'\[\]]*'(?:, )?)+)\]")


def item_words(item_id: str) -> str:
    """``precision_at_capacity`` -> ``Precision at capacity``; ``dpia`` -> ``DPIA``."""
    text = " ".join(ACRONYMS.get(word, word) for word in str(item_id).split("_"))
    return text[:1].upper() + text[1:]


def plain_evidence(evidence: str) -> str:
    """An item's evidence for people: ``['owner', 'contact']`` written as ``owner, contact``."""
    return QUOTED_LIST.sub(lambda m: m.group(1).replace("'", ""), str(evidence))


def summarise_gate(governance: dict[str, Any]) -> GateSummary:
    """What blocks the release, from governance.json's ``items`` and ``reasons``.

    Args:
        governance: ``{"status", "items": [{"id", "kind", "status", "evidence", "role"}], "reasons"}``.
    """
    items = governance.get("items") or []
    failing = [f"{item_words(i['id'])}{' (not evaluable)' if i.get('status') == 'not_evaluable' else ''}: "
               f"{plain_evidence(i.get('evidence', ''))}"
               for i in items if i.get("kind") != "human" and i.get("status") in FAILING]
    by_role: dict[str, list[str]] = {}
    for i in items:
        if i.get("kind") == "human" and i.get("status") != "pass":
            note = "" if i.get("status") == "unsigned" else f" ({str(i.get('status')).replace('_', ' ')})"
            by_role.setdefault(str(i.get("role") or "unassigned"), []).append(item_words(i["id"]) + note)
    ids = [str(i.get("id")) for i in items]
    other = [r for r in governance.get("reasons") or [] if not any(str(r).startswith(f"{i}:") for i in ids)]
    return GateSummary(approved=governance.get("status") == "approved", failing_checks=failing,
                       unsigned=[RoleItems(role=r, items=v) for r, v in by_role.items()], other_reasons=other)
