"""Who may call what: the expected outcome of every route for each kind of caller (DESIGN §8).

`test_authz_matrix.py` walks `app.url_map` and calls every method of every rule as each actor.
One row per "METHOD endpoint"; the columns are, in order:

    anonymous, student, staff owner, staff not owner, administrator

The "owner" owns every seeded object: an approved assistant (audience: staff and administrators)
with a field and a prompt, an AI model, a completed run (a prompt result, an event, a chat
message), an API token, and another user (for the administrators' user routes) with a password
reset link (issued by the administrator). URL arguments are filled from these ids (see
`World.seed`).

Outcomes:
    OK       past authorization: 2xx, a redirect that is not to sign-in, or 400/409/413/422 (the
             request was judged on its content)
    SIGN_IN  a page that redirects to /sign-in
    401      the API without a (valid) bearer token
    403      the page exists but the caller's role may not use it (students in the builder)
    404      not yours to see: other people's assistants, runs, tokens, messages — never 403

Pages are called with a session cookie; `api.*` endpoints with a bearer token holding every scope
the actor may hold (and no session). A 5xx always fails.

Adding a route? `test_every_route_has_a_row` fails and prints the row to paste, with what the app
does now — check it against DESIGN §8 before pasting. Give a POST a body in BODIES when an empty
form would not reach the code you mean to test.
"""

import json
from pathlib import Path

OK, SIGN_IN = "ok", "sign-in"
ACTORS = ("anonymous", "student", "owner", "other_staff", "admin")

# fmt: off
TABLE: dict[str, tuple] = {
    # "METHOD endpoint":              (anonymous, student, owner, other staff, admin)
    # ops
    "GET ops.healthz":                   (OK,      OK,      OK,      OK,      OK),
    "GET ops.metrics":                   (OK,      OK,      OK,      OK,      OK),
    "GET ops.readyz":                    (OK,      OK,      OK,      OK,      OK),
    # auth
    "POST auth.create_token":            (SIGN_IN, OK,      OK,      OK,      OK),
    "POST auth.change_password":         (SIGN_IN, OK,      OK,      OK,      OK),
    "GET auth.profile":                  (SIGN_IN, OK,      OK,      OK,      OK),
    "POST auth.revoke_token":            (SIGN_IN, 404,     OK,      404,     404),
    # The reset link is the credential: whoever holds it may set the password, signed in or not.
    # The POST succeeds for everyone and then sends them to sign in with the new password (a
    # SIGN_IN that is a success here: the route needs no session; test_passwords.py covers it).
    "GET auth.reset_password":           (OK,      OK,      OK,      OK,      OK),
    "POST auth.reset_password":          (SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN),
    "GET auth.setup":                    (404,     404,     404,     404,     404),
    "POST auth.setup":                   (404,     404,     404,     404,     404),
    "GET auth.sign_in":                  (OK,      OK,      OK,      OK,      OK),
    "POST auth.sign_in":                 (OK,      OK,      OK,      OK,      OK),
    "POST auth.sign_out":                (SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN),
    # Single sign-on: these exist only when OIDC_ISSUER is set (404 for everyone without it,
    # as here). With SSO on they are public by nature (they are how one signs in); the flow and
    # its refusals are tested against a loopback provider in test_oidc.py.
    "GET auth.oidc_callback":            (404,     404,     404,     404,     404),
    "GET auth.oidc_start":               (404,     404,     404,     404,     404),
    # catalog
    "GET catalog.home":                  (SIGN_IN, OK,      OK,      OK,      OK),
    "GET catalog.index":                 (SIGN_IN, OK,      OK,      OK,      OK),
    # builder
    "POST builder.add_field":            (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.add_prompt":           (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.check_field_name":     (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.check_prompt":         (SIGN_IN, 403,     OK,      404,     OK),
    # clone: any assistant the caller may see (run or edit) becomes their own draft
    "POST builder.clone":                (SIGN_IN, 403,     OK,      OK,      OK),
    "POST builder.create":               (SIGN_IN, 403,     OK,      OK,      OK),
    # delete: owners delete their drafts and rejected ones, administrators any (issue 8); the
    # seeded assistant is approved, so its owner sees the page but may not delete it
    "GET builder.delete":                (SIGN_IN, 403,     403,     404,     OK),
    "POST builder.delete":               (SIGN_IN, 403,     403,     404,     OK),
    "POST builder.delete_field":         (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.delete_prompt":        (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.disable":              (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.edit":                  (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.edit_field":            (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.edit_prompt":           (SIGN_IN, 403,     OK,      404,     OK),
    # enable: administrators only (it puts a retired assistant back where its versions say,
    # possibly into the catalog, without a new review)
    "POST builder.enable":               (SIGN_IN, 403,     403,     403,     OK),
    "GET builder.fields_section":        (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.index":                 (SIGN_IN, 403,     OK,      OK,      OK),
    "POST builder.move_field":           (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.move_prompt":          (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.new":                   (SIGN_IN, 403,     OK,      OK,      OK),
    "GET builder.new_prompt":            (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.preview_page":          (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.prompts_section":       (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.run_preview":          (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.stage_prompt":         (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.submit":               (SIGN_IN, 403,     OK,      404,     OK),
    # transfer ownership: administrators only (issue 8)
    "GET builder.transfer":              (SIGN_IN, 403,     403,     403,     OK),
    "POST builder.transfer":             (SIGN_IN, 403,     403,     403,     OK),
    "POST builder.update_details":       (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.update_field":         (SIGN_IN, 403,     OK,      404,     OK),
    "POST builder.update_prompt":        (SIGN_IN, 403,     OK,      404,     OK),
    "GET builder.versions":              (SIGN_IN, 403,     OK,      404,     OK),
    # runs
    "GET runs.assistant_csv":            (SIGN_IN, 404,     OK,      404,     OK),
    "POST runs.cancel":                  (SIGN_IN, 404,     OK,      404,     OK),
    "GET runs.detail":                   (SIGN_IN, 404,     OK,      404,     OK),
    "GET runs.export_json":              (SIGN_IN, 404,     OK,      404,     OK),
    "GET runs.export_markdown":          (SIGN_IN, 404,     OK,      404,     OK),
    "GET runs.failed":                   (SIGN_IN, 403,     403,     403,     OK),
    "POST runs.feedback":                (SIGN_IN, 404,     OK,      404,     403),
    # Follow-up questions: the owner asks; administrators read the conversation, never add to it.
    "POST runs.ask_question":            (SIGN_IN, 404,     OK,      404,     403),
    "GET runs.index":                    (SIGN_IN, OK,      OK,      OK,      OK),
    "POST runs.retry":                   (SIGN_IN, 404,     OK,      404,     OK),
    "GET runs.show":                     (SIGN_IN, 404,     OK,      404,     OK),
    "GET runs.start":                    (SIGN_IN, 404,     OK,      OK,      OK),
    "POST runs.start":                   (SIGN_IN, 404,     OK,      OK,      OK),
    "GET runs.stream":                   (SIGN_IN, 404,     OK,      404,     OK),
    # admin
    "GET admin.approvals":               (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.approve":                (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.reject":                 (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.audit_csv":               (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.audit_trail":             (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.settings":                (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.update_retention":       (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.activate_model":         (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.change_roles":           (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.confirm_deactivate":      (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.create_model":           (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.create_user":            (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.issue_reset_link":       (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.deactivate_model":       (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.edit_model":              (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.export_file":            (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.import_file":            (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.interchange":             (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.models":                  (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.usage":                   (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.budgets_page":            (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.save_budgets":           (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.usage_csv":               (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.new_model":               (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.set_active":             (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.test_model":             (SIGN_IN, 403,     403,     403,     OK),
    "POST admin.update_model":           (SIGN_IN, 403,     403,     403,     OK),
    "GET admin.users":                   (SIGN_IN, 403,     403,     403,     OK),
    # api
    "GET api.assistant":                 (401,     404,     OK,      OK,      OK),
    "GET api.assistants":                (401,     OK,      OK,      OK,      OK),
    "POST api.cancel_execution":         (401,     404,     OK,      404,     OK),
    # import/export need assistants:write, which only administrators may hold
    "POST api.export_assistants":        (401,     403,     403,     403,     OK),
    "POST api.import_assistants":        (401,     403,     403,     403,     OK),
    "GET api.execution":                 (401,     404,     OK,      404,     OK),
    "GET api.execution_messages":        (401,     404,     OK,      404,     OK),
    "POST api.execution_messages":       (401,     404,     OK,      404,     403),
    "GET api.execution_events":          (401,     404,     OK,      404,     OK),
    "GET api.openapi":                   (OK,      OK,      OK,      OK,      OK),
    "POST api.start_execution":          (401,     404,     OK,      OK,      OK),
}
# fmt: on

# Request bodies: pages post {"form": {...}} ("{assistant_id}" etc. are filled from the seeded
# ids); the API takes {"json": {...}} (a string that is exactly "{assistant_id}" becomes the id);
# uploads are {"files": {"field": ("name.json", b"...")}}. Without a row here, an empty form / no
# body is sent.
AI_STUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "aistudio" / "single_prompt.json"
NEW_PASSWORD = "a brand new password"
BODIES: dict[str, dict] = {
    "POST admin.change_roles": {"form": {"roles": "staff"}},
    "POST admin.create_model": {
        "form": {"name": "New model", "model_id": "openai/new-model", "provider": "openai"}
    },
    "POST admin.export_file": {"form": {"assistant_ids": "{assistant_id}"}},
    "POST admin.import_file": {"files": {"file": ("single_prompt.json", AI_STUDIO.read_bytes())}},
    "POST admin.reject": {"form": {"reason": "Say who it is for in the description."}},
    "POST api.export_assistants": {"json": {"assistant_ids": ["{assistant_id}"]}},
    "POST api.import_assistants": {"json": json.loads(AI_STUDIO.read_text())},
    "POST auth.change_password": {
        "form": {
            "current_password": "correct horse battery",  # tests.factories PASSWORD
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        }
    },
    "POST auth.reset_password": {
        "form": {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    },
    "POST builder.transfer": {"form": {"owner": "{other_staff_id}"}},
    "POST admin.create_user": {
        "form": {
            "name": "New person",
            "email": "new.person@school.example",
            "password": "a long password",
            "password_confirm": "a long password",
            "roles": "student",
        }
    },
    "POST admin.update_model": {
        "form": {"name": "Renamed model", "model_id": "openai/renamed", "provider": "openai"}
    },
    "POST admin.update_retention": {"form": {"retention_days": "30"}},
    "POST api.start_execution": {"json": {"inputs": {"topic": "tides"}}},
    "POST auth.create_token": {"form": {"name": "CI", "scopes": "assistants:read"}},
    "POST builder.add_field": {
        "form": {"label": "Grade", "name": "grade", "field_type": "short_text"}
    },
    "POST builder.add_prompt": {
        "form": {"name": "Third", "content": "More {{topic}}", "model_id": "{ai_model_id}"}
    },
    "POST builder.create": {"form": {"name": "New assistant", "audience": "staff"}},
    "POST builder.move_field": {"form": {"direction": "down"}},
    "POST builder.move_prompt": {"form": {"direction": "up"}},
    "POST builder.stage_prompt": {"form": {"action": "join"}},
    "POST builder.update_details": {"form": {"name": "Renamed", "audience": "staff"}},
    "POST builder.update_field": {
        "form": {"label": "Subject", "name": "topic", "field_type": "short_text"}
    },
    "POST builder.update_prompt": {
        "form": {"name": "Also", "content": "And also {{topic}}", "model_id": "{ai_model_id}"}
    },
    "POST builder.delete_prompt": {"form": {"confirm": "yes"}},
    "POST runs.feedback": {"form": {"value": "up"}},
    "POST runs.ask_question": {"form": {"question": "And in one sentence?"}},
    "POST admin.save_budgets": {"form": {"assistant_cost_per_month": "25"}},
    "POST api.execution_messages": {"json": {"content": "And in one sentence?"}},
    "POST runs.retry": {"form": {"step": "1"}},
    "POST runs.start": {"form": {"topic": "tides"}},
}
