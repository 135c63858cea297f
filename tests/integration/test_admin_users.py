"""Administrators list people, add them, change roles and deactivate accounts — audited."""

from __future__ import annotations

from app.models import User
from app.models.audit import AuditEvent


def test_admin_lists_people(client, auth, make):
    make.user(name="Grace Teacher")
    auth.sign_in(roles=("administrator",))
    html = client.get("/admin/users").get_data(as_text=True)
    assert "Grace Teacher" in html


def test_changing_roles_is_audited_and_answers_the_row(client, auth, make):
    auth.sign_in(roles=("administrator",))
    teacher = make.user(roles=("staff",))
    response = auth.post(
        f"/admin/users/{teacher.id}/roles",
        {"roles": ["staff", "student"]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<tr") and "<html" not in html
    assert User.get_by_id(teacher.id).role_names == {"staff", "student"}
    event = AuditEvent.get(AuditEvent.action == "user.roles_changed")
    assert event.target_id == str(teacher.id)
    assert event.details == {"before": ["staff"], "after": ["staff", "student"]}


def test_roles_change_without_javascript_redirects_with_a_message(client, auth, make):
    auth.sign_in(roles=("administrator",))
    teacher = make.user(roles=("staff",))
    response = auth.post(f"/admin/users/{teacher.id}/roles", {"roles": ["student"]})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{teacher.name} now has: Student." in page


def test_unknown_role_is_refused(client, auth, make):
    auth.sign_in(roles=("administrator",))
    teacher = make.user(roles=("staff",))
    response = auth.post(
        f"/admin/users/{teacher.id}/roles", {"roles": ["superuser"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert User.get_by_id(teacher.id).role_names == {"staff"}


def test_admin_cannot_lock_themselves_out(client, auth):
    admin = auth.sign_in(roles=("administrator",))
    response = auth.post(
        f"/admin/users/{admin.id}/roles", {"roles": ["staff"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "own administrator role" in response.get_data(as_text=True)
    assert auth.post(f"/admin/users/{admin.id}/active", {"active": "0"}).status_code == 303
    assert User.get_by_id(admin.id).is_active


def test_deactivating_ends_sessions_and_is_audited(client, auth, make, app):
    auth.sign_in(roles=("administrator",))
    teacher = make.user()
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other, make).sign_in(teacher)
    assert other.get("/catalog").status_code == 200
    response = auth.post(
        f"/admin/users/{teacher.id}/active", {"active": "0"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "Deactivated" in response.get_data(as_text=True)
    assert other.get("/catalog").status_code == 302
    assert AuditEvent.get(AuditEvent.action == "user.deactivated").target_id == str(teacher.id)


def test_admin_adds_a_person(client, auth):
    auth.sign_in(roles=("administrator",))
    form = {
        "name": "New Teacher",
        "email": "New.Teacher@School.example",
        "password": "temporary password",
        "password_confirm": "temporary password",
        "roles": ["staff"],
    }
    response = auth.post("/admin/users", form)
    assert response.status_code == 303
    user = User.by_email("new.teacher@school.example")
    assert user.role_names == {"staff"}
    again = auth.post("/admin/users", form, headers={"HX-Request": "true"})
    assert again.status_code == 422
    assert "already exists" in again.get_data(as_text=True)


def test_other_ids_are_404(client, auth):
    auth.sign_in(roles=("administrator",))
    assert auth.post("/admin/users/999999/roles", {"roles": ["staff"]}).status_code == 404


def test_staff_cannot_change_roles(client, auth, make):
    make.user(roles=("administrator",))
    auth.sign_in(roles=("staff",))
    victim = make.user()
    assert (
        auth.post(f"/admin/users/{victim.id}/roles", {"roles": ["administrator"]}).status_code
        == 403
    )
    assert User.get_by_id(victim.id).role_names == {"staff"}
