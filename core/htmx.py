"""The portal's two ways of answering htmx, used by every page that has fragments.

- `page_or_fragment`: a page whose regions htmx refreshes answers an htmx request with just
  the region asked for (a `{% partialdef %}` of the page's own template), anything else with
  the page. A filtered list is two regions: the filter form with the results (what the form
  replaces, so its field errors come and go) and the results alone (what sort and page links
  and the live refresh replace).
- `swap_whole_page`: an answer that concerns more than the region that asked (the lockout
  page) is swapped over the whole body, so it is read instead of being squeezed into it.
"""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request for a region (a boosted link or form wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted


def swap_whole_page[R: HttpResponse](response: R) -> R:
    response["HX-Retarget"] = "body"
    response["HX-Reswap"] = "innerHTML"
    return response


def page_or_fragment(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str,
    regions: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page, or for htmx one of its partials: the one `regions` names for the element the
    request targets (`HX-Target`, e.g. a filter form that replaces itself and the results, so
    its field errors come and go), else `fragment`."""
    if wants_fragment(request):
        partial = (regions or {}).get(request.headers.get("HX-Target", ""), fragment)
        response = render(request, f"{template}#{partial}", context, status=status)
    else:
        response = render(request, template, context, status=status)
    # A cache must keep the page and each region apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def filtered_list(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """A filtered list's answer: its template has the partials `filtered_list` (the element
    `#filtered-list`: the filter form and the results, what the form replaces) and `results`
    (`#results`: what the sort and page links and the live refresh replace)."""
    return page_or_fragment(
        request,
        template,
        context,
        fragment="results",
        regions={"filtered-list": "filtered_list"},
        status=status,
    )
