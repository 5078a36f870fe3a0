"""Django's admin for accounts: for superusers only, and every change is audited.

Django registers its own User and Group admins. Here the User admin is replaced by one that
writes each change to the audit trail (accounts.admin_audit) inside the admin's transaction,
and the Group admin is taken away:

- Only superusers see or change accounts here. Django lets anyone with the "change user"
  permission tick is_superuser (on themselves too) or set a superuser's password: that
  permission would be a superuser's in all but name.
- The hooks are the admin's own (save_related, delete_model, delete_queryset, and the
  password page), not model signals: the portal's services already audit their changes, and
  signals would record those twice. Creating, changing, deleting a user and setting their
  password are what the admin can do to an account, and each is covered.
- Groups are not used by the portal (roles are per team, in memberships). A group's
  permissions would be a second way to give someone rights, one that no entry about that
  person would show, so neither the Group admin nor a user's groups are offered: permissions
  are given to a user directly, and audited.
- Memberships are not edited in the admin at all (teams/admin.py shows them read-only): the
  team pages and `manage.py add_member` change them, with their rules (a team keeps an admin)
  and their audit entries. Deleting a user removes theirs; that is audited in each team.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from accounts import admin_audit
from audit.trail import Origin

admin.site.unregister(User)
admin.site.unregister(Group)


def _superuser(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_superuser)


@admin.register(User)
class AuditedUserAdmin(UserAdmin[User]):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_filter = ("is_staff", "is_superuser", "is_active")
    filter_horizontal = ("user_permissions",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _superuser(request)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: Any) -> None:
        # After the user and its permissions are saved, still in changeform_view's transaction.
        super().save_related(request, form, formsets, change)
        origin = Origin.from_request(request)
        if change:
            admin_audit.user_changed(user=form.instance, form=form, origin=origin)
        else:
            admin_audit.user_created(user=form.instance, origin=origin)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        with transaction.atomic(using=router.db_for_write(self.model)):
            deleted = admin_audit.DeletedUser.before_delete(obj)
            super().delete_model(request, obj)
            admin_audit.user_deleted(deleted=deleted, origin=Origin.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The "delete selected" action runs in no transaction of the admin's own.
        with transaction.atomic(using=router.db_for_write(self.model)):
            deleted = [admin_audit.DeletedUser.before_delete(user) for user in queryset]
            super().delete_queryset(request, queryset)
            origin = Origin.from_request(request)
            for each in deleted:
                admin_audit.user_deleted(deleted=each, origin=origin)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's page, in one transaction with its entry (Django's runs in none). Whether
        the password was set is read from the stored hash changing, which happens only when
        the page saved one; the hashes are compared here and never recorded."""
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        with transaction.atomic(using=router.db_for_write(self.model)):
            before = self.get_object(request, unquote(id))
            response = super().user_change_password(request, id, form_url)
            after = self.get_object(request, unquote(id))
            if before is not None and after is not None and after.password != before.password:
                admin_audit.user_password_set(user=after, origin=Origin.from_request(request))
        return response
