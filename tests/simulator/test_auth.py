"""Bearer tokens on the API, tenant isolation, and the GRIP-like token endpoint."""

import base64

import jwt
import pytest
from werkzeug.test import Client, TestResponse

from simulator.app import SimulatorApp
from simulator.tokens import DELETE_SCOPE, ISSUER, READ_SCOPE, WRITE_SCOPE, issue_token
from tests.simulator.conftest import Api, lora_body, mqtt_body

TOKEN_PATH = "/v2/demo/oidc/idp/c1/token"
CLIENT_ID, CLIENT_SECRET = "portal", "s3cret-value"


def problem_of(response: TestResponse, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem: dict[str, object] = response.get_json()
    assert set(problem) >= {"type", "title", "status", "detail", "instance"}
    assert problem["status"] == status
    return problem


def test_no_token_is_a_401(api: Api) -> None:
    problem = problem_of(api.client.get("/lora/downlinks"), 401)
    assert "bearer token" in str(problem["detail"])


def test_a_non_bearer_header_is_a_401(api: Api) -> None:
    response = api.client.get("/lora/downlinks", headers={"Authorization": "Basic dXNlcjpwdw=="})
    problem_of(response, 401)


def test_an_expired_token_is_a_401(api: Api, app: SimulatorApp) -> None:
    token = app.issue_token("demo", ttl_seconds=60)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/mqtt/downlinks", headers=headers).status_code == 200
    api.clock.advance(60)
    response = api.client.get("/mqtt/downlinks", headers=headers)
    problem = problem_of(response, 401)
    assert "expired" in str(problem["detail"])
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert token not in response.get_data(as_text=True)


def test_a_token_with_a_bad_signature_is_a_401(api: Api, app: SimulatorApp) -> None:
    now = api.clock.now_ms() // 1000
    forged = issue_token(
        "not the key, though long enough for HS256",
        tenant_id="demo",
        subject="x",
        audience="things-simulator",
        scopes=(READ_SCOPE,),
        now_seconds=now,
    )
    response = api.client.get("/lora/downlinks", headers={"Authorization": f"Bearer {forged}"})
    problem = problem_of(response, 401)
    assert "signature" in str(problem["detail"])
    assert forged not in response.get_data(as_text=True)


def test_a_token_for_another_audience_is_a_401(api: Api, app: SimulatorApp) -> None:
    token = jwt.encode(
        {
            "iss": ISSUER,
            "sub": "x",
            "tid": "demo",
            "aud": "elsewhere",
            "scope": READ_SCOPE,
            "iat": api.clock.now_ms() // 1000,
            "exp": api.clock.now_ms() // 1000 + 60,
        },
        app.store.signing_key(),
        algorithm="HS256",
    )
    problem_of(api.client.get("/lora/downlinks", headers={"Authorization": f"Bearer {token}"}), 401)


def test_garbage_token_is_a_401(api: Api) -> None:
    response = api.client.get("/lora/downlinks", headers={"Authorization": "Bearer abc.def.ghi"})
    problem_of(response, 401)


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/lora/downlinks", READ_SCOPE),
        ("GET", "/mqtt/downlinks/478a82d4-128f-47a6-aa61-2eac3f2a23ad", READ_SCOPE),
        ("POST", "/mqtt/downlinks", WRITE_SCOPE),
        ("DELETE", "/lora/downlinks/478a82d4-128f-47a6-aa61-2eac3f2a23ad", DELETE_SCOPE),
    ],
)
def test_a_missing_scope_is_a_403(api: Api, method: str, path: str, needed: str) -> None:
    others = tuple(scope for scope in (READ_SCOPE, WRITE_SCOPE, DELETE_SCOPE) if scope != needed)
    response = api.client.open(path, method=method, headers=api.headers("demo", others), json={})
    problem = problem_of(response, 403)
    assert needed in str(problem["detail"])
    assert f'scope="{needed}"' in response.headers["WWW-Authenticate"]


def test_a_read_only_token_reads(api: Api) -> None:
    created = api.create("lora", lora_body())
    response = api.get(f"/lora/downlinks/{created['id']}", scopes=(READ_SCOPE,))
    assert response.status_code == 200


def test_tenants_are_isolated(api: Api) -> None:
    theirs = api.create("mqtt", mqtt_body(), tenant="acme")
    mine = api.create("mqtt", mqtt_body(), tenant="demo")
    problem_of(api.get(f"/mqtt/downlinks/{theirs['id']}", tenant="demo"), 404)
    problem_of(api.delete(f"/mqtt/downlinks/{theirs['id']}", tenant="demo"), 404)
    assert [item["id"] for item in api.get("/mqtt/downlinks").get_json()["items"]] == [mine["id"]]
    assert api.read("mqtt", theirs["id"], tenant="acme")["id"] == theirs["id"]


def test_kinds_are_separate_collections(api: Api) -> None:
    lora = api.create("lora", lora_body())
    problem_of(api.get(f"/mqtt/downlinks/{lora['id']}"), 404)


# --- The token endpoint ----------------------------------------------------------------------


@pytest.fixture
def registered(app: SimulatorApp) -> SimulatorApp:
    app.store.register_client("demo", CLIENT_ID, CLIENT_SECRET, (READ_SCOPE, WRITE_SCOPE))
    return app


def ask_token(client: Client, **form: str) -> TestResponse:
    fields = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    fields.update(form)
    return client.post(TOKEN_PATH, data={k: v for k, v in fields.items() if v is not None})


def test_a_good_client_gets_a_token_that_works(registered: SimulatorApp) -> None:
    client = Client(registered)
    response = ask_token(client, audience="things-simulator")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "downlink.read downlink.write"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "things-simulator"
    assert (claims["sub"], claims["tid"], claims["aud"]) == (CLIENT_ID, "demo", "things-simulator")
    assert claims["exp"] - claims["iat"] == 3600
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/lora/downlinks", headers=headers).status_code == 200
    assert (
        client.delete(
            "/lora/downlinks/478a82d4-128f-47a6-aa61-2eac3f2a23ad", headers=headers
        ).status_code
        == 403
    )


def test_a_client_may_ask_for_fewer_scopes(registered: SimulatorApp) -> None:
    response = ask_token(Client(registered), scope="downlink.read")
    assert response.get_json()["scope"] == "downlink.read"


def test_a_client_may_not_ask_for_more_scopes(registered: SimulatorApp) -> None:
    response = ask_token(Client(registered), scope="downlink.read downlink.delete")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_http_basic_client_authentication(registered: SimulatorApp) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = Client(registered).post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {"client_secret": "wrong"},
        {"client_id": "stranger"},
        {"client_secret": ""},
    ],
)
def test_bad_client_credentials_are_a_401(registered: SimulatorApp, form: dict[str, str]) -> None:
    response = ask_token(Client(registered), **form)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert "error_description" in response.get_json()
    assert CLIENT_SECRET not in response.get_data(as_text=True)


def test_a_client_of_another_tenant_is_a_401(registered: SimulatorApp) -> None:
    response = Client(registered).post(
        "/v2/acme/oidc/idp/c1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "invalid_request"),
        ({"client_id": ""}, "invalid_request"),
        ({"audience": "some-other-app"}, "invalid_target"),
    ],
)
def test_malformed_token_requests_are_a_400(
    registered: SimulatorApp, form: dict[str, str], error: str
) -> None:
    response = ask_token(Client(registered), **form)
    assert response.status_code == 400
    assert response.get_json()["error"] == error


def test_a_revoked_client_gets_a_401_and_its_tokens_stop_working(registered: SimulatorApp) -> None:
    client = Client(registered)
    token = ask_token(client).get_json()["access_token"]
    assert client.delete(f"/_sim/clients/{CLIENT_ID}").status_code == 204
    assert ask_token(client).status_code == 401
    response = client.get("/lora/downlinks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "revoked" in response.get_json()["detail"]


def test_registering_again_updates_and_restores_a_client(registered: SimulatorApp) -> None:
    client = Client(registered)
    client.delete(f"/_sim/clients/{CLIENT_ID}")
    response = client.post(
        "/_sim/clients",
        json={
            "tenantId": "demo",
            "clientId": CLIENT_ID,
            "clientSecret": "new-secret",
            "scopes": ["downlink.read"],
        },
    )
    assert response.status_code == 201
    assert ask_token(client).status_code == 401  # the old secret no longer works
    fresh = ask_token(client, client_secret="new-secret")
    assert fresh.get_json()["scope"] == "downlink.read"


def test_revoking_an_unknown_client_is_a_404(app: SimulatorApp) -> None:
    assert Client(app).delete("/_sim/clients/nobody").status_code == 404


def test_the_secret_is_stored_hashed(registered: SimulatorApp) -> None:
    client = registered.store.find_client(CLIENT_ID)
    assert client is not None
    assert CLIENT_SECRET not in repr(client)
    assert registered.store.authenticate_client("demo", CLIENT_ID, CLIENT_SECRET) == client
