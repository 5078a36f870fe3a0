import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client: Client) -> None:
    response = client.get("/healthz")
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
        response = client.get("/healthz")
    finally:
        app.conf.update(broker_url=original[0], broker_transport=original[1])
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
