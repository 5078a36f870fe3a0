"""The audit page as a person reads it: filters that replace (never pile up) in the form's,
the pager's and the export's addresses; invalid filters that look nothing up; one row per
action with its outcome, in words; and targets linked to what they name, for the person's
teams and roles only."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from audit.models import Action, AuditEntry, Outcome
from audit.trail import Origin, TeamRef, record, record_attempt, record_outcome
from benchmarks.simulated_team import team_on_simulator
from downlinks import services as downlink_services
from simulator.server import RunningSimulator
from teams import services as team_services
from teams.models import Membership, Role, Team
from teams.views import AUDIT_PAGE_SIZE
from tests.teams.world import make_user, sign_in, unaudited_member
from things_api import NewLoraDownlink

DEVICE = "deveui:ea8fa35e2cf3489f"
ALICE = Origin(None, "alice")
REVERSED = {"since": "2026-01-11T01:00", "before": "2026-01-11T00:00"}


# --- Reading the page ------------------------------------------------------------------------


@dataclass
class Cell:
    text: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text)


@dataclass
class AuditPage(HTMLParser):
    """What the audit page shows: the filter form's addresses, the rows of the results table
    (cells with their text and links), the pager's links and the export link."""

    form: dict[str, str] = field(default_factory=dict)
    rows: list[list[Cell]] = field(default_factory=list)
    pager: dict[str, str] = field(default_factory=dict)  # link text -> href
    csv: str | None = None
    alerts: list[str] = field(default_factory=list)
    _in_tbody: bool = False
    _in_pager: bool = False
    _cell: Cell | None = None
    _link: tuple[str, list[str]] | None = None
    _alert: list[str] | None = None

    def __post_init__(self) -> None:
        HTMLParser.__init__(self)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and "filters" in attributes.get("class", ""):
            self.form = attributes
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append([])
        elif tag == "td" and self._in_tbody:
            self._cell = Cell()
            self.rows[-1].append(self._cell)
        elif tag == "nav" and "pager" in attributes.get("class", ""):
            self._in_pager = True
        elif tag == "a":
            if "download" in attributes:
                self.csv = attributes["href"]
            self._link = (attributes.get("href", ""), [])
        elif attributes.get("role") == "alert":
            self._alert = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_tbody = False
        elif tag == "td":
            self._cell = None
        elif tag == "nav":
            self._in_pager = False
        elif tag == "a" and self._link is not None:
            href, words = self._link
            text = " ".join("".join(words).split())
            if self._cell is not None:
                self._cell.links.append((href, text))
            if self._in_pager:
                self.pager[text] = href
            self._link = None
        elif tag == "div" and self._alert is not None:
            self.alerts.append(" ".join("".join(self._alert).split()))
            self._alert = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text = " ".join(f"{self._cell.text} {data}".split())
        if self._link is not None:
            self._link[1].append(data)
        if self._alert is not None:
            self._alert.append(data)

    def column(self, heading: str) -> list[Cell]:
        index = COLUMNS.index(heading)
        return [row[index] for row in self.rows]


COLUMNS = ("#", "When", "Who", "Team", "Action", "Outcome", "Target", "Details", "From")


def read(response: Any, status: int = 200) -> AuditPage:
    assert response.status_code == status, response.content.decode()[:2000]
    page = AuditPage()
    page.feed(response.content.decode())
    return page


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# --- The world -------------------------------------------------------------------------------


def ref(team: Team) -> TeamRef:
    return TeamRef(team.pk, team.slug)


def note(team: Team, summary: str, *, actor: str = "alice") -> AuditEntry:
    return record(Action.MEMBER_ADDED, origin=Origin(None, actor), team=ref(team), summary=summary)


def send(
    team: Team, *, outcome: Outcome | None = Outcome.OK, kind: str = "lora", device: str = DEVICE
) -> tuple[AuditEntry, str]:
    """A send as downlinks.services records it: the attempt, then (unless `outcome` is None)
    the outcome naming the created downlink. Returns the attempt and the downlink's id."""
    attempt = record_attempt(
        Action.DOWNLINK_SEND,
        origin=ALICE,
        team=ref(team),
        target_kind=kind,
        device_id=device,
        summary="Send LoRa downlink: 01 on port 1",
    )
    downlink_id = str(uuid4())
    if outcome == Outcome.OK:
        record_outcome(
            attempt,
            outcome=outcome,
            origin=ALICE,
            target_id=downlink_id,
            answered={"status": 201, "id": downlink_id, "downlinkStatus": "PENDING"},
            summary=f"Created {downlink_id}",
        )
    elif outcome is not None:
        record_outcome(
            attempt,
            outcome=outcome,
            origin=ALICE,
            answered={"status": 400, "title": "Bad Request"},
            summary="The Things API refused the downlink",
        )
    return attempt, downlink_id


def audit_url(team: Team) -> str:
    return f"/t/{team.slug}/audit/"


def response_text(client: Client, team: Team) -> str:
    return client.get(audit_url(team)).content.decode()


# --- 1. Filters replace, never pile up -------------------------------------------------------


def test_the_form_sends_to_the_path_alone(team: Team, admin_client: Client) -> None:
    """htmx appends a form's values to its address: with the current query in it (an empty
    hx-get means the page's URL), every filter would be sent once more at each submit."""
    page = read(admin_client.get(audit_url(team), {"person": "oscar", "action": "sign_in"}))

    assert page.form["hx-get"] == audit_url(team)
    assert page.form["action"] == audit_url(team)


def test_the_pager_and_the_export_hold_each_filter_once(team: Team, admin_client: Client) -> None:
    for index in range(AUDIT_PAGE_SIZE + 1):
        note(team, f"marker-{index}", actor="admin")
    note(team, "marker-oscar", actor="oscar")
    # A URL that piled filters up (a link pasted from before the fix, or typed by hand).
    piled = f"{audit_url(team)}?person=oscar&device_id=&person=admin&page=1&person=admin"

    page = read(admin_client.get(piled))

    older = query_of(page.pager["Older"])
    assert older == {"person": ["admin"], "page": ["2"]}
    assert urlsplit(page.pager["Older"]).path == audit_url(team)
    assert page.csv is not None
    assert query_of(page.csv) == {"person": ["admin"]}
    # The page shows what its links keep: the last value, as the form reads it.
    assert {cell.text for cell in page.column("Who")} == {"admin"}
    assert len(page.rows) == AUDIT_PAGE_SIZE
    newer = read(admin_client.get(page.pager["Older"])).pager["Newer"]
    assert query_of(newer) == {"person": ["admin"], "page": ["1"]}


def test_the_pager_of_an_htmx_page_holds_each_filter_once(team: Team, admin_client: Client) -> None:
    for index in range(AUDIT_PAGE_SIZE + 1):
        note(team, f"marker-{index}")
    headers = {"HX-Request": "true", "HX-Target": "filtered-list"}

    # What htmx sent when the form's address was the page's URL, after two submits.
    response = admin_client.get(
        f"{audit_url(team)}?person=alice&action=&person=alice&action=member_added", headers=headers
    )

    page = read(response)
    assert query_of(page.pager["Older"]) == {
        "person": ["alice"],
        "action": ["member_added"],
        "page": ["2"],
    }


# --- 2. Invalid filters look nothing up ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        (REVERSED, "before"),
        ({"since": "yesterday-ish"}, "since"),
        ({"action": "drop_table"}, "action"),
    ],
)
def test_an_invalid_filter_shows_its_error_and_no_entries(
    team: Team, admin_client: Client, query: dict[str, str], field_name: str
) -> None:
    note(team, "marker-alice", actor="alice")
    note(team, "marker-bob", actor="bob")

    response = admin_client.get(audit_url(team), {**query, "person": "bob"})

    page = read(response, status=400)
    body = response.content.decode()
    assert f'id="id_{field_name}_error"' in body
    assert any("nothing was looked up" in alert for alert in page.alerts)
    assert page.rows == []
    assert "marker-" not in body
    assert page.csv is None  # no export of what was not looked up
    assert page.pager == {}


def test_an_invalid_filter_sent_by_htmx_keeps_the_form_and_shows_no_rows(
    team: Team, admin_client: Client
) -> None:
    note(team, "marker-entry")
    headers = {"HX-Request": "true", "HX-Target": "filtered-list"}

    response = admin_client.get(audit_url(team), REVERSED, headers=headers)

    page = read(response, status=400)
    region = response.content.decode().strip()
    assert region.startswith('<div class="filtered-list" id="filtered-list"')
    assert page.form["hx-get"] == audit_url(team)
    assert 'id="id_before_error"' in region
    assert any("nothing was looked up" in alert for alert in page.alerts)
    assert page.rows == []
    assert "marker-entry" not in region


# --- 3. An action is one row with its outcome ------------------------------------------------


def test_a_send_is_one_row_with_its_outcome(team: Team, admin_client: Client) -> None:
    attempt, downlink_id = send(team)
    unanswered, _ = send(team, outcome=None)

    page = read(admin_client.get(audit_url(team)))

    assert [cell.text for cell in page.column("#")] == [
        str(unanswered.sequence),
        str(attempt.sequence),
    ]
    [no_answer, answered] = page.column("Outcome")
    assert no_answer.text == "Outcome unknown"
    assert f"Created {downlink_id}" in answered.text
    assert "API answered 201" in answered.text
    assert "Outcome unknown" not in answered.text
    assert "(2 actions)" in response_text(admin_client, team)


def test_the_pager_counts_actions(team: Team, admin_client: Client) -> None:
    for _ in range(AUDIT_PAGE_SIZE + 2):
        send(team)

    first = read(admin_client.get(audit_url(team)))
    second = read(admin_client.get(first.pager["Older"]))

    assert len(first.rows) == AUDIT_PAGE_SIZE
    assert len(second.rows) == 2
    assert f"({AUDIT_PAGE_SIZE + 2} actions)" in response_text(admin_client, team)
    shown = [cell.text for cell in first.column("#") + second.column("#")]
    assert len(set(shown)) == AUDIT_PAGE_SIZE + 2


def test_the_page_asks_the_same_number_of_queries_for_many_sends(
    team: Team, admin_client: Client
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            read(admin_client.get(audit_url(team)))
        return len(captured.captured_queries)

    for _ in range(3):
        send(team)
    queries()  # the first request also saves the session's last team
    few = queries()
    for _ in range(30):
        send(team)

    assert queries() == few


def test_the_export_still_has_a_line_per_entry(team: Team, admin_client: Client) -> None:
    send(team)
    response = admin_client.get(f"/t/{team.slug}/audit.csv")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 + 2  # the header, the attempt and its outcome


# --- 4. Targets link to what they name --------------------------------------------------------


def test_a_downlink_links_to_its_page_and_its_device_to_its_list(
    team: Team, admin_client: Client
) -> None:
    _, downlink_id = send(team, kind="mqtt", device="imei:350266800610993")

    [target] = read(admin_client.get(audit_url(team))).column("Target")

    [(downlink, downlink_text), (device, device_text)] = target.links
    assert downlink_text == downlink_id
    match = resolve(downlink)
    assert match.view_name == "downlinks:detail"
    assert match.kwargs == {
        "team_slug": team.slug,
        "kind": "mqtt",
        "downlink_id": UUID(downlink_id),
    }
    assert device_text == "imei:350266800610993"
    assert resolve(urlsplit(device).path).view_name == "downlinks:list"
    assert urlsplit(device).path == f"/t/{team.slug}/mqtt/"
    assert query_of(device) == {"device": ["imei:350266800610993"]}


def test_a_member_links_to_the_members_page(team: Team, admin_client: Client) -> None:
    bob = make_user("bob")
    team_services.member_add(team=team, username=bob.username, role=Role.VIEWER, origin=ALICE)

    [target] = read(admin_client.get(audit_url(team))).column("Target")

    assert target.links == [(f"/t/{team.slug}/members/", "bob")]


def test_a_send_that_created_nothing_links_only_its_device(
    team: Team, admin_client: Client
) -> None:
    send(team, outcome=Outcome.REFUSED)

    [target] = read(admin_client.get(audit_url(team))).column("Target")

    assert [resolve(urlsplit(href).path).view_name for href, _ in target.links] == [
        "downlinks:list"
    ]


def test_a_target_that_is_not_a_downlink_s_id_is_plain_text(
    team: Team, admin_client: Client
) -> None:
    record(
        Action.DOWNLINK_CANCEL,
        origin=ALICE,
        team=ref(team),
        target_kind="lora",
        target_id="not-a-uuid",
    )
    record(
        Action.DOWNLINK_CANCEL,
        origin=ALICE,
        team=ref(team),
        target_kind="downlink",
        target_id=str(uuid4()),
    )

    targets = read(admin_client.get(audit_url(team))).column("Target")

    assert [target.links for target in targets] == [[], []]
    assert "not-a-uuid" in targets[1].text


@pytest.fixture
def superuser_client(db: None) -> tuple[User, Client]:
    root = make_user("root", superuser=True)
    return root, sign_in(Client(), root)


def test_every_team_s_page_links_only_what_the_person_may_open(
    team: Team, superuser_client: tuple[User, Client]
) -> None:
    """A superuser reads every team's trail, but a team's pages are for its members: none
    for a team they are not in, and as a viewer no members page."""
    root, client = superuser_client
    harbour = Team.objects.create(slug="harbour", name="Harbour")
    _, ours = send(team)
    _, theirs = send(harbour)
    record(Action.MEMBER_ADDED, origin=ALICE, team=ref(team), target_kind="user", target_id="bob")
    unaudited_member(team, "ignored", Role.ADMIN)  # the team has someone else to manage it
    Membership.objects.create(team=team, user=root, role=Role.VIEWER)

    page = read(client.get("/audit/"))

    links = {cell.text: cell.links for cell in page.column("Target")}
    member = next(links[text] for text in links if text.startswith("user"))
    assert member == []  # a viewer may not open the members page
    ours_links = next(links[text] for text in links if ours in text)
    assert [text for _, text in ours_links] == [ours, DEVICE]
    theirs_links = next(links[text] for text in links if theirs in text)
    assert theirs_links == []  # not a member of harbour


def test_an_entry_of_a_deleted_team_is_plain_text(
    team: Team, superuser_client: tuple[User, Client]
) -> None:
    root, client = superuser_client
    gone = Team.objects.create(slug="gone", name="Gone")
    Membership.objects.create(team=gone, user=root, role=Role.ADMIN)
    _, downlink_id = send(gone)
    sends = {"action": Action.DOWNLINK_SEND}
    assert read(client.get("/audit/", sends)).column("Target")[0].links != []

    gone.delete()

    [target] = read(client.get("/audit/", sends)).column("Target")
    assert downlink_id in target.text
    assert target.links == []


# --- 5. The words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (Outcome.OK, "Sent downlink — accepted by the API"),
        (Outcome.REFUSED, "Downlink not sent — refused by the API"),
        (None, "Send asked — outcome unknown"),
    ],
)
def test_a_send_says_what_happened(
    team: Team, admin_client: Client, outcome: Outcome | None, words: str
) -> None:
    send(team, outcome=outcome)

    [action] = read(admin_client.get(audit_url(team))).column("Action")

    assert action.text == words


# --- What the portal itself records ----------------------------------------------------------


@pytest.fixture
def simulated_team(db: None, simulator: RunningSimulator) -> Team:
    return team_on_simulator(simulator, "lighthouse", "Lighthouse")


def test_a_real_send_and_cancel_read_as_two_rows_linked_to_the_downlink(
    simulated_team: Team,
) -> None:
    """Through downlinks.services against the simulator: what the portal really records
    (the kind as the target kind, the id on the outcome) is what the page links."""
    team = simulated_team
    admin = unaudited_member(team, "alice", Role.ADMIN)
    new = NewLoraDownlink.model_validate(
        {
            "device_id": DEVICE,
            "message": {"payload_hex": "0102", "f_port": 1},
            "feedback_timeout": "PT1H",
        }
    )
    result = downlink_services.downlink_send(
        team=team,
        kind="lora",
        new=new,
        origin=ALICE,
        user=admin,
        submission_key=downlink_services.new_submission_key(),
    )
    assert result.downlink is not None, result.message
    cancelled = downlink_services.downlink_cancel(
        team=team, kind="lora", before=result.downlink, forced=False, origin=ALICE
    )
    assert cancelled.accepted, cancelled.message
    client = sign_in(Client(), admin)

    page = read(client.get(audit_url(team), {"device_id": DEVICE}))

    assert [cell.text for cell in page.column("Action")] == [
        "Cancel asked — accepted by the API",
        "Sent downlink — accepted by the API",
    ]
    downlink_id = str(result.downlink.id)
    for target in page.column("Target"):
        detail, _ = target.links[0]
        assert detail == f"/t/{team.slug}/lora/{downlink_id}/"
    assert "API answered 202" in page.column("Outcome")[0].text
    assert "API answered 201" in page.column("Outcome")[1].text
