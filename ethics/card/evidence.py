"""The card a release binds: its *evidence* text and that text's digest.

Reviewers sign a release, and a release names the card they read (DESIGN.md: "metrics and card digests").
The card as published also shows the gate's decision, which the sign-offs themselves change, so the digest
cannot cover that part. It covers the card's evidence instead: the Markdown card rendered from the same
inputs with the decision left out (the neutral "governance not run" state) and without figures (drawn from
the same tables the text shows). ``riskpipe govern`` puts the digest in the release, ``riskpipe card``
renders the published card and refuses when its evidence no longer hashes to the release's, and
``riskpipe score`` recomputes it before an approved list: a context file, spec, metric or template
edited after the sign-offs makes another card, which no sign-off covers.
"""

from __future__ import annotations

import hashlib

from ethics.card.model import build_model_card
from ethics.card.read import GOVERNANCE_NOT_RUN, read_card_inputs
from ethics.card.render import render_model_card_markdown
from pipeline.core.config import GovernParams
from pipeline.core.paths import ProjectPaths


class CardMismatchError(RuntimeError):
    """The card rendered now is not the card the release (and so its sign-offs) names."""


def card_evidence_text(paths: ProjectPaths, cfg: GovernParams, model: str) -> str:
    """The Markdown card with the gate's decision left out: what a release's ``card_sha256`` covers."""
    inputs = read_card_inputs(paths, cfg, model, governance=GOVERNANCE_NOT_RUN, draw_figures=False)
    return render_model_card_markdown(build_model_card(inputs))


def card_sha256(paths: ProjectPaths, cfg: GovernParams, model: str) -> str:
    """SHA-256 of :func:`card_evidence_text` (UTF-8)."""
    return hashlib.sha256(card_evidence_text(paths, cfg, model).encode("utf-8")).hexdigest()


def check_card_matches_release(release: dict | None, digest_now: str) -> None:
    """Refuse to publish a card whose evidence is not the one the gate's release names.

    Raises:
        CardMismatchError: the release records another ``card_sha256``.
    """
    if not release or not release.get("card_sha256"):
        return
    if release["card_sha256"] != digest_now:
        raise CardMismatchError(
            f"the model card now (evidence {digest_now[:12]}) is not the card release "
            f"{str(release.get('release_digest', ''))[:12]} names ({release['card_sha256'][:12]}): an input of the "
            "card (context, spec, metrics, thresholds or template) changed after `riskpipe govern`. Run "
            "`riskpipe govern` again: it records a new release, which needs its own sign-offs")
