"""``python -m webapp.manage screenshots --url http://127.0.0.1:8000``: the docs' screenshots of a running app.

Resets the demo accounts' passwords (:mod:`.demo_users`) to sign in, then saves, from headless Chromium
(Debian's ``chromium``), the first assigned list (``webapp_list.png``), its first child's page
(``webapp_person.png``) and the first model's checklist and sign-off page (``webapp_signoff.png``). It only
reads pages, but each view is audited like any other.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from webapp.practice.management.commands.demo_users import make_demo_users
from webapp.practice.project import current_project

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


class Command(BaseCommand):
    help = "Save screenshots of the list, a child's page and the sign-off page of a running app (demo accounts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the app is running")
        parser.add_argument("--out", type=Path, default=Path("docs/images"), help="folder for the PNG files")

    def handle(self, *args, **options) -> None:
        from playwright.sync_api import sync_playwright

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            raise CommandError("headless Chromium is not installed (apt-get install chromium)")
        models = current_project().models
        passwords = make_demo_users(models)
        url, out = options["url"].rstrip("/"), options["out"]
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)

            def signed_in(username: str):
                page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
                page.goto(f"{url}/sign-in/")
                page.fill("#id_username", username)
                page.fill("#id_password", passwords[username])
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state()
                return page

            page = signed_in("practitioner")
            page.goto(f"{url}/lists/{models[0]}/")
            page.screenshot(path=out / "webapp_list.png")
            page.locator("tbody tr").first.get_by_role("link").click()
            page.wait_for_load_state()
            page.screenshot(path=out / "webapp_person.png", full_page=True)
            page = signed_in("ig_reviewer")
            page.goto(f"{url}/governance/{models[0]}/")
            page.screenshot(path=out / "webapp_signoff.png")
            browser.close()
        self.stdout.write(f"screenshots written to {out}")
