"""App configuration: the five role groups exist after every ``migrate``."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_role_groups(sender, **kwargs) -> None:  # noqa: ARG001 - Django's signal signature
    """Make the role groups (:data:`webapp.practice.roles.ROLES`) if they are missing."""
    from django.contrib.auth.models import Group

    from webapp.practice.roles import ROLES

    for role in ROLES:
        Group.objects.get_or_create(name=role)


class PracticeConfig(AppConfig):
    name = "webapp.practice"
    label = "practice"
    verbose_name = "Early help practice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(create_role_groups, sender=self)
