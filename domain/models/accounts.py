"""Accounts (账号) and the audit log (操作日志)."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Account(Model):
    """A scoped user: a school code for school roles, a region code for authorities/admins."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=200)
    display_name = fields.CharField(max_length=50, default="", db_default="")  # 姓名 shown as reporter
    role = fields.CharField(max_length=20)
    scope_code = fields.CharField(max_length=10)
    stages = fields.CharField(max_length=200, default="")  # comma-separated Stage codes; '' = all
    active = fields.BooleanField(default=True)
    # moved on every password change and every disable: tokens carry it and die with it
    token_version = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class AuditEntry(Model):
    """Every write: who, what, before/after, when."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=64)
    action = fields.CharField(max_length=60)
    entity = fields.CharField(max_length=40)
    entity_key = fields.CharField(max_length=200)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)  # the audited fields
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "audit_entry"
        indexes = (("entity", "entity_key"),)
