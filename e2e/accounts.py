"""The e2e accounts and the page steps that make them (work against any server).

Against a deployed server the accounts come from `flask qa seed`: give the suite the same
QA_ADMIN_EMAIL / QA_ADMIN_PASSWORD (and QA_STAFF_*, QA_STUDENT_*) the seed was given. Locally the
defaults below are used and the accounts are made through the pages.
"""

from __future__ import annotations

import os


def _account(prefix: str, email: str, password: str, name: str) -> dict:
    return {
        "email": os.environ.get(f"{prefix}_EMAIL") or email,
        "password": os.environ.get(f"{prefix}_PASSWORD") or password,
        "name": name,
    }


ADMIN = _account("QA_ADMIN", "admin@school.example", "a strong admin password", "Ada Admin")
STAFF = _account("QA_STAFF", "teacher@school.example", "a strong staff password", "Tom Teacher")
STUDENT = _account("QA_STUDENT", "student@school.example", "a strong student pass", "Sam Student")


_sessions: dict[tuple[str, str], list] = {}  # (server, email) -> the signed-in cookies


def sign_in(page, url: str, who: dict) -> None:
    """Signs in through the form once per account; later calls reuse that session's cookies (a
    valid session lands on the catalog; an invalid one falls back to the form)."""
    key = (url, who["email"])
    if key in _sessions:
        page.context.add_cookies(_sessions[key])
        page.goto(url + "/catalog")
        if page.get_by_role("heading", name="Catalog", level=1).count():
            return
        del _sessions[key]
    page.goto(url + "/sign-in")
    page.get_by_label("Email").fill(who["email"])
    page.get_by_label("Password").fill(who["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Catalog", level=1).wait_for()
    _sessions[key] = page.context.cookies(url)


def first_run(page, server: dict) -> None:
    page.goto(server["url"] + "/setup")
    if page.get_by_label("Setup token").count():
        page.get_by_label("Setup token").fill(server["setup_token"])
    page.get_by_label("Your name").fill(ADMIN["name"])
    page.get_by_label("Email").fill(ADMIN["email"])
    page.get_by_label("Password", exact=True).fill(ADMIN["password"])
    page.get_by_label("Repeat the password").fill(ADMIN["password"])
    page.get_by_role("button", name="Create administrator").click()
    page.get_by_role("heading", name="Catalog", level=1).wait_for()


def add_person(page, url: str, who: dict, role: str) -> None:
    page.goto(url + "/admin/users")
    if page.get_by_text(who["email"], exact=True).count():
        return
    form = page.get_by_role("region", name="Add a person")
    form.get_by_label("Name").fill(who["name"])
    form.get_by_label("Email").fill(who["email"])
    form.get_by_label("Temporary password").fill(who["password"])
    form.get_by_label("Repeat the password").fill(who["password"])
    for box in ("Administrator", "Staff", "Student"):
        form.get_by_label(box).set_checked(box.lower() == role)
    form.get_by_role("button", name="Add person").click()
    page.get_by_text(f"Account for {who['email']} created").wait_for()
