"""The web app in headless Chromium (Playwright driving Debian's chromium, never `playwright install`).

Each role signs in through the form and sees what it can and cannot do; a practitioner records what the
team did and finds it in the offers events; axe-core (axe-playwright-python) finds no serious or critical
accessibility violation on any page. Skips locally without chromium; in CI (.ci/run installs it) it must run.
"""

from __future__ import annotations

import io
import os
import shutil

import pandas as pd
import pytest
from django.core.management import call_command

MODEL = "m1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync"]
# what each role's menu offers (the server refuses the rest: tests/test_webapp/test_access.py)
MENU = {"Your team's lists": "practitioner", "Checklist and sign-off": "ig_reviewer",
        "Runs and metrics": "analyst", "Re-identify a list": "controller"}
FORBIDDEN = {"practitioner": "/analysis/", "manager": "/governance/", "ig_reviewer": f"/lists/{MODEL}/",
             "analyst": f"/lists/{MODEL}/", "controller": "/governance/", "practitioner_south": f"/lists/{MODEL}/"}


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("headless Chromium not installed (apt-get install chromium); the browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


def follow(page, locator) -> None:
    """Click something that loads a new page and wait for that page (content() mid-navigation is empty)."""
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state()


def sign_in(browser, live_server, web, username: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{live_server.url}/sign-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", web["passwords"][username])
    follow(page, page.get_by_role("button", name="Sign in"))
    assert page.url == f"{live_server.url}/", f"{username} did not get past sign-in"
    return page


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


def test_a_wrong_password_is_refused(browser, live_server, web):
    page = browser.new_page()
    page.goto(f"{live_server.url}/sign-in/")
    page.fill("#id_username", "practitioner")
    page.fill("#id_password", "not the password")
    follow(page, page.get_by_role("button", name="Sign in"))
    assert "There is a problem" in page.content() and page.url.endswith("/sign-in/")
    page.context.close()


@pytest.mark.parametrize("username", sorted(FORBIDDEN))
def test_each_role_sees_its_own_menu_and_is_refused_elsewhere(browser, live_server, web, username):
    page = sign_in(browser, live_server, web, username)
    menu = page.get_by_role("navigation", name="Menu").inner_text()
    for link, holder in MENU.items():
        can = holder == username or (link == "Your team's lists" and username in ("manager", "practitioner_south"))
        assert (link in menu) == can, f"{username}: {link}"
    response = page.goto(f"{live_server.url}{FORBIDDEN[username]}")
    assert response.status == 403 and "You cannot open this page" in page.content()
    assert "recorded in the audit log" in page.content()
    page.context.close()


def test_practitioner_records_an_offer_and_finds_it_in_the_offers_events(browser, live_server, web, tmp_path):
    page = sign_in(browser, live_server, web, "practitioner")
    follow(page, page.get_by_role("link", name="Your team's lists", exact=True))
    follow(page, page.get_by_role("link", name=MODEL, exact=True))
    assert "DRAFT — NOT APPROVED FOR OPERATIONAL USE" in page.content()
    first = page.locator("tbody tr").first.get_by_role("link")
    token = first.inner_text().split(",")[0].strip()
    follow(page, first)
    assert page.get_by_role("heading", level=1).inner_text() == f"Child {token}"
    page.get_by_label("Accepted").check()
    page.get_by_label("From the risk list").check()
    page.fill("#id_date_day", "2")
    page.fill("#id_date_month", "3")
    page.fill("#id_date_year", "2026")
    page.fill("#id_reason", "parent agreed to a family support worker")
    follow(page, page.get_by_role("button", name="Record"))
    assert "Recorded: Accepted on 02 March 2026" in page.content()
    out = tmp_path / "offers.csv"
    call_command("export_offers", out=out, stdout=io.StringIO())
    events = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert events[["person_token", "status", "date", "route"]].values.tolist() == [
        [token, "accepted", "2026-03-02", "list"]]
    follow(page, page.get_by_role("link", name=f"Back to the {MODEL} list"))
    assert page.locator("tbody tr").first.get_by_text("Accepted").count() == 1
    page.context.close()


def test_ig_reviewer_signs_an_item_in_the_browser(browser, live_server, web):
    page = sign_in(browser, live_server, web, "ig_reviewer")
    page.goto(f"{live_server.url}/governance/{MODEL}/")
    assert page.get_by_role("button", name="Sign necessity_proportionality").count() == 0  # not the DPO's item
    page.get_by_label("Approve").first.check()
    page.fill("#dpia-evidence", "DPIA-2026-04")
    page.locator("#dpia-approve").check()
    follow(page, page.get_by_role("button", name="Sign dpia"))
    assert "Signed dpia: approve" in page.content() and "Approved by Dana Price" in page.content()
    page.context.close()


def test_no_serious_accessibility_violations(browser, live_server, web):
    token = pd.read_csv(web["root"] / "outputs/risk_lists" / MODEL / "risk_list.csv", dtype=str)["person_token"][0]
    pages = {"practitioner": ["/", f"/lists/{MODEL}/", f"/lists/{MODEL}/people/{token}/", "/lists/", "/analysis/"],
             "ig_reviewer": ["/governance/", f"/governance/{MODEL}/"], "analyst": ["/analysis/"],
             "controller": ["/reidentify/"]}
    found = {}
    anonymous = browser.new_page()
    anonymous.goto(f"{live_server.url}/sign-in/")
    found["/sign-in/"] = serious_violations(anonymous)
    anonymous.context.close()
    for username, urls in pages.items():
        page = sign_in(browser, live_server, web, username)
        for url in urls:
            page.goto(f"{live_server.url}{url}")
            found[f"{username} {url}"] = serious_violations(page)
        if username == "practitioner":  # the form's error state too
            page.goto(f"{live_server.url}/lists/{MODEL}/people/{token}/")
            follow(page, page.get_by_role("button", name="Record"))
            assert "There is a problem" in page.content()
            found["practitioner offer form errors"] = serious_violations(page)
        page.context.close()
    assert {where: v for where, v in found.items() if v} == {}
