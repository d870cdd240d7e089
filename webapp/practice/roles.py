"""The five roles, held as Django groups, and what each may reach.

Roles are checked on the server for every request (:mod:`webapp.practice.access`); the navigation only
hides what a role cannot open. A user may hold several groups, but the demo gives each one role.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

PRACTITIONER = "early help practitioner"
MANAGER = "team manager"
IG_REVIEWER = "IG reviewer"
ANALYST = "analyst"
CONTROLLER = "data controller"
ROLES = (PRACTITIONER, MANAGER, IG_REVIEWER, ANALYST, CONTROLLER)

# who reads person-level lists (their own team's only), records offers, exports
LIST_READERS = (PRACTITIONER, MANAGER)


def user_roles(user: Any) -> list[str]:
    """The role groups ``user`` holds, in :data:`ROLES` order (none when signed out)."""
    if not getattr(user, "is_authenticated", False):
        return []
    held = set(user.groups.values_list("name", flat=True))
    return [r for r in ROLES if r in held]


def role_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: ``roles`` held and one flag per area the navigation offers."""
    from django.conf import settings

    roles = user_roles(request.user)
    return {"roles": roles, "oidc_enabled": settings.OIDC_ENABLED,
            "can_read_lists": any(r in roles for r in LIST_READERS), "can_sign": IG_REVIEWER in roles,
            "can_analyse": ANALYST in roles, "can_reidentify": CONTROLLER in roles}
