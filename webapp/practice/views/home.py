"""The start page: what the signed-in role can do here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from webapp.practice.teams import team_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "practice/home.html", {"team": team_of(request.user)})
