"""``python -m webapp.manage export_offers``: write the offers events to data/raw/interventions/app_offers.csv."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from webapp.practice.offers import export_offers
from webapp.practice.project import current_project


class Command(BaseCommand):
    help = "Write every offer recorded in the app as offers events (docs/contracts.md) for the impact stage."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", type=Path, default=None,
                            help="where to write (default: data/raw/interventions/app_offers.csv under the root)")

    def handle(self, *args, **options) -> None:
        out = options["out"] or current_project().offers_file
        count = export_offers(out)
        self.stdout.write(f"{count} offers events written to {out}")
