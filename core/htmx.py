"""The portal's two ways of answering htmx, used by every page that has fragments.

- `page_or_fragment`: a page whose region htmx refreshes answers an htmx request with just
  that region (a `{% partialdef %}` of the page's own template), anything else with the page.
- `swap_whole_page`: an answer that concerns more than the region that asked (filters that are
  not valid, whose errors are in the form; a sign-in page after a lost session) is swapped over
  the whole body, so it is read instead of being squeezed into the region.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


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
    status: int = 200,
    whole_page: bool = False,
) -> HttpResponse:
    """The page, or for htmx its `fragment`; `whole_page` (e.g. filters with errors) sends htmx
    the page too, swapped over the body."""
    if not wants_fragment(request):
        return render(request, template, context, status=status)
    if whole_page:
        return swap_whole_page(render(request, template, context, status=status))
    return render(request, f"{template}#{fragment}", context, status=status)
