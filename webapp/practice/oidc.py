"""OpenID Connect sign-in (mozilla-django-oidc): the identity provider's roles claim sets the role groups.

Switched on by ``OIDC_RP_CLIENT_ID`` (docs/webapp.md). The claim named by ``OIDC_ROLES_CLAIM`` (default
``roles``) lists role names as :data:`webapp.practice.roles.ROLES` spells them; any other value is ignored,
and the groups are set again at every sign-in so a role removed at the provider is removed here. The team
and signing role stay with the app's administrators (Django admin).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from webapp.practice.roles import ROLES


def claimed_roles(claims: dict[str, Any]) -> list[str]:
    """The known roles a claims set names (a list or one string)."""
    value = claims.get(getattr(settings, "OIDC_ROLES_CLAIM", "roles"), [])
    named = [value] if isinstance(value, str) else list(value or [])
    return [r for r in ROLES if r in named]


class RoleClaimBackend(OIDCAuthenticationBackend):
    """Creates and updates users from the provider's claims, with their role groups."""

    def _set_roles(self, user: Any, claims: dict[str, Any]) -> Any:
        user.groups.set(Group.objects.filter(name__in=claimed_roles(claims)))
        return user

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = super().create_user(claims)
        user.first_name, user.last_name = claims.get("given_name", ""), claims.get("family_name", "")
        user.save()
        return self._set_roles(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        return self._set_roles(super().update_user(user, claims), claims)
