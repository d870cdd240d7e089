"""App configuration: after every ``migrate`` the five role groups exist, and so do MLflow's tables and the
ledger experiment the audit entries are anchored in (made once, here, rather than raced for by the first
concurrent requests of a new project)."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_role_groups(sender, **kwargs) -> None:  # noqa: ARG001 - Django's signal signature
    """Make the role groups (:data:`webapp.practice.roles.ROLES`) if they are missing."""
    from django.contrib.auth.models import Group

    from webapp.practice.roles import ROLES

    for role in ROLES:
        Group.objects.get_or_create(name=role)


def prepare_ledger_anchors(sender, **kwargs) -> None:  # noqa: ARG001 - Django's signal signature
    """Make MLflow's tables and the ``riskpipe-ledger`` experiment of the project the app serves.

    Raises:
        AuditUnavailable: MLflow could not be prepared (``migrate`` then fails, rather than every page later).
    """
    from webapp.practice.audit import prepare_audit

    prepare_audit()


class PracticeConfig(AppConfig):
    name = "webapp.practice"
    label = "practice"
    verbose_name = "Early help practice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(create_role_groups, sender=self)
        post_migrate.connect(prepare_ledger_anchors, sender=self)
