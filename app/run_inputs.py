"""The run form: validate what a person typed against the assistant's fields (DESIGN §8 limits)."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document
from pypdf import PdfReader
from werkzeug.datastructures import FileStorage, MultiDict

TEXT_LIMIT_BYTES = 150 * 1024  # all text inputs together, UTF-8
DEFAULT_FILE_MB = 10
EXTRACTED_TEXT_LIMIT = 200_000
ACCEPTED = (".txt", ".md", ".csv", ".pdf", ".docx")


class InputErrors(Exception):
    def __init__(self, errors: dict[str, str], values: dict[str, Any]) -> None:
        super().__init__("invalid inputs")
        self.errors = errors
        self.values = values


def max_upload_bytes(fields: list[Any]) -> int:
    """The largest body this form may send: the text limit plus every file field's maximum."""
    files = sum(
        int((f.options or {}).get("max_size_mb") or DEFAULT_FILE_MB) * 1024 * 1024
        for f in fields
        if f.field_type == "file_upload"
    )
    return TEXT_LIMIT_BYTES + files + 64 * 1024  # multipart framing


def parse_inputs(fields: list[Any], form: MultiDict, files: MultiDict) -> dict[str, Any]:
    """Return {field name: str | list[str]}; raise InputErrors with a message per field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    text_bytes = 0
    for f in fields:
        options = f.options or {}
        label = f.label or f.name
        if f.field_type == "multi_select":
            chosen = [v for v in form.getlist(f.name) if v != ""]
            values[f.name] = chosen
            allowed = {str(c.get("value")) for c in options.get("choices") or []}
            low, high = options.get("min_selections"), options.get("max_selections")
            if options.get("required") and not chosen:
                errors[f.name] = f"Choose at least one option for “{label}”."
            elif any(v not in allowed for v in chosen):
                errors[f.name] = "Choose from the options shown."
            elif low and len(chosen) < int(low):
                errors[f.name] = f"Choose at least {_options(low)}."
            elif high and len(chosen) > int(high):
                errors[f.name] = f"Choose at most {_options(high)}."
            text_bytes += sum(len(v.encode()) for v in chosen)
            continue
        if f.field_type == "file_upload":
            upload = files.get(f.name)
            try:
                text = _file_text(upload, options) if upload and upload.filename else ""
            except ValueError as exc:
                errors[f.name] = str(exc)
                text = ""
            values[f.name] = text
            if options.get("required") and not text and f.name not in errors:
                errors[f.name] = f"Attach a file for “{label}”."
            continue
        value = (form.get(f.name) or "").replace("\r\n", "\n")
        values[f.name] = value
        if "\x00" in value:  # Postgres text cannot hold it; no person types it
            errors[f.name] = "This text contains a NUL character; remove it and try again."
            continue
        text_bytes += len(value.encode())
        message = _check_text(f, options, value, label)
        if message:
            errors[f.name] = message
    if text_bytes > TEXT_LIMIT_BYTES:
        errors["_form"] = (
            # Rounded up: one byte over the limit reads "151 KiB", never "150 KiB … limit 150 KiB".
            f"Your answers are too long: {-(-text_bytes // 1024)} KiB of text, and the limit is "
            f"{TEXT_LIMIT_BYTES // 1024} KiB. Shorten them, or attach long texts as a file."
        )
    if errors:
        raise InputErrors(errors, values)
    return values


def _options(count: object) -> str:
    return "1 option" if int(str(count)) == 1 else f"{count} options"


def _check_text(f: Any, options: dict, value: str, label: str) -> str | None:
    if not value.strip():
        return f"Fill in “{label}”." if options.get("required") else None
    if f.field_type == "select":
        allowed = {str(c.get("value")) for c in options.get("choices") or []}
        return None if value in allowed else "Choose one of the options shown."
    max_length = options.get("max_length")
    if max_length and len(value) > int(max_length):
        return f"Use at most {max_length} characters (you have {len(value)})."
    pattern = options.get("pattern")
    if pattern:
        try:
            if not re.fullmatch(pattern, value):
                return options.get("pattern_message") or "This doesn't have the expected format."
        except re.error:
            return None  # an author's broken pattern must not block the run
    return None


def _file_text(upload: FileStorage, options: dict) -> str:
    name = (upload.filename or "").lower()
    accepted = options.get("accept") or list(ACCEPTED)
    if not any(name.endswith(ext) for ext in accepted):
        raise ValueError(f"This kind of file isn't accepted here. Use {', '.join(accepted)}.")
    data = upload.read()
    limit_mb = int(options.get("max_size_mb") or DEFAULT_FILE_MB)
    if len(data) > limit_mb * 1024 * 1024:
        raise ValueError(f"The file is larger than {limit_mb} MB.")
    try:
        if name.endswith(".pdf"):
            text = "\n".join(
                page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages
            )
        elif name.endswith(".docx"):
            text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
        else:
            text = data.decode("utf-8", errors="replace")
    except Exception as exc:
        raise ValueError("We couldn't read text from this file. Is it damaged?") from exc
    text = text.replace("\x00", "")  # junk from binary-ish files; the database refuses it
    if len(text) > EXTRACTED_TEXT_LIMIT:
        raise ValueError(
            f"The file holds {len(text):,} characters of text; "
            f"the limit is {EXTRACTED_TEXT_LIMIT:,}."
        )
    return text
