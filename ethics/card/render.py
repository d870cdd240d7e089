"""Render templates under ``ethics/templates/`` (model card HTML/Markdown, risk-list HTML)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ethics.card.model import ModelCard
from ethics.checklist import TEMPLATES_DIR


def template_environment() -> Environment:
    """Jinja environment over ethics/templates: HTML autoescaped, undefined names are errors."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_template(name: str, **context: Any) -> str:
    return template_environment().get_template(name).render(**context)


def render_model_card_html(card: ModelCard) -> str:
    """The self-contained HTML card (CSS inline, figures as data URIs; no network needed)."""
    return render_template("model_card.html.j2", card=card)


def render_model_card_markdown(card: ModelCard) -> str:
    """The Markdown twin of the card (tables as pipe tables; figures only in the HTML)."""
    return render_template("model_card.md.j2", card=card)
