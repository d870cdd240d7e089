"""Server-side access rules: a role per area, a team per list and person; every refusal is logged.

A refusal is a 403 page and a ``web_access_denied`` entry in the audit ledger naming who asked for what,
so an attempt to open another team's list or child leaves a trace even though nothing was shown.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from webapp.practice.audit import AuditUnavailable, audit
from webapp.practice.roles import user_roles

log = logging.getLogger("webapp.access")


def refuse(request: HttpRequest, reason: str, **fields: Any) -> HttpResponse:
    """The 403 page, after logging the attempt (ledger and application log)."""
    log.warning("refused %s %s to %s: %s", request.method, request.path, request.user.get_username(), reason)
    try:
        audit(request, "access_denied", reason=reason, method=request.method, **fields)
    except AuditUnavailable as exc:
        # the refusal stands either way (nothing is shown); say loudly that the ledger missed it
        log.error("refusal of %s %s not written to the audit ledger: %s", request.method, request.path, exc)
    return render(request, "practice/forbidden.html", {"reason": reason}, status=403)


def unavailable(request: HttpRequest, exc: AuditUnavailable) -> HttpResponse:
    """The 503 page when the audit ledger would not take an entry (nothing audited is shown)."""
    return render(request, "practice/unavailable.html", {"problem": str(exc)}, status=503)


def role_required(*roles: str) -> Callable:
    """Let a view run only for signed-in users holding one of ``roles``; others get 403 (logged).

    An :class:`AuditUnavailable` raised by the view becomes the 503 page.
    """
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not set(user_roles(request.user)) & set(roles):
                return refuse(request, f"this page is for the {' or '.join(roles)} role")
            try:
                return view(request, *args, **kwargs)
            except AuditUnavailable as exc:
                return unavailable(request, exc)
        return wrapped
    return decorate
