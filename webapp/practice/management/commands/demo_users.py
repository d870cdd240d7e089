"""``python -m webapp.manage demo_users``: one demo account per role, two teams, passwords printed once.

Migrates the database first. Teams: "North early help team" gets the first model params.yaml lists, "South
early help team" the second (or none), so the demo shows one team refused another's list. Each run gives
every demo account a new random password, shown here once and stored only as Django's hash.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.management.utils import get_random_secret_key

from webapp.practice.models import ListAssignment, StaffProfile, Team
from webapp.practice.project import current_project
from webapp.practice.roles import ANALYST, CONTROLLER, IG_REVIEWER, MANAGER, PRACTITIONER

NORTH, SOUTH = "North early help team", "South early help team"
# username, full name, role, team (None: no team), signing role
DEMO_USERS = (
    ("practitioner", "Pat Practitioner", PRACTITIONER, NORTH, ""),
    ("manager", "Morgan Manager", MANAGER, NORTH, ""),
    ("practitioner_south", "Sol South", PRACTITIONER, SOUTH, ""),
    ("ig_reviewer", "Dana Price", IG_REVIEWER, None, "DPO"),
    ("analyst", "Ana Lyst", ANALYST, None, ""),
    ("controller", "Cora Controller", CONTROLLER, None, ""),
)


def ensure_secret_key() -> None:
    """Write ``.secrets/webapp.key`` (Django's secret key, mode 600) unless $DJANGO_SECRET_KEY or the file exists."""
    stored = settings.RISKPIPE_ROOT / ".secrets" / "webapp.key"
    if stored.exists():
        return
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(get_random_secret_key() + "\n", encoding="utf-8")
    stored.chmod(0o600)


def make_demo_users(models: list[str]) -> dict[str, str]:
    """Create or reset the demo teams, assignments and accounts; return username -> new password."""
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in (NORTH, SOUTH)}
    for team, model in zip((teams[NORTH], teams[SOUTH]), models, strict=False):
        ListAssignment.objects.get_or_create(team=team, model=model, locality="")
    passwords = {}
    for username, full_name, role, team, signing_role in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        first, _, last = full_name.partition(" ")
        user.first_name, user.last_name = first, last
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        StaffProfile.objects.update_or_create(user=user, defaults={"team": teams.get(team) if team else None,
                                                                   "signing_role": signing_role})
        passwords[username] = password
    return passwords


class Command(BaseCommand):
    help = "Create one demo account per role (and two teams); print each new password once."

    def handle(self, *args, **options) -> None:
        ensure_secret_key()
        call_command("migrate", verbosity=0)
        passwords = make_demo_users(current_project().models)
        self.stdout.write("Demo accounts (passwords shown once; run again to reset them):")
        for username, full_name, role, team, signing_role in DEMO_USERS:
            where = f", {team}" if team else ""
            signs = f", signs as {signing_role}" if signing_role else ""
            self.stdout.write(f"  {username:<19} {passwords[username]:<18} {role}{where}{signs} ({full_name})")
