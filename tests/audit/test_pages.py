"""The audit pages: a team's trail for its admins, every team's for superusers, filters,
paging, the htmx fragment, and the streamed CSV export."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import Client

from audit.export import CSV_COLUMNS
from audit.models import Action, AuditEntry
from audit.trail import Origin, TeamRef, record
from teams.models import Membership, Role, Team
from teams.views import AUDIT_PAGE_SIZE
from tests.audit.conftest import recorded_at
from tests.teams.world import make_user

DEVICE = "deveui:ea8fa35e2cf3489f"
OTHER_DEVICE = "imei:350266800610993"
COLUMN = {name: index for index, name in enumerate(CSV_COLUMNS)}
SUMMARY = COLUMN["summary"]


def ref(team: Team) -> TeamRef:
    return TeamRef(team.pk, team.slug)


def note(
    team: Team | None,
    summary: str,
    *,
    action: Action = Action.MEMBER_ADDED,
    actor: str = "alice",
    device_id: str = "",
) -> AuditEntry:
    return record(
        action,
        origin=Origin(None, actor),
        team=ref(team) if team else None,
        summary=summary,
        device_id=device_id,
    )


def page_of(client: Client, url: str, **query: str) -> str:
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def csv_rows(response: HttpResponseBase) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = response.getvalue().decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def superuser_client(db: None) -> Client:
    client = Client()
    client.force_login(make_user("root", superuser=True))
    return client


# --- Who sees what -------------------------------------------------------------------------


def test_a_team_admin_sees_only_the_team_s_entries(
    team: Team, other_team: Team, admin_client: Client
) -> None:
    note(team, "marker-ours")
    note(other_team, "marker-theirs")
    note(None, "marker-nobody-s")

    page = page_of(admin_client, f"/t/{team.slug}/audit/")

    assert "marker-ours" in page
    assert "marker-theirs" not in page
    assert "marker-nobody-s" not in page
    assert "(1 action)" in page


def test_only_admins_of_the_team_see_its_audit_page(
    team: Team, other_team: Team, viewer: User, admin: User
) -> None:
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/t/{team.slug}/audit/").status_code == 403
    assert client.get(f"/t/{team.slug}/audit.csv").status_code == 403

    client.force_login(admin)
    assert client.get(f"/t/{other_team.slug}/audit/").status_code == 404
    assert client.get(f"/t/{other_team.slug}/audit.csv").status_code == 404

    anonymous = Client()
    assert anonymous.get(f"/t/{team.slug}/audit/").status_code == 302
    assert anonymous.get(f"/t/{team.slug}/audit.csv").status_code == 302


def test_the_all_teams_page_is_for_superusers_only(
    team: Team, other_team: Team, admin_client: Client, superuser_client: Client
) -> None:
    note(team, "marker-ours")
    note(other_team, "marker-theirs")
    note(None, "marker-nobody-s")

    assert admin_client.get("/audit/").status_code == 403
    assert admin_client.get("/audit.csv").status_code == 403
    page = page_of(superuser_client, "/audit/")
    assert "marker-ours" in page
    assert "marker-theirs" in page
    assert "marker-nobody-s" in page
    rows = csv_rows(superuser_client.get("/audit.csv"))
    assert {"marker-ours", "marker-theirs", "marker-nobody-s"} <= {row[SUMMARY] for row in rows}


# --- Filters -------------------------------------------------------------------------------


def test_filter_by_person(team: Team, admin_client: Client) -> None:
    note(team, "marker-alice", actor="alice")
    note(team, "marker-bob", actor="bob")

    page = page_of(admin_client, f"/t/{team.slug}/audit/", person="BOB")

    assert "marker-bob" in page
    assert "marker-alice" not in page


def test_filter_by_action(team: Team, admin_client: Client) -> None:
    note(team, "marker-added", action=Action.MEMBER_ADDED)
    note(team, "marker-removed", action=Action.MEMBER_REMOVED)

    page = page_of(admin_client, f"/t/{team.slug}/audit/", action="member_removed")

    assert "marker-removed" in page
    assert "marker-added" not in page


def test_filter_by_device(team: Team, admin_client: Client) -> None:
    note(team, "marker-this-device", device_id=DEVICE)
    note(team, "marker-other-device", device_id=OTHER_DEVICE)

    page = page_of(admin_client, f"/t/{team.slug}/audit/", device_id=DEVICE.upper())

    assert "marker-this-device" in page
    assert "marker-other-device" not in page


def test_filter_by_time_range_in_the_persons_zone(team: Team, admin_client: Client) -> None:
    """The range typed in is read in the person's time zone, here the portal's TIME_ZONE,
    Europe/Amsterdam: an hour ahead of UTC in January, so 01:00-02:00 there is 00:00-01:00
    UTC. (tests/accounts/test_time_zone.py: a zone of the person's own.)"""
    for at, summary in [
        (datetime(2026, 1, 10, 23, 30, tzinfo=UTC), "marker-before"),
        (datetime(2026, 1, 11, 0, 30, tzinfo=UTC), "marker-inside"),
        (datetime(2026, 1, 11, 1, 0, tzinfo=UTC), "marker-at-until"),
    ]:
        with recorded_at(at):
            note(team, summary)

    page = page_of(
        admin_client, f"/t/{team.slug}/audit/", since="2026-01-11T01:00", before="2026-01-11T02:00"
    )

    assert "marker-inside" in page
    assert "marker-before" not in page
    assert "marker-at-until" not in page  # "until" is exclusive
    # Shown in the same zone, with its name; UTC on hover.
    assert 'title="2026-01-11 00:30:00 UTC">11 Jan 2026 01:30:00 CET</time>' in page


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"since": "2026-01-11T01:00", "before": "2026-01-11T00:00"}, "must be after"),
        ({"since": "2026-01-11T01:00", "before": "2026-01-11T01:00"}, "must be after"),
        ({"since": "yesterday-ish"}, "Enter a valid date/time."),
        ({"action": "drop_table"}, "Select a valid choice."),
    ],
)
def test_an_invalid_filter_is_a_field_error(
    team: Team, admin_client: Client, query: dict[str, str], error: str
) -> None:
    note(team, "marker-entry")

    response = admin_client.get(f"/t/{team.slug}/audit/", query)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="field-error"' in page
    assert error in page


def test_an_invalid_filter_sent_by_htmx_comes_back_with_its_form_and_error(
    team: Team, admin_client: Client
) -> None:
    """The filter form replaces itself and the results: the error is under its field, and
    goes again with a filter that is right."""
    url = f"/t/{team.slug}/audit/"
    headers = {"HX-Request": "true", "HX-Target": "filtered-list"}
    wrong = {"since": "2026-01-11T01:00", "before": "2026-01-11T00:00"}
    response = admin_client.get(url, wrong, headers=headers)

    assert response.status_code == 400
    region = response.content.decode().strip()
    assert region.startswith('<div class="filtered-list" id="filtered-list"')
    assert "<html" not in region
    assert 'id="id_before_error"' in region
    right = admin_client.get(url, {**wrong, "before": "2026-01-11T02:00"}, headers=headers)
    assert right.status_code == 200
    assert "field-error" not in right.content.decode()


# --- Paging and the htmx fragment --------------------------------------------------------


def test_paging(team: Team, admin_client: Client) -> None:
    total = 2 * AUDIT_PAGE_SIZE + 7
    for index in range(total):
        note(team, f"marker-{index:03d}", action=Action.MEMBER_REMOVED)
    note(team, "marker-other-action", action=Action.MEMBER_ADDED)
    url = f"/t/{team.slug}/audit/"

    first = page_of(admin_client, url, action="member_removed")
    last = page_of(admin_client, url, action="member_removed", page="3")

    assert f"Page 1 of 3 ({total} actions)" in first
    assert f"marker-{total - 1:03d}" in first  # newest first
    assert f"marker-{total - AUDIT_PAGE_SIZE - 1:03d}" not in first
    assert first.count("<tr>") == AUDIT_PAGE_SIZE + 1  # and the heading row
    assert f'href="{url}?action=member_removed&amp;page=2"' in first  # filters kept
    assert "Page 3 of 3" in last
    assert last.count("<tr>") == 7 + 1
    assert "marker-000" in last
    assert f'href="{url}?action=member_removed&amp;page=2"' in last
    assert "Page 3 of 3" in page_of(admin_client, url, action="member_removed", page="99")
    assert "Page 1 of 3" in page_of(admin_client, url, action="member_removed", page="x")


def test_an_htmx_request_gets_only_the_results(team: Team, admin_client: Client) -> None:
    note(team, "marker-alice", actor="alice")
    note(team, "marker-bob", actor="bob")

    response = admin_client.get(
        f"/t/{team.slug}/audit/", {"person": "bob"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="results"')
    assert "<html" not in fragment
    assert "<form" not in fragment
    assert "marker-bob" in fragment
    assert "marker-alice" not in fragment
    full = page_of(admin_client, f"/t/{team.slug}/audit/", person="bob")
    assert "<html" in full
    assert "<form" in full


# --- The CSV export -------------------------------------------------------------------------


def test_the_csv_export_streams_one_line_per_entry(
    team: Team, other_team: Team, admin_client: Client
) -> None:
    entries = [note(team, f"marker-{index}", device_id=DEVICE) for index in range(3)]
    note(other_team, "marker-theirs")

    response = admin_client.get(f"/t/{team.slug}/audit.csv")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-lighthouse-')
    rows = csv_rows(response)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(entries)
    newest = rows[1]
    assert newest[COLUMN["sequence"]] == str(entries[-1].sequence)
    assert newest[COLUMN["created_at_utc"]] == entries[-1].created_at.isoformat()
    assert newest[COLUMN["created_at_utc"]].endswith("+00:00")
    assert newest[COLUMN["team"]] == "lighthouse"
    assert newest[COLUMN["action"]] == "member_added"
    assert newest[COLUMN["device_id"]] == DEVICE
    assert newest[COLUMN["entry_hash"]] == entries[-1].entry_hash
    assert [row[COLUMN["summary"]] for row in rows[1:]] == ["marker-2", "marker-1", "marker-0"]


def test_the_csv_export_respects_the_filters(team: Team, admin_client: Client) -> None:
    note(team, "marker-added", action=Action.MEMBER_ADDED, actor="alice")
    note(team, "marker-removed", action=Action.MEMBER_REMOVED, actor="alice")
    note(team, "marker-bob", action=Action.MEMBER_REMOVED, actor="bob")
    with recorded_at(datetime(2026, 1, 11, 0, 30, tzinfo=UTC)):
        note(team, "marker-dated")

    by_action = csv_rows(
        admin_client.get(
            f"/t/{team.slug}/audit.csv", {"action": "member_removed", "person": "alice"}
        )
    )
    by_time = csv_rows(
        admin_client.get(
            f"/t/{team.slug}/audit.csv", {"since": "2026-01-11T01:00", "before": "2026-01-11T02:00"}
        )
    )

    assert [row[SUMMARY] for row in by_action[1:]] == ["marker-removed"]
    assert [row[SUMMARY] for row in by_time[1:]] == ["marker-dated"]


def test_the_page_links_to_the_csv_export_with_its_filters(
    team: Team, admin_client: Client
) -> None:
    page = page_of(admin_client, f"/t/{team.slug}/audit/", action="member_removed", page="1")

    assert f'href="/t/{team.slug}/audit.csv?action=member_removed"' in page


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil.example")', "+1+2", "-3", "@SUM(A1)"])
def test_the_csv_export_neutralizes_spreadsheet_formulas(
    team: Team, admin_client: Client, formula: str
) -> None:
    record(
        Action.DOWNLINK_SEND,
        origin=Origin(None, formula),
        team=ref(team),
        summary=formula,
        device_id=formula,
        asked={"note": formula},
    )

    [_, row] = csv_rows(admin_client.get(f"/t/{team.slug}/audit.csv"))

    for name in ("person", "summary", "device_id"):
        assert row[COLUMN[name]] == f"'{formula}"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_the_pages_do_not_write_to_the_trail(team: Team, admin_client: Client) -> None:
    before = AuditEntry.objects.count()

    page_of(admin_client, f"/t/{team.slug}/audit/")
    csv_rows(admin_client.get(f"/t/{team.slug}/audit.csv"))

    assert AuditEntry.objects.count() == before
    call_command("verify_audit", stdout=io.StringIO())


def test_a_removed_admin_loses_the_audit_page(team: Team, admin: User) -> None:
    client = Client()
    client.force_login(admin)
    Membership.objects.filter(user=admin).update(role=Role.OPERATOR)

    assert client.get(f"/t/{team.slug}/audit/").status_code == 403


def test_the_csv_export_refuses_invalid_filters(team: Team, admin_client: Client) -> None:
    note(team, "kept out of an unfiltered export")
    response = admin_client.get(
        f"/t/{team.slug}/audit.csv",
        {"since": "2030-01-02T00:00", "before": "2030-01-01T00:00"},
    )
    assert response.status_code == 400
    assert "nothing was exported" in response.content.decode()
    assert "kept out of an unfiltered export" not in response.content.decode()
