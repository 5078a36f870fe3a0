"""Settings and URLconf for the throughput benchmark: the portal's own settings, plus one
trivial view (/_bench/trivial/, a tiny text response) that goes through the same middleware
as every page. Comparing a page's requests/s with this view's tells how much of the cost is
the page itself rather than the stack around it. Never part of the product (the package
excludes benchmarks/); served as DJANGO_SETTINGS_MODULE=benchmarks.trivial.

The module is both the settings and the URLconf. Its `urlpatterns` are built on first use
(a module `__getattr__`), not on import: the settings are imported before the apps are
loaded, and the portal's URLconf (the admin's) needs them loaded.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from things_portal.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.trivial"
TRIVIAL_PATH = "/_bench/trivial/"


def trivial(request: HttpRequest) -> HttpResponse:
    """As little as a view can do: what remains of a request's time is the middleware's."""
    return HttpResponse("ok", content_type="text/plain")


def __getattr__(name: str) -> Any:
    """The URLconf's `urlpatterns`, built (once) when URL resolution first asks for them."""
    if name != "urlpatterns":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from django.urls import include, path

    patterns = [
        path(TRIVIAL_PATH.removeprefix("/"), trivial, name="bench_trivial"),
        path("", include("things_portal.urls")),
    ]
    globals()["urlpatterns"] = patterns
    return patterns
