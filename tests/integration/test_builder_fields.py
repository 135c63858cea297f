"""Input fields: added, edited, renamed, moved and deleted inline, checked live, audited."""

from __future__ import annotations

import re

from app.models import ChainPrompt, InputField
from app.models.audit import AuditEvent

HX = {"HX-Request": "true"}
TEXT = {"label": "Your text", "name": "user_input", "field_type": "long_text"}


def fields_of(assistant):
    return [(f.name, f.position) for f in assistant.ordered_fields()]


def test_add_a_text_field_answers_the_section_and_the_prompts_out_of_band(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me)
    form = {**TEXT, "required": "1", "max_length": "500", "pattern": "^[A-Z].*", "help": "Paste"}
    response = auth.post(f"/assistants/{assistant.id}/fields", form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="fields"' in html
    assert re.search(r'<section id="prompts"[^>]*hx-swap-oob="true"', html)
    assert "Use it in a prompt as {{user_input}}" in html
    field = InputField.get(InputField.assistant == assistant)
    assert field.field_type == "long_text" and field.position == 0
    assert field.options == {
        "required": True,
        "help": "Paste",
        "placeholder": "",
        "default": "",
        "max_length": 500,
        "pattern": "^[A-Z].*",
    }
    assert AuditEvent.get(AuditEvent.action == "field.added").details["name"] == "user_input"


def test_choices_keep_value_and_label(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me)
    form = {
        "label": "Key stages",
        "name": "stages",
        "field_type": "multi_select",
        "choices": "ks1 | Key stage 1\nks2 | Key stage 2\n\nks3",
        "default": "ks1, ks3",
        "min_selections": "1",
        "max_selections": "2",
    }
    assert auth.post(f"/assistants/{assistant.id}/fields", form).status_code == 303
    options = InputField.get(InputField.name == "stages").options
    assert options["choices"] == [
        {"value": "ks1", "label": "Key stage 1"},
        {"value": "ks2", "label": "Key stage 2"},
        {"value": "ks3", "label": "ks3"},
    ]
    assert options["default"] == ["ks1", "ks3"]
    assert (options["min_selections"], options["max_selections"]) == (1, 2)


def test_file_fields_keep_kinds_and_size(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me)
    form = {"label": "Essay", "field_type": "file_upload", "accept": [".pdf", ".docx"]}
    auth.post(f"/assistants/{assistant.id}/fields", form)
    field = InputField.get(InputField.assistant == assistant)
    assert field.name == "essay"  # made from the label when left empty
    assert field.options["accept"] == [".pdf", ".docx"] and field.options["max_size_mb"] == 10


def test_validation_messages_beside_the_fields(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me, fields=[{"name": "user_input"}])
    url = f"/assistants/{assistant.id}/fields"
    cases = [
        ({**TEXT, "name": "Bad Name"}, "Use 1 to 24 lowercase letters"),
        ({**TEXT}, "Another field is already called “user_input”"),
        ({**TEXT, "name": "a", "label": ""}, "Write the question people will see."),
        ({**TEXT, "name": "b", "pattern": "(unclosed"}, "This pattern cannot be read"),
        ({"label": "Pick", "name": "c", "field_type": "select"}, "Add at least one choice"),
        ({"label": "Pick", "name": "d", "field_type": "select", "choices": "a\na"}, "used twice"),
        (
            {"label": "P", "name": "e", "field_type": "select", "choices": "a", "default": "z"},
            "must be one of the choices",
        ),
        (
            {"label": "P", "name": "f", "field_type": "multi_select", "choices": "a\nb"}
            | {"max_selections": "3"},
            "There are only 2 choices.",
        ),
        ({"label": "F", "name": "g", "field_type": "file_upload"}, "Tick at least one kind"),
        (
            {"label": "F", "name": "h", "field_type": "file_upload", "accept": [".txt"]}
            | {"max_size_mb": "99"},
            "from 1 to 25 MB",
        ),
    ]
    for form, message in cases:
        response = auth.post(url, form, headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, form
        assert message in html, (form, html[:2000])
        assert "<html" not in html
    assert InputField.select().where(InputField.assistant == assistant).count() == 1
    page = auth.post(url, {**TEXT, "name": "Bad Name", "help": "kept"})
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    assert "kept" in page.get_data(as_text=True)  # nothing typed is lost


def test_the_name_is_checked_live(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me, fields=[{"name": "user_input"}])
    field = assistant.ordered_fields()[0]
    url = f"/assistants/{assistant.id}/fields/check-name"

    def check(name, query=""):
        response = auth.post(url + query, {"name": name}, headers=HX)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "already called" in check("user_input") and 'id="field-new-name-message"' in check("x")
    assert "Prompts will use it as {{user_input}}" in check("user_input", f"?field={field.id}")
    assert "lowercase letters" in check("Has Caps")
    assert "made from the label" in check("")


def test_edit_move_and_delete_keep_positions_contiguous(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me, fields=[{"name": n} for n in ("a", "b", "c")])
    a, b, c = assistant.ordered_fields()
    html = client.get(f"/assistants/{assistant.id}/fields/{b.id}/edit", headers=HX)
    assert 'id="field-' + str(b.id) + '-name"' in html.get_data(as_text=True)
    auth.post(f"/assistants/{assistant.id}/fields/{c.id}/move", {"direction": "up"}, headers=HX)
    assert fields_of(assistant) == [("a", 0), ("c", 1), ("b", 2)]
    auth.post(f"/assistants/{assistant.id}/fields/{a.id}/move", {"direction": "up"})
    assert fields_of(assistant) == [("a", 0), ("c", 1), ("b", 2)]  # already first
    response = auth.post(f"/assistants/{assistant.id}/fields/{c.id}/delete", headers=HX)
    assert response.status_code == 200 and "Deleted the field" in response.get_data(as_text=True)
    assert fields_of(assistant) == [("a", 0), ("b", 1)]
    events = AuditEvent.select().where(AuditEvent.action.startswith("field."))
    actions = [e.action for e in events.order_by(AuditEvent.id)]
    assert actions == ["field.moved", "field.deleted"]
    assert (
        auth.post(f"/assistants/{assistant.id}/fields/{a.id}/move", {"direction": "x"}).status_code
        == 400
    )


def test_renaming_a_field_updates_prompts_that_use_it(client, auth, make):
    me = auth.sign_in()
    model = make.model()
    assistant = make.assistant(
        user=me,
        fields=[{"name": "user_input", "label": "Your text"}],
        prompts=[
            {"name": "Analyze", "content": "Look: {{user_input}} ${ user_input }", "model": model}
        ],
    )
    field = assistant.ordered_fields()[0]
    form = {**TEXT, "name": "essay", "update_prompts": "1", "unknown_key": "ignored"}
    field.options = {"required": True, "legacy": "kept"}
    field.save()
    response = auth.post(f"/assistants/{assistant.id}/fields/{field.id}", form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "In prompt “Analyze”: {{user_input}} → {{essay}}" in html
    assert ChainPrompt.get().content == "Look: {{essay}} ${ essay }"
    assert InputField.get_by_id(field.id).options["legacy"] == "kept"  # imported keys survive
    event = AuditEvent.get(AuditEvent.action == "field.edited")
    assert event.details["renamed_from"] == "user_input"


def test_renaming_without_updating_warns_which_prompts_use_the_old_name(client, auth, make):
    me = auth.sign_in()
    model = make.model()
    assistant = make.assistant(
        user=me,
        fields=[{"name": "user_input"}],
        prompts=[{"name": "Analyze", "content": "{{user_input}}", "model": model}],
    )
    field = assistant.ordered_fields()[0]
    response = auth.post(f"/assistants/{assistant.id}/fields/{field.id}", {**TEXT, "name": "text"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Prompt “Analyze” still uses {{user_input}}: change it to {{text}}." in page
    assert ChainPrompt.get().content == "{{user_input}}"
    assert "1 problem" in page  # lint flags it in the prompts list


def test_hostile_choice_labels_stay_text(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me)
    form = {"label": "<b>x</b>", "field_type": "select", "choices": "v | <script>alert(1)</script>"}
    auth.post(f"/assistants/{assistant.id}/fields", form)
    for url in (f"/assistants/{assistant.id}/edit", f"/assistants/{assistant.id}/preview"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<b>x</b>" not in html
