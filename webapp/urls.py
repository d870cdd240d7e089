"""URL map: sign-in, the role areas, and Django admin (teams, list assignments, staff)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.practice.views import analysis, controller, governance, home, lists

urlpatterns = [
    path("", home.home, name="home"),
    path("sign-in/", auth_views.LoginView.as_view(), name="login"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("lists/", lists.lists_index, name="lists"),
    path("lists/<slug:model>/", lists.list_view, name="list"),
    path("lists/<slug:model>/export.<str:kind>", lists.export_list, name="export"),
    path("lists/<slug:model>/people/<str:token>/", lists.person_view, name="person"),
    path("governance/", governance.governance_index, name="governance"),
    path("governance/<slug:model>/", governance.signoff_view, name="signoff"),
    path("governance/<slug:model>/card/", governance.model_card, name="card"),
    path("analysis/", analysis.analysis_view, name="analysis"),
    path("reidentify/", controller.reidentify_view, name="reidentify"),
    path("admin/", admin.site.urls),
]
if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
