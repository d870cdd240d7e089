"""Django admin: teams, list assignments (team <-> model <-> locality), staff profiles; offers read-only."""

from __future__ import annotations

from django.contrib import admin

from webapp.practice.models import ListAssignment, Offer, StaffProfile, Team


class AssignmentInline(admin.TabularInline):
    model = ListAssignment
    extra = 1


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    inlines = [AssignmentInline]
    search_fields = ["name"]


@admin.register(ListAssignment)
class ListAssignmentAdmin(admin.ModelAdmin):
    list_display = ["team", "model", "locality"]
    list_filter = ["model"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "signing_role"]
    list_filter = ["team", "signing_role"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    """Offers are events: seen here, never edited (a correction is a new event)."""

    list_display = ["recorded_at", "team", "model", "status", "date", "recorded_by_role"]
    list_filter = ["team", "model", "status"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
