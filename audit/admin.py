from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Read-only: nothing in the product can edit or delete an entry."""

    list_display = (
        "sequence",
        "created_at",
        "actor_label",
        "team_label",
        "action",
        "phase",
        "outcome",
    )
    list_filter = ("action", "phase", "outcome")
    search_fields = ("actor_label", "device_id", "target_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
