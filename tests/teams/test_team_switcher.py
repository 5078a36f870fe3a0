"""The team switcher keeps the kind of page: a list goes to the other team's list of the same
kind (without the filters), a downlink's pages to that list, a team admin page to the same page
of the other team when the person's role there allows it, else to its home; and it costs no
query per team."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.simulated_team import team_on_simulator
from downlinks.models import Downlink, SendState
from simulator.server import RunningSimulator
from teams.models import Role, Team
from tests.downlinks.conftest import Dashboard, lora_body, make_dashboard
from tests.teams.capture import body_of
from tests.teams.world import join, make_team, make_user

# The person's role in each team besides "ferry" (where they are an admin).
OTHER_ROLES = {"globex": Role.VIEWER, "initech": Role.OPERATOR, "umbrella": Role.ADMIN}


@dataclass(frozen=True)
class Switching:
    dash: Dashboard  # "ferry", on the simulator; the person is its admin
    teams: dict[str, Team]  # every team of the person's, by slug (each reaches the simulator)

    @property
    def client(self) -> Client:
        return self.dash.admin


@pytest.fixture
def switching(db: None, simulator: RunningSimulator) -> Switching:
    dash = make_dashboard(simulator)
    teams = {"ferry": dash.team}
    for slug, role in OTHER_ROLES.items():
        teams[slug] = team_on_simulator(simulator, slug, tenant_id=f"{slug}-tenant")
        join(dash.admin_user, teams[slug], role)
    return Switching(dash, teams)


def switcher_links(response: Any) -> dict[str, str]:
    """The switcher's link for each team, by the team's name."""
    page = body_of(response)
    switcher = re.search(
        r'<details class="dropdown team-switcher">(.*?)</details>', page, re.DOTALL
    )
    assert switcher is not None, "no team switcher on the page"
    links = re.findall(r'<a href="([^"]*)"[^>]*>([^<]*) <small>', switcher.group(1))
    return {html.unescape(name): html.unescape(url) for url, name in links}


def by_slug(switching: Switching, response: Any) -> dict[str, str]:
    links = switcher_links(response)
    return {slug: links[team.name] for slug, team in switching.teams.items()}


def everywhere(path: str) -> dict[str, str]:
    return {slug: f"/t/{slug}/{path}" for slug in ("ferry", *OTHER_ROLES)}


def test_from_a_list_with_filters_to_each_teams_list_of_the_same_kind(
    switching: Switching,
) -> None:
    for kind in ("lora", "mqtt"):
        url = switching.dash.url("list", kind)
        for query in ("", "?status=DONE&device=deveui:0000000000000001&sort=device"):
            response = switching.client.get(f"{url}{query}")
            assert response.status_code == 200
            assert by_slug(switching, response) == everywhere(f"{kind}/")


def test_from_a_downlinks_pages_to_each_teams_list_of_the_same_kind(
    switching: Switching,
) -> None:
    dash = switching.dash
    downlink = dash.api_create("lora", lora_body())
    attempt = Downlink.objects.create(
        team=dash.team,
        kind="lora",
        device_id=downlink["deviceId"],
        request_body=lora_body(),
        send_state=SendState.UNKNOWN,
        submission_key=uuid4().hex,
    )
    for url in (
        dash.url("detail", "lora", downlink["id"]),
        dash.url("raw", "lora", downlink["id"]),
        dash.url("cancel", "lora", downlink["id"]),
        dash.attempt_url("lora", attempt.pk),
    ):
        response = switching.client.get(url)
        assert response.status_code == 200, url
        assert by_slug(switching, response) == everywhere("lora/"), url


def test_from_the_send_form_to_that_teams_send_form_or_else_its_list(
    switching: Switching,
) -> None:
    response = switching.client.get(switching.dash.url("send", "mqtt"))
    assert by_slug(switching, response) == {
        "ferry": "/t/ferry/mqtt/new",
        "globex": "/t/globex/mqtt/",  # a viewer there
        "initech": "/t/initech/mqtt/new",
        "umbrella": "/t/umbrella/mqtt/new",
    }


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("teams:members", "members/"),
        ("teams:credential", "credential/"),
        ("teams:audit", "audit/"),
        ("downlinks:sync_status", "sync/"),
    ],
)
def test_from_an_admin_page_to_the_same_page_where_one_is_admin_else_home(
    switching: Switching, name: str, path: str
) -> None:
    response = switching.client.get(reverse(name, kwargs={"team_slug": "ferry"}))
    assert response.status_code == 200
    assert by_slug(switching, response) == {
        "ferry": f"/t/ferry/{path}",
        "globex": "/t/globex/",
        "initech": "/t/initech/",
        "umbrella": f"/t/umbrella/{path}",
    }


def test_from_a_members_form_answer_to_the_members_page(switching: Switching) -> None:
    viewer = switching.dash.viewer_user.memberships.get(team=switching.dash.team)
    members = {
        "ferry": "/t/ferry/members/",
        "globex": "/t/globex/",
        "initech": "/t/initech/",
        "umbrella": "/t/umbrella/members/",
    }
    confirm = switching.client.get(
        reverse("teams:member_remove", kwargs={"team_slug": "ferry", "membership_id": viewer.pk})
    )
    assert confirm.status_code == 200
    assert by_slug(switching, confirm) == members
    refused = switching.client.post(
        reverse("teams:member_add", kwargs={"team_slug": "ferry"}),
        {"username": "nobody", "role": "viewer"},
    )
    assert refused.status_code == 400
    assert by_slug(switching, refused) == members  # not the address of the form's POST


def test_from_a_team_home_to_each_teams_home(switching: Switching) -> None:
    response = switching.client.get(reverse("teams:team_home", kwargs={"team_slug": "ferry"}))
    assert by_slug(switching, response) == everywhere("")
    assert 'href="/t/ferry/" aria-current="page"' in body_of(response)


def test_every_switcher_link_opens_for_the_person(switching: Switching) -> None:
    """Whatever page it is drawn on, no link of the switcher is refused (403), missing (404) or
    a form's POST address (405)."""
    dash = switching.dash
    downlink = dash.api_create("mqtt")
    pages = [
        dash.url("list", "mqtt"),
        dash.url("detail", "mqtt", downlink["id"]),
        dash.url("send", "lora"),
        reverse("teams:credential", kwargs={"team_slug": "ferry"}),
        reverse("downlinks:sync_status", kwargs={"team_slug": "ferry"}),
    ]
    for page in pages:
        for url in switcher_links(switching.client.get(page)).values():
            assert switching.client.get(url).status_code == 200, (page, url)


def test_the_switcher_costs_no_query_per_team(db: None) -> None:
    person = make_user("mia")
    first = make_team("acme", "Acme Metering")
    join(person, first, Role.ADMIN)
    client = Client()
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("teams:members", kwargs={"team_slug": "acme"})
    client.get(url)  # the session's first use is not counted

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    alone = queries()
    for index, role in enumerate((Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.VIEWER)):
        join(person, make_team(f"team-{index}", f"Team {index}"), role)
    assert queries() == alone
    assert len(switcher_links(client.get(url))) == 5
