"""An assistant's lifecycle through the pages: submit, approve or reject, edits after approval,
versions, clone, disable and enable, delete, transfer — and who may do each."""

from __future__ import annotations

import pytest

from app.models import (
    Assistant,
    AssistantVersion,
    AuditEvent,
    ChainPrompt,
    Execution,
    ExecutionEvent,
    ExecutionMessage,
    InputField,
    PromptResult,
)

ACTORS = ["owner", "admin", "other_staff", "student", "anonymous"]


@pytest.fixture
def world(make):
    admin = make.user(roles=("administrator",), name="Ada Admin")
    owner = make.user(roles=("staff",), name="Tom Teacher")
    model = make.model(name="Test model")
    assistant = make.assistant(
        user=owner,
        name="Seed chain",
        description="Analyzes a text, then summarizes it.",
        fields=[{"name": "user_input", "label": "Your text"}],
        prompts=[
            {"name": "Analyze", "content": "Analyze this: {{user_input}}", "model": model},
            {
                "name": "Summarize",
                "content": "Summarize: {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
    )
    return {"admin": admin, "owner": owner, "model": model, "assistant": assistant}


def act_as(actor, auth, make, world):
    if actor == "owner":
        return auth.sign_in(world["owner"])
    if actor == "admin":
        return auth.sign_in(world["admin"])
    if actor == "other_staff":
        return auth.sign_in(roles=("staff",))
    if actor == "student":
        return auth.sign_in(roles=("student",))
    auth.post("/sign-out")
    return None


def fresh(assistant: Assistant) -> Assistant:
    return Assistant.get_by_id(assistant.id)


def actions(action: str) -> list[str]:
    return [e.action for e in AuditEvent.select().where(AuditEvent.action == action)]


def submit(auth, assistant):
    return auth.post(f"/assistants/{assistant.id}/submit")


def approve(auth, assistant):
    return auth.post(f"/admin/approvals/{assistant.id}/approve")


def reject(auth, assistant, reason="Too vague"):
    return auth.post(f"/admin/approvals/{assistant.id}/reject", {"reason": reason})


def expect_denied(response, actor):
    if actor == "other_staff":
        assert response.status_code == 404
    elif actor == "student":
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


# --- submit ----------------------------------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_submit(client, auth, make, world, actor):
    act_as(actor, auth, make, world)
    response = submit(auth, world["assistant"])
    assistant = fresh(world["assistant"])
    if actor in ("owner", "admin"):
        assert response.status_code == 303
        assert assistant.status == "pending_approval" and assistant.version == 1
        version = AssistantVersion.get(AssistantVersion.assistant == assistant)
        assert version.number == 1 and version.decision is None
        assert version.definition["prompts"][0]["content"] == "Analyze this: {{user_input}}"
        assert version.definition["details"]["description"].startswith("Analyzes")
        assert actions("assistant.submitted") == ["assistant.submitted"]
    else:
        expect_denied(response, actor)
        assert assistant.status == "draft" and AssistantVersion.select().count() == 0


def test_submit_needs_the_checklist(client, auth, make, world):
    owner = auth.sign_in(world["owner"])
    bare = make.assistant(user=owner, name="Bare", description="")
    response = submit(auth, bare)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not ready to submit" in page and "it has a description" in page
    assert "it has at least one prompt" in page
    assert fresh(bare).status == "draft" and AssistantVersion.select().count() == 0


def test_submit_is_refused_while_lint_finds_errors(client, auth, make, world):
    owner = auth.sign_in(world["owner"])
    broken = make.assistant(
        user=owner,
        description="Broken on purpose",
        prompts=[{"name": "A", "content": "Hello {{nobody}}", "model": world["model"]}],
    )
    page = client.get(f"/assistants/{broken.id}/edit").get_data(as_text=True)
    assert "The check finds no problems" in page and "{{nobody}}" in page
    assert 'disabled aria-describedby="submit-help"' in page
    submit(auth, broken)
    assert fresh(broken).status == "draft"


def test_the_edit_page_shows_the_checklist_ready(client, auth, world):
    auth.sign_in(world["owner"])
    page = client.get(f"/assistants/{world['assistant'].id}/edit").get_data(as_text=True)
    assert "Approval and versions" in page and "Before you submit" in page
    assert "Submit for approval</button>" in page and 'aria-describedby="submit-help"' not in page


# --- the approval queue ----------------------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_only_administrators_see_the_queue_and_decide(client, auth, make, world, actor):
    auth.sign_in(world["owner"])
    submit(auth, world["assistant"])
    act_as(actor, auth, make, world)
    queue = client.get("/admin/approvals")
    approved = approve(auth, world["assistant"])
    rejected = reject(auth, world["assistant"])
    if actor == "admin":
        assert queue.status_code == 200 and "Seed chain" in queue.get_data(as_text=True)
        assert approved.status_code == 303 and rejected.status_code == 303
        return
    for response in (queue, approved, rejected):
        if actor == "anonymous":
            assert response.status_code == 302
        else:
            assert response.status_code == 403
    assert fresh(world["assistant"]).status == "pending_approval"


def test_the_queue_shows_findings_a_test_run_link_and_the_diff(client, auth, make, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert "No problems found." in page and f"/assistants/{assistant.id}/run" in page
    assert "First review" in page
    assert '<span class="nav-count">1' in page  # the nav's pending count
    approve(auth, assistant)
    auth.sign_in(world["owner"])
    prompt = assistant.ordered_prompts()[1]
    form = {"name": "Summarize", "content": "Summarize briefly: {{prompt_1_output}}"}
    auth.post(
        f"/assistants/{assistant.id}/prompts/{prompt.id}", {**form, "model_id": world["model"].id}
    )
    auth.sign_in(world["admin"])
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert "Changes since version 1 (approved)" in page
    assert "<ins>briefly</ins>" in page


def test_approve_then_the_catalog_then_reject_with_a_reason(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    assert approve(auth, assistant).status_code == 303
    assistant = fresh(assistant)
    assert assistant.status == "approved"
    version = AssistantVersion.get(AssistantVersion.assistant == assistant)
    assert (version.decision, version.decided_by_id) == ("approved", world["admin"].id)
    assert actions("assistant.approved") == ["assistant.approved"]
    # Approving twice is refused with a message, not an error page.
    response = approve(auth, assistant)
    assert response.status_code == 303
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert "Only an assistant waiting for approval can be decided" in page


def test_reject_needs_a_reason_and_keeps_what_was_typed(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    response = reject(auth, assistant, "   ")
    assert response.status_code == 422
    assert "Say why it is rejected" in response.get_data(as_text=True)
    assert fresh(assistant).status == "pending_approval"
    long = "x" * 2001
    response = reject(auth, assistant, long)
    assert response.status_code == 422 and long in response.get_data(as_text=True)


def test_the_owner_sees_the_rejection_once_and_on_my_assistants(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    reject(auth, assistant, "Please say <who> it is for.")
    assert fresh(assistant).rejection_reason == "Please say <who> it is for."
    auth.sign_in(world["owner"])
    catalog = client.get("/catalog").get_data(as_text=True)
    assert "“Seed chain” was not approved (version 1)" in catalog
    assert "Please say &lt;who&gt; it is for." in catalog and "<who>" not in catalog
    again = client.get("/catalog").get_data(as_text=True)
    assert "was not approved" not in again  # told once
    mine = client.get("/assistants").get_data(as_text=True)
    assert "Please say &lt;who&gt; it is for." in mine
    edit = client.get(f"/assistants/{assistant.id}/edit").get_data(as_text=True)
    assert "Not approved" in edit and "Please say &lt;who&gt; it is for." in edit


def test_the_owner_hears_about_an_approval(client, auth, world):
    auth.sign_in(world["owner"])
    submit(auth, world["assistant"])
    auth.sign_in(world["admin"])
    approve(auth, world["assistant"])
    auth.sign_in(world["owner"])
    page = client.get("/assistants").get_data(as_text=True)
    assert "“Seed chain” was approved (version 1): it is in the catalog." in page


def test_resubmit_after_rejection_freezes_version_two(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    reject(auth, assistant, "Describe it better")
    auth.sign_in(world["owner"])
    auth.post(
        f"/assistants/{assistant.id}/details",
        {"name": "Seed chain", "description": "Analyzes any text, then summarizes it."},
    )
    assert fresh(assistant).status == "rejected"  # editing a rejected one keeps it rejected
    submit(auth, assistant)
    versions = list(AssistantVersion.select().order_by(AssistantVersion.number))
    assert [(v.number, v.decision) for v in versions] == [(1, "rejected"), (2, None)]
    assert versions[0].definition["details"]["description"] == (
        "Analyzes a text, then summarizes it."
    )
    assert fresh(assistant).version == 2


def test_approving_needs_lint_clean(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    world["model"].is_active = False
    world["model"].save()
    auth.sign_in(world["admin"])
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert "it can be approved once they are fixed" in page
    approve(auth, assistant)
    assert fresh(assistant).status == "pending_approval"
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert "can&#39;t be approved until they are fixed" in page


# --- editing after approval ------------------------------------------------------------------
def _approved(auth, world):
    auth.sign_in(world["owner"])
    submit(auth, world["assistant"])
    auth.sign_in(world["admin"])
    approve(auth, world["assistant"])
    return fresh(world["assistant"])


BUILDER_EDITS = [
    ("details", lambda w: (f"/assistants/{w['assistant'].id}/details", _details())),
    ("add field", lambda w: (f"/assistants/{w['assistant'].id}/fields", _field())),
    (
        "edit prompt",
        lambda w: (
            f"/assistants/{w['assistant'].id}/prompts/{w['assistant'].ordered_prompts()[0].id}",
            {"name": "Analyze", "content": "Study this: {{user_input}}", "model_id": w["model"].id},
        ),
    ),
    (
        "move prompt",
        lambda w: (
            f"/assistants/{w['assistant'].id}/prompts/{w['assistant'].ordered_prompts()[1].id}/stage",
            {"action": "join"},
        ),
    ),
]


def _details():
    return {"name": "Seed chain", "description": "Changed.", "audience": ["staff"]}


def _field():
    return {"label": "Tone", "name": "tone", "field_type": "short_text"}


@pytest.mark.parametrize("edit", [e[1] for e in BUILDER_EDITS], ids=[e[0] for e in BUILDER_EDITS])
@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_editing_an_approved_assistant_sends_it_back(client, auth, make, world, edit, htmx):
    assistant = _approved(auth, world)
    auth.sign_in(world["owner"])
    url, form = edit(world)
    headers = {"HX-Request": "true"} if htmx else {}
    response = auth.post(url, form, headers=headers)
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:800]
    assistant = fresh(assistant)
    assert (assistant.status, assistant.version) == ("pending_approval", 2)
    assert [v.decision for v in AssistantVersion.select().order_by(AssistantVersion.number)] == [
        "approved",
        None,
    ]
    assert actions("assistant.edited_back_to_pending") == ["assistant.edited_back_to_pending"]
    body = response.get_data(as_text=True)
    if htmx and "HX-Redirect" not in response.headers:
        assert 'id="lifecycle" class="card builder-section lifecycle"' in body
        assert 'hx-swap-oob="true"' in body and "sends it back for approval as version 2" in body
    else:
        page = client.get(f"/assistants/{assistant.id}/edit").get_data(as_text=True)
        assert "sends it back for approval as version 2" in page
    # Out of the catalog for others; still runs for its owner and administrators.
    assert client.get(f"/assistants/{assistant.id}/run").status_code == 200
    auth.sign_in(world["admin"])
    assert client.get(f"/assistants/{assistant.id}/run").status_code == 200
    auth.sign_in(roles=("staff",))
    assert "Seed chain" not in client.get("/catalog").get_data(as_text=True)
    assert client.get(f"/assistants/{assistant.id}/run").status_code == 404


def test_the_edit_page_warns_before_editing_an_approved_assistant(client, auth, world):
    assistant = _approved(auth, world)
    auth.sign_in(world["owner"])
    page = client.get(f"/assistants/{assistant.id}/edit").get_data(as_text=True)
    assert "Changing anything on this page sends it back for approval" in page
    prompt = assistant.ordered_prompts()[0]
    page = client.get(f"/assistants/{assistant.id}/prompts/{prompt.id}/edit").get_data(as_text=True)
    assert "Saving a change sends it back for approval" in page


def test_edits_while_pending_update_the_version_under_review(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.post(f"/assistants/{assistant.id}/details", _details())
    versions = list(AssistantVersion.select())
    assert len(versions) == 1 and versions[0].definition["details"]["description"] == "Changed."
    assert fresh(assistant).status == "pending_approval"


def test_a_decided_version_is_frozen(client, auth, world):
    assistant = _approved(auth, world)
    auth.sign_in(world["owner"])
    auth.post(f"/assistants/{assistant.id}/details", _details())
    auth.post(f"/assistants/{assistant.id}/details", {**_details(), "description": "Again."})
    first = AssistantVersion.get(AssistantVersion.number == 1)
    assert first.definition["details"]["description"] == "Analyzes a text, then summarizes it."
    second = AssistantVersion.get(AssistantVersion.number == 2)
    assert second.definition["details"]["description"] == "Again."


# --- runs record their version ---------------------------------------------------------------
def test_each_run_records_the_version_it_ran(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    auth.post(f"/assistants/{assistant.id}/run", {"user_input": "a draft run"})
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    approve(auth, assistant)
    auth.sign_in(roles=("staff",))
    auth.post(f"/assistants/{assistant.id}/run", {"user_input": "from the catalog"})
    runs = list(Execution.select().order_by(Execution.id))
    assert [(r.version, r.definition["assistant"]["version"]) for r in runs] == [(0, 0), (1, 1)]


# --- clone -----------------------------------------------------------------------------------
def test_clone_is_an_independent_draft_with_references_intact(client, auth, make, world):
    original = _approved(auth, world)
    me = auth.sign_in(roles=("staff",))
    response = auth.post(f"/assistants/{original.id}/clone")
    assert response.status_code == 303
    copy = Assistant.get(Assistant.user == me)
    assert (copy.name, copy.status, copy.version) == ("Copy of Seed chain", "draft", 0)
    assert response.headers["Location"].endswith(f"/assistants/{copy.id}/edit#details")
    strip = ("id",)
    mine, theirs = copy.definition(), original.definition()
    for a, b in zip(mine["prompts"], theirs["prompts"], strict=True):
        assert {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }
    assert mine["fields"] == theirs["fields"]
    from app.chain.lint import lint

    assert lint(mine) == []
    # Independent: editing the copy leaves the original alone.
    auth.post(f"/assistants/{copy.id}/details", {**_details(), "name": "Mine now"})
    assert fresh(original).name == "Seed chain" and fresh(original).status == "approved"
    assert InputField.select().where(InputField.assistant == original).count() == 1
    assert actions("assistant.cloned") == ["assistant.cloned"]


@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_clone_a_draft(client, auth, make, world, actor):
    act_as(actor, auth, make, world)
    response = auth.post(f"/assistants/{world['assistant'].id}/clone")
    if actor in ("owner", "admin"):
        assert response.status_code == 303 and Assistant.select().count() == 2
    else:
        expect_denied(response, actor)
        assert Assistant.select().count() == 1


# --- disable, enable -------------------------------------------------------------------------
def test_disable_retires_and_an_administrator_enables(client, auth, make, world):
    assistant = _approved(auth, world)
    auth.sign_in(world["owner"])
    auth.post(f"/assistants/{assistant.id}/run", {"user_input": "kept"})
    assert auth.post(f"/assistants/{assistant.id}/disable").status_code == 303
    assert fresh(assistant).status == "disabled"
    assert client.get(f"/assistants/{assistant.id}/run").status_code == 404  # cannot run
    assert Execution.select().count() == 1  # runs kept
    assert auth.post(f"/assistants/{assistant.id}/enable").status_code == 403
    auth.sign_in(roles=("staff",))
    assert "Seed chain" not in client.get("/catalog").get_data(as_text=True)
    auth.sign_in(world["admin"])
    assert auth.post(f"/assistants/{assistant.id}/enable").status_code == 303
    assert fresh(assistant).status == "approved"
    assert actions("assistant.disabled") and actions("assistant.enabled")


@pytest.mark.parametrize("actor", ["other_staff", "student", "anonymous"])
def test_others_cannot_disable(client, auth, make, world, actor):
    act_as(actor, auth, make, world)
    expect_denied(auth.post(f"/assistants/{world['assistant'].id}/disable"), actor)
    assert fresh(world["assistant"]).status == "draft"


# --- delete ----------------------------------------------------------------------------------
def _with_history(world):
    """Two finished runs with results, events and a chat message."""
    assistant = world["assistant"]
    for n in range(2):
        run = Execution.create(
            assistant=assistant,
            user=world["owner"],
            status="completed",
            definition=assistant.definition(),
        )
        PromptResult.create(execution=run, step=1, prompt_name="Analyze", status="completed")
        ExecutionEvent.create(execution=run, seq=1, event_type="execution-start")
        ExecutionMessage.create(execution=run, role="user", content=f"hello {n}")
    return assistant


def test_delete_confirms_the_run_count_then_removes_everything(client, auth, world):
    assistant = _with_history(world)
    auth.sign_in(world["owner"])
    submit(auth, assistant)
    auth.sign_in(world["admin"])
    reject(auth, assistant, "No")
    auth.sign_in(world["owner"])
    page = client.get(f"/assistants/{assistant.id}/delete")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<strong>2 runs</strong>" in text and "<strong>1 version</strong>" in text
    assert "and 2 runs</button>" in text
    response = auth.post(f"/assistants/{assistant.id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/assistants")
    for model in (
        Assistant,
        InputField,
        ChainPrompt,
        Execution,
        PromptResult,
        ExecutionEvent,
        ExecutionMessage,
        AssistantVersion,
    ):
        assert model.select().count() == 0, model.__name__
    event = AuditEvent.get(AuditEvent.action == "assistant.deleted")
    assert event.details["runs"] == 2 and event.details["name"] == "Seed chain"


def test_owners_cannot_delete_approved_ones_administrators_can(client, auth, world):
    assistant = _approved(auth, world)
    auth.sign_in(world["owner"])
    page = client.get(f"/assistants/{assistant.id}/delete")
    assert page.status_code == 403 and "Disable it instead" in page.get_data(as_text=True)
    assert auth.post(f"/assistants/{assistant.id}/delete").status_code == 403
    assert Assistant.select().count() == 1
    auth.sign_in(world["admin"])
    assert auth.post(f"/assistants/{assistant.id}/delete").status_code == 303
    assert Assistant.select().count() == 0 and AssistantVersion.select().count() == 0


def test_delete_waits_for_running_runs(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    Execution.create(assistant=assistant, user=world["owner"], status="running", definition={})
    page = client.get(f"/assistants/{assistant.id}/delete").get_data(as_text=True)
    assert "1 run is queued or running" in page
    response = auth.post(f"/assistants/{assistant.id}/delete")
    assert response.status_code == 303
    assert "queued or running" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert Assistant.select().count() == 1


@pytest.mark.parametrize("actor", ["other_staff", "student", "anonymous"])
def test_others_cannot_delete(client, auth, make, world, actor):
    act_as(actor, auth, make, world)
    expect_denied(client.get(f"/assistants/{world['assistant'].id}/delete"), actor)
    expect_denied(auth.post(f"/assistants/{world['assistant'].id}/delete"), actor)
    assert Assistant.select().count() == 1


# --- transfer --------------------------------------------------------------------------------
def test_an_administrator_transfers_ownership(client, auth, make, world):
    assistant = world["assistant"]
    heir = make.user(roles=("staff",), name="Helen Heir")
    student = make.user(roles=("student",), name="Stu Dent")
    auth.sign_in(world["admin"])
    page = client.get(f"/assistants/{assistant.id}/transfer").get_data(as_text=True)
    assert "Helen Heir (" in page and "Stu Dent (" not in page
    assert f'<option value="{world["owner"].id}"' not in page
    response = auth.post(f"/assistants/{assistant.id}/transfer", {"owner": str(student.id)})
    assert response.status_code == 422 and fresh(assistant).user_id == world["owner"].id
    response = auth.post(f"/assistants/{assistant.id}/transfer", {"owner": str(heir.id)})
    assert response.status_code == 303 and fresh(assistant).user_id == heir.id
    event = AuditEvent.get(AuditEvent.action == "assistant.transferred")
    assert (event.details["previous_owner"], event.details["new_owner"]) == (
        world["owner"].id,
        heir.id,
    )
    auth.sign_in(heir)
    assert client.get(f"/assistants/{assistant.id}/edit").status_code == 200
    auth.sign_in(world["owner"])
    assert client.get(f"/assistants/{assistant.id}/edit").status_code == 404


@pytest.mark.parametrize("actor", ["owner", "other_staff", "student"])
def test_only_administrators_transfer(client, auth, make, world, actor):
    act_as(actor, auth, make, world)
    assert client.get(f"/assistants/{world['assistant'].id}/transfer").status_code == 403
    response = auth.post(
        f"/assistants/{world['assistant'].id}/transfer", {"owner": str(world["admin"].id)}
    )
    assert response.status_code == 403
    assert fresh(world["assistant"]).user_id == world["owner"].id


def test_unknown_ids_are_404(client, auth, world):
    auth.sign_in(world["admin"])
    for path in ("/assistants/999999/versions", "/assistants/999999/delete"):
        assert client.get(path).status_code == 404
    for path in (
        "/assistants/999999/submit",
        "/assistants/999999/clone",
        "/admin/approvals/999999/approve",
        "/admin/approvals/999999/reject",
    ):
        assert auth.post(path).status_code == 404
