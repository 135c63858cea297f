"""Prompts: the editor, references that follow renames and moves, deleting, stages, live lint."""

from __future__ import annotations

from app.models import ChainPrompt
from app.models.audit import AuditEvent

HX = {"HX-Request": "true"}


def chain(make, user, *contents, max_tokens=1000):
    """Prompts named A, B, C… one per stage, with these contents."""
    model = make.model(name="Demo", max_tokens=max_tokens)
    prompts = [
        {"name": "ABCDEFGHIJKLMNOPQRSTU"[i], "content": text, "model": model, "position": i}
        for i, text in enumerate(contents)
    ]
    return make.assistant(user=user, fields=[{"name": "user_input"}], prompts=prompts), model


def layout(assistant):
    return [(p.name, p.position, p.sort_order) for p in assistant.ordered_prompts()]


def contents(assistant):
    return {p.name: p.content for p in assistant.ordered_prompts()}


def form(model, **values):
    return {
        "name": "Analyze",
        "content": "Analyze this: {{user_input}}",
        "model_id": model.id,
    } | values


def test_add_a_prompt_in_a_new_last_stage(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me, "first {{user_input}}")
    page = client.get(f"/assistants/{assistant.id}/prompts/new").get_data(as_text=True)
    assert "{{user_input}}" in page and "{{prompt_1_output}}" in page and "{{a}}" in page
    values = form(model, name="Summarize", content="Summarize: {{prompt_1_output}}")
    values |= {"temperature": "0.7", "max_tokens": "500", "timeout_seconds": ""}
    response = auth.post(f"/assistants/{assistant.id}/prompts", values)
    assert response.status_code == 303 and response.headers["Location"].endswith("#prompts")
    prompt = ChainPrompt.get(ChainPrompt.name == "Summarize")
    assert (prompt.position, prompt.sort_order, prompt.temperature) == (1, 0, 0.7)
    assert prompt.max_tokens == 500 and prompt.timeout_seconds is None
    assert prompt.model_id == model.id and prompt.system_context is None
    assert AuditEvent.get(AuditEvent.action == "prompt.added").details["prompt_id"] == prompt.id
    hx = auth.post(f"/assistants/{assistant.id}/prompts", form(model, name="C"), headers=HX)
    assert hx.status_code == 200 and hx.headers["HX-Redirect"].endswith("#prompts")


def test_prompt_form_errors_answer_422_and_keep_the_text(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me)
    off = make.model(name="Retired", is_active=False)
    url = f"/assistants/{assistant.id}/prompts"
    cases = [
        (form(model, name=""), "Give the prompt a short name."),
        (form(model, content="   "), "Write the prompt&#39;s text."),
        (form(model, model_id=""), "Choose a model."),
        (form(model, model_id=off.id), "Choose one of the models in the list."),
        (form(model, temperature="3"), "from 0 to 2"),
        (form(model, max_tokens="0"), "from 1 to 200,000"),
        (form(model, fallback_model_id=off.id), "or none"),
    ]
    for values, message in cases:
        response = auth.post(url, values | {"system_context": "Be kind"}, headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, values
        assert message in html, (message, html[:1500])
        assert "<html" not in html and "Be kind" in html
    assert ChainPrompt.select().count() == 0
    page = client.get(f"/assistants/{assistant.id}/prompts/new").get_data(as_text=True)
    assert "Retired" not in page and "Demo" in page


def test_a_prompt_keeps_its_turned_off_model_in_the_list(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me, "{{user_input}}")
    model.is_active = False
    model.save()
    prompt = assistant.ordered_prompts()[0]
    page = client.get(f"/assistants/{assistant.id}/prompts/{prompt.id}/edit").get_data(as_text=True)
    assert "Demo (turned off)" in page and "which is turned off" in page
    response = auth.post(f"/assistants/{assistant.id}/prompts/{prompt.id}", form(model))
    assert response.status_code == 303


def test_renaming_a_prompt_rewrites_slug_references_and_says_so(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me, "Analyze this: {{user_input}}", "Summarize: {{analyze}}")
    first = assistant.ordered_prompts()[0]
    first.name = "Analyze"
    first.save()
    url = f"/assistants/{assistant.id}/prompts/{first.id}"
    response = auth.post(url, form(model, name="Analyze input"), headers=HX)
    assert response.status_code == 200 and "HX-Redirect" in response.headers
    assert contents(assistant)["B"] == "Summarize: {{analyze-input}}"
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "In “B”: {{analyze}} → {{analyze-input}}" in page
    event = AuditEvent.get(AuditEvent.action == "prompt.edited")
    assert event.details["references"] == ["In “B”: {{analyze}} → {{analyze-input}}"]


def test_moving_a_prompt_before_another_renumbers_references(client, auth, make):
    me = auth.sign_in()
    assistant, _ = chain(make, me, "{{user_input}}", "Summarize: {{prompt_1_output}}", "New")
    c = assistant.ordered_prompts()[2]
    url = f"/assistants/{assistant.id}/prompts/{c.id}/move"
    response = auth.post(url, {"direction": "up"}, headers=HX)
    assert response.status_code == 200 and 'id="prompts"' in response.get_data(as_text=True)
    response = auth.post(url, {"direction": "up"}, headers=HX)
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert layout(assistant) == [("C", 0, 0), ("A", 1, 0), ("B", 2, 0)]
    assert contents(assistant)["B"] == "Summarize: {{prompt_2_output}}"
    assert "{{prompt_1_output}} → {{prompt_2_output}}" in html
    assert [e.action for e in AuditEvent.select()].count("prompt.moved") == 2
    assert auth.post(url, {"direction": "sideways"}).status_code == 400


def test_moves_without_javascript_redirect_with_the_changes(client, auth, make):
    me = auth.sign_in()
    assistant, _ = chain(make, me, "{{user_input}}", "Summarize: {{prompt_1_output}}")
    a = assistant.ordered_prompts()[0]
    response = auth.post(f"/assistants/{assistant.id}/prompts/{a.id}/move", {"direction": "down"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Moved the prompt “A” down." in page
    assert "In “B”: {{prompt_1_output}} → {{prompt_2_output}}" in page
    assert layout(assistant) == [("B", 0, 0), ("A", 1, 0)]


def test_runs_alongside_and_back_on_its_own(client, auth, make):
    me = auth.sign_in()
    assistant, _ = chain(
        make, me, "{{user_input}}", "Also {{user_input}}", "End {{prompt_2_output}}"
    )
    b = assistant.ordered_prompts()[1]
    url = f"/assistants/{assistant.id}/prompts/{b.id}/stage"
    html = auth.post(url, {"action": "join"}, headers=HX).get_data(as_text=True)
    assert layout(assistant) == [("A", 0, 0), ("B", 0, 1), ("C", 1, 0)]
    assert "Stage 1: these 2 run at the same time" in html
    assert contents(assistant)["C"] == "End {{prompt_2_output}}"  # step order unchanged
    auth.post(url, {"action": "separate"}, headers=HX)
    assert layout(assistant) == [("A", 0, 0), ("B", 1, 0), ("C", 2, 0)]
    a = assistant.ordered_prompts()[0]
    auth.post(f"/assistants/{assistant.id}/prompts/{a.id}/stage", {"action": "join"})
    assert layout(assistant) == [("A", 0, 0), ("B", 1, 0), ("C", 2, 0)]  # nothing before A


def test_moving_inside_a_shared_stage_and_out_of_it(client, auth, make):
    me = auth.sign_in()
    assistant, _ = chain(make, me, "{{user_input}}", "x", "y")
    a, b, c = assistant.ordered_prompts()
    for prompt in (b, c):
        prompt.position, prompt.sort_order = 0, prompt.position
        prompt.save()
    move = f"/assistants/{assistant.id}/prompts/{{}}/move"
    auth.post(move.format(c.id), {"direction": "up"})
    assert layout(assistant) == [("A", 0, 0), ("C", 0, 1), ("B", 0, 2)]
    auth.post(move.format(a.id), {"direction": "up"})
    assert layout(assistant) == [("A", 0, 0), ("C", 1, 0), ("B", 1, 1)]


def test_deleting_a_referenced_prompt_asks_first_and_lists_who_refers(client, auth, make):
    me = auth.sign_in()
    assistant, _ = chain(
        make, me, "{{user_input}}", "Summarize: {{prompt_1_output}}", "Then {{prompt_2_output}}"
    )
    a = assistant.ordered_prompts()[0]
    url = f"/assistants/{assistant.id}/prompts/{a.id}/delete"
    response = auth.post(url, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Other prompts use “A”" in html and "Prompt 2 “B” uses" in html
    assert "{{prompt_1_output}}" in html and 'name="confirm" value="yes"' in html
    assert ChainPrompt.select().count() == 3
    page = auth.post(url)  # without JavaScript: the edit page asks the same question
    assert page.status_code == 200 and "Delete “A” anyway" in page.get_data(as_text=True)
    response = auth.post(url, {"confirm": "yes"}, headers=HX)
    html = response.get_data(as_text=True)
    assert "Deleted the prompt “A”." in html and "which was deleted" in html
    assert layout(assistant) == [("B", 0, 0), ("C", 1, 0)]
    assert contents(assistant)["C"] == "Then {{prompt_1_output}}"
    event = AuditEvent.get(AuditEvent.action == "prompt.deleted")
    assert event.details["prompt_id"] == a.id


def test_deleting_an_unreferenced_prompt_closes_the_gap(client, auth, make):
    me = auth.sign_in()
    assistant, _ = chain(make, me, "{{user_input}}", "b", "c")
    b = assistant.ordered_prompts()[1]
    response = auth.post(f"/assistants/{assistant.id}/prompts/{b.id}/delete")
    assert response.status_code == 303
    assert layout(assistant) == [("A", 0, 0), ("C", 1, 0)]


def test_at_most_twenty_prompts(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me, *[f"p{i} {{{{user_input}}}}" for i in range(20)])
    page = client.get(f"/assistants/{assistant.id}/prompts/new").get_data(as_text=True)
    assert "at most 20 prompts" in page
    edit = client.get(f"/assistants/{assistant.id}/edit").get_data(as_text=True)
    assert "20 prompts, the most it can have" in edit and "Add a prompt" not in edit
    response = auth.post(f"/assistants/{assistant.id}/prompts", form(model), headers=HX)
    assert response.status_code == 422 and "at most 20 prompts" in response.get_data(as_text=True)
    assert ChainPrompt.select().count() == 20


def test_live_lint_marks_a_forward_reference(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me, "{{user_input}}", "Summarize: {{prompt_1_output}}")
    a = assistant.ordered_prompts()[0]
    url = f"/assistants/{assistant.id}/prompts/{a.id}/check"
    values = form(model, name="A", content="Use <{{prompt_2_output}}> now")
    response = auth.post(url, values, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="prompt-lint"')
    assert "uses {{prompt_2_output}}, but prompt “B” runs later" in html
    assert "Use &lt;<mark>{{prompt_2_output}}</mark>&gt; now" in html
    assert "About 8 tokens of the model's 1,000-token context window." in html
    assert contents(assistant)["A"] == "{{user_input}}"  # nothing saved


def test_live_lint_of_a_new_prompt_and_the_token_warning(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me, "{{user_input}}", max_tokens=10)
    url = f"/assistants/{assistant.id}/prompts/check"
    html = auth.post(url, form(model, content="x" * 80 + "{{nope"), headers=HX).get_data(
        as_text=True
    )
    assert "<mark>{{nope</mark>" in html
    assert "About 22 tokens" in html and "more than the model can read" in html
    ok = auth.post(url, form(model, content="{{a}} and {{user_input}}"), headers=HX)
    assert "No problems found." in ok.get_data(as_text=True)


def test_check_without_javascript_shows_the_editor_with_findings(client, auth, make):
    me = auth.sign_in()
    assistant, model = chain(make, me)
    response = auth.post(f"/assistants/{assistant.id}/prompts/check", form(model, content="{{zz}}"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert "no input field or earlier prompt called “zz”" in html and ">{{zz}}</textarea>" in html
