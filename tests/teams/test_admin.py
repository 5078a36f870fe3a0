"""Django's admin shows teams and their memberships but changes none of them: memberships
change on the team pages and through `manage.py add_member`, which keep a team's last admin
and write the audit trail (teams/admin.py, accounts/admin.py)."""

import pytest
from django.contrib import admin
from django.test import Client

from audit.models import AuditEntry
from teams.models import Membership, Role, Team
from tests.teams.world import join, make_team, make_user, sign_in


@pytest.fixture
def superuser_client(db: None) -> Client:
    return sign_in(Client(), make_user("root", superuser=True))


@pytest.fixture
def acme(db: None) -> Team:
    team = make_team("acme", "Acme Metering")
    join(make_user("ada"), team, Role.ADMIN)
    join(make_user("vic"), team, Role.VIEWER)
    return team


def test_memberships_have_no_admin_of_their_own() -> None:
    assert Membership not in admin.site._registry


def test_a_superuser_cannot_change_a_teams_memberships_in_the_admin(
    superuser_client: Client, acme: Team
) -> None:
    vic = Membership.objects.get(team=acme, user__username="vic")
    entries = AuditEntry.objects.count()
    page = superuser_client.get(f"/admin/teams/team/{acme.pk}/change/")
    assert page.status_code == 200
    [inline] = page.context["inline_admin_formsets"]
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert not inline.has_delete_permission

    # What an editable inline would post: vic made admin, a new member added, ada removed.
    prefix = inline.formset.prefix
    ada = Membership.objects.get(team=acme, user__username="ada")
    response = superuser_client.post(
        f"/admin/teams/team/{acme.pk}/change/",
        {
            "slug": acme.slug,
            "name": acme.name,
            f"{prefix}-TOTAL_FORMS": "3",
            f"{prefix}-INITIAL_FORMS": "2",
            f"{prefix}-0-id": str(ada.pk),
            f"{prefix}-0-team": str(acme.pk),
            f"{prefix}-0-user": str(ada.user_id),
            f"{prefix}-0-role": Role.ADMIN,
            f"{prefix}-0-DELETE": "on",
            f"{prefix}-1-id": str(vic.pk),
            f"{prefix}-1-team": str(acme.pk),
            f"{prefix}-1-user": str(vic.user_id),
            f"{prefix}-1-role": Role.ADMIN,
            f"{prefix}-2-team": str(acme.pk),
            f"{prefix}-2-user": str(make_user("eve").pk),
            f"{prefix}-2-role": Role.ADMIN,
            "_save": "Save",
        },
    )

    assert response.status_code == 403
    assert sorted(Membership.objects.filter(team=acme).values_list("user__username", "role")) == [
        ("ada", Role.ADMIN),
        ("vic", Role.VIEWER),
    ]
    assert AuditEntry.objects.count() == entries
