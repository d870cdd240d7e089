"""What the card and ATRS record say about a release's inputs, sources, proxies and phase: generated, never typed.

Every statement here comes from the release's feature list (``run.json`` ``feature_columns``) and the
feature registry (``features.registry.FEATURES``: ``source``, ``role``, ``proxy_for``). Nobody writes
"SEN is used for audits only" by hand: if ``sen_status`` is an input, the card says it is, and that it
stands in for disability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from features.feature import Feature
from models.spec import CensoringSpec, ExclusionsSpec

# a feature's ``source`` that names no source system (built from others, e.g. age from month of birth)
DERIVED_SOURCE = "derived"


@dataclass(frozen=True)
class ProxyInput:
    """A model input that stands in for a protected or sensitive characteristic."""

    name: str
    description: str
    proxy_for: tuple[str, ...]


@dataclass(frozen=True)
class InputDisclosure:
    """The facts the card and ATRS state about a release's inputs.

    Attributes:
        inputs: the release's feature columns, in order.
        sources: source systems the inputs are read from (registry ``source``), first use first.
        derived: inputs built from other inputs' sources (age, record coverage) rather than read.
        proxies: inputs whose registry entry has ``proxy_for``.
        audit_only: characteristics with a fairness attribute in the registry that no input stands in for.
        audit_attributes: every fairness attribute (``group == "fairness"``) and what it records.
        unregistered: inputs the registry does not know (said so on the card, never guessed).
        family: the family members whose records feed the score (``features.family``), in words; empty when none.
    """

    inputs: tuple[str, ...]
    sources: tuple[str, ...]
    derived: tuple[str, ...]
    proxies: tuple[ProxyInput, ...]
    audit_only: tuple[str, ...]
    audit_attributes: tuple[tuple[str, tuple[str, ...]], ...]
    unregistered: tuple[str, ...]
    family: tuple[str, ...] = ()


# the family members each family feature reads (features.family: family_<relation>_...), as the card names them
FAMILY_MEMBERS = {"parent": "the child's parents (emergency department, GP and adult social care records)",
                  "sibling": "the child's brothers and sisters (looked-after and hospital delivery records)"}


def disclose_inputs(feature_columns: Sequence[str], registry: Mapping[str, Feature]) -> InputDisclosure:
    """Sort a release's inputs into sources, proxies and what is left to audits only.

    Args:
        feature_columns: the model's inputs as trained (``run.json`` ``feature_columns``).
        registry: feature name -> :class:`features.feature.Feature`.
    """
    known = [registry[name] for name in feature_columns if name in registry]
    sources: dict[str, None] = {}
    for feature in known:
        for source in feature.source.split(", "):
            if source != DERIVED_SOURCE:
                sources.setdefault(source, None)
    proxies = tuple(ProxyInput(f.name, f.description, f.proxy_for) for f in known if f.proxy_for)
    stood_in = {c for p in proxies for c in p.proxy_for}
    fairness = [f for f in registry.values() if f.group == "fairness"]
    audited = dict.fromkeys(c for f in fairness for c in f.proxy_for)
    return InputDisclosure(
        inputs=tuple(feature_columns), sources=tuple(sources),
        derived=tuple(f.name for f in known if f.source == DERIVED_SOURCE),
        proxies=proxies, audit_only=tuple(c for c in audited if c not in stood_in),
        audit_attributes=tuple((f.name, f.proxy_for) for f in fairness),
        unregistered=tuple(n for n in feature_columns if n not in registry),
        family=tuple(dict.fromkeys(FAMILY_MEMBERS[f.name.split("_")[1]] for f in known
                                   if f.group == "family" and f.name.split("_")[1] in FAMILY_MEMBERS)),
    )


def _and(words: Sequence[str]) -> str:
    words = list(words)
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def describe_inputs(d: InputDisclosure) -> str:
    """'41 features from the feature registry, read from school census, KS2 and CIN census; 3 derived by ...'."""
    text = f"{len(d.inputs)} features from the feature registry"
    if d.sources:
        text += f", read from {_and(d.sources)}"
    if d.derived:
        text += f"; {len(d.derived)} derived by riskpipe from the linked records ({', '.join(d.derived)})"
    if d.unregistered:
        text += f"; not in the feature registry: {', '.join(d.unregistered)}"
    if d.family:
        text += (f". The score is also fed by the records of {_and(d.family)}: a decision the IG board signs "
                 "(checklist item family_records)")
    return text


def describe_proxies(d: InputDisclosure) -> str:
    """Which inputs stand in for which protected or sensitive characteristics (or that none do)."""
    if not d.proxies:
        return "No model input is registered as standing in for a protected or sensitive characteristic."
    parts = [f"{p.name} ({_and(p.proxy_for)})" for p in d.proxies]
    return ("Model inputs that stand in for a protected or sensitive characteristic: " + "; ".join(parts) + ".")


def describe_audit_attributes(d: InputDisclosure) -> str:
    """What the fairness attributes are for, and which characteristics reach the model only through a proxy."""
    attributes = ", ".join(name for name, _ in d.audit_attributes) or "none"
    text = f"Fairness attributes ({attributes}) are used to audit results and are not model inputs."
    stood_in = sorted({c for p in d.proxies for c in p.proxy_for})
    if stood_in:
        text += f" The model does see {_and(stood_in)} through the inputs listed as proxies."
    if d.audit_only:
        text += f" No input stands in for {_and(d.audit_only)}: audited only."
    return text


def describe_phase(governance_status: str, synthetic: bool) -> str:
    """The ATRS phase from the gate's decision and whether the evaluation data were synthetic."""
    phase = ("pilot: approved at the governance gate, every list entry reviewed by a practitioner"
             if governance_status == "approved" else "development: not approved for operational use")
    return phase + (" (synthetic data)" if synthetic else "")


def describe_exclusions(spec: Mapping[str, object]) -> list[str]:
    """One sentence per exclusion or censoring rule the model's spec switches on, in the spec's own words
    (``models.spec`` ``rules_on``), e.g. "Children open to children's social care on the index date (...) are
    not scored: they have a social worker."; [] when the spec switches none on.

    Args:
        spec: the model spec as recorded with the run (``ModelSpec.model_dump``).
    """
    sentences = []
    for key, section in (("exclusions", ExclusionsSpec), ("censoring", CensoringSpec)):
        for text in section.model_validate(spec.get(key) or {}).rules_on().values():
            sentences.append(text[:1].upper() + text[1:] + ".")
    return sentences


def describe_capacity_share(capacity: Mapping[str, object] | None, people: str = "children") -> str:
    """'200 a year in 2026: 1.5% of the 13,613 children scored (test year 2025: 1.5% of 13,134)' from
    features.json ``capacity``; '-' without it. ``people``: what the population's people are called."""
    if not isinstance(capacity, Mapping):
        return "-"
    parts = []
    for key in ("score_year", "test_year"):
        block = capacity.get(key)
        if isinstance(block, Mapping) and block.get("share") is not None:
            parts.append((key, f"{float(block['share']):.1%} of the {int(block['cohort_rows']):,} {people} "
                               f"in {block['year']}", block))
    if not parts:
        return "-"
    (_, first, block), rest = parts[0], parts[1:]
    text = f"{block['capacity']} a year: {first}"
    return text + "".join(f" (test year: {words})" for _, words, _ in rest)
