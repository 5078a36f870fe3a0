"""Django's admin, for superusers, shows teams read-only: changes to members and credentials
go through the team pages or the management commands, which write the audit trail."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from teams.models import Membership, Team, ThingsCredential


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(ReadOnlyAdminMixin, admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0


@admin.register(Team)
class TeamAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Team]):
    list_display = ("slug", "name", "created_at")
    inlines = [MembershipInline]


@admin.register(ThingsCredential)
class ThingsCredentialAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ThingsCredential]):
    list_display = ("team", "api_url", "auth_kind", "masked_secret", "updated_at")
    fields = ("team", "api_url", "auth_kind", "tenant_id", "client_id", "token_url", "audience")
