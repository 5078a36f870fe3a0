"""Bad input gets a clear message where it was entered (a 400 in words, or a banner), never a
500, and is never sent to the Things API.

- Filter dates outside 1970..9998 (Python cannot move year 1 or 9999 across time zones).
- Request text that is not UTF-8: a declared charset other than UTF-8 or unknown, bytes that
  are not UTF-8 in a form or in the query string, a Content-Type that cannot be parsed.
- Upstream answers too deep or too big to use (the simulator's "nested" and "huge" faults).

Everything runs against the real views, with the live simulator over HTTP; nothing of ours
is mocked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from werkzeug.test import Client as WsgiClient

from simulator.server import RunningSimulator
from tests.downlinks.conftest import (
    TENANT,
    Dashboard,
    banners,
    field_errors,
    make_dashboard,
    mqtt_form,
    page_text,
)
from tests.teams.capture import body_of
from tests.teams.world import sign_in
from things_portal.request_encoding import refuse_unreadable_content_type

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MIDDLEWARE = "things_portal.request_encoding.request_encoding"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
OUT_OF_RANGE = "Enter a date between 1970 and 9998."
SIGN_IN = "/accounts/sign-in/"
PASSWORD = "correct horse battery staple 42"
FORM = "application/x-www-form-urlencoded"


def test_the_encoding_check_runs_before_anything_reads_the_body() -> None:
    from django.conf import settings

    middleware = list(settings.MIDDLEWARE)
    assert middleware.index(MIDDLEWARE) == middleware.index(CSRF) - 1


@pytest.fixture
def dash(db: None, simulator: RunningSimulator) -> Dashboard:
    """The team "ferry" of tests/downlinks, against the live simulator."""
    return make_dashboard(simulator)


@pytest.fixture
def quick_failures(settings: Any) -> None:
    """Reads are tried once and time out after a second, as in tests/downlinks."""
    settings.THINGS_RETRY_ATTEMPTS = 1
    settings.THINGS_READ_TIMEOUT = 1.0


@pytest.fixture
def lena(db: None, settings: Any) -> User:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return User.objects.create_user("lena", password=PASSWORD)


def sent_payloads(dash: Dashboard) -> set[str]:
    """The payloads of the team's MQTT downlinks, as the API holds them."""
    response = httpx.get(
        f"{dash.simulator.url}/mqtt/downlinks",
        headers={"Authorization": f"Bearer {dash.simulator.token(TENANT)}"},
        timeout=5,
    )
    return {item["message"]["payload"] for item in response.json()["items"]}


def api_reads(dash: Dashboard) -> int:
    """Searches and reads the simulator answered: "nothing was asked of the API" is 0."""
    return dash.calls("GET", "/lora/") + dash.calls("GET", "/mqtt/")


# --- 1. Dates out of range -------------------------------------------------------------------

OUT_OF_RANGE_DATES = [
    "0001-01-01T00:00",  # Amsterdam → UTC underflows year 1
    "9999-12-31T23:59",
    "1969-12-31T23:59",
    "0001-01-01T00:30+01:00",  # with an offset: the database's conversion to UTC underflows
    "9999-12-31T23:30-01:00",
]
LIST_DATE_FIELDS = ["created_since", "created_before", "modified_since", "modified_before"]


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATES)
@pytest.mark.parametrize("name", LIST_DATE_FIELDS)
def test_the_list_refuses_a_date_out_of_range_on_its_field(
    dash: Dashboard, name: str, value: str
) -> None:
    response = dash.viewer.get(dash.url("list", "lora"), {name: value})
    assert response.status_code == 400
    assert field_errors(response)[name] == OUT_OF_RANGE
    assert api_reads(dash) == 0


def test_the_mqtt_list_and_htmx_say_it_too(dash: Dashboard) -> None:
    response = dash.viewer.get(
        dash.url("list", "mqtt"),
        {"created_since": "0001-01-01T00:00"},
        headers={"HX-Request": "true", "HX-Target": "filtered-list"},
    )
    assert response.status_code == 400
    # The form and the results, as the filter form asks for them: the error under its field.
    assert "<html" not in body_of(response)
    assert field_errors(response)["created_since"] == OUT_OF_RANGE
    assert api_reads(dash) == 0


def test_the_range_is_1970_to_9998_and_its_edges_reach_the_api_in_utc(dash: Dashboard) -> None:
    edges = {"created_since": "1970-01-01T00:00", "created_before": "9998-12-31T23:59"}
    response = dash.viewer.get(dash.url("list", "lora"), edges)
    assert response.status_code == 200
    query = parse_qs(dash.simulator.app.request_log.entries()[-1].query)
    assert query["createdSince"] == ["1969-12-31T23:00:00Z"]  # Amsterdam is UTC+1 in winter
    assert query["createdBefore"] == ["9998-12-31T22:59:00Z"]
    widget = re.search(r'<input[^>]*name="created_since"[^>]*>', body_of(response))
    assert widget is not None
    assert 'min="1970-01-01T00:00"' in widget.group(0)
    assert 'max="9998-12-31T23:59"' in widget.group(0)
    # One minute outside either edge is refused.
    outside = {"created_since": "1969-12-31T23:59", "created_before": "9999-01-01T00:00"}
    refused = dash.viewer.get(dash.url("list", "lora"), outside)
    assert refused.status_code == 400
    errors = field_errors(refused)
    assert (errors["created_since"], errors["created_before"]) == (OUT_OF_RANGE, OUT_OF_RANGE)


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATES)
@pytest.mark.parametrize("name", ["since", "before"])
def test_the_audit_trail_refuses_a_date_out_of_range_on_its_field(
    dash: Dashboard, name: str, value: str
) -> None:
    page = dash.admin.get(reverse("teams:audit", args=[dash.team.slug]), {name: value})
    assert page.status_code == 400
    assert field_errors(page)[name] == OUT_OF_RANGE
    csv = dash.admin.get(reverse("teams:audit_csv", args=[dash.team.slug]), {name: value})
    assert csv.status_code == 400
    assert OUT_OF_RANGE in csv.content.decode()


# --- 2. Request text that is not UTF-8 ---------------------------------------------------------


def csrf_post(
    client: Client, path: str, body: bytes, content_type: str, *, htmx: bool = False
) -> Any:
    """POST raw bytes after loading `path`, with the CSRF check enforced: the token in its
    header (as htmx sends it) and, in a URL-encoded form, in the form (as a browser does)."""
    client.get(path)
    token = client.cookies["csrftoken"].value
    headers = {"X-CSRFToken": token, **({"HX-Request": "true"} if htmx else {})}
    if content_type.startswith(FORM):
        body += b"&csrfmiddlewaretoken=" + token.encode()
    return client.generic("POST", path, body, content_type=content_type, headers=headers)


def multipart(fields: dict[str, bytes], boundary: str = "portal-boundary") -> tuple[bytes, str]:
    """A multipart/form-data body of these raw values, and its Content-Type (the test client
    would encode the values itself)."""
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name.encode(), value)
        for name, value in fields.items()
    ]
    body = b"".join(parts) + b"--%s--\r\n" % boundary.encode()
    return body, f"multipart/form-data; boundary={boundary}"


def anonymous() -> Client:
    """A visitor not signed in, whose POSTs must pass the CSRF check (as in production)."""
    return Client(enforce_csrf_checks=True)


NOT_UTF8_BODIES = [
    pytest.param(
        f"{FORM}; charset=latin-1", b"username=ren%E9&password=x", "latin-1", id="latin-1"
    ),
    pytest.param(f"{FORM}; charset=utf-16", b"username=a&password=x", "utf-16", id="utf-16"),
    pytest.param(f"{FORM}; charset=x-nope", b"username=a&password=x", "does not know", id="x-nope"),
    pytest.param(FORM, b"username=%FF&password=x", "not valid UTF-8", id="percent-ff"),
    pytest.param(FORM, b"username=\xff\xfe&password=x", "not valid UTF-8", id="raw-ff"),
]


@pytest.mark.parametrize(("content_type", "body", "words"), NOT_UTF8_BODIES)
def test_sign_in_refuses_text_that_is_not_utf8_in_words(
    db: None, content_type: str, body: bytes, words: str
) -> None:
    response = csrf_post(anonymous(), SIGN_IN, body, content_type)
    assert response.status_code == 400
    [banner] = banners(response)
    assert words in banner
    assert "The portal reads text in UTF-8 only." in banner


def test_sign_in_refuses_a_form_body_it_cannot_read(db: None) -> None:
    """A multipart form that is not UTF-8 gets the middleware's 400 (a banner for htmx to
    swap in); one too large for DATA_UPLOAD_MAX_MEMORY_SIZE, which the middleware reads
    too, stays Django's own 400."""
    body, content_type = multipart({"username": b"ren\xe9", "password": b"x"})
    response = csrf_post(anonymous(), SIGN_IN, body, content_type, htmx=True)
    assert response.status_code == 400
    assert "<html" not in body_of(response)
    assert "not valid UTF-8" in banners(response)[0]
    too_large = csrf_post(anonymous(), SIGN_IN, b"username=" + b"a" * 3_000_000, FORM)
    assert too_large.status_code == 400


@pytest.mark.parametrize("charset", ["utf8", "utf_8", "U8"])
def test_utf8_spelled_another_way_signs_in(lena: User, charset: str) -> None:
    """Django takes only "utf-8"; any other spelling of UTF-8 would be its BadRequest (and
    through the CSRF check, a 500)."""
    body = urlencode({"username": "lena", "password": PASSWORD}).encode()
    response = csrf_post(anonymous(), SIGN_IN, body, f"{FORM}; charset={charset}")
    assert response.status_code == 302
    assert response["Location"] == "/"


def operator_with_csrf(dash: Dashboard) -> Client:
    """The team's operator, signed in, with the CSRF check enforced: the check is what read
    the body first and turned Django's BadRequest into a 500."""
    return sign_in(Client(enforce_csrf_checks=True), dash.operator_user)


def mqtt_body_with_payload(payload: bytes, *, percent_encoded: bool = True) -> bytes:
    """A valid MQTT send form (a text message) whose payload is these bytes."""
    fields = mqtt_form()
    del fields["payload"]
    value = quote(payload).encode() if percent_encoded else payload
    return urlencode(fields).encode() + b"&payload=" + value


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(
    ("content_type", "payload", "percent_encoded"),
    [
        pytest.param(f"{FORM}; charset=latin-1", b"caf\xe9", True, id="latin-1"),
        pytest.param(f"{FORM}; charset=x-nope", b"hello", True, id="x-nope"),
        pytest.param(FORM, b"caf\xe9", True, id="percent-not-utf8"),
        pytest.param(FORM, b"caf\xe9", False, id="raw-not-utf8"),
    ],
)
def test_the_send_form_refuses_text_that_is_not_utf8_and_sends_nothing(
    dash: Dashboard, content_type: str, payload: bytes, percent_encoded: bool, htmx: bool
) -> None:
    body = mqtt_body_with_payload(payload, percent_encoded=percent_encoded)
    response = csrf_post(
        operator_with_csrf(dash), dash.url("send", "mqtt"), body, content_type, htmx=htmx
    )
    assert response.status_code == 400
    assert "The portal reads text in UTF-8 only." in banners(response)[0]
    assert ("<html" in body_of(response)) is not htmx
    assert dash.writes() == 0


def test_the_send_form_refuses_a_multipart_payload_that_is_not_utf8(dash: Dashboard) -> None:
    """Refused, while real UTF-8 (an é) goes through intact, in a form and as multipart."""
    client = operator_with_csrf(dash)
    fields = {name: value.encode() for name, value in mqtt_form().items()}
    body, content_type = multipart({**fields, "payload": b"caf\xe9"})
    response = csrf_post(client, dash.url("send", "mqtt"), body, content_type)
    assert response.status_code == 400
    assert "not valid UTF-8" in banners(response)[0]
    assert dash.writes() == 0
    good = mqtt_body_with_payload("café".encode())
    assert csrf_post(client, dash.url("send", "mqtt"), good, FORM).status_code == 302
    fields = {name: value.encode() for name, value in mqtt_form().items()}
    body, content_type = multipart({**fields, "payload": "crème brûlée".encode()})
    assert csrf_post(client, dash.url("send", "mqtt"), body, content_type).status_code == 302
    assert sent_payloads(dash) == {"café", "crème brûlée"}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("query", ["device=%FF%FE", "cursor=%FF%FE", "status=%C3"])
def test_the_list_refuses_a_query_string_that_is_not_utf8(
    dash: Dashboard, query: str, htmx: bool
) -> None:
    headers = {"HX-Request": "true"} if htmx else {}
    response = dash.viewer.get(f"{dash.url('list', 'lora')}?{query}", headers=headers)
    assert response.status_code == 400
    assert "not valid UTF-8 after its “?”" in banners(response)[0]
    assert api_reads(dash) == 0


def test_the_audit_trail_refuses_a_query_string_that_is_not_utf8(dash: Dashboard) -> None:
    response = dash.admin.get(f"{reverse('teams:audit', args=[dash.team.slug])}?person=%FF")
    assert response.status_code == 400
    assert "not valid UTF-8" in banners(response)[0]


def test_a_charset_name_is_shown_escaped_and_short(db: None) -> None:
    charset = "<script>" + "x" * 100
    response = csrf_post(anonymous(), SIGN_IN, b"username=a", f"{FORM}; charset={charset}")
    assert response.status_code == 400
    assert "<script>" not in body_of(response)
    assert "“&lt;script&gt;" + "x" * 32 + "”" in body_of(response)


def _inner_app(calls: list[str]) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """A WSGI application that notes each path it is called for (standing in for Django,
    which a refused request must never reach)."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"inner"]

    return app


@pytest.mark.parametrize(
    "content_type",
    [f"{FORM}; x={'a' * 11_000}", f"{FORM}; charset*=x-nope''abc"],
    ids=["too-long", "rfc2231-unknown-charset"],
)
def test_a_content_type_django_cannot_parse_is_a_400_before_django(content_type: str) -> None:
    """Django raises while building the request, before any middleware (a 500); the WSGI
    wrapper answers first."""
    calls: list[str] = []
    client = WsgiClient(refuse_unreadable_content_type(_inner_app(calls)))
    response = client.post(SIGN_IN, data=b"a=b", headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "Content-Type header cannot be read" in response.get_data(as_text=True)
    assert calls == []
    assert client.get("/fine").get_data() == b"inner"
    assert calls == ["/fine"]


# --- 3. Upstream answers too deep or too big -------------------------------------------------

ABSURD = [
    pytest.param({"kind": "nested"}, "the JSON is nested too deeply", id="nested"),
    pytest.param({"kind": "huge"}, "the answer is larger than 8 MB", id="huge"),
    pytest.param(
        {"kind": "huge", "declareLength": False},
        "the answer is larger than 8 MB",
        id="huge-chunked",
    ),
]


@pytest.mark.usefixtures("quick_failures")
@pytest.mark.parametrize(("rule", "reason"), ABSURD)
def test_the_list_shows_an_absurd_answer_as_a_banner(
    dash: Dashboard, rule: dict[str, Any], reason: str
) -> None:
    dash.fault(path="/lora/downlinks", **rule)
    response = dash.viewer.get(dash.url("list", "lora"))
    assert response.status_code == 502
    [banner] = banners(response)
    assert f"The Things API gave an answer that could not be understood ({reason})." in banner


@pytest.mark.usefixtures("quick_failures")
@pytest.mark.parametrize(("rule", "reason"), ABSURD)
def test_the_detail_page_shows_an_absurd_answer_as_a_banner(
    dash: Dashboard, rule: dict[str, Any], reason: str
) -> None:
    downlink_id = dash.api_create("lora")["id"]
    dash.fault(path=f"/lora/downlinks/{downlink_id}", **rule)
    response = dash.viewer.get(dash.url("detail", "lora", downlink_id))
    assert response.status_code == 502
    assert any(reason in banner for banner in banners(response))


@pytest.mark.usefixtures("quick_failures")
@pytest.mark.parametrize(("rule", "reason"), ABSURD)
def test_test_connection_reports_an_absurd_answer_in_words(
    dash: Dashboard, rule: dict[str, Any], reason: str
) -> None:
    url = reverse("teams:credential_test", args=[dash.team.slug])
    dash.fault(path="/lora/", **rule)
    page = dash.admin.post(url, follow=True)
    assert page.redirect_chain == [(reverse("teams:credential", args=[dash.team.slug]), 302)]
    assert page.status_code == 200
    assert "The connection failed." in page_text(page)
    assert reason in page_text(page)
    htmx = dash.admin.post(url, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert reason in page_text(htmx)
