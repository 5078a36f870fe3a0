import pytest
from django.conf import LazySettings
from django.test import Client

from tests.teams.world import make_user, sign_in

TOKEN = "operators-health-token-3Pk"
DETAILS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _operators_token(settings: LazySettings) -> None:
    settings.HEALTHZ_TOKEN = TOKEN


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client: Client) -> None:
    response = client.get("/healthz", headers=DETAILS)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_fails_when_the_broker_is_unreachable(client: Client, settings) -> None:
    from things_portal.celery import app

    original = app.conf.broker_url, app.conf.broker_transport
    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_transport=None)
    try:
        response = client.get("/healthz", headers=DETAILS)
    finally:
        app.conf.update(broker_url=original[0], broker_transport=original[1])
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db
def test_anyone_is_told_only_whether_the_node_can_serve(client: Client) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": TOKEN}):
        answer = client.get("/healthz", headers=headers)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}  # no vendor, broker or sync ages


@pytest.mark.django_db
def test_staff_see_the_details_other_people_do_not(client: Client) -> None:
    person = make_user("someone")
    assert set(sign_in(client, person).get("/healthz").json()) == {"status"}
    person.is_staff = True
    person.save()
    assert set(sign_in(Client(), person).get("/healthz").json()) == {"status", "checks"}


@pytest.mark.django_db
def test_without_a_token_configured_no_token_opens_the_details(
    client: Client, settings: LazySettings
) -> None:
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", headers={"Authorization": "Bearer "}).json() == {"status": "ok"}
