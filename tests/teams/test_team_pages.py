"""Team admin pages (members and roles) and switching between one's teams."""

from dataclasses import dataclass

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEntry
from teams.models import Membership, Role, Team
from tests.teams.capture import body_of
from tests.teams.world import join, make_team, make_user, sign_in


@dataclass(frozen=True)
class Acme:
    team: Team
    admin: User
    client: Client  # signed in as the admin

    def url(self, name: str, **kwargs: object) -> str:
        return reverse(f"teams:{name}", kwargs={"team_slug": self.team.slug, **kwargs})

    def membership(self, username: str) -> Membership:
        return Membership.objects.get(team=self.team, user__username=username)


@pytest.fixture
def acme(db: None) -> Acme:
    team = make_team("acme", "Acme Metering")
    admin = make_user("ada")
    join(admin, team, Role.ADMIN)
    return Acme(team, admin, sign_in(Client(), admin))


def page_after(client: Client, response: object) -> str:
    """The page a POST redirected to, with its messages."""
    location = response["Location"]  # type: ignore[index]
    return body_of(client.get(location))


def last_entry(action: Action) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).first()
    assert entry is not None, f"no {action} entry"
    return entry


# --- Members and roles ----------------------------------------------------------------------


def test_the_members_page_lists_members_with_their_roles(acme: Acme) -> None:
    join(make_user("oscar"), acme.team, Role.OPERATOR)
    page = body_of(acme.client.get(acme.url("members")))
    assert "ada <small>(you)</small>" in page
    assert "Remove oscar…" in page
    oscar = acme.membership("oscar")
    select = page.split(f'id="role-{oscar.pk}-role"')[1].split("</select>")[0]
    assert '<option value="operator" selected>' in select


def test_adding_an_existing_user(acme: Acme) -> None:
    make_user("oscar")
    response = acme.client.post(acme.url("member_add"), {"username": "oscar", "role": "operator"})
    assert response.status_code == 302
    assert "oscar was added." in page_after(acme.client, response)
    assert acme.membership("oscar").role == Role.OPERATOR
    entry = last_entry(Action.MEMBER_ADDED)
    assert (entry.target_id, entry.asked, entry.actor_label) == (
        "oscar",
        {"role": "operator"},
        "ada",
    )


def test_adding_an_unknown_user_is_refused_in_words(acme: Acme) -> None:
    response = acme.client.post(acme.url("member_add"), {"username": "nobody", "role": "viewer"})
    assert response.status_code == 400
    assert "There is no user called &#x27;nobody&#x27;." in body_of(response)
    assert not AuditEntry.objects.filter(action=Action.MEMBER_ADDED, target_id="nobody").exists()


def test_adding_a_member_twice_is_refused_in_words(acme: Acme) -> None:
    join(make_user("oscar"), acme.team, Role.VIEWER)
    response = acme.client.post(acme.url("member_add"), {"username": "oscar", "role": "admin"})
    assert response.status_code == 400
    assert "oscar is a member of Acme Metering already." in body_of(response)
    assert acme.membership("oscar").role == Role.VIEWER


def test_adding_with_an_unknown_role_is_a_field_error(acme: Acme) -> None:
    make_user("oscar")
    response = acme.client.post(acme.url("member_add"), {"username": "oscar", "role": "owner"})
    assert response.status_code == 400
    assert "Select a valid choice" in body_of(response)
    assert not Membership.objects.filter(user__username="oscar").exists()


def test_changing_a_role(acme: Acme) -> None:
    oscar = join(make_user("oscar"), acme.team, Role.VIEWER)
    response = acme.client.post(acme.url("member_role", membership_id=oscar.pk), {"role": "admin"})
    assert "oscar&#x27;s role was changed." in page_after(acme.client, response)
    assert acme.membership("oscar").role == Role.ADMIN
    assert last_entry(Action.MEMBER_ROLE_CHANGED).asked == {"from": "viewer", "to": "admin"}


def test_changing_to_an_unknown_role_is_refused_in_words(acme: Acme) -> None:
    oscar = join(make_user("oscar"), acme.team, Role.VIEWER)
    response = acme.client.post(acme.url("member_role", membership_id=oscar.pk), {"role": "boss"})
    assert "Choose one of the roles: viewer, operator or admin." in page_after(
        acme.client, response
    )
    assert acme.membership("oscar").role == Role.VIEWER


def test_removing_a_member(acme: Acme) -> None:
    oscar = join(make_user("oscar"), acme.team, Role.OPERATOR)
    response = acme.client.post(acme.url("member_remove", membership_id=oscar.pk))
    assert "oscar was removed from the team." in page_after(acme.client, response)
    assert not Membership.objects.filter(pk=oscar.pk).exists()
    assert User.objects.filter(username="oscar").exists()  # out of the team, not deleted
    assert last_entry(Action.MEMBER_REMOVED).target_id == "oscar"


def test_removing_asks_first_and_the_question_changes_nothing(acme: Acme) -> None:
    oscar = join(make_user("oscar"), acme.team, Role.OPERATOR)
    remove_url = acme.url("member_remove", membership_id=oscar.pk)
    assert f'href="{remove_url}" role="button"' in body_of(acme.client.get(acme.url("members")))
    audited = AuditEntry.objects.count()
    question = acme.client.get(remove_url)
    assert question.status_code == 200
    page = body_of(question)
    assert "Remove oscar from Acme Metering?" in page
    assert "send or cancel them" in page  # an operator loses more than reading
    assert f'<form method="post" action="{remove_url}">' in page
    assert f'href="{acme.url("members")}" role="button" class="secondary">Keep oscar' in page
    assert Membership.objects.filter(pk=oscar.pk).exists()
    assert AuditEntry.objects.count() == audited


def test_a_link_into_a_team_one_is_not_in_says_what_to_do(
    acme: Acme, settings: LazySettings
) -> None:
    """The same page whether DEBUG is on (make run) or off."""
    make_team("globex", "Globex")
    for debug in (False, True):
        settings.DEBUG = debug
        for url in ("/t/globex/lora/", "/t/no-such-team/members/"):
            response = acme.client.get(url)
            assert response.status_code == 404
            page = body_of(response)
            assert "Not one of your teams" in page
            assert "your username is <strong>ada</strong>" in page
            assert f'href="{acme.url("team_home")}">Acme Metering</a>' in page
            assert "Globex" not in page  # whether the team exists is not told


def test_the_last_admin_cannot_be_demoted(acme: Acme) -> None:
    own = acme.membership("ada")
    audited = AuditEntry.objects.count()
    response = acme.client.post(acme.url("member_role", membership_id=own.pk), {"role": "viewer"})
    assert "This is the team&#x27;s last admin." in page_after(acme.client, response)
    assert acme.membership("ada").role == Role.ADMIN
    assert AuditEntry.objects.count() == audited


def test_the_last_admin_cannot_be_removed(acme: Acme) -> None:
    own = acme.membership("ada")
    audited = AuditEntry.objects.count()
    response = acme.client.post(acme.url("member_remove", membership_id=own.pk))
    assert "This is the team&#x27;s last admin and cannot be removed." in page_after(
        acme.client, response
    )
    assert Membership.objects.filter(pk=own.pk).exists()
    assert AuditEntry.objects.count() == audited


def test_with_a_second_admin_an_admin_may_step_down(acme: Acme) -> None:
    join(make_user("bea"), acme.team, Role.ADMIN)
    own = acme.membership("ada")
    acme.client.post(acme.url("member_role", membership_id=own.pk), {"role": "operator"})
    assert acme.membership("ada").role == Role.OPERATOR
    # ... and then is an operator: the members page is refused in words.
    response = acme.client.get(acme.url("members"))
    assert response.status_code == 403
    assert "You are operator in Acme Metering. This needs the role admin" in body_of(response)


def test_the_members_page_is_not_a_way_into_another_team(acme: Acme) -> None:
    other = make_team("globex", "Globex")
    olga = join(make_user("olga"), other, Role.VIEWER)
    response = acme.client.post(acme.url("member_remove", membership_id=olga.pk))
    assert response.status_code == 404
    assert Membership.objects.filter(pk=olga.pk).exists()


# --- Several teams ----------------------------------------------------------------------------


@pytest.fixture
def person_in_two_teams(db: None) -> Client:
    mia = make_user("mia")
    join(mia, make_team("acme", "Acme Metering"), Role.ADMIN)
    join(mia, make_team("globex", "Globex Logistics"), Role.VIEWER)
    make_team("initech", "Initech")  # not hers
    return sign_in(Client(), mia)


def test_the_active_team_is_in_every_team_pages_context(person_in_two_teams: Client) -> None:
    response = person_in_two_teams.get("/t/globex/")
    assert response.context["active_team"].slug == "globex"
    assert response.context["active_membership"].role == Role.VIEWER
    assert response.context["can_read"] is True
    assert response.context["can_operate"] is False
    assert response.context["can_administer"] is False
    page = body_of(response)
    assert "You are viewer in this team." in page
    assert 'href="/t/globex/members/"' not in page  # no admin links for a viewer
    assert 'href="/t/acme/members/"' not in page


def test_the_switcher_lists_ones_teams_only(person_in_two_teams: Client) -> None:
    page = body_of(person_in_two_teams.get("/t/acme/"))
    assert 'href="/t/globex/"' in page
    assert 'href="/t/acme/" aria-current="page"' in page
    assert "Initech" not in page
    assert 'href="/t/acme/members/"' in page  # an admin here


def test_home_goes_to_the_team_used_last(person_in_two_teams: Client) -> None:
    assert person_in_two_teams.get("/")["Location"] == "/t/acme/"  # first by name
    person_in_two_teams.get("/t/globex/")
    assert person_in_two_teams.get("/")["Location"] == "/t/globex/"
    person_in_two_teams.get("/t/acme/")
    assert person_in_two_teams.get("/")["Location"] == "/t/acme/"


def test_the_team_list_shows_each_team_with_the_role(person_in_two_teams: Client) -> None:
    page = body_of(person_in_two_teams.get("/teams/"))
    assert "Acme Metering</a> — admin" in page
    assert "Globex Logistics</a> — viewer" in page
    assert "Initech" not in page


def test_someone_in_no_team_is_told_how_to_join(db: None) -> None:
    client = sign_in(Client(), make_user("newbie"))
    response = client.get("/")
    assert response.status_code == 200
    assert "You are not in a team yet" in body_of(response)
    assert "<strong>newbie</strong>" in body_of(response)
