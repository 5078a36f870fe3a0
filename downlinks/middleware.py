"""Every web request gives up on the Things API within one deadline, retries included."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from things_api import time_budget


def api_time_budget(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """THINGS_PAGE_DEADLINE_SECONDS for all the API calls of one request, well inside the web
    server's worker timeout: a hanging API gets a banner in words, not a killed worker."""

    def middleware(request: HttpRequest) -> HttpResponse:
        with time_budget(settings.THINGS_PAGE_DEADLINE_SECONDS):
            return get_response(request)

    return middleware
