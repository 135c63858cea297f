"""Sign-in, first-run setup and user administration forms."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from app.models.user import ROLES

PASSWORD_MIN = 10

_email = fields.Email(
    required=True,
    validate=validate.Length(max=320),
    error_messages={
        "required": "Enter your email address.",
        "invalid": "Enter a valid email address.",
    },
)


class _Stripped(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def strip(self, data: dict, **_: Any) -> dict:
        return {
            k: v.strip() if isinstance(v, str) and "password" not in k else v
            for k, v in data.items()
        }


class SignInSchema(_Stripped):
    email = fields.String(
        required=True,
        validate=validate.Length(min=1, max=320, error="Enter your email address."),
        error_messages={"required": "Enter your email address."},
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1024, error="Enter your password."),
        error_messages={"required": "Enter your password."},
    )
    next = fields.String(load_default=None, allow_none=True)


def _password_field() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(
            min=PASSWORD_MIN, max=1024, error=f"Use at least {PASSWORD_MIN} characters."
        ),
        error_messages={"required": "Choose a password."},
    )


class NewAccountSchema(_Stripped):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255, error="Enter a name (up to 255 characters)."),
        error_messages={"required": "Enter a name."},
    )
    email = _email
    password = _password_field()
    password_confirm = fields.String(load_default="")

    @validates_schema
    def passwords_match(self, data: dict, **_: Any) -> None:
        if data.get("password") != data.get("password_confirm"):
            raise ValidationError("The two passwords do not match.", "password_confirm")


class SetupSchema(NewAccountSchema):
    setup_token = fields.String(load_default="")


class UserCreateSchema(NewAccountSchema):
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES, error="Unknown role.")),
        validate=validate.Length(min=1, error="Give the account at least one role."),
        load_default=list,
    )


class SsoUserCreateSchema(_Stripped):
    """With PASSWORD_LOGIN=off: no password; the account links at its first single sign-on."""

    name = NewAccountSchema._declared_fields["name"]
    email = _email
    roles = UserCreateSchema._declared_fields["roles"]


class RolesSchema(_Stripped):
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES, error="Unknown role.")),
        load_default=list,
    )


class NewPasswordSchema(_Stripped):
    """A new password, typed twice (reset link)."""

    password = _password_field()
    password_confirm = fields.String(load_default="")

    @validates_schema
    def passwords_match(self, data: dict, **_: Any) -> None:
        if data.get("password") != data.get("password_confirm"):
            raise ValidationError("The two passwords do not match.", "password_confirm")


class PasswordChangeSchema(NewPasswordSchema):
    """The profile form: the current password proves it is really you."""

    current_password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1024, error="Enter your current password."),
        error_messages={"required": "Enter your current password."},
    )

    @validates_schema
    def differs(self, data: dict, **_: Any) -> None:
        if data.get("password") and data.get("password") == data.get("current_password"):
            raise ValidationError("Choose a password different from your current one.", "password")


sign_in_schema = SignInSchema()
new_password_schema = NewPasswordSchema()
password_change_schema = PasswordChangeSchema()
setup_schema = SetupSchema()
user_create_schema = UserCreateSchema()
sso_user_create_schema = SsoUserCreateSchema()
roles_schema = RolesSchema()
