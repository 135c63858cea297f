"""Request size limits per route (DESIGN §8), set before anything reads the body.

- Every body ≤ MAX_CONTENT_LENGTH (1 MiB), except the run form: 150 KiB of text plus each of its
  file fields' maximum, when that is larger. That limit is set in a before_request hook that runs
  before CSRF validation — which reads the form, so a limit set later in the view came too late.
- Werkzeug caps multipart forms at MAX_FORM_PARTS but parses url-encoded bodies without counting
  their fields (a 1 MiB body could carry ~100,000). Here both kinds obey MAX_FORM_PARTS.
Going over answers 413: the friendly page, or problem+json under /api/.
"""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qsl

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser


class CountingFormDataParser(FormDataParser):
    def _parse_urlencoded(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> t.Any:
        try:
            items = parse_qsl(
                stream.read().decode(),
                keep_blank_values=True,
                errors="werkzeug.url_quote",
                max_num_fields=self.max_form_parts,
            )
        except ValueError as error:  # "Max number of fields exceeded"
            raise RequestEntityTooLarge("This form has too many fields.") from error
        return stream, self.cls(items), self.cls()


class LimitedRequest(Request):
    form_data_parser_class = CountingFormDataParser


def _route_limits() -> None:
    if request.method == "POST" and request.endpoint == "runs.start":
        from app.models import Assistant
        from app.run_inputs import max_upload_bytes

        assistant_id = (request.view_args or {}).get("assistant_id")
        assistant = Assistant.get_or_none(Assistant.id == assistant_id)
        if assistant is not None:  # only ever raised: url-encoding can triple text's size
            ceiling = int(current_app.config["MAX_CONTENT_LENGTH"])
            request.max_content_length = max(ceiling, max_upload_bytes(assistant.ordered_fields()))


def init_app(app: Flask) -> None:
    """Call after the database hooks (the run form's limit needs its fields) and before CSRF."""
    app.request_class = LimitedRequest
    app.before_request(_route_limits)
